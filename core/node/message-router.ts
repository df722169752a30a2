/**
 * Routes incoming messages to the protocol that owns their type, so plugins (gossip, SWIM,
 * anti-entropy, hinted handoff) can talk over the node's one transport.
 *
 * @module
 */
import { InvalidMessageError } from "../errors.ts";
import type { MessageRouter } from "../interfaces/message-router.ts";
import type { Message, MessageHandler } from "../interfaces/transport.ts";
import type { NodeId } from "../model/sibling.ts";

/**
 * One node's table of message handlers by type prefix (`"gossip."`, `"swim."`...). The node
 * serves `kv.` itself and hands every other message to the router.
 *
 * @example
 * ```ts
 * router.on("gossip.", (message, from) => detector.receive(message, from));
 * ```
 */
export class MessageTable implements MessageRouter {
  readonly #routes = new Map<string, MessageHandler>();

  /**
   * Routes messages whose type starts with `prefix` (which must end with ".") to `handler`.
   * @throws {Error} if another handler owns the prefix
   */
  on(prefix: string, handler: MessageHandler): void {
    if (!prefix.endsWith(".")) throw new Error(`a route prefix ends with ".", got "${prefix}"`);
    if (this.#routes.has(prefix)) throw new Error(`message prefix "${prefix}" is already routed`);
    this.#routes.set(prefix, handler);
  }

  /** Removes the route of `prefix`, if any. */
  off(prefix: string): void {
    this.#routes.delete(prefix);
  }

  /**
   * Hands `message` to the handler of its type's prefix.
   * @throws {InvalidMessageError} if no handler owns it
   */
  dispatch(message: Message, from: NodeId): ReturnType<MessageHandler> {
    const dot = message.type.indexOf(".");
    const handler = dot > 0 ? this.#routes.get(message.type.slice(0, dot + 1)) : undefined;
    if (!handler) throw new InvalidMessageError(`no protocol handles message type "${message.type}"`);
    return handler(message, from);
  }
}
