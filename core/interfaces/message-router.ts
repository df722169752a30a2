/**
 * The MessageRouter port: how a plugin speaks its own protocol (gossip, SWIM, hinted handoff,
 * anti-entropy) over the node's one transport.
 *
 * @module
 */
import type { MessageHandler } from "./transport.ts";

/**
 * One node's table of message handlers by type prefix (`"gossip."`, `"swim."`, ...). The node
 * serves its own `kv.` and `ring.` messages and hands every other incoming message to the
 * handler of its type's prefix. A plugin registers its prefix when it is created and sends
 * with the transport.
 *
 * @example
 * ```ts
 * context.router.on("gossip.", (message, from) => detector.receive(message, from));
 * ```
 */
export interface MessageRouter {
  /**
   * Routes messages whose type starts with `prefix` (which must end with ".") to `handler`.
   * @throws {Error} if another handler owns the prefix
   */
  on(prefix: string, handler: MessageHandler): void;
  /** Removes the route of `prefix`, if any. */
  off(prefix: string): void;
}
