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

/** A repeating task made by {@link periodic}, started and stopped with its owner. */
export interface PeriodicTask {
  /** Starts the rounds, the first one period from now. A no-op while started. */
  start(): void;
  /** Cancels the rounds to come; a round in progress runs to its end. Idempotent. */
  stop(): void;
  /** True from {@link PeriodicTask.start} to {@link PeriodicTask.stop}. */
  readonly started: boolean;
}

/**
 * A background task run every `periodMs` once started, that never overlaps itself: hint
 * delivery, anti-entropy exchanges, gossip rounds. Rounds are timed as {@link every} times them
 * (the first one period after `start()`, each next one a period after the previous round's
 * synchronous part returned); a round due while the promise of the previous one has not
 * settled is skipped, not queued, so a slow peer costs rounds rather than piling them up.
 *
 * A round whose promise rejects is reported to `onError`; without one the rejection is left
 * unhandled, as `void task()` leaves it. A synchronous throw reaches the scheduler, as from
 * {@link every}.
 *
 * @example
 * ```ts
 * const deliveries = periodic(scheduler, 1_000, () => deliverHints(), (error) => logger.warn("delivery failed", { error: String(error) }));
 * deliveries.start();
 * // ...
 * deliveries.stop();
 * ```
 */
export function periodic(
  scheduler: Scheduler,
  periodMs: number,
  task: () => Promise<unknown> | void,
  onError?: (error: unknown) => void,
): PeriodicTask {
  let timer: Timer | undefined;
  let busy = false;
  const idle = () => {
    busy = false;
  };
  const tick = () => {
    if (busy) return;
    const round = task();
    if (!round) return;
    busy = true;
    const settled = round.finally(idle);
    if (onError) settled.catch(onError);
  };
  return {
    start() {
      timer ??= every(scheduler, periodMs, tick);
    },
    stop() {
      timer?.cancel();
      timer = undefined;
    },
    get started() {
      return timer !== undefined;
    },
  };
}
