/**
 * The node build: wires a resolved store into one tsyringe child container per node.
 *
 * @module
 */
import { type DependencyContainer, globalContainer, instanceCachingFactory } from "./di.ts";
import { CLOCK, SCHEDULER } from "../interfaces/clock.ts";
import { CONFLICT_RESOLVER } from "../interfaces/conflict-resolver.ts";
import { FAILURE_DETECTOR } from "../interfaces/failure-detector.ts";
import { LOGGER } from "../interfaces/logger.ts";
import { PARTITIONER } from "../interfaces/partitioner.ts";
import { RANDOM } from "../interfaces/random.ts";
import { REPLICATOR, REPLICA_CLIENT, type ReplicaClient } from "../interfaces/replicator.ts";
import { STORAGE_ENGINE } from "../interfaces/storage-engine.ts";
import { TRANSPORT } from "../interfaces/transport.ts";
import type { NodeId } from "../model/sibling.ts";
import { RingforgeNode } from "../node/ringforge-node.ts";
import { ANTI_ENTROPY } from "../interfaces/anti-entropy.ts";
import { RANGE_SYNC, RECORD_STORE } from "../node/tokens.ts";
import { RangeSync } from "../node/range-sync.ts";
import { RecordStore } from "../node/record-store.ts";
import type { Clock } from "../interfaces/clock.ts";
import type { ConflictResolver } from "../interfaces/conflict-resolver.ts";
import type { MemberInfo, Partitioner } from "../interfaces/partitioner.ts";
import type { StorageEngine } from "../interfaces/storage-engine.ts";
import type { Transport } from "../interfaces/transport.ts";
import { MESSAGE_ROUTER, MessageRouter } from "../node/message-router.ts";
import { NODE_SETTINGS, type NodeSettings } from "../node/settings.ts";
import type { Runtime } from "../runtime/runtime.ts";
import type { ResolvedStore } from "./config.ts";
import { PLUGIN_FAMILIES } from "./plugin.ts";
import { MEMBERS, NODE, RUNTIME } from "./tokens.ts";

/**
 * Creates the root container of a set of nodes sharing one runtime (one process, or one
 * simulation): registers the runtime and the store's members, and lets every plugin register
 * its shared services. The root is a child of tsyringe's global container, which is never
 * written to, so independent clusters in one process share nothing.
 */
export function createRootContainer(store: ResolvedStore, runtime: Runtime): DependencyContainer {
  const root = globalContainer.createChildContainer();
  root.register(RUNTIME, { useValue: runtime });
  root.register(SCHEDULER, { useValue: runtime.scheduler });
  root.register(MEMBERS, { useValue: store.members });
  for (const family of PLUGIN_FAMILIES) {
    const { plugin, options } = store.plugins[family];
    plugin.registerShared?.(root, options);
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
 * logger, then every plugin's service, then the node itself. Returns the node (not started)
 * and its container. `member` describes a node that is not among the configured members (one
 * that will join).
  *
  * @example
  * ```ts
  * const root = createRootContainer(store, virtualRuntime(1));
  * const node = buildNode(root, store, "n1");
  * await node.start();
  * ```
 */
export function buildNode(root: DependencyContainer, store: ResolvedStore, id: NodeId, member?: MemberInfo): BuiltNode {
  const runtime = root.resolve<Runtime>(RUNTIME);
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
  c.register(NODE_SETTINGS, { useValue: settings });
  c.register(CLOCK, { useValue: runtime.clockFor(id) });
  c.register(RANDOM, { useValue: runtime.random.fork(`node:${id}`) });
  c.register(LOGGER, { useValue: runtime.loggerFor(id) });
  c.register(MESSAGE_ROUTER, { useValue: new MessageRouter() });
  for (const family of PLUGIN_FAMILIES) {
    const { plugin, options } = store.plugins[family];
    plugin.register(c, options);
  }
  // The replicator reaches replicas through the node, and the node needs the replicator:
  // the client resolves the node when first called, which breaks the cycle.
  let self: RingforgeNode | undefined;
  const nodeOf = () => (self ??= c.resolve<RingforgeNode>(NODE));
  const replicaClient: ReplicaClient = {
    write: (node, key, siblings, timeoutMs) => nodeOf().write(node, key, siblings, timeoutMs),
    read: (node, key, timeoutMs) => nodeOf().read(node, key, timeoutMs),
  };
  c.register(REPLICA_CLIENT, { useValue: replicaClient });
  c.register(RECORD_STORE, {
    useFactory: instanceCachingFactory((k) => {
      const partitioner = k.resolve<Partitioner>(PARTITIONER);
      return new RecordStore(k.resolve<StorageEngine>(STORAGE_ENGINE), (key) => partitioner.token(key), k.resolve<Clock>(CLOCK), {
        limits: settings.limits,
      });
    }),
  });
  c.register(RANGE_SYNC, {
    useFactory: instanceCachingFactory(
      (k) =>
        new RangeSync({
          id,
          store: k.resolve(RECORD_STORE),
          transport: k.resolve<Transport>(TRANSPORT),
          resolver: k.resolve<ConflictResolver>(CONFLICT_RESOLVER),
          router: k.resolve(MESSAGE_ROUTER),
          limits: settings.limits,
        }),
    ),
  });
  c.register(NODE, {
    useFactory: instanceCachingFactory(
      (k) =>
        new RingforgeNode({
          settings: k.resolve(NODE_SETTINGS),
          clock: k.resolve(CLOCK),
          logger: k.resolve(LOGGER),
          engine: k.resolve(STORAGE_ENGINE),
          transport: k.resolve(TRANSPORT),
          partitioner: k.resolve(PARTITIONER),
          detector: k.resolve(FAILURE_DETECTOR),
          resolver: k.resolve(CONFLICT_RESOLVER),
          replicator: k.resolve(REPLICATOR),
          router: k.resolve(MESSAGE_ROUTER),
          scheduler: k.resolve(SCHEDULER),
          random: k.resolve(RANDOM),
          members: store.members,
          store: k.resolve(RECORD_STORE),
          sync: k.resolve(RANGE_SYNC),
          antiEntropy: k.resolve(ANTI_ENTROPY),
        }),
    ),
  });
  return { node: c.resolve<RingforgeNode>(NODE), container: c };
}
