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
  /** Keys held, each with the wake-ups of those waiting for it, first come first served. */
  readonly #held = new Map<string, (() => void)[] | undefined>();

  /** Runs `critical` once every earlier holder of `key` has finished. */
  run<T>(key: string, critical: () => Promise<T>): Promise<T> {
    if (!this.#held.has(key)) {
      // Uncontended, the usual case: no promise besides the critical section's own.
      this.#held.set(key, undefined);
      return this.#hold(key, critical);
    }
    let waiters = this.#held.get(key);
    if (waiters === undefined) this.#held.set(key, waiters = []);
    return new Promise<void>((wake) => waiters.push(wake)).then(() => this.#hold(key, critical));
  }

  /** Whether `key` is locked (by a running critical section or one waiting for it). */
  held(key: string): boolean {
    return this.#held.has(key);
  }

  /** Number of keys currently locked or waited on. */
  get size(): number {
    return this.#held.size;
  }

  /** Runs `critical` holding `key`; then hands the key to its next waiter, or frees it. */
  #hold<T>(key: string, critical: () => Promise<T>): Promise<T> {
    let running: Promise<T>;
    try {
      running = critical();
    } catch (error) {
      this.#release(key);
      return Promise.reject(error);
    }
    return running.then(
      (result) => {
        this.#release(key);
        return result;
      },
      (error: unknown) => {
        this.#release(key);
        throw error;
      },
    );
  }

  #release(key: string): void {
    const next = this.#held.get(key)?.shift();
    if (next === undefined) this.#held.delete(key);
    else next(); // the key stays held: it passes to the next waiter
  }
}
