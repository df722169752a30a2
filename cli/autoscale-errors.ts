/**
 * The failure of a node provider's add or remove (`ringforge cluster --autoscale`): one class,
 * with the action, the node and why, so the autoscaler's decision record and the launcher's log
 * say what went wrong and a program can branch on `failure`.
 *
 * @module
 */
import { RingforgeError, type RingforgeErrorCode } from "../core/errors.ts";

/** Why an add or a remove failed. */
export type ScalingFailure =
  /** It did not finish within the time limit. */
  | "timeout"
  /** The node's process exited before it was ready (or during its leave). */
  | "exited"
  /** The node refused (a leave that would leave fewer than N members, a node not running). */
  | "refused"
  /** The user's command exited non-zero. */
  | "command-failed"
  /** The user's command succeeded but printed something that is not a node id. */
  | "bad-output"
  /** The node is not one this provider can remove. */
  | "unknown-node"
  /** No free ports (or data directory) for a new node. */
  | "no-room";

/** Stable codes, from the ones every ringforge error uses. */
const CODES: Readonly<Record<ScalingFailure, RingforgeErrorCode>> = {
  timeout: "RINGFORGE_TIMEOUT",
  exited: "RINGFORGE_NOT_RUNNING",
  refused: "RINGFORGE_INVALID_REQUEST",
  "command-failed": "RINGFORGE_REMOTE_ERROR",
  "bad-output": "RINGFORGE_REMOTE_ERROR",
  "unknown-node": "RINGFORGE_INVALID_REQUEST",
  "no-room": "RINGFORGE_ADDRESS_IN_USE",
};

/** A node provider could not add or remove a node; the cluster is as it was before the call. */
export class NodeProviderError extends RingforgeError {
  /** What was tried. */
  readonly action: "add" | "remove";
  /** Why it failed. */
  readonly failure: ScalingFailure;
  /** The node, when there is one (the id a new node was given, the node to remove). */
  readonly node: string | undefined;

  /** @param message the whole message, naming the node and what to look at */
  constructor(
    action: "add" | "remove",
    failure: ScalingFailure,
    node: string | undefined,
    message: string,
    details: Record<string, unknown> = {},
  ) {
    super(CODES[failure], message, { action, failure, ...(node === undefined ? {} : { node }), ...details });
    this.action = action;
    this.failure = failure;
    this.node = node;
  }
}
