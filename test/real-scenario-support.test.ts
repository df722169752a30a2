/**
 * What a real run (lab-net/real-run.ts) can carry out, checked before anything is created: every
 * workload but `membership`, every fault but `duplicate`, `latency` and the disk faults, no
 * autoscaling. Needs no root: nothing is started.
 */
import { describe, it } from "@std/testing/bdd";
import { assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import { runCli } from "../cli/program.ts";
import { InvalidRequestError } from "../core/errors.ts";
import { assertRealScenario } from "../lab-net/real-run.ts";
import { builtinPlugins } from "../plugins/index.ts";
import { parseScenario } from "../sim/scenario.ts";

const config = { name: "vc", nodes: 3, replication: { n: 3, r: 2, w: 2 }, resolver: "vector-clock" };
const ycsb = {
  type: "ycsb",
  clients: 2,
  operations: 10,
  records: 10,
  mix: { read: 0.5, update: 0.5, insert: 0 },
  distribution: "uniform",
  valueBytes: 10,
  thinkMs: { min: 0, max: 1 },
};

describe("which scenarios a real run takes", () => {
  it("takes each workload with clients, and joins, leaves, clock and network faults", () => {
    const faults = "join n4 at 1s; leave n2 at 2s; skew n1 +500ms at 1s; drift n3 -2% at 1s; " +
      "partition {n1} | {n2,n3} at 1s, heal at 2s; loss 0.1 at 1s; pause n3 at 1s, resume at 2s; crash n1 at 3s, restart at 4s";
    for (
      const workload of [
        ycsb,
        { type: "set", clients: 2, adds: 10, key: "s", thinkMs: { min: 0, max: 1 } },
        { type: "crdt", datatype: "counter", clients: 2, operations: 10, key: "c", thinkMs: { min: 0, max: 1 } },
        { type: "register", clients: 2, operations: 10, keys: 2, mix: { read: 1, write: 1, cas: 1 }, thinkMs: { min: 0, max: 1 } },
      ]
    ) {
      assertEquals(assertRealScenario(config, parseScenario({ name: "ok", workload, faults, quiesceMs: 10 }), builtinPlugins), undefined);
    }
  });

  it("refuses, naming it, what it cannot carry out", () => {
    const cases: [unknown, string][] = [
      [{ name: "m", workload: { type: "membership", durationMs: 1000 }, quiesceMs: 10 }, "the membership workload"],
      [{ name: "l", workload: ycsb, faults: "latency n1 -> n2 50ms at 1s", quiesceMs: 10 }, "fault latency"],
      [{ name: "d", workload: ycsb, faults: "duplicate 0.1 at 1s", quiesceMs: 10 }, "fault duplicate"],
      [{ name: "f", workload: ycsb, faults: "disk-full n1 at 1s", quiesceMs: 10 }, "fault disk-full"],
    ];
    for (const [scenario, named] of cases) {
      const error = assertThrows(() => assertRealScenario(config, parseScenario(scenario), builtinPlugins), InvalidRequestError);
      assertEquals(error.message.includes(named), true, error.message);
    }
  });
});

describe("the bounds of a real run on the command line", () => {
  const base = ["compare", "examples/scenarios/partition-set.json", "--config", "examples/configs/lww.json"];
  const run = async (args: string[]) => {
    let err = "";
    const code = await runCli([...base, ...args], { out: () => {}, err: (t: string) => void (err += t) });
    return { code, err };
  };

  it("refuses a time limit or request bound out of range, or without --real or --both, before anything runs", async () => {
    for (
      const [args, says] of [
        [["--real", "--real-time-limit", "2"], "from 5 to 86400"],
        [["--both", "--real-time-limit", "ten"], "from 5 to 86400"],
        [["--real", "--real-max-requests", "0"], "positive integer"],
        [["--real-time-limit", "30"], "--real-time-limit bounds a real run: give it with --real or --both"],
        [["--real-max-requests", "500"], "--real-max-requests bounds a real run"],
      ] as [string[], string][]
    ) {
      const { code, err } = await run(args);
      assertEquals(code, 2, `${args.join(" ")}: ${err}`);
      assertStringIncludes(err, says);
    }
  });
});
