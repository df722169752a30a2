/**
 * Partitioner plugins: which nodes hold a key. Add a partitioner by writing one file and one
 * entry in {@link partitionerPlugins}; the shared conformance suite then tests it.
 *
 * @module
 */
import type { Plugin } from "../../core/build/plugin.ts";
import { consistentHashPlugin } from "./consistent-hash.ts";
import { fixedPartitionsPlugin } from "./fixed-partitions.ts";
import { rendezvousPlugin } from "./rendezvous.ts";

export { consistentHash, consistentHashOptions, consistentHashPlugin, ConsistentHashRing } from "./consistent-hash.ts";
export type { ConsistentHashOptions } from "./consistent-hash.ts";
export * from "./fixed-partitions.ts";
export * from "./rendezvous.ts";

/** Every bundled partitioner plugin (each runs the partitioner conformance suite). */
// deno-lint-ignore no-explicit-any
export const partitionerPlugins: readonly Plugin<any, "partitioner", any>[] = [
  consistentHashPlugin,
  fixedPartitionsPlugin,
  rendezvousPlugin,
];
