/**
 * A real run's membership and clock faults, and its bounds (lab-net/real-run.ts): YCSB-A from
 * the load process against three `ringforge start` processes in network namespaces while n4
 * joins (a process started with a new id), n1's clock jumps ahead and drifts (`POST
 * /admin/clock`) and n2 is decommissioned (`ringforge leave`); the clients stop at the run's
 * request bound. Vector clocks lose no acknowledged write, and every replica of the ring the run
 * ends with agrees.
 *
 * Needs root, `ip` and `iptables`; without them the test says it was skipped and why, unless
 * `RINGFORGE_REQUIRE_NETNS=1` (set by `.ci/run`), where a missing prerequisite fails it.
 */
import { describe, it } from "@std/testing/bdd";
import { assert, assertEquals } from "@std/assert";
import { runRealScenario } from "../lab-net/real-run.ts";
import { builtinPlugins } from "../plugins/index.ts";
import { parseScenario } from "../sim/scenario.ts";
import { realNetworkRuns } from "./support/netns-gate.ts";

const runs = realNetworkRuns("real network membership test");

const scenario = parseScenario({
  name: "real-ycsb-membership",
  workload: {
    type: "ycsb",
    clients: 4,
    operations: 100_000,
    records: 200,
    mix: { read: 0.5, update: 0.5, insert: 0 },
    distribution: "uniform",
    valueBytes: 50,
    thinkMs: { min: 5, max: 15 },
  },
  faults: "join n4 at 200ms; skew n1 +1500ms at 300ms; drift n1 +0.05 at 400ms; leave n2 at 4s",
  quiesceMs: 300,
});

(runs ? describe : describe.skip)("a real run's joins, leaves, clocks and request bound", () => {
  it("joins n4, skews n1, decommissions n2, stops at the request bound, and loses nothing", async () => {
    const maxRequests = 900;
    const { report, history } = await runRealScenario(
      {
        name: "vector-clock",
        nodes: 3,
        replication: { n: 3, r: 2, w: 2 },
        requestTimeoutMs: 500,
        resolver: "vector-clock",
        detector: "static",
        engine: { name: "memory" },
      },
      scenario,
      1,
      { registry: builtinPlugins, maxRunMs: 30_000, maxRequests },
    );
    const faults = history.faults.map((f) => f.fault).filter((f) => !f.startsWith("unexpected client error"));
    // Every fault happened (none "failed"), the clients stopped at the bound, and the run ended
    // by healing, not by its time limit.
    for (const f of ["join n4", "n4 joined", "skew n1 1500ms", "drift n1 0.05", "leave n2", "n2 left", "heal all"]) {
      assert(faults.includes(f), `no "${f}" in ${faults.join("; ")}`);
    }
    assert(!faults.some((f) => f.includes("failed") || f.startsWith("time limit")), faults.join("; "));
    assert(faults.some((f) => f.startsWith("request limit")), faults.join("; "));
    // Every try of every operation is a request: after the load phase's 200 writes, at most 700
    // operations start (at least one request each), and the 4 in flight at the bound finish.
    const clientOps = history.operations.filter((op) => op.client >= 0);
    assert(clientOps.length > 100 && clientOps.length <= maxRequests - 200 + 4, `${clientOps.length} client operations`);
    // n4 served clients once it had joined; n2 served none after it left.
    const joined = history.faults.find((f) => f.fault === "n4 joined")!.at;
    const left = history.faults.find((f) => f.fault === "n2 left")!.at;
    assert(clientOps.some((op) => op.node === "n4" && op.start >= joined), "no client request went to n4");
    assert(!clientOps.some((op) => op.node === "n2" && op.start > left), "a client request went to n2 after it left");
    assertEquals(report.staleReads!.lost, 0, "an acknowledged write is lost");
    assertEquals(report.staleReads!.finalReads, 200);
    assertEquals(report.convergence.keys, 200);
    assertEquals(report.convergence.divergent, 0, `replicas differ: ${report.convergence.examples.join(", ")}`);
  }, 60_000);
});
