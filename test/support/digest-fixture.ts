/**
 * A small scenario exercising every source of nondeterminism the simulator controls (latency
 * distributions, loss, duplication, partitions, crashes, restarts, skew, zipfian keys), whose
 * digest must be the same on every run and under every runtime.
 */
import { builtinPlugins } from "../../plugins/index.ts";
import { runScenario } from "../../sim/run.ts";
import { parseScenario } from "../../sim/scenario.ts";

/** The fixture scenario. */
export const fixtureScenario = parseScenario({
  name: "digest-fixture",
  workload: {
    type: "ycsb",
    clients: 4,
    operations: 200,
    records: 50,
    mix: { read: 0.5, update: 0.4, insert: 0.1 },
    distribution: "zipfian",
    valueBytes: 40,
    thinkMs: { min: 0, max: 20 },
  },
  faults:
    "loss 0.02 at 0ms; duplicate 0.02 at 0ms; partition {n1,n2} | {n3,n4,n5} at 200ms, heal at 600ms; crash n4 at 300ms, restart at 900ms; skew n2 +250ms at 100ms",
  quiesceMs: 500,
  requestTimeoutMs: 200,
});

/** The fixture store. */
export const fixtureConfig = {
  name: "fixture",
  nodes: 5,
  replication: { n: 3, r: 2, w: 2 },
  resolver: "vector-clock",
  engine: { name: "memory", options: { durable: true } },
  transport: { name: "in-process", options: { latency: { kind: "normal", mean: 8, stddev: 4 } } },
};

/** Runs the fixture with `seed` and returns its digest. */
export async function digestFixture(seed = 7): Promise<string> {
  const { report } = await runScenario(fixtureConfig, fixtureScenario, seed, { registry: builtinPlugins });
  return report.digest;
}
