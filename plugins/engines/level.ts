/**
 * The level storage engine: a {@link StorageEngine} over any abstract-level database, with
 * classic-level (LevelDB) as an optional dependency loaded only when an engine opens a location
 * of its own.
 *
 * @module
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { choose, definePlugin } from "../../core/build/plugin.ts";
import type { Plugin, PluginChoice } from "../../core/build/plugin.ts";
import { DirectoryLockedError, EngineNotOpenError, InvalidConfigError } from "../../core/errors.ts";
import type { BatchOperation, EngineCapabilities, ScanOptions, StorageEngine } from "../../core/interfaces/storage-engine.ts";
import type { NodeId } from "../../core/model/sibling.ts";
import { checkBatch, checkBytes, checkScanOptions } from "./validate.ts";
import { type DirectoryLock, heldInThisProcess, lockDirectory } from "../../core/host/directory-lock.ts";

/** Per-call encodings: bytes in, bytes out, whatever the database's defaults are. */
export interface LevelEncodings {
  /** Always `"view"`: keys are Uint8Arrays. */
  readonly keyEncoding: "view";
  /** Always `"view"`: values are Uint8Arrays. */
  readonly valueEncoding: "view";
}

/** Options the engine passes to {@link LevelDatabase.iterator}. */
export interface LevelIteratorOptions extends LevelEncodings {
  /** Only keys >= this. */
  readonly gte?: Uint8Array;
  /** Only keys < this. */
  readonly lt?: Uint8Array;
  /** At most this many entries (absent: no limit). */
  readonly limit?: number;
  /** Descending order. */
  readonly reverse: boolean;
}

/** The part of an abstract-level iterator the engine uses. */
export interface LevelIterator {
  /** The next entry, or `undefined` at the end. */
  next(): Promise<[key: Uint8Array, value: Uint8Array] | undefined>;
  /** Releases the iterator (and its snapshot); idempotent. */
  close(): Promise<void>;
}

/** Store `value` under `key` (in a {@link LevelDatabase.batch}). */
export interface LevelPutOperation {
  /** Discriminant. */
  readonly type: "put";
  /** The key. */
  readonly key: Uint8Array;
  /** The value. */
  readonly value: Uint8Array;
}

/** Remove `key` (in a {@link LevelDatabase.batch}); abstract-level calls it `del`. */
export interface LevelDelOperation {
  /** Discriminant. */
  readonly type: "del";
  /** The key. */
  readonly key: Uint8Array;
}

/** One operation of {@link LevelDatabase.batch}, in abstract-level's terms. */
export type LevelBatchOperation = LevelPutOperation | LevelDelOperation;

/**
 * The part of an abstract-level database (classic-level, memory-level, browser-level, a
 * sublevel...) the engine uses. Any abstract-level 2 or 3 database satisfies it; abstract-level
 * 1 databases work too (their "not found" errors read as missing keys).
 */
export interface LevelDatabase {
  /** Opens the database; idempotent, and reopens a closed one. */
  open(): Promise<void>;
  /** Closes the database and its open iterators. */
  close(): Promise<void>;
  /** The value under `key`, or `undefined`. */
  get(key: Uint8Array, options: LevelEncodings): Promise<Uint8Array | undefined>;
  /** Stores `value` under `key`. */
  put(key: Uint8Array, value: Uint8Array, options: LevelEncodings): Promise<void>;
  /** Removes `key`. */
  del(key: Uint8Array, options: LevelEncodings): Promise<void>;
  /** Applies the operations atomically. */
  batch(operations: LevelBatchOperation[], options: LevelEncodings): Promise<void>;
  /** An iterator over a snapshot of the database taken when it is created. */
  iterator(options: LevelIteratorOptions): LevelIterator;
}

/** Where a {@link LevelEngine} that opens classic-level itself keeps its database. */
export interface LevelLocation {
  /** Directory of the LevelDB database; created (with its parents) on first open. */
  readonly location: string;
}

const ENCODINGS: LevelEncodings = Object.freeze({ keyEncoding: "view", valueEncoding: "view" });
const CAPABILITIES: EngineCapabilities = Object.freeze({ persistent: true });

/**
 * `bytes` as a plain Uint8Array over the same memory: classic-level returns Node Buffers, whose
 * methods (`slice` shares memory, `equals`, `toString`) differ from Uint8Array's and whose
 * prototype makes deep equality with a Uint8Array fail. A view costs no copy.
 */
function plain(bytes: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(bytes) === Uint8Array.prototype ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The directory of a database given in code, if it says (classic-level's `location`). */
function locationOf(db: LevelDatabase | undefined): string | undefined {
  const location = (db as { location?: unknown } | undefined)?.location;
  return typeof location === "string" ? location : undefined;
}

/** Loads classic-level on first use only, so nothing else pays for the native addon. */
async function openClassicLevel(location: string): Promise<LevelDatabase> {
  let classicLevel: typeof import("classic-level");
  try {
    classicLevel = await import("classic-level");
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new InvalidConfigError([
      {
        path: "engine",
        message: `the level engine needs the optional package classic-level to open ${location} ` +
          `(install it: npm install classic-level); loading it failed: ${reason}`,
      },
    ]);
  }
  return new classicLevel.ClassicLevel<Uint8Array, Uint8Array>(location, ENCODINGS);
}

/**
 * `error` as a {@link DirectoryLockedError} if it is LevelDB refusing a `LOCK` another holder has
 * (classic-level: `LEVEL_LOCKED`, as the cause of `LEVEL_DATABASE_NOT_OPEN`; older versions only
 * say "IO error: lock ..."); otherwise `undefined`.
 */
function lockedError(error: unknown, location: string | undefined): DirectoryLockedError | undefined {
  if (location === undefined) return undefined;
  const chain: { code?: unknown; message?: unknown }[] = [];
  for (
    let e = error as { code?: unknown; message?: unknown; cause?: unknown } | null | undefined;
    e && chain.length < 4;
    e = e.cause as typeof e
  ) {
    chain.push(e);
  }
  const locked = chain.find((e) => e.code === "LEVEL_LOCKED" || (typeof e.message === "string" && /IO error: lock\b/.test(e.message)));
  if (!locked) return undefined;
  // LevelDB's own in-process check (a database given in code over a directory already open here).
  if (typeof locked.message === "string" && locked.message.includes("already held by process")) return heldInThisProcess(location);
  // LevelDB's LOCK names nobody; its POSIX lock goes away with the process that holds it.
  return new DirectoryLockedError(location, undefined, undefined, "LevelDB's LOCK in it is held; it is released when that process exits");
}

/**
 * A {@link StorageEngine} over an abstract-level database: LevelDB through classic-level, or
 * any abstract-level database given in code. Keys compare as unsigned bytes, as LevelDB's
 * default comparator does; a batch is one atomic `db.batch`; a scan reads from the snapshot
 * LevelDB takes when the scan starts, so it sees every write completed before it and none made
 * during it.
 *
 * Given a {@link LevelLocation}, the engine opens classic-level there (loaded on the first
 * `open()`; {@link InvalidConfigError} if it is not installed). Given a database, the engine
 * owns it: `open()` opens it, `close()` closes it, and since such a database may keep the
 * arrays it is handed, the engine copies keys and values before writing them. Persistent as
 * the database is: classic-level is; an in-memory database keeps data only across a close and
 * reopen of the same instance.
 *
 * @example
 * ```ts
 * const engine = new LevelEngine({ location: "./data/n1" });
 * await engine.open();
 * await engine.put(new Uint8Array([1]), new Uint8Array([42]));
 * for await (const [key, value] of engine.scan({ gte: new Uint8Array([1]) })) console.log(key, value);
 * await engine.close();
 * ```
 */
export class LevelEngine implements StorageEngine {
  /** Persistent: data survives `close()` and a new engine over the same location. */
  readonly capabilities: EngineCapabilities = CAPABILITIES;

  readonly #location: string | undefined;
  readonly #copies: boolean;
  #db: LevelDatabase | undefined;
  #open = false;
  #claim: DirectoryLock | undefined;
  // open() and close() run one at a time, so concurrent calls see each other's outcome.
  #lifecycle: Promise<void> = Promise.resolve();

  /**
   * @param source an abstract-level database to own, or where to open classic-level
   */
  constructor(source: LevelDatabase | LevelLocation) {
    // A database first: classic-level instances have a `location` too.
    if (typeof (source as Partial<LevelDatabase>).iterator === "function") {
      this.#db = source as LevelDatabase;
      this.#copies = true;
    } else {
      const { location } = source as Partial<LevelLocation>;
      if (typeof location !== "string" || location === "") {
        throw new InvalidConfigError([{ path: "location", message: "must be a non-empty string" }]);
      }
      this.#location = location;
      // classic-level copies the bytes into LevelDB before put/batch resolve.
      this.#copies = false;
    }
  }

  /**
   * Opens (or creates) the database; idempotent. LevelDB recovers from its log after a crash.
   * @throws {DirectoryLockedError} if another engine, here or in another process, has the
   *   database open (LevelDB's `LOCK`)
   */
  open(): Promise<void> {
    return this.#serially(async () => {
      if (this.#open) return;
      let claim: DirectoryLock | undefined;
      if (this.#location !== undefined) {
        await mkdir(this.#location, { recursive: true });
        // Refused here before LevelDB sees the directory: LevelDB's second open in one process
        // fails only after opening its LOCK file again, and closing that file drops the whole
        // process's POSIX lock on it (fcntl locks belong to the process), letting another
        // process open the database beside the first engine. No second LOCK file is needed.
        claim = await lockDirectory(this.#location, { lockFile: false });
      }
      try {
        const db = (this.#db ??= await openClassicLevel(this.#location!));
        await db.open();
      } catch (error) {
        await claim?.release();
        throw lockedError(error, this.#location ?? locationOf(this.#db)) ?? error;
      }
      this.#claim = claim;
      this.#open = true;
    });
  }

  /**
   * Closes the database (idempotent). Every acknowledged write is in LevelDB's log by then;
   * writes are not fsynced one by one (LevelDB's default), so they survive a process crash but
   * a power cut may lose the last ones — which the store's replicas cover.
   */
  close(): Promise<void> {
    return this.#serially(async () => {
      if (!this.#open) return;
      // Closed at once for callers; the database finishes pending operations and iterators.
      this.#open = false;
      try {
        await this.#db!.close();
      } finally {
        const claim = this.#claim;
        this.#claim = undefined;
        await claim?.release();
      }
    });
  }

  /** Closes the engine, so `container.dispose()` on a node's container releases it. */
  async dispose(): Promise<void> {
    await this.close();
  }

  /** The value under `key`, or `undefined`. Callers must not mutate the returned bytes. */
  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    const db = this.#checkOpen();
    checkBytes("key", key);
    let value: Uint8Array | undefined;
    try {
      value = await db.get(key, ENCODINGS);
    } catch (error) {
      // abstract-level 1 rejects a missing key; 2 and later resolve to undefined.
      if ((error as { code?: unknown } | null)?.code === "LEVEL_NOT_FOUND") return undefined;
      throw error;
    }
    return value === undefined ? undefined : plain(value);
  }

  /** Stores `value` under `key`, replacing any previous value. */
  async put(key: Uint8Array, value: Uint8Array): Promise<void> {
    const db = this.#checkOpen();
    checkBytes("key", key);
    checkBytes("value", value);
    await db.put(this.#copy(key), this.#copy(value), ENCODINGS);
  }

  /** Removes `key` if present. */
  async delete(key: Uint8Array): Promise<void> {
    const db = this.#checkOpen();
    checkBytes("key", key);
    await db.del(key, ENCODINGS);
  }

  /**
   * Applies the operations in order, all or none, as one `db.batch`. Every operation is
   * validated first, so a bad one rejects the batch before the database sees any.
   */
  async batch(operations: readonly BatchOperation[]): Promise<void> {
    const db = this.#checkOpen();
    checkBatch(operations);
    if (operations.length === 0) return;
    const ops = operations.map((op): LevelBatchOperation =>
      op.type === "put" ? { type: "put", key: this.#copy(op.key), value: this.#copy(op.value) } : { type: "del", key: op.key }
    );
    await db.batch(ops, ENCODINGS);
  }

  /**
   * Entries in unsigned byte order of their keys within the bounds, read from the snapshot
   * taken when iteration starts. Abandoning the scan (`break`) releases its iterator.
   */
  async *scan(options: ScanOptions = {}): AsyncGenerator<readonly [key: Uint8Array, value: Uint8Array]> {
    const db = this.#checkOpen();
    const scanOptions = options ?? {};
    checkScanOptions(scanOptions);
    const { gte, lt, limit = Infinity, reverse = false } = scanOptions;
    if (limit === 0) return;
    const iterator = db.iterator({
      ...ENCODINGS,
      reverse,
      ...(gte !== undefined && { gte }),
      ...(lt !== undefined && { lt }),
      ...(limit !== Infinity && { limit }),
    });
    try {
      for (;;) {
        let entry: [Uint8Array, Uint8Array] | undefined;
        try {
          entry = await iterator.next();
        } catch (error) {
          // Closing the engine closes the database's iterators: report that, not the iterator.
          this.#checkOpen();
          throw error;
        }
        if (entry === undefined) return;
        yield [plain(entry[0]), plain(entry[1])] as const;
        // The consumer ran arbitrary code while suspended; it may have closed the engine.
        this.#checkOpen();
      }
    } finally {
      await iterator.close();
    }
  }

  #copy(bytes: Uint8Array): Uint8Array {
    return this.#copies ? new Uint8Array(bytes) : bytes;
  }

  #serially(step: () => Promise<void>): Promise<void> {
    const run = this.#lifecycle.then(step);
    this.#lifecycle = run.catch(() => {});
    return run;
  }

  #checkOpen(): LevelDatabase {
    if (!this.#open) throw new EngineNotOpenError("level");
    return this.#db!;
  }
}

const levelEngineOptions: z.ZodType<LevelEngineOptions, unknown> = z
  .object({ directory: z.string().min(1, "the level engine needs a directory") })
  .strict();

/** Options of the level engine plugin. */
export interface LevelEngineOptions {
  /**
   * Directory under which each node keeps its own LevelDB database, at
   * `join(directory, nodeId)`; created on first open. Required: nodes of one store never share
   * a database, and a node restarted with the same id and directory finds its data again.
   * A relative path is resolved against the working directory when the engine opens.
   */
  readonly directory: string;
}

/** `join(directory, id)`, refusing ids that would leave `directory` or name it. */
function nodeLocation(directory: string, id: NodeId): string {
  if (id === "" || id === "." || id === ".." || /[/\\]/.test(id)) {
    throw new InvalidConfigError([
      { path: "engine", message: `node id "${id}" cannot name a level database directory` },
    ]);
  }
  return join(directory, id);
}

/**
 * The `level` engine plugin: registers one {@link LevelEngine} per node container, each over
 * classic-level at `join(options.directory, nodeId)`. classic-level is an optional dependency,
 * loaded when a node's engine first opens.
 */
export const levelEnginePlugin: Plugin<LevelEngineOptions, "engine", undefined> = definePlugin({
  family: "engine",
  name: "level",
  description: "LevelDB through classic-level (optional dependency): persistent, one database per node under options.directory.",
  capabilities: { durable: true, realTimeOnly: true },
  options: levelEngineOptions,
  create: ({ settings }, options) => new LevelEngine({ location: nodeLocation(options.directory, settings.id) }),
});

/**
 * Chooses the level engine for a store built in code: each node keeps a LevelDB database at
 * `join(directory, nodeId)`. Needs the optional package classic-level installed.
 *
 * @example
 * ```ts
 * const cluster = await store().nodes(3).use(levelEngine({ directory: "./data" })).cluster();
 * // node n1 stores in ./data/n1, n2 in ./data/n2, ...
 * ```
 */
export function levelEngine(options: LevelEngineOptions): PluginChoice<LevelEngineOptions> {
  return choose(levelEnginePlugin, options);
}
