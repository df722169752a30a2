/**
 * Typed builder calls for composing a store in code.
 *
 * @module
 */
import type { Limits } from "../model/limits.ts";
import type { ReplicationSettings } from "../model/settings.ts";
import { type Cluster, type ClusterOptions, startCluster } from "./cluster.ts";
import type { MemberConfig, PluginRef, StoreConfig } from "./config.ts";
import type { PluginChoice } from "./plugin.ts";
import type { PluginRegistry } from "./registry.ts";

/**
 * Composes a store from typed plugin choices; produces the same plain {@link StoreConfig} a
 * JSON file would hold ({@link StoreBuilder.toConfig}), so code-built and file-built stores are
 * one thing.
 *
 * @example
 * ```ts
 * const cluster = await store()
 *   .nodes(5)
 *   .replication({ n: 3, r: 2, w: 2 })
 *   .use(consistentHash({ vnodes: 64 }))
 *   .use(lastWriteWins())
 *   .cluster();
 * ```
 */
export class StoreBuilder {
  #registry: PluginRegistry;
  #config: { -readonly [K in keyof StoreConfig]: StoreConfig[K] } = {};

  /** @param registry where the config's plugin names resolve; `use` adds to it */
  constructor(registry: PluginRegistry) {
    this.#registry = registry;
  }

  /** A label for reports. */
  name(name: string): this {
    this.#config.name = name;
    return this;
  }

  /** Members: a count (ids n1..nK) or a list of ids or member descriptions. */
  nodes(nodes: number | readonly MemberConfig[]): this {
    this.#config.nodes = nodes;
    return this;
  }

  /** Replication factors N, R, W. */
  replication(replication: Partial<ReplicationSettings>): this {
    this.#config.replication = { ...this.#config.replication, ...replication };
    return this;
  }

  /** Key, value and sibling limits. */
  limits(limits: Partial<Limits>): this {
    this.#config.limits = { ...this.#config.limits, ...limits };
    return this;
  }

  /** Default request time limit (ms). */
  requestTimeout(ms: number): this {
    this.#config.requestTimeoutMs = ms;
    return this;
  }

  /** Seed of the simulated runtime. */
  seed(seed: number): this {
    this.#config.seed = seed;
    return this;
  }

  /** Chooses the plugin of the choice's family (replacing an earlier choice). */
  use(choice: PluginChoice<any>): this {
    const { plugin, options } = choice;
    this.#registry = this.#registry.with(plugin);
    const ref: PluginRef = { name: plugin.name, options: options as Record<string, unknown> };
    this.#config[plugin.family] = ref;
    return this;
  }

  /** The store as plain data. */
  toConfig(): StoreConfig {
    return structuredClone(this.#config);
  }

  /** The registry the config resolves against (built-ins plus every plugin passed to `use`). */
  get registry(): PluginRegistry {
    return this.#registry;
  }

  /** Builds and starts an in-process cluster of the store. */
  cluster(options: Omit<ClusterOptions, "registry"> = {}): Promise<Cluster> {
    return startCluster(this.toConfig(), { ...options, registry: this.#registry });
  }
}
