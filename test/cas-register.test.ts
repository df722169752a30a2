/**
 * The lab's CAS-register test: the same clients, faults and seeds against quorum reads and
 * writes and against the Paxos consensus, judged by the linearizability checker.
 */
import { describe, it } from "@std/testing/bdd";
import { assert, assertEquals } from "@std/assert";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { builtinPlugins } from "../plugins/index.ts";
import { compare, comparisonRows, parseScenario, type RunReport } from "../sim/index.ts";

const file = (path: string) => JSON.parse(readFileSync(fileURLToPath(new URL(`../${path}`, import.meta.url)), "utf8"));

describe("cas-register scenario", () => {
  it("finds violations under quorum reads and writes, none through Paxos", async () => {
    const scenario = parseScenario(file("examples/scenarios/cas-register.json"));
    const configs = ["quorum-lww", "linearizable"].map((name) => ({
      name,
      config: file(`examples/configs/consistency/${name}.json`),
    }));
    const seeds = [1, 2, 3];
    const comparison = await compare(scenario, configs, { registry: builtinPlugins, seeds });
    const [quorum, paxos] = comparison.results;
    const verdicts = (runs: readonly RunReport[]) => runs.map((r) => r.linearizability!.verdict);
    assert(verdicts(quorum!.runs).includes("violation"), `quorum: ${verdicts(quorum!.runs)}`);
    assertEquals(verdicts(paxos!.runs), ["linearizable", "linearizable", "linearizable"]);
    for (const run of quorum!.runs.filter((r) => r.linearizability!.verdict === "violation")) {
      const excerpt = run.linearizability!.excerpt!;
      assert(excerpt.includes("is not linearizable"), excerpt);
      assert(excerpt.split("\n").length <= 12, `a short excerpt: ${excerpt}`);
    }
    // Every config ran the same operations count and checked them (the checker saw the history).
    for (const r of paxos!.runs) assert(r.linearizability!.operations > 200);
    const rows = comparisonRows(comparison);
    assertEquals(rows[1]!.cells["seeds not linearizable"], "0/3");
  }, 60_000);
});
