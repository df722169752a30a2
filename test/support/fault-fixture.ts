/**
 * Runs with the faults that act on a node's own time (pause and resume, clock drift) and with the
 * random nemesis, whose history digests must be the same under Node and Deno: test/sim-faults.test.ts
 * computes them on its runtime and runs test/support/print-fault-digests.ts on the other.
 */
import { builtinPlugins } from "../../plugins/index.ts";
import { runScenario } from "../../sim/run.ts";
import { parseScenario } from "../../sim/scenario.ts";

const workload = {
  type: "ycsb",
  clients: 4,
  operations: 200,
  records: 50,
  mix: { read: 0.5, update: 0.4, insert: 0.1 },
  distribution: "zipfian",
  valueBytes: 40,
  thinkMs: { min: 0, max: 20 },
};

/**
 * The fixtures: pauses (one left for the final heal to end) and a drifting, stepped clock under
 * last-write-wins, where a clock's reading decides which write wins; and the random nemesis.
 */
export const faultFixtures = {
  "pause-drift": {
    scenario: parseScenario({
      name: "pause-drift-fixture",
      workload,
      faults:
        "drift n2 +0.05 at 50ms; pause n3 at 100ms, resume at 450ms; skew n2 +80ms at 300ms; drift n2 -0.02 at 500ms; pause n1 at 600ms",
      quiesceMs: 500,
      requestTimeoutMs: 200,
    }),
    config: { name: "lww", nodes: 5, replication: { n: 3, r: 2, w: 2 }, resolver: "last-write-wins", ...common() },
  },
  "random": {
    scenario: parseScenario({
      name: "random-nemesis-fixture",
      workload,
      faults: { random: { every: "150ms", until: "1s", maxDown: 2 } },
      quiesceMs: 500,
      requestTimeoutMs: 200,
    }),
    config: { name: "vector-clock", nodes: 5, replication: { n: 3, r: 2, w: 2 }, resolver: "vector-clock", ...common() },
  },
} as const;

function common() {
  return {
    engine: { name: "memory", options: { durable: true } },
    transport: { name: "in-process", options: { latency: { kind: "normal", mean: 8, stddev: 4 } } },
  };
}

/** The seeds each fixture runs with. */
export const FAULT_FIXTURE_SEEDS: readonly number[] = [1, 2, 3, 4, 5];

/** Every fixture's digest for every seed, as `name/seed -> digest`. */
export async function faultFixtureDigests(): Promise<Record<string, string>> {
  const digests: Record<string, string> = {};
  for (const [name, { scenario, config }] of Object.entries(faultFixtures)) {
    for (const seed of FAULT_FIXTURE_SEEDS) {
      digests[`${name}/${seed}`] = (await runScenario(config, scenario, seed, { registry: builtinPlugins })).report.digest;
    }
  }
  return digests;
}
