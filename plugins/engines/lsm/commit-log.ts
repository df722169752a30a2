/**
 * The LSM engine's commit log: every write is appended here before it reaches the memtable.
 *
 * @module
 */
import type { Scheduler, Timer } from "../../../core/interfaces/clock.ts";
import { every } from "../../../core/interfaces/clock.ts";
import type { Arena } from "./arena.ts";
import { crc32c } from "./crc32c.ts";
import type { FileHandle, FileSystem } from "../../../core/interfaces/file-system.ts";

/**
 * When the log reaches the disk:
 * - `always`: a write resolves once its record is on the disk (group commit: records that
 *   arrive while a write is reaching the disk share the next one; the log is opened
 *   "write-synced", so on the host each such write is one `O_DSYNC` write);
 * - `interval`: records are handed to the OS as they come (writes coalesce while one is in
 *   flight) and fsynced every `syncIntervalMs`;
 * - `never`: handed to the OS as they come, never fsynced by the engine.
 *
 * With `interval` and `never` a write resolves before its record is written: a process crash
 * loses the records still queued (those behind the write in flight; with `sync` log writes,
 * those appended since the last write began: the current turn's, more while a write through the
 * thread pool is still going), a machine crash everything since the last fsync.
 */
export type SyncPolicy = "always" | "interval" | "never";

/**
 * How the log's writes reach the file:
 * - `sync`: once per turn of the host's event loop, everything the turn appended in one write
 *   on the engine's own thread ({@link FileHandle.writeSync}); under `always` the loop waits
 *   for the device meanwhile. No thread-pool hand-off, no wake-up of the loop afterwards, and
 *   the requests that arrive while it waits share the next write. Used only where the file
 *   system has both turns and synchronous writes (the host's, under Node); elsewhere, and for a
 *   turn's write past 1 MiB (`INLINE_WRITE_BYTES`), writes are `async`.
 * - `async`: through the file system's asynchronous write (libuv's thread pool on the host):
 *   the loop never waits for the device, at the price of a hand-off per write.
 */
export type LogWrites = "sync" | "async";

/** The largest write made inline under `sync` (1 MiB): a bigger one would hold the loop too long. */
export const INLINE_WRITE_BYTES = 1 << 20;

/** One operation of a log record. */
export interface LogOperation {
  /** The key. */
  readonly key: Uint8Array;
  /** The value, or `null` for a delete. */
  readonly value: Uint8Array | null;
}

const HEADER = 8; // length, CRC-32C
const TOMBSTONE = 0xffffffff;

/** Where a record's operations start: each is a packed entry, `[keyLength][valueLength][key][value]`. */
export const RECORD_ENTRIES_AT = HEADER + 4;

/**
 * Encodes one write (a put, a delete or a batch) as a log record: `[length][crc][count]` then
 * each operation as a packed entry (see {@link RECORD_ENTRIES_AT}), into bytes taken from
 * `arena` if given (the engine's: a slice of a shared chunk), else a buffer of its own.
 */
export function encodeRecord(operations: readonly LogOperation[], arena?: Arena): Uint8Array {
  let size = 4;
  for (const op of operations) size += 8 + op.key.length + (op.value?.length ?? 0);
  const out = arena ? arena.take(HEADER + size) : new Uint8Array(HEADER + size);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  let at = HEADER;
  view.setUint32(at, operations.length);
  at += 4;
  for (const op of operations) {
    view.setUint32(at, op.key.length);
    view.setUint32(at + 4, op.value === null ? TOMBSTONE : op.value.length);
    out.set(op.key, at + 8);
    at += 8 + op.key.length;
    if (op.value !== null) {
      out.set(op.value, at);
      at += op.value.length;
    }
  }
  view.setUint32(0, size);
  view.setUint32(4, crc32c(out, HEADER, out.length));
  return out;
}

/** What replaying a log found. */
export interface LogReplay {
  /** Writes recovered, in order. */
  readonly records: LogOperation[][];
  /** Bytes after the last good record (a torn or corrupt tail), 0 if the log was whole. */
  readonly lostBytes: number;
  /** Where the replay stopped: the offset just past the last good record (the size if whole). */
  readonly end: number;
}

/**
 * Reads a log, stopping at the first record whose length or checksum is wrong: a crash during
 * an append leaves a torn tail, and nothing after it can be trusted.
 */
export async function readLog(fs: FileSystem, path: string): Promise<LogReplay> {
  const bytes = await fs.readFile(path);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: LogOperation[][] = [];
  let at = 0;
  while (at + HEADER <= bytes.length) {
    const size = view.getUint32(at);
    const end = at + HEADER + size;
    if (size < 4 || end > bytes.length || crc32c(bytes, at + HEADER, end) !== view.getUint32(at + 4)) break;
    const ops = decodePayload(bytes, view, at + HEADER, end);
    if (!ops) break;
    records.push(ops);
    at = end;
  }
  return { records, lostBytes: bytes.length - at, end: at };
}

function decodePayload(bytes: Uint8Array, view: DataView, start: number, end: number): LogOperation[] | undefined {
  const count = view.getUint32(start);
  const ops: LogOperation[] = [];
  let at = start + 4;
  for (let i = 0; i < count; i++) {
    if (at + 8 > end) return undefined;
    const keyLength = view.getUint32(at);
    const valueLength = view.getUint32(at + 4);
    const valueEnd = at + 8 + keyLength + (valueLength === TOMBSTONE ? 0 : valueLength);
    if (valueEnd > end) return undefined;
    const key = bytes.slice(at + 8, at + 8 + keyLength);
    const value = valueLength === TOMBSTONE ? null : bytes.slice(at + 8 + keyLength, valueEnd);
    ops.push({ key, value });
    at = valueEnd;
  }
  return at === end ? ops : undefined;
}

/** Appends records to one log file under a {@link SyncPolicy}. */
export class LogWriter {
  readonly #file: FileHandle;
  readonly #policy: SyncPolicy;
  #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  #waiters: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  #flushing: Promise<void> | undefined;
  #timer: Timer | undefined;
  #error: unknown;
  #closed = false;
  /** What the first write waits for (see {@link after}). */
  #after: Promise<void> | undefined;
  /** Bytes appended so far. */
  size = 0;

  /** What a write waits for first (see {@link #kick}): the turn, under `always` or with inline writes. */
  readonly #turn: (() => Promise<void>) | undefined;
  /** Writes go through {@link FileHandle.writeSync} (see {@link LogWrites}). */
  readonly #inline: boolean;

  private constructor(file: FileHandle, policy: SyncPolicy, turn: (() => Promise<void>) | undefined, writes: LogWrites) {
    this.#file = file;
    this.#policy = policy;
    // Inline writes only where the turn batches them: written at each append, they would cost
    // a blocking write per record.
    this.#inline = writes === "sync" && turn !== undefined && file.writeSync !== undefined;
    this.#turn = policy === "always" || this.#inline ? turn : undefined;
  }

  /** Creates (or truncates) the log at `path` on `fs`. */
  static async create(
    fs: FileSystem,
    path: string,
    policy: SyncPolicy,
    scheduler?: Scheduler,
    syncIntervalMs = 1000,
    writes: LogWrites = "async",
  ): Promise<LogWriter> {
    // Under `always` every write must be durable before its appends resolve: a file opened
    // "write-synced" makes each write so in one call (O_DSYNC on the host), not a write and an
    // fsync.
    const turn = fs.afterTurn?.bind(fs);
    const writer = new LogWriter(await fs.open(path, policy === "always" ? "write-synced" : "write"), policy, turn, writes);
    if (policy === "interval" && scheduler) {
      writer.#timer = every(scheduler, syncIntervalMs, () => void writer.sync().catch(() => {}));
    }
    return writer;
  }

  /**
   * Holds this log's writes until `previous` resolves: the close of the log before it, whose
   * queued records must reach the file first. Otherwise a record here could be on disk (and,
   * under `always`, acknowledged) while an older one is not, and recovery, which stops at the
   * first torn record, would drop it; or replay it over a hole. If `previous` rejects, nothing
   * is written here: appends fail with its error.
   */
  after(previous: Promise<void>): void {
    this.#after = previous;
  }

  /**
   * Appends a record. Under `always` resolves once it is on disk; otherwise at once (the record
   * is written in the background, in order).
   * @throws the write error of an earlier background write, which makes the log unusable
   */
  append(record: Uint8Array): Promise<void> {
    if (this.#error !== undefined) return Promise.reject(this.#error);
    this.#queue.push(record);
    this.#queuedBytes += record.length;
    this.size += record.length;
    if (this.#policy !== "always") {
      this.#kick();
      return Promise.resolve();
    }
    const done = new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    this.#kick();
    return done;
  }

  /** Writes everything queued and fsyncs. */
  async sync(): Promise<void> {
    while (this.#flushing) await this.#flushing;
    if (this.#queue.length > 0) {
      this.#kick();
      while (this.#flushing) await this.#flushing;
    }
    if (this.#error !== undefined) throw this.#error;
    await this.#file.sync();
  }

  /** Writes and fsyncs everything queued, then closes the file. A no-op once closed or abandoned. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#timer?.cancel();
    try {
      await this.sync();
    } finally {
      await this.#file.close();
    }
  }

  /**
   * Closes the file as a killed process would: records not yet handed to the OS are dropped
   * (their `append` rejects with `reason`), nothing is fsynced. A write already in flight
   * completes first, as the OS would finish it. For crash tests.
   */
  async abandon(reason: unknown): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#timer?.cancel();
    this.#error ??= reason;
    for (const w of this.#waiters.splice(0)) w.reject(reason);
    this.#queue = [];
    this.#queuedBytes = 0;
    while (this.#flushing) await this.#flushing;
    await this.#file.close();
  }

  /**
   * Starts a write of the queue unless one is in flight (it restarts itself when done). Under
   * `always`, or with `sync` log writes, on a file system that has {@link FileSystem.afterTurn}
   * (the host's), the write starts once this turn of the event loop is over, so that the
   * records of every event of the turn (requests that arrived together) share it: a durable
   * write costs a device flush, and a thread-pool round trip unless it is made inline, about
   * 100 µs of CPU on the development VM whatever it holds, and a write started at the first
   * record of a burst would leave the rest to wait for it and then take another.
   */
  #kick(): void {
    if (this.#flushing || this.#queue.length === 0) return;
    const flush = this.#turn ? this.#turn().then(() => this.#flush()) : this.#flush();
    this.#flushing = flush.finally(() => {
      this.#flushing = undefined;
      this.#kick();
    });
  }

  async #flush(): Promise<void> {
    // Abandoned while this write waited for its turn: nothing is left to write.
    if (this.#queue.length === 0) return;
    const chunks = this.#queue;
    const bytes = this.#queuedBytes;
    const waiters = this.#waiters;
    this.#queue = [];
    this.#queuedBytes = 0;
    this.#waiters = [];
    // An earlier write failed (or the log before this one did): what was queued meanwhile must
    // not be written after the records that never were, nor acknowledged.
    if (this.#error !== undefined) {
      for (const w of waiters) w.reject(this.#error);
      return;
    }
    try {
      if (this.#after !== undefined) {
        const previous = this.#after;
        this.#after = undefined;
        await previous;
      }
      const buffer = joined(chunks, bytes);
      // Under `always` the file was opened "write-synced": once the write resolves it is durable,
      // unless the file system does not know the mode (its handle does not say so): then sync.
      if (this.#inline && buffer.length <= INLINE_WRITE_BYTES) this.#file.writeSync!(buffer);
      else await this.#file.write(buffer);
      if (this.#policy === "always" && this.#file.syncsWrites !== true) await this.#file.sync();
      for (const w of waiters) w.resolve();
    } catch (error) {
      this.#error = error;
      for (const w of waiters) w.reject(error);
    }
  }
}

/**
 * Records queued for one write as one buffer: the records themselves when they lie one after
 * another in one buffer (consecutive slices of the engine's arena, the usual case), else a copy.
 */
function joined(records: readonly Uint8Array[], bytes: number): Uint8Array {
  const first = records[0]!;
  let end = first.byteOffset + first.length;
  let contiguous = true;
  for (let i = 1; i < records.length && contiguous; i++) {
    const r = records[i]!;
    contiguous = r.buffer === first.buffer && r.byteOffset === end;
    end += r.length;
  }
  if (contiguous) return new Uint8Array(first.buffer, first.byteOffset, bytes);
  const buffer = new Uint8Array(bytes);
  let at = 0;
  for (const r of records) {
    buffer.set(r, at);
    at += r.length;
  }
  return buffer;
}
