/**
 * The Replicator interface: the coordinator's side of a request.
 *
 * @module
 */
import { type Token, token } from "./token.ts";
import type { NodeId, SiblingSet } from "../model/sibling.ts";

/**
 * How a replicator reaches one replica. Core implements it: the local node is served from its
 * engine, others over the transport. Calls reject with typed errors (timeout, unreachable...).
 */
export interface ReplicaClient {
  /** Merges `siblings` into the replica's record for `key`; resolves once it is stored. */
  write(node: NodeId, key: string, siblings: SiblingSet, timeoutMs: number): Promise<void>;
  /** The replica's record for `key` (empty if it has none). */
  read(node: NodeId, key: string, timeoutMs: number): Promise<SiblingSet>;
}

/** Injection token for the {@link ReplicaClient} core provides to replicators. */
export const REPLICA_CLIENT: Token<ReplicaClient> = token<ReplicaClient>("ReplicaClient");

/**
 * A quorum within a subset of the targets (per-datacenter consistency): the request also waits
 * until `required` of `nodes` answered.
 */
export interface AckGroup {
  /** The group's name, for errors (a datacenter). */
  readonly name: string;
  /** Its targets. */
  readonly nodes: readonly NodeId[];
  /** Answers it needs. */
  readonly required: number;
}

/** A write the coordinator has stamped and stored locally, to be replicated. */
export interface ReplicatedWrite {
  /** The key. */
  readonly key: string;
  /** The key's full sibling set after the write, as the coordinator stored it. */
  readonly siblings: SiblingSet;
  /** Replicas from {@link Replicator.targets}. */
  readonly targets: readonly NodeId[];
  /** The node that already stored `siblings` (the coordinator): counts as one acknowledgement. */
  readonly storedOn: NodeId;
  /** Acknowledgements required, including `storedOn`. */
  readonly w: number;
  /** Time limit for reaching `w`. */
  readonly timeoutMs: number;
  /** "put" or "delete", for error reports. */
  readonly operation: "put" | "delete";
  /** Quorums within groups of targets that must also be met (none by default). */
  readonly groups?: readonly AckGroup[];
}

/** A read to serve from replicas. */
export interface ReplicatedRead {
  /** The key. */
  readonly key: string;
  /** Replicas from {@link Replicator.targets}. */
  readonly targets: readonly NodeId[];
  /** Replies required. */
  readonly r: number;
  /** Time limit for reaching `r`. */
  readonly timeoutMs: number;
  /** Quorums within groups of targets that must also be met (none by default). */
  readonly groups?: readonly AckGroup[];
}

/** The outcome of a successful replicated write. */
export interface WriteOutcome {
  /** Replicas that acknowledged before the write was answered (at least `w`). */
  readonly acknowledged: number;
}

/** The outcome of a successful replicated read. */
export interface ReadOutcome {
  /** The merge of the replies. */
  readonly siblings: SiblingSet;
  /** Replicas that replied before the read was answered (at least `r`). */
  readonly replied: number;
}

/** Hint counters of a replicator that keeps hints (sloppy quorum), for the lab and metrics. */
export interface HintStats {
  /** Hints stored on this node. */
  stored: number;
  /** Hints handed off to their owner. */
  delivered: number;
  /**
   * Hints dropped: over the replicator's bound, too old, or refused by their owner because the
   * merged record would pass its bounds (`maxSiblings`, `maxRecordBytes`; it would be refused
   * at every delivery). What a dropped hint carried is left to anti-entropy and to the client
   * that resolves the key's siblings.
   */
  dropped: number;
  /** Writes this node coordinated that went to a fallback with a hint. */
  hintedWrites: number;
}

/**
 * Fans a request out to a key's replicas and waits for enough of them (Dynamo §4.5).
 *
 * Contract (the conformance suite checks it):
 * - {@link targets} are the nodes that hold a key, in preference order; the coordinator of a
 *   request is one of them;
 * - {@link write} resolves once `w` targets (counting `storedOn`) stored the siblings, and
 *   otherwise rejects with {@link QuorumNotReachedError} (too many failed) or
 *   {@link TimeoutError} (too slow); it never resolves with fewer than `w` acknowledgements;
 * - {@link read} resolves with the merge of at least `r` replies under the same rules;
 * - with `r + w > n` and no failures, a read returns every write acknowledged before it began.
 */
export interface Replicator {
  /** Plugin name, e.g. `"quorum"`. */
  readonly name: string;
  /** The replicas for `key` with replication factor `n`, in preference order. */
  targets(key: string, n: number): NodeId[];
  /** Replicates a write the coordinator stored. */
  write(request: ReplicatedWrite): Promise<WriteOutcome>;
  /** Reads from replicas and merges. */
  read(request: ReplicatedRead): Promise<ReadOutcome>;
  /** Starts background work (hint delivery...), after the node's engine and transport. */
  start?(): Promise<void>;
  /** Stops background work; called when the node stops or crashes. */
  stop?(): Promise<void>;
  /** Hint counters, for a replicator that keeps hints for replicas that were down. */
  readonly hints?: HintStats;
  /** Hints waiting on this node for their owner, for a replicator that keeps hints. */
  readonly pendingHints?: number;
}

/** Injection token for the node's {@link Replicator}. */
export const REPLICATOR: Token<Replicator> = token<Replicator>("Replicator");
