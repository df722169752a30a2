/**
 * A disk on virtual time, behind the {@link FileSystem} port: the page cache, fsync and the
 * faults of a real disk, deterministic for the simulation's seed. The lab runs the real LSM
 * engine on it, so it can show what each sync policy loses in a crash.
 *
 * The model, stricter than most real file systems and exactly what the port promises:
 * - a write lands in the page cache: readable at once, durable only once the file is synced.
 *   `sync()` takes `fsyncMs` of virtual time and covers what was written before it began;
 * - creating, renaming and deleting files change the directory at once, but a crash brings back
 *   the directory as it was at its last {@link FileSystem.syncDirectory}; directories themselves
 *   (`mkdir`) are durable at once;
 * - {@link SimulatedDisk.crash} (a power loss, or a killed process whose page cache dies with the
 *   machine) keeps of each file its synced bytes, plus, if `tearWrites`, a seeded random prefix
 *   of what was written after (a torn write); every handle and view of the old process then
 *   fails with `EBADF`, so a crashed engine's late work cannot touch the disk its successor opens;
 * - faults: writes and syncs fail with `EIO` ({@link fail}), writes past a capacity fail with
 *   `ENOSPC` ({@link setCapacity}), fsync takes longer ({@link slow}), and a durable bit flips
 *   ({@link corrupt}) — the engine's checksums must catch it.
 *
 * @module
 */
import { DirectoryLockedError } from "../errors.ts";
import type { Scheduler } from "../interfaces/clock.ts";
import { sleep } from "../interfaces/clock.ts";
import { type FileHandle, type FileSystem, FileSystemError, type HeldDirectory, type OpenMode } from "../interfaces/file-system.ts";
import type { Random } from "../interfaces/random.ts";

/** Options of a {@link SimulatedDisk}. */
export interface SimulatedDiskOptions {
  /** Virtual time one fsync takes, ms (default 2: an SSD's flush). */
  readonly fsyncMs: number;
  /** On a crash, keep a random prefix of each file's unsynced bytes (default true), not none. */
  readonly tearWrites: boolean;
}

/** Default {@link SimulatedDiskOptions}. */
export const DEFAULT_SIMULATED_DISK: SimulatedDiskOptions = { fsyncMs: 2, tearWrites: true };

/** A file's bytes: `length` of them are current, the first `synced` durable. */
interface SimFile {
  bytes: Uint8Array;
  length: number;
  synced: number;
}

/** Where {@link SimulatedDisk.corrupt} flipped a bit. */
export interface FlippedBit {
  /** The file. */
  readonly path: string;
  /** The byte. */
  readonly offset: number;
  /** The bit of that byte, 0 (least significant) to 7. */
  readonly bit: number;
}

/** What a disk did, for the lab's report. */
export interface SimulatedDiskStats {
  /** Bytes written. */
  writtenBytes: number;
  /** fsyncs (of files and directories). */
  syncs: number;
  /** Crashes. */
  crashes: number;
  /** Unsynced bytes the crashes discarded. */
  lostBytes: number;
  /** Writes and syncs failed by an injected fault. */
  failedOperations: number;
  /** Bits flipped by {@link SimulatedDisk.corrupt}. */
  corruptions: number;
}

const parent = (path: string) => {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
};
const normal = (path: string) => path.replace(/\/+/g, "/").replace(/(.)\/$/, "$1");

/**
 * One node's simulated disk. It outlives the node's instances: a restarted node opens the same
 * disk through a new {@link view}, and finds what the crash left.
 *
 * @example
 * ```ts
 * const disk = new SimulatedDisk(scheduler, random.fork("disk:n1"));
 * const fs = disk.view();
 * const file = await fs.open("/n1/000001.log", "write");
 * await file.write(bytes); // in the page cache
 * disk.crash(); // gone, unless synced
 * ```
 */
export class SimulatedDisk {
  /** Counters since the disk was made. */
  readonly stats: SimulatedDiskStats = { writtenBytes: 0, syncs: 0, crashes: 0, lostBytes: 0, failedOperations: 0, corruptions: 0 };
  /** The options in effect. */
  readonly options: SimulatedDiskOptions;
  #files = new Map<string, SimFile>();
  /** Per directory, its entries as of its last sync (what a crash brings back). */
  #durable = new Map<string, Map<string, SimFile>>();
  #directories = new Set<string>(["/"]);
  #locks = new Map<string, number>();
  #generation = 0;
  #failing: string | undefined;
  #capacity = Infinity;
  #slowFactor = 1;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly random: Random,
    options: Partial<SimulatedDiskOptions> = {},
  ) {
    this.options = { ...DEFAULT_SIMULATED_DISK, ...options };
  }

  /** The file system as one process (one node instance) sees it, until the next crash. */
  view(): FileSystem {
    return new DiskView(this, this.#generation);
  }

  /** Bytes held (current contents of every file). */
  get usedBytes(): number {
    let n = 0;
    for (const f of this.#files.values()) n += f.length;
    return n;
  }

  // ---- faults ---------------------------------------------------------------------------------

  /**
   * The machine loses power: every file keeps its synced bytes (and, with `tearWrites`, a random
   * prefix of the rest), every directory its entries as of its last sync, and every handle and
   * view of the processes running until now fails from here on. Resolves nothing; instant.
   */
  crash(): void {
    this.stats.crashes++;
    this.#generation++;
    this.#locks.clear();
    const survivors = new Set<SimFile>();
    const files = new Map<string, SimFile>();
    for (const [dir, entries] of this.#durable) {
      for (const [name, file] of entries) {
        files.set(dir === "/" ? `/${name}` : `${dir}/${name}`, file);
        survivors.add(file);
      }
    }
    for (const file of new Set([...this.#files.values(), ...survivors])) {
      const unsynced = file.length - file.synced;
      if (unsynced <= 0) continue;
      const kept = this.options.tearWrites ? this.random.int(unsynced + 1) : 0;
      this.stats.lostBytes += unsynced - kept;
      file.length = file.synced + kept;
      file.synced = file.length;
    }
    this.#files = files;
  }

  /** From now on writes and syncs fail with `code` (`EIO` by default), until {@link repair}. */
  fail(code = "EIO"): void {
    this.#failing = code;
  }

  /** Writes that would take the disk past `bytes` in all fail with `ENOSPC` (`Infinity`: no limit). */
  setCapacity(bytes: number): void {
    if (!(bytes >= 0)) throw new RangeError(`a disk capacity is a number of bytes >= 0, got ${bytes}`);
    this.#capacity = bytes;
  }

  /** fsync takes `factor` times its usual time (1: back to normal). */
  slow(factor: number): void {
    if (!(factor >= 1) || !Number.isFinite(factor)) throw new RangeError(`a slow-down factor is a finite number >= 1, got ${factor}`);
    this.#slowFactor = factor;
  }

  /** Ends {@link fail}, {@link setCapacity} and {@link slow}. */
  repair(): void {
    this.#failing = undefined;
    this.#capacity = Infinity;
    this.#slowFactor = 1;
  }

  /**
   * Flips one random bit of one random durable byte (of a file whose name matches `only`, if
   * given): what a failing disk or a cosmic ray does. Returns where, or undefined if no file
   * has a durable byte.
   */
  corrupt(only?: RegExp): FlippedBit | undefined {
    const candidates = [...this.#files.entries()].filter(([path, f]) => f.synced > 0 && (!only || only.test(path))).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0
    );
    if (candidates.length === 0) return undefined;
    const [path, file] = candidates[this.random.int(candidates.length)]!;
    const offset = this.random.int(file.synced);
    const bit = this.random.int(8);
    file.bytes[offset]! ^= 1 << bit;
    this.stats.corruptions++;
    return { path, offset, bit };
  }

  // ---- what views call --------------------------------------------------------------------------

  /** @internal Throws EBADF if `generation` is over (its process crashed). */
  check(generation: number, path: string): void {
    if (generation !== this.#generation) throw new FileSystemError("EBADF", path, "the process that opened this crashed");
  }

  /** @internal */
  injected(path: string): void {
    if (this.#failing === undefined) return;
    this.stats.failedOperations++;
    throw new FileSystemError(this.#failing, path, "injected disk fault");
  }

  /** @internal */
  file(path: string): SimFile {
    const file = this.#files.get(normal(path));
    if (!file) throw new FileSystemError("ENOENT", path, "no such file or directory");
    return file;
  }

  /** @internal */
  mkdir(path: string): void {
    let p = normal(path);
    while (!this.#directories.has(p)) {
      if (this.#files.has(p)) throw new FileSystemError("EEXIST", path, "a file has this name");
      this.#directories.add(p);
      p = parent(p);
    }
  }

  /** @internal */
  readdir(path: string): string[] {
    const dir = normal(path);
    if (!this.#directories.has(dir)) throw new FileSystemError("ENOENT", path, "no such directory");
    const prefix = dir === "/" ? "/" : `${dir}/`;
    const names: string[] = [];
    for (const p of [...this.#files.keys(), ...this.#directories]) {
      if (p !== dir && p.startsWith(prefix) && !p.slice(prefix.length).includes("/")) names.push(p.slice(prefix.length));
    }
    return names.sort();
  }

  /** @internal Creates or truncates `path`. */
  create(path: string): SimFile {
    const p = normal(path);
    if (!this.#directories.has(parent(p))) throw new FileSystemError("ENOENT", path, "no such directory");
    if (this.#directories.has(p)) throw new FileSystemError("EISDIR", path, "a directory has this name");
    const file: SimFile = { bytes: new Uint8Array(256), length: 0, synced: 0 };
    this.#files.set(p, file);
    return file;
  }

  /** @internal */
  rename(from: string, to: string): void {
    const file = this.file(from);
    const target = normal(to);
    if (!this.#directories.has(parent(target))) throw new FileSystemError("ENOENT", to, "no such directory");
    this.#files.delete(normal(from));
    this.#files.set(target, file);
  }

  /** @internal */
  unlink(path: string): void {
    this.file(path);
    this.#files.delete(normal(path));
  }

  /** @internal */
  append(path: string, file: SimFile, data: Uint8Array): void {
    this.injected(path);
    // Summing the files only when a capacity is set: this runs on every write of the lab's engines.
    if (this.#capacity !== Infinity && this.usedBytes + data.length > this.#capacity) {
      this.stats.failedOperations++;
      throw new FileSystemError("ENOSPC", path, "no space left on device");
    }
    if (file.length + data.length > file.bytes.length) {
      const grown = new Uint8Array(Math.max(file.bytes.length * 2, file.length + data.length));
      grown.set(file.bytes.subarray(0, file.length));
      file.bytes = grown;
    }
    file.bytes.set(data, file.length);
    file.length += data.length;
    this.stats.writtenBytes += data.length;
  }

  /** @internal Waits an fsync's time, then makes the first `upTo` bytes durable (unless a fault or a crash came first). */
  async syncFile(path: string, file: SimFile, generation: number): Promise<void> {
    const upTo = file.length;
    this.injected(path);
    await sleep(this.scheduler, this.options.fsyncMs * this.#slowFactor);
    this.check(generation, path);
    this.injected(path);
    this.stats.syncs++;
    if (upTo > file.synced) file.synced = Math.min(upTo, file.length);
  }

  /** @internal */
  async syncDirectory(path: string, generation: number): Promise<void> {
    const dir = normal(path);
    if (!this.#directories.has(dir)) throw new FileSystemError("ENOENT", path, "no such directory");
    this.injected(path);
    await sleep(this.scheduler, this.options.fsyncMs * this.#slowFactor);
    this.check(generation, path);
    this.stats.syncs++;
    const prefix = dir === "/" ? "/" : `${dir}/`;
    const entries = new Map<string, SimFile>();
    for (const [p, f] of this.#files) {
      if (p.startsWith(prefix) && !p.slice(prefix.length).includes("/")) entries.set(p.slice(prefix.length), f);
    }
    this.#durable.set(dir, entries);
  }

  /** @internal */
  lock(path: string, generation: number): HeldDirectory {
    const dir = normal(path);
    if (!this.#directories.has(dir)) throw new FileSystemError("ENOENT", path, "no such directory");
    if (this.#locks.has(dir)) {
      throw new DirectoryLockedError(path, undefined, undefined, "another engine on this simulated disk holds it; close that engine first");
    }
    this.#locks.set(dir, generation);
    let held = true;
    return {
      release: () => {
        if (held && this.#locks.get(dir) === generation) this.#locks.delete(dir);
        held = false;
        return Promise.resolve();
      },
      abandon: () => {
        held = false;
      },
    };
  }
}

/** A process's view of the disk: every call fails once that process has crashed. */
class DiskView implements FileSystem {
  readonly kind = "simulated";

  constructor(
    private readonly disk: SimulatedDisk,
    private readonly generation: number,
  ) {}

  mkdir(path: string): Promise<void> {
    return this.#run(path, () => this.disk.mkdir(path));
  }

  readdir(path: string): Promise<string[]> {
    return this.#run(path, () => this.disk.readdir(path));
  }

  size(path: string): Promise<number> {
    return this.#run(path, () => this.disk.file(path).length);
  }

  readFile(path: string): Promise<Uint8Array> {
    return this.#run(path, () => {
      const file = this.disk.file(path);
      return file.bytes.slice(0, file.length);
    });
  }

  rename(from: string, to: string): Promise<void> {
    return this.#run(from, () => this.disk.rename(from, to));
  }

  unlink(path: string): Promise<void> {
    return this.#run(path, () => this.disk.unlink(path));
  }

  open(path: string, mode: OpenMode): Promise<FileHandle> {
    return this.#run(path, () => {
      const file = mode === "read" ? this.disk.file(path) : this.disk.create(path);
      return new SimFileHandle(this.disk, path, file, this.generation, mode === "write-synced");
    });
  }

  syncDirectory(path: string): Promise<void> {
    return this.#run(path, () => this.disk.syncDirectory(path, this.generation));
  }

  lockDirectory(path: string): Promise<HeldDirectory> {
    return this.#run(path, () => this.disk.lock(path, this.generation));
  }

  /** Runs `work` as this process, in a later microtask (as the host's file system answers). */
  async #run<T>(path: string, work: () => T | Promise<T>): Promise<T> {
    await Promise.resolve();
    this.disk.check(this.generation, path);
    return await work();
  }
}

class SimFileHandle implements FileHandle {
  #closed = false;

  constructor(
    private readonly disk: SimulatedDisk,
    readonly path: string,
    private readonly file: SimFile,
    private readonly generation: number,
    /** Opened `"write-synced"`: each write is synced before it resolves. */
    readonly syncsWrites = false,
  ) {}

  async write(data: Uint8Array, offset = 0, length = data.length - offset): Promise<number> {
    await Promise.resolve();
    this.#check();
    this.disk.append(this.path, this.file, data.subarray(offset, offset + length));
    // As write then sync: the fsync's virtual time, its faults, and what a crash keeps.
    if (this.syncsWrites) await this.disk.syncFile(this.path, this.file, this.generation);
    return length;
  }

  async read(into: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    await Promise.resolve();
    return this.readSync(into, offset, length, position);
  }

  readSync(into: Uint8Array, offset: number, length: number, position: number): number {
    this.#check();
    const n = Math.max(0, Math.min(length, this.file.length - position));
    into.set(this.file.bytes.subarray(position, position + n), offset);
    return n;
  }

  async sync(): Promise<void> {
    await Promise.resolve();
    this.#check();
    await this.disk.syncFile(this.path, this.file, this.generation);
  }

  async size(): Promise<number> {
    await Promise.resolve();
    this.#check();
    return this.file.length;
  }

  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }

  #check(): void {
    if (this.#closed) throw new FileSystemError("EBADF", this.path, "file closed");
    this.disk.check(this.generation, this.path);
  }
}
