/**
 * A seeded pseudo-random generator: xoshiro128** (Blackman & Vigna), seeded through
 * splitmix32. Small, fast, and identical under every JavaScript runtime because it uses only
 * 32-bit integer arithmetic (`Math.imul`, `>>>`).
 *
 * @module
 */
import type { Random } from "../interfaces/random.ts";
import { murmur3 } from "../hash/murmur3.ts";

function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/**
 * Deterministic {@link Random} for simulations and tests.
 *
 * @example
 * ```ts
 * const random = new SeededRandom(42);
 * const node3 = random.fork("n3"); // independent of draws made on `random`
 * node3.int(10);
 * ```
 */
export class SeededRandom implements Random {
  readonly #seed: number;
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  /** @param seed any 32-bit integer (other numbers are truncated to 32 bits) */
  constructor(seed: number) {
    this.#seed = seed >>> 0;
    const next = splitmix32(this.#seed);
    this.#a = next();
    this.#b = next();
    this.#c = next();
    this.#d = next();
    if ((this.#a | this.#b | this.#c | this.#d) === 0) this.#a = 1;
  }

  /** Next raw 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.#b, 5), 7), 9) >>> 0;
    const t = this.#b << 9;
    this.#c ^= this.#a;
    this.#d ^= this.#b;
    this.#b ^= this.#c;
    this.#a ^= this.#d;
    this.#c ^= t;
    this.#d = rotl(this.#d, 11);
    return result;
  }

  next(): number {
    return this.nextUint32() / 4294967296;
  }

  int(bound: number): number {
    if (!Number.isInteger(bound) || bound <= 0 || bound > 4294967296) {
      throw new RangeError(`Random.int bound must be an integer in [1, 2^32], got ${bound}`);
    }
    // Lemire's nearly-divisionless rejection method would need 64-bit products; a simple
    // rejection loop over the largest multiple of `bound` keeps the draw unbiased.
    const limit = 4294967296 - (4294967296 % bound);
    let x = this.nextUint32();
    while (x >= limit) x = this.nextUint32();
    return x % bound;
  }

  fork(label: string): Random {
    return new SeededRandom((murmur3(label, this.#seed) ^ 0x5bd1e995) >>> 0);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
