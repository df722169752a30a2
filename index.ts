/**
 * ringforge: compose Dynamo-style distributed key-value stores from pluggable strategies.
 *
 * This entry point is core plus the bundled plugins, with {@link createCluster} and
 * {@link store} bound to the built-in registry. `ringforge/core` and `ringforge/plugins` are
 * the same pieces, separately.
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
import { type Cluster, type ClusterOptions, createCluster as createClusterWith } from "./core/build/cluster.ts";
import type { StoreConfig } from "./core/build/config.ts";
import { StoreBuilder } from "./core/build/store-builder.ts";
import { builtinPlugins } from "./plugins/index.ts";

export * from "./core/index.ts";
export * from "./plugins/index.ts";

/**
 * Builds and starts an in-process cluster from a config (plain data, e.g. a parsed JSON file).
 * Plugin names resolve through {@link builtinPlugins} unless `options.registry` says otherwise.
 *
 * @throws {InvalidConfigError} or {@link UnknownPluginError} for a bad config
 */
export function createCluster(
  config: StoreConfig | unknown = {},
  options: Partial<ClusterOptions> = {},
): Promise<Cluster> {
  return createClusterWith(config, { ...options, registry: options.registry ?? builtinPlugins });
}

/**
 * Starts composing a store in code, from the built-in plugins.
 *
 * @example
 * ```ts
 * const cluster = await store().nodes(5).use(lastWriteWins()).cluster();
 * ```
 */
export function store(): StoreBuilder {
  return new StoreBuilder(builtinPlugins);
}
