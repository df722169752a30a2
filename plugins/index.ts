/**
 * The bundled plugins, one family per folder, and {@link builtinPlugins}: the registry that
 * resolves plugin names in configs, with the defaults a config may leave out.
 *
 * | family | plugins (default first) |
 * | --- | --- |
 * | partitioner | consistent-hash, fixed-partitions, rendezvous |
 * | replicator | quorum, sloppy-quorum |
 * | resolver | vector-clock, last-write-wins, dotted-version-vector |
 * | detector | static, gossip, phi-accrual, swim |
 * | engine | memory, lsm, level |
 * | transport | in-process, tcp |
 * | antiEntropy | none, merkle |
 * | consensus | paxos, none |
 * | scaler | none, thresholds, target-tracking |
 *
 * Data types (CRDTs: G-Counter, PN-Counter, OR-Set, LWW-Register, MV-Register, maps) are not
 * chosen per store: they are values with their own clients (`Counters`, `Sets`, ...) in
 * core/client/datatypes, usable on any store whose resolver keeps concurrent writes.
 *
 * @example
 * ```ts
 * import { builtinPlugins } from "ringforge/plugins";
 * console.log(builtinPlugins.names("resolver")); // ["dotted-version-vector", "last-write-wins", "vector-clock"]
 * ```
 *
 * @module
 */
import { PluginRegistry } from "../core/build/registry.ts";
import { antiEntropyPlugins } from "./anti-entropy/index.ts";
import { consensusPlugins } from "./consensus/index.ts";
import { scalerPlugins } from "./scalers/index.ts";
import { detectorPlugins } from "./detectors/index.ts";
import { enginePlugins } from "./engines/index.ts";
import { partitionerPlugins } from "./partitioners/index.ts";
import { replicatorPlugins } from "./replicators/index.ts";
import { resolverPlugins } from "./resolvers/index.ts";
import { transportPlugins } from "./transports/index.ts";

export * from "./partitioners/index.ts";
export * from "./replicators/index.ts";
export * from "./resolvers/index.ts";
export * from "./detectors/index.ts";
export * from "./engines/index.ts";
export * from "./transports/index.ts";
export * from "./anti-entropy/index.ts";
export * from "./consensus/index.ts";
export * from "./scalers/index.ts";

/** Every bundled plugin, with the default of each family. */
export const builtinPlugins: PluginRegistry = new PluginRegistry(
  [
    ...partitionerPlugins,
    ...replicatorPlugins,
    ...resolverPlugins,
    ...detectorPlugins,
    ...enginePlugins,
    ...transportPlugins,
    ...antiEntropyPlugins,
    ...consensusPlugins,
    ...scalerPlugins,
  ],
  {
    partitioner: "consistent-hash",
    replicator: "quorum",
    resolver: "vector-clock",
    detector: "static",
    engine: "memory",
    transport: "in-process",
    antiEntropy: "none",
    consensus: "paxos",
    scaler: "none",
  },
);
