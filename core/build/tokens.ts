/**
 * Injection tokens of the node build itself (the strategy tokens live next to their
 * interfaces).
 *
 * @module
 */

/** The {@link Runtime} shared by the nodes of a root container. */
export const RUNTIME: unique symbol = Symbol.for("ringforge.Runtime");
/** The configured members (`readonly MemberInfo[]`), shared by the nodes of a root container. */
export const MEMBERS: unique symbol = Symbol.for("ringforge.Members");
/** The {@link RingforgeNode} of a node's container. */
export const NODE: unique symbol = Symbol.for("ringforge.Node");
