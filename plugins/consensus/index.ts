/**
 * Consensus: linearizable requests and atomic conditional writes. Bundled: Paxos per key, and none.
 *
 * @module
 */
import type { Plugin } from "../../core/build/plugin.ts";
import { noConsensusPlugin } from "./none.ts";
import { paxosPlugin } from "./paxos.ts";

export * from "./none.ts";
export * from "./paxos.ts";

/** Every bundled consensus plugin. */
// deno-lint-ignore no-explicit-any -- plugins of any options
export const consensusPlugins: readonly Plugin<any, "consensus", any>[] = [paxosPlugin, noConsensusPlugin];
