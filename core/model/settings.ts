/**
 * Settings every node of a store shares, and the node's own identity.
 *
 * @module
 */
import { DEFAULT_LIMITS, type Limits } from "./limits.ts";
import type { NodeId } from "./sibling.ts";
import type { MemberInfo } from "../interfaces/partitioner.ts";

/** Replication factors: N copies; R replies for a read; W acknowledgements for a write. */
export interface ReplicationSettings {
  /** Replicas of every key. Default 3. */
  readonly n: number;
  /** Replies a read waits for. Default 2. `r + w > n` makes reads see acknowledged writes. */
  readonly r: number;
  /** Acknowledgements a write waits for. Default 2. */
  readonly w: number;
  /**
   * Default consistency of requests: `count` (R and W replicas anywhere, the default),
   * `local-quorum`, `each-quorum` or `linearizable` (see {@link Consistency}).
   */
  readonly consistency?: Consistency;
}

/**
 * How many replicas a request waits for, and where (Cassandra's consistency levels):
 * - `count`: R (reads) or W (writes) replicas, wherever they are;
 * - `local-quorum`: a majority of the key's replicas in the coordinator's datacenter, and
 *   nothing from others (the request still goes to every replica);
 * - `each-quorum`: a majority of the key's replicas in every datacenter that holds some;
 * - `linearizable`: through the store's consensus strategy (Paxos per key by default): the
 *   request is ordered with every other linearizable request of the key, as if the key had one
 *   copy (R, W, hints and sloppy quorums do not apply; a majority of the key's replicas must answer).
 */
export type Consistency = QuorumConsistency | "linearizable";

/** The consistencies a Dynamo-path request (quorums of replies) can have. */
export type QuorumConsistency = "count" | "local-quorum" | "each-quorum";

/** Handoff and ring catch-up settings (store config `handoff`). */
export interface HandoffSettings {
  /**
   * How often a node asks a peer for its ring view and hands off records outside its ranges,
   * ms. Default 5,000.
   */
  readonly intervalMs: number;
}

/** Tombstone GC settings (store config `tombstones`). */
export interface TombstoneSettings {
  /**
   * A tombstone is kept at least this long after a replica stored it, ms. It must exceed the
   * longest time a stale copy can stay away and come back: a hint's maximum age, a partition
   * you expect to heal. Default 86,400,000 (one day, above sloppy quorum's default 3 h hint
   * age); Cassandra's gc_grace is ten days.
   */
  readonly graceMs: number;
  /** How often a node looks for tombstones past their grace, ms. Default 10,000. */
  readonly intervalMs: number;
  /** Most tombstones examined per round. Default 500. */
  readonly batch: number;
  /**
   * `"all-replicas"` (default): remove a tombstone only once every replica holds it.
   * `"grace-only"`: remove it after the grace period whatever the other replicas hold, as
   * Cassandra does with gc_grace_seconds; a replica that missed the delete for longer than the
   * grace period brings the value back. Offered so the lab can show that cost.
   */
  readonly mode: "all-replicas" | "grace-only";
}

/** Defaults of {@link TombstoneSettings}. */
export const DEFAULT_TOMBSTONES: TombstoneSettings = { graceMs: 86_400_000, intervalMs: 10_000, batch: 500, mode: "all-replicas" };

/** Everything core needs to run one node. */
export interface NodeSettings {
  /** This node's id. */
  readonly id: NodeId;
  /** Store-wide replication defaults; requests may override `r` and `w`. */
  readonly replication: ReplicationSettings;
  /** Key, value and sibling limits. */
  readonly limits: Limits;
  /** Default time limit of a client request, in ms. */
  readonly requestTimeoutMs: number;
  /** This node as a ring member (weight, zone, datacenter), used when it joins. */
  readonly member: MemberInfo;
  /** Tombstone garbage collection. */
  readonly tombstones: TombstoneSettings;
  /** Handoff and ring catch-up. */
  readonly handoff: HandoffSettings;
}

/**
 * Settings of a node built outside a store config (plugin tests, custom builds): the store
 * defaults with `overrides` applied.
 *
 * @example
 * ```ts
 * const settings = nodeSettings("n1", { replication: { n: 3, r: 2, w: 2 } });
 * ```
 */
export function nodeSettings(id: NodeId, overrides: Partial<Omit<NodeSettings, "id">> = {}): NodeSettings {
  return {
    id,
    replication: { n: 3, r: 2, w: 2 },
    limits: DEFAULT_LIMITS,
    requestTimeoutMs: 1000,
    member: { id },
    tombstones: DEFAULT_TOMBSTONES,
    handoff: { intervalMs: 5000 },
    ...overrides,
  };
}
