/**
 * The FailureDetector interface: who is in the cluster and who is up.
 *
 * @module
 */
import { type Token, token } from "./token.ts";
import type { MemberInfo } from "./partitioner.ts";
import type { NodeId } from "../model/sibling.ts";

/** A member's liveness as this node believes it. */
export type MemberStatus = "up" | "suspect" | "down" | "left";

/** A member and its status. */
export interface MemberState extends MemberInfo {
  /** Liveness as this node sees it. */
  readonly status: MemberStatus;
  /**
   * The member's incarnation (SWIM) or heartbeat counter (gossip) as this node last learned it;
   * absent for a detector that keeps none. Shown by `/status` and the live view.
   */
  readonly incarnation?: number;
  /**
   * When this node last heard from the member directly or about its progress (an ack, a
   * heartbeat that advanced), on the node's clock, ms; absent if the detector does not track it.
   */
  readonly lastHeardAt?: number;
}

/** A change in membership or liveness. */
export interface MembershipEvent {
  /** The member concerned. */
  readonly member: MemberState;
  /** Its status before the change (`undefined` when it just joined). */
  readonly previous: MemberStatus | undefined;
}

/**
 * Membership and liveness. Contract:
 * - {@link members} includes this node itself, always `"up"` in its own view;
 * - {@link isAlive} is true exactly for members whose status is `"up"` (a suspect is not
 *   trusted with new requests, so sloppy quorum routes around it);
 * - listeners get one event per change, after the change is visible through {@link members};
 * - `start` and `stop` are idempotent; a stopped detector keeps its last view.
 */
export interface FailureDetector {
  /** Begins detecting (gossip rounds, probes...). */
  start(): Promise<void>;
  /** Stops all background work. */
  stop(): Promise<void>;
  /** Every known member (left members may be forgotten). */
  members(): readonly MemberState[];
  /** True if `node` is a member believed up. */
  isAlive(node: NodeId): boolean;
  /** Subscribes to changes; returns the unsubscribe function. */
  onChange(listener: (event: MembershipEvent) => void): () => void;
  /**
   * The period of its protocol, ms, for a detector that works in rounds: a gossip round, a
   * SWIM probe period. Detection times are read against it (the lab reports both); absent for
   * one without rounds, such as static membership.
   */
  readonly periodMs?: number;
}

/** Injection token for the node's {@link FailureDetector}. */
export const FAILURE_DETECTOR: Token<FailureDetector> = token<FailureDetector>("FailureDetector");

/**
 * True if `detector` knows `node` and believes it is not up. A node the detector has not heard
 * of (one that just joined the ring, or any node under static membership) is not believed down:
 * background work (handoff, anti-entropy) tries it and copes with a failed request.
 */
export function believedDown(detector: FailureDetector, node: NodeId): boolean {
  if (detector.isAlive(node)) return false;
  return detector.members().some((m) => m.id === node);
}
