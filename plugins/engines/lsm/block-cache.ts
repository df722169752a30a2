/**
 * A byte-bounded LRU cache of decoded SSTable blocks, shared by the tables of one engine.
 *
 * @module
 */
import { Arena } from "./arena.ts";

/**
 * Least-recently-used cache bounded by the total byte size of what it holds. A Map keeps
 * insertion order, so re-inserting on every hit makes its first entry the least recently used.
 */
export class BlockCache<V extends { readonly bytes: number }> {
  readonly #entries = new Map<string, V>();
  /**
   * Where the tables using this cache read blocks into (see `TableReader`). Chunks of 32 KiB,
   * about eight 4 KiB blocks: a cached block keeps its chunk alive until it is found again
   * (then it is copied out) or evicted, so the cache's blocks hold at most eight times
   * their bytes, and about their bytes when blocks leave in the order they came.
   */
  readonly arena = new Arena(32 * 1024);
  readonly #capacity: number;
  #bytes = 0;
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

  /** The cached value of `key`, refreshed as most recently used. */
  get(key: string): V | undefined {
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
  set(key: string, value: V): void {
    if (value.bytes > this.#capacity) return;
    const old = this.#entries.get(key);
    if (old !== undefined) {
      this.#bytes -= old.bytes;
      this.#entries.delete(key);
    }
    this.#entries.set(key, value);
    this.#bytes += value.bytes;
    for (const [k, v] of this.#entries) {
      if (this.#bytes <= this.#capacity) break;
      this.#entries.delete(k);
      this.#bytes -= v.bytes;
    }
  }

  /** Drops every block whose key starts with `prefix` (a table that was deleted). */
  dropPrefix(prefix: string): void {
    for (const [k, v] of this.#entries) {
      if (k.startsWith(prefix)) {
        this.#entries.delete(k);
        this.#bytes -= v.bytes;
      }
    }
  }
}
