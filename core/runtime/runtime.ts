/**
 * Runtimes: where a node's time, timers, randomness and logs come from.
 *
 * @module
 */
import type { Clock, Scheduler } from "../interfaces/clock.ts";
import type { FileSystem } from "../interfaces/file-system.ts";
import { hostFileSystem } from "../host/host-file-system.ts";
import { SimulatedDisk, type SimulatedDiskOptions } from "./simulated-disk.ts";
import { type Logger, silentLogger } from "../interfaces/logger.ts";
import type { Random } from "../interfaces/random.ts";
import type { NodeId } from "../model/sibling.ts";
import { SeededRandom } from "./seeded-random.ts";
import { systemClock, systemRandom, systemScheduler } from "./system-runtime.ts";
import { type SchedulerLane, VirtualScheduler } from "./virtual-scheduler.ts";
import { DriftingClock } from "./drifting-clock.ts";

/** The environment nodes run in: shared timers and randomness, per-node clocks and loggers. */
export interface Runtime {
  /** Timers shared by every node of the runtime. */
  readonly scheduler: Scheduler;
  /** Root randomness; each node gets `random.fork(nodeId)`. */
  readonly random: Random;
  /** The clock a node reads (a simulation may skew it per node). */
  clockFor(node: NodeId): Clock;
  /**
   * The timers a node sets: {@link scheduler} itself, or in a simulation the node's lane of it,
   * which the lab can pause (the node's timers then fire late, at the resume).
   */
  schedulerFor(node: NodeId): Scheduler;
  /** The logger a node writes to. */
  loggerFor(node: NodeId): Logger;
  /**
   * The files a node's engine keeps: the host's disk, or in a simulation the node's simulated
   * disk as a newly started process sees it (a restarted node gets a fresh view of the same disk).
   */
  fileSystemFor(node: NodeId): FileSystem;
}

/** A runtime on virtual time: deterministic for its seed. */
export interface VirtualRuntime extends Runtime {
  /** The virtual-time scheduler (also the clock). */
  readonly scheduler: VirtualScheduler;
  /** The seed it was created with. */
  readonly seed: number;
  /**
   * Steps `node`'s clock so that it reads `offsetMs` ahead of virtual time (behind if
   * negative) from then on; a drift set by {@link setDrift} goes on from there. Only what the
   * node reads from its {@link Clock} changes (timestamps, ages); its timers keep virtual time.
   */
  setSkew(node: NodeId, offsetMs: number): void;
  /** The current offset of `node`'s clock from virtual time, ms (its skew plus what drift added). */
  skewOf(node: NodeId): number;
  /**
   * Makes `node`'s clock run `1 + rate` times as fast as virtual time from then on (`0.05`: 5%
   * fast; negative: slow; 0 stops the drift), keeping the offset gained so far (see
   * {@link DriftingClock}). Like skew, only what the node reads from its {@link Clock} changes.
   *
   * @throws {RangeError} unless `rate` is finite and above -1
   */
  setDrift(node: NodeId, rate: number): void;
  /** The current drift rate of `node`'s clock (0: none). */
  driftOf(node: NodeId): number;
  /** `node`'s lane of the scheduler: its timers and the messages it receives; pause it to stop the node. */
  schedulerFor(node: NodeId): SchedulerLane;
  /** `node`'s simulated disk (made on first use; it outlives the node's instances), for faults and figures. */
  diskOf(node: NodeId): SimulatedDisk;
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
export function virtualRuntime(
  seed: number,
  options: { logger?: (node: NodeId) => Logger; disk?: Partial<SimulatedDiskOptions> } = {},
): VirtualRuntime {
  const scheduler = new VirtualScheduler();
  const logger = options.logger ?? (() => silentLogger);
  const clocks = new Map<NodeId, DriftingClock>();
  const clockOf = (node: NodeId) => {
    let clock = clocks.get(node);
    if (!clock) clocks.set(node, clock = new DriftingClock(scheduler));
    return clock;
  };
  const lanes = new Map<NodeId, SchedulerLane>();
  const laneOf = (node: NodeId) => {
    let lane = lanes.get(node);
    if (!lane) lanes.set(node, lane = scheduler.lane());
    return lane;
  };
  const random = new SeededRandom(seed);
  const disks = new Map<NodeId, SimulatedDisk>();
  const diskOf = (node: NodeId) => {
    let disk = disks.get(node);
    // On the node's lane (a paused node's fsyncs complete at its resume, as a stopped process's
    // would), with its own random stream (torn writes, corruption), forked: no other draw moves.
    if (!disk) disks.set(node, disk = new SimulatedDisk(laneOf(node), random.fork(`disk:${node}`), options.disk));
    return disk;
  };
  return {
    scheduler,
    seed,
    random,
    diskOf,
    fileSystemFor: (node) => diskOf(node).view(),
    clockFor: clockOf,
    schedulerFor: laneOf,
    loggerFor: logger,
    setSkew: (node, offsetMs) => clockOf(node).step(offsetMs),
    skewOf: (node) => clocks.get(node)?.offset ?? 0,
    setDrift: (node, rate) => clockOf(node).setRate(rate),
    driftOf: (node) => clocks.get(node)?.rate ?? 0,
  };
}

/**
 * The real thing: wall clock, host timers, unpredictable randomness. For nodes running as
 * processes.
 *
 * @param options.logger logger factory per node (default: silent)
 * @param options.clock the clock each node reads (default: the wall clock for every node). A
 *   node process gives its node a {@link DriftingClock} over the wall clock, so a test can skew
 *   a real node's clock (`clock` in its config, `POST /admin/clock`); timers keep host time.
 *
 * @example
 * ```ts
 * const cluster = await createCluster({ nodes: 3 }, { runtime: systemRuntime() }); // real time
 * const skewed = new DriftingClock(systemClock);
 * skewed.step(60_000); // a minute ahead
 * const runtime = systemRuntime({ clock: () => skewed });
 * ```
 */
export function systemRuntime(
  options: { logger?: (node: NodeId) => Logger; clock?: (node: NodeId) => Clock } = {},
): Runtime {
  const logger = options.logger ?? (() => silentLogger);
  return {
    scheduler: systemScheduler,
    random: systemRandom(),
    clockFor: options.clock ?? (() => systemClock),
    schedulerFor: () => systemScheduler,
    loggerFor: logger,
    fileSystemFor: () => hostFileSystem,
  };
}
