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
import type { BatchOperation, EngineCapabilities, ScanOptions, StorageEngine } from "../../core/interfaces/storage-engine.ts";
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
  /** @internal entries under their binary-string key */
  entries = new Map<string, Entry>();
  /** @internal sorted keys, or undefined when stale; replaced, never mutated */
  sorted: string[] | undefined = [];

  /** Number of keys stored. */
  get size(): number {
    return this.entries.size;
  }
}

/** A stored pair, kept together so a scan yields the key bytes without decoding them again. */
export interface Entry {
  /** The key's bytes. */
  readonly key: Uint8Array;
  /** The value's bytes. */
  readonly value: Uint8Array;
}

const CAPABILITIES: EngineCapabilities = Object.freeze({ persistent: false });
const PERSISTENT: EngineCapabilities = Object.freeze({ persistent: true });

/**
 * A {@link StorageEngine} over an in-memory ordered map. Fast and dependency-free, and nothing
 * survives `close()`: each close releases the data, so a restarted node starts empty — which is
 * what a simulated crash of a memory-backed node should look like.
 *
 * Keys live in a `Map` under their binary-string form; the sorted key list that scans need is
 * rebuilt lazily, only after a key was added or removed since the last scan, so write-heavy
 * phases pay nothing for ordering and overwrites never invalidate it.
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
  #data = new MemoryVolume();

  /**
   * @param volume keep the data here, beyond `close()` (default: private, released on close)
   */
  constructor(volume?: MemoryVolume) {
    this.#volume = volume;
    if (volume) this.#data = volume;
    this.capabilities = volume ? PERSISTENT : CAPABILITIES;
  }

  // Sorted keys are replaced, never mutated, when invalidated: a running scan keeps iterating
  // its own snapshot while writes continue.
  get #entries(): Map<string, Entry> {
    return this.#data.entries;
  }

  get #sorted(): string[] | undefined {
    return this.#data.sorted;
  }

  set #sorted(keys: string[] | undefined) {
    this.#data.sorted = keys;
  }

  /** Opens the engine (idempotent). Without a volume, a reopened engine is empty. */
  async open(): Promise<void> {
    this.#open = true;
  }

  /** Closes the engine (idempotent); without a volume its data is released. */
  async close(): Promise<void> {
    if (!this.#open) return;
    this.#open = false;
    if (!this.#volume) this.#data = new MemoryVolume();
  }

  /** Closes the engine, so `container.dispose()` on a node's container releases it. */
  async dispose(): Promise<void> {
    await this.close();
  }

  /** The value under `key`, or `undefined`. Callers must not mutate the returned bytes. */
  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    this.#checkOpen();
    checkBytes("key", key);
    return this.#entries.get(binaryString(key))?.value;
  }

  /** Stores a copy of `value` under a copy of `key`. */
  async put(key: Uint8Array, value: Uint8Array): Promise<void> {
    this.#checkOpen();
    checkBytes("key", key);
    checkBytes("value", value);
    this.#set(binaryString(key), { key: new Uint8Array(key), value: new Uint8Array(value) });
  }

  /** Removes `key` if present. */
  async delete(key: Uint8Array): Promise<void> {
    this.#checkOpen();
    checkBytes("key", key);
    this.#remove(binaryString(key));
  }

  /**
   * Applies the operations in order, all or none: every operation is validated (and copied)
   * before the first one is applied, so a bad operation leaves the store untouched.
   */
  async batch(operations: readonly BatchOperation[]): Promise<void> {
    this.#checkOpen();
    checkBatch(operations);
    const staged = operations.map((op) => ({
      id: binaryString(op.key),
      entry: op.type === "put" ? { key: new Uint8Array(op.key), value: new Uint8Array(op.value) } : undefined,
    }));
    for (const { id, entry } of staged) {
      if (entry) this.#set(id, entry);
      else this.#remove(id);
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
    const keys = this.#sortedKeys();
    const entries = this.#entries;
    const start = gte === undefined ? 0 : lowerBound(keys, binaryString(gte), compareBinary);
    const end = lt === undefined ? keys.length : lowerBound(keys, binaryString(lt), compareBinary);
    let remaining = limit;
    const step = reverse ? -1 : 1;
    for (let i = reverse ? end - 1 : start; remaining > 0 && i >= start && i < end; i += step) {
      const entry = entries.get(keys[i]!);
      if (entry === undefined) continue;
      remaining--;
      yield [entry.key, entry.value] as const;
      // The consumer ran arbitrary code while suspended; it may have closed the engine.
      this.#checkOpen();
    }
  }

  #set(id: string, entry: Entry): void {
    const size = this.#entries.size;
    this.#entries.set(id, entry);
    if (this.#entries.size !== size) this.#sorted = undefined;
  }

  #remove(id: string): void {
    if (this.#entries.delete(id)) this.#sorted = undefined;
  }

  #sortedKeys(): readonly string[] {
    // Default sort compares UTF-16 code units, which for binary strings is unsigned byte order.
    return (this.#sorted ??= Array.from(this.#entries.keys()).sort());
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
  create({ settings, shared: volumes }, options) {
    if (!options.durable) return new MemoryEngine();
    let volume = volumes.get(settings.id);
    if (!volume) volumes.set(settings.id, volume = new MemoryVolume());
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
