/**
 * The node build: wires a resolved store into one tsyringe child container per node. Every
 * service of a node is made here, in one place: the plugins' services from their typed
 * {@link PluginContext}, and core's own parts (records, range sync, replicas, ring membership,
 * handoff, joins and leaves, tombstone GC) around them.
 *
 * @module
 */
import { type DependencyContainer, get, globalContainer, provide, provideValue } from "./di.ts";
import { ANTI_ENTROPY } from "../interfaces/anti-entropy.ts";
import { CONSENSUS } from "../interfaces/consensus.ts";
import { SCALER } from "../interfaces/scaler.ts";
import { CLOCK, SCHEDULER } from "../interfaces/clock.ts";
import { FILE_SYSTEM } from "../interfaces/file-system.ts";
import { CONFLICT_RESOLVER } from "../interfaces/conflict-resolver.ts";
import { FAILURE_DETECTOR } from "../interfaces/failure-detector.ts";
import { LOGGER } from "../interfaces/logger.ts";
import { PARTITIONER } from "../interfaces/partitioner.ts";
import type { MemberInfo } from "../interfaces/partitioner.ts";
import { RANDOM } from "../interfaces/random.ts";
import { REPLICATOR } from "../interfaces/replicator.ts";
import { STORAGE_ENGINE } from "../interfaces/storage-engine.ts";
import type { Token } from "../interfaces/token.ts";
import { TRANSPORT } from "../interfaces/transport.ts";
import { keyspace } from "../model/keyspace.ts";
import type { NodeSettings } from "../model/settings.ts";
import type { NodeId } from "../model/sibling.ts";
import { Handoff } from "../node/handoff.ts";
import { NodeLifecycle } from "../node/lifecycle.ts";
import { MembershipChange } from "../node/membership-change.ts";
import { MessageTable } from "../node/message-router.ts";
import { HashTreeSync } from "../node/range-sync.ts";
import { RecordStore } from "../node/record-store.ts";
import { Replicas } from "../node/replicas.ts";
import { RingMembership } from "../node/ring-membership.ts";
import { RingforgeNode } from "../node/ringforge-node.ts";
import { TombstoneGc } from "../node/tombstone-gc.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { systemClock, systemScheduler } from "../runtime/system-runtime.ts";
import type { ResolvedStore } from "./config.ts";
import { type FamilyServices, PLUGIN_FAMILIES, type PluginContext, type PluginFamily, type SharedContext } from "./plugin.ts";
import { MEMBERS, MESSAGE_TABLE, NODE, NODE_SETTINGS, RANGE_SYNC, RECORD_STORE, REPLICAS, RUNTIME, sharedToken } from "./tokens.ts";

/** The token each family's service is registered under. */
const FAMILY_TOKENS: { readonly [F in PluginFamily]: Token<FamilyServices[F]> } = {
  engine: STORAGE_ENGINE,
  transport: TRANSPORT,
  detector: FAILURE_DETECTOR,
  partitioner: PARTITIONER,
  resolver: CONFLICT_RESOLVER,
  replicator: REPLICATOR,
  antiEntropy: ANTI_ENTROPY,
  consensus: CONSENSUS,
  scaler: SCALER,
};

/**
 * Creates the root container of a set of nodes sharing one runtime (one process, or one
 * simulation): registers the runtime and the store's members, and what each plugin shares
 * across nodes (made when first used). The root is a child of tsyringe's global container,
 * which is never written to, so independent clusters in one process share nothing.
 */
export function createRootContainer(store: ResolvedStore, runtime: Runtime): DependencyContainer {
  const root = globalContainer.createChildContainer();
  provideValue(root, RUNTIME, runtime);
  provideValue(root, SCHEDULER, runtime.scheduler);
  provideValue(root, MEMBERS, store.members);
  const shared: SharedContext = { scheduler: runtime.scheduler, random: runtime.random, members: store.members };
  for (const family of PLUGIN_FAMILIES) {
    const { plugin, options } = store.plugins[family];
    const createShared = plugin.createShared;
    if (createShared) provide(root, sharedToken(family), () => createShared.call(plugin, shared, options));
  }
  return root;
}

/** A node and the container it was built in. */
export interface BuiltNode {
  /** The node, not started. */
  readonly node: RingforgeNode;
  /** Its child container: resolve its services by token. */
  readonly container: DependencyContainer;
}

/**
 * Builds node `id` in its own child container of `root`: node settings, clock, randomness and
 * logger, then every plugin's service (each from its {@link PluginContext}), core's parts, and
 * the node itself. Returns the node (not started) and its container. `member` describes a node
 * that is not among the configured members (one that will join).
 *
 * @example
 * ```ts
 * const root = createRootContainer(store, virtualRuntime(1));
 * const { node } = buildNode(root, store, "n1");
 * await node.start();
 * ```
 */
export function buildNode(root: DependencyContainer, store: ResolvedStore, id: NodeId, member?: MemberInfo): BuiltNode {
  const runtime = get(root, RUNTIME);
  const c = root.createChildContainer();
  const settings: NodeSettings = {
    id,
    replication: store.replication,
    limits: store.limits,
    requestTimeoutMs: store.requestTimeoutMs,
    member: member ?? store.members.find((m) => m.id === id) ?? { id },
    tombstones: store.tombstones,
    handoff: store.handoff,
  };
  const clock = runtime.clockFor(id);
  // The node's own timers (its lane, in a simulation): pausing the node holds them.
  const scheduler = runtime.schedulerFor(id);
  const random = runtime.random.fork(`node:${id}`);
  const logger = runtime.loggerFor(id);
  const router = new MessageTable();
  provideValue(c, NODE_SETTINGS, settings);
  provideValue(c, CLOCK, clock);
  provideValue(c, RANDOM, random);
  provideValue(c, LOGGER, logger);
  provideValue(c, MESSAGE_TABLE, router);

  const realTime = { clock: systemClock, scheduler: systemScheduler };
  const fs = runtime.fileSystemFor(id);
  provideValue(c, FILE_SYSTEM, fs);
  const base = { settings, members: store.members, clock, scheduler, random, logger, realTime, router, fs };
  for (const family of PLUGIN_FAMILIES) {
    const { plugin, options } = store.plugins[family];
    const context = pluginContext(c, base, family);
    provide(c, FAMILY_TOKENS[family], () => plugin.create(context, options));
  }
  provide(c, RECORD_STORE, (k) => {
    const partitioner = get(k, PARTITIONER);
    return new RecordStore(get(k, STORAGE_ENGINE), (key) => partitioner.token(key), clock, { limits: settings.limits });
  });
  provide(c, RANGE_SYNC, (k) =>
    new HashTreeSync({
      id,
      store: get(k, RECORD_STORE),
      transport: get(k, TRANSPORT),
      resolver: get(k, CONFLICT_RESOLVER),
      router,
      limits: settings.limits,
    }));
  provide(
    c,
    REPLICAS,
    (k) => new Replicas({ id, store: get(k, RECORD_STORE), resolver: get(k, CONFLICT_RESOLVER), transport: get(k, TRANSPORT) }),
  );

  // The order of resolution is the order services are made (and register their routes): the
  // strategies first, then core's parts that use them.
  const engine = get(c, STORAGE_ENGINE);
  const transport = get(c, TRANSPORT);
  const partitioner = get(c, PARTITIONER);
  const detector = get(c, FAILURE_DETECTOR);
  const resolver = get(c, CONFLICT_RESOLVER);
  const replicator = get(c, REPLICATOR);
  const store_ = get(c, RECORD_STORE);
  const sync = get(c, RANGE_SYNC);
  const antiEntropy = get(c, ANTI_ENTROPY);
  const consensus = get(c, CONSENSUS);
  const replicas = get(c, REPLICAS);
  const n = () => settings.replication.n;
  const timeoutMs = settings.requestTimeoutMs;
  const lifecycle = new NodeLifecycle();
  const ring = new RingMembership({
    id,
    meta: keyspace(engine, "meta"),
    partitioner,
    transport,
    random: random.fork("ring"),
    logger,
    configured: store.members,
  });
  const handoff = new Handoff({ id, store: store_, sync, partitioner, detector, n, logger, timeoutMs });
  const services = {
    settings,
    clock,
    scheduler,
    random,
    logger,
    members: store.members,
    engine,
    transport,
    partitioner,
    detector,
    resolver,
    replicator,
    antiEntropy,
    consensus,
    store: store_,
    sync,
    replicas,
    router,
    ring,
    handoff,
    lifecycle,
  };
  const membership = new MembershipChange({
    ...services,
    running: () => lifecycle.running,
    refuseWrites: (on) => {
      lifecycle.refuseWrites = on;
    },
  });
  const tombstones = new TombstoneGc({
    id,
    store: store_,
    clock,
    partitioner,
    n,
    transport,
    router,
    limits: settings.limits,
    logger,
    settings: settings.tombstones,
    timeoutMs,
  });
  const node = new RingforgeNode({ ...services, membership, tombstones });
  provideValue(c, NODE, node);
  return { node, container: c };
}

/** What every plugin of a node gets alike. */
interface ContextBase {
  readonly settings: NodeSettings;
  readonly members: readonly MemberInfo[];
  readonly clock: PluginContext["clock"];
  readonly scheduler: PluginContext["scheduler"];
  readonly random: PluginContext["random"];
  readonly logger: PluginContext["logger"];
  readonly realTime: PluginContext["realTime"];
  readonly router: PluginContext["router"];
  readonly fs: PluginContext["fs"];
}

/**
 * The context the plugin of `family` gets on the node of container `c`: the node's other
 * services are resolved from the container when the plugin first asks for them.
 */
function pluginContext(c: DependencyContainer, base: ContextBase, family: PluginFamily): PluginContext {
  return {
    ...base,
    keyspace: (name) => keyspace(get(c, STORAGE_ENGINE), name),
    get shared() {
      return c.isRegistered(sharedToken(family), true) ? get(c, sharedToken(family)) : undefined;
    },
    get engine() {
      return get(c, STORAGE_ENGINE);
    },
    get transport() {
      return get(c, TRANSPORT);
    },
    get partitioner() {
      return get(c, PARTITIONER);
    },
    get detector() {
      return get(c, FAILURE_DETECTOR);
    },
    get resolver() {
      return get(c, CONFLICT_RESOLVER);
    },
    get replicas() {
      return get(c, REPLICAS);
    },
    get records() {
      return get(c, RECORD_STORE);
    },
    get sync() {
      return get(c, RANGE_SYNC);
    },
  };
}
