/**
 * The runs whose history digests must be the same on every run and under every runtime, and
 * their pinned digests (test/support/digests.json):
 *
 * - a small scenario exercising every source of nondeterminism the simulator controls (latency
 *   distributions, loss, duplication, partitions, crashes, restarts, skew, zipfian keys), on
 *   each of {@link FIXTURE_SEEDS};
 * - the lab's documented comparison (docs/lab.md): examples/scenarios/partition-set.json
 *   against examples/configs/lww.json and vector-clock.json on seeds 1 to 20, as
 *   `ringforge compare ... --seed-count 20` runs it.
 *
 * A change meant to change histories re-pins them with
 * `npx tsx test/support/print-digest.ts --pin`; the tests then check the other runtime agrees.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { builtinPlugins } from "../../plugins/index.ts";
import { compare } from "../../sim/lab.ts";
import type { RunReport } from "../../sim/run.ts";
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

/** The seeds the fixture's digests are pinned for (about 70 ms of simulation each). */
export const FIXTURE_SEEDS: readonly number[] = Array.from({ length: 20 }, (_, i) => i + 1);

/** Runs the fixture with `seed` and returns its digest. */
export async function digestFixture(seed = 7): Promise<string> {
  const { report } = await runScenario(fixtureConfig, fixtureScenario, seed, { registry: builtinPlugins });
  return report.digest;
}

/** The fixture's digest for every seed of {@link FIXTURE_SEEDS}, by seed. */
export async function fixtureDigests(): Promise<Record<string, string>> {
  const digests: Record<string, string> = {};
  for (const seed of FIXTURE_SEEDS) digests[seed] = await digestFixture(seed);
  return digests;
}

const root = (path: string): string => fileURLToPath(new URL(`../../${path}`, import.meta.url));
const readJson = (path: string): unknown => JSON.parse(readFileSync(root(path), "utf8"));

/** The documented lab comparison: its scenario, its configs and its seeds (docs/lab.md). */
export const PARTITION_SET = {
  scenario: "examples/scenarios/partition-set.json",
  configs: ["examples/configs/lww.json", "examples/configs/vector-clock.json"],
  seeds: Array.from({ length: 20 }, (_, i) => i + 1),
} as const;

/** The config names of {@link PARTITION_SET} (each config file's `name`). */
export type PartitionSetConfig = "lww" | "vector-clock";

/** Runs the documented comparison for one of its configs; one report per seed, in seed order. */
export async function partitionSetRuns(name: PartitionSetConfig): Promise<readonly RunReport[]> {
  const file = PARTITION_SET.configs.find((f) => (readJson(f) as { name: string }).name === name);
  if (file === undefined) throw new Error(`no config named ${name} in ${PARTITION_SET.configs.join(", ")}`);
  const comparison = await compare(parseScenario(readJson(PARTITION_SET.scenario)), [{ name, config: readJson(file) as object }], {
    registry: builtinPlugins,
    seeds: PARTITION_SET.seeds,
  });
  return comparison.results[0]!.runs;
}

/** What test/support/digests.json holds: digests by seed. */
export interface PinnedDigests {
  /** The fixture's, for every seed of {@link FIXTURE_SEEDS}. */
  readonly fixture: Record<string, string>;
  /** The partition-set comparison's, per config. */
  readonly partitionSet: Record<PartitionSetConfig, Record<string, string>>;
}

/** Where the pinned digests live. */
export const PINNED_DIGESTS_FILE = "test/support/digests.json";

/** The pinned digests. */
export function pinnedDigests(): PinnedDigests {
  return readJson(PINNED_DIGESTS_FILE) as PinnedDigests;
}

/** Runs everything pinned and returns the digests in the pinned file's shape. */
export async function computeDigests(): Promise<PinnedDigests> {
  const partitionSet = {} as Record<PartitionSetConfig, Record<string, string>>;
  for (const name of ["lww", "vector-clock"] as const) {
    partitionSet[name] = Object.fromEntries((await partitionSetRuns(name)).map((run) => [String(run.seed), run.digest]));
  }
  return { fixture: await fixtureDigests(), partitionSet };
}

/** The absolute path of a file of the repository. */
export function repositoryPath(path: string): string {
  return root(path);
}
