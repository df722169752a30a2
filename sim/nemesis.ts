/**
 * Fault schedules ("nemesis", after Jepsen) as data: partitions, asymmetric blocks, crashes,
 * restarts, pauses, clock skew and drift, lossy links — each at a virtual time. Written as JSON
 * events, as a one-line schedule, or drawn from the run's seed by the random nemesis:
 *
 * ```text
 * partition {n1,n2} | {n3,n4,n5} at 1s, heal at 5s; crash n3 at 7s, restart at 9s
 * ```
 *
 * @module
 */
import { z } from "zod";
import { InvalidConfigError } from "../core/errors.ts";
import { parseWith } from "../core/build/plugin.ts";
import type { NodeId } from "../core/model/sibling.ts";
import type { Random } from "../core/interfaces/random.ts";
import { type LatencyDistribution, latencySchema } from "../core/model/latency.ts";
import { randomFaults, type RandomSchedule, randomScheduleSchema } from "./random-nemesis.ts";

/** One fault, applied at virtual time `at` (ms from the start of the run). */
export type FaultEvent =
  | PartitionFault
  | BlockFault
  | HealFault
  | CrashFault
  | RestartFault
  | PauseFault
  | ResumeFault
  | SkewFault
  | DriftFault
  | LossFault
  | DuplicateFault
  | LatencyFault
  | JoinFault
  | LeaveFault
  | DiskFault;

/** When a fault happens. */
export interface FaultTime {
  /** Virtual time, ms from the moment the clients start. */
  readonly at: number;
}

/** Split the network into groups that cannot talk to each other. */
export interface PartitionFault extends FaultTime {
  /** Discriminant. */
  readonly action: "partition";
  /** The groups; unlisted nodes form one more. */
  readonly groups: readonly (readonly NodeId[])[];
}

/** Drop messages one way. */
export interface BlockFault extends FaultTime {
  /** Discriminant. */
  readonly action: "block";
  /** Sender. */
  readonly from: NodeId;
  /** Receiver. */
  readonly to: NodeId;
}

/** End partitions and blocks. */
export interface HealFault extends FaultTime {
  /** Discriminant. */
  readonly action: "heal";
}

/** Crash a node. */
export interface CrashFault extends FaultTime {
  /** Discriminant. */
  readonly action: "crash";
  /** The node. */
  readonly node: NodeId;
}

/** Restart a crashed node. */
export interface RestartFault extends FaultTime {
  /** Discriminant. */
  readonly action: "restart";
  /** The node. */
  readonly node: NodeId;
}

/**
 * Stop a node as SIGSTOP stops a process: its timers and message handling wait, messages and
 * client requests sent to it queue; nothing is lost, its state stays. Pausing a node that is not
 * running does nothing; crashing a paused node ends the pause.
 */
export interface PauseFault extends FaultTime {
  /** Discriminant. */
  readonly action: "pause";
  /** The node. */
  readonly node: NodeId;
}

/**
 * A fault of a node's simulated disk (the disk an engine that keeps files, such as `lsm`, works
 * on in the lab; the memory engine has none):
 * - `disk-fail`: every write and fsync fails with `EIO` until `disk-repair` (or the final heal);
 * - `disk-full`: the disk is full at what it holds now: writes fail with `ENOSPC` until repaired;
 * - `slow-disk`: fsync takes `factor` times as long until repaired;
 * - `corrupt`: one bit of one durable byte of one of the node's files flips, once;
 * - `disk-repair`: ends `disk-fail`, `disk-full` and `slow-disk`.
 */
export interface DiskFault extends FaultTime {
  /** Discriminant. */
  readonly action: "disk-fail" | "disk-full" | "slow-disk" | "corrupt" | "disk-repair";
  /** The node whose disk it is. */
  readonly node: NodeId;
  /** For `slow-disk`: how many times as long an fsync takes (>= 1). */
  readonly factor?: number;
}

/**
 * Let a paused node go on (SIGCONT): the timers that fell due while it was paused fire at once,
 * and it receives what was sent to it, in the order it arrived.
 */
export interface ResumeFault extends FaultTime {
  /** Discriminant. */
  readonly action: "resume";
  /** The node. */
  readonly node: NodeId;
}

/**
 * Add a node to the ring while the cluster runs: it streams the ranges it gains, then the
 * ring changes (see `RingforgeNode.join` in core).
 */
export interface JoinFault extends FaultTime {
  /** Discriminant. */
  readonly action: "join";
  /** The new node's id (not a member yet). */
  readonly node: NodeId;
}

/** Decommission a node: it leaves the ring and hands its data off, then stops. */
export interface LeaveFault extends FaultTime {
  /** Discriminant. */
  readonly action: "leave";
  /** The node. */
  readonly node: NodeId;
}

/** Skew a node's clock: step it to read `offsetMs` off virtual time (a drift goes on from there). */
export interface SkewFault extends FaultTime {
  /** Discriminant. */
  readonly action: "skew";
  /** The node. */
  readonly node: NodeId;
  /** Offset from virtual time, ms (positive: ahead). */
  readonly offsetMs: number;
}

/**
 * Make a node's clock drift: from then on it runs `1 + rate` times as fast as virtual time,
 * keeping the offset it has (its skew and earlier drift). 0 stops the drift.
 */
export interface DriftFault extends FaultTime {
  /** Discriminant. */
  readonly action: "drift";
  /** The node. */
  readonly node: NodeId;
  /** Ms gained per ms: 0.05 runs 5% fast, -0.05 5% slow; above -1. */
  readonly rate: number;
}

/** Lose a share of all messages. */
export interface LossFault extends FaultTime {
  /** Discriminant. */
  readonly action: "loss";
  /** Probability a message is lost. */
  readonly probability: number;
}

/** Duplicate a share of all messages. */
export interface DuplicateFault extends FaultTime {
  /** Discriminant. */
  readonly action: "duplicate";
  /** Probability a message is delivered twice. */
  readonly probability: number;
}

/** Change one link's (or every link's) delay. */
export interface LatencyFault extends FaultTime {
  /** Discriminant. */
  readonly action: "latency";
  /** Sender, or `*` for any. */
  readonly from: NodeId | "*";
  /** Receiver, or `*` for any. */
  readonly to: NodeId | "*";
  /** The new delay distribution. */
  readonly latency: LatencyDistribution;
}

const nodeId = z.string().min(1);
const at = z.number().min(0).finite();
const driftRate = z.number().finite().gt(-1, "a drift rate must be above -1 (the clock must go forward)");

/** Validates one structured fault event. */
export const faultEventSchema: z.ZodType<FaultEvent, unknown> = z.discriminatedUnion("action", [
  z.object({ at, action: z.literal("partition"), groups: z.array(z.array(nodeId).min(1)).min(1) }).strict(),
  z.object({ at, action: z.literal("block"), from: nodeId, to: nodeId }).strict(),
  z.object({ at, action: z.literal("heal") }).strict(),
  z.object({ at, action: z.literal("crash"), node: nodeId }).strict(),
  z.object({ at, action: z.literal("restart"), node: nodeId }).strict(),
  z.object({ at, action: z.literal("pause"), node: nodeId }).strict(),
  z.object({ at, action: z.literal("disk-fail"), node: nodeId }).strict(),
  z.object({ at, action: z.literal("disk-full"), node: nodeId }).strict(),
  z.object({ at, action: z.literal("slow-disk"), node: nodeId, factor: z.number().finite().min(1) }).strict(),
  z.object({ at, action: z.literal("corrupt"), node: nodeId }).strict(),
  z.object({ at, action: z.literal("disk-repair"), node: nodeId }).strict(),
  z.object({ at, action: z.literal("resume"), node: nodeId }).strict(),
  z.object({ at, action: z.literal("join"), node: nodeId }).strict(),
  z.object({ at, action: z.literal("leave"), node: nodeId }).strict(),
  z.object({ at, action: z.literal("skew"), node: nodeId, offsetMs: z.number().finite() }).strict(),
  z.object({ at, action: z.literal("drift"), node: nodeId, rate: driftRate }).strict(),
  z.object({ at, action: z.literal("loss"), probability: z.number().min(0).max(1) }).strict(),
  z.object({ at, action: z.literal("duplicate"), probability: z.number().min(0).max(1) }).strict(),
  z.object({
    at,
    action: z.literal("latency"),
    from: z.union([nodeId, z.literal("*")]),
    to: z.union([nodeId, z.literal("*")]),
    latency: latencySchema,
  }).strict(),
]);

/** A scenario's `faults`: the one-line form, a list of events, or the random nemesis. */
export type FaultSchedule = string | readonly FaultEvent[] | RandomSchedule;

/**
 * Parses a schedule: the one-line form, an array of {@link FaultEvent}s, or a
 * {@link RandomSchedule} (`{ "random": { ... } }`), which is drawn from `random` for `nodes`
 * (see {@link randomFaults}). Events come back sorted by time (stable for equal times).
 *
 * Grammar of the one-line form: statements separated by `;`, clauses by `,`, each clause
 * `ACTION [ARGS] at TIME` with TIME like `1.5s` or `200ms`; a clause without a node reuses the
 * previous clause's (`crash n3 at 7s, restart at 9s`). Actions:
 * `partition {a,b} | {c,d}`, `isolate n1` (n1 against everyone else), `block n1 -> n2`,
 * `heal`, `crash n1`, `restart n1`, `pause n1`, `resume n1`, `join n6`, `leave n2`,
 * `skew n1 +500ms`, `drift n1 +0.05` (or `+5%`), `loss 0.1`, `duplicate 0.05`,
 * `disk-fail n1`, `disk-full n1`, `slow-disk n1 10x`, `corrupt n1`, `disk-repair n1`,
 * `latency n1 -> n2 50ms` (constant) or `latency * -> n3 20..80ms` (uniform; `*` is any node).
 * Wherever a clause names nodes (partition groups, isolate, block, latency), `dc:NAME` stands
 * for every node of datacenter NAME: `isolate dc:dc2`, `latency dc:dc1 -> dc:dc2 40ms`.
 *
 * @param datacenters each node's datacenter, for `dc:` names
 * @param random the run's randomness (`runtime.random`), which a random nemesis forks its own
 *   stream from; needed only for one
 * @throws {InvalidConfigError} naming the clause or field that does not parse
 */
export function parseFaults(
  schedule: unknown,
  nodes: readonly NodeId[] = [],
  datacenters: ReadonlyMap<NodeId, string> = new Map(),
  random?: Random,
): FaultEvent[] {
  let events: FaultEvent[];
  if (typeof schedule === "string") events = parseScheduleText(schedule, nodes, datacenters);
  else if (schedule === undefined || schedule === null) events = [];
  else {
    const parsed = parseWith(faultScheduleSchema, schedule, "faults");
    if (typeof parsed === "string") events = parseScheduleText(parsed, nodes, datacenters);
    else if (isRandomSchedule(parsed)) {
      if (!random) {
        throw new InvalidConfigError([{
          path: "faults.random",
          message: "the random nemesis is drawn from the run's seed: pass the run's Random to parseFaults",
        }]);
      }
      events = randomFaults(parsed.random, nodes, random);
    } else events = [...parsed];
  }
  const sorted = events.map((e, i) => [e, i] as const).sort((a, b) => a[0].at - b[0].at || a[1] - b[1]).map(([e]) => e);
  const known = new Set(nodes);
  if (known.size > 0) {
    for (const event of sorted) {
      if (event.action === "join") {
        if (known.has(event.node)) {
          throw new InvalidConfigError([{
            path: "faults",
            message: `fault at ${event.at} ms joins "${event.node}", which is already a node`,
          }]);
        }
        known.add(event.node);
      }
      for (const id of nodesOf(event)) {
        if (!known.has(id)) {
          throw new InvalidConfigError([{ path: "faults", message: `fault at ${event.at} ms names unknown node "${id}"` }]);
        }
      }
    }
  }
  return sorted;
}

function nodesOf(event: FaultEvent): NodeId[] {
  switch (event.action) {
    case "partition":
      return event.groups.flat();
    case "block":
      return [event.from, event.to];
    case "latency":
      return [event.from, event.to].filter((n) => n !== "*");
    case "crash":
    case "restart":
    case "pause":
    case "resume":
    case "skew":
    case "drift":
    case "leave":
    case "disk-fail":
    case "disk-full":
    case "slow-disk":
    case "corrupt":
    case "disk-repair":
      return [event.node];
    default:
      return [];
  }
}

const CLAUSE = /^([\w-]+)\s*(.*?)\s+at\s+([\d.]+)\s*(ms|s)$/;

function parseScheduleText(text: string, nodes: readonly NodeId[], datacenters: ReadonlyMap<NodeId, string>): FaultEvent[] {
  const events: FaultEvent[] = [];
  for (const statement of text.split(";").map((s) => s.trim()).filter(Boolean)) {
    let subject: string | undefined;
    for (const clause of statement.split(/,(?![^{]*})/).map((s) => s.trim()).filter(Boolean)) {
      const m = CLAUSE.exec(clause);
      if (!m) throw bad(clause, "expected ACTION [ARGS] at TIME (e.g. `crash n3 at 7s`)");
      const [, action, rawArgs, amount, unit] = m as unknown as [string, string, string, string, "ms" | "s"];
      const time = Number(amount) * (unit === "s" ? 1000 : 1);
      if (!Number.isFinite(time)) throw bad(clause, "bad time");
      const args = rawArgs.trim() || subject || "";
      if (rawArgs.trim()) subject = rawArgs.trim();
      events.push(...parseClause(action!, args, time, clause, nodes, datacenters));
    }
  }
  return events;
}

function parseClause(
  action: string,
  args: string,
  at: number,
  clause: string,
  nodes: readonly NodeId[],
  datacenters: ReadonlyMap<NodeId, string>,
): FaultEvent[] {
  /** A node id, `*`, or every node of `dc:NAME`. */
  const expand = (name: string): NodeId[] => {
    if (!name.startsWith("dc:")) return [name];
    const dc = name.slice(3);
    const members = nodes.filter((n) => datacenters.get(n) === dc);
    if (members.length === 0) throw bad(clause, `no node is in datacenter "${dc}"`);
    return members;
  };
  const pairs = (from: string, to: string) => expand(from).flatMap((f) => expand(to).map((t) => [f, t] as const));
  switch (action) {
    case "partition": {
      const groups = args.split("|").map((g) => {
        const m = /^\{([^}]*)\}$/.exec(g.trim());
        if (!m) throw bad(clause, "partition groups look like {n1,n2} | {n3,n4}");
        return m[1]!.split(",").map((s) => s.trim()).filter(Boolean).flatMap(expand);
      });
      if (groups.length < 2 || groups.some((g) => g.length === 0)) throw bad(clause, "a partition needs two or more non-empty groups");
      return [{ at, action, groups }];
    }
    case "isolate": {
      const inside = expand(single(args, clause));
      return [{ at, action: "partition", groups: [inside, nodes.filter((n) => !inside.includes(n))] }];
    }
    case "block": {
      const m = /^(\S+)\s*->\s*(\S+)$/.exec(args);
      if (!m) throw bad(clause, "block looks like `block n1 -> n2`");
      return pairs(m[1]!, m[2]!).map(([from, to]) => ({ at, action, from, to }));
    }
    case "latency": {
      const m = /^(\S+)\s*->\s*(\S+)\s+(\d+(?:\.\d+)?)(?:\.\.(\d+(?:\.\d+)?))?\s*ms$/.exec(args);
      if (!m) throw bad(clause, "latency looks like `latency n1 -> n2 50ms` or `latency * -> n2 20..80ms`");
      const min = Number(m[3]);
      const max = m[4] === undefined ? min : Number(m[4]);
      if (!(min >= 0 && max >= min)) throw bad(clause, "latency needs 0 <= min <= max");
      const latency: LatencyDistribution = m[4] === undefined ? { kind: "constant", ms: min } : { kind: "uniform", min, max };
      return pairs(m[1]!, m[2]!).map(([from, to]) => ({ at, action, from, to, latency }));
    }
    case "heal":
      return [{ at, action }];
    case "crash":
    case "restart":
    case "pause":
    case "resume":
    case "join":
    case "leave":
    case "disk-fail":
    case "disk-full":
    case "corrupt":
    case "disk-repair":
      return [{ at, action, node: single(args, clause) }];
    case "slow-disk": {
      const m = /^(\S+)\s+(\d+(?:\.\d+)?)x$/.exec(args);
      if (!m || !(Number(m[2]) >= 1)) {
        throw bad(clause, "slow-disk looks like `slow-disk n1 10x` (fsync takes 10 times as long; at least 1x)");
      }
      return [{ at, action, node: m[1]!, factor: Number(m[2]) }];
    }
    case "skew": {
      const m = /^(\S+)\s+([+-]?[\d.]+)\s*(ms|s)$/.exec(args);
      if (!m) throw bad(clause, "skew looks like `skew n1 +500ms`");
      return [{ at, action, node: m[1]!, offsetMs: Number(m[2]) * (m[3] === "s" ? 1000 : 1) }];
    }
    case "drift": {
      const m = /^(\S+)\s+([+-]?\d+(?:\.\d+)?)(%?)$/.exec(args);
      if (!m) throw bad(clause, "drift looks like `drift n1 +0.05` (5% fast) or `drift n1 -2%`");
      const rate = Number(m[2]) / (m[3] ? 100 : 1);
      if (!(rate > -1)) throw bad(clause, "a drift rate must be above -1 (the clock must go forward)");
      return [{ at, action, node: m[1]!, rate }];
    }
    case "loss":
    case "duplicate": {
      const probability = Number(args);
      if (!(probability >= 0 && probability <= 1)) throw bad(clause, `${action} takes a probability between 0 and 1`);
      return [{ at, action, probability }];
    }
    default:
      throw bad(clause, `unknown action "${action}"`);
  }
}

function single(args: string, clause: string): NodeId {
  const node = args.trim();
  if (!node || /\s/.test(node)) throw bad(clause, "expected one node id");
  return node;
}

function bad(clause: string, message: string): InvalidConfigError {
  return new InvalidConfigError([{ path: "faults", message: `"${clause}": ${message}` }]);
}

/**
 * Validates a scenario's `faults`: a one-line schedule, an array of events, or
 * `{ "random": ... }`, each with the errors of its own form.
 */
export const faultScheduleSchema: z.ZodType<FaultSchedule, unknown> = z.unknown().transform((raw, ctx) => {
  const schema: z.ZodType<FaultSchedule, unknown> = typeof raw === "string"
    ? z.string()
    : Array.isArray(raw)
    ? z.array(faultEventSchema)
    : randomScheduleSchema;
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  for (const issue of result.error.issues) ctx.addIssue({ code: "custom", message: issue.message, path: issue.path });
  return z.NEVER;
});

function isRandomSchedule(schedule: FaultSchedule): schedule is RandomSchedule {
  return typeof schedule === "object" && !Array.isArray(schedule);
}
