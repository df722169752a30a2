/**
 * Sorted byte keys searched by number first: a table's index (the last key of each block) and a
 * level's tables (the largest key of each).
 *
 * @module
 */
import { compareBytes } from "../../../core/codec/bytes.ts";
import { lowerBound } from "../../../core/model/sorted.ts";

/** Bytes of a key, after the shared prefix, that an abbreviation holds (6: exact in a double). */
const ABBREVIATED_BYTES = 6;

/**
 * A sorted list of byte keys with a binary search that compares numbers, not keys, on most
 * steps. Keys in one table often share a long prefix (zero-padded numbers, a tenant's name), and
 * a cold read searches a table nobody asked for recently, so each key compared is a pointer
 * chased to memory the CPU does not hold: comparing whole keys cost a cold read about 1.3 µs a
 * table on this project's 2-core VM. Here the shared prefix is checked once, each key is
 * abbreviated to the next six bytes as one number (PostgreSQL's sorts use the same trick), and
 * the search runs over those numbers in one Float64Array; whole keys are compared only among
 * keys whose six bytes are equal to the target's.
 *
 * An abbreviation pads a key that ends early with zero bytes, so numbers that differ order as
 * the keys do (a shorter key is below any key it is a prefix of, and a zero pad is below any
 * byte but 0, which is settled by comparing whole keys when the numbers tie).
 */
export class SortedKeys {
  /** The keys, ascending (equal keys allowed). */
  readonly keys: readonly Uint8Array[];
  readonly #prefix: Uint8Array;
  readonly #abbreviated: Float64Array;

  /** @param keys ascending byte order (not checked) */
  constructor(keys: readonly Uint8Array[]) {
    this.keys = keys;
    const n = keys.length;
    let shared = 0;
    if (n > 0) {
      // Sorted: the prefix every key shares is the one the first and last share.
      const first = keys[0]!;
      const last = keys[n - 1]!;
      const limit = Math.min(first.length, last.length);
      while (shared < limit && first[shared] === last[shared]) shared++;
    }
    this.#prefix = n > 0 ? keys[0]!.slice(0, shared) : new Uint8Array(0);
    this.#abbreviated = new Float64Array(n);
    for (let i = 0; i < n; i++) this.#abbreviated[i] = abbreviate(keys[i]!, shared);
  }

  /** Keys held. */
  get length(): number {
    return this.keys.length;
  }

  /** The first index whose key is not before `key` (byte order), or {@link length} if none. */
  lowerBound(key: Uint8Array): number {
    const prefix = this.#prefix;
    for (let i = 0; i < prefix.length; i++) {
      // A key that ends inside the shared prefix, or has a smaller byte there, is below every
      // key; one with a larger byte is above every key.
      if (i === key.length || key[i]! < prefix[i]!) return 0;
      if (key[i]! > prefix[i]!) return this.keys.length;
    }
    const target = abbreviate(key, prefix.length);
    let lo = lowerBound(this.#abbreviated, target);
    // Abbreviations are integers: the keys tying with the target end where target + 1 starts.
    let hi = lowerBound(this.#abbreviated, target + 1);
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareBytes(this.keys[mid]!, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** The {@link ABBREVIATED_BYTES} bytes of `key` from `at`, big-endian, zero past its end. */
function abbreviate(key: Uint8Array, at: number): number {
  let value = 0;
  for (let p = 0; p < ABBREVIATED_BYTES; p++) {
    value = value * 256 + (at + p < key.length ? key[at + p]! : 0);
  }
  return value;
}
