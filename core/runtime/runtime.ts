/**
 * Runtimes: where a node's time, timers, randomness and logs come from.
 *
 * @module
 */
import type { Clock, Scheduler } from "../interfaces/clock.ts";
import { type Logger, silentLogger } from "../interfaces/logger.ts";
import type { Random } from "../interfaces/random.ts";
import type { NodeId } from "../model/sibling.ts";
import { SeededRandom } from "./seeded-random.ts";
import { systemClock, systemRandom, systemScheduler } from "./system-runtime.ts";
import { VirtualScheduler } from "./virtual-scheduler.ts";

/** The environment nodes run in: shared timers and randomness, per-node clocks and loggers. */
export interface Runtime {
  /** Timers shared by every node of the runtime. */
  readonly scheduler: Scheduler;
  /** Root randomness; each node gets `random.fork(nodeId)`. */
  readonly random: Random;
  /** The clock a node reads (a simulation may skew it per node). */
  clockFor(node: NodeId): Clock;
  /** The logger a node writes to. */
  loggerFor(node: NodeId): Logger;
}

/** A runtime on virtual time: deterministic for its seed. */
export interface VirtualRuntime extends Runtime {
  /** The virtual-time scheduler (also the clock). */
  readonly scheduler: VirtualScheduler;
  /** The seed it was created with. */
  readonly seed: number;
  /**
   * Skews `node`'s clock by `offsetMs` (positive: ahead) from then on. Only what the node reads
   * from its {@link Clock} changes (timestamps, ages); its timers keep virtual time.
   */
  setSkew(node: NodeId, offsetMs: number): void;
  /** The current skew of `node`'s clock, ms. */
  skewOf(node: NodeId): number;
}

/**
 * A deterministic runtime: virtual time and seeded randomness. One seed gives one history.
 *
 * @param seed 32-bit seed
 * @param options.logger logger factory per node (default: silent)
 *
 * @example
 * ```ts
 * const cluster = await createCluster({ nodes: 3 }, { runtime: virtualRuntime(42) });
 * ```
 */
export function virtualRuntime(seed: number, options: { logger?: (node: NodeId) => Logger } = {}): VirtualRuntime {
  const scheduler = new VirtualScheduler();
  const logger = options.logger ?? (() => silentLogger);
  const skew = new Map<NodeId, number>();
  return {
    scheduler,
    seed,
    random: new SeededRandom(seed),
    clockFor: (node) => ({ now: () => scheduler.now() + (skew.get(node) ?? 0) }),
    loggerFor: logger,
    setSkew: (node, offsetMs) => {
      if (!Number.isFinite(offsetMs)) throw new RangeError(`clock skew must be a finite number of ms, got ${offsetMs}`);
      skew.set(node, offsetMs);
    },
    skewOf: (node) => skew.get(node) ?? 0,
  };
}

/**
 * The real thing: wall clock, host timers, unpredictable randomness. For nodes running as
 * processes.
 *
 * @example
 * ```ts
 * const cluster = await createCluster({ nodes: 3 }, { runtime: systemRuntime() }); // real time
 * ```
 */
export function systemRuntime(options: { logger?: (node: NodeId) => Logger } = {}): Runtime {
  const logger = options.logger ?? (() => silentLogger);
  return {
    scheduler: systemScheduler,
    random: systemRandom(),
    clockFor: () => systemClock,
    loggerFor: logger,
  };
}
