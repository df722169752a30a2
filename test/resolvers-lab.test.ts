/**
 * The resolvers compared in the simulator: dotted version vectors against vector clocks
 * through one coordinator, the cost of vector-clock pruning, and the sibling limit.
 */
import { describe, it } from "@std/testing/bdd";
import { assert, assertEquals, assertRejects } from "@std/assert";
import { InvalidConfigError, type StoreConfig } from "../index.ts";
import { builtinPlugins } from "../plugins/index.ts";
import { parseScenario, type RunReport, runScenario } from "../sim/index.ts";

const base: StoreConfig = {
  nodes: 5,
  replication: { n: 3, r: 2, w: 2 },
  limits: { maxValueBytes: 65536 },
  requestTimeoutMs: 500,
  detector: "static",
  transport: { name: "in-process", options: { latency: { kind: "normal", mean: 5, stddev: 2 } } },
};

const oneCoordinator = parseScenario({
  name: "one-coordinator",
  workload: { type: "set", clients: 8, adds: 240, key: "cart", thinkMs: { min: 0, max: 20 } },
  coordinators: ["n1"],
  quiesceMs: 500,
});

async function run(config: StoreConfig, seed = 1, scenario = oneCoordinator): Promise<RunReport> {
  return (await runScenario(config, scenario, seed, { registry: builtinPlugins })).report;
}

describe("dotted version vectors against vector clocks, many clients through one coordinator", () => {
  it("DVV keeps fewer siblings and smaller records, and never returns an obsolete sibling", async () => {
    const dvv = await run({ ...base, name: "dvv", resolver: "dotted-version-vector" });
    const vc = await run({ ...base, name: "vc", resolver: "vector-clock" });
    for (const r of [dvv, vc]) assertEquals(r.lostWrites?.lost, 0, `${r.config} lost acknowledged adds`);
    assert(dvv.siblings.max <= 8, `at most one sibling per client: ${dvv.siblings.max}`);
    assert(vc.siblings.max > dvv.siblings.max, `vector clocks ${vc.siblings.max}, DVV ${dvv.siblings.max}`);
    assert(vc.repair!.largestRecordBytes > dvv.repair!.largestRecordBytes);
    assertEquals(dvv.siblings.obsolete, 0);
    assert(vc.siblings.obsolete > 0, "server-side vector clocks keep siblings their writers had read");
  });

  it("the sibling limit refuses writes with a typed error, counted in the report", async () => {
    const vc = await run({
      ...base,
      name: "vc",
      resolver: "vector-clock",
      limits: { maxValueBytes: 65536, maxSiblings: 5, warnSiblings: 3 },
    });
    assert(vc.siblingLimit !== undefined && vc.siblingLimit.refused > 0);
    assertEquals(vc.availability.failedBy["RINGFORGE_SIBLING_LIMIT"], vc.siblingLimit.refused);
    assertEquals(vc.lostWrites?.lost, 0, "a refused write was never acknowledged");
  });

  it("a scenario's coordinators must be nodes of the store", async () => {
    const bad = parseScenario({ ...oneCoordinator, coordinators: ["n9"] });
    await assertRejects(() => run({ ...base, resolver: "vector-clock" }, 1, bad), InvalidConfigError);
  });
});

describe("vector-clock pruning has a cost the lab shows", () => {
  it("pruned clocks return siblings their writers had read (false conflicts)", async () => {
    const all = parseScenario({
      name: "many-coordinators",
      workload: { type: "set", clients: 8, adds: 240, key: "cart", thinkMs: { min: 0, max: 20 } },
      quiesceMs: 500,
    });
    const n5 = { ...base, replication: { n: 5, r: 3, w: 3 } };
    const plain = await run({ ...n5, name: "vc", resolver: "vector-clock" }, 1, all);
    const pruned = await run(
      { ...n5, name: "vc-pruned", resolver: { name: "vector-clock", options: { prune: { maxEntries: 2 } } } },
      1,
      all,
    );
    assert(pruned.siblings.obsolete > plain.siblings.obsolete, `${pruned.siblings.obsolete} vs ${plain.siblings.obsolete}`);
  });
});
