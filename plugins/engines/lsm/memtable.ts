/**
 * The LSM engine's memtable: recent writes, sorted, in memory.
 *
 * @module
 */
import { lowerBound } from "../../../core/model/sorted.ts";
import { binaryString, compareBinary } from "../binary-keys.ts";
import { Arena } from "./arena.ts";
import type { MemtableEntries } from "./compaction.ts";

/** A memtable entry: the key's bytes and its value, or `null` for a tombstone. */
export interface MemEntry {
  /** The key. */
  readonly key: Uint8Array;
  /** The value, or `null` for a delete. */
  readonly value: Uint8Array | null;
}

/** Per-key overhead counted toward a memtable's size (map slot, string, sorted-array slot, slot arrays). */
const ENTRY_OVERHEAD = 64;

/** Marks a deleted key in the packed entry format (as in the log and in tables). */
const TOMBSTONE = 0xffffffff;

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
 * own arena for {@link set}). Per key the memtable holds a binary string (one code unit per
 * byte, whose string order is the byte order) in a Map, whose value is a slot number; two typed
 * arrays give a slot's buffer and offset. So a write allocates no object that survives it but
 * the string, and the garbage collector has little to trace however many entries are held.
 *
 * New keys wait in a small unsorted list; an ordered read first sorts that list and merges it
 * into the sorted array, building a new array — so a write costs O(1), an ordered read after `p`
 * new keys costs O(n + p log p), and a scan keeps walking the array it started with while
 * writes go on.
 *
 * {@link bytes} counts every entry written (an overwritten one too: its bytes stay in its
 * buffer until the memtable goes), so the size that triggers a flush bounds the memory held.
 */
export class Memtable {
  readonly #slots = new Map<string, number>();
  /** The buffers entries live in (each a view of a whole ArrayBuffer). */
  readonly #buffers: Uint8Array[] = [];
  #lastBuffer: ArrayBufferLike | undefined;
  /** Per slot: index into #buffers, and offset of the packed entry in it. */
  #bufferOf = new Int32Array(1024);
  #offsetOf = new Int32Array(1024);
  #sorted: readonly string[] = [];
  #pending: string[] = [];
  #own: Arena | undefined;
  /** Approximate bytes held (entries as written, and per-key overhead). */
  bytes = 0;

  /** Keys held (tombstones included). */
  get size(): number {
    return this.#slots.size;
  }

  /**
   * Holds the packed entry at `at` in `record` under `id` (its key as a binary string). The
   * memtable keeps `record`'s buffer; nobody may change those bytes afterwards.
   */
  insert(id: string, record: Uint8Array, at: number): void {
    if (record.buffer !== this.#lastBuffer) {
      this.#lastBuffer = record.buffer;
      this.#buffers.push(new Uint8Array(record.buffer));
    }
    const offset = record.byteOffset + at;
    const valueLength = u32(record, at + 4);
    this.bytes += 8 + u32(record, at) + (valueLength === TOMBSTONE ? 0 : valueLength);
    let slot = this.#slots.get(id);
    if (slot === undefined) {
      slot = this.#slots.size;
      if (slot === this.#bufferOf.length) this.#grow();
      this.#slots.set(id, slot);
      this.#pending.push(id);
      this.bytes += ENTRY_OVERHEAD;
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
      this.insert(binaryString(record.subarray(at + 8, keyEnd)), record, at);
      at = keyEnd + (valueLength === TOMBSTONE ? 0 : valueLength);
    }
  }

  /** Stores `value` (or a tombstone) under `key`, copying both into the memtable's own arena. */
  set(id: string, key: Uint8Array, value: Uint8Array | null): void {
    const entry = (this.#own ??= new Arena()).take(8 + key.length + (value?.length ?? 0));
    const view = new DataView(entry.buffer, entry.byteOffset, 8);
    view.setUint32(0, key.length);
    view.setUint32(4, value === null ? TOMBSTONE : value.length);
    entry.set(key, 8);
    if (value !== null) entry.set(value, 8 + key.length);
    this.insert(id, entry, 0);
  }

  /** The entry under `id` (a tombstone has `value: null`), or `undefined` if the key is not here. */
  get(id: string): MemEntry | undefined {
    const slot = this.#slots.get(id);
    return slot === undefined ? undefined : this.#entry(slot);
  }

  /**
   * The entries as they lie, for a flush: the buffers themselves (shared, not copied) and each
   * key's buffer and offset (copied), in no order; the flush sorts them, off this thread.
   */
  entries(): MemtableEntries {
    const count = this.#slots.size;
    return { buffers: [...this.#buffers], bufferOf: this.#bufferOf.slice(0, count), offsetOf: this.#offsetOf.slice(0, count) };
  }

  /**
   * Entries in key order from `gte` (inclusive) to `lt` (exclusive), as binary strings, walking
   * the order as it is now; values are read live (a newer write may be seen).
   */
  *range(gte: string | undefined, lt: string | undefined, reverse: boolean): Generator<MemEntry> {
    const sorted = this.#ordered();
    const start = gte === undefined ? 0 : lowerBound(sorted, gte, compareBinary);
    const end = lt === undefined ? sorted.length : lowerBound(sorted, lt, compareBinary);
    if (reverse) { for (let i = end - 1; i >= start; i--) yield this.#entry(this.#slots.get(sorted[i]!)!); }
    else for (let i = start; i < end; i++) yield this.#entry(this.#slots.get(sorted[i]!)!);
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

  #grow(): void {
    const bufferOf = new Int32Array(this.#bufferOf.length * 2);
    bufferOf.set(this.#bufferOf);
    this.#bufferOf = bufferOf;
    const offsetOf = new Int32Array(this.#offsetOf.length * 2);
    offsetOf.set(this.#offsetOf);
    this.#offsetOf = offsetOf;
  }

  /** The sorted keys, with the pending ones merged in (a new array; old ones are never mutated). */
  #ordered(): readonly string[] {
    if (this.#pending.length === 0) return this.#sorted;
    const pending = this.#pending.sort();
    const old = this.#sorted;
    const merged = new Array<string>(old.length + pending.length);
    let i = 0;
    let j = 0;
    let k = 0;
    while (i < old.length && j < pending.length) merged[k++] = old[i]! < pending[j]! ? old[i++]! : pending[j++]!;
    while (i < old.length) merged[k++] = old[i++]!;
    while (j < pending.length) merged[k++] = pending[j++]!;
    this.#sorted = merged;
    this.#pending = [];
    return merged;
  }
}
