/**
 * The AntiEntropy conformance suite: one function any anti-entropy plugin runs through, on a
 * real in-process cluster on virtual time.
 *
 * @example
 * ```ts
 * antiEntropySuite({ plugin: merkleAntiEntropyPlugin, supports: { repairs: true } });
 * ```
 */
import { simulatedNetwork } from "../../sim/network.ts";
import { describe, it } from "@std/testing/bdd";
import { assert, assertEquals } from "@std/assert";
import type { Plugin } from "../../core/build/plugin.ts";
import { type Cluster, createCluster } from "../../core/build/cluster.ts";
import { encodeRecord } from "../../core/codec/record-codec.ts";
import { bytesEqual, decodeText, encodeText } from "../../core/codec/bytes.ts";
import { sleep } from "../../core/interfaces/clock.ts";
import { builtinPlugins } from "../../plugins/index.ts";

/** What a plugin promises. */
export interface AntiEntropyCapabilities {
  /** Divergent replicas converge without reads (false for `none`). */
  readonly repairs: boolean;
}

/** What the suite needs. */
export interface AntiEntropySuiteOptions {
  // deno-lint-ignore no-explicit-any
  readonly plugin: Plugin<any>;
  /** Raw options for the plugin (defaults if omitted); the suite expects one round per 1 s. */
  readonly options?: Record<string, unknown>;
  /** What it promises. */
  readonly supports: AntiEntropyCapabilities;
}

async function cluster(o: AntiEntropySuiteOptions): Promise<Cluster> {
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

/** Runs the suite. */
export function antiEntropySuite(o: AntiEntropySuiteOptions): void {
  describe(`AntiEntropy conformance: ${o.plugin.name}`, () => {
    it("start and stop are idempotent, and the stats are counts", async () => {
      await using c = await cluster(o);
      const ae = c.node("n1").services.antiEntropy;
      assertEquals(ae.name, o.plugin.name);
      await ae.start();
      await ae.stop();
      await ae.stop();
      await ae.start();
      for (const value of Object.values(ae.stats)) assert(Number.isInteger(value) && value >= 0);
    });

    it(o.supports.repairs ? "converges replicas that were never read, losing no version" : "leaves divergent replicas alone", async () => {
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
      await sleep(c.runtime.scheduler, 60_000);
      const after = await divergent(c, keys);
      if (!o.supports.repairs) {
        assertEquals(after, before);
        return;
      }
      assertEquals(after, 0);
      const k1 = (await c.node("n1").localRecord("k1")).map((s) => decodeText(s.value!)).sort();
      assertEquals(k1, ["A", "B"]);
    });
  });
}
