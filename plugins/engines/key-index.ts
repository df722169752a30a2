/**
 * The memory engine's index: byte keys to the locations of their records in a {@link SegmentLog}.
 *
 * @module
 */
import { murmur3Range } from "../../core/hash/murmur3.ts";
import type { SegmentLog } from "./segment-log.ts";

/** The smallest table: a store of a few keys (a simulated node) holds a few hundred bytes. */
const MIN_CAPACITY = 16;
/** Marks an empty slot in the hash column; a key whose hash is 0 is stored as 1. */
const EMPTY = 0;

/**
 * An open-addressing hash table (linear probing, deletion by backward shift) from a key's bytes
 * to the location of its record in a {@link SegmentLog}. The keys themselves live only in the
 * log: a slot holds the key's 32-bit hash and the record's location, 12 bytes in two typed
 * arrays, and a lookup compares the bytes in the log in place.
 *
 * Why not a `Map` keyed by each key's bytes as a binary string, as the engine had: every put
 * made a fresh string (of the record key and of the token-index key), hashed it and inserted a
 * `Map` entry, and that was about a fifth of a one-node put; the strings and entries also cost
 * about 70 bytes per key, where a slot here costs 12 and the table is 35–70% full as keys are
 * added (after deletes it shrinks only below 15% full: up to 80 bytes per key).
 *
 * The hash is MurmurHash3 with a seed per index (the node's randomness, forked), so where keys
 * land differs from node to node. That does not make flooding impossible (MurmurHash3 has
 * collisions that hold for every seed), as a string-keyed `Map` never made it impossible either;
 * keys are bounded in length (`maxKeyBytes`), which bounds what one comparison costs.
 */
export class KeyIndex {
  readonly #log: SegmentLog;
  readonly #seed: number;
  /** Each slot's key hash, {@link EMPTY} when free. */
  #hashes = new Int32Array(MIN_CAPACITY);
  /** Each slot's record location. */
  #locations = new Float64Array(MIN_CAPACITY);
  #mask = MIN_CAPACITY - 1;
  #size = 0;
  /** Scratch bytes of a binary-string key being looked up. */
  #scratch = new Uint8Array(64);

  /**
   * @param log where the keys' records are; the index compares keys against them
   * @param seed the hash's seed (32-bit)
   */
  constructor(log: SegmentLog, seed: number) {
    this.#log = log;
    this.#seed = seed >>> 0;
  }

  /** Number of keys. */
  get size(): number {
    return this.#size;
  }

  /** Bytes of the table's two arrays. */
  get bytes(): number {
    return this.#hashes.length * 12;
  }

  /** The location of `key`'s record, or -1. */
  get(key: Uint8Array): number {
    const slot = this.#find(key, key.length, this.#hash(key, key.length));
    return slot < 0 ? -1 : this.#locations[slot]!;
  }

  /** The location of the record whose key is the binary string `id` (see binaryString), or -1. */
  getBinary(id: string): number {
    const length = id.length;
    if (length > this.#scratch.length) this.#scratch = new Uint8Array(Math.max(length, this.#scratch.length * 2));
    const bytes = this.#scratch;
    for (let i = 0; i < length; i++) bytes[i] = id.charCodeAt(i);
    const slot = this.#find(bytes, length, this.#hash(bytes, length));
    return slot < 0 ? -1 : this.#locations[slot]!;
  }

  /**
   * Points `key` at the record at `at` (whose key must equal `key`); returns the location it
   * pointed at before, or -1 if it was not in the index.
   */
  set(key: Uint8Array, at: number): number {
    const length = key.length;
    const hash = this.#hash(key, length);
    const slot = this.#find(key, length, hash);
    if (slot >= 0) {
      const old = this.#locations[slot]!;
      this.#locations[slot] = at;
      return old;
    }
    this.reserve(1);
    this.#place(hash, at);
    this.#size++;
    return -1;
  }

  /**
   * Makes room for `count` more keys now, so that adding them cannot fail for want of memory
   * (a batch reserves before it applies anything).
   *
   * @throws {RangeError} if the larger table cannot be allocated; the index is unchanged then
   */
  reserve(count: number): void {
    // Grow at 70% full: linear probing's probe sequences lengthen quickly past that.
    let capacity = this.#mask + 1;
    while ((this.#size + count) * 10 > capacity * 7) capacity *= 2;
    if (capacity > this.#mask + 1) this.#resize(capacity);
  }

  /**
   * Removes `key`; returns the location it pointed at, or -1 if it was not in the index. The
   * table never shrinks here (see {@link shrink}), so keys added after deletes within the room
   * a {@link reserve} made cannot need a larger table.
   */
  delete(key: Uint8Array): number {
    const slot = this.#find(key, key.length, this.#hash(key, key.length));
    if (slot < 0) return -1;
    const old = this.#locations[slot]!;
    this.#removeAt(slot);
    this.#size--;
    return old;
  }

  /**
   * Halves the table while it is under 15% full (to about 30%), so a table emptied by deletes
   * gives its memory back. Out of memory for the smaller table, the larger one stays.
   */
  shrink(): void {
    let capacity = this.#mask + 1;
    while (capacity > MIN_CAPACITY && this.#size * 100 < capacity * 15) capacity /= 2;
    if (capacity === this.#mask + 1) return;
    try {
      this.#resize(capacity);
    } catch {
      // The larger table stays, correct as it is.
    }
  }

  /**
   * Repoints the key `key`, whose record the log moved from `from` to `at`. The record at
   * `from` may no longer be readable, so the slot is found by its location, not its key.
   */
  moved(key: Uint8Array, from: number, at: number): void {
    const hashes = this.#hashes;
    const locations = this.#locations;
    const mask = this.#mask;
    const hash = this.#hash(key, key.length);
    for (let i = hash & mask; hashes[i] !== EMPTY; i = (i + 1) & mask) {
      if (locations[i] === from && hashes[i] === hash) {
        locations[i] = at;
        return;
      }
    }
    throw new Error(`memory engine index: a moved record (at ${from}) was not in the index`);
  }

  /** Calls `visit` with the location of every key's record, in no particular order. */
  forEach(visit: (at: number) => void): void {
    const hashes = this.#hashes;
    const locations = this.#locations;
    for (let i = 0; i < hashes.length; i++) if (hashes[i] !== EMPTY) visit(locations[i]!);
  }

  #hash(bytes: Uint8Array, length: number): number {
    return murmur3Range(bytes, 0, length, this.#seed) | 0 || 1;
  }

  /** The slot holding the key `bytes[0..length)`, or -1. */
  #find(bytes: Uint8Array, length: number, hash: number): number {
    const hashes = this.#hashes;
    const mask = this.#mask;
    for (let i = hash & mask;; i = (i + 1) & mask) {
      const h = hashes[i]!;
      if (h === EMPTY) return -1;
      if (h === hash && this.#log.keyEquals(this.#locations[i]!, bytes, length)) return i;
    }
  }

  /** Puts a key known to be absent in the first free slot of its probe sequence. */
  #place(hash: number, at: number): void {
    const hashes = this.#hashes;
    const mask = this.#mask;
    let i = hash & mask;
    while (hashes[i] !== EMPTY) i = (i + 1) & mask;
    hashes[i] = hash;
    this.#locations[i] = at;
  }

  /**
   * Empties slot `slot`, moving later entries of the run back into the hole where their probe
   * sequence allows, so that no lookup ever stops early at it (no tombstones).
   */
  #removeAt(slot: number): void {
    const hashes = this.#hashes;
    const locations = this.#locations;
    const mask = this.#mask;
    let hole = slot;
    for (let j = (slot + 1) & mask; hashes[j] !== EMPTY; j = (j + 1) & mask) {
      // The entry at j may fill the hole if the hole lies on its probe path: from its home
      // slot to j, cyclically.
      const home = hashes[j]! & mask;
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        hashes[hole] = hashes[j]!;
        locations[hole] = locations[j]!;
        hole = j;
      }
    }
    hashes[hole] = EMPTY;
  }

  /** Rebuilds the table with `capacity` slots (a power of two) from the stored hashes. */
  #resize(capacity: number): void {
    const hashes = this.#hashes;
    const locations = this.#locations;
    // Both allocated before either is replaced: a failed allocation leaves the table as it was.
    const newHashes = new Int32Array(capacity);
    this.#locations = new Float64Array(capacity);
    this.#hashes = newHashes;
    this.#mask = capacity - 1;
    for (let i = 0; i < hashes.length; i++) if (hashes[i] !== EMPTY) this.#place(hashes[i]!, locations[i]!);
  }
}
