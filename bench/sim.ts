/**
 * Simulator speed: wall-clock time of a simulated 5-node cluster (N=3, R=2, W=2) running a
 * 10,000-operation YCSB-A workload (50% reads, 50% read-modify-write updates; an update is a
 * get plus a put, so 15,000 client requests), on this machine.
 *
 *   npm run bench              # or: npx tsx bench/sim.ts [--runs 3] [--json]
 *   deno run -A bench/sim.ts
 *
 * Prints figures; never passes or fails on time.
 */
import process from "node:process";
import { builtinPlugins } from "../plugins/index.ts";
import { runScenario } from "../sim/run.ts";
import { parseScenario } from "../sim/scenario.ts";

const args = process.argv.slice(2);
const json = args.includes("--json");
const runsIndex = args.indexOf("--runs");
const runs = runsIndex >= 0 ? Number(args[runsIndex + 1]) : 3;

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

const config = {
  name: "bench",
  nodes: 5,
  replication: { n: 3, r: 2, w: 2 },
  transport: { name: "in-process", options: { latency: { kind: "normal", mean: 5, stddev: 2 } } },
};

const results = [];
for (let i = 0; i < runs; i++) {
  const started = performance.now();
  const { report } = await runScenario(config, scenario, i + 1, { registry: builtinPlugins });
  const wallMs = performance.now() - started;
  results.push({
    seed: i + 1,
    wallMs: Math.round(wallMs),
    operations: report.availability.attempted,
    events: report.events,
    virtualMs: report.virtualMs,
    messages: report.network.messages,
    opsPerWallSecond: Math.round((report.availability.attempted / wallMs) * 1000),
    eventsPerWallSecond: Math.round((report.events / wallMs) * 1000),
  });
}

const runtime = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined" ? "deno" : `node ${process.version}`;
if (json) {
  console.log(JSON.stringify({ benchmark: "sim", runtime, scenario: scenario.name, results }, null, 2));
} else {
  console.log(`simulated 5-node cluster, 10,000 YCSB-A operations (incl. 1,000-record load and final reads), ${runtime}`);
  for (const r of results) {
    console.log(
      `seed ${r.seed}: ${(r.wallMs / 1000).toFixed(2)} s wall for ${(r.virtualMs / 1000).toFixed(1)} s virtual; ` +
        `${r.operations} client requests (${r.opsPerWallSecond}/s), ${r.events} events (${r.eventsPerWallSecond}/s), ${r.messages} messages`,
    );
  }
}
