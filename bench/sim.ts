/**
 * Simulator speed: simulated client operations per second of wall time, for clusters of 5, 64
 * and 512 nodes (N=3 R=2 W=2, the in-process transport on virtual time), each running a
 * YCSB-A workload (50% reads, 50% read-modify-write updates; an update is a get plus a put).
 * The figure covers a whole scenario run as the lab runs one per seed: building the cluster,
 * the load phase, the workload, the final reads and the convergence check.
 *
 *   npm run bench -- sim [--runs 3] [--nodes 5,64,512] [--json]
 *   deno run -A bench/sim.ts
 *
 * Prints figures; never passes or fails on time.
 */
import process from "node:process";
import { builtinPlugins } from "../plugins/index.ts";
import { runScenario } from "../sim/run.ts";
import { parseScenario } from "../sim/scenario.ts";
import { benchOptions, figure, measure, type Measurement, Progress, runtimeName } from "./harness.ts";

const args = process.argv.slice(2);
const options = benchOptions(args, { runs: 3, warmup: 0 });
const nodesAt = args.indexOf("--nodes");
const sizes = nodesAt >= 0 ? args[nodesAt + 1]!.split(",").map(Number) : [5, 64, 512];
if (sizes.some((n) => !Number.isInteger(n) || n < 3)) throw new Error(`--nodes takes sizes of at least 3, e.g. 5,64,512`);

const scenario = parseScenario({
  name: "bench-ycsb-a",
  workload: {
    type: "ycsb",
    clients: 10,
    operations: 10_000,
    records: 1000,
    mix: { read: 0.5, update: 0.5, insert: 0 },
    distribution: "zipfian",
    valueBytes: 100,
    thinkMs: { min: 0, max: 10 },
  },
  quiesceMs: 1000,
});

const progress = new Progress(sizes.length * options.runs);
const results: (Measurement & { nodes: number; events: number; requests: number })[] = [];
for (const nodes of sizes) {
  const config = {
    name: `bench-${nodes}`,
    nodes,
    replication: { n: 3, r: 2, w: 2 },
    transport: { name: "in-process", options: { latency: { kind: "normal", mean: 5, stddev: 2 } } },
  };
  let seed = 0;
  let events = 0;
  let requests = 0;
  const m = await measure(`${nodes} nodes`, "simulated requests per wall second", options, async () => {
    const started = performance.now();
    const { report } = await runScenario(config, scenario, ++seed, { registry: builtinPlugins });
    const wallMs = performance.now() - started;
    events = report.events;
    requests = report.availability.attempted;
    return (report.availability.attempted / wallMs) * 1000;
  }, progress);
  results.push({ ...m, nodes, events, requests });
}
progress.end();

const markdown = [
  `simulator speed, 10,000 YCSB-A operations (15,000 requests with the updates' reads), median of ${options.runs} runs, ${runtimeName()}`,
  "",
  "| cluster | simulated requests per wall second | spread | events per run |",
  "| --- | --- | --- | --- |",
  ...results.map((r) => `| ${r.nodes} nodes | ${figure(r.median)} | ${(r.spread * 100).toFixed(0)}% | ${figure(r.events)} |`),
].join("\n");
if (options.json) {
  const rows = results.map((r) => ({
    nodes: r.nodes,
    requestsPerSecond: r.median,
    spread: r.spread,
    events: r.events,
    requests: r.requests,
  }));
  console.log(JSON.stringify({ benchmark: "sim", runtime: runtimeName(), scenario: scenario.name, rows, results, markdown }, null, 2));
} else console.log(markdown);
