/**
 * YCSB's scrambled zipfian key choice, shared by the simulator's workloads and the cluster
 * benchmark.
 *
 * @module
 */
import { murmur3 } from "../core/hash/murmur3.ts";
import type { Random } from "../core/interfaces/random.ts";
import * as exactMath from "../core/model/exact-math.ts";

/**
 * YCSB's scrambled zipfian choice (Gray et al., "Quickly generating billion-record synthetic
 * databases"): item ranks follow a zipfian law with theta 0.99, and ranks are hashed over the
 * key space so the popular keys are not all adjacent. Powers are exactMath's: Math.pow's last
 * bit differs between runtimes, and a rank sits on a floor, so a seed would pick other keys.
 */
export class ScrambledZipfian {
  readonly #n: number;
  readonly #theta = 0.99;
  readonly #alpha: number;
  readonly #zetan: number;
  readonly #eta: number;

  /**
   * @param n number of items (ranks 0..n-1)
   * @param random where the draws come from
   */
  constructor(
    n: number,
    private readonly random: Random,
  ) {
    this.#n = n;
    let zetan = 0;
    for (let i = 1; i <= n; i++) zetan += 1 / exactMath.pow(i, this.#theta);
    const zeta2 = 1 + 1 / exactMath.pow(2, this.#theta);
    this.#zetan = zetan;
    this.#alpha = 1 / (1 - this.#theta);
    this.#eta = (1 - exactMath.pow(2 / n, 1 - this.#theta)) / (1 - zeta2 / zetan);
  }

  /** The next item, 0..n-1. */
  next(): number {
    const u = this.random.next();
    const uz = u * this.#zetan;
    let rank: number;
    if (uz < 1) rank = 0;
    else if (uz < 1 + exactMath.pow(0.5, this.#theta)) rank = 1;
    else rank = Math.floor(this.#n * exactMath.pow(this.#eta * u - this.#eta + 1, this.#alpha));
    return murmur3(`rank${Math.min(rank, this.#n - 1)}`) % this.#n;
  }
}
