/**
 * The Transport interface: messages between nodes.
 *
 * @module
 */
import { type Token, token } from "./token.ts";
import type { NodeId } from "../model/sibling.ts";

/**
 * A message between nodes: plain data (objects, arrays, strings, numbers, booleans, null,
 * Uint8Array) with a `type` naming it. Protocols prefix their types (`kv.`, `gossip.`...) so
 * one node can route them.
 */
export interface Message {
  /** What the message is, e.g. `"kv.put"`. */
  readonly type: string;
  /** Further fields. */
  readonly [field: string]: unknown;
}

/**
 * Handles a message arriving from `from`. For a request the returned message is the reply (a
 * thrown error reaches the requester as a typed error); for a one-way message it is ignored.
 */
export type MessageHandler = (message: Message, from: NodeId) => Promise<Message | void> | Message | void;

/** Options of a {@link Transport.request}. */
export interface RequestOptions {
  /** Rejects with {@link TimeoutError} if no reply comes within this many ms. */
  readonly timeoutMs: number;
}

/**
 * Request/response and one-way messaging between nodes (a simulated network, TCP...).
 *
 * Contract (the conformance suite checks it):
 * - `request` resolves with the handler's reply, or rejects with {@link TimeoutError} after
 *   `timeoutMs`, with {@link UnreachableNodeError} when the peer is known to be unreachable, or
 *   with the handler's error rebuilt by {@link errorFromWire};
 * - `send` is best effort: it never throws for delivery problems;
 * - messages are copied (encoded) in transit: the receiver never shares objects with the sender;
 * - a node may send to itself; `stop()` makes pending requests reject and drops later messages.
 */
export interface Transport {
  /** This node's id. */
  readonly self: NodeId;
  /** Starts accepting messages, delivering each to `handler`. */
  start(handler: MessageHandler): Promise<void>;
  /** Sends a request and waits for the reply. */
  request(to: NodeId, message: Message, options: RequestOptions): Promise<Message>;
  /** Sends a one-way message. */
  send(to: NodeId, message: Message): void;
  /** Stops accepting messages and closes connections. */
  stop(): Promise<void>;
}

/** Injection token for the node's {@link Transport}. */
export const TRANSPORT: Token<Transport> = token<Transport>("Transport");
