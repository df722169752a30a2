/**
 * Target tracking: keep the load per node near a target, as the Kubernetes Horizontal Pod
 * Autoscaler does.
 *
 * @module
 */
import { z } from "zod";
import { choose, definePlugin, type Plugin, type PluginChoice } from "../../core/build/plugin.ts";
import type { ClusterLoad, Scaler, ScalingDecision, ScalingLimits } from "../../core/interfaces/scaler.ts";
import { cheapestToRemove, type LoadMetric, loadMetricSchema, measure, show } from "./load-metric.ts";

/** Options of {@link TargetTrackingScaler}. */
export interface TargetTrackingOptions {
  /** The figure watched. Default `requestsPerSecond` (mean per member). */
  readonly metric: LoadMetric;
  /** The figure each node should carry. */
  readonly target: number;
  /** No change while load / target is within 1 ± this. Default 0.1 (the HPA's). */
  readonly tolerance: number;
  /**
   * Scale in only to the largest count desired over this window, ms (the HPA's scale-down
   * stabilisation window), so a dip does not remove a node the next minute needs. Default 60,000.
   */
  readonly scaleInWindowMs: number;
  /** After a change, decide nothing for this long, ms. Default 15,000. */
  readonly cooldownMs: number;
}

/**
 * Target tracking: desired = ceil(current × load / target), the Kubernetes Horizontal Pod
 * Autoscaler's rule, with its tolerance and its scale-down stabilisation window. It moves one node
 * at a time toward the desired count (the controller makes one change at a time), but it knows how
 * far it is from it, so it keeps adding on a steep ramp without waiting for a threshold to hold.
 */
export class TargetTrackingScaler implements Scaler {
  readonly name = "target-tracking";
  readonly #o: TargetTrackingOptions;
  /** Desired counts of the last `scaleInWindowMs`, with their times. */
  readonly #recent: { at: number; desired: number }[] = [];

  constructor(options: TargetTrackingOptions) {
    this.#o = options;
  }

  decide(load: ClusterLoad, limits: ScalingLimits, lastChangeAt: number | undefined): ScalingDecision {
    const o = this.#o;
    const count = load.nodes.length;
    const value = measure(load, o.metric);
    const ratio = value / o.target;
    const raw = Math.abs(ratio - 1) <= o.tolerance ? count : Math.ceil(count * ratio);
    const desired = Math.min(limits.max, Math.max(limits.min, raw));
    this.#recent.push({ at: load.at, desired });
    while (this.#recent.length > 0 && this.#recent[0]!.at < load.at - o.scaleInWindowMs) this.#recent.shift();
    const figure = `${o.metric} ${show(value)} per node against a target of ${o.target}: ${desired} node(s) wanted, ${count} running`;
    if (lastChangeAt !== undefined && load.at - lastChangeAt < o.cooldownMs) {
      return { action: "none", reason: `${figure}; cooling down` };
    }
    if (desired > count) return { action: "add", reason: figure };
    // Scale in only to the most any round of the window wanted.
    const stable = Math.max(...this.#recent.map((r) => r.desired));
    if (stable < count && count > limits.min) {
      return {
        action: "remove",
        node: cheapestToRemove(load.nodes).id,
        reason: `${figure} (the most in the last ${show(o.scaleInWindowMs)} ms: ${stable})`,
      };
    }
    if (stable < count) return { action: "none", reason: `${figure}; at the minimum (${limits.min})` };
    return {
      action: "none",
      reason: desired < count ? `${figure}; not fewer while the last ${show(o.scaleInWindowMs)} ms wanted ${stable}` : figure,
    };
  }
}

const schema = z
  .object({
    metric: loadMetricSchema.default("requestsPerSecond"),
    target: z.number().positive().finite(),
    tolerance: z.number().min(0).max(1).default(0.1),
    scaleInWindowMs: z.number().min(0).finite().default(60_000),
    cooldownMs: z.number().min(0).finite().default(15_000),
  })
  .strict();

/** The "target-tracking" scaler plugin. */
export const targetTrackingScalerPlugin: Plugin<TargetTrackingOptions, "scaler", undefined> = definePlugin({
  family: "scaler",
  name: "target-tracking",
  capabilities: { scales: true },
  description: "Keep the load per node near a target: desired = ceil(current x load / target), as the Kubernetes HPA computes it.",
  options: schema as z.ZodType<TargetTrackingOptions, unknown>,
  create: (_context, options) => new TargetTrackingScaler(options),
});

/**
 * Chooses target tracking.
 *
 * @example
 * ```ts
 * const config = { nodes: 3, scaler: targetTrackingScaler({ target: 300 }) };
 * ```
 */
export function targetTrackingScaler(
  options: Partial<TargetTrackingOptions> & Pick<TargetTrackingOptions, "target">,
): PluginChoice<TargetTrackingOptions> {
  return choose(targetTrackingScalerPlugin, options) as PluginChoice<TargetTrackingOptions>;
}
