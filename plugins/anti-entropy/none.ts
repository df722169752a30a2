/**
 * No anti-entropy: replicas converge only through read repair and hinted handoff.
 *
 * @module
 */
import { z } from "zod";
import { choose, definePlugin, type Plugin, type PluginChoice } from "../../core/build/plugin.ts";
import { type AntiEntropy, type AntiEntropyStats } from "../../core/interfaces/anti-entropy.ts";

/**
 * An {@link AntiEntropy} that does nothing: keys that are never read stay divergent after a
 * fault. The baseline the lab compares Merkle anti-entropy against.
 *
 * @example
 * ```ts
 * const cluster = await createCluster({ nodes: 5, antiEntropy: "none" }); // read repair only
 * ```
 */
export class NoAntiEntropy implements AntiEntropy {
  readonly name = "none";
  readonly stats: AntiEntropyStats = { exchanges: 0, failures: 0, differing: 0, repaired: 0, bytes: 0 };
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
}

/** Options of no anti-entropy (none). */
export type NoAntiEntropyOptions = Record<string, never>;

/** The "none" anti-entropy plugin. */
export const noAntiEntropyPlugin: Plugin<NoAntiEntropyOptions, "antiEntropy", undefined> = definePlugin({
  family: "antiEntropy",
  name: "none",
  description: "No background repair: replicas converge only by read repair and hints.",
  options: z.object({}).strict() as z.ZodType<NoAntiEntropyOptions, unknown>,
  capabilities: { repairs: false },
  create: () => new NoAntiEntropy(),
});

/**
 * Chooses no anti-entropy.
 *
 * @example
 * ```ts
 * const cluster = await store().use(noAntiEntropy()).cluster();
 * ```
 */
export function noAntiEntropy(): PluginChoice<NoAntiEntropyOptions> {
  return choose(noAntiEntropyPlugin) as PluginChoice<NoAntiEntropyOptions>;
}
