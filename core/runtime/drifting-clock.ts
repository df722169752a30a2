/**
 * A simulated node's clock: virtual time plus an offset, which clock faults step (skew) and
 * make grow or shrink at a rate (drift).
 *
 * @module
 */
import type { Clock } from "../interfaces/clock.ts";

/**
 * A {@link Clock} that reads `time + offset`, where the offset is piecewise linear in time:
 * `offset(t) = offset(t0) + rate × (t − t0)` since the last change at `t0`. A rate of `0.05`
 * makes the clock run 5% fast (it gains 50 ms per virtual second), `-0.05` 5% slow. Stepping
 * the clock ({@link step}, the `skew` fault) sets the offset outright and keeps the rate, as an
 * NTP step does to a drifting oscillator; changing the rate ({@link setRate}, the `drift` fault)
 * keeps the offset gained so far. Readings stay monotonic under drift (the rate is above -1);
 * only a step can move the clock back.
 *
 * With a rate of 0 (the default) a reading is `time + offset` exactly, the same floating-point
 * sum as a fixed skew, so runs without drift keep their histories bit for bit.
 *
 * @example
 * ```ts
 * const clock = new DriftingClock(scheduler);
 * clock.setRate(0.05);          // at t = 0
 * await scheduler.runFor(1000);
 * clock.now();                  // 1050
 * ```
 */
export class DriftingClock implements Clock {
  readonly #time: Clock;
  #offset = 0;
  #rate = 0;
  /** When the offset last changed, in the time's ms. */
  #since = 0;

  /** @param time the time it drifts from (the virtual scheduler) */
  constructor(time: Clock) {
    this.#time = time;
  }

  now(): number {
    const t = this.#time.now();
    return this.#rate === 0 ? t + this.#offset : t + this.#offset + this.#rate * (t - this.#since);
  }

  /** The offset from the time right now, ms (positive: ahead). */
  get offset(): number {
    return this.#rate === 0 ? this.#offset : this.#offset + this.#rate * (this.#time.now() - this.#since);
  }

  /** How fast the offset grows, ms per ms (0: none). */
  get rate(): number {
    return this.#rate;
  }

  /**
   * Steps the clock so that it reads `offsetMs` ahead of the time (behind if negative) from now
   * on; the rate stays.
   *
   * @throws {RangeError} unless `offsetMs` is finite
   */
  step(offsetMs: number): void {
    if (!Number.isFinite(offsetMs)) throw new RangeError(`clock skew must be a finite number of ms, got ${offsetMs}`);
    this.#since = this.#time.now();
    this.#offset = offsetMs;
  }

  /**
   * Makes the clock run `1 + rate` times as fast as the time from now on, keeping the offset it
   * has gained so far.
   *
   * @throws {RangeError} unless `rate` is finite and above -1 (a clock that stops or runs back)
   */
  setRate(rate: number): void {
    if (!(Number.isFinite(rate) && rate > -1)) throw new RangeError(`clock drift must be a finite rate above -1, got ${rate}`);
    const t = this.#time.now();
    if (this.#rate !== 0) this.#offset += this.#rate * (t - this.#since);
    this.#since = t;
    this.#rate = rate;
  }
}
