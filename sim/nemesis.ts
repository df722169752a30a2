/**
 * Fault schedules ("nemesis", after Jepsen) as data: partitions, asymmetric blocks, crashes,
 * restarts, clock skew, lossy links — each at a virtual time. Written as JSON events or as a
 * one-line schedule:
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
import { type LatencyDistribution, latencySchema } from "../core/model/latency.ts";

/** One fault, applied at virtual time `at` (ms from the start of the run). */
export type FaultEvent =
  | PartitionFault
  | BlockFault
  | HealFault
  | CrashFault
  | RestartFault
  | SkewFault
  | LossFault
  | DuplicateFault
  | LatencyFault
  | JoinFault
  | LeaveFault;

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

/** Skew a node's clock. */
export interface SkewFault extends FaultTime {
  /** Discriminant. */
  readonly action: "skew";
  /** The node. */
  readonly node: NodeId;
  /** Offset from virtual time, ms (positive: ahead). */
  readonly offsetMs: number;
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

/** Validates one structured fault event. */
export const faultEventSchema: z.ZodType<FaultEvent, unknown> = z.discriminatedUnion("action", [
  z.object({ at, action: z.literal("partition"), groups: z.array(z.array(nodeId).min(1)).min(1) }).strict(),
  z.object({ at, action: z.literal("block"), from: nodeId, to: nodeId }).strict(),
  z.object({ at, action: z.literal("heal") }).strict(),
  z.object({ at, action: z.literal("crash"), node: nodeId }).strict(),
  z.object({ at, action: z.literal("restart"), node: nodeId }).strict(),
  z.object({ at, action: z.literal("join"), node: nodeId }).strict(),
  z.object({ at, action: z.literal("leave"), node: nodeId }).strict(),
  z.object({ at, action: z.literal("skew"), node: nodeId, offsetMs: z.number().finite() }).strict(),
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

/**
 * Parses a schedule: either an array of {@link FaultEvent}s or the one-line form. Events come
 * back sorted by time (stable for equal times).
 *
 * Grammar of the one-line form: statements separated by `;`, clauses by `,`, each clause
 * `ACTION [ARGS] at TIME` with TIME like `1.5s` or `200ms`; a clause without a node reuses the
 * previous clause's (`crash n3 at 7s, restart at 9s`). Actions:
 * `partition {a,b} | {c,d}`, `isolate n1` (n1 against everyone else), `block n1 -> n2`,
 * `heal`, `crash n1`, `restart n1`, `join n6`, `leave n2`, `skew n1 +500ms`, `loss 0.1`,
 * `duplicate 0.05`,
 * `latency n1 -> n2 50ms` (constant) or `latency * -> n3 20..80ms` (uniform; `*` is any node).
 * Wherever a clause names nodes (partition groups, isolate, block, latency), `dc:NAME` stands
 * for every node of datacenter NAME: `isolate dc:dc2`, `latency dc:dc1 -> dc:dc2 40ms`.
 *
 * @param datacenters each node's datacenter, for `dc:` names
 * @throws {InvalidConfigError} naming the clause that does not parse
 */
export function parseFaults(
  schedule: unknown,
  nodes: readonly NodeId[] = [],
  datacenters: ReadonlyMap<NodeId, string> = new Map(),
): FaultEvent[] {
  let events: FaultEvent[];
  if (typeof schedule === "string") events = parseScheduleText(schedule, nodes, datacenters);
  else if (schedule === undefined || schedule === null) events = [];
  else events = parseWith(z.array(faultEventSchema), schedule, "faults");
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
    case "skew":
    case "leave":
      return [event.node];
    default:
      return [];
  }
}

const CLAUSE = /^(\w+)\s*(.*?)\s+at\s+([\d.]+)\s*(ms|s)$/;

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
    case "join":
    case "leave":
      return [{ at, action, node: single(args, clause) }];
    case "skew": {
      const m = /^(\S+)\s+([+-]?[\d.]+)\s*(ms|s)$/.exec(args);
      if (!m) throw bad(clause, "skew looks like `skew n1 +500ms`");
      return [{ at, action, node: m[1]!, offsetMs: Number(m[2]) * (m[3] === "s" ? 1000 : 1) }];
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
