/**
 * Anti-entropy: background repair between replicas. Bundled: Merkle (hash-tree exchange) and
 * none.
 *
 * @module
 */
import type { Plugin } from "../../core/build/plugin.ts";
import { merkleAntiEntropyPlugin } from "./merkle.ts";
import { noAntiEntropyPlugin } from "./none.ts";

export * from "./merkle.ts";
export * from "./none.ts";

/** Every bundled anti-entropy plugin. */
export const antiEntropyPlugins: readonly Plugin<any, "antiEntropy", any>[] = [noAntiEntropyPlugin, merkleAntiEntropyPlugin];
