/**
 * The coordinator's overhead: put and get throughput through ringforge beside a bare `Map`.
 *
 * - **bare Map**: `map.set(key, value)` and `map.get(key)`, the floor of any in-memory store;
 * - **1 node, N=1**: an in-process store with the memory engine, where every request still
 *   validates, stamps a version (vector clock), encodes the record, keeps the token index and
 *   the hash tree, and goes through the replicator: the framework's own cost;
 * - **5 nodes, N=3 R=2 W=2**: the same plus replication over the in-process transport (messages
 *   encoded and decoded, three replicas written, two read): the cost of replication.
 *
 * Each figure is the median of several runs of 20,000 operations (100-byte values, 64 in flight
 * for the stores), after a warm-up run. `--profile` (Node only) adds a CPU profile of the 1-node
 * puts and gets: the share of time per source file.
 *
 *   npm run bench -- coordinator [--runs 5] [--json] [--profile]
 *   deno run -A bench/coordinator.ts
 *
 * Prints figures; never passes or fails on them.
 */
import process from "node:process";
import { createCluster, encodeText } from "../index.ts";
import { benchOptions, figure, measure, type Measurement, Progress, rate, rateAsync, runtimeName } from "./harness.ts";
import { type CpuProfile, fileShares } from "./profile.ts";

const args = process.argv.slice(2);
const options = benchOptions(args);
const profiling = args.includes("--profile");
const OPS = 20_000;
const keys = Array.from({ length: OPS }, (_, i) => `user${i}`);
const value = encodeText("x".repeat(100));

const progress = new Progress(6 * options.runs);
const results: Measurement[] = [];

// ---- bare Map ----------------------------------------------------------------------------
{
  // A fresh map per run, so every run inserts (not overwrites) like the stores' first puts.
  // 50 passes over the keys per run: a Map run of only 20,000 operations is too short to time.
  let map = new Map<string, Uint8Array>();
  const passes = 50;
  results.push(
    await measure("bare Map: put", "ops/s", options, () => {
      map = new Map();
      return rate(OPS * passes, (i) => map.set(keys[i % OPS]!, value));
    }, progress),
  );
  let found = 0;
  results.push(
    await measure("bare Map: get", "ops/s", options, () => rate(OPS * passes, (i) => (found += map.get(keys[i % OPS]!)!.length)), progress),
  );
  if (found === 0) throw new Error("the Map lost its values");
}

// ---- stores ------------------------------------------------------------------------------
for (
  const [label, config] of [
    ["1 node, N=1", { nodes: 1, replication: { n: 1, r: 1, w: 1 } }],
    ["5 nodes, N=3 R=2 W=2", { nodes: 5, replication: { n: 3, r: 2, w: 2 } }],
  ] as const
) {
  let round = 0;
  results.push(
    await measure(`${label}: put`, "ops/s", options, async () => {
      // A fresh cluster per run: every run's puts are inserts into an empty store.
      await using cluster = await createCluster({ ...config, seed: ++round });
      const nodes = cluster.nodes;
      return await rateAsync(OPS, 64, (i) => nodes[i % nodes.length]!.put(keys[i]!, value));
    }, progress),
  );
  await using cluster = await createCluster({ ...config, seed: 99 });
  const nodes = cluster.nodes;
  for (let i = 0; i < OPS; i++) await nodes[i % nodes.length]!.put(keys[i]!, value);
  results.push(
    await measure(`${label}: get`, "ops/s", options, () => rateAsync(OPS, 64, (i) => nodes[i % nodes.length]!.get(keys[i]!)), progress),
  );
}
progress.end();

// ---- profile -----------------------------------------------------------------------------
let profile: { file: string; share: number }[] | undefined;
if (profiling) {
  if (typeof (globalThis as { Deno?: unknown }).Deno !== "undefined") throw new Error("--profile needs Node (node:inspector)");
  const { Session } = await import("node:inspector/promises");
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 100 });
  await using cluster = await createCluster({ nodes: 1, replication: { n: 1, r: 1, w: 1 }, seed: 7 });
  const node = cluster.node("n1");
  await session.post("Profiler.start");
  for (let round = 0; round < 3; round++) {
    await rateAsync(OPS, 64, (i) => node.put(`${keys[i]}.${round}`, value));
    await rateAsync(OPS, 64, (i) => node.get(`${keys[i]}.${round}`));
  }
  const { profile: cpu } = (await session.post("Profiler.stop")) as { profile: CpuProfile };
  session.disconnect();
  profile = fileShares(cpu, 15);
}

const median = (name: string) => results.find((r) => r.name === name)!.median;
const shareOfMap = {
  put: median("1 node, N=1: put") / median("bare Map: put"),
  get: median("1 node, N=1: get") / median("bare Map: get"),
};

const markdown = [
  `coordinator overhead, ${OPS.toLocaleString("en-US")} operations per run, median of ${options.runs} runs, ${runtimeName()}`,
  "",
  "| what | median | spread |",
  "| --- | --- | --- |",
  ...results.map((r) => `| ${r.name} | ${figure(r.median)} ${r.unit} | ${(r.spread * 100).toFixed(0)}% |`),
  "",
  `1-node store against a bare Map: puts ${(shareOfMap.put * 100).toFixed(1)}%, gets ${
    (shareOfMap.get * 100).toFixed(1)
  }% of the Map's rate`,
  ...(profile
    ? [
      "",
      "CPU profile of 1-node puts and gets, self time by file:",
      "",
      "| file | share |",
      "| --- | --- |",
      ...profile.map((p) => `| ${p.file} | ${(p.share * 100).toFixed(1)}% |`),
    ]
    : []),
].join("\n");
if (options.json) {
  console.log(
    JSON.stringify(
      {
        benchmark: "coordinator",
        runtime: runtimeName(),
        operations: OPS,
        // The headline medians, by name, beside the Map's (the full measurements follow).
        map: { putsPerSecond: median("bare Map: put"), getsPerSecond: median("bare Map: get") },
        oneNode: { putsPerSecond: median("1 node, N=1: put"), getsPerSecond: median("1 node, N=1: get") },
        fiveNodes: { putsPerSecond: median("5 nodes, N=3 R=2 W=2: put"), getsPerSecond: median("5 nodes, N=3 R=2 W=2: get") },
        results,
        shareOfMap,
        profile,
        markdown,
      },
      null,
      2,
    ),
  );
} else {
  console.log(markdown);
}
