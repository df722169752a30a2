/**
 * The simulator: fault schedules, checkers, determinism across runs and runtimes, the lab.
 */
import { simulatedNetwork } from "../sim/network.ts";
import { describe, it } from "@std/testing/bdd";
import { assert, assertEquals, assertNotEquals, assertRejects, assertThrows } from "@std/assert";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { createCluster, decodeText, encodeText, InvalidConfigError, sleep } from "../index.ts";
import { builtinPlugins } from "../plugins/index.ts";
import { compare, formatComparison, History, lostWrites, parseFaults, parseScenario, runScenario, staleReads } from "../sim/index.ts";
import { runCli } from "../cli/program.ts";
import { digestFixture, FIXTURE_SEEDS, fixtureDigests, partitionSetRuns, pinnedDigests } from "./support/digest-fixture.ts";

describe("fault schedules", () => {
  it("parse the one-line form, reusing the subject of a statement", () => {
    const events = parseFaults("partition {n1,n2} | {n3,n4,n5} at 1s, heal at 5s; crash n3 at 7s, restart at 9s", [
      "n1",
      "n2",
      "n3",
      "n4",
      "n5",
    ]);
    assertEquals(events, [
      { at: 1000, action: "partition", groups: [["n1", "n2"], ["n3", "n4", "n5"]] },
      { at: 5000, action: "heal" },
      { at: 7000, action: "crash", node: "n3" },
      { at: 9000, action: "restart", node: "n3" },
    ]);
  });

  it("parse isolate, block, skew, loss and duplicate, sorted by time", () => {
    const events = parseFaults(
      "skew n2 -1.5s at 3s; isolate n1 at 250ms; block n2 -> n3 at 1s; loss 0.1 at 2s; duplicate 0.05 at 2s; latency * -> n3 20..80ms at 4s, latency n1 -> n2 50ms at 5s",
      ["n1", "n2", "n3"],
    );
    assertEquals(events.slice(5), [
      { at: 4000, action: "latency", from: "*", to: "n3", latency: { kind: "uniform", min: 20, max: 80 } },
      { at: 5000, action: "latency", from: "n1", to: "n2", latency: { kind: "constant", ms: 50 } },
    ]);
    assertEquals(events.slice(0, 5), [
      { at: 250, action: "partition", groups: [["n1"], ["n2", "n3"]] },
      { at: 1000, action: "block", from: "n2", to: "n3" },
      { at: 2000, action: "loss", probability: 0.1 },
      { at: 2000, action: "duplicate", probability: 0.05 },
      { at: 3000, action: "skew", node: "n2", offsetMs: -1500 },
    ]);
  });

  it("refuse bad clauses and unknown nodes with the clause in the message", () => {
    const bad = assertThrows(() => parseFaults("crash n3 at soon", ["n3"]), InvalidConfigError);
    assert(bad.message.includes("crash n3 at soon"));
    assertThrows(() => parseFaults("explode n3 at 1s", ["n3"]), InvalidConfigError);
    assertThrows(() => parseFaults("partition {n1} at 1s", ["n1"]), InvalidConfigError);
    assertThrows(() => parseFaults("loss 2 at 1s", []), InvalidConfigError);
    assertThrows(() => parseFaults("crash n9 at 1s", ["n1"]), InvalidConfigError);
    assertThrows(() => parseFaults([{ at: -1, action: "heal" }], []), InvalidConfigError);
  });
});

describe("the simulated network's faults", () => {
  it("partitions, asymmetric blocks, heal, loss and duplication", async () => {
    await using cluster = await createCluster({ nodes: 3, replication: { n: 3, r: 1, w: 3 }, requestTimeoutMs: 100 });
    const network = simulatedNetwork(cluster);
    network.partition([["n1"], ["n2", "n3"]]);
    assert(!network.canReach("n1", "n2") && !network.canReach("n3", "n1") && network.canReach("n2", "n3"));
    await assertRejects(() => cluster.node("n2").put("k", encodeText("v")));
    network.heal();
    network.block("n1", "n2");
    assert(!network.canReach("n1", "n2") && network.canReach("n2", "n1"));
    network.heal();
    await cluster.node("n2").put("k", encodeText("v"));

    const before = network.stats.dropped;
    network.setLink("*", "*", { loss: 1 });
    await assertRejects(() => cluster.node("n1").get("k", { r: 3 }));
    assert(network.stats.dropped > before);
    network.resetLinks();
    network.setLink("*", "*", { duplicate: 1 });
    await cluster.node("n1").put("k", encodeText("w"), { context: (await cluster.node("n1").get("k")).context });
    assert(network.stats.duplicated > 0);
    assertEquals((await cluster.node("n3").get("k", { r: 3 })).values.map(decodeText), ["w"]);
  });

  it("a crashed volatile node restarts empty, a durable one keeps its data", async () => {
    for (const durable of [false, true]) {
      await using cluster = await createCluster({ nodes: 3, engine: { name: "memory", options: { durable } } });
      await cluster.node("n1").put("k", encodeText("v"), { w: 3 });
      await cluster.crash("n2");
      await assertRejects(() => cluster.node("n2").get("k"));
      const restarted = await cluster.restart("n2");
      assertEquals((await restarted.localRecord("k")).length, durable ? 1 : 0);
    }
  });

  it("clock skew moves what a node's clock reads, not its timers", async () => {
    await using cluster = await createCluster({ nodes: 3, resolver: "last-write-wins" });
    const runtime = cluster.runtime as import("../core/runtime/runtime.ts").VirtualRuntime;
    runtime.setSkew("n2", 60_000);
    const before = cluster.scheduler!.now();
    await sleep(cluster.runtime.scheduler, 10);
    assertEquals(Math.round(cluster.node("n2").services.clock.now() - cluster.node("n1").services.clock.now()), 60_000);
    assert(cluster.scheduler!.now() - before >= 10);
  });
});

describe("checkers", () => {
  const op = (o: Partial<import("../sim/history.ts").OperationRecord>) =>
    ({ client: 0, kind: "read", key: "k", node: "n1", start: 0, end: 1, ok: true, ...o }) as import("../sim/history.ts").OperationRecord;

  it("lost writes: acknowledged adds missing from the final read", () => {
    const h = new History();
    h.record(op({ kind: "add", value: "a" }));
    h.record(op({ kind: "add", value: "b" }));
    h.record(op({ kind: "add", value: "c", ok: false, error: "RINGFORGE_TIMEOUT" }));
    h.record(op({ kind: "final-read", read: ["a", "c"] }));
    assertEquals(lostWrites(h), {
      acknowledged: 2,
      lost: 1,
      unacknowledgedPresent: 1,
      examples: ["b"],
      finalReadSucceeded: true,
    });
  });

  it("stale reads: a read that misses a write acknowledged before it began", () => {
    const h = new History();
    h.record(op({ kind: "write", value: "w1", start: 0, end: 10 }));
    h.record(op({ kind: "write", value: "w2", start: 20, end: 30 }));
    h.record(op({ kind: "read", start: 40, end: 45, read: ["w1"] })); // stale: w1 ended before w2 began
    h.record(op({ kind: "read", start: 40, end: 45, read: ["w2"] })); // fresh
    h.record(op({ kind: "read", start: 25, end: 28, read: ["w1"] })); // w2 not yet acknowledged: fresh
    h.record(op({ kind: "read", start: 40, end: 45, read: [] })); // stale: nothing at all
    h.record(op({ kind: "write", value: "w3", start: 50, end: 60, ok: false, error: "RINGFORGE_TIMEOUT" }));
    h.record(op({ kind: "read", start: 70, end: 75, read: ["w3"] })); // an unacknowledged write may win: fresh
    h.record(op({ kind: "final-read", start: 80, end: 85, read: ["w1"] })); // w2 lost: acked, not returned
    h.record(op({ kind: "final-read", start: 80, end: 85, read: ["w3"] })); // fresh
    assertEquals(staleReads(h), { reads: 5, stale: 2, finalReads: 2, lost: 1, resurrected: 0, deletes: 0 });
  });

  it("an old value read after an acknowledged delete is stale, and at the end it is a deleted key back", () => {
    const h = new History();
    h.record(op({ kind: "write", value: "w1", start: 0, end: 10 }));
    h.record(op({ kind: "delete", value: "d1", start: 20, end: 30 }));
    h.record(op({ kind: "read", start: 40, end: 45, read: [] })); // fresh: deleted
    h.record(op({ kind: "read", start: 40, end: 45, read: ["w1"] })); // stale
    h.record(op({ kind: "final-read", start: 90, end: 95, read: ["w1"] })); // the delete was undone
    h.record(op({ kind: "write", value: "w2", start: 100, end: 110, key: "other" }));
    h.record(op({ kind: "delete", value: "d2", start: 120, end: 130, key: "other", ok: false, error: "RINGFORGE_TIMEOUT" }));
    h.record(op({ kind: "read", start: 140, end: 145, read: [], key: "other" })); // the failed delete may have applied
    assertEquals(staleReads(h), { reads: 3, stale: 1, finalReads: 1, lost: 0, resurrected: 1, deletes: 1 });
  });
});

describe("determinism", () => {
  const repin = "if the change was meant to change histories, re-pin with `npx tsx test/support/print-digest.ts --pin` " +
    "and run this file under the other runtime too";

  it("one seed gives one history: two runs, one digest", async () => {
    assertEquals(await digestFixture(7), await digestFixture(7));
    assertNotEquals(await digestFixture(7), await digestFixture(8));
  });

  it("Node and Deno give the same digest for every seed of the fixture", async () => {
    const mine = await fixtureDigests();
    // Run the fixture under the other runtime: Deno from vitest, Node (tsx) from deno test.
    const underDeno = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";
    const bin = join(process.cwd(), "node_modules", ".bin", underDeno ? "tsx" : "deno");
    const args = underDeno ? ["test/support/print-digest.ts"] : ["run", "-A", "test/support/print-digest.ts"];
    const theirs = JSON.parse(execFileSync(bin, args, { encoding: "utf8" })) as Record<string, string>;
    assertEquals(Object.keys(mine).length, FIXTURE_SEEDS.length);
    assertEquals(theirs, mine);
  });

  it("every seed of the fixture gives its pinned digest", async () => {
    assertEquals(await fixtureDigests(), pinnedDigests().fixture, repin);
  });

  // The lab's documented comparison (docs/lab.md), run by both runtimes against one pinned file:
  // every run of it is the same history under Node and under Deno.
  for (const name of ["lww", "vector-clock"] as const) {
    it(`the 20-seed partition-set comparison gives its pinned digests: ${name}`, async () => {
      const runs = await partitionSetRuns(name);
      const digests = Object.fromEntries(runs.map((run) => [String(run.seed), run.digest]));
      assertEquals(digests, pinnedDigests().partitionSet[name], repin);
      // What the comparison shows: last-write-wins loses acknowledged adds on every seed,
      // vector clocks on none.
      for (const run of runs) {
        const lost = run.lostWrites!.lost;
        assert(name === "lww" ? lost > 0 : lost === 0, `${name} seed ${run.seed} lost ${lost} acknowledged adds`);
      }
    }, 90_000);
  }
});

const smallSet = {
  name: "small-set",
  workload: { type: "set", clients: 5, adds: 60, key: "s", thinkMs: { min: 5, max: 30 } },
  faults: "partition {n1,n2} | {n3,n4,n5} at 200ms, heal at 700ms",
  quiesceMs: 500,
};
const storeWith = (resolver: string) => ({
  nodes: 5,
  resolver,
  requestTimeoutMs: 200,
  engine: { name: "memory", options: { durable: true } },
  transport: { name: "in-process", options: { latency: { kind: "normal", mean: 5, stddev: 2 } } },
});

describe("the compare lab", () => {
  it("shows last-write-wins losing acknowledged adds that vector clocks keep", async () => {
    const comparison = await compare(
      parseScenario(smallSet),
      [
        { name: "lww", config: storeWith("last-write-wins") },
        { name: "vc", config: storeWith("vector-clock") },
      ],
      { registry: builtinPlugins, seeds: [1, 2] },
    );
    const [lww, vc] = comparison.results;
    for (const run of lww!.runs) assert(run.lostWrites!.lost > 0, `lww seed ${run.seed} lost nothing`);
    for (const run of vc!.runs) assertEquals(run.lostWrites!.lost, 0);
    for (const run of [...lww!.runs, ...vc!.runs]) {
      assertEquals(run.convergence.divergent, 0);
      assert(run.lostWrites!.finalReadSucceeded);
    }
    const table = formatComparison(comparison);
    assert(table.includes("lww") && table.includes("lost acked writes"), table);
  });

  it("refuses a config whose transport cannot take faults", async () => {
    await assertRejects(() => runScenario({ nodes: 3, transport: "no-such" }, parseScenario(smallSet), 1, { registry: builtinPlugins }));
  });

  it("runs from the command line, as a table or JSON", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ringforge-lab-"));
    try {
      writeFileSync(join(dir, "s.json"), JSON.stringify(smallSet));
      writeFileSync(join(dir, "lww.json"), JSON.stringify(storeWith("last-write-wins")));
      writeFileSync(join(dir, "vc.json"), JSON.stringify({ ...storeWith("vector-clock"), name: "vector-clock" }));
      let out = "";
      const io = { out: (t: string) => void (out += t), err: (t: string) => void (out += t) };
      const args = ["compare", join(dir, "s.json"), "--config", join(dir, "lww.json"), "--config", join(dir, "vc.json")];
      assertEquals(await runCli([...args, "--json"], io), 0);
      const json = JSON.parse(out);
      assertEquals(
        json.results.map((r: { config: string }) => r.config),
        ["lww", "vector-clock"],
      );
      assertEquals(json.seeds, [1]);
      out = "";
      assertEquals(await runCli([...args, "--seed-count", "2"], io), 0);
      assert(out.includes("seeds with loss"), out);
      out = "";
      assertEquals(await runCli(["compare", join(dir, "s.json"), "--config", join(dir, "missing.json")], io), 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("failure detection in the lab", () => {
  it("gossip, phi-accrual and SWIM each mark a crashed node down on every live node, and no live node", async () => {
    const scenario = parseScenario({
      name: "small-detection",
      workload: { type: "membership", durationMs: 30_000 },
      faults: "loss 0.05 at 0ms; crash n5 at 5s",
    });
    const comparison = await compare(
      scenario,
      ["gossip", "phi-accrual", "swim"].map((detector) => ({ name: detector, config: { nodes: 16, detector } })),
      { registry: builtinPlugins, seeds: [1] },
    );
    for (const { config, runs } of comparison.results) {
      const d = runs[0]!.detection!;
      assertEquals(d.detector, config);
      assertEquals(d.crashes.length, 1);
      assertEquals(d.crashes[0]!.detectedBy, 15, `${config}: detected by ${d.crashes[0]!.detectedBy} of 15`);
      assertEquals(d.crashedNotDownAtEnd, 0);
      assertEquals(d.liveDownAtEnd, 0, `${config} left live nodes marked down`);
      assert(d.crashes[0]!.medianMs > 0 && d.crashes[0]!.maxMs >= d.crashes[0]!.medianMs);
    }
    const table = formatComparison(comparison);
    assert(table.includes("time to down median") && table.includes("periodMs=1000"), table);
  });

  it("a restarted node is seen up again by every detector", async () => {
    for (const detector of ["gossip", "phi-accrual", "swim"]) {
      const { report } = await runScenario(
        { nodes: 8, detector },
        parseScenario({ name: "restart", workload: { type: "membership", durationMs: 40_000 }, faults: "crash n2 at 2s, restart at 20s" }),
        3,
        { registry: builtinPlugins },
      );
      assertEquals(report.detection!.liveDownAtEnd, 0, detector);
      assertEquals(report.detection!.crashes[0]!.detectedBy, 7, detector);
    }
  });
});

describe("sloppy quorum and hinted handoff in the lab", () => {
  const config = (replicator: string) => ({
    nodes: 5,
    replication: { n: 3, r: 2, w: 2 },
    requestTimeoutMs: 500,
    replicator: { name: replicator, options: { readRepair: false } },
    detector: "swim",
    engine: { name: "memory", options: { durable: true } },
  });
  const scenario = (faults: string) =>
    parseScenario({
      name: "replicas-down",
      workload: {
        type: "ycsb",
        clients: 5,
        operations: 300,
        records: 20,
        mix: { read: 0, update: 0, insert: 1 },
        distribution: "uniform",
        valueBytes: 20,
        thinkMs: { min: 0, max: 10 },
      },
      faults,
      quiesceMs: 8000,
    });

  it("with one replica down every write succeeds, and the replica holds every write after it returns", async () => {
    for (const replicator of ["quorum", "sloppy-quorum"]) {
      const { report } = await runScenario(config(replicator), scenario("crash n3 at 0ms"), 1, { registry: builtinPlugins });
      assertEquals(report.availability.ok, report.availability.attempted, replicator);
      // Read repair is off: only hinted handoff can bring n3 up to date.
      if (replicator === "sloppy-quorum") assertEquals(report.convergence.divergent, 0);
      else assert(report.convergence.divergent > 0, "strict quorum leaves n3 behind");
    }
  });

  it("with two replicas down strict quorum refuses writes with a quorum error; sloppy quorum takes them all", async () => {
    const strict = await runScenario(config("quorum"), scenario("crash n3 at 0ms; crash n4 at 0ms"), 1, { registry: builtinPlugins });
    assert((strict.report.availability.failedBy.RINGFORGE_QUORUM_NOT_REACHED ?? 0) > 0);
    const failure = strict.history.operations.find((op) => op.error === "RINGFORGE_QUORUM_NOT_REACHED");
    assert(failure !== undefined);
    const sloppy = await runScenario(config("sloppy-quorum"), scenario("crash n3 at 0ms; crash n4 at 0ms"), 1, {
      registry: builtinPlugins,
    });
    assertEquals(sloppy.report.availability.ok, sloppy.report.availability.attempted);
    assertEquals(sloppy.report.convergence.divergent, 0);
  });
});
