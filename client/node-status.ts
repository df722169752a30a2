/**
 * The `GET /status` document a node serves and `RingforgeClient.status()` reads: the wire
 * format, written by the server (server/node-status.ts) and read by the client. Types only, so
 * the client does not import the server.
 *
 * @module
 */
import type { NodeId } from "../core/model/sibling.ts";
import type { ReplicationSettings } from "../core/model/settings.ts";

/** One member as the node sees it. */
export interface MemberStatusRow {
  /** Node id. */
  readonly id: NodeId;
  /** Liveness according to this node's failure detector (`"unknown"` if it has not heard of it). */
  readonly status: string;
  /** True if the member owns ranges in this node's ring view. */
  readonly inRing: boolean;
  /** Share of the token space it is the primary replica of (0..1). */
  readonly ownership: number;
  /** Peer address, when the transport knows one. */
  readonly address?: string;
  /** Its zone (rack), if it has one. */
  readonly zone?: string;
  /** Its datacenter, if it has one. */
  readonly datacenter?: string;
  /** Its incarnation (SWIM) or heartbeat counter (gossip), as this node last learned it. */
  readonly incarnation?: number;
  /** Milliseconds since this node last heard from it (an ack, an advancing heartbeat). */
  readonly lastContactMs?: number;
}

/** One operation's client traffic over the window (see {@link TrafficStatus}). */
export interface OperationTraffic {
  /** Requests answered per second. */
  readonly requestsPerSecond: number;
  /** Requests per second that ended in an error (anything but a value, not-found or siblings). */
  readonly errorsPerSecond: number;
  /** Median latency, ms (upper bound of a 10%-wide bucket; 0 without requests). */
  readonly p50Ms: number;
  /** 99th percentile latency, ms (upper bound of a 10%-wide bucket; 0 without requests). */
  readonly p99Ms: number;
}

/** Client traffic at the node's HTTP API over the last few completed seconds. */
export interface TrafficStatus extends OperationTraffic {
  /** Seconds the figures cover. */
  readonly windowSeconds: number;
  /** The same figures per operation. */
  readonly operations: Readonly<Record<"get" | "put" | "delete", OperationTraffic>>;
}

/** The records a node holds. */
export interface RecordsStatus {
  /** Keys stored (live or tombstones). */
  readonly keys: number;
  /** Bytes of their encoded records. */
  readonly bytes: number;
  /** XOR hash of every record: equal on two replicas of the same key set means equal data. */
  readonly treeHash: number;
  /** Bytes of the largest record written since start. */
  readonly largestRecord?: number;
  /** Most siblings one record has held since start (a warning sign past a handful). */
  readonly mostSiblings?: number;
  /** Writes refused since start for crossing the sibling or record-size bound. */
  readonly refused?: number;
}

/** Hinted handoff on a node. */
export interface HintsStatus {
  /** Hints waiting here for their owner. */
  readonly pending: number;
  /** Hints stored since start. */
  readonly stored: number;
  /** Hints handed to their owner since start. */
  readonly delivered: number;
  /** Hints dropped (over the bound, or too old) since start. */
  readonly dropped: number;
}

/** The `GET /status` document. */
export interface NodeStatus {
  /** This node's id. */
  readonly node: NodeId;
  /** The process's run id, if it was started with one (`ringforge cluster` gives each run its own). */
  readonly runId?: string;
  /** Whether it takes requests. */
  readonly running: boolean;
  /** Replication factors. */
  readonly replication: ReplicationSettings;
  /** The strategies it was built with, by family. */
  readonly plugins: Readonly<Record<string, string>>;
  /** Ring view epoch (bumped by every join and leave). */
  readonly ringEpoch: number;
  /** Members: the ring's, and any other the detector knows. */
  readonly members: readonly MemberStatusRow[];
  /** Records on this node. */
  readonly records: RecordsStatus;
  /** Hinted handoff: hints waiting here, and counters since start. */
  readonly hints: HintsStatus;
  /** Anti-entropy counters since start. */
  readonly antiEntropy: Readonly<Record<string, number>>;
  /** Range handoff counters since start. */
  readonly handoff: Readonly<Record<string, number>>;
  /** Tombstone collection counters since start. */
  readonly tombstones: Readonly<Record<string, number>>;
  /** The engine's own counters, if it keeps any. */
  readonly engine: Readonly<Record<string, number>>;
  /** The transport's counters, if it keeps any. */
  readonly transport: Readonly<Record<string, number>>;
  /** Client traffic now, when the status is served by the HTTP API (which measures it). */
  readonly traffic?: TrafficStatus;
  /** The autoscaler's last decision, if one runs and told this node (`POST /admin/scaler`). */
  readonly scaler?: ScalerStatus;
  /**
   * The node's clock, when it is offset or drifting from the machine's (`clock` in a node
   * config, `POST /admin/clock`: testing clock skew); absent when it reads the machine's clock.
   */
  readonly clock?: ClockStatus;
}

/**
 * A node's clock against the machine's: what `POST /admin/clock` answers and `GET /status`
 * reports as `clock`.
 */
export interface ClockStatus {
  /** How far ahead of the machine's clock it reads now, ms (negative: behind); drift included. */
  readonly offsetMs: number;
  /** How fast the offset grows, ms per ms (`0.05`: the clock runs 5% fast; 0: no drift). */
  readonly driftRate: number;
}

/**
 * A change to a node's clock, the body of `POST /admin/clock` (at least one field). With both,
 * the node's clock reads `offsetMs` ahead from now on and drifts at `driftRate` from there.
 */
export interface ClockSetting {
  /**
   * Steps the clock to read this far ahead of the machine's clock, ms (negative: behind), from
   * now on; the drift rate stays (the lab's `skew` fault). Finite.
   */
  readonly offsetMs?: number;
  /**
   * Makes the clock run `1 + driftRate` times as fast as the machine's from now on, keeping the
   * offset gained so far (the lab's `drift` fault; 0 stops it). Finite, above -1.
   */
  readonly driftRate?: number;
}

/** One decision of the autoscaler, as the wire carries it (the `DecisionRecord` of core/scaling). */
export interface ScalerDecisionStatus {
  /** When the round measured the load, ms since the epoch (the autoscaler's clock). */
  readonly at: number;
  /** Ring members then. */
  readonly nodes: number;
  /** Mean requests per second per member then. */
  readonly requestsPerNode: number;
  /** What the policy decided. */
  readonly action: "none" | "add" | "remove";
  /** The node to remove, for `remove`. */
  readonly node?: NodeId;
  /** Why, with the figures (what was measured against what). */
  readonly reason: string;
  /** What the autoscaler did with it: carried it out, nothing to do, refused it (a limit), failed, or waited. */
  readonly outcome: "applied" | "none" | "refused" | "failed" | "cooling-down";
  /** Why it was refused or failed; the node added, for an applied `add`. */
  readonly detail?: string;
  /** When the change completed or failed, ms since the epoch; absent while it is in progress. */
  readonly completedAt?: number;
  /** Time since its last event (completion, else measurement), ms, as of the document it is in. */
  readonly ageMs: number;
}

/** The autoscaler as a node last heard of it. */
export interface ScalerStatus {
  /** Its policy (the store's `scaler` plugin). */
  readonly policy: string;
  /** What starts and stops nodes (`"processes"`, `"command"`). */
  readonly provider: string;
  /** The ring sizes it keeps to. */
  readonly limits: {
    /** The fewest ring members (at least the replication factor N). */
    readonly min: number;
    /** The most ring members. */
    readonly max: number;
  };
  /** Its last decision. */
  readonly last: ScalerDecisionStatus;
  /** Its last change (a node added or removed, or a failed attempt), if it is not `last`. */
  readonly lastChange?: ScalerDecisionStatus;
}

/** One member's answer in {@link ClusterStatus}. */
export interface ClusterMemberStatus {
  /** The member's id. */
  readonly id: NodeId;
  /** Its own status document, if it answered in time. */
  readonly status?: NodeStatus;
  /** Why there is no status (unreachable, timed out, no HTTP API...), if there is none. */
  readonly error?: string;
}

/**
 * The `GET /status/cluster` document: every member's own status, gathered by the node asked
 * over the peer transport, so one client URL shows how each node sees the cluster.
 */
export interface ClusterStatus {
  /** The node that gathered it. */
  readonly node: NodeId;
  /** When it was gathered, ms since the epoch (the gathering node's wall clock). */
  readonly at: number;
  /** Every member of the gathering node's view, its own first. */
  readonly members: readonly ClusterMemberStatus[];
}
