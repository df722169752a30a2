/**
 * The Consensus conformance suite: any consensus plugin runs it, on a real in-process cluster
 * of five nodes on virtual time (durable memory engines, N = 3). A plugin that declares
 * `capabilities.linearizable` must serve linearizable reads, writes and compare-and-set whose
 * histories the lab's linearizability checker accepts, under concurrent clients and a partition;
 * one that does not must refuse them with `InvalidRequestError`.
 *
 * @example
 * ```ts
 * consensusSuite({ plugin: paxosPlugin });
 * ```
 *
 * @module
 */
import { describe, it } from "./bdd.ts";
import { assert, assertEquals } from "./assert.ts";
import type { Cluster } from "../../core/build/cluster.ts";
import { decodeText, encodeText } from "../../core/codec/bytes.ts";
import { InvalidRequestError, PreconditionFailedError, RingforgeError } from "../../core/errors.ts";
import { sleep } from "../../core/interfaces/clock.ts";
import { createCluster } from "../../index.ts";
import { builtinPlugins } from "../../plugins/index.ts";
import { simulatedNetwork } from "../../sim/network.ts";
import { checkLinearizable, formatViolation, type RegisterOperation } from "../../sim/linearizability.ts";
import { checkPlugin, type PluginSuiteOptions } from "./plugin-under-test.ts";

/** Options of {@link consensusSuite}: the plugin and its options. */
export type ConsensusSuiteOptions = PluginSuiteOptions<"consensus">;

function cluster(o: ConsensusSuiteOptions, resolver: string): Promise<Cluster> {
  return createCluster(
    {
      nodes: 5,
      replication: { n: 3, r: 2, w: 2 },
      requestTimeoutMs: 400,
      resolver,
      engine: { name: "memory", options: { durable: true } },
      consensus: { name: o.plugin.name, options: o.options ?? {} },
    },
    { registry: builtinPlugins.with(o.plugin) },
  );
}

/**
 * Registers the conformance tests of a consensus plugin.
 *
 * @example
 * ```ts
 * for (const plugin of consensusPlugins) consensusSuite({ plugin });
 * ```
 */
export function consensusSuite(o: ConsensusSuiteOptions): void {
  const { name, plugin } = checkPlugin("consensusSuite", "consensus", o, { virtualTime: true });
  describe(`Consensus conformance: ${name}`, () => {
    if (!plugin.capabilities.linearizable) {
      it("refuses linearizable requests and atomic conditions with InvalidRequestError", async () => {
        await using c = await cluster(o, "vector-clock");
        for (
          const request of [
            () => c.node("n1").get("k", { consistency: "linearizable" }),
            () => c.node("n1").put("k", encodeText("v"), { consistency: "linearizable" }),
            () => c.node("n1").put("k", encodeText("v"), { ifAbsent: true }),
          ]
        ) {
          const error = await request().then(() => undefined, (e: unknown) => e);
          assert(error instanceof InvalidRequestError, `expected InvalidRequestError, got ${String(error)}`);
        }
      });
      return;
    }

    it("create-if-absent lets exactly one of racing clients through, and reports the winner's version", async () => {
      await using c = await cluster(o, "vector-clock");
      const outcomes = await Promise.all(
        c.ids.map((id) =>
          c.node(id).put("lock", encodeText(id), { ifAbsent: true }).then(
            () => "won",
            (e: unknown) => (e instanceof PreconditionFailedError ? "lost" : e instanceof RingforgeError ? "unknown" : Promise.reject(e)),
          )
        ),
      );
      const won = outcomes.filter((x) => x === "won").length;
      assert(won <= 1, `${won} clients created the same key`);
      const read = await c.node("n2").get("lock", { consistency: "linearizable" });
      assertEquals(read.values.length, 1);
      if (won === 1) assertEquals(decodeText(read.values[0]!), c.ids[outcomes.indexOf("won")]);
    });

    for (const resolver of ["vector-clock", "dotted-version-vector", "last-write-wins"]) {
      it(`histories of reads, writes and compare-and-set under a partition are linearizable (${resolver})`, async () => {
        await using c = await cluster(o, resolver);
        const network = simulatedNetwork(c);
        const scheduler = c.scheduler!;
        const history: RegisterOperation[] = [];
        scheduler.schedule(150, () => network.partition([["n1", "n2"], ["n3", "n4", "n5"]]));
        scheduler.schedule(450, () => network.heal());
        const client = async (index: number) => {
          for (let i = 0; i < 25; i++) {
            await sleep(scheduler, 5 + ((index * 7 + i * 13) % 20));
            const node = c.node(c.ids[(index + i) % c.ids.length]!);
            const key = `r${(index + i) % 2}`;
            const id = `c${index}.${i}`;
            const invokedAt = scheduler.now();
            const base = { client: index, key, invokedAt };
            try {
              if (i % 3 === 0) {
                await node.put(key, encodeText(id), { consistency: "linearizable" });
                history.push({ ...base, kind: "write", value: id, outcome: "ok", completedAt: scheduler.now() });
                continue;
              }
              const read = await node.get(key, { consistency: "linearizable" });
              const values = read.values.map(decodeText);
              history.push({ ...base, kind: "read", result: values, outcome: "ok", completedAt: scheduler.now() });
              if (i % 3 === 1 || values.length > 1) continue;
              const casAt = scheduler.now();
              const cas = { client: index, key, invokedAt: casAt, kind: "cas" as const, value: id, expected: values[0] ?? null };
              try {
                await node.put(key, encodeText(id), { ifMatch: read.context });
                history.push({ ...cas, outcome: "ok", applied: true, completedAt: scheduler.now() });
              } catch (error) {
                if (error instanceof PreconditionFailedError) {
                  history.push({ ...cas, outcome: "ok", applied: false, completedAt: scheduler.now() });
                } else history.push({ ...cas, outcome: "unknown", completedAt: scheduler.now() });
              }
            } catch (error) {
              if (!(error instanceof RingforgeError)) throw error;
              if (i % 3 === 0) history.push({ ...base, kind: "write", value: id, outcome: "unknown", completedAt: scheduler.now() });
            }
          }
        };
        await Promise.all([0, 1, 2, 3, 4].map(client));
        const acknowledged = history.filter((op) => op.outcome === "ok").length;
        assert(acknowledged > 60, `only ${acknowledged} operations were acknowledged`);
        const result = checkLinearizable(history);
        assertEquals(result.verdict, "linearizable", result.violation ? formatViolation(result.violation) : undefined);
      });
    }
  });
}
