/**
 * The LSM storage engine: commit log, memtable, SSTables, background flush and compaction.
 *
 * @module
 */
// deno-lint-ignore-file require-await
import { join } from "node:path";
import { EngineNotOpenError, RingforgeError, StorageIoError } from "../../../core/errors.ts";
import { checkBatch, checkBytes, checkScanOptions } from "../validate.ts";
import { compareBytes } from "../../../core/codec/bytes.ts";
import { lowerBound } from "../../../core/model/sorted.ts";
import type { Scheduler } from "../../../core/interfaces/clock.ts";
import { type Logger, silentLogger } from "../../../core/interfaces/logger.ts";
import type { Random } from "../../../core/interfaces/random.ts";
import type { BatchOperation, EngineCapabilities, ScanOptions, StorageEngine } from "../../../core/interfaces/storage-engine.ts";
import { BlockCache } from "./block-cache.ts";
import { Arena } from "./arena.ts";
import { encodeRecord, type LogOperation, LogWriter, type LogWrites, readLog, RECORD_ENTRIES_AT, type SyncPolicy } from "./commit-log.ts";
import { type Manifest, type ManifestTable, readManifest, writeManifest } from "./manifest.ts";
import type { FileSystem, HeldDirectory } from "../../../core/interfaces/file-system.ts";
import { hostFileSystem } from "../../../core/host/host-file-system.ts";
import { Memtable } from "./memtable.ts";
import { levelRange, merge, toAsync } from "./merge-iterator.ts";
import { type Block, type TableEntry, type TableOptions, TableReader } from "./sstable.ts";
import { sharedPrefixLength } from "./sorted-keys.ts";
import { type BuiltTable, type CompactionResult, type CompactionSource, type SourceFile } from "./compaction.ts";
import {
  type CompactionLane,
  type CompactionRunner,
  inlineRunner,
  sharedRunner,
  UNDER_DENO,
  WorkerLostError,
} from "./compaction-runner.ts";

/** Options of the LSM engine (defaults in {@link DEFAULT_LSM_OPTIONS}). */
export interface LsmEngineOptions {
  /** Directory of this engine's files (created if missing). */
  readonly directory: string;
  /** When the commit log reaches the disk (see {@link SyncPolicy}). Default `"interval"`. */
  readonly sync: SyncPolicy;
  /** With `sync: "interval"`, ms between fsyncs. Default 1000. */
  readonly syncIntervalMs: number;
  /**
   * A memtable whose live entries pass this many bytes (or whose entries written, replaced ones
   * included, pass four times it) is frozen and flushed to a table. Default 4 MiB.
   */
  readonly memtableBytes: number;
  /** Target size of a table's data block. Default 4096. */
  readonly blockBytes: number;
  /** Bytes of decoded blocks kept in the LRU block cache. Default 8 MiB. */
  readonly blockCacheBytes: number;
  /** Bloom filter bits per key. Default 10 (about 1% false positives). */
  readonly bloomBitsPerKey: number;
  /** Block compression: `"none"` (default) or `"deflate"` (zlib at its fastest level, per block). */
  readonly compression: "none" | "deflate";
  /**
   * How table blocks are read on a cache miss. `"sync"` (default): a synchronous pread, about
   * 2 µs when the OS page cache holds the block (measured on this project's 2-core VM), but the
   * event loop waits while the device reads a block that is not cached. `"async"`: through
   * libuv's thread pool, never blocking the loop, about 86 µs a read on the same machine.
   */
  readonly blockReads: "sync" | "async";
  /**
   * How the commit log's writes reach the file (see {@link LogWrites}). `"sync"` (default):
   * once per turn of the event loop, one write on the engine's thread for everything the turn
   * appended; under `sync: "always"` the loop waits for the device's flush (about 0.2 ms on this
   * project's VM), and the requests that arrive meanwhile share the next write (frames to peers
   * written in the turn leave first). In the cluster bench at fsync always it cost a node 17-41%
   * less CPU per operation than `"async"` in three of four alternating pairs, 5% more in the
   * fourth (docs/engines.md has the figures). `"async"`: through
   * libuv's thread pool, never blocking the loop: for a disk whose flushes take long or stall
   * (a network volume), where a node should keep answering reads while it waits. Under Deno, and
   * on the simulated disk, writes are always `"async"`.
   */
  readonly logWrites: LogWrites;
  /**
   * `"leveled"` (default, LevelDB's): level 0 takes flushes; each deeper level is 10x the last
   * and holds non-overlapping tables, so a read touches at most one table per level.
   * `"size-tiered"` (Cassandra's default): tables of similar size are merged, writing less but
   * leaving more tables for a read to consult.
   */
  readonly compaction: "leveled" | "size-tiered";
  /** Level-0 tables (leveled) or similar-size tables (size-tiered) that start a compaction. Default 4. */
  readonly compactionTrigger: number;
  /** Target size of a table written by compaction. Default 2 MiB. */
  readonly tableBytes: number;
  /** Size of level 1 (leveled); each deeper level is 10x. Default 10 MiB. */
  readonly levelBaseBytes: number;
  /**
   * Leveled: with this many level-0 tables, flushes wait for compaction to bring the count
   * down, and writes wait once two memtables are frozen behind them (LevelDB's stop trigger,
   * 12): a bound on how far writes can outrun compaction, and so on how many tables a read may
   * have to ask. Default 12.
   */
  readonly level0StopTrigger: number;
  /**
   * Where flushes and compactions run. `"worker"`: in a worker thread (one per process, shared
   * by its engines), so requests never wait behind a merge and a second core does the work.
   * `"inline"`: on the engine's thread, a slice of about a millisecond at a time. `"auto"`
   * (default): the worker on the host's disk under Node; inline on a simulated disk (whose time
   * is virtual) and under Deno (where a started worker keeps the process alive until
   * `stopCompactionWorkers()`). Where no worker can start, jobs run inline.
   */
  readonly compactionThread: "auto" | "worker" | "inline";
}

/** Defaults of {@link LsmEngineOptions} (everything but `directory`). */
export const DEFAULT_LSM_OPTIONS: Omit<LsmEngineOptions, "directory"> = {
  sync: "interval",
  syncIntervalMs: 1000,
  memtableBytes: 4 * 1024 * 1024,
  blockBytes: 4096,
  blockCacheBytes: 8 * 1024 * 1024,
  bloomBitsPerKey: 10,
  compression: "none",
  blockReads: "sync",
  logWrites: "sync",
  compaction: "leveled",
  compactionTrigger: 4,
  tableBytes: 2 * 1024 * 1024,
  levelBaseBytes: 10 * 1024 * 1024,
  level0StopTrigger: 12,
  compactionThread: "auto",
};

/** What the engine did, for benchmarks and tests. */
export interface LsmStats {
  /** Memtables flushed to tables. */
  flushes: number;
  /** Compactions run (moves included). */
  compactions: number;
  /**
   * Tables that went down a level without being rewritten, as LevelDB's trivial move: they
   * overlapped nothing in the level below (and, from level 0, nothing in level 0 either).
   */
  tablesMoved: number;
  /** Writes replayed from the commit log at the last open. */
  recoveredWrites: number;
  /** Bytes of torn or corrupt log tail cut off at the last open (lost writes). */
  lostLogBytes: number;
  /** Tombstones dropped by compaction (nothing older could exist below them). */
  tombstonesDropped: number;
  /** Flushes that waited for compaction because level 0 held `level0StopTrigger` tables. */
  flushStalls: number;
}

/** A memtable frozen for flushing, with the log that holds its writes. */
interface Frozen {
  readonly mem: Memtable;
  readonly log: number;
  /** Its log's close (queued records written and fsynced), which runs in the background. */
  readonly closed: Promise<void>;
}

/** A commit log and its file number. */
interface NumberedLog {
  readonly number: number;
  readonly log: LogWriter;
}

/** The set of live tables at one moment. */
interface Version {
  /** Level 0 newest first (leveled), or every table newest first (size-tiered); deeper levels by key. */
  readonly levels: readonly (readonly TableReader[])[];
}

const MAX_FROZEN = 2;

/** A memtable is full once its chunks hold this many times `memtableBytes` (see `#write`). */
const MEMTABLE_WRITTEN_FACTOR = 4;

/**
 * A {@link StorageEngine} built as a log-structured merge tree, in TypeScript on `node:fs` (so
 * it runs under Node and Deno):
 *
 * - **write path**: a write is appended to the commit log (CRC-32C framed; fsync per the
 *   `sync` policy, group commit under `always`), then applied to the sorted memtable. A full
 *   memtable is frozen and flushed to a level-0 table in the background while writes go on
 *   into a new one and a new log made ahead (writes wait only if two frozen memtables are still
 *   unflushed, or for a log not made yet);
 * - **read path**: memtable, frozen memtables, then tables newest first, each asked through its
 *   Bloom filter before any block is read; blocks are checked against their checksum and
 *   cached in a byte-bounded LRU;
 * - **compaction** merges tables in the background (leveled or size-tiered); the newest version
 *   of a key wins, and a tombstone is dropped only where no older table could hold its key;
 * - **manifest**: the live tables and the oldest needed log, replaced atomically after every
 *   flush and compaction, so a crash at any point reopens a consistent state; files it does not
 *   name are leftovers of an interrupted flush or compaction and are deleted at open.
 *
 * Opening takes the directory's exclusive lock first (a `LOCK` file naming this process, see
 * `core/host/directory-lock.ts`), so a second engine, in this process or another, is
 * refused with a `DirectoryLockedError` before it reads or writes anything; `close()`
 * releases it.
 *
 * Opening replays the logs the manifest names; a torn or corrupt tail stops the replay there
 * (everything before it is recovered; `stats.lostLogBytes` reports the cut, and one warning
 * names the log, the offset and the bytes dropped).
 *
 * `get` and `scan` return views, not copies of their own: of the memtable's 256 KiB chunk a
 * value was written into, of the block a scan read, or of the 32 KiB chunk `get` copied a value
 * into from a block in a recycled buffer. A view keeps that memory alive, so copy a value
 * (`value.slice()`) before keeping it for long.
 *
 * @example
 * ```ts
 * const engine = new LsmEngine({ directory: "./data/n1" }, systemScheduler);
 * await engine.open();
 * await engine.put(new Uint8Array([1]), new Uint8Array([42]));
 * await engine.close();
 * ```
 */
export class LsmEngine implements StorageEngine {
  readonly capabilities: EngineCapabilities = Object.freeze({ persistent: true });
  /** The options in effect. */
  readonly options: LsmEngineOptions;
  /** Counters. */
  readonly stats: LsmStats = {
    flushes: 0,
    compactions: 0,
    tablesMoved: 0,
    recoveredWrites: 0,
    lostLogBytes: 0,
    tombstonesDropped: 0,
    flushStalls: 0,
  };
  readonly #scheduler: Scheduler;
  readonly #logger: Logger;
  readonly #fs: FileSystem;
  readonly #cache: BlockCache<Block>;
  #open = false;
  #opening: Promise<void> | undefined;
  #lock: HeldDirectory | undefined;
  /** Seeds each memtable's key hash. */
  readonly #hashSeed: number;
  #mem: Memtable;
  /** Where log records (and so the memtable's entries) are written. */
  readonly #arena = new Arena();
  #frozen: Frozen[] = [];
  #log: LogWriter | undefined;
  #logNumber = 0;
  /**
   * The log the next rotation switches to, made ahead (its file created and its name fsynced)
   * so that writes do not wait for it: at each rotation for the next one, and before the first
   * once the memtable is half full. Made at the rotation itself, writes waited 12-24 ms at every
   * rotation on the development VM (0.4-0.9 s in all of a 3.5-4 s batched load of 1,000,000
   * keys); made only from half full, still 14 ms (the directory fsync waits behind the
   * load's other writes).
   */
  #spare: Promise<NumberedLog> | undefined;
  #nextFile = 1;
  #version: Version = { levels: [[]] };
  #meta = new Map<number, ManifestTable>();
  #bounds = new Map<number, { smallest: Uint8Array; largest: Uint8Array }>();
  #rotating: Promise<void> | undefined;
  #flushing: Promise<void> | undefined;
  #compacting: Promise<void> | undefined;
  #manifestWrites: Promise<void> = Promise.resolve();
  #backgroundError: unknown;
  #flushWaiters: (() => void)[] = [];
  #readers = 0;
  #graveyard: TableReader[] = [];
  #compactPointer: Uint8Array[] = [];
  #resolvedMode: "worker" | "inline" | undefined;
  /** Runs jobs on this thread, yielding through the engine's scheduler. */
  readonly #inline: CompactionRunner;
  /** A worker stopped: every job runs inline from then on. */
  #workerLost = false;
  /** The runner of each lane, chosen at open. */
  #runners = new Map<CompactionLane, Promise<CompactionRunner>>();
  /** Woken when a compaction commits (a flush stalled on level 0 waits for it). */
  #compactionWaiters: (() => void)[] = [];

  /**
   * @param options `directory` and any option to override
   * @param scheduler timers for `sync: "interval"`, on the disk's time: the host's
   *   (`systemScheduler`) for the host's disk, the simulation's for a simulated one
   * @param logger where recovery reports a cut commit log (a warning) and a stale lock taken over
   *   (info); default nowhere
   * @param fs where the files live: the host's disk (default) or a simulated one (a plugin
   *   context's `fs`)
   * @param random seeds the memtable's key hash (the plugin passes the node's); without it the
   *   seed is 0, and a client that knows that could choose keys that collide
   */
  constructor(
    options: Partial<LsmEngineOptions> & { directory: string },
    scheduler: Scheduler,
    logger: Logger = silentLogger,
    fs: FileSystem = hostFileSystem,
    random?: Random,
  ) {
    this.options = { ...DEFAULT_LSM_OPTIONS, ...options };
    // The memtable hashes keys clients chose: seeded from the node's random source where given
    // (unpredictable in a node process, seeded in the lab), so nobody can pick colliding keys;
    // a fork, so the node's other draws stay as they were.
    this.#hashSeed = random?.fork("lsm-memtable-hash").int(2 ** 32) ?? 0;
    this.#mem = new Memtable(this.#hashSeed);
    this.#scheduler = scheduler;
    this.#logger = logger;
    this.#fs = fs;
    this.#cache = new BlockCache(this.options.blockCacheBytes);
    this.#inline = inlineRunner(scheduler);
  }

  // ---- lifecycle -------------------------------------------------------------------------

  /**
   * Opens the store: takes the directory's lock, then recovers (replays the commit logs).
   * @throws {DirectoryLockedError} if another engine holds the directory (nothing in it is touched)
   * @throws {CorruptDataError} if the manifest or a table's index, filter or footer is corrupt
   */
  open(): Promise<void> {
    if (this.#open) return Promise.resolve();
    // Concurrent calls share one open: a second would find the directory held by the first.
    return (this.#opening ??= this.#openOnce().finally(() => {
      this.#opening = undefined;
    }));
  }

  async #openOnce(): Promise<void> {
    const dir = this.options.directory;
    await this.#fs.mkdir(dir);
    // Before anything in the directory is read or written: a refused engine must not so much as
    // rotate the holder's commit log.
    const lock = await this.#fs.lockDirectory(dir, this.#logger);
    this.#runners = new Map();
    this.#workerLost = false;
    try {
      await this.#recover();
    } catch (error) {
      // A failed open leaves nothing open: not its new log, not its tables, not the lock.
      await this.#log?.close().catch(() => {});
      this.#log = undefined;
      await this.#closeTables();
      await lock.release();
      throw error;
    }
    this.#lock = lock;
    this.#mem = new Memtable(this.#hashSeed);
    this.#frozen = [];
    this.#backgroundError = undefined;
    this.#open = true;
    // Asked for by name, the workers start now, so the first flush does not wait for one to
    // load. Under "auto" they start with the first flush: a node that never fills a memtable
    // never pays for them (from TypeScript under Node, that is an esbuild bundle per process,
    // CPU that a starting cluster on a small machine needs for its failure detector).
    if (this.options.compactionThread === "worker") {
      void this.#chooseRunner("flush");
      void this.#chooseRunner("compaction");
    }
    this.#kick();
  }

  /** Reads the manifest and tables, replays the logs, and writes what they held to a table. */
  async #recover(): Promise<void> {
    const dir = this.options.directory;
    const manifest = (await readManifest(this.#fs, dir)) ?? { nextFile: 1, log: 0, levels: [[]] };
    this.#nextFile = manifest.nextFile;
    const levels: TableReader[][] = [];
    const opened: TableReader[] = [];
    try {
      for (const level of manifest.levels) {
        const readers: TableReader[] = [];
        for (const t of level) {
          const reader = await TableReader.open(
            this.#fs,
            t.number,
            this.#tablePath(t.number),
            this.#cache,
            this.options.blockReads === "sync",
          );
          opened.push(reader);
          readers.push(reader);
          this.#setMeta(t);
        }
        levels.push(readers);
      }
    } catch (error) {
      for (const r of opened) await r.close();
      throw error;
    }
    if (levels.length === 0) levels.push([]);
    this.#version = { levels };

    // Leftovers of an interrupted flush or compaction, and logs already in tables.
    const live = new Set(manifest.levels.flat().map((t) => t.number));
    const logs: number[] = [];
    for (const name of await this.#fs.readdir(dir)) {
      const m = /^(\d+)\.(sst|log)$/.exec(name);
      if (!m) continue;
      const number = Number(m[1]);
      // A crash after a log rotation but before the manifest recorded it leaves files numbered
      // past the manifest's nextFile: never reuse their numbers.
      this.#nextFile = Math.max(this.#nextFile, number + 1);
      if (m[2] === "sst" && !live.has(number)) await this.#fs.unlink(join(dir, name));
      if (m[2] === "log") {
        if (number < manifest.log) await this.#fs.unlink(join(dir, name));
        else logs.push(number);
      }
    }
    logs.sort((a, b) => a - b);

    // Replay, then write what was recovered as a level-0 table, so the old logs can go.
    const recovered = new Memtable(this.#hashSeed);
    this.stats.recoveredWrites = 0;
    this.stats.lostLogBytes = 0;
    let cut: { file: string; offset: number } | undefined;
    let newerLogs = 0;
    for (const number of logs) {
      if (cut) {
        // Writes after a lost record are not replayed either: the state must be a prefix of
        // the history, never one with a hole (a lost half of it, a batch's other writes).
        const size = await this.#fs.size(this.#logPath(number));
        this.stats.lostLogBytes += size;
        // An empty log (one made ahead for a rotation that never came) lost nothing.
        if (size > 0) newerLogs++;
        continue;
      }
      const replay = await readLog(this.#fs, this.#logPath(number));
      for (const record of replay.records) for (const op of record) recovered.set(op.key, op.value);
      this.stats.recoveredWrites += replay.records.length;
      this.stats.lostLogBytes += replay.lostBytes;
      if (replay.lostBytes > 0) cut = { file: this.#logPath(number), offset: replay.end };
    }
    if (cut) {
      // Acknowledged writes may be among the dropped bytes (under `interval` and `never`, or a
      // disk that lied about an fsync): say so where an operator looks, once per recovery.
      this.#logger.warn("recovery cut the commit log at a torn or corrupt record; the writes from there on are lost", {
        file: cut.file,
        offset: cut.offset,
        droppedBytes: this.stats.lostLogBytes,
        ...(newerLogs > 0 && { newerLogsDropped: newerLogs }),
      });
    }
    this.#logNumber = this.#nextFile++;
    this.#log = await LogWriter.create(
      this.#fs,
      this.#logPath(this.#logNumber),
      this.options.sync,
      this.#scheduler,
      this.options.syncIntervalMs,
      this.options.logWrites,
    );
    if (recovered.size > 0) {
      const table = await this.#writeTable(recovered, false);
      if (table) this.#version = { levels: [[table, ...this.#version.levels[0]!], ...this.#version.levels.slice(1)] };
    }
    await this.#saveManifest();
    for (const number of logs) await this.#fs.unlink(this.#logPath(number));
  }

  /** Writes and fsyncs the commit log, closes every file, then releases the directory's lock. */
  async close(): Promise<void> {
    if (this.#opening) await this.#opening.catch(() => {});
    if (!this.#open) return;
    this.#open = false;
    // Every step runs even if one before failed (a disk that failed a write leaves the log
    // unusable): files are closed and the lock released whatever happened, and the first
    // failure is reported at the end, typed.
    let failure: unknown;
    const attempt = async (step: () => Promise<unknown>) => {
      try {
        await step();
      } catch (error) {
        failure ??= error;
      }
    };
    await attempt(() => this.#quiesce());
    await attempt(() => this.#dropSpare(true));
    await attempt(async () => await this.#log?.close());
    this.#log = undefined;
    for (const level of this.#version.levels) for (const t of level) await attempt(() => t.close());
    for (const t of this.#graveyard.splice(0)) await attempt(() => this.#bury(t));
    this.#reset();
    const lock = this.#lock;
    this.#lock = undefined;
    await attempt(async () => await lock?.release());
    if (failure !== undefined) {
      throw failure instanceof RingforgeError ? failure : new StorageIoError(`lsm at ${this.options.directory}`, failure);
    }
  }

  /**
   * Stops as if the process were killed here, for crash tests: commit-log records not yet handed
   * to the OS are lost (under `interval` and `never`; `always` has none once a write resolved),
   * nothing is fsynced or flushed, and the `LOCK` file stays, as a dead process leaves it. A
   * flush or compaction already running completes first (what a kill a moment later would
   * leave), and so does the close of a log a rotation left (its records were handed to the OS
   * when it began), so nothing of this engine writes to the directory once this resolves; the next
   * engine over the directory takes the stale lock over and recovers. Writes waiting on the log
   * reject with {@link EngineNotOpenError}.
   *
   * @example
   * ```ts
   * await engine.put(key, value);
   * await engine.crash();
   * const recovered = new LsmEngine({ directory }, systemScheduler); // replays the commit log
   * await recovered.open();
   * ```
   */
  async crash(): Promise<void> {
    if (this.#opening) await this.#opening.catch(() => {});
    if (!this.#open) return;
    this.#open = false;
    const abandoned = new EngineNotOpenError(`lsm engine at ${this.options.directory}`);
    // The queued records go before anything awaits: a kill leaves no time to write them.
    const log = this.#log;
    const dropping = log?.abandon(abandoned);
    await this.#quiesce();
    await this.#dropSpare(false);
    await dropping;
    // A rotation in flight may have started a new log; no write got into it past the closed engine.
    if (this.#log !== log) await this.#log?.abandon(abandoned);
    this.#log = undefined;
    await this.#closeTables();
    this.#lock?.abandon();
    this.#lock = undefined;
  }

  /** Waits for the rotation, flush and compaction in flight (and those they start) to finish. */
  async #quiesce(): Promise<void> {
    // A flush waiting for compaction to drain level 0 stops waiting and goes ahead (level 0
    // takes one table past its stop trigger); writes waiting for a flush find the engine closed.
    for (const w of this.#compactionWaiters.splice(0)) w();
    for (const w of this.#flushWaiters.splice(0)) w();
    while (this.#rotating) await this.#rotating;
    while (this.#flushing || this.#compacting) await (this.#flushing ?? this.#compacting);
    // Logs closing in the background (a rotation's old log) finish writing before this returns.
    for (const f of [...this.#frozen]) await f.closed;
  }

  /**
   * Drops the spare log, if one was made: closed and deleted (`remove`), or left as a killed
   * process leaves it (empty; the next recovery replays nothing from it and deletes it).
   */
  async #dropSpare(remove: boolean): Promise<void> {
    const spare = this.#spare;
    this.#spare = undefined;
    // Nothing was written to it: a spare that could not be made is no one's loss.
    const made = await spare?.catch(() => undefined);
    if (made === undefined) return;
    await made.log.abandon(new EngineNotOpenError(`lsm engine at ${this.options.directory}`));
    if (remove) await this.#fs.unlink(this.#logPath(made.number));
  }

  /** Closes every table reader without deleting any file (a failed open, a crash). */
  async #closeTables(): Promise<void> {
    for (const level of this.#version.levels) for (const t of level) await t.close().catch(() => {});
    for (const t of this.#graveyard.splice(0)) await t.close().catch(() => {});
    this.#reset();
  }

  #reset(): void {
    this.#version = { levels: [[]] };
    this.#meta.clear();
    this.#bounds.clear();
    this.#mem = new Memtable(this.#hashSeed);
    this.#frozen = [];
  }

  // ---- reads -----------------------------------------------------------------------------

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    this.#checkOpen();
    checkBytes("key", key);
    const hit = this.#mem.get(key);
    if (hit) return hit.value ?? undefined;
    for (const f of this.#frozen) {
      const e = f.mem.get(key);
      if (e) return e.value ?? undefined;
    }
    const version = this.#acquire();
    try {
      for (const table of this.#candidates(version, key)) {
        const value = await table.get(key);
        if (value !== undefined) return value ?? undefined;
      }
      return undefined;
    } catch (error) {
      throw this.#typed(error);
    } finally {
      this.#release();
    }
  }

  async *scan(options: ScanOptions = {}): AsyncGenerator<readonly [key: Uint8Array, value: Uint8Array]> {
    this.#checkOpen();
    checkScanOptions(options ?? {});
    const { gte, lt, limit = Infinity, reverse = false } = options ?? {};
    if (limit === 0) return;
    // Newest source first: equal keys take the first source's entry.
    const sources: AsyncIterator<TableEntry>[] = [
      toAsync(this.#mem.range(gte, lt, reverse)),
      ...this.#frozen.map((f) => toAsync(f.mem.range(gte, lt, reverse))),
    ];
    const version = this.#acquire();
    try {
      const [first, ...deeper] = version.levels;
      for (const t of first!) sources.push(t.range(gte, lt, reverse)[Symbol.asyncIterator]());
      for (const level of deeper) sources.push(levelRange(level, gte, lt, reverse));
      let remaining = limit;
      try {
        for await (const entry of merge(sources, reverse)) {
          this.#checkOpen();
          if (entry.value === null) continue;
          yield [entry.key, entry.value] as const;
          if (--remaining <= 0) return;
        }
      } catch (error) {
        throw this.#typed(error);
      }
    } finally {
      this.#release();
    }
  }

  // ---- writes ----------------------------------------------------------------------------

  async put(key: Uint8Array, value: Uint8Array): Promise<void> {
    this.#checkOpen();
    checkBytes("key", key);
    checkBytes("value", value);
    await this.#write([{ key, value }]);
  }

  async delete(key: Uint8Array): Promise<void> {
    this.#checkOpen();
    checkBytes("key", key);
    await this.#write([{ key, value: null }]);
  }

  async batch(operations: readonly BatchOperation[]): Promise<void> {
    this.#checkOpen();
    checkBatch(operations);
    const ops: LogOperation[] = operations.map((op) => ({ key: op.key, value: op.type === "put" ? op.value : null }));
    if (ops.length > 0) await this.#write(ops);
  }

  /**
   * Appends to the log, applies to the memtable, and freezes the memtable when it is full. `ops`
   * may be the caller's buffers: they are copied into the log record before anything awaits.
   */
  async #write(ops: LogOperation[]): Promise<void> {
    // The record copies the caller's bytes at once, into a slice of the engine's arena; the
    // memtable then holds its entries where they lie in it.
    const record = encodeRecord(ops, this.#arena);
    while (this.#rotating || this.#frozen.length >= MAX_FROZEN) {
      if (this.#rotating) await this.#rotating;
      else await new Promise<void>((resolve) => this.#flushWaiters.push(resolve));
      this.#checkOpen();
      // A failed flush is not retried: nothing would free the frozen memtables this waits on.
      if (this.#backgroundError !== undefined) throw this.#typed(this.#backgroundError);
    }
    if (this.#backgroundError !== undefined) throw this.#typed(this.#backgroundError);
    const durable = this.#log!.append(record);
    this.#mem.insertAll(record, RECORD_ENTRIES_AT, ops.length);
    // Full when its live entries reach memtableBytes, or when what its chunks hold (replaced
    // entries too) reaches MEMTABLE_WRITTEN_FACTOR times that. Counting replaced entries alone
    // flushed a memtable of a few hot keys every 4 MiB written: in a 3-node cluster under
    // YCSB-A (zipfian updates) that cost 811-965 µs of CPU per operation against 713-750.
    const { memtableBytes } = this.options;
    const fullness = Math.max(this.#mem.bytes / memtableBytes, this.#mem.written / (MEMTABLE_WRITTEN_FACTOR * memtableBytes));
    if (fullness >= 1) this.#rotate();
    else if (fullness >= 0.5 && this.#spare === undefined && this.#rotating === undefined) this.#spare = this.#newLog();
    try {
      await durable;
    } catch (error) {
      throw this.#typed(error);
    }
  }

  /**
   * A failure as callers are told it: typed errors as they are, anything once the engine is
   * closed or crashed as {@link EngineNotOpenError}, a file system's error as {@link StorageIoError}.
   */
  #typed(error: unknown): Error {
    if (error instanceof RingforgeError) return error;
    if (!this.#open) return new EngineNotOpenError(`lsm engine at ${this.options.directory}`);
    return new StorageIoError(`lsm at ${this.options.directory}`, error);
  }

  /**
   * Freezes the memtable and switches to a new log (the spare, if it is made); the flush, and
   * the old log's close, run in the background. Writes wait only until the switch.
   */
  #rotate(): void {
    this.#rotating = (async () => {
      const spare = this.#spare;
      this.#spare = undefined;
      // A spare that could not be made is made again here: a passing failure long before the
      // rotation must not stop the engine.
      const { number, log: next } = (await spare?.catch(() => undefined)) ?? (await this.#newLog());
      const old = this.#log!;
      // The old log's queued records reach its file before any of the new log's do (next waits
      // for the close), so what a crash leaves is always a prefix of the writes. Its flush
      // deletes the old log only once this is done; a failure stops the engine as a failed
      // flush does.
      const closing = old.close();
      next.after(closing);
      const closed = closing.catch((error) => {
        this.#backgroundError ??= error;
      });
      this.#frozen.unshift({ mem: this.#mem, log: this.#logNumber, closed });
      this.#mem = new Memtable(this.#hashSeed);
      this.#log = next;
      this.#logNumber = number;
      this.#spare = this.#newLog();
      this.#kick();
    })()
      .catch((error) => {
        this.#backgroundError ??= error;
      })
      .finally(() => {
        this.#rotating = undefined;
      });
  }

  /** Creates the next commit log. */
  #newLog(): Promise<NumberedLog> {
    const number = this.#nextFile++;
    const made = (async () => {
      const log = await LogWriter.create(
        this.#fs,
        this.#logPath(number),
        this.options.sync,
        this.#scheduler,
        this.options.syncIntervalMs,
        this.options.logWrites,
      );
      // The new log's name must survive a crash before any write it acknowledges does: the
      // manifest that would name its directory entry durably comes only after the next flush.
      await this.#fs.syncDirectory(this.options.directory);
      return { number, log };
    })();
    // A spare that fails is reported by the rotation that takes it, not as an unhandled rejection.
    made.catch(() => {});
    return made;
  }

  // ---- background: flush and compaction --------------------------------------------------

  /** Starts the flush and compaction loops if they have work and are not running. */
  #kick(): void {
    // Not after a failure: the flush that failed would fail again, in a loop.
    if (!this.#flushing && this.#frozen.length > 0 && this.#backgroundError === undefined) {
      this.#flushing = (async () => {
        // Past the assignment before any flush runs: a flush may kick again.
        await null;
        try {
          while (this.#frozen.length > 0) await this.#flushOldest();
        } catch (error) {
          this.#backgroundError ??= error;
        }
      })().finally(() => {
        this.#flushing = undefined;
        for (const w of this.#flushWaiters.splice(0)) w();
        this.#kick();
      });
    }
    this.#kickCompaction();
  }

  /** Starts the compaction loop if it is not running. */
  #kickCompaction(): void {
    // Compaction runs beside flushes, so a long merge never holds writes back.
    if (!this.#compacting && this.#open && this.#backgroundError === undefined) {
      this.#compacting = (async () => {
        try {
          while (this.#open && (await this.#compactOnce()));
        } catch (error) {
          this.#backgroundError ??= error;
        }
      })().finally(() => {
        this.#compacting = undefined;
        // A flush stalled on level 0 looks again (and kicks compaction again if still due).
        for (const w of this.#compactionWaiters.splice(0)) w();
      });
    }
  }

  async #flushOldest(): Promise<void> {
    if (this.#level0Full()) {
      this.stats.flushStalls++;
      // Closing stops waiting: the flush then goes ahead, as every flush does on close.
      while (this.#level0Full() && this.#open && this.#backgroundError === undefined) {
        this.#kickCompaction();
        await new Promise<void>((resolve) => this.#compactionWaiters.push(resolve));
      }
    }
    const frozen = this.#frozen[this.#frozen.length - 1]!;
    const table = await this.#writeTable(frozen.mem, false);
    if (table) {
      const [l0, ...deeper] = this.#version.levels;
      this.#version = { levels: [[table, ...l0!], ...deeper] };
    }
    this.#frozen.pop();
    await this.#saveManifest();
    await frozen.closed;
    await this.#fs.unlink(this.#logPath(frozen.log)).catch(() => {});
    this.stats.flushes++;
    for (const w of this.#flushWaiters.splice(0)) w();
    this.#kick();
  }

  /** True if level 0 is at its stop trigger (leveled): the next flush waits for compaction. */
  #level0Full(): boolean {
    const { compaction, compactionTrigger, level0StopTrigger } = this.options;
    return compaction === "leveled" && this.#version.levels[0]!.length >= Math.max(level0StopTrigger, compactionTrigger + 1);
  }

  /** Runs one compaction if one is due; false if none is. */
  async #compactOnce(): Promise<boolean> {
    return this.options.compaction === "leveled" ? this.#compactLeveled() : this.#compactTiered();
  }

  /** True if a flush or compaction is due. */
  #workDue(): boolean {
    if (this.#frozen.length > 0) return true;
    return this.options.compaction === "leveled" ? this.#leveledSource() >= 0 : this.#tieredRun() >= 0;
  }

  /**
   * The level a leveled compaction should start from, or -1: the one most over its target, as
   * LevelDB scores them (level 0 by its table count over the trigger, deeper levels by their
   * bytes over their size). Always taking level 0 first would let level 1 grow without bound
   * while writes keep level 0 full, and every level-0 compaction would then rewrite all of it.
   */
  #leveledSource(): number {
    const levels = this.#version.levels;
    let best = -1;
    let bestScore = 1;
    const score0 = levels[0]!.length / this.options.compactionTrigger;
    if (score0 >= bestScore) [best, bestScore] = [0, score0];
    for (let i = 1; i < levels.length; i++) {
      const score = this.#levelBytes(levels[i]!) / (this.options.levelBaseBytes * 10 ** (i - 1));
      if (score > bestScore) [best, bestScore] = [i, score];
    }
    return best;
  }

  /** Where the oldest run of similar-size tables ends (size-tiered), or -1. */
  #tieredRun(): number {
    const tables = this.#version.levels[0]!;
    const n = this.options.compactionTrigger;
    for (let end = tables.length; end - n >= 0; end--) {
      const sizes = tables.slice(end - n, end).map((t) => this.#meta.get(t.number)!.size);
      if (Math.max(...sizes) <= 2 * Math.min(...sizes)) return end;
    }
    return -1;
  }

  async #compactLeveled(): Promise<boolean> {
    const levels = this.#version.levels;
    const source = this.#leveledSource();
    if (source < 0) return false;
    const target = source + 1;
    let inputs: TableReader[];
    if (source === 0) inputs = [...levels[0]!];
    else {
      // Round-robin through the level's key space, as LevelDB's compaction pointer does.
      const pointer = this.#compactPointer[source];
      const level = levels[source]!;
      inputs = [level.find((t) => pointer === undefined || compareBytes(this.#smallest(t), pointer) > 0) ?? level[0]!];
    }
    const smallest = inputs.map((t) => this.#smallest(t)).reduce((a, b) => (compareBytes(a, b) <= 0 ? a : b));
    const largest = inputs.map((t) => this.#largest(t)).reduce((a, b) => (compareBytes(a, b) >= 0 ? a : b));
    const overlapping = (levels[target] ?? []).filter((t) => this.#overlaps(t, smallest, largest));
    if (source > 0) this.#compactPointer[source] = largest;
    // Tombstones can go only if no deeper level may hold an older version of their keys.
    const bottom = levels.slice(target + 1).every((level) => level.every((t) => !this.#overlaps(t, smallest, largest)));
    if (overlapping.length === 0 && this.#disjoint(inputs)) {
      // LevelDB's trivial move: nothing to merge with, so the files change level, not bytes.
      // Level-0 tables move together when their ranges do not overlap each other either (keys
      // written in order, as in a bulk load): each is then its own slice of level 1.
      const moved = new Set(inputs);
      const next = this.#version.levels.map((level) => level.filter((t) => !moved.has(t)));
      while (next.length <= target) next.push([]);
      next[target] = [...next[target]!, ...inputs].sort((a, b) => compareBytes(this.#smallest(a), this.#smallest(b)));
      this.stats.tablesMoved += inputs.length;
      await this.#commitCompaction(next, new Set());
      return true;
    }
    // Level-0 tables overlap, so each is its own run (newest first); the target level's tables
    // do not, so they are read as one run in key order.
    const outputs = await this.#mergeTables([...inputs.map((t) => [t]), overlapping], bottom);
    const removed = new Set([...inputs, ...overlapping]);
    // From the version as it is now: flushes may have added level-0 tables meanwhile.
    const next = this.#version.levels.map((level) => level.filter((t) => !removed.has(t)));
    while (next.length <= target) next.push([]);
    next[target] = [...next[target]!, ...outputs].sort((a, b) => compareBytes(this.#smallest(a), this.#smallest(b)));
    await this.#commitCompaction(next, removed);
    return true;
  }

  /** True if no two of `tables` have overlapping key ranges. */
  #disjoint(tables: readonly TableReader[]): boolean {
    const sorted = [...tables].sort((a, b) => compareBytes(this.#smallest(a), this.#smallest(b)));
    for (let i = 1; i < sorted.length; i++) {
      if (compareBytes(this.#largest(sorted[i - 1]!), this.#smallest(sorted[i]!)) >= 0) return false;
    }
    return true;
  }

  async #compactTiered(): Promise<boolean> {
    // Every table lives in level 0, newest first. Merge the oldest run of `trigger` adjacent
    // tables whose sizes are within 2x of each other (adjacent, so the merge keeps age order).
    const tables = this.#version.levels[0]!;
    const n = this.options.compactionTrigger;
    const end = this.#tieredRun();
    if (end >= 0) {
      const run = tables.slice(end - n, end);
      const includesOldest = end === tables.length;
      const outputs = await this.#mergeTables(run.map((t) => [t]), includesOldest, Infinity);
      // Flushes may have put newer tables in front meanwhile; the run keeps its place in age.
      const now = this.#version.levels[0]!;
      const at = now.indexOf(run[0]!);
      const next = [...now.slice(0, at), ...outputs, ...now.slice(at + n)];
      await this.#commitCompaction([next], new Set(run));
      return true;
    }
    return false;
  }

  /**
   * Merges runs of tables (newest run first; each run's tables in key order, not overlapping)
   * into new tables; drops tombstones if `bottom`.
   */
  async #mergeTables(
    runs: readonly (readonly TableReader[])[],
    bottom: boolean,
    maxBytes = this.options.tableBytes,
  ): Promise<TableReader[]> {
    // A worker reads the files itself, one per run at a time; on this thread they are read
    // through the engine's file system (which may be a simulated disk) before the merge.
    const sources = async (inWorker: boolean): Promise<CompactionSource[]> => {
      const out: CompactionSource[] = [];
      for (const run of runs) {
        if (run.length === 0) continue;
        const files: SourceFile[] = [];
        for (const t of run) {
          const size = this.#meta.get(t.number)!.size;
          files.push(inWorker ? { name: t.path, size } : { name: t.path, size, bytes: await this.#fs.readFile(t.path) });
        }
        out.push({ kind: "tables", files });
      }
      return out;
    };
    // The bytes every input key starts with: those the lowest smallest and the highest largest
    // key share (every key sorts between them). The merge compares the bytes after them as
    // numbers: merging five tables of 30,000 random 16-byte keys went from 630-731 to 531-556
    // ns an entry (one-off script, the two alternating in one process).
    const tables = runs.flat();
    let low = this.#smallest(tables[0]!);
    let high = this.#largest(tables[0]!);
    for (const t of tables) {
      if (compareBytes(this.#smallest(t), low) < 0) low = this.#smallest(t);
      if (compareBytes(this.#largest(t), high) > 0) high = this.#largest(t);
    }
    return this.#runJob("compaction", sources, bottom, maxBytes, low.slice(0, sharedPrefixLength(low, high)));
  }

  /**
   * Runs a flush or compaction where {@link LsmEngineOptions.compactionThread} says, writing each
   * table it builds as soon as it comes. `sources` gives the inputs (told whether a worker will
   * read the files). If the worker stops with the job, the tables written so far are deleted and
   * the job reruns on this thread; nothing else changed, as a job's tables are installed only
   * by its caller, after it ends.
   */
  async #runJob(
    lane: CompactionLane,
    sources: (inWorker: boolean) => Promise<CompactionSource[]>,
    bottom: boolean,
    maxBytes: number,
    sharedPrefix?: Uint8Array,
  ): Promise<TableReader[]> {
    const table: TableOptions = {
      blockBytes: this.options.blockBytes,
      bloomBitsPerKey: this.options.bloomBitsPerKey,
      compression: this.options.compression,
    };
    const attempt = async (runner: CompactionRunner): Promise<TableReader[]> => {
      this.#resolvedMode = runner.mode;
      const outputs: TableReader[] = [];
      let writing: Promise<void> = Promise.resolve();
      let failure: unknown;
      const onTable = (built: BuiltTable) => {
        writing = writing
          .then(async () => {
            if (failure === undefined) outputs.push(await this.#persist(built));
          })
          .catch((error) => {
            failure ??= error;
          });
      };
      let result: CompactionResult | undefined;
      try {
        // A worker reads input files itself only from the host's disk; any other file system's
        // bytes are read here and sent.
        const inWorker = runner.mode === "worker" && this.#fs === hostFileSystem;
        result = await runner.run(
          { sources: await sources(inWorker), bottom, maxBytes, table, ...(sharedPrefix && { sharedPrefix }) },
          onTable,
        );
      } catch (error) {
        failure ??= error;
      }
      await writing;
      if (failure === undefined) {
        try {
          for (const built of result!.tables) outputs.push(await this.#persist(built));
        } catch (error) {
          failure = error;
        }
      }
      if (failure !== undefined) {
        for (const t of outputs) await this.#discard(t);
        throw failure;
      }
      this.stats.tombstonesDropped += result!.tombstonesDropped;
      return outputs;
    };
    try {
      return await attempt(await this.#chooseRunner(lane));
    } catch (error) {
      if (!(error instanceof WorkerLostError)) throw error;
      if (!this.#workerLost) {
        this.#workerLost = true;
        this.#logger.warn("the compaction worker stopped; flushes and compactions run on the engine's thread from now on", {
          directory: this.options.directory,
          reason: error.reason,
        });
      }
      return attempt(this.#inline);
    }
  }

  /** Deletes a table a failed job wrote (never installed). */
  async #discard(table: TableReader): Promise<void> {
    this.#meta.delete(table.number);
    this.#bounds.delete(table.number);
    await this.#bury(table);
  }

  /** Where this engine's jobs of a lane run: chosen once per open (a lost worker then means inline). */
  #chooseRunner(lane: CompactionLane): Promise<CompactionRunner> {
    if (this.#workerLost) return Promise.resolve(this.#inline);
    let runner = this.#runners.get(lane);
    if (runner === undefined) {
      const where = this.options.compactionThread;
      runner = where === "inline" || (where === "auto" && (this.#fs !== hostFileSystem || UNDER_DENO))
        ? Promise.resolve(this.#inline)
        : sharedRunner(lane).then((r) => r ?? this.#inline);
      this.#runners.set(lane, runner);
    }
    return runner;
  }

  /** Where flushes and compactions run now: `"worker"` or `"inline"` (known once one has run). */
  get compactionMode(): "worker" | "inline" | undefined {
    return this.#resolvedMode;
  }

  async #commitCompaction(levels: TableReader[][], removed: ReadonlySet<TableReader>): Promise<void> {
    while (levels.length > 1 && levels[levels.length - 1]!.length === 0) levels.pop();
    this.#version = { levels };
    await this.#saveManifest();
    for (const t of removed) {
      this.#meta.delete(t.number);
      this.#bounds.delete(t.number);
      this.#graveyard.push(t);
    }
    await this.#collectGraveyard();
    this.stats.compactions++;
    for (const w of this.#compactionWaiters.splice(0)) w();
  }

  // ---- tables ----------------------------------------------------------------------------

  /** Writes a memtable's entries as one table; `undefined` if none is left. */
  async #writeTable(mem: Memtable, dropTombstones: boolean): Promise<TableReader | undefined> {
    const tables = await this.#runJob("flush", async () => [{ kind: "entries", ...mem.entries() }], dropTombstones, Infinity);
    return tables[0];
  }

  /** Writes a finished table to a new file (fsynced) and opens it. */
  async #persist(built: BuiltTable): Promise<TableReader> {
    const number = this.#nextFile++;
    const path = this.#tablePath(number);
    const file = await this.#fs.open(path, "write");
    try {
      await file.write(built.bytes);
      await file.sync();
    } finally {
      await file.close();
    }
    await this.#fs.syncDirectory(this.options.directory);
    const { info } = built;
    this.#setMeta({ number, size: info.size, count: info.count, smallest: toHex(info.smallest), largest: toHex(info.largest) });
    return TableReader.open(this.#fs, number, path, this.#cache, this.options.blockReads === "sync");
  }

  /** Writes the manifest of the state at its turn; writes are serialised, so the last one wins. */
  async #saveManifest(): Promise<void> {
    const write = this.#manifestWrites.then(() =>
      writeManifest(
        this.#fs,
        this.options.directory,
        {
          nextFile: this.#nextFile,
          log: this.#frozen.length > 0 ? this.#frozen[this.#frozen.length - 1]!.log : this.#logNumber,
          levels: this.#version.levels.map((level) => level.map((t) => this.#meta.get(t.number)!)),
        } satisfies Manifest,
      )
    );
    this.#manifestWrites = write.catch(() => {});
    await write;
  }

  /** The tables that may hold `key`, in the order a read must ask them. */
  *#candidates(version: Version, key: Uint8Array): Generator<TableReader> {
    const [first, ...deeper] = version.levels;
    for (const t of first!) if (this.#overlaps(t, key, key)) yield t;
    for (const level of deeper) {
      // Deeper levels do not overlap: the one table whose range may hold the key is the first
      // whose largest key is not before it.
      const t = level[lowerBound(level, key, this.#largestVersusKey)];
      if (t && compareBytes(this.#smallest(t), key) <= 0) yield t;
    }
  }

  #acquire(): Version {
    this.#readers++;
    return this.#version;
  }

  #release(): void {
    this.#readers--;
    if (this.#readers === 0 && this.#graveyard.length > 0) void this.#collectGraveyard();
  }

  /** Closes and deletes tables no current version uses, once no reader may still hold them. */
  async #collectGraveyard(): Promise<void> {
    if (this.#readers > 0) return;
    for (const t of this.#graveyard.splice(0)) await this.#bury(t);
  }

  async #bury(table: TableReader): Promise<void> {
    await table.close().catch(() => {});
    await this.#fs.unlink(table.path).catch(() => {});
  }

  #setMeta(t: ManifestTable): void {
    this.#meta.set(t.number, t);
    this.#bounds.set(t.number, { smallest: fromHex(t.smallest), largest: fromHex(t.largest) });
  }

  #smallest(t: TableReader): Uint8Array {
    return this.#bounds.get(t.number)!.smallest;
  }

  #largest(t: TableReader): Uint8Array {
    return this.#bounds.get(t.number)!.largest;
  }

  /** Orders a table's largest key against a key (created once: reads allocate no comparator). */
  readonly #largestVersusKey = (t: TableReader, key: Uint8Array): number => compareBytes(this.#largest(t), key);

  #overlaps(t: TableReader, smallest: Uint8Array, largest: Uint8Array): boolean {
    return compareBytes(this.#smallest(t), largest) <= 0 && compareBytes(this.#largest(t), smallest) >= 0;
  }

  #levelBytes(level: readonly TableReader[]): number {
    let bytes = 0;
    for (const t of level) bytes += this.#meta.get(t.number)!.size;
    return bytes;
  }

  #tablePath(number: number): string {
    return join(this.options.directory, `${String(number).padStart(6, "0")}.sst`);
  }

  #logPath(number: number): string {
    return join(this.options.directory, `${String(number).padStart(6, "0")}.log`);
  }

  #checkOpen(): void {
    if (!this.#open) throw new EngineNotOpenError(`lsm engine at ${this.options.directory}`);
  }

  /** Tables per level now (for tests and benchmarks). */
  get tablesPerLevel(): number[] {
    return this.#version.levels.map((level) => level.length);
  }

  /**
   * What the engine holds and owes right now (the node's `/status` and live view show these
   * beside {@link stats}): memtable bytes, frozen memtables waiting for their flush, tables and
   * bytes per level, and the compaction backlog — under leveled compaction the bytes over each
   * level's target (all of level 0 once it reaches the trigger), under size-tiered the bytes of
   * the run due for a merge.
   */
  get gauges(): Record<string, number> {
    const out: Record<string, number> = {
      memtableBytes: this.#mem.bytes,
      frozenMemtables: this.#frozen.length,
      flushing: this.#flushing ? 1 : 0,
      compacting: this.#compacting ? 1 : 0,
    };
    const levels = this.#version.levels;
    let backlog = 0;
    for (let i = 0; i < levels.length; i++) {
      const bytes = this.#levelBytes(levels[i]!);
      out[`level${i}Tables`] = levels[i]!.length;
      out[`level${i}Bytes`] = bytes;
      if (this.options.compaction !== "leveled") continue;
      if (i === 0) backlog += levels[0]!.length >= this.options.compactionTrigger ? bytes : 0;
      else backlog += Math.max(0, bytes - this.options.levelBaseBytes * 10 ** (i - 1));
    }
    const runEnd = this.options.compaction === "leveled" ? -1 : this.#tieredRun();
    if (runEnd >= 0) backlog = this.#levelBytes(levels[0]!.slice(runEnd - this.options.compactionTrigger, runEnd));
    out.compactionBacklogBytes = backlog;
    return out;
  }

  /** True while a flush or a compaction runs. */
  get busy(): boolean {
    return this.#flushing !== undefined || this.#compacting !== undefined;
  }

  /** Waits until no flush or compaction is running or due (tests, benchmarks). */
  async settle(): Promise<void> {
    for (;;) {
      while (this.#rotating) await this.#rotating;
      const running = this.#flushing ?? this.#compacting;
      if (running) {
        await running;
        continue;
      }
      if (this.#backgroundError !== undefined) throw this.#backgroundError;
      if (!this.#workDue()) return;
      this.#kick();
      if (!this.#flushing && !this.#compacting) return; // closed meanwhile
    }
  }
}

function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

function fromHex(text: string): Uint8Array {
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return out;
}
