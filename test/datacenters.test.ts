/**
 * Datacenters: replicas placed per datacenter, local-quorum and each-quorum requests, and the
 * simulator cutting a whole datacenter off.
 */
import { simulatedNetwork } from "../sim/network.ts";
import { describe, it } from "@std/testing/bdd";
import { assert, assertEquals, assertRejects } from "@std/assert";
import { createCluster, decodeText, encodeText, InvalidRequestError, RingforgeError, sleep, type StoreConfig } from "../index.ts";
import { builtinPlugins } from "../plugins/index.ts";
import { parseFaults, parseScenario, runScenario } from "../sim/index.ts";

const dcNodes = [
  ...[1, 2, 3].map((i) => ({ id: `a${i}`, datacenter: "dc1", zone: `r${i}` })),
  ...[1, 2, 3].map((i) => ({ id: `b${i}`, datacenter: "dc2", zone: `r${i}` })),
];
const twoDatacenters: StoreConfig = {
  nodes: dcNodes,
  replication: { n: 6, r: 4, w: 4 },
  requestTimeoutMs: 200,
  partitioner: { name: "consistent-hash", options: { topology: { replicasPerDatacenter: { dc1: 3, dc2: 3 } } } },
  antiEntropy: { name: "merkle", options: { intervalMs: 500 } },
  seed: 5,
};

describe("per-datacenter consistency", () => {
  it("with dc2 cut off, local-quorum writes in dc1 succeed, each-quorum ones fail naming dc2, and dc2 catches up after the heal", async () => {
    await using cluster = await createCluster(twoDatacenters);
    const network = simulatedNetwork(cluster);
    network.partition([["a1", "a2", "a3"], ["b1", "b2", "b3"]]);
    const a1 = cluster.node("a1");
    for (let i = 0; i < 20; i++) await a1.put(`k${i}`, encodeText(`v${i}`), { consistency: "local-quorum" });
    const error = await assertRejects(() => a1.put("k-each", encodeText("x"), { consistency: "each-quorum" }), RingforgeError);
    assert(["RINGFORGE_TIMEOUT", "RINGFORGE_QUORUM_NOT_REACHED"].includes(error.code), error.code);
    assertEquals(error.details.datacenter, "dc2");
    // The store-wide quorum (4 of 6) needs dc2 too.
    await assertRejects(() => a1.put("k-quorum", encodeText("x")), RingforgeError);
    // Local-quorum reads in dc1 work as well.
    assertEquals((await a1.get("k3", { consistency: "local-quorum" })).values.map(decodeText), ["v3"]);
    network.heal();
    await sleep(cluster.runtime.scheduler, 5_000);
    for (const b of ["b1", "b2", "b3"]) {
      for (let i = 0; i < 20; i++) {
        const record = await cluster.node(b).localRecord(`k${i}`);
        assertEquals(record.map((s) => (s.value ? decodeText(s.value) : null)), [`v${i}`], `${b} k${i}`);
      }
    }
    // Now each-quorum succeeds.
    await a1.put("k-each", encodeText("y"), { consistency: "each-quorum" });
  });

  it("local-quorum needs the coordinator to have a datacenter", async () => {
    await using cluster = await createCluster({ nodes: 3, seed: 1 });
    await assertRejects(() => cluster.node("n1").put("k", encodeText("v"), { consistency: "local-quorum" }), InvalidRequestError);
  });
});

describe("the simulator and datacenters", () => {
  it("dc:NAME in a fault names every node of that datacenter", () => {
    const ids = dcNodes.map((n) => n.id);
    const dcs = new Map(dcNodes.map((n) => [n.id, n.datacenter]));
    const events = parseFaults("isolate dc:dc2 at 1s; latency dc:dc1 -> dc:dc2 40ms at 0ms", ids, dcs);
    assertEquals(events.filter((e) => e.action === "latency").length, 9);
    assertEquals(events.find((e) => e.action === "partition"), {
      at: 1000,
      action: "partition",
      groups: [["b1", "b2", "b3"], ["a1", "a2", "a3"]],
    });
  });

  it("local-quorum stays available and fast through the cut; quorum and each-quorum do not", async () => {
    const scenario = parseScenario({
      name: "dc2-cut-off",
      workload: {
        type: "ycsb",
        clients: 6,
        operations: 600,
        records: 50,
        mix: { read: 0.5, update: 0.5, insert: 0 },
        thinkMs: { min: 0, max: 10 },
      },
      coordinators: ["a1", "a2", "a3"],
      faults: "latency dc:dc1 -> dc:dc2 40ms at 0ms; latency dc:dc2 -> dc:dc1 40ms at 0ms; isolate dc:dc2 at 300ms, heal at 1s",
      quiesceMs: 3000,
      finalReads: false,
    });
    const run = async (consistency: "count" | "local-quorum" | "each-quorum") =>
      (await runScenario({ ...twoDatacenters, name: consistency, replication: { n: 6, r: 4, w: 4, consistency } }, scenario, 1, {
        registry: builtinPlugins,
      })).report;
    const local = await run("local-quorum");
    const each = await run("each-quorum");
    assertEquals(local.availability.attempted, local.availability.ok);
    assert(each.availability.ok < each.availability.attempted);
    assert(local.latency.write!.p50 < 20 && each.latency.write!.p50 >= 80, `${local.latency.write!.p50} vs ${each.latency.write!.p50}`);
    assertEquals(local.convergence.divergent, 0);
  });
});
