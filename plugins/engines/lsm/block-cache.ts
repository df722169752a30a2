/**
 * A byte-bounded LRU cache of decoded SSTable blocks, shared by the tables of one engine.
 *
 * @module
 */
import { Arena } from "./arena.ts";

/**
 * Least-recently-used cache bounded by the total byte size of what it holds. A Map keeps
 * insertion order, so re-inserting on every hit makes its first entry the least recently used.
 *
 * Keys are numbers: each table {@link reserve}s a range of them, one per block, when it opens,
 * and {@link drop}s its range when it closes. A cold read looks a block up and caches it in one
 * go, and string keys (`"table:block"`, built and hashed per lookup) cost it about 1.5 µs of
 * its 17 on this project's 2-core VM.
 */
export class BlockCache<V extends { readonly bytes: number }> {
  readonly #entries = new Map<number, V>();
  /**
   * Where the tables using this cache read blocks into (see `TableReader`). Chunks of 32 KiB,
   * about eight 4 KiB blocks: a cached block keeps its chunk alive until it is found again
   * (then it is copied out) or evicted, so the cache's blocks hold at most eight times
   * their bytes, and about their bytes when blocks leave in the order they came.
   */
  readonly arena = new Arena(32 * 1024);
  readonly #capacity: number;
  #bytes = 0;
  /** The first key not yet reserved. */
  #nextKey = 0;
  /** Lookups that found their block. */
  hits = 0;
  /** Lookups that did not. */
  misses = 0;

  /** @param capacity most bytes held; 0 disables the cache */
  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** Bytes held now. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Reserves `count` keys, `base` to `base + count - 1`, for one table's blocks. Keys are never
   * reused, so a table opened again (or a new table with an old one's number) never finds
   * another's blocks.
   */
  reserve(count: number): number {
    const base = this.#nextKey;
    this.#nextKey += count;
    return base;
  }

  /** The cached value of `key`, refreshed as most recently used. */
  get(key: number): V | undefined {
    const value = this.#entries.get(key);
    if (value === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.#entries.delete(key);
    this.#entries.set(key, value);
    return value;
  }

  /** Caches `value`, evicting the least recently used entries past the capacity. */
  set(key: number, value: V): void {
    if (value.bytes > this.#capacity) return;
    const old = this.#entries.get(key);
    if (old !== undefined) {
      this.#bytes -= old.bytes;
      this.#entries.delete(key);
    }
    this.#entries.set(key, value);
    this.#bytes += value.bytes;
    if (this.#bytes <= this.#capacity) return;
    const keys = this.#entries.keys();
    while (this.#bytes > this.#capacity) {
      const oldest = keys.next().value!;
      this.#bytes -= this.#entries.get(oldest)!.bytes;
      this.#entries.delete(oldest);
    }
  }

  /** Drops the blocks cached under `base` to `base + count - 1` (a table that was closed). */
  drop(base: number, count: number): void {
    for (let key = base; key < base + count; key++) {
      const value = this.#entries.get(key);
      if (value === undefined) continue;
      this.#entries.delete(key);
      this.#bytes -= value.bytes;
    }
  }
}
