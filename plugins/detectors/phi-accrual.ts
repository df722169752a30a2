/**
 * The phi-accrual failure detector (Hayashibara, Défago, Yared, Katayama, "The φ Accrual Failure
 * Detector", 2004): instead of a yes/no timeout, a suspicion level that grows with the time
 * since the last heartbeat, scaled by how regular heartbeats have been.
 *
 * @module
 */
import * as exactMath from "../../core/model/exact-math.ts";

/** Options of a {@link PhiAccrual} estimator. */
export interface PhiAccrualEstimatorOptions {
  /** Inter-arrival times remembered. */
  readonly windowSize: number;
  /** Floor of the standard deviation, ms. */
  readonly minStdDevMs: number;
  /** Assumed interval before any has been observed, ms (the protocol's heartbeat period). */
  readonly firstIntervalMs: number;
  /**
   * Extra delay tolerated on top of the mean interval, ms (Akka's acceptable heartbeat
   * pause). Gossiped heartbeats reach a node after a variable number of hops, so this absorbs
   * dissemination lag that the window alone learns only slowly.
   */
  readonly acceptablePauseMs: number;
}

/**
 * Phi for one monitored member. `phi = -log10(1 - F(t))`, where `t` is the time since the last
 * heartbeat and `F` the cumulative distribution of inter-arrival times, taken as normal with
 * the window's mean (plus `acceptablePauseMs`) and the window's standard deviation (at least
 * `minStdDevMs`). Phi 1 means a 10% chance the member is still alive
 * and merely late, phi 8 about one in 10^8. The normal CDF uses the logistic approximation
 * Akka's detector uses, which stays finite far into the tail.
 *
 * @example
 * ```ts
 * const cluster = await store().nodes(8).use(phiAccrual({ threshold: 8 })).cluster();
 * ```
 */
export class PhiAccrual {
  readonly #intervals: number[] = [];
  #next = 0;
  #sum = 0;
  #sumSquares = 0;
  #last: number | undefined;

  constructor(private readonly options: PhiAccrualEstimatorOptions) {
    // Seed the window with the expected period (and a spread of a quarter of it), so the first
    // judgements are sane before real intervals arrive.
    const first = options.firstIntervalMs;
    this.#add(first - first / 4);
    this.#add(first + first / 4);
  }

  /** Records a heartbeat arriving at `now` (ms). */
  heartbeat(now: number): void {
    if (this.#last !== undefined) {
      const interval = now - this.#last;
      if (interval >= 0) this.#add(interval);
    }
    this.#last = now;
  }

  /** Suspicion level at `now`; 0 before the first heartbeat. */
  phi(now: number): number {
    if (this.#last === undefined) return 0;
    const n = this.#intervals.length;
    // Mean and variance of the intervals observed, as Hayashibara et al. define them; the
    // acceptable pause shifts the mean (Akka's), never the variance. (Computing the variance
    // around the shifted mean, as this did before, made it negative, so the deviation was
    // always the floor and jittery and steady heartbeats got the same phi.)
    const observed = this.#sum / n;
    const variance = Math.max(0, this.#sumSquares / n - observed * observed);
    const std = Math.max(Math.sqrt(variance), this.options.minStdDevMs);
    const mean = observed + this.options.acceptablePauseMs;
    const y = (now - this.#last - mean) / std;
    // exactMath, not Math: phi is compared with a threshold, so a last bit that differs between
    // runtimes could mark a member down at a different moment and change the run.
    const e = exactMath.exp(-y * (1.5976 + 0.070566 * y * y));
    return now - this.#last > mean ? -exactMath.log10(e / (1 + e)) : -exactMath.log10(1 - 1 / (1 + e));
  }

  #add(interval: number): void {
    if (this.#intervals.length < this.options.windowSize) {
      this.#intervals.push(interval);
    } else {
      const old = this.#intervals[this.#next]!;
      this.#sum -= old;
      this.#sumSquares -= old * old;
      this.#intervals[this.#next] = interval;
      this.#next = (this.#next + 1) % this.options.windowSize;
    }
    this.#sum += interval;
    this.#sumSquares += interval * interval;
  }
}
