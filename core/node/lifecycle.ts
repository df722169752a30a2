/**
 * A node's lifecycle state, shared by the node and the parts that act on its behalf (a leave
 * turns replica writes off; a join or leave stops when the node stops).
 *
 * @module
 */

/** Where a node is in its life: built, running, draining, or stopped for good. */
export type NodeState = "new" | "running" | "stopping" | "stopped";

/** State changes of every node in this process so far. */
let changes = 0;

/**
 * How many times any node's state has changed in this process: a list of the running nodes
 * made when it was `x` is still right while it is `x` (the simulator keeps one, to pick a
 * coordinator per operation among hundreds of nodes without asking each).
 */
export function lifecycleChanges(): number {
  return changes;
}

/** The state of one node; the node changes it, its parts read it. */
export class NodeLifecycle {
  #state: NodeState = "new";

  /** Where the node is. */
  get state(): NodeState {
    return this.#state;
  }

  set state(state: NodeState) {
    if (state === this.#state) return;
    this.#state = state;
    changes++;
  }

  /** Set once the node has left the ring view: replica writes are refused from then on. */
  refuseWrites = false;

  /** True between start and stop. */
  get running(): boolean {
    return this.state === "running";
  }
}
