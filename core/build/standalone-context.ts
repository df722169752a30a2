/**
 * A plugin context outside any node: to create one plugin's service on its own, in a unit test
 * or a conformance suite, with exactly the services it should need.
 *
 * @module
 */
import { NotRunningError } from "../errors.ts";
import type { MessageRouter } from "../interfaces/message-router.ts";
import type { MemberInfo } from "../interfaces/partitioner.ts";
import { keyspace } from "../model/keyspace.ts";
import { type NodeSettings, nodeSettings } from "../model/settings.ts";
import type { NodeId } from "../model/sibling.ts";
import { MessageTable } from "../node/message-router.ts";
import { type Runtime, virtualRuntime } from "../runtime/runtime.ts";
import { systemClock, systemScheduler } from "../runtime/system-runtime.ts";
import type { PluginContext } from "./plugin.ts";

/** The node services a standalone context can hand a plugin. */
export type ContextServices = Partial<
  Pick<PluginContext, "engine" | "transport" | "partitioner" | "detector" | "resolver" | "replicas" | "records" | "sync">
>;

/** Options of {@link standaloneContext}. */
export interface StandaloneContextOptions<S = unknown> {
  /** The node's id. Default `"n1"`. */
  readonly id?: NodeId;
  /** Settings over the store defaults (see `nodeSettings`). */
  readonly settings?: Partial<Omit<NodeSettings, "id">>;
  /** The configured members. Default: this node alone. */
  readonly members?: readonly MemberInfo[];
  /** Time, randomness and logs. Default: a virtual runtime with seed 1. */
  readonly runtime?: Runtime;
  /** Where the plugin registers its messages. Default: a fresh table. */
  readonly router?: MessageRouter;
  /** What the plugin's `createShared` made, if it shares something. */
  readonly shared?: S;
  /**
   * The node services the plugin may use. One it asks for and was not given fails with a
   * clear error, so a test states what a plugin depends on.
   */
  readonly services?: ContextServices;
}

/**
 * A {@link PluginContext} for node `id` with the given services.
 *
 * @example
 * ```ts
 * const partitioner = consistentHashPlugin.create(standaloneContext(), consistentHashPlugin.parseOptions({}));
 * const replicator = quorumPlugin.create(
 *   standaloneContext({ services: { partitioner, replicas, resolver } }),
 *   quorumPlugin.parseOptions({}),
 * );
 * ```
 */
export function standaloneContext<S = unknown>(options: StandaloneContextOptions<S> = {}): PluginContext<S> {
  const id = options.id ?? "n1";
  const runtime = options.runtime ?? virtualRuntime(1);
  const services = options.services ?? {};
  const need = <K extends keyof ContextServices>(name: K): NonNullable<ContextServices[K]> => {
    const service = services[name];
    if (service === undefined) throw new NotRunningError(`the ${name} this plugin asked for (not given to its standalone context)`);
    return service as NonNullable<ContextServices[K]>;
  };
  return {
    settings: nodeSettings(id, options.settings),
    members: options.members ?? [{ id }],
    clock: runtime.clockFor(id),
    scheduler: runtime.scheduler,
    random: runtime.random.fork(`node:${id}`),
    logger: runtime.loggerFor(id),
    realTime: { clock: systemClock, scheduler: systemScheduler },
    router: options.router ?? new MessageTable(),
    fs: runtime.fileSystemFor(id),
    keyspace: (name) => keyspace(need("engine"), name),
    shared: options.shared as S,
    get engine() {
      return need("engine");
    },
    get transport() {
      return need("transport");
    },
    get partitioner() {
      return need("partitioner");
    },
    get detector() {
      return need("detector");
    },
    get resolver() {
      return need("resolver");
    },
    get replicas() {
      return need("replicas");
    },
    get records() {
      return need("records");
    },
    get sync() {
      return need("sync");
    },
  };
}
