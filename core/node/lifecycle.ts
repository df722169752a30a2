/**
 * A node's lifecycle state, shared by the node and the parts that act on its behalf (a leave
 * turns replica writes off; a join or leave stops when the node stops).
 *
 * @module
 */

/** Where a node is in its life: built, running, draining, or stopped for good. */
export type NodeState = "new" | "running" | "stopping" | "stopped";

/** The state of one node; the node changes it, its parts read it. */
export class NodeLifecycle {
  /** Where the node is. */
  state: NodeState = "new";
  /** Set once the node has left the ring view: replica writes are refused from then on. */
  refuseWrites = false;

  /** True between start and stop. */
  get running(): boolean {
    return this.state === "running";
  }
}
