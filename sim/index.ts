/**
 * ringforge's lab bench: deterministic simulation of a whole cluster on virtual time, with
 * fault injection (partitions, crashes, pauses, clock skew and drift, lossy links, or a random
 * nemesis drawn from the seed), YCSB-style and set workloads, checkers over the recorded
 * history, and the compare lab that runs one scenario against several store configs.
 *
 * @example
 * ```ts
 * import { compare, formatComparison, parseScenario } from "ringforge/sim";
 * import { builtinPlugins } from "ringforge/plugins";
 *
 * const scenario = parseScenario(JSON.parse(await readFile("examples/scenarios/partition-set.json", "utf8")));
 * const result = await compare(scenario, [
 *   { name: "lww", config: { nodes: 5, resolver: "last-write-wins" } },
 *   { name: "vector-clock", config: { nodes: 5, resolver: "vector-clock" } },
 * ], { registry: builtinPlugins, seeds: [1, 2, 3] });
 * console.log(formatComparison(result));
 * ```
 *
 * @module
 */
export * from "./scenario.ts";
export * from "./nemesis.ts";
export * from "./random-nemesis.ts";
export * from "./history.ts";
export * from "./checkers.ts";
export * from "./linearizability.ts";
export * from "./run.ts";
export * from "./lab.ts";
export * from "./lab-output.ts";
export * from "./lab-report.ts";
export * from "./network.ts";
export type { HandoffStats } from "../core/node/handoff.ts";
export {
  DEFAULT_SIMULATED_DISK,
  type FlippedBit,
  SimulatedDisk,
  type SimulatedDiskOptions,
  type SimulatedDiskStats,
} from "../core/runtime/simulated-disk.ts";
