/**
 * Automatic scaling: the Scaler (a policy that turns cluster-wide load into a decision to add or
 * remove a node) and the NodeProvider (what actually starts or stops a node: a simulated one,
 * a local process, or a user's command that calls an orchestrator).
 *
 * @module
 */
import { type Token, token } from "./token.ts";
import type { NodeId } from "../model/sibling.ts";

/** One node's load over the last window, as the nodes report it. */
export interface NodeLoad {
  /** The node. */
  readonly id: NodeId;
  /** Client requests it coordinated per second. */
  readonly requestsPerSecond: number;
  /** 99th percentile latency of those requests, ms (0 when it served none). */
  readonly p99Ms: number;
  /** Bytes of records it stores. */
  readonly bytes: number;
  /** Requests it was working on or waiting to start, at the end of the window. */
  readonly queueDepth: number;
  /** Its datacenter, if the member has one. */
  readonly datacenter?: string;
}

/** The cluster's load at one moment: every ring member that answered. */
export interface ClusterLoad {
  /** When it was measured, ms (the controller's clock). */
  readonly at: number;
  /** The ring's members, each with its load. */
  readonly nodes: readonly NodeLoad[];
}

/** Leave the cluster as it is. */
export interface NoScaling {
  /** Discriminant. */
  readonly action: "none";
  /** What was measured against what, for a person. */
  readonly reason: string;
}

/** Add one node. */
export interface AddNode {
  /** Discriminant. */
  readonly action: "add";
  /** What was measured against what, for a person. */
  readonly reason: string;
}

/** Remove one node (after it hands off its data). */
export interface RemoveNode {
  /** Discriminant. */
  readonly action: "remove";
  /** The member to remove. */
  readonly node: NodeId;
  /** What was measured against what, for a person. */
  readonly reason: string;
}

/** What a scaling policy may decide. */
export type ScalingDecision = NoScaling | AddNode | RemoveNode;

/** The limits a decision must keep, which the controller enforces whatever the policy says. */
export interface ScalingLimits {
  /** Fewest nodes (at least the replication factor N). */
  readonly min: number;
  /** Most nodes. */
  readonly max: number;
}

/**
 * A scaling policy: reads the cluster's load and says whether to add a node, remove one (and
 * which), or do nothing, and why. Stateful (hysteresis needs a memory of earlier loads), called
 * once per controller round with loads of increasing `at`. It never acts itself: the controller
 * (`Autoscaler`) enforces the limits, one change at a time and the cool-down, and calls the
 * provider.
 *
 * Contract (the conformance suite checks it):
 * - it decides `add` only below `limits.max` and `remove` only above `limits.min`, and removes
 *   only a node of the load it was given;
 * - under a load that stays between its thresholds (or at its target) it decides `none`;
 * - a decision carries a reason a person can read (what was measured against what).
 */
export interface Scaler {
  /** Plugin name, e.g. `"target-tracking"`. */
  readonly name: string;
  /**
   * The decision for this load.
   * @param load every member's load now
   * @param limits the bounds the cluster must stay within
   * @param lastChangeAt when the last membership change completed (ms, the load's clock), if any
   */
  decide(load: ClusterLoad, limits: ScalingLimits, lastChangeAt: number | undefined): ScalingDecision;
}

/**
 * Starts and stops nodes for the controller (`Autoscaler`). `add` resolves once the new node has
 * joined the ring (its ranges streamed); `remove` once the node has left (its data handed off to
 * the others) and stopped. A call that fails rejects, and must leave the cluster as it was or as
 * if the call had succeeded (a join or leave is itself all or nothing), so the controller can
 * retry it.
 */
export interface NodeProvider {
  /** What it drives, e.g. `"simulator"`, `"processes"`, `"command"`. */
  readonly name: string;
  /** Starts a node that joins the ring; resolves with its id once it owns ranges. */
  add(): Promise<NodeId>;
  /** Decommissions `node` (hands off its data), then stops it. */
  remove(node: NodeId): Promise<void>;
}

/** Injection token for a {@link Scaler}. */
export const SCALER: Token<Scaler> = token<Scaler>("Scaler");
