/**
 * A byte-bounded LRU cache of decoded SSTable blocks, shared by the tables of one engine.
 *
 * @module
 */
import { Arena } from "./arena.ts";

/** What the cache holds: a value of some bytes, perhaps in a buffer of the cache's pool. */
export interface Cacheable {
  /** Bytes it holds (what the capacity counts). */
  readonly bytes: number;
  /** The buffer from {@link BlockCache.take} it lies in, handed back to the pool when it leaves. */
  readonly pooled?: Uint8Array | undefined;
}

/** Most buffers the pool keeps for reads to come. */
const POOL_BUFFERS = 64;

/**
 * The pool keeps at most this fraction of the cache's capacity in bytes (memory beside what it
 * caches), or {@link POOL_FLOOR} if that is more.
 */
const POOL_SHARE = 1 / 8;
const POOL_FLOOR = 64 * 1024;

/** Pooled buffers come in whole KiB, so blocks of a table's usual size fit each other's. */
const POOL_GRAIN = 1024;

/**
 * Least-recently-used cache bounded by the total byte size of what it holds. A Map keeps
 * insertion order, so re-inserting on every hit makes its first entry the least recently used.
 *
 * Keys are numbers: each table {@link reserve}s a range of them, one per block, when it opens,
 * and {@link drop}s its range when it closes. A cold read looks a block up and caches it in one
 * go, and string keys (`"table:block"`, built and hashed per lookup) cost it about 1.5 µs of
 * its 17 on this project's 2-core VM.
 */
export class BlockCache<V extends Cacheable> {
  readonly #entries = new Map<number, V>();
  /** Buffers of values that left the cache, for {@link take}. */
  readonly #pool: Uint8Array[] = [];
  #poolBytes = 0;
  /**
   * Where the tables using this cache read blocks into (see `TableReader`). Chunks of 32 KiB,
   * about eight 4 KiB blocks: a cached block keeps its chunk alive until it is found again
   * (then it is copied out) or evicted, so the cache's blocks hold at most eight times
   * their bytes, and about their bytes when blocks leave in the order they came.
   */
  readonly arena = new Arena(32 * 1024);
  /** Where {@link copy} puts values copied out of pooled buffers. */
  readonly #copies = new Arena(32 * 1024);
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

  /**
   * A buffer of at least `length` bytes for a value that lives only in this cache (its
   * `pooled`): one a value that left the cache held, whose memory is already mapped and
   * warm, or a new one. Its bytes are whatever was there.
   */
  take(length: number): Uint8Array {
    const pool = this.#pool;
    while (pool.length > 0) {
      const buffer = pool.pop()!;
      this.#poolBytes -= buffer.length;
      // Too small, or much larger than needed (a block of outsized values): let it go.
      if (buffer.length >= length && buffer.length <= 2 * length + POOL_GRAIN) return buffer;
    }
    return new Uint8Array(Math.ceil(length / POOL_GRAIN) * POOL_GRAIN);
  }

  /**
   * Hands back a buffer from {@link take} that no value holds (nothing may use it after). The
   * pool keeps at most {@link POOL_BUFFERS} buffers and an eighth of the capacity in bytes (or
   * 64 KiB); in the steady state of cold reads each read evicts one block and takes its
   * buffer, so it holds one or two.
   */
  give(buffer: Uint8Array): void {
    const limit = Math.max(this.#capacity * POOL_SHARE, POOL_FLOOR);
    if (this.#pool.length >= POOL_BUFFERS || this.#poolBytes + buffer.length > limit) return;
    this.#pool.push(buffer);
    this.#poolBytes += buffer.length;
  }

  /**
   * A copy of `bytes` (part of a pooled value) that stays valid after the value leaves: in
   * chunks of 32 KiB, like {@link arena}, so copying a 100-byte value costs no allocation of
   * its own. A copy kept keeps its chunk.
   */
  copy(bytes: Uint8Array): Uint8Array {
    const out = this.#copies.take(bytes.length);
    out.set(bytes);
    return out;
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
      if (old.pooled !== value.pooled) this.#release(old);
    }
    this.#entries.set(key, value);
    this.#bytes += value.bytes;
    if (this.#bytes <= this.#capacity) return;
    const keys = this.#entries.keys();
    while (this.#bytes > this.#capacity) {
      const oldest = keys.next().value!;
      const evicted = this.#entries.get(oldest)!;
      this.#bytes -= evicted.bytes;
      this.#entries.delete(oldest);
      this.#release(evicted);
    }
  }

  /** Drops the blocks cached under `base` to `base + count - 1` (a table that was closed). */
  drop(base: number, count: number): void {
    for (let key = base; key < base + count; key++) {
      const value = this.#entries.get(key);
      if (value === undefined) continue;
      this.#entries.delete(key);
      this.#bytes -= value.bytes;
      this.#release(value);
    }
  }

  /** A value left the cache: its pooled buffer, if any, can take the next read. */
  #release(value: V): void {
    if (value.pooled !== undefined) this.give(value.pooled);
  }
}
