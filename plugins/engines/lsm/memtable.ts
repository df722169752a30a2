/**
 * The LSM engine's memtable: recent writes, sorted, in memory.
 *
 * @module
 */
import { murmur3Range } from "../../../core/hash/murmur3.ts";
import { lowerBound } from "../../../core/model/sorted.ts";
import { Arena } from "./arena.ts";
import type { MemtableEntries } from "./compaction.ts";
import { compareRanges, TOMBSTONE } from "./sstable.ts";

/** A memtable entry: the key's bytes and its value, or `null` for a tombstone. */
export interface MemEntry {
  /** The key. */
  readonly key: Uint8Array;
  /** The value, or `null` for a delete. */
  readonly value: Uint8Array | null;
}

/** Per-key overhead counted toward a memtable's size (hash table and slot arrays, sorted order). */
const ENTRY_OVERHEAD = 32;

/** Reads a big-endian u32. */
function u32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

/**
 * Writes since the last flush, ordered by unsigned key bytes.
 *
 * Each entry is held where it was written, in the packed entry format the commit log and a flush
 * share: `[keyLength u32][valueLength u32, 0xffffffff for a tombstone][key][value]`, inside a
 * buffer the memtable keeps (the engine's log records, sliced from its {@link Arena}; or its
 * own arena for {@link set}). A key has a slot; typed arrays give a slot's buffer and offset,
 * and an open-addressing hash table over the key bytes finds a key's slot. So a write allocates
 * nothing that outlives it (no string per key, no object per entry), and the garbage collector
 * has nothing to trace however many entries are held. (A `Map` keyed by binary strings cost
 * about twice as much per write, most of it making, hashing and later collecting the strings.)
 *
 * New keys wait in a small unsorted list; an ordered read first sorts that list and merges it
 * into the sorted order, building a new array — so a write costs O(1), an ordered read after
 * `p` new keys costs O(n + p log p), and a scan keeps walking the order it started with while
 * writes go on. A flush does not sort here: it hands the entries as they lie to the thread that
 * builds the table ({@link entries}).
 *
 * {@link bytes} counts the live entries, {@link written} every entry written: a replaced one
 * keeps its bytes in its buffer until the memtable goes. The engine flushes on either (see
 * `LsmEngine`), so overwriting a few hot keys does not flush a memtable of little data every
 * `memtableBytes` written, and the memory it holds stays bounded all the same.
 */
export class Memtable {
  /** The buffers entries live in (each a view of a whole ArrayBuffer). */
  readonly #buffers: Uint8Array[] = [];
  #lastBuffer: ArrayBufferLike | undefined;
  /** Per slot: index into #buffers, offset of the packed entry in it, and its key's hash. */
  #bufferOf = new Int32Array(1024);
  #offsetOf = new Int32Array(1024);
  #hashes = new Int32Array(1024);
  #count = 0;
  /** Open addressing, linear probing: slot + 1, or 0 where empty; at most half full. */
  #table = new Int32Array(2048);
  /** Slots in key order as of the last ordered read, and slots added since. */
  #sorted = new Int32Array(0);
  #pending: number[] = [];
  #own: Arena | undefined;
  readonly #seed: number;
  /** Approximate bytes of the live entries (each key's latest), with per-key overhead. */
  bytes = 0;
  /**
   * Bytes of every entry written, replaced ones included: they stay in their buffers until the
   * memtable goes, so this is about what the memtable's chunks hold.
   */
  written = 0;

  /** @param seed seeds the key hash (the engine passes one drawn from the node's random source) */
  constructor(seed = 0) {
    this.#seed = seed | 0;
  }

  /** Keys held (tombstones included). */
  get size(): number {
    return this.#count;
  }

  /**
   * Holds the packed entry at `at` in `record` under its key. The memtable keeps `record`'s
   * buffer; nobody may change those bytes afterwards.
   */
  insert(record: Uint8Array, at: number): void {
    if (record.buffer !== this.#lastBuffer) {
      this.#lastBuffer = record.buffer;
      this.#buffers.push(new Uint8Array(record.buffer));
    }
    const buffer = this.#buffers[this.#buffers.length - 1]!;
    const offset = record.byteOffset + at;
    const keyLength = u32(buffer, offset);
    const valueLength = u32(buffer, offset + 4);
    const size = 8 + keyLength + (valueLength === TOMBSTONE ? 0 : valueLength);
    this.bytes += size;
    this.written += size;
    // As a signed 32-bit number, as #hashes (an Int32Array) gives it back.
    const hash = murmur3Range(buffer, offset + 8, keyLength, this.#seed) | 0;
    const at2 = this.#find(buffer, offset + 8, keyLength, hash);
    let slot = this.#table[at2]! - 1;
    if (slot < 0) {
      slot = this.#count++;
      if (slot === this.#bufferOf.length) this.#growSlots();
      this.#table[at2] = slot + 1;
      this.#hashes[slot] = hash;
      this.#pending.push(slot);
      this.bytes += ENTRY_OVERHEAD;
      if (this.#count * 2 > this.#table.length) this.#growTable();
    } else {
      // The entry it replaces no longer counts as held; its bytes still count as written.
      const old = this.#buffers[this.#bufferOf[slot]!]!;
      const oldAt = this.#offsetOf[slot]!;
      const oldValue = u32(old, oldAt + 4);
      this.bytes -= 8 + u32(old, oldAt) + (oldValue === TOMBSTONE ? 0 : oldValue);
    }
    this.#bufferOf[slot] = this.#buffers.length - 1;
    this.#offsetOf[slot] = offset;
  }

  /**
   * Holds `count` packed entries lying one after another from `at` in `record` (a log record's
   * operations, in order: a later one of the same key wins), as {@link insert} does.
   */
  insertAll(record: Uint8Array, at: number, count: number): void {
    for (let i = 0; i < count; i++) {
      const keyEnd = at + 8 + u32(record, at);
      const valueLength = u32(record, at + 4);
      this.insert(record, at);
      at = keyEnd + (valueLength === TOMBSTONE ? 0 : valueLength);
    }
  }

  /** Stores `value` (or a tombstone) under `key`, copying both into the memtable's own arena. */
  set(key: Uint8Array, value: Uint8Array | null): void {
    const entry = (this.#own ??= new Arena()).take(8 + key.length + (value?.length ?? 0));
    const view = new DataView(entry.buffer, entry.byteOffset, 8);
    view.setUint32(0, key.length);
    view.setUint32(4, value === null ? TOMBSTONE : value.length);
    entry.set(key, 8);
    if (value !== null) entry.set(value, 8 + key.length);
    this.insert(entry, 0);
  }

  /** The entry of `key` (a tombstone has `value: null`), or `undefined` if the key is not here. */
  get(key: Uint8Array): MemEntry | undefined {
    const slot = this.#table[this.#find(key, 0, key.length, murmur3Range(key, 0, key.length, this.#seed) | 0)]! - 1;
    return slot < 0 ? undefined : this.#entry(slot);
  }

  /**
   * The entries as they lie, for a flush: the buffers themselves and each key's buffer and
   * offset (copied), in no order; the flush sorts them, off this thread.
   */
  entries(): MemtableEntries {
    const count = this.#count;
    return { buffers: [...this.#buffers], bufferOf: this.#bufferOf.slice(0, count), offsetOf: this.#offsetOf.slice(0, count) };
  }

  /**
   * Entries in key order from `gte` (inclusive) to `lt` (exclusive), walking the order as it
   * is now; values are read live (a newer write may be seen).
   */
  *range(gte: Uint8Array | undefined, lt: Uint8Array | undefined, reverse: boolean): Generator<MemEntry> {
    const sorted = this.#ordered();
    const start = gte === undefined ? 0 : lowerBound(sorted, gte, this.#slotVersusKey);
    const end = lt === undefined ? sorted.length : lowerBound(sorted, lt, this.#slotVersusKey);
    if (reverse) { for (let i = end - 1; i >= start; i--) yield this.#entry(sorted[i]!); }
    else for (let i = start; i < end; i++) yield this.#entry(sorted[i]!);
  }

  /** Where `key` (`length` bytes at `start` of `bytes`, hashing to `hash`) is in the table, or the empty place it would take. */
  #find(bytes: Uint8Array, start: number, length: number, hash: number): number {
    const table = this.#table;
    const mask = table.length - 1;
    for (let i = hash & mask;; i = (i + 1) & mask) {
      const slot = table[i]! - 1;
      if (slot < 0) return i;
      if (this.#hashes[slot] !== hash) continue;
      const buffer = this.#buffers[this.#bufferOf[slot]!]!;
      const at = this.#offsetOf[slot]!;
      if (compareRanges(buffer, at + 8, u32(buffer, at), bytes, start, length) === 0) return i;
    }
  }

  /** A slot's entry, as views of the buffer it lives in. */
  #entry(slot: number): MemEntry {
    const buffer = this.#buffers[this.#bufferOf[slot]!]!;
    const at = this.#offsetOf[slot]!;
    const keyEnd = at + 8 + u32(buffer, at);
    const valueLength = u32(buffer, at + 4);
    return {
      key: buffer.subarray(at + 8, keyEnd),
      value: valueLength === TOMBSTONE ? null : buffer.subarray(keyEnd, keyEnd + valueLength),
    };
  }

  /** Orders two slots by key. */
  readonly #compareSlots = (x: number, y: number): number => {
    const a = this.#buffers[this.#bufferOf[x]!]!;
    const b = this.#buffers[this.#bufferOf[y]!]!;
    const ax = this.#offsetOf[x]!;
    const by = this.#offsetOf[y]!;
    return compareRanges(a, ax + 8, u32(a, ax), b, by + 8, u32(b, by));
  };

  /** Orders a slot's key against `key` (for binary search over slots in key order). */
  readonly #slotVersusKey = (slot: number, key: Uint8Array): number => {
    const buffer = this.#buffers[this.#bufferOf[slot]!]!;
    const at = this.#offsetOf[slot]!;
    return compareRanges(buffer, at + 8, u32(buffer, at), key, 0, key.length);
  };

  /** The slots in key order, with the pending ones merged in (a new array; old ones are never mutated). */
  #ordered(): Int32Array {
    if (this.#pending.length === 0) return this.#sorted;
    const pending = this.#pending.sort(this.#compareSlots);
    const old = this.#sorted;
    const merged = new Int32Array(old.length + pending.length);
    let i = 0;
    let j = 0;
    let k = 0;
    while (i < old.length && j < pending.length) merged[k++] = this.#compareSlots(old[i]!, pending[j]!) < 0 ? old[i++]! : pending[j++]!;
    while (i < old.length) merged[k++] = old[i++]!;
    while (j < pending.length) merged[k++] = pending[j++]!;
    this.#sorted = merged;
    this.#pending = [];
    return merged;
  }

  #growSlots(): void {
    const grow = (a: Int32Array) => {
      const b = new Int32Array(a.length * 2);
      b.set(a);
      return b;
    };
    this.#bufferOf = grow(this.#bufferOf);
    this.#offsetOf = grow(this.#offsetOf);
    this.#hashes = grow(this.#hashes);
  }

  #growTable(): void {
    const table = new Int32Array(this.#table.length * 2);
    const mask = table.length - 1;
    for (let slot = 0; slot < this.#count; slot++) {
      let i = this.#hashes[slot]! & mask;
      while (table[i] !== 0) i = (i + 1) & mask;
      table[i] = slot + 1;
    }
    this.#table = table;
  }
}
