/**
 * The LSM engine's memtable: recent writes, sorted, in memory.
 *
 * @module
 */
import { lowerBound } from "../../../core/model/sorted.ts";
import { compareBinary } from "../binary-keys.ts";

/** A memtable entry: the key's bytes and its value, or `null` for a tombstone. */
export interface MemEntry {
  /** The key. */
  readonly key: Uint8Array;
  /** The value, or `null` for a delete. */
  readonly value: Uint8Array | null;
}

/** Per-entry overhead counted toward a memtable's size (map slot, sorted-array slot, objects). */
const ENTRY_OVERHEAD = 64;

/**
 * Writes since the last flush, ordered by unsigned key bytes. Keys are held as binary strings
 * (one code unit per byte), whose string order is the byte order, in a Map for point reads. New
 * keys wait in a small unsorted list; an ordered read first sorts that list and merges it into
 * the sorted array, building a new array — so a write costs O(1), an ordered read after `p` new
 * keys costs O(n + p log p), and a scan keeps walking the array it started with while writes
 * go on.
 */
export class Memtable {
  readonly #entries = new Map<string, MemEntry>();
  #sorted: readonly string[] = [];
  #pending: string[] = [];
  /** Approximate bytes held (keys, values and per-entry overhead). */
  bytes = 0;

  /** Entries held (tombstones included). */
  get size(): number {
    return this.#entries.size;
  }

  /** Stores `value` (or a tombstone) under `key`, which the caller must not mutate afterwards. */
  set(id: string, key: Uint8Array, value: Uint8Array | null): void {
    const old = this.#entries.get(id);
    if (old === undefined) {
      this.#pending.push(id);
      this.bytes += key.length + ENTRY_OVERHEAD;
    } else {
      this.bytes -= old.value?.length ?? 0;
    }
    this.bytes += value?.length ?? 0;
    this.#entries.set(id, { key, value });
  }

  /** The entry under `id` (a tombstone has `value: null`), or `undefined` if the key is not here. */
  get(id: string): MemEntry | undefined {
    return this.#entries.get(id);
  }

  /**
   * Entries in key order from `gte` (inclusive) to `lt` (exclusive), as binary strings, walking
   * the order as it is now; values are read live (a newer write may be seen).
   */
  *range(gte: string | undefined, lt: string | undefined, reverse: boolean): Generator<MemEntry> {
    const sorted = this.#ordered();
    const start = gte === undefined ? 0 : lowerBound(sorted, gte, compareBinary);
    const end = lt === undefined ? sorted.length : lowerBound(sorted, lt, compareBinary);
    if (reverse) { for (let i = end - 1; i >= start; i--) yield this.#entries.get(sorted[i]!)!; }
    else for (let i = start; i < end; i++) yield this.#entries.get(sorted[i]!)!;
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
