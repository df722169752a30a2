/**
 * Scaling by thresholds with hysteresis: add a node when the load stays above one figure, remove
 * one when it stays below a lower one.
 *
 * @module
 */
import { z } from "zod";
import { choose, definePlugin, type Plugin, type PluginChoice } from "../../core/build/plugin.ts";
import type { ClusterLoad, Scaler, ScalingDecision, ScalingLimits } from "../../core/interfaces/scaler.ts";
import { cheapestToRemove, type LoadMetric, loadMetricSchema, measure, show } from "./load-metric.ts";

/** Options of {@link ThresholdScaler}. */
export interface ThresholdOptions {
  /** The figure watched. Default `requestsPerSecond` (mean per member). */
  readonly metric: LoadMetric;
  /** Add a node when the figure has stayed above this for `sustainMs`. */
  readonly scaleOutAbove: number;
  /** Remove one when it has stayed below this for `sustainMs` (well below `scaleOutAbove`: the gap is the hysteresis). */
  readonly scaleInBelow: number;
  /** How long a condition must hold, ms. Default 10,000. */
  readonly sustainMs: number;
  /** After a change, decide nothing for this long, ms. Default 30,000. */
  readonly cooldownMs: number;
}

/**
 * Thresholds with hysteresis and a cool-down, as a classic alarm-driven step policy (AWS step
 * scaling): one node out when the watched figure stays above `scaleOutAbove` for `sustainMs`,
 * one in when it stays below `scaleInBelow` as long. Between the two it does nothing, so a load
 * that hovers near one threshold does not make the cluster flap; the gap must be wider than one
 * node's share of the load moves when a node comes or goes. Simple and predictable; slow on a
 * steep ramp (one node per cool-down).
 */
export class ThresholdScaler implements Scaler {
  readonly name = "thresholds";
  readonly #o: ThresholdOptions;
  /** Since when the figure has been above / below its threshold, continuously. */
  #aboveSince: number | undefined;
  #belowSince: number | undefined;

  constructor(options: ThresholdOptions) {
    this.#o = options;
  }

  decide(load: ClusterLoad, limits: ScalingLimits, lastChangeAt: number | undefined): ScalingDecision {
    const o = this.#o;
    const value = measure(load, o.metric);
    const now = load.at;
    this.#aboveSince = value > o.scaleOutAbove ? (this.#aboveSince ?? now) : undefined;
    this.#belowSince = value < o.scaleInBelow ? (this.#belowSince ?? now) : undefined;
    const figure = `${o.metric} ${show(value)}`;
    if (lastChangeAt !== undefined && now - lastChangeAt < o.cooldownMs) {
      return { action: "none", reason: `${figure}; cooling down for ${show(lastChangeAt + o.cooldownMs - now)} ms more` };
    }
    const count = load.nodes.length;
    if (this.#aboveSince !== undefined && now - this.#aboveSince >= o.sustainMs && count < limits.max) {
      this.#aboveSince = undefined;
      return { action: "add", reason: `${figure} above ${o.scaleOutAbove} for ${show(o.sustainMs)} ms` };
    }
    if (this.#belowSince !== undefined && now - this.#belowSince >= o.sustainMs && count > limits.min) {
      this.#belowSince = undefined;
      const node = cheapestToRemove(load.nodes);
      return { action: "remove", node: node.id, reason: `${figure} below ${o.scaleInBelow} for ${show(o.sustainMs)} ms` };
    }
    return { action: "none", reason: `${figure} (add above ${o.scaleOutAbove}, remove below ${o.scaleInBelow})` };
  }
}

const schema = z
  .object({
    metric: loadMetricSchema.default("requestsPerSecond"),
    scaleOutAbove: z.number().positive().finite(),
    scaleInBelow: z.number().min(0).finite(),
    sustainMs: z.number().min(0).finite().default(10_000),
    cooldownMs: z.number().min(0).finite().default(30_000),
  })
  .strict()
  .refine((o) => o.scaleInBelow < o.scaleOutAbove, "scaleInBelow must be below scaleOutAbove (the gap is the hysteresis)");

/** The "thresholds" scaler plugin. */
export const thresholdScalerPlugin: Plugin<ThresholdOptions, "scaler", undefined> = definePlugin({
  family: "scaler",
  name: "thresholds",
  capabilities: { scales: true },
  description: "Add a node when the load stays above a threshold, remove one when it stays below a lower one; a cool-down between changes.",
  options: schema as unknown as z.ZodType<ThresholdOptions, unknown>,
  create: (_context, options) => new ThresholdScaler(options),
});

/**
 * Chooses threshold scaling.
 *
 * @example
 * ```ts
 * const config = { nodes: 3, scaler: thresholdScaler({ scaleOutAbove: 400, scaleInBelow: 150 }) };
 * ```
 */
export function thresholdScaler(
  options: Partial<ThresholdOptions> & Pick<ThresholdOptions, "scaleOutAbove" | "scaleInBelow">,
): PluginChoice<ThresholdOptions> {
  return choose(thresholdScalerPlugin, options) as PluginChoice<ThresholdOptions>;
}
