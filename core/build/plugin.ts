/**
 * Plugins: a named strategy of one family, built for each node from a typed
 * {@link PluginContext}. This module and the context are the plugin port: a plugin imports
 * them, core's interfaces, model, codec, hash and errors, and nothing else of core.
 *
 * @module
 */
import { z } from "zod";
import { InvalidConfigError } from "../errors.ts";
import type { AntiEntropy } from "../interfaces/anti-entropy.ts";
import type { Clock, Scheduler } from "../interfaces/clock.ts";
import type { FileSystem } from "../interfaces/file-system.ts";
import type { ConflictResolver } from "../interfaces/conflict-resolver.ts";
import type { FailureDetector } from "../interfaces/failure-detector.ts";
import type { Logger } from "../interfaces/logger.ts";
import type { MessageRouter } from "../interfaces/message-router.ts";
import type { MemberInfo, Partitioner } from "../interfaces/partitioner.ts";
import type { Random } from "../interfaces/random.ts";
import type { RangeSync, RecordView } from "../interfaces/records.ts";
import type { ReplicaClient, Replicator } from "../interfaces/replicator.ts";
import type { Consensus } from "../interfaces/consensus.ts";
import type { Scaler } from "../interfaces/scaler.ts";
import type { StorageEngine } from "../interfaces/storage-engine.ts";
import type { Transport } from "../interfaces/transport.ts";
import type { Keyspace } from "../model/keyspace.ts";
import type { NodeSettings } from "../model/settings.ts";

/** The service each family's plugins create. */
export interface FamilyServices {
  /** Key placement. */
  readonly partitioner: Partitioner;
  /** Fan-out to replicas. */
  readonly replicator: Replicator;
  /** Versions and merges. */
  readonly resolver: ConflictResolver;
  /** Membership and liveness. */
  readonly detector: FailureDetector;
  /** Local storage. */
  readonly engine: StorageEngine;
  /** Messages between nodes. */
  readonly transport: Transport;
  /** Background repair. */
  readonly antiEntropy: AntiEntropy;
  /** Linearizable requests. */
  readonly consensus: Consensus;
  /** The scaling policy (used by an autoscaler, not by the node itself). */
  readonly scaler: Scaler;
}

/** The strategy families a store is composed of, one plugin each. */
export type PluginFamily = keyof FamilyServices;

/** Every family, in the order a node build registers them. */
export const PLUGIN_FAMILIES: readonly PluginFamily[] = [
  "engine",
  "transport",
  "detector",
  "partitioner",
  "resolver",
  "replicator",
  "antiEntropy",
  "consensus",
  "scaler",
];

/**
 * What a plugin promises beyond its interface's contract, declared in its definition. The
 * conformance suites read it to know what to check, and the node build and the lab to know
 * where the plugin can run. Each field belongs to one family; absent means `false` unless said.
 */
export interface PluginCapabilities {
  /** Engine: data survives `close()` and a reopen over the same options (files on disk). */
  readonly durable?: boolean;
  /**
   * Needs the host's real time, files or sockets (on-disk engines, the TCP transport): it does
   * not run in the simulator on virtual time.
   */
  readonly realTimeOnly?: boolean;
  /**
   * Partitioner: on a join, every key's order of the other nodes stays and the newcomer is only
   * inserted (Dynamo §4.2's minimal movement). A fixed-partition ring whose claim reshuffles
   * partitions between old members does not promise it.
   */
  readonly minimalMovement?: boolean;
  /**
   * Partitioner: a join or a leave moves about the ideal share of keys wherever the member's
   * id sorts (a positional scheme such as jump hash over members in id order does not).
   */
  readonly boundedMovement?: boolean;
  /**
   * Partitioner: takes the option `topology: { replicasPerDatacenter: { dc1: 3, ... } }` and puts
   * that many replicas of every key in each listed datacenter, on distinct zones where it can
   * (Cassandra's NetworkTopologyStrategy).
   */
  readonly datacenterReplicas?: boolean;
  /**
   * Transport: its shared service is a simulated network the simulator schedules and injects
   * faults into (partitions, loss, delay, crashes).
   */
  readonly simulatedNetwork?: boolean;
  /** Replicator: `targets(key, n)` is the partitioner's preference list (a strict quorum). */
  readonly preferenceListTargets?: boolean;
  /** Replicator: a read sends the merged record to every replica whose reply differed. */
  readonly readRepair?: boolean;
  /** Replicator: a write that a replica fails goes to a stand-in (sloppy quorum). */
  readonly fallsBackOnFailure?: boolean;
  /** Anti-entropy: divergent replicas converge without reads. */
  readonly repairs?: boolean;
  /**
   * Consensus: serves linearizable reads and atomic conditional writes (one that does not
   * refuses them with `InvalidRequestError`).
   */
  readonly linearizable?: boolean;
  /** Scaler: it adds and removes nodes (the `none` scaler does not). */
  readonly scales?: boolean;
}

/**
 * What a plugin receives to build its service for one node: the node's settings, time,
 * randomness and log, its message routing, its own slice of the engine's keyspace, and the
 * node's other strategies. Every service is made when first used, so a plugin names only what
 * it needs; a plugin must not use its own family's service (that is what it is making).
 *
 * @typeParam S what the plugin's {@link Plugin.createShared} made (shared by every node of a
 *   cluster in one process), or `undefined`
 */
export interface PluginContext<S = unknown> {
  /** This node's id, replication factors, limits and time limits. */
  readonly settings: NodeSettings;
  /** The store's configured members: the ring before any join or leave (seeds for detectors). */
  readonly members: readonly MemberInfo[];
  /** The node's clock. */
  readonly clock: Clock;
  /** The node's timers. */
  readonly scheduler: Scheduler;
  /** The node's randomness: fork it with a label of the plugin's (`random.fork("gossip")`). */
  readonly random: Random;
  /** The node's log. */
  readonly logger: Logger;
  /**
   * The host's own clock and timers, whatever the node runs on: for plugins that work with real
   * disks or sockets (`realTimeOnly`), such as an engine's fsync period. On the system runtime
   * they are the node's clock and scheduler.
   */
  readonly realTime: RealTime;
  /** Where the plugin registers the message prefix of its own protocol. */
  readonly router: MessageRouter;
  /**
   * The node's files: the host's disk for a node process, the node's simulated disk in the lab
   * (which the lab can crash, fill, slow down or corrupt). An engine that keeps files uses this,
   * never `node:fs`, so it runs in both.
   */
  readonly fs: FileSystem;
  /**
   * The plugin's own slice of the engine (see core/model/keyspace.ts): the bundled plugins use
   * the reserved names (`"hints"`); another plugin uses its own name.
   */
  keyspace(name: string): Keyspace;
  /** What the plugin's `createShared` made for the cluster (one per process or simulation). */
  readonly shared: S;
  /** The node's engine (open once the node starts; slices of it through {@link keyspace}). */
  readonly engine: StorageEngine;
  /** The node's transport. */
  readonly transport: Transport;
  /** The node's partitioner. */
  readonly partitioner: Partitioner;
  /** The node's failure detector. */
  readonly detector: FailureDetector;
  /** The node's conflict resolver. */
  readonly resolver: ConflictResolver;
  /** How a replicator reaches replicas: this node's records, or a peer's over the transport. */
  readonly replicas: ReplicaClient;
  /** This node's records, as background repair compares them. */
  readonly records: RecordView;
  /** Core's range comparison and repair with a peer (hash trees over token intervals). */
  readonly sync: RangeSync;
}

/** The host's own time, for plugins that work with real disks or sockets. */
export interface RealTime {
  /** The wall clock. */
  readonly clock: Clock;
  /** The host's timers. */
  readonly scheduler: Scheduler;
}

/** What {@link Plugin.createShared} receives: the cluster's runtime, before any node exists. */
export interface SharedContext {
  /** The runtime's timers (virtual time in a simulation). */
  readonly scheduler: Scheduler;
  /** The runtime's root randomness: fork it with a label of the plugin's. */
  readonly random: Random;
  /** The store's configured members. */
  readonly members: readonly MemberInfo[];
}

/**
 * A strategy plugin (fastify-style): it names its family and itself, declares what it
 * promises, validates its options from plain data, and creates the family's service for a
 * node from a {@link PluginContext}.
 *
 * A plugin is one file exporting a `Plugin` and a typed factory for code users
 * (`consistentHash({ vnodes: 64 })`), plus one line in its family's index.
 *
 * @typeParam O its validated options
 * @typeParam F its family
 * @typeParam S what it shares across the nodes of a cluster, if anything
 */
export interface Plugin<O = unknown, F extends PluginFamily = PluginFamily, S = unknown> {
  /** The family this plugin implements. */
  readonly family: F;
  /** Unique within the family, kebab-case: the name configs refer to. */
  readonly name: string;
  /** One line: what it does and what it trades. */
  readonly description: string;
  /** What it promises beyond the interface (read by the suites and the lab). */
  readonly capabilities: PluginCapabilities;
  /**
   * Validates options from untrusted data (a JSON config) and fills in defaults.
   * @throws {InvalidConfigError} listing every problem with its path
   */
  parseOptions(raw: unknown): O;
  /** Creates the family's service for one node; called once per node, when first needed. */
  create(context: PluginContext<S>, options: O): FamilyServices[F];
  /**
   * Creates what every node of one cluster in one process shares (the simulated network of the
   * in-process transport, the volumes of a durable memory engine). Called once per cluster,
   * before any node.
   */
  createShared?(context: SharedContext, options: O): S;
}

/** A plugin with its options: what a typed factory returns and a config entry resolves to. */
export interface PluginChoice<O = unknown> {
  /** The plugin. */
  // deno-lint-ignore no-explicit-any -- any family, anything shared
  readonly plugin: Plugin<O, PluginFamily, any>;
  /** Its validated options. */
  readonly options: O;
}

/** Turns zod issues into an {@link InvalidConfigError} with dotted paths under `prefix`. */
export function configError(error: z.ZodError, prefix = ""): InvalidConfigError {
  return new InvalidConfigError(
    error.issues.map((issue) => ({
      path: [prefix, ...issue.path.map(String)].filter(Boolean).join("."),
      message: issue.message,
    })),
  );
}

/** Parses `raw` with a zod schema, throwing {@link InvalidConfigError} on failure. */
export function parseWith<S extends z.ZodType>(schema: S, raw: unknown, prefix = ""): z.output<S> {
  const result = schema.safeParse(raw);
  if (!result.success) throw configError(result.error, prefix);
  return result.data;
}

/**
 * Defines a plugin whose options are described by a zod schema (defaults included).
 *
 * @example
 * ```ts
 * export const memoryEnginePlugin = definePlugin({
 *   family: "engine",
 *   name: "memory",
 *   description: "In-memory ordered map; nothing survives a restart.",
 *   options: z.object({}).strict(),
 *   create: () => new MemoryEngine(),
 * });
 * ```
 */
export function definePlugin<Schema extends z.ZodType, F extends PluginFamily, S = undefined>(definition: {
  family: F;
  name: string;
  description: string;
  capabilities?: PluginCapabilities;
  options: Schema;
  create(context: PluginContext<S>, options: z.output<Schema>): FamilyServices[F];
  createShared?(context: SharedContext, options: z.output<Schema>): S;
}): Plugin<z.output<Schema>, F, S> {
  const { options: schema, capabilities, ...rest } = definition;
  return {
    ...rest,
    capabilities: { ...capabilities },
    parseOptions: (raw: unknown) => parseWith(schema, raw ?? {}, `${definition.family}.options`),
  };
}

/** Builds a {@link PluginChoice} from typed options (validated like config data). */
// deno-lint-ignore no-explicit-any -- any family, anything shared
export function choose<O>(plugin: Plugin<O, PluginFamily, any>, options?: unknown): PluginChoice<O> {
  return { plugin, options: plugin.parseOptions(options) };
}
