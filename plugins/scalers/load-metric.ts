/**
 * The load figure a scaling policy watches, read from a cluster's load.
 *
 * @module
 */
import { z } from "zod";
import type { ClusterLoad, NodeLoad } from "../../core/interfaces/scaler.ts";

/** Which per-node figure a policy watches: its mean over the members (p99: the worst member's). */
export type LoadMetric = "requestsPerSecond" | "p99Ms" | "queueDepth";

/** The zod schema of a {@link LoadMetric}. */
export const loadMetricSchema: z.ZodType<LoadMetric, LoadMetric> = z.enum(["requestsPerSecond", "p99Ms", "queueDepth"]);

/** The figure `metric` of `load`: mean per member, or the highest p99. */
export function measure(load: ClusterLoad, metric: LoadMetric): number {
  const nodes = load.nodes;
  if (nodes.length === 0) return 0;
  if (metric === "p99Ms") return Math.max(...nodes.map((n) => n.p99Ms));
  return nodes.reduce((sum, n) => sum + n[metric], 0) / nodes.length;
}

/**
 * The member to remove: the one holding the fewest bytes (the least data to hand off), then the
 * least loaded, then the highest id (the newest, for `n1`, `n2`...).
 */
export function cheapestToRemove(nodes: readonly NodeLoad[]): NodeLoad {
  return [...nodes].sort((a, b) =>
    a.bytes - b.bytes || a.requestsPerSecond - b.requestsPerSecond || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)
  )[0]!;
}

/** A figure for a reason line: at most one decimal. */
export function show(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(1);
}
