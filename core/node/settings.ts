/**
 * Settings every node of a store shares, and the node's own identity.
 *
 * @module
 */
import type { Limits } from "../model/limits.ts";
import type { NodeId } from "../model/sibling.ts";

/** Replication factors: N copies; R replies for a read; W acknowledgements for a write. */
export interface ReplicationSettings {
  /** Replicas of every key. Default 3. */
  readonly n: number;
  /** Replies a read waits for. Default 2. `r + w > n` makes reads see acknowledged writes. */
  readonly r: number;
  /** Acknowledgements a write waits for. Default 2. */
  readonly w: number;
}

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
}

/** Injection token for the node's {@link NodeSettings}. */
export const NODE_SETTINGS: unique symbol = Symbol.for("ringforge.NodeSettings");
