/**
 * The memory storage engine: an ordered map of byte keys held in the process's heap.
 *
 * @module
 */
// The engine's methods are async without awaiting anything so that bad input and use before
// open() surface as rejections, as the StorageEngine contract promises, never as sync throws.
// deno-lint-ignore-file require-await
import { z } from "zod";
import { choose, definePlugin } from "../../core/build/plugin.ts";
import { binaryString, compareBinary } from "./binary-keys.ts";
import type { Plugin, PluginChoice } from "../../core/build/plugin.ts";
import { EngineNotOpenError } from "../../core/errors.ts";
import type { NodeId } from "../../core/model/sibling.ts";
import { lowerBound } from "../../core/model/sorted.ts";
import type {
  BatchOperation,
  EngineCapabilities,
  ImmediateStorage,
  ScanOptions,
  StorageEngine,
} from "../../core/interfaces/storage-engine.ts";
import { KeyIndex } from "./key-index.ts";
import { SegmentLog } from "./segment-log.ts";
import { checkBatch, checkBytes, checkScanOptions } from "./validate.ts";

const memoryEngineOptions: z.ZodType<MemoryEngineOptions, unknown> = z
  .object({ durable: z.boolean().default(false) })
  .strict();

/** Options of the memory engine. */
export interface MemoryEngineOptions {
  /**
   * Keep each node's data in a volume that outlives the node, so a node restarted in the same
   * process (or simulation) finds what it had: a simulated disk on which every acknowledged
   * write is durable at once. Default false: a restarted node starts empty, as a real
   * memory-backed process would.
   */
  readonly durable: boolean;
}

/**
 * The data of one memory engine. An engine created over an existing volume sees everything
 * written through earlier engines over it.
 */
export class MemoryVolume {
  /** @internal the keys' and values' bytes */
  readonly log: SegmentLog = new SegmentLog((key, at, from) => this.index.moved(key, from, at));
  /** @internal each key's record in {@link log} */
  readonly index: KeyIndex;
  /**
   * @internal keys in order as binary strings as of the last scan, or undefined when they must
   * be sorted again; replaced, never mutated, so a running scan keeps its snapshot. It may
   * still hold keys deleted since (scans skip them), never the same key twice.
   */
  sorted: string[] | undefined;
  /** @internal keys added since {@link sorted} was made, unordered (only while it is defined) */
  added: string[] = [];
  /** @internal keys deleted since {@link sorted} was made */
  deleted = 0;

  /**
   * @param hashSeed seed of the index's hash (the plugin gives each node its own, from the
   *   node's randomness)
   */
  constructor(hashSeed = DEFAULT_HASH_SEED) {
    this.index = new KeyIndex(this.log, hashSeed);
  }

  /** Number of keys stored. */
  get size(): number {
    return this.index.size;
  }

  /**
   * Bytes of key and value storage held: each key's and value's bytes with an 8-byte header,
   * plus records overwritten or deleted but not yet compacted away and the unfilled rest of
   * the current segment (in all, at most about 2.3 times the live bytes plus 4 KiB). The
   * index comes on top: 12 bytes per slot in a table 35–70% full as keys are added, 17 to 34
   * bytes per key (after deletes it shrinks only below 15% full: up to 80 bytes per key).
   */
  get bytes(): number {
    return this.log.bytes;
  }

  /** @internal stores copies of `key` and `value` */
  put(key: Uint8Array, value: Uint8Array): void {
    // Room in the index first: a record appended and then not indexed would be lost to it, and
    // compaction could not repoint it.
    this.index.reserve(1);
    this.set(key, this.log.append(key, value));
  }

  /** @internal points `key` at the record at `at`, which the caller appended to the log */
  set(key: Uint8Array, at: number): void {
    const old = this.index.set(key, at);
    if (old >= 0) this.log.free(old);
    else if (this.sorted !== undefined) {
      // Tracking additions pays while they are few beside the sorted keys; past that, sorting
      // everything again at the next scan costs about as much (and a key added and deleted
      // over and over between scans would grow the list without bound).
      if (this.added.length >= this.sorted.length + 1024) this.#forgetOrder();
      else this.added.push(binaryString(key));
    }
  }

  /**
   * @internal removes `key` if present; the index shrinks after it unless `shrink` is false (a
   * batch shrinks once it applied everything, so no later put in it needs the index to grow)
   */
  delete(key: Uint8Array, shrink = true): void {
    const old = this.index.delete(key);
    if (old < 0) return;
    if (shrink) this.index.shrink();
    this.log.free(old);
    if (this.sorted !== undefined && ++this.deleted > (this.sorted.length >> 1) + 1024) this.#forgetOrder();
  }

  /**
   * @internal keys in order, possibly with some deleted since: the last order merged with the
   * keys added since, or every key sorted if the order was forgotten. A merge costs one
   * comparison per key, where sorting again costs about log2(n).
   */
  sortedKeys(): readonly string[] {
    let sorted = this.sorted;
    // Default sort compares UTF-16 code units, which for binary strings is unsigned byte order.
    if (sorted === undefined) sorted = this.#allKeys().sort();
    else if (this.added.length > 0) sorted = merge(sorted, this.added.sort(), this.deleted > 0 ? this.index : undefined);
    else return sorted;
    this.sorted = sorted;
    this.added = [];
    this.deleted = 0;
    return sorted;
  }

  #allKeys(): string[] {
    const keys: string[] = [];
    const log = this.log;
    this.index.forEach((at) => keys.push(binaryString(log.key(at))));
    return keys;
  }

  #forgetOrder(): void {
    this.sorted = undefined;
    this.added = [];
    this.deleted = 0;
  }
}

/**
 * Merges two ascending key lists into a new one, once each; with `live`, keeps only keys it
 * has. `added` may repeat a key (added, deleted and added again) or hold one `sorted` has.
 */
function merge(sorted: readonly string[], added: readonly string[], live: KeyIndex | undefined): string[] {
  const out: string[] = [];
  let i = 0;
  let j = 0;
  let last: string | undefined;
  while (i < sorted.length || j < added.length) {
    let key: string;
    if (j === added.length || (i < sorted.length && sorted[i]! <= added[j]!)) key = sorted[i++]!;
    else key = added[j++]!;
    if (key === last || (live !== undefined && live.getBinary(key) < 0)) continue;
    out.push(key);
    last = key;
  }
  return out;
}

/** The index's hash seed when none is given (an engine built directly, outside a node). */
const DEFAULT_HASH_SEED = 0x9e3779b9;

const CAPABILITIES: EngineCapabilities = Object.freeze({ persistent: false });
const PERSISTENT: EngineCapabilities = Object.freeze({ persistent: true });

/**
 * A {@link StorageEngine} over an in-memory ordered map. Fast and dependency-free, and nothing
 * survives `close()`: each close releases the data, so a restarted node starts empty — which is
 * what a simulated crash of a memory-backed node should look like.
 *
 * Keys and values are copied into a log of byte segments (`SegmentLog` in segment-log.ts),
 * and a hash table over the key bytes (`KeyIndex` in key-index.ts) finds a key's record. At
 * 1,000,000 keys of 16 bytes with 100-byte values the engine holds 1.3 bytes per byte stored,
 * where an object and two `Uint8Array`s per entry took 5.2 (`npm run bench -- engines
 * --engines memory`). The sorted key list that scans need (binary strings, one character per
 * byte, so string order is byte order) is brought up to date lazily, by the first scan after
 * keys were added: the keys added since the last scan are sorted and merged in, so write-heavy
 * phases pay little for ordering and overwrites never touch it.
 *
 * `get` and `scan` return views into the log. They never change (records are not rewritten in
 * place), and callers must not mutate them, as the {@link StorageEngine} contract says.
 *
 * @example
 * ```ts
 * const engine = new MemoryEngine();
 * await engine.open();
 * await engine.put(new Uint8Array([1]), new Uint8Array([42]));
 * for await (const [key, value] of engine.scan({ gte: new Uint8Array([1]) })) console.log(key, value);
 * await engine.close();
 * ```
 */
export class MemoryEngine implements StorageEngine {
  /** Persistent only over a shared {@link MemoryVolume}. */
  readonly capabilities: EngineCapabilities;

  #open = false;
  readonly #volume: MemoryVolume | undefined;
  readonly #hashSeed: number;
  #data: MemoryVolume;

  /**
   * @param volume keep the data here, beyond `close()` (default: private, released on close)
   * @param hashSeed seed of a private volume's index hash (see {@link MemoryVolume})
   */
  constructor(volume?: MemoryVolume, hashSeed?: number) {
    this.#volume = volume;
    this.#hashSeed = hashSeed ?? DEFAULT_HASH_SEED;
    this.#data = volume ?? new MemoryVolume(this.#hashSeed);
    this.capabilities = volume ? PERSISTENT : CAPABILITIES;
  }

  /** Opens the engine (idempotent). Without a volume, a reopened engine is empty. */
  async open(): Promise<void> {
    this.#open = true;
  }

  /** Closes the engine (idempotent); without a volume its data is released. */
  async close(): Promise<void> {
    if (!this.#open) return;
    this.#open = false;
    if (!this.#volume) this.#data = new MemoryVolume(this.#hashSeed);
  }

  /** Closes the engine, so `container.dispose()` on a node's container releases it. */
  async dispose(): Promise<void> {
    await this.close();
  }

  /** `get` and `batch` at once: nothing here waits. */
  readonly immediate: ImmediateStorage = {
    get: (key) => this.#get(key),
    batch: (operations) => this.#batch(operations),
  };

  /** The value under `key`, or `undefined`: a view into the engine's storage, not to be mutated. */
  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.#get(key);
  }

  #get(key: Uint8Array): Uint8Array | undefined {
    this.#checkOpen();
    checkBytes("key", key);
    const data = this.#data;
    const at = data.index.get(key);
    return at < 0 ? undefined : data.log.value(at);
  }

  /** Stores a copy of `value` under a copy of `key`. */
  async put(key: Uint8Array, value: Uint8Array): Promise<void> {
    this.#checkOpen();
    checkBytes("key", key);
    checkBytes("value", value);
    this.#data.put(key, value);
  }

  /** Removes `key` if present. */
  async delete(key: Uint8Array): Promise<void> {
    this.#checkOpen();
    checkBytes("key", key);
    this.#data.delete(key);
  }

  /**
   * Applies the operations in order, all or none: every operation is validated, and every
   * put's bytes copied into the log, before the first one is applied, so a bad operation (or a
   * failed allocation) leaves the store untouched.
   */
  async batch(operations: readonly BatchOperation[]): Promise<void> {
    this.#batch(operations);
  }

  #batch(operations: readonly BatchOperation[]): void {
    this.#checkOpen();
    checkBatch(operations);
    const data = this.#data;
    const log = data.log;
    const count = operations.length;
    // For each put, its record's location in the log; -1 for a delete.
    const staged = new Array<number>(count);
    log.hold();
    try {
      let i = 0;
      try {
        let puts = 0;
        for (; i < count; i++) {
          const op = operations[i]!;
          if (op.type === "put") {
            staged[i] = log.append(op.key, op.value);
            puts++;
          } else staged[i] = -1;
        }
        // Room for every key being new, so applying cannot fail halfway.
        data.index.reserve(puts);
      } catch (error) {
        for (let j = 0; j < i; j++) if (staged[j]! >= 0) log.free(staged[j]!);
        throw error;
      }
      for (let j = 0; j < count; j++) {
        const op = operations[j]!;
        const at = staged[j]!;
        if (at >= 0) data.set(op.key, at);
        else data.delete(op.key, false);
      }
      data.index.shrink();
    } finally {
      log.release();
    }
  }

  /**
   * Entries in unsigned byte order of their keys within the bounds. The scan walks a snapshot
   * of the key order taken when iteration starts and reads values live: keys added during the
   * scan are not seen, keys deleted during it are skipped, overwrites may be seen.
   */
  async *scan(options: ScanOptions = {}): AsyncGenerator<readonly [key: Uint8Array, value: Uint8Array]> {
    this.#checkOpen();
    checkScanOptions(options ?? {});
    const { gte, lt, limit = Infinity, reverse = false } = options ?? {};
    const data = this.#data;
    const keys = data.sortedKeys();
    const index = data.index;
    const log = data.log;
    const start = gte === undefined ? 0 : lowerBound(keys, binaryString(gte), compareBinary);
    const end = lt === undefined ? keys.length : lowerBound(keys, binaryString(lt), compareBinary);
    let remaining = limit;
    const step = reverse ? -1 : 1;
    for (let i = reverse ? end - 1 : start; remaining > 0 && i >= start && i < end; i += step) {
      const at = index.getBinary(keys[i]!);
      if (at < 0) continue;
      remaining--;
      yield [log.key(at), log.value(at)] as const;
      // The consumer ran arbitrary code while suspended; it may have closed the engine.
      this.#checkOpen();
    }
  }

  #checkOpen(): void {
    if (!this.#open) throw new EngineNotOpenError("memory");
  }
}

/**
 * The `memory` engine plugin: a {@link MemoryEngine} per node. With `durable: true` the
 * volumes are shared by the cluster (`createShared`), so they outlive any one node instance.
 */
export const memoryEnginePlugin: Plugin<MemoryEngineOptions, "engine", Map<NodeId, MemoryVolume>> = definePlugin({
  family: "engine",
  name: "memory",
  description: "In-memory ordered map: fastest; data survives a node restart only with durable: true (a simulated disk).",
  options: memoryEngineOptions,
  createShared: () => new Map<NodeId, MemoryVolume>(),
  create({ settings, shared: volumes, random }, options) {
    const hashSeed = random.fork("memory-engine").int(2 ** 32);
    if (!options.durable) return new MemoryEngine(undefined, hashSeed);
    let volume = volumes.get(settings.id);
    if (!volume) volumes.set(settings.id, volume = new MemoryVolume(hashSeed));
    return new MemoryEngine(volume);
  },
});

/**
 * Chooses the memory engine for a store built in code.
 *
 * @example
 * ```ts
 * const cluster = await store().nodes(3).use(memoryEngine()).cluster();
 * ```
 */
export function memoryEngine(options?: Partial<MemoryEngineOptions>): PluginChoice<MemoryEngineOptions> {
  return choose(memoryEnginePlugin, options);
}
