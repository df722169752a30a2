/**
 * No automatic scaling: the cluster changes only by explicit joins and leaves.
 *
 * @module
 */
import { z } from "zod";
import { choose, definePlugin, type Plugin, type PluginChoice } from "../../core/build/plugin.ts";
import type { Scaler, ScalingDecision } from "../../core/interfaces/scaler.ts";

/** A {@link Scaler} that never scales: the fixed-size baseline the lab compares policies with. */
export class NoScaler implements Scaler {
  readonly name = "none";
  decide(): ScalingDecision {
    return { action: "none", reason: "automatic scaling is off (scaler none)" };
  }
}

/** Options of no scaling (none). */
export type NoScalerOptions = Record<string, never>;

/** The "none" scaler plugin. */
export const noScalerPlugin: Plugin<NoScalerOptions, "scaler", undefined> = definePlugin({
  family: "scaler",
  name: "none",
  description: "No automatic scaling: membership changes only by join and leave.",
  options: z.object({}).strict() as z.ZodType<NoScalerOptions, unknown>,
  create: () => new NoScaler(),
});

/**
 * Chooses no automatic scaling.
 *
 * @example
 * ```ts
 * const config = { nodes: 3, scaler: "none" };
 * ```
 */
export function noScaler(): PluginChoice<NoScalerOptions> {
  return choose(noScalerPlugin) as PluginChoice<NoScalerOptions>;
}
