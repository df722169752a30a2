/**
 * The system runtime: wall-clock time, host timers and host randomness, for nodes that run as
 * real processes. This file is the only place in core/ and plugins/ allowed to read the wall
 * clock, set host timers or call the host's random source (scripts/check-determinism.ts
 * enforces it).
 *
 * @module
 */
import type { Clock, Scheduler, Timer } from "../interfaces/clock.ts";
import type { Random } from "../interfaces/random.ts";
import { SeededRandom } from "./seeded-random.ts";

/** Wall-clock time (Unix epoch milliseconds). */
export const systemClock: Clock = {
  now: () => Date.now(),
};

/**
 * Host timers (setTimeout), unref'd so a pending timer alone does not keep a process alive. A
 * callback that throws is reported on stderr and does not take the process down.
 */
export const systemScheduler: Scheduler = {
  schedule(delayMs: number, callback: () => void): Timer {
    const run = () => {
      try {
        callback();
      } catch (error) {
        console.error("ringforge: a scheduled callback failed:", error);
      }
    };
    const handle = setTimeout(run, Math.max(0, delayMs));
    (handle as { unref?: () => void }).unref?.();
    return { cancel: () => clearTimeout(handle) };
  },
};

/**
 * A {@link Random} seeded from the host's cryptographic random source: unpredictable, but
 * still forkable by label like any {@link SeededRandom}.
 */
export function systemRandom(): Random {
  const seed = new Uint32Array(1);
  crypto.getRandomValues(seed);
  return new SeededRandom(seed[0]!);
}
