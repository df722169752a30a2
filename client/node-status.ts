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
}

/** The records a node holds. */
export interface RecordsStatus {
  /** Keys stored (live or tombstones). */
  readonly keys: number;
  /** Bytes of their encoded records. */
  readonly bytes: number;
  /** XOR hash of every record: equal on two replicas of the same key set means equal data. */
  readonly treeHash: number;
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
}
