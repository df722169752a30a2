/**
 * The AntiEntropy conformance suite: any anti-entropy plugin runs it, on a real in-process
 * cluster of three nodes on virtual time (memory engines, strict quorums without read repair,
 * so only the plugin can repair). Whether divergent replicas must converge is what the plugin
 * declares in `capabilities.repairs`.
 *
 * @example
 * ```ts
 * antiEntropySuite({ plugin: merkleAntiEntropyPlugin });
 * antiEntropySuite({ plugin: merkleAntiEntropyPlugin, options: { intervalMs: 1000 }, repairWithinMs: 30_000 });
 * ```
 *
 * @module
 */
import { describe, it } from "./bdd.ts";
import { assert, assertEquals } from "./assert.ts";
import type { Cluster } from "../../core/build/cluster.ts";
import { encodeRecord } from "../../core/codec/record-codec.ts";
import { bytesEqual, decodeText, encodeText } from "../../core/codec/bytes.ts";
import { sleep } from "../../core/interfaces/clock.ts";
import { createCluster } from "../../index.ts";
import { builtinPlugins } from "../../plugins/index.ts";
import { simulatedNetwork } from "../../sim/network.ts";
import { checkPlugin, type PluginSuiteOptions } from "./plugin-under-test.ts";

/** Options of {@link antiEntropySuite}: the plugin, its options, and how long repair may take. */
export interface AntiEntropySuiteOptions extends PluginSuiteOptions<"antiEntropy"> {
  /**
   * Virtual time within which a plugin that `repairs` must have converged the replicas, and
   * for which one that does not must leave them divergent. Default 120 000 ms: a dozen rounds
   * of the bundled Merkle exchange at its default interval.
   */
  readonly repairWithinMs?: number;
}

/** How often the suite compares the replicas while it waits. */
const CHECK_EVERY_MS = 5_000;

function cluster(o: AntiEntropySuiteOptions): Promise<Cluster> {
  return createCluster(
    {
      nodes: 3,
      replication: { n: 3, r: 2, w: 2 },
      replicator: { name: "quorum", options: { readRepair: false } },
      engine: { name: "memory", options: { durable: true } },
      antiEntropy: { name: o.plugin.name, options: o.options ?? {} },
      handoff: { intervalMs: 3_600_000 },
    },
    { registry: builtinPlugins.with(o.plugin) },
  );
}

async function divergent(c: Cluster, keys: readonly string[]): Promise<number> {
  let count = 0;
  for (const key of keys) {
    const records = await Promise.all(c.nodes.map(async (n) => encodeRecord(await n.localRecord(key))));
    if (records.some((r) => !bytesEqual(r, records[0]!))) count++;
  }
  return count;
}

/**
 * Registers the conformance tests of an anti-entropy plugin.
 *
 * @example
 * ```ts
 * for (const plugin of antiEntropyPlugins) antiEntropySuite({ plugin });
 * ```
 */
export function antiEntropySuite(o: AntiEntropySuiteOptions): void {
  const { name, plugin } = checkPlugin("antiEntropySuite", "antiEntropy", o, { virtualTime: true });
  const repairs = plugin.capabilities.repairs ?? false;
  const limitMs = o.repairWithinMs ?? 120_000;
  describe(`AntiEntropy conformance: ${name}`, () => {
    it("start and stop are idempotent, and the stats are counts", async () => {
      await using c = await cluster(o);
      const ae = c.node("n1").services.antiEntropy;
      assertEquals(ae.name, plugin.name);
      await ae.start();
      await ae.stop();
      await ae.stop();
      await ae.start();
      for (const value of Object.values(ae.stats)) assert(Number.isInteger(value) && value >= 0);
    });

    it(repairs ? "converges replicas that were never read, losing no version" : "leaves divergent replicas alone", async () => {
      await using c = await cluster(o);
      const keys = Array.from({ length: 200 }, (_, i) => `k${i}`);
      for (const key of keys) await c.node("n1").put(key, encodeText(`v ${key}`));
      // n3 is cut off while k1 is updated on both sides (concurrent versions that must both
      // survive) and k2 only on the majority side.
      const net = simulatedNetwork(c);
      net.partition([["n1", "n2"], ["n3"]]);
      const a = await c.node("n1").get("k1");
      await c.node("n1").put("k1", encodeText("A"), { context: a.context });
      await c.node("n1").put("k2", encodeText("changed"));
      const b = await c.node("n3").get("k1", { r: 1 });
      await c.node("n3").put("k1", encodeText("B"), { context: b.context, w: 1 });
      net.heal();
      const before = await divergent(c, keys);
      assert(before >= 2, `divergent before: ${before}`);
      let after = before;
      // A repairing plugin may finish early; one that does not repair is watched throughout.
      for (let waited = 0; waited < limitMs && (after > 0 || !repairs); waited += CHECK_EVERY_MS) {
        await sleep(c.runtime.scheduler, Math.min(CHECK_EVERY_MS, limitMs - waited));
        after = await divergent(c, keys);
      }
      if (!repairs) {
        assertEquals(after, before);
        return;
      }
      assertEquals(after, 0, `keys still divergent after ${limitMs} ms of virtual time`);
      const k1 = (await c.node("n1").localRecord("k1")).map((s) => decodeText(s.value!)).sort();
      assertEquals(k1, ["A", "B"]);
    });
  });
}
