/**
 * Scalers: policies that add and remove nodes as the load changes. Bundled: none, thresholds,
 * target tracking.
 *
 * @module
 */
import type { Plugin } from "../../core/build/plugin.ts";
import { noScalerPlugin } from "./none.ts";
import { targetTrackingScalerPlugin } from "./target-tracking.ts";
import { thresholdScalerPlugin } from "./thresholds.ts";

export * from "./load-metric.ts";
export * from "./none.ts";
export * from "./target-tracking.ts";
export * from "./thresholds.ts";

/** Every bundled scaler plugin. */
// deno-lint-ignore no-explicit-any -- plugins of any options
export const scalerPlugins: readonly Plugin<any, "scaler", any>[] = [noScalerPlugin, thresholdScalerPlugin, targetTrackingScalerPlugin];
