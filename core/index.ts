/**
 * ringforge core: the strategy interfaces, the data model, typed errors, the request paths and
 * the node build. It imports nothing from plugins; plugins implement what it defines.
 *
 * - Interfaces: {@link Partitioner}, {@link Replicator}, {@link ConflictResolver},
 *   {@link FailureDetector}, {@link StorageEngine}, {@link Transport}, {@link Clock} /
 *   {@link Scheduler}, {@link Random}, {@link Logger} — each with an injection token.
 * - Data model: string keys, byte values, {@link Sibling} sets with tombstones, the opaque
 *   {@link CausalContext}.
 * - {@link RingforgeNode}: coordinator and replica; {@link createCluster} and
 *   {@link StoreBuilder} build nodes from config data or code through a tsyringe container per
 *   node.
 *
 * @example
 * ```ts
 * import { createCluster } from "ringforge/core";
 * import { builtinPlugins } from "ringforge/plugins";
 *
 * const cluster = await createCluster({ nodes: 3 }, { registry: builtinPlugins });
 * ```
 *
 * @module
 */
import "reflect-metadata";

export * from "./errors.ts";

export * from "./interfaces/clock.ts";
export * from "./interfaces/random.ts";
export * from "./interfaces/logger.ts";
export * from "./interfaces/storage-engine.ts";
export * from "./interfaces/partitioner.ts";
export * from "./interfaces/failure-detector.ts";
export * from "./interfaces/transport.ts";
export * from "./interfaces/conflict-resolver.ts";
export * from "./interfaces/replicator.ts";
export * from "./interfaces/anti-entropy.ts";
export * from "./interfaces/data-type.ts";
export * from "./interfaces/records.ts";
export * from "./interfaces/message-router.ts";
export * from "./interfaces/simulated-network.ts";
export * from "./interfaces/token.ts";

export * from "./model/sibling.ts";
export * from "./model/limits.ts";
export * from "./model/causal-context.ts";
export * from "./model/keyspace.ts";
export * from "./model/latency.ts";

export * from "./codec/bytes.ts";
export { encode as encodeMessagePack, decode as decodeMessagePack } from "./codec/msgpack.ts";
export * from "./codec/record-codec.ts";

export * from "./hash/murmur3.ts";

export * from "./runtime/seeded-random.ts";
export * from "./runtime/virtual-scheduler.ts";
export * from "./runtime/runtime.ts";
export { systemClock, systemScheduler, systemRandom } from "./runtime/system-runtime.ts";

export * from "./client/session.ts";
export * from "./client/store-client.ts";
export * from "./client/crdt-store.ts";
export * from "./client/datatypes/index.ts";

export * from "./model/settings.ts";
export * from "./node/consistency.ts";
export * from "./node/keyed-mutex.ts";
export * from "./node/message-router.ts";
export * from "./node/replicas.ts";
export * from "./node/lifecycle.ts";
export * from "./node/ringforge-node.ts";
export * from "./node/record-store.ts";
export * from "./node/range-sync.ts";
export * from "./node/ring-membership.ts";
export * from "./node/handoff.ts";
export * from "./node/membership-change.ts";
export * from "./node/tombstone-gc.ts";
export * as protocol from "./node/protocol.ts";

export * from "./build/plugin.ts";
export * from "./build/registry.ts";
export * from "./build/config.ts";
export * from "./build/tokens.ts";
export * from "./build/node-build.ts";
export * from "./build/cluster.ts";
export * from "./build/store-builder.ts";
export * from "./build/standalone-context.ts";
