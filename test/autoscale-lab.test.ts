/**
 * The lab's autoscaling: the autoscale-ramp scenario, shortened, against a fixed-size cluster
 * and both bundled policies. The policies must follow the ramp out and back, a fixed cluster
 * must stay as it is, and no acknowledged write may be lost.
 */
import { describe, it } from "@std/testing/bdd";
import { assert, assertEquals } from "@std/assert";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { builtinPlugins } from "../plugins/index.ts";
import { compare, parseScenario, reportCharts } from "../sim/index.ts";

const file = (path: string) => JSON.parse(readFileSync(fileURLToPath(new URL(`../${path}`, import.meta.url)), "utf8"));

describe("autoscale-ramp scenario", () => {
  it("both policies grow with the ramp and shrink after it, losing nothing; a fixed cluster stays at 3", async () => {
    const full = file("examples/scenarios/autoscale-ramp.json");
    // A shorter ramp of the same shape: 100/s, up to 900/s, hold, down to 100/s, hold.
    const rate = [[0, 100], [2_000, 100], [10_000, 900], [20_000, 900], [24_000, 100], [44_000, 100]]
      .map(([atMs, perSecond]) => ({ atMs, perSecond }));
    const scenario = parseScenario({ ...full, workload: { ...full.workload, rate } });
    const configs = ["fixed", "thresholds", "target-tracking"].map((name) => ({
      name,
      config: file(`examples/configs/autoscale/${name}.json`),
    }));
    const comparison = await compare(scenario, configs, { registry: builtinPlugins, seeds: [1] });
    const [fixed, thresholds, tracking] = comparison.results.map((r) => r.runs[0]!);
    assertEquals([fixed!.scaling!.minNodes, fixed!.scaling!.maxNodes], [3, 3]);
    for (const run of [thresholds!, tracking!]) {
      const s = run.scaling!;
      assert(s.maxNodes >= 4, `${run.config}: grew (to ${s.maxNodes})`);
      assert(s.samples[s.samples.length - 1]!.nodes < s.maxNodes, `${run.config}: shrank after the peak`);
      assert(s.changes.some((c) => c.action === "remove" && c.outcome === "applied"), `${run.config}: a node left`);
      assert(s.reactMs !== null && s.reactMs > 0, `${run.config}: reacted`);
      assert(s.movedBytes > 0 && s.idealBytes > 0);
      const peak = s.phases.findIndex((p) => p.name === "900/s");
      assert(s.phases[peak]!.meanNodes > 3, `${run.config}: more members at the peak`);
    }
    for (const run of [fixed!, thresholds!, tracking!]) {
      assertEquals(run.staleReads!.lost, 0, `${run.config}: no acknowledged write lost`);
      assertEquals(run.convergence.divergent, 0, `${run.config}: replicas agree`);
    }
    const peakP99 = (run: typeof fixed) => run!.scaling!.phases.find((p) => p.name === "900/s")!.p99Ms;
    assert(peakP99(tracking) < peakP99(fixed), `target tracking ${peakP99(tracking)} ms vs fixed ${peakP99(fixed)} ms at the peak`);
    // The HTML report charts the members over time and the p99 per phase, one series per config.
    const charts = new Map(reportCharts(comparison).map((c) => [c.id, c]));
    const members = charts.get("members")!;
    assertEquals(members.datasets.map((d) => d.label), ["fixed", "thresholds", "target-tracking"]);
    const most = (i: number) => Math.max(...members.datasets[i]!.data.map((p) => (typeof p === "number" ? p : p.y)));
    assertEquals([most(0), most(2)], [3, tracking!.scaling!.maxNodes]);
    assertEquals(charts.get("phase-latency")!.labels!.length, 5);
  }, 120_000);
});
