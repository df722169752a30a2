/**
 * MurmurHash3 x86 32-bit (Austin Appleby), in pure TypeScript so it runs unchanged under every
 * runtime (no native module to rebuild, the lesson of ringpop's farmhash). Strings are hashed
 * as their UTF-8 bytes, so the same key hashes the same on every node and every runtime.
 *
 * @module
 */

const encoder = new TextEncoder();
let scratch = new Uint8Array(256);
/**
 * The last string hashed with seed 0, and its hash: a request hashes its key several times
 * (its token for the replicas, again for the record's place in the engine, again as the seed
 * of the record's hash), and comparing the string costs less than hashing it again.
 */
let lastText: string | undefined;
let lastHash = 0;

/** Encodes `text` as UTF-8 into a reused buffer; returns the number of bytes written. */
function utf8Into(text: string): number {
  // UTF-8 needs at most 3 bytes per UTF-16 code unit.
  if (text.length * 3 > scratch.length) scratch = new Uint8Array(Math.max(text.length * 3, scratch.length * 2));
  // ASCII, the common case for keys, is its own UTF-8: copy it without calling the encoder
  // (a lookup's largest cost for short keys); anything else goes through encodeInto.
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) return encoder.encodeInto(text, scratch).written;
    scratch[i] = c;
  }
  return text.length;
}

/**
 * MurmurHash3 (x86, 32-bit) of a string's UTF-8 bytes or of raw bytes.
 *
 * @param input a string (hashed as UTF-8) or bytes
 * @param seed 32-bit seed, default 0
 * @returns an unsigned 32-bit integer
 *
 * @example
 * ```ts
 * murmur3("hello"); // 613153351
 * ```
 */
export function murmur3(input: string | Uint8Array, seed = 0): number {
  let bytes: Uint8Array;
  let length: number;
  if (typeof input === "string") {
    if (seed === 0) {
      if (input === lastText) return lastHash;
      // utf8Into may replace the scratch buffer: read it after the call.
      const written = utf8Into(input);
      const hash = murmur3Range(scratch, 0, written, 0);
      lastText = input;
      lastHash = hash;
      return hash;
    }
    length = utf8Into(input);
    bytes = scratch;
  } else {
    bytes = input;
    length = input.length;
  }
  return murmur3Range(bytes, 0, length, seed);
}

/**
 * MurmurHash3 (x86, 32-bit) of `bytes[start..start + length)`: the same value as `murmur3` of
 * that subarray, without making one (the LSM engine hashes keys inside table blocks).
 */
export function murmur3Range(bytes: Uint8Array, start: number, length: number, seed: number): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = seed >>> 0;
  const blocks = start + (length & ~3);
  for (let i = start; i < blocks; i += 4) {
    let k = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = length & 3;
  if (tail > 0) {
    let k = 0;
    if (tail === 3) k ^= bytes[blocks + 2]! << 16;
    if (tail >= 2) k ^= bytes[blocks + 1]! << 8;
    k ^= bytes[blocks]!;
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
  }
  h ^= length;
  return fmix32(h);
}

/** MurmurHash3's 32-bit finaliser: spreads every input bit over the whole output. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
