/**
 * The SimulatedNetwork port: the network a simulation runs its nodes over, which the lab
 * schedules on virtual time and injects faults into. A transport plugin whose shared service
 * is one declares the `simulatedNetwork` capability (the in-process transport does); the
 * simulator reaches it through the cluster, never by importing the plugin.
 *
 * @module
 */
import type { LinkBehaviour } from "../model/latency.ts";
import type { NodeId } from "../model/sibling.ts";

/** Traffic counters of an simulated network. */
export interface NetworkStats {
  /** Messages sent (requests, replies and one-way), including copies and later drops. */
  messages: number;
  /** Encoded bytes sent. */
  bytes: number;
  /** Messages that never arrived: lost, blocked by a partition, or to a stopped node. */
  dropped: number;
  /** Extra copies delivered by duplication. */
  duplicated: number;
}

/**
 * A network of simulated links between nodes. Faults last until healed; link behaviour until
 * reset.
 */
export interface SimulatedNetwork {
  /** Traffic so far. */
  readonly stats: NetworkStats;
  /** Sets how messages from `from` to `to` behave (`"*"` for every node), on top of the defaults. */
  setLink(from: NodeId | "*", to: NodeId | "*", behaviour: Partial<LinkBehaviour>): void;
  /** Forgets every {@link setLink}: all links behave as the network's defaults. */
  resetLinks(): void;
  /** Splits the nodes into groups that cannot reach each other (nodes in no group reach no one). */
  partition(groups: readonly (readonly NodeId[])[]): void;
  /** Drops every message from `from` to `to` (one way). */
  block(from: NodeId, to: NodeId): void;
  /** Removes every partition and block. */
  heal(): void;
  /** Whether a message from `from` to `to` would be delivered now (no partition or block). */
  canReach(from: NodeId, to: NodeId): boolean;
  /**
   * Messages that arrived at `node` and wait for its processor (0 without a service time), for
   * load figures such as the autoscaler's queue depth.
   */
  queued?(node: NodeId): number;
}
