/**
 * ringforge: compose Dynamo-style distributed key-value stores from pluggable strategies.
 *
 * This entry point is for composing and using stores: {@link createCluster} and {@link store}
 * (a config as data, or a builder in code), the strategy choices of the bundled plugins, the
 * clients (typed values and merges, sessions, CRDT data types), typed errors and the runtime
 * helpers. Writing a strategy of your own is `ringforge/plugin-kit`; the lab is
 * `ringforge/sim`; node processes are `ringforge/server` and `ringforge/client`; the bundled
 * plugins' classes are `ringforge/plugins`.
 *
 * @example
 * ```ts
 * import { createCluster, encodeText, decodeText } from "ringforge";
 *
 * const cluster = await createCluster({ nodes: 5, replication: { n: 3, r: 2, w: 2 } });
 * const node = cluster.node("n1");
 * await node.put("greeting", encodeText("hello"));
 * const { values } = await node.get("greeting");
 * console.log(values.map(decodeText)); // ["hello"]
 * await cluster.stop();
 * ```
 *
 * @module
 */
import { type Cluster, type ClusterOptions, startCluster } from "./core/build/cluster.ts";
import type { StoreConfig } from "./core/build/config.ts";
import type { PluginRegistry } from "./core/build/registry.ts";
import { StoreBuilder } from "./core/build/store-builder.ts";
import { builtinPlugins } from "./plugins/index.ts";

// ---- building stores ------------------------------------------------------------------------

/**
 * Builds and starts an in-process cluster from a config (plain data, e.g. a parsed JSON file).
 * Plugin names resolve through {@link builtinPlugins} unless `options.registry` says otherwise
 * (`builtinPlugins.with(myPlugin)` adds your own); every option of {@link ClusterOptions} is optional.
 *
 * @throws {InvalidConfigError} or {@link UnknownPluginError} for a bad config
 *
 * @example
 * ```ts
 * const cluster = await createCluster({ nodes: 5, resolver: "dotted-version-vector" });
 * const mine = await createCluster({ partitioner: "jump-hash" }, { registry: builtinPlugins.with(jumpHashPlugin) });
 * ```
 */
export function createCluster(config: StoreConfig | unknown = {}, options: Partial<ClusterOptions> = {}): Promise<Cluster> {
  return startCluster(config, { ...options, registry: options.registry ?? builtinPlugins });
}

/**
 * Starts composing a store in code, from the built-in plugins (or `registry`).
 *
 * @example
 * ```ts
 * const cluster = await store().nodes(5).use(lastWriteWins()).cluster();
 * ```
 */
export function store(registry: PluginRegistry = builtinPlugins): StoreBuilder {
  return new StoreBuilder(registry);
}

export { type Cluster, type ClusterOptions, type JoinedNode } from "./core/build/cluster.ts";
export { StoreBuilder } from "./core/build/store-builder.ts";
export {
  type MemberConfig,
  type PluginRef,
  type PluginSpec,
  type ResolvedStore,
  resolveStoreConfig,
  type StoreConfig,
  storeToConfig,
} from "./core/build/config.ts";
export { PluginRegistry } from "./core/build/registry.ts";
export type { PluginChoice } from "./core/build/plugin.ts";
export { builtinPlugins } from "./plugins/index.ts";

// ---- choosing strategies (each plugin's typed factory, for store().use(...)) ----------------

export { consistentHash, fixedPartitions, rendezvous } from "./plugins/partitioners/index.ts";
export { quorum, sloppyQuorum } from "./plugins/replicators/index.ts";
export { dottedVersionVector, lastWriteWins, vectorClock } from "./plugins/resolvers/index.ts";
export { gossip, phiAccrual, staticMembership, swim } from "./plugins/detectors/index.ts";
export { levelEngine, lsmEngine, memoryEngine } from "./plugins/engines/index.ts";
export { inProcess, tcp } from "./plugins/transports/index.ts";
export { merkleAntiEntropy, noAntiEntropy } from "./plugins/anti-entropy/index.ts";
export { noConsensus, paxos } from "./plugins/consensus/index.ts";
export { noScaler, targetTrackingScaler, thresholdScaler } from "./plugins/scalers/index.ts";

// ---- using a node -----------------------------------------------------------------------------

export type { GetOptions, GetResult, PutOptions, PutResult, RingforgeNode } from "./core/node/ringforge-node.ts";
export type { JoinResult, LeaveOptions } from "./core/node/membership-change.ts";
export type { RingView } from "./core/node/ring-membership.ts";
export type { Consistency, ReplicationSettings } from "./core/model/settings.ts";
export { DEFAULT_LIMITS, type Limits } from "./core/model/limits.ts";
export type { CausalContext } from "./core/model/causal-context.ts";
export type { NodeId } from "./core/model/sibling.ts";
export type { MemberInfo } from "./core/interfaces/partitioner.ts";
export { decodeJson, decodeText, encodeJson, encodeText } from "./core/codec/bytes.ts";

// ---- clients ----------------------------------------------------------------------------------

export {
  bytesCodec,
  DELETE,
  jsonCodec,
  type KeyValueStore,
  type Read,
  type ReadOptions,
  StoreClient,
  type StoreClientOptions,
  type StoredValues,
  textCodec,
  type UpdateOptions,
  type UpdateResult,
  type ValueCodec,
  type WriteOptions,
  type WriteResult,
} from "./core/client/store-client.ts";
export { Session, type SessionOptions } from "./core/client/session.ts";
// Data types (a custom one is a DataType over a CrdtStore: see ringforge/plugin-kit).
export type { CrdtStoreOptions } from "./core/client/crdt-store.ts";
export { Counters, type PnCounter, pnCounterValue } from "./core/client/datatypes/pn-counter.ts";
export { type OrSet, orSetMembers, Sets } from "./core/client/datatypes/or-set.ts";
export { Registers } from "./core/client/datatypes/lww-register.ts";
export { MultiRegisters, type MvRegister, mvRegisterValues } from "./core/client/datatypes/mv-register.ts";
export { type MapSchema, type MapState, mapType } from "./core/client/datatypes/crdt-map.ts";
export type { Dot, VersionVector } from "./core/client/datatypes/causal.ts";

// ---- automatic scaling -----------------------------------------------------------------------

export {
  Autoscaler,
  type AutoscalerDeps,
  type AutoscalerOptions,
  type AutoscalerStats,
  type DecisionOutcome,
  type DecisionRecord,
} from "./core/scaling/autoscaler.ts";
export type { ClusterLoad, NodeLoad, NodeProvider, Scaler, ScalingDecision, ScalingLimits } from "./core/interfaces/scaler.ts";

// ---- errors -----------------------------------------------------------------------------------

export {
  AddressInUseError,
  type ConfigIssue,
  ConnectionLostError,
  CorruptDataError,
  DirectoryLockedError,
  EngineNotOpenError,
  InvalidConfigError,
  InvalidContextError,
  InvalidKeyError,
  InvalidMessageError,
  InvalidRequestError,
  InvalidValueError,
  MembershipConflictError,
  NotRunningError,
  OverloadedError,
  PreconditionFailedError,
  QuorumNotReachedError,
  RecordTooLargeError,
  RemoteError,
  RetriesExhaustedError,
  RingforgeError,
  type RingforgeErrorCode,
  SiblingLimitError,
  StaleReadError,
  TimeoutError,
  UnauthorizedError,
  UnknownPluginError,
  UnreachableNodeError,
} from "./core/errors.ts";

// ---- runtime ----------------------------------------------------------------------------------

export { type Runtime, systemRuntime, type VirtualRuntime, virtualRuntime } from "./core/runtime/runtime.ts";
export { sleep } from "./core/interfaces/clock.ts";
export { consoleLogger, type Logger, type LogLevel, silentLogger } from "./core/interfaces/logger.ts";
