/**
 * The phi-accrual estimator as published (Hayashibara et al. 2004; Akka's and Cassandra's
 * form): mean and standard deviation of the observed intervals, the acceptable pause added to
 * the mean only, the deviation floored at minStdDevMs. Jittery heartbeats make a late one less
 * suspicious than steady heartbeats do.
 */
import { describe, it } from "@std/testing/bdd";
import { assert, assertAlmostEquals } from "@std/assert";
import { PhiAccrual } from "../plugins/detectors/phi-accrual.ts";

const OPTIONS = { windowSize: 200, minStdDevMs: 100, firstIntervalMs: 1000, acceptablePauseMs: 2000 };

/** The reference: -log10 of the normal tail, with Akka's logistic approximation of the CDF. */
function referencePhi(sinceLast: number, intervals: number[], options: typeof OPTIONS): number {
  const mean = intervals.reduce((a, b) => a + b, 0) / intervals.length;
  const variance = intervals.reduce((a, b) => a + (b - mean) ** 2, 0) / intervals.length;
  const std = Math.max(Math.sqrt(variance), options.minStdDevMs);
  const y = (sinceLast - (mean + options.acceptablePauseMs)) / std;
  const e = Math.exp(-y * (1.5976 + 0.070566 * y * y));
  return sinceLast > mean + options.acceptablePauseMs ? -Math.log10(e / (1 + e)) : -Math.log10(1 - 1 / (1 + e));
}

/** An estimator that has seen heartbeats `intervals` apart (the window full of them), the last at `t`. */
function fed(intervals: number[]): { phi: PhiAccrual; last: number; window: number[] } {
  const phi = new PhiAccrual(OPTIONS);
  let t = 0;
  phi.heartbeat(t);
  const window: number[] = [];
  for (let i = 0; i < OPTIONS.windowSize; i++) {
    t += intervals[i % intervals.length]!;
    phi.heartbeat(t);
    window.push(intervals[i % intervals.length]!);
  }
  return { phi, last: t, window };
}

describe("phi accrual", () => {
  it("computes the deviation of the observed intervals, not around the mean shifted by the pause", () => {
    const steady = fed([1500]);
    const jittery = fed([100, 2900]); // mean 1500 ms, standard deviation 1400 ms
    const at = 8000;
    const steadyPhi = steady.phi.phi(steady.last + at);
    const jitteryPhi = jittery.phi.phi(jittery.last + at);
    assertAlmostEquals(steadyPhi, referencePhi(at, steady.window, OPTIONS), 1e-9);
    assertAlmostEquals(jitteryPhi, referencePhi(at, jittery.window, OPTIONS), 1e-9);
    assert(jitteryPhi < steadyPhi / 2, `a late heartbeat is less suspicious on a jittery link: ${jitteryPhi} vs ${steadyPhi}`);
    assertAlmostEquals(jitteryPhi, 3.25, 0.01, "8 s after a heartbeat on a link with a 1,400 ms deviation");
  });

  it("the pause moves the mean: phi stays low until the mean interval plus the pause has passed", () => {
    const { phi, last } = fed([1000]);
    assert(phi.phi(last + 2500) < 0.5, "within the pause");
    assert(phi.phi(last + 4000) > 8, "past mean + pause by ten deviations (the floor)");
  });
});
