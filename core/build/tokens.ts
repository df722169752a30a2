/**
 * Injection tokens of the node build itself, typed by what they name. The strategy tokens live
 * next to their interfaces; these name what the build makes around them. Plugins never see a
 * token: they receive a {@link PluginContext}.
 *
 * @module
 */
import type { MessageTable } from "../node/message-router.ts";
import type { NodeSettings } from "../model/settings.ts";
import type { MemberInfo } from "../interfaces/partitioner.ts";
import type { Replicas } from "../node/replicas.ts";
import type { RecordStore } from "../node/record-store.ts";
import type { HashTreeSync } from "../node/range-sync.ts";
import type { RingforgeNode } from "../node/ringforge-node.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { type Token, token } from "../interfaces/token.ts";
import type { PluginFamily } from "./plugin.ts";

/** The node's settings. */
export const NODE_SETTINGS: Token<NodeSettings> = token<NodeSettings>("NodeSettings");
/** The runtime shared by the nodes of a root container. */
export const RUNTIME: Token<Runtime> = token<Runtime>("Runtime");
/** The configured members, shared by the nodes of a root container. */
export const MEMBERS: Token<readonly MemberInfo[]> = token<readonly MemberInfo[]>("Members");
/** The node of a node's container. */
export const NODE: Token<RingforgeNode> = token<RingforgeNode>("Node");
/** The node's records, in token order, and their hash tree. */
export const RECORD_STORE: Token<RecordStore> = token<RecordStore>("RecordStore");
/** The node's hash-tree range sync. */
export const RANGE_SYNC: Token<HashTreeSync> = token<HashTreeSync>("RangeSync");
/** How the node's coordinator and replicator reach replicas. */
export const REPLICAS: Token<Replicas> = token<Replicas>("Replicas");
/** The node's table of message routes. */
export const MESSAGE_TABLE: Token<MessageTable> = token<MessageTable>("MessageTable");

/** What the plugin of `family` shared across the nodes of a root container (its `createShared`). */
export function sharedToken(family: PluginFamily): Token<unknown> {
  return token<unknown>(`shared.${family}`);
}
