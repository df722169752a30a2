/**
 * In-process clusters: every node of a store in one process, on one runtime.
 *
 * @module
 */
import type { DependencyContainer } from "./di.ts";
import { NotRunningError } from "../errors.ts";
import type { NodeId } from "../model/sibling.ts";
import type { RingforgeNode } from "../node/ringforge-node.ts";
import type { JoinResult, LeaveOptions } from "../node/membership-change.ts";
import type { MemberInfo } from "../interfaces/partitioner.ts";
import { type Runtime, type VirtualRuntime, virtualRuntime } from "../runtime/runtime.ts";
import { VirtualScheduler } from "../runtime/virtual-scheduler.ts";
import { type ResolvedStore, resolveStoreConfig } from "./config.ts";
import { buildNode, createRootContainer } from "./node-build.ts";
import type { PluginRegistry } from "./registry.ts";
import type { PluginFamily } from "./plugin.ts";
import { sharedToken } from "./tokens.ts";
import { get } from "./di.ts";

/** What {@link Cluster.join} returns: what the join streamed, and the new node. */
export interface JoinedNode extends JoinResult {
  /** The node that joined, running. */
  readonly node: RingforgeNode;
}

/** How to create a cluster. */
export interface ClusterOptions {
  /** Where plugin names resolve. */
  readonly registry: PluginRegistry;
  /**
   * The runtime. Default: a virtual runtime seeded with the config's `seed`, advancing on its
   * own (so awaited requests complete) — deterministic for a seed.
   */
  readonly runtime?: Runtime;
  /**
   * With a virtual runtime: advance virtual time automatically while the cluster runs (default
   * true). Set false to drive `cluster.scheduler` by hand in tests.
   */
  readonly autoAdvance?: boolean;
}

/**
 * The nodes of one store in one process. Created by `createCluster`.
 *
 * @example
 * ```ts
 * const cluster = await createCluster({ nodes: 5, replication: { n: 3, r: 2, w: 2 } });
 * await cluster.node("n1").put("k", encodeText("v"));
 * console.log((await cluster.node("n4").get("k")).values.map(decodeText)); // ["v"]
 * await cluster.stop();
 * ```
 */
export class Cluster {
  /** The store as resolved from its config. */
  readonly store: ResolvedStore;
  /** The runtime the nodes share. */
  readonly runtime: Runtime;
  /** The root container (shared services); each node has a child of it. */
  readonly container: DependencyContainer;
  readonly #nodes: Map<NodeId, { node: RingforgeNode; container: DependencyContainer }>;
  /** {@link nodeList}'s array; undefined after a node was added or removed. */
  #nodeCache: readonly RingforgeNode[] | undefined;
  readonly #autoAdvance: boolean;
  #next = 0;
  #stopped = false;

  /** @internal use `createCluster` */
  constructor(
    store: ResolvedStore,
    runtime: Runtime,
    root: DependencyContainer,
    nodes: Map<NodeId, { node: RingforgeNode; container: DependencyContainer }>,
    autoAdvance: boolean,
  ) {
    this.store = store;
    this.runtime = runtime;
    this.container = root;
    this.#nodes = nodes;
    this.#autoAdvance = autoAdvance;
  }

  /** The nodes, in member order (a new array each time). */
  get nodes(): RingforgeNode[] {
    return [...this.nodeList()];
  }

  /**
   * The nodes, in member order, without a copy: the same frozen array until a node is added or
   * removed. For callers that ask per request (the simulator picks a coordinator per operation,
   * among as many as 512 nodes).
   */
  nodeList(): readonly RingforgeNode[] {
    return this.#nodeCache ??= Object.freeze([...this.#nodes.values()].map((entry) => entry.node));
  }

  /** Node ids, in member order. */
  get ids(): NodeId[] {
    return [...this.#nodes.keys()];
  }

  /** The node `id`. @throws {RangeError} if there is none */
  node(id: NodeId): RingforgeNode {
    const entry = this.#nodes.get(id);
    if (!entry) throw new RangeError(`no node "${id}" in this cluster (nodes: ${this.ids.join(", ")})`);
    return entry.node;
  }

  /**
   * What the plugin of `family` shares across this cluster's nodes (its `createShared`): the
   * simulated network of the in-process transport, for one. `undefined` if it shares nothing.
   */
  shared(family: PluginFamily): unknown {
    const token = sharedToken(family);
    return this.container.isRegistered(token, true) ? get(this.container, token) : undefined;
  }

  /** The container of node `id`, to resolve its services by token. */
  containerOf(id: NodeId): DependencyContainer {
    const entry = this.#nodes.get(id);
    if (!entry) throw new RangeError(`no node "${id}" in this cluster`);
    return entry.container;
  }

  /**
   * Crashes node `id` ({@link RingforgeNode.crash}): it stops at once, losing what its engine
   * had not made durable. Idempotent.
   */
  async crash(id: NodeId): Promise<void> {
    const node = this.node(id);
    // On a virtual runtime the machine goes down with the process: its simulated disk keeps only
    // what was synced (a torn prefix of the rest, at most), at this very instant. The host's disk
    // is never touched.
    if (node.running) (this.runtime as Partial<VirtualRuntime>).diskOf?.(id).crash();
    await node.crash();
  }

  /**
   * Starts a fresh instance of node `id` after a crash or stop, in a new child container (a
   * restarted process). Its engine finds whatever the old one made durable: nothing for the
   * volatile memory engine, everything for `memory` with `durable: true`.
   */
  async restart(id: NodeId): Promise<RingforgeNode> {
    const old = this.#nodes.get(id);
    if (!old) throw new RangeError(`no node "${id}" in this cluster`);
    if (old.node.running) throw new Error(`node ${id} is running; crash or stop it before restarting`);
    const built = buildNode(this.container, this.store, id, old.node.services.settings.member);
    this.#nodes.set(id, built);
    this.#nodeCache = undefined;
    await built.node.start();
    return built.node;
  }

  /**
   * Adds a node to the running cluster: builds it (with the store's plugins, in a new child
   * container), starts it, and runs {@link RingforgeNode.join}, which streams the ranges it
   * gains and then publishes the new ring. Resolves once it owns its ranges, with the node and
   * what the join streamed.
   */
  async join(member: string | MemberInfo): Promise<JoinedNode> {
    const info: MemberInfo = typeof member === "string" ? { id: member } : member;
    if (this.#nodes.has(info.id)) throw new RangeError(`node "${info.id}" is already in this cluster`);
    const built = buildNode(this.container, this.store, info.id, info);
    this.#nodes.set(info.id, built);
    this.#nodeCache = undefined;
    await built.node.start();
    const result = await built.node.join(this.ids.filter((id) => id !== info.id && this.node(id).running));
    return { ...result, node: built.node };
  }

  /**
   * Decommissions node `id` ({@link RingforgeNode.leave}): it leaves the ring, hands off all its
   * data and stops; then it is removed from the cluster.
   */
  async leave(id: NodeId, options?: LeaveOptions): Promise<void> {
    await this.node(id).leave(options);
    this.#nodes.delete(id);
    this.#nodeCache = undefined;
  }

  /** The next node in round-robin order: a simple client that spreads requests. */
  any(): RingforgeNode {
    if (this.#stopped) throw new NotRunningError("cluster");
    const nodes = this.nodes;
    return nodes[this.#next++ % nodes.length]!;
  }

  /** The virtual-time scheduler, when the runtime is virtual. */
  get scheduler(): VirtualScheduler | undefined {
    return this.runtime.scheduler instanceof VirtualScheduler ? this.runtime.scheduler : undefined;
  }

  /** Starts every node (and, with auto-advance, virtual time). */
  async start(): Promise<void> {
    const scheduler = this.scheduler;
    if (scheduler && this.#autoAdvance) scheduler.start();
    for (const node of this.nodes) await node.start();
  }

  /** Stops every node, then virtual time. Idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const node of this.nodes) await node.stop();
    await this.scheduler?.stop();
    this.container.clearInstances();
  }

  /** `await using cluster = await createCluster(...)` stops it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/**
 * Builds and starts an in-process cluster from a config (data or JSON), its plugin names
 * resolved in `options.registry`. Each node gets its own child container; by default they share
 * a virtual runtime seeded from `config.seed`. Users call `createCluster` (the main entry point),
 * which defaults the registry to the bundled plugins; this is what it runs.
 *
 * @throws {InvalidConfigError} or {@link UnknownPluginError} for a bad config
 */
export async function startCluster(config: unknown, options: ClusterOptions): Promise<Cluster> {
  const store = resolveStoreConfig(config, options.registry);
  const runtime: Runtime = options.runtime ?? virtualRuntime(store.seed);
  const root = createRootContainer(store, runtime);
  const nodes = new Map<NodeId, { node: RingforgeNode; container: DependencyContainer }>();
  for (const member of store.members) nodes.set(member.id, buildNode(root, store, member.id));
  const cluster = new Cluster(store, runtime, root, nodes, options.autoAdvance ?? true);
  await cluster.start();
  return cluster;
}

/** Narrows a runtime to a virtual one. */
export function isVirtualRuntime(runtime: Runtime): runtime is VirtualRuntime {
  return runtime.scheduler instanceof VirtualScheduler;
}
