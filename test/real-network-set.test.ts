/**
 * Jepsen's set test on real node processes (lab-net/real-run.ts): three `ringforge start`
 * processes, each in its own network namespace, N = 3, R = W = 2; eight clients on the host add
 * unique elements to one set by read-modify-write while n1 is cut off by iptables and then n2
 * is stopped with SIGSTOP. Vector clocks and dotted version vectors keep every acknowledged add
 * (concurrent writes come back as siblings, which the clients merge); last-write-wins keeps one
 * of two concurrent writes, and loses acknowledged adds.
 *
 * Needs root, `ip` and `iptables`; without them the test says it was skipped and why, unless
 * `RINGFORGE_REQUIRE_NETNS=1` (set by `.ci/run`), where a missing prerequisite fails it.
 */
import { describe, it } from "@std/testing/bdd";
import { assert, assertEquals } from "@std/assert";
import type { StoreConfig } from "../core/build/config.ts";
import { runRealScenario } from "../lab-net/real-run.ts";
import { builtinPlugins } from "../plugins/index.ts";
import { parseScenario } from "../sim/scenario.ts";
import { realNetworkRuns } from "./support/netns-gate.ts";

const runs = realNetworkRuns("real network set test");

/** The three stores differ only in `resolver`. */
function store(resolver: string): StoreConfig {
  return {
    name: resolver,
    nodes: 3,
    replication: { n: 3, r: 2, w: 2 },
    requestTimeoutMs: 500,
    partitioner: { name: "consistent-hash", options: { vnodes: 64 } },
    replicator: { name: "quorum", options: { readRepair: true } },
    resolver,
    detector: "static",
    engine: { name: "memory" },
  };
}

// Writers on both sides of the partition, and many of them at once on one key: under
// last-write-wins, two clients that read the same version and both write back lose one add.
const scenario = parseScenario({
  name: "real-partition-pause-set",
  workload: { type: "set", clients: 8, adds: 2000, key: "jepsen-set", thinkMs: { min: 5, max: 40 } },
  faults: "partition {n1} | {n2,n3} at 600ms, heal at 1800ms; pause n2 at 2200ms, resume at 3200ms",
  durationMs: 3800,
  quiesceMs: 500,
});

(runs ? describe : describe.skip)("the set test on real node processes under real faults", () => {
  it("vector clocks and dotted version vectors lose no acknowledged add; last-write-wins loses some", async () => {
    // The three runs at once, each on its own network: the test takes one run's time.
    const [lww, vc, dvv] = await Promise.all(
      ["last-write-wins", "vector-clock", "dotted-version-vector"].map((resolver) =>
        runRealScenario(store(resolver), scenario, 1, { registry: builtinPlugins, maxRunMs: 20_000 })
      ),
    );
    for (const { report, history } of [lww!, vc!, dvv!]) {
      // Client errors a real network may add (a reset connection) are listed too: not faults.
      const faults = history.faults.map((f) => f.fault).filter((f) => !f.startsWith("unexpected client error"));
      assertEquals(report.world, "real");
      // The faults happened, in order, and the run ended by healing, not by its time limit.
      assertEquals(faults, [
        "partition {n1} | {n2,n3}",
        "heal",
        "pause n2",
        "resume n2",
        "heal all",
      ]);
      const lost = report.lostWrites!;
      assert(lost.finalReadSucceeded, `${report.config}: the final read failed`);
      assert(lost.acknowledged >= 50, `${report.config}: only ${lost.acknowledged} adds acknowledged`);
      assertEquals(report.convergence.divergent, 0, `${report.config}: replicas differ after healing`);
    }
    assertEquals(vc!.report.lostWrites!.lost, 0, `vector clocks lost ${vc!.report.lostWrites!.examples.join(", ")}`);
    assertEquals(dvv!.report.lostWrites!.lost, 0, `dotted version vectors lost ${dvv!.report.lostWrites!.examples.join(", ")}`);
    assert(lww!.report.lostWrites!.lost > 0, "last-write-wins lost no acknowledged add");
    // Siblings: concurrent writes kept by the clocks, never by last-write-wins.
    assertEquals(lww!.report.siblings.max, 1);
    assert(vc!.report.siblings.max > 1 && dvv!.report.siblings.max > 1);
  }, 60_000);
});
