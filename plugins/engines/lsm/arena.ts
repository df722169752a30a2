/**
 * Memory for the LSM engine's write path, handed out as slices of large chunks, as LevelDB's
 * memtable arena does.
 *
 * Why: on V8 every `Uint8Array` over 64 bytes gets a backing store of its own outside the heap,
 * and making one cost 1.5–5 µs on this project's 2-core VM, more than the rest of an awaited
 * put. A slice of a chunk costs a view. The price is that a chunk lives as long as any slice of
 * it: the engine counts every byte it takes toward the memtable's size (overwritten entries
 * included), so what chunks hold is bounded by the memtables that use them.
 *
 * Chunks are plain `ArrayBuffer`s, not `SharedArrayBuffer`s (which would let a flush hand them
 * to the worker thread without a copy): the engine returns values as views of them, and native
 * code given a view of a shared buffer may not expect one (msgpackr's native string extractor
 * crashed the process on one, under Node and Deno).
 *
 * @module
 */

/** Hands out byte ranges of shared chunks; each is given out once and never reused. */
export class Arena {
  readonly #chunkBytes: number;
  #chunk = new Uint8Array(0);
  #at = 0;

  /**
   * @param chunkBytes chunk size (256 KiB: a 4 MiB memtable takes 16); slices over a quarter
   *   of it get a buffer of their own
   */
  constructor(chunkBytes = 256 * 1024) {
    this.#chunkBytes = chunkBytes;
  }

  /** `length` zeroed bytes no one else is given: a slice of the current chunk, or a buffer of their own if large. */
  take(length: number): Uint8Array {
    if (length > this.#chunkBytes / 4) return new Uint8Array(length);
    if (this.#at + length > this.#chunk.length) {
      this.#chunk = new Uint8Array(this.#chunkBytes);
      this.#at = 0;
    }
    const slice = this.#chunk.subarray(this.#at, this.#at + length);
    this.#at += length;
    return slice;
  }
}
