/**
 * Per-key mutual exclusion for read-modify-write of local records.
 *
 * @module
 */

/**
 * Serialises async critical sections per key. A coordinator reads its local siblings, stamps a
 * version and stores the result; two writes to one key interleaving there could stamp the same
 * version for different values. Holding the key's lock for that span prevents it; different
 * keys never wait for each other.
 */
export class KeyedMutex {
  readonly #tails = new Map<string, Promise<void>>();

  /** Runs `critical` once every earlier holder of `key` has finished. */
  async run<T>(key: string, critical: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key);
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous ? previous.then(() => mine) : mine;
    this.#tails.set(key, tail);
    try {
      if (previous) await previous;
      return await critical();
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }

  /** Number of keys currently locked or waited on. */
  get size(): number {
    return this.#tails.size;
  }
}
