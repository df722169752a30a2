/**
 * The lab from code: one scenario (Jepsen's set test, ten clients adding to one set while the
 * cluster is split 2 | 3), two stores that differ only in their conflict resolver, the same
 * three seeds. `compare` runs every store on every seed in a deterministic simulation and
 * `formatCompact` prints the table `ringforge compare` prints.
 *
 *   npx tsx examples/lab.ts
 *   npx deno run -A examples/lab.ts
 */
import { builtinPlugins } from "../plugins/index.ts";
import { compare, formatCompact, parseScenario } from "../sim/index.ts";

const scenario = parseScenario({
  name: "partition-set",
  description: "ten clients add to one set while the cluster is split 2 | 3",
  workload: { type: "set", clients: 10, adds: 300, key: "set", thinkMs: { min: 20, max: 80 } },
  faults: "partition {n1,n2} | {n3,n4,n5} at 500ms, heal at 1500ms",
  quiesceMs: 1000,
});

const store = (resolver: string) => ({
  nodes: 5,
  resolver,
  requestTimeoutMs: 500,
  limits: { maxValueBytes: 65536 },
  transport: { name: "in-process", options: { latency: { kind: "normal", mean: 5, stddev: 2 } } },
});

const comparison = await compare(
  scenario,
  [
    { name: "lww", config: store("last-write-wins") },
    { name: "vector-clock", config: store("vector-clock") },
  ],
  { registry: builtinPlugins, seeds: [1, 2, 3] },
);
console.log(formatCompact(comparison));
const lost = (name: string) =>
  comparison.results.find((r) => r.config === name)!.runs.reduce((sum, r) => sum + (r.lostWrites?.lost ?? 0), 0);
console.log(`acknowledged adds lost: last-write-wins ${lost("lww")}, vector clocks ${lost("vector-clock")}`);
