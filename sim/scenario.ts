/**
 * Scenarios as data: a workload, a fault schedule and how long to let the cluster settle.
 *
 * @module
 */
import { z } from "zod";
import { parseWith } from "../core/build/plugin.ts";
import { type FaultSchedule, faultScheduleSchema } from "./nemesis.ts";
import type { Session } from "../core/client/session.ts";

/** A range of milliseconds, drawn uniformly per use. */
export interface MsRange {
  /** Least, ms. */
  readonly min: number;
  /** Most, ms. */
  readonly max: number;
}

/** Relative shares of a YCSB workload's operations. */
export interface YcsbMix {
  /** Share of reads. */
  readonly read: number;
  /** Share of read-modify-write updates. */
  readonly update: number;
  /** Share of inserts of new keys. */
  readonly insert: number;
  /** Share of deletes (read, then delete with the read's context). Default 0. */
  readonly delete?: number;
}

/**
 * A YCSB-style key-value workload. Each client loops: think, pick an operation by the mix and
 * a key by the distribution, run it against a random running node. An update is a
 * read-modify-write (get, then put with the read's context), so stores that keep siblings are
 * not flooded by blind writes; an insert writes a new key blind; a delete reads, then deletes
 * with the read's context.
 */
export interface YcsbWorkload {
  /** Discriminant. */
  readonly type: "ycsb";
  /** Concurrent clients. */
  readonly clients: number;
  /** Operations in total, split evenly over the clients. */
  readonly operations: number;
  /** Keys loaded before the run starts (YCSB's record count). */
  readonly records: number;
  /** Proportions of reads, updates and inserts (normalised). */
  readonly mix: YcsbMix;
  /** Key choice: uniform, or zipfian (YCSB's scrambled zipfian, theta 0.99). */
  readonly distribution: "uniform" | "zipfian";
  /** Value size in bytes (the write's id is embedded at the start). */
  readonly valueBytes: number;
  /** Pause between a client's operations. */
  readonly thinkMs: MsRange;
  /**
   * Each client keeps a {@link Session} and passes it to every request, for read-your-writes
   * and monotonic reads. Default false: plain reads.
   */
  readonly sessions?: boolean;
  /**
   * Open loop: operations arrive at this rate whatever the store's speed (a schedule of
   * requests per second, linear between its points), each handed to an idle client (`clients`
   * bounds the requests in flight; an arrival waits for a client, and its latency counts from its
   * arrival). The workload ends at the last point, or when `operations` have arrived. Without
   * it, each client runs its operations one after another (closed loop).
   */
  readonly rate?: readonly RatePoint[];
}

/** A point of a rate schedule: from `atMs` (after the clients start), `perSecond` arrivals a second. */
export interface RatePoint {
  /** Time, ms after the clients start. */
  readonly atMs: number;
  /** Arrivals per second at that time. */
  readonly perSecond: number;
}

/**
 * Automatic scaling during the run: an autoscaler with the config's `scaler` policy, whose node
 * provider joins new simulated nodes and decommissions members (see core/scaling/autoscaler.ts).
 * With the `none` policy the cluster stays at its size: the fixed-size baseline.
 */
export interface ScenarioAutoscale {
  /** Fewest members (raised to N). */
  readonly min: number;
  /** Most members. */
  readonly max: number;
  /** Time between the autoscaler's rounds, ms. Default 2,000. */
  readonly intervalMs: number;
  /** The autoscaler's own cool-down after a change, ms. Default 5,000. */
  readonly cooldownMs: number;
  /** The window the load figures cover, ms. Default 5,000. */
  readonly windowMs: number;
}

/**
 * The lost-writes workload (Jepsen's set test): every client adds unique elements to one set
 * stored under one key, by read-modify-write with the causal context, merging siblings by
 * union. After healing and quiescence a final read shows which acknowledged adds survived.
 */
export interface SetWorkload {
  /** Discriminant. */
  readonly type: "set";
  /** Concurrent clients. */
  readonly clients: number;
  /** Elements added in total, split evenly over the clients. */
  readonly adds: number;
  /** The key holding the set. */
  readonly key: string;
  /** Pause between a client's adds. */
  readonly thinkMs: MsRange;
}

/**
 * The CRDT workload: every client updates one key holding a data type through its client
 * (`Counters` or `Sets`), with no causal context in sight. Counters: increments of 1..5, and
 * one operation in five a decrement. Sets: adds of unique elements, and one operation in five
 * removes an element the client added before. After healing, a final read shows whether every
 * acknowledged update is in the state.
 */
export interface CrdtWorkload {
  /** Discriminant. */
  readonly type: "crdt";
  /** `counter` (PN-Counter) or `set` (OR-Set, add-wins). */
  readonly datatype: "counter" | "set";
  /** Concurrent clients, each its own actor. */
  readonly clients: number;
  /** Updates in total, split evenly over the clients. */
  readonly operations: number;
  /** The key. */
  readonly key: string;
  /** Pause between a client's updates. */
  readonly thinkMs: MsRange;
}

/**
 * No client traffic: the failure detectors run alone for `durationMs` while the faults happen,
 * and the run is judged at its end, before anything is healed: how fast each crashed node was
 * marked down on every live node, and which live nodes were wrongly marked down.
 */
export interface MembershipWorkload {
  /** Discriminant. */
  readonly type: "membership";
  /** How long the detectors run, ms of virtual time. */
  readonly durationMs: number;
}

/**
 * The register workload (Jepsen's CAS register, checked by Knossos): clients read, write and
 * compare-and-set a few keys, each a register holding the id of the write that set it. Every
 * request runs at the store's default consistency (a config with `replication.consistency:
 * "linearizable"` runs them all through its consensus; one with `count` reads and writes at R and
 * W, and its compare-and-set is a read, a check and a write, as a Dynamo client does it). The
 * history goes through the linearizability checker.
 */
export interface RegisterWorkload {
  /** Discriminant. */
  readonly type: "register";
  /** Concurrent clients. */
  readonly clients: number;
  /** Operations in total, split evenly over the clients. */
  readonly operations: number;
  /** Registers (keys `r0`, `r1`, ...), each picked uniformly. */
  readonly keys: number;
  /** Shares of reads, blind writes and compare-and-sets. */
  readonly mix: RegisterMix;
  /** Pause between a client's operations. */
  readonly thinkMs: MsRange;
}

/** Relative shares of the register workload's operations. */
export interface RegisterMix {
  /** Share of reads. */
  readonly read: number;
  /** Share of blind writes. */
  readonly write: number;
  /** Share of compare-and-sets (a read, then a write if the register still holds what was read). */
  readonly cas: number;
}

/** A workload. */
export type Workload = YcsbWorkload | SetWorkload | CrdtWorkload | RegisterWorkload | MembershipWorkload;

/** A scenario: what clients do, what goes wrong, and when to look at the result. */
export interface Scenario {
  /** Name shown in reports. */
  readonly name: string;
  /** One line on what it shows. */
  readonly description: string;
  /** What the clients do. */
  readonly workload: Workload;
  /**
   * Faults by time: a list of events, a string in the one-line form of {@link parseFaults}, or
   * `{ "random": ... }` for faults drawn from the run's seed ({@link RandomNemesis}).
   */
  readonly faults: FaultSchedule;
  /**
   * Clients stop starting operations after this much virtual time even if their budget is not
   * spent. Default: no limit.
   */
  readonly durationMs?: number;
  /**
   * After the workload, every fault is healed (partitions ended, crashed nodes restarted) and the
   * cluster is left alone this long before the final reads, and again before the convergence
   * check. Default 5000.
   */
  readonly quiesceMs: number;
  /** Time limit of each client request, ms. Default: the store's. */
  readonly requestTimeoutMs?: number;
  /**
   * The nodes clients send their requests to, picked at random among those running. Default:
   * every node. `["n1"]` sends everything through one node, which then coordinates every write
   * of the keys it replicates (the case dotted version vectors were made for).
   */
  readonly coordinators?: readonly string[];
  /**
   * Read every key with R = N after healing (default true). False leaves the keys unread, so
   * the convergence check shows what background repair alone (anti-entropy, hints) achieved.
   */
  readonly finalReads?: boolean;
  /** Automatic scaling during the run; default none (the membership changes only by faults). */
  readonly autoscale?: ScenarioAutoscale;
}

const msRange = z.union([
  z.number().min(0).finite().transform((ms) => ({ min: ms, max: ms })),
  z
    .object({ min: z.number().min(0).finite(), max: z.number().min(0).finite() })
    .strict()
    .refine((r) => r.min <= r.max, "min must not exceed max"),
]);

const count = z.number().int().positive();

const ycsbSchema = z
  .object({
    type: z.literal("ycsb"),
    clients: count.max(10_000),
    operations: count,
    records: count.default(1000),
    mix: z
      .object({ read: z.number().min(0), update: z.number().min(0), insert: z.number().min(0), delete: z.number().min(0).optional() })
      .strict()
      .refine((m) => m.read + m.update + m.insert + (m.delete ?? 0) > 0, "the mix needs at least one operation"),
    distribution: z.enum(["uniform", "zipfian"]).default("zipfian"),
    valueBytes: count.max(64 * 1024 * 1024).default(100),
    thinkMs: msRange.default({ min: 0, max: 10 }),
    sessions: z.boolean().optional(),
    rate: z
      .array(z.object({ atMs: z.number().min(0).finite(), perSecond: z.number().min(0).max(1_000_000).finite() }).strict())
      .min(2)
      .refine((points) => points.every((p, i) => i === 0 || p.atMs > points[i - 1]!.atMs), "rate points must be in increasing atMs")
      .optional(),
  })
  .strict();

const setSchema = z
  .object({
    type: z.literal("set"),
    clients: count.max(10_000),
    adds: count,
    key: z.string().min(1).default("set"),
    thinkMs: msRange.default({ min: 0, max: 10 }),
  })
  .strict();

const registerSchema = z
  .object({
    type: z.literal("register"),
    clients: count.max(10_000),
    operations: count,
    keys: count.max(10_000).default(3),
    mix: z
      .object({ read: z.number().min(0), write: z.number().min(0), cas: z.number().min(0) })
      .strict()
      .refine((m) => m.read + m.write + m.cas > 0, "the mix needs at least one operation")
      .default({ read: 0.5, write: 0.25, cas: 0.25 }),
    thinkMs: msRange.default({ min: 0, max: 10 }),
  })
  .strict();

const crdtSchema = z
  .object({
    type: z.literal("crdt"),
    datatype: z.enum(["counter", "set"]),
    clients: count.max(10_000),
    operations: count,
    key: z.string().min(1).default("crdt"),
    thinkMs: msRange.default({ min: 0, max: 10 }),
  })
  .strict();

const scenarioSchema: z.ZodType<Scenario, unknown> = z
  .object({
    name: z.string().min(1),
    description: z.string().default(""),
    workload: z.discriminatedUnion("type", [
      ycsbSchema,
      setSchema,
      crdtSchema,
      registerSchema,
      z.object({ type: z.literal("membership"), durationMs: z.number().positive().finite() }).strict(),
    ]),
    faults: faultScheduleSchema.default([]),
    durationMs: z.number().positive().finite().optional(),
    quiesceMs: z.number().min(0).finite().default(5000),
    requestTimeoutMs: z.number().positive().finite().optional(),
    coordinators: z.array(z.string().min(1)).min(1).optional(),
    finalReads: z.boolean().optional(),
    autoscale: z
      .object({
        min: z.number().int().min(1),
        max: z.number().int().min(1).max(1000),
        intervalMs: z.number().positive().finite().default(2000),
        cooldownMs: z.number().min(0).finite().default(5000),
        windowMs: z.number().positive().finite().default(5000),
      })
      .strict()
      .refine((a) => a.min <= a.max, "min must not exceed max")
      .optional(),
  })
  .strict();

/**
 * Validates a scenario (from a parsed JSON file) and fills in defaults.
 *
 * @throws {InvalidConfigError} listing every problem with its path
 */
export function parseScenario(data: unknown): Scenario {
  return parseWith(scenarioSchema, data, "scenario");
}
