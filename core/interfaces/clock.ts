/**
 * Time, as the node sees it. Core and plugins never read the wall clock or set timers
 * directly: they use the injected {@link Clock} and {@link Scheduler}, so a simulation can run
 * a whole cluster on virtual time and replay it from a seed.
 *
 * @module
 */
import { type Token, token } from "./token.ts";

/**
 * The current time in milliseconds. On the system runtime it is wall-clock time; on the
 * virtual runtime it is simulated time, possibly skewed per node. It is used for timestamps
 * (last-write-wins) and ages, never for ordering events across nodes.
 */
export interface Clock {
  /** Milliseconds since an arbitrary epoch (Unix epoch on the system runtime). */
  now(): number;
}

/** A scheduled callback that can be cancelled. Cancelling twice, or after it ran, is a no-op. */
export interface Timer {
  /** Prevents the callback from running if it has not run yet. */
  cancel(): void;
}

/**
 * Runs callbacks later. Contract: a callback scheduled with delay `d` at time `t` runs no
 * earlier than `t + d`; callbacks due at the same time run in the order they were scheduled;
 * a callback that throws does not stop the scheduler: the error is reported (the system
 * scheduler writes it to stderr; the virtual scheduler hands it to its `onError`, which by
 * default rethrows on the host event loop so a test fails loudly) and later callbacks run.
 */
export interface Scheduler {
  /** Runs `callback` once after `delayMs` milliseconds (0 means "as soon as possible"). */
  schedule(delayMs: number, callback: () => void): Timer;
}

/** Injection token for the node's {@link Clock}. */
export const CLOCK: Token<Clock> = token<Clock>("Clock");
/** Injection token for the node's {@link Scheduler}. */
export const SCHEDULER: Token<Scheduler> = token<Scheduler>("Scheduler");

/**
 * Resolves after `ms` milliseconds of scheduler time.
 *
 * @example
 * ```ts
 * await sleep(cluster.runtime.scheduler, 1_000); // one virtual second
 * ```
 */
export function sleep(scheduler: Scheduler, ms: number): Promise<void> {
  return new Promise((resolve) => scheduler.schedule(ms, resolve));
}

/**
 * Runs `callback` every `periodMs` until the returned timer is cancelled. The next run is
 * scheduled after the callback returns, so a slow callback never overlaps itself.
  *
  * @example
  * ```ts
  * const timer = every(scheduler, 1_000, () => console.log("tick"));
  * timer.cancel();
  * ```
 */
export function every(scheduler: Scheduler, periodMs: number, callback: () => void): Timer {
  let current: Timer | undefined;
  let cancelled = false;
  const tick = () => {
    if (cancelled) return;
    try {
      callback();
    } finally {
      if (!cancelled) current = scheduler.schedule(periodMs, tick);
    }
  };
  current = scheduler.schedule(periodMs, tick);
  return {
    cancel() {
      cancelled = true;
      current?.cancel();
    },
  };
}
