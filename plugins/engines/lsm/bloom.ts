/**
 * Bloom filters for SSTables: a lookup of a key a table does not hold usually costs no read.
 *
 * @module
 */
import { murmur3, murmur3Range } from "../../../core/hash/murmur3.ts";

const SEED = 0x9747b28c;

/**
 * A Bloom filter over byte keys with `k` probes by double hashing (Kirsch and Mitzenmacher): two
 * murmur3 hashes give every probe. With 10 bits per key and k = 7 about 1% of absent keys pass.
 * Serialised as `[k][bits...]`.
 */
export class BloomFilter {
  /** Probes per key. */
  readonly k: number;
  readonly #bits: Uint8Array;

  private constructor(bits: Uint8Array, k: number) {
    this.#bits = bits;
    this.k = k;
  }

  /** A filter sized for `keys` keys at `bitsPerKey`. */
  static build(keys: readonly Uint8Array[], bitsPerKey: number): BloomFilter {
    const h1s = new Uint32Array(keys.length);
    const h2s = new Uint32Array(keys.length);
    keys.forEach((key, i) => {
      h1s[i] = bloomHash(key, 0, key.length);
      h2s[i] = bloomHash2(key, 0, key.length, h1s[i]!);
    });
    return BloomFilter.fromHashes(h1s, h2s, keys.length, bitsPerKey);
  }

  /** A filter from the first `count` keys' two hashes ({@link bloomHash}, {@link bloomHash2}). */
  static fromHashes(h1s: Uint32Array, h2s: Uint32Array, count: number, bitsPerKey: number): BloomFilter {
    const bitCount = Math.max(64, Math.ceil(count * bitsPerKey));
    const k = Math.max(1, Math.min(30, Math.round(bitsPerKey * Math.LN2)));
    const filter = new BloomFilter(new Uint8Array(Math.ceil(bitCount / 8)), k);
    for (let i = 0; i < count; i++) filter.#add(h1s[i]!, h2s[i]! | 1);
    return filter;
  }

  /** Reads a filter serialised by {@link encode}. */
  static decode(bytes: Uint8Array): BloomFilter {
    return new BloomFilter(bytes.subarray(1), Math.max(1, bytes[0]!));
  }

  /** `[k][bits]`. */
  encode(): Uint8Array {
    const out = new Uint8Array(1 + this.#bits.length);
    out[0] = this.k;
    out.set(this.#bits, 1);
    return out;
  }

  /** False if `key` is certainly absent; true if it may be present. */
  mayContain(key: Uint8Array): boolean {
    const bits = this.#bits.length * 8;
    const h1 = murmur3(key, SEED);
    const h2 = murmur3(key, h1) | 1;
    for (let i = 0; i < this.k; i++) {
      const bit = (h1 + Math.imul(i, h2)) >>> 0;
      const at = bit % bits;
      if ((this.#bits[at >>> 3]! & (1 << (at & 7))) === 0) return false;
    }
    return true;
  }

  #add(h1: number, h2: number): void {
    const bits = this.#bits.length * 8;
    for (let i = 0; i < this.k; i++) {
      const at = ((h1 + Math.imul(i, h2)) >>> 0) % bits;
      this.#bits[at >>> 3]! |= 1 << (at & 7);
    }
  }
}

/** A key's first Bloom hash, of `bytes[start..start + length)`. */
export function bloomHash(bytes: Uint8Array, start: number, length: number): number {
  return murmur3Range(bytes, start, length, SEED);
}

/** A key's second Bloom hash: murmur3 of the key seeded with its first. */
export function bloomHash2(bytes: Uint8Array, start: number, length: number, h1: number): number {
  return murmur3Range(bytes, start, length, h1);
}
