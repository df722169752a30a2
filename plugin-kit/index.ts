/**
 * ringforge's plugin kit: everything a strategy written outside this repository needs, and
 * nothing of the node's internals. A plugin is one module that exports a {@link Plugin} made
 * with {@link definePlugin}: its family, name, options (a zod schema, so a config file can
 * name it), the capabilities it promises, and `create(context, options)`, which builds the
 * family's service for one node from its typed {@link PluginContext}. Register it with
 * `builtinPlugins.with(myPlugin)` and name it in a config; run its family's conformance suite
 * from `ringforge/plugin-kit/testing` under vitest or `deno test`.
 *
 * What is here: the plugin definition and its context; the strategy interfaces (partitioner,
 * replicator, conflict resolver, failure detector, storage engine, transport, anti-entropy,
 * clock, scheduler, random, logger) with their helpers; the data model (siblings, limits, causal
 * contexts, settings, the keyspace); `exactMath` (log, exp, pow and log10 with the same bits on
 * every runtime, for anything that steers a simulated run); the codecs and the hash; typed
 * errors; the host facilities on-disk plugins share (the directory lock); and runtimes to try a
 * plugin on its own.
 *
 * @example
 * ```ts
 * import { type Partitioner, definePlugin, murmur3 } from "ringforge/plugin-kit";
 * import { z } from "zod";
 *
 * export const jumpHashPlugin = definePlugin({
 *   family: "partitioner",
 *   name: "jump-hash",
 *   description: "Google's jump consistent hash over the members in id order.",
 *   capabilities: { minimalMovement: false },
 *   options: z.object({}).strict(),
 *   create: () => new JumpHashPartitioner(),
 * });
 * ```
 *
 * @module
 */

// ---- the plugin definition and its context ---------------------------------------------------

export {
  choose,
  configError,
  definePlugin,
  type FamilyServices,
  parseWith,
  type Plugin,
  PLUGIN_FAMILIES,
  type PluginCapabilities,
  type PluginChoice,
  type PluginContext,
  type PluginFamily,
  type RealTime,
  type SharedContext,
} from "../core/build/plugin.ts";
export { PluginRegistry } from "../core/build/registry.ts";
export { type ContextServices, standaloneContext, type StandaloneContextOptions } from "../core/build/standalone-context.ts";

// ---- the strategy interfaces -------------------------------------------------------------------

export * from "../core/interfaces/partitioner.ts";
export * from "../core/interfaces/replicator.ts";
export * from "../core/interfaces/conflict-resolver.ts";
export * from "../core/interfaces/failure-detector.ts";
export * from "../core/interfaces/storage-engine.ts";
export * from "../core/interfaces/file-system.ts";
export * from "../core/interfaces/transport.ts";
export * from "../core/interfaces/anti-entropy.ts";
export * from "../core/interfaces/consensus.ts";
export * from "../core/interfaces/scaler.ts";
export * from "../core/interfaces/records.ts";
export * from "../core/interfaces/message-router.ts";
export * from "../core/interfaces/simulated-network.ts";
export * from "../core/interfaces/clock.ts";
export * from "../core/interfaces/random.ts";
export * from "../core/interfaces/logger.ts";
export * from "../core/interfaces/data-type.ts";
export * from "../core/interfaces/token.ts";

// ---- the data model, codecs and hash ----------------------------------------------------------

export * from "../core/model/sibling.ts";
export * from "../core/model/limits.ts";
export * from "../core/model/causal-context.ts";
export * from "../core/model/settings.ts";
export * from "../core/model/keyspace.ts";
export * from "../core/model/latency.ts";
export * from "../core/model/address.ts";
export * from "../core/model/sorted.ts";
export * from "../core/model/placement.ts";
export * from "../core/model/members.ts";
export * as exactMath from "../core/model/exact-math.ts";
export * from "../core/codec/bytes.ts";
export * from "../core/codec/record-codec.ts";
export { decode as decodeMessagePack, encode as encodeMessagePack } from "../core/codec/msgpack.ts";
export * from "../core/hash/murmur3.ts";

// ---- custom data types (a DataType whose states a CrdtStore keeps under keys) ------------------

export { CrdtStore, type CrdtStoreOptions, type CrdtUpdateResult, type PreparedUpdate } from "../core/client/crdt-store.ts";

// ---- errors -----------------------------------------------------------------------------------

export * from "../core/errors.ts";

// ---- host facilities on-disk plugins share ----------------------------------------------------

export { type DirectoryLock, type DirectoryLockOptions, lockDirectory } from "../core/host/directory-lock.ts";

// ---- runtimes, to run a plugin on its own -----------------------------------------------------

export * from "../core/runtime/runtime.ts";
export { systemClock, systemRandom, systemScheduler } from "../core/runtime/system-runtime.ts";
export { SeededRandom } from "../core/runtime/seeded-random.ts";
export { SchedulerLane, VirtualScheduler } from "../core/runtime/virtual-scheduler.ts";
export { DriftingClock } from "../core/runtime/drifting-clock.ts";
