/**
 * `ringforge cluster --autoscale` with real processes: a store config choosing target tracking
 * with a low target, three nodes, and a load from the test. Under the load the autoscaler starts
 * a fourth `ringforge start` process, which joins the ring; once the load stops it removes a
 * node (a leave: its data handed off, then its process exits) and the ring is back to three.
 * Every write the cluster acknowledged meanwhile reads back at R through the nodes that are
 * left, `ringforge status` shows the autoscaler's last decision, and Ctrl-C stops every node,
 * the added one included.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, it } from "@std/testing/bdd";
import { assert, assertEquals, assertMatch } from "@std/assert";
import { RingforgeClient } from "../client/ringforge-client.ts";
import { UnreachableUrlError } from "../client/fetch-failure.ts";
import { runCli } from "../cli/program.ts";
import { decodeText, encodeText } from "../core/codec/bytes.ts";
import { RingforgeError } from "../core/errors.ts";
import { until } from "./support/node-processes.ts";
import { freePortRange } from "./support/tcp-pair.ts";
import { cluster, removeAfter, stopLaunchers } from "./support/cluster-launcher.ts";

afterEach(stopLaunchers);

/** The ring's members as the first of `clients` that answers sees them. */
async function ringOf(clients: readonly RingforgeClient[]): Promise<string[]> {
  for (const client of clients) {
    try {
      return (await client.status()).members.filter((m) => m.inRing).map((m) => m.id).sort();
    } catch {
      // stopped, or leaving
    }
  }
  throw new Error("no node answers");
}

/** True once nothing listens on the client's port. */
async function gone(client: RingforgeClient): Promise<boolean> {
  try {
    await client.status();
    return false;
  } catch (error) {
    return error instanceof UnreachableUrlError && error.failure === "connection-refused";
  }
}

describe("ringforge cluster --autoscale", () => {
  it("adds a fourth node process under load, removes one when the load stops, and loses no acknowledged write", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "ringforge-autoscale-"));
    removeAfter(dir);
    const store = path.join(dir, "store.json");
    writeFileSync(
      store,
      JSON.stringify({
        replication: { n: 3, r: 2, w: 2 },
        resolver: "vector-clock",
        replicator: { name: "sloppy-quorum", options: { deliveryIntervalMs: 200 } },
        detector: { name: "swim", options: { periodMs: 200, pingTimeoutMs: 100, syncIntervalMs: 1000 } },
        engine: { name: "lsm", options: { sync: "interval" } },
        antiEntropy: { name: "merkle", options: { intervalMs: 500 } },
        handoff: { intervalMs: 500 },
        requestTimeoutMs: 3000,
        // 15 requests per second per node: the test's load is well above it, no load well below.
        scaler: { name: "target-tracking", options: { target: 15, scaleInWindowMs: 2000, cooldownMs: 0 } },
      }),
    );
    const peerBase = await freePortRange(6);
    let clientBase = await freePortRange(6);
    while (Math.abs(clientBase - peerBase) <= 6) clientBase = await freePortRange(6);
    // The cool-down outlasts the nodes' 5-second traffic window: the load of the first minutes is
    // out of the figures before a second change may start.
    const launcher = cluster([
      ...["--nodes", "3", "--dir", path.join(dir, "data"), "--store", store],
      ...["--peer-base", String(peerBase), "--client-base", String(clientBase)],
      ...["--autoscale", "min=3,max=5,interval=1s,cooldown=8s,timeout=45s"],
    ]);
    // On a failure, what the launcher and its nodes printed says what happened.
    await (async () => {
      const t0 = Date.now();
      const seconds = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
      let exit: number | string | undefined;
      void launcher.exited.then((code) => (exit = code));
      await until("the cluster to be ready", 60_000, async () => {
        if (exit !== undefined) throw new Error(`the launcher exited (${exit})`);
        return launcher.output().includes("ringforge: autoscaling with target-tracking") ? true : undefined;
      });
      const ready = seconds();
      const clientOf = (index: number) => new RingforgeClient(`http://127.0.0.1:${clientBase + index}`);
      const initial = [1, 2, 3].map(clientOf);
      const everyone = [1, 2, 3, 4, 5].map(clientOf);

      // Load: unique keys written and read back through the three first nodes, 8 at a time.
      const acked = new Map<string, string>();
      let failed = 0;
      let loading = true;
      let next = 0;
      const load = Promise.all(Array.from({ length: 8 }, async (_, worker) => {
        while (loading) {
          const i = next++;
          const key = `key-${String(i).padStart(5, "0")}`;
          const value = `value of ${key}`;
          const client = initial[(i + worker) % initial.length]!;
          try {
            await client.put(key, encodeText(value));
            acked.set(key, value);
            await client.get(key);
          } catch (error) {
            if (!(error instanceof RingforgeError)) throw error;
            failed++;
          }
        }
      }));

      let scaledOut: string;
      try {
        const four = await until("a fourth node to join the ring", 45_000, async () => {
          const ring = await ringOf(everyone);
          return ring.length === 4 ? ring : undefined;
        });
        scaledOut = seconds();
        const added = four.find((id) => !["n1", "n2", "n3"].includes(id));
        assertEquals(added, "n4", `the new node is n4 (ring ${four.join(", ")})`);
        // The others count n4 a member as soon as its join publishes the ring, a moment before
        // n4's own process serves (until then it answers 503 "starting"): the launcher waits for
        // n4 itself, so the test does too before it asks n4.
        await until(
          "the launcher to see n4 join",
          10_000,
          async () => (/ringforge: n4 joined the ring in [\d.]+ s/.test(launcher.output()) ? true : undefined),
        );
        // Its own process answers on the next client port, as one of this run's ring members.
        const n4 = await clientOf(4).status();
        assertEquals([n4.node, n4.members.find((m) => m.id === "n4")?.inRing], ["n4", true]);
      } finally {
        loading = false;
        await load;
      }
      const loadStopped = seconds();

      // `ringforge status` shows the autoscaler's last decision (in this process: the CLI's code).
      // n4 hears of the decisions from the round after it joined.
      const statusOut = await until("ringforge status on n4 to show the scaler line", 10_000, async () => {
        let out = "";
        const code = await runCli(["status", "--url", `http://127.0.0.1:${clientBase + 4}`], {
          out: (t) => void (out += t),
          err: (t) => void (out += t),
        });
        assertEquals(code, 0, out);
        return /^scaler: /m.test(out) ? out : undefined;
      });
      assertMatch(
        statusOut,
        /^scaler: .+ — requestsPerSecond [\d.]+ per node against a target of 15: \d node\(s\) wanted, \d running.* \([^()]*ago\)$/m,
      );

      const three = await until("the ring to be back to three members", 45_000, async () => {
        const ring = await ringOf(everyone);
        return ring.length === 3 ? ring : undefined;
      });
      const removed = ["n1", "n2", "n3", "n4"].find((id) => !three.includes(id))!;
      const removedClient = clientOf(Number(removed.slice(1)));
      await until(`${removed}'s process to exit`, 30_000, async () => ((await gone(removedClient)) ? true : undefined));
      const scaledIn = seconds();
      const leftLine = new RegExp(`ringforge: ${removed} left the ring and exited in [\\d.]+ s`);
      await until(`the launcher to see ${removed} exit`, 10_000, async () => (leftLine.test(launcher.output()) ? true : undefined));
      assert(!launcher.output().includes(`node ${removed} exited`), "the leave is not reported as a crash");

      // Every acknowledged write reads back at R (2 of 3) through the nodes that are left.
      const left = three.map((id) => clientOf(Number(id.slice(1))));
      const keys = [...acked.keys()];
      let missing = 0;
      let cursor = 0;
      await Promise.all(Array.from({ length: 8 }, async () => {
        for (let i = cursor++; i < keys.length; i = cursor++) {
          const key = keys[i]!;
          const { values } = await left[i % left.length]!.get(key);
          if (!values.map(decodeText).includes(acked.get(key)!)) missing++;
        }
      }));
      assertEquals(missing, 0, `acknowledged keys missing after ${removed} left`);
      assert(acked.size >= 100, `the load wrote ${acked.size} keys`);

      launcher.child.kill("SIGINT");
      // Node exits 0 after its Ctrl-C handler; Deno reports the signal it handled.
      assert([0, "SIGINT"].includes(await launcher.exited), `the launcher stops cleanly:\n${launcher.output()}`);
      for (const client of everyone) assert(await gone(client), `nothing listens on ${client.url} after Ctrl-C`);
      console.log(
        `autoscale: ready at ${ready}, 4 members at ${scaledOut} (load stopped at ${loadStopped}), ${removed} gone at ${scaledIn}; ` +
          `${acked.size} writes acknowledged (${failed} failed), all ${acked.size} readable`,
      );
    })().catch((error: unknown) => {
      if (error instanceof Error) error.message += `\n--- ringforge cluster printed ---\n${launcher.output()}`;
      throw error;
    });
  }, 120_000);
});
