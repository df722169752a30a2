/**
 * The request paths end to end, on in-process clusters on virtual time.
 */
import { simulatedNetwork } from "../sim/network.ts";
import { describe, it } from "@std/testing/bdd";
import { assert, assertEquals, assertInstanceOf, assertRejects, assertThrows } from "@std/assert";
import fc from "fast-check";
import {
  type Cluster,
  createCluster,
  decodeText,
  encodeText,
  InvalidConfigError,
  InvalidContextError,
  InvalidKeyError,
  InvalidRequestError,
  InvalidValueError,
  NotRunningError,
  QuorumNotReachedError,
  resolveStoreConfig,
  type RingforgeNode,
  sleep,
  store,
  UnknownPluginError,
} from "../index.ts";
import { liveValues } from "../core/model/sibling.ts";
import { encodeRecord, recordKey } from "../core/codec/record-codec.ts";
import { murmur3 } from "../core/hash/murmur3.ts";
import { unwrapContext } from "../core/model/causal-context.ts";
import { builtinPlugins, consistentHash, lastWriteWins, quorum, vectorClock } from "../plugins/index.ts";

const text = (values: Uint8Array[]) => values.map(decodeText).sort();
const network = (cluster: Cluster) => simulatedNetwork(cluster);

describe("vector clocks: the chapter's story", () => {
  it("D1, D2 through Sx; D3 through Sy and D4 through Sz concurrently; D5 through Sx reconciles", async () => {
    await using cluster = await createCluster({
      nodes: ["Sx", "Sy", "Sz"],
      replication: { n: 3, r: 2, w: 2 },
      resolver: "vector-clock",
    });
    const [sx, sy, sz] = ["Sx", "Sy", "Sz"].map((id) => cluster.node(id)) as [RingforgeNode, RingforgeNode, RingforgeNode];
    const resolver = sx.services.resolver;
    const versions = async () => (await sx.localRecord("item")).map((s) => s.version);

    await sx.put("item", encodeText("D1"));
    assertEquals(await versions(), [[["Sx", 1]]]);

    const read1 = await sx.get("item");
    await sx.put("item", encodeText("D2"), { context: read1.context });
    assertEquals(await versions(), [[["Sx", 2]]]);

    const read2 = await sx.get("item");
    assertEquals(text(read2.values), ["D2"]);
    // Two clients write concurrently through different servers, both based on D2.
    await Promise.all([
      sy.put("item", encodeText("D3"), { context: read2.context }),
      sz.put("item", encodeText("D4"), { context: read2.context }),
    ]);
    assertEquals((await sy.localRecord("item"))[0]!.version, [["Sx", 2], ["Sy", 1]]);
    assertEquals((await sz.localRecord("item")).find((s) => decodeText(s.value!) === "D4")!.version, [
      ["Sx", 2],
      ["Sz", 1],
    ]);

    // The conflict is detected: a read returns both, with a context covering both.
    const read3 = await sx.get("item");
    assertEquals(text(read3.values), ["D3", "D4"]);
    assertEquals(unwrapContext(resolver, read3.context), [["Sx", 2], ["Sy", 1], ["Sz", 1]]);

    // The client reconciles and writes D5 through Sx.
    await sx.put("item", encodeText("D5"), { context: read3.context });
    assertEquals(await versions(), [[["Sx", 3], ["Sy", 1], ["Sz", 1]]]);
    const read4 = await sz.get("item", { r: 3 });
    assertEquals(text(read4.values), ["D5"]);
  });
});

describe("resolvers side by side", () => {
  async function concurrentWrites(resolver: "vector-clock" | "last-write-wins") {
    await using cluster = await createCluster({ nodes: 5, replication: { n: 3, r: 2, w: 2 }, resolver, seed: 3 });
    const [first, second] = cluster.node("n1").services.partitioner.preferenceList("cart", 2) as [string, string];
    const { context } = await cluster.node("n1").get("cart");
    await Promise.all([
      cluster.node(first).put("cart", encodeText("milk"), { context }),
      cluster.node(second).put("cart", encodeText("eggs"), { context }),
    ]);
    return text((await cluster.node("n5").get("cart", { r: 3 })).values);
  }

  it("vector clocks keep both concurrent writes as siblings", async () => {
    assertEquals(await concurrentWrites("vector-clock"), ["eggs", "milk"]);
  });

  it("last-write-wins keeps exactly one", async () => {
    const values = await concurrentWrites("last-write-wins");
    assertEquals(values.length, 1);
    assert(values[0] === "milk" || values[0] === "eggs");
  });

  it("a write through a node that is not a replica is coordinated by a replica", async () => {
    await using cluster = await createCluster({ nodes: 5, replication: { n: 2, r: 1, w: 2 } });
    const replicas = cluster.node("n1").services.partitioner.preferenceList("k", 2);
    const outsider = cluster.ids.find((id) => !replicas.includes(id))!;
    await cluster.node(outsider).put("k", encodeText("v"));
    assertEquals((await cluster.node(outsider).localRecord("k")).length, 0);
    for (const id of replicas) {
      const [sibling] = await cluster.node(id).localRecord("k");
      const clock = sibling!.version as [string, number][];
      assertEquals(clock.length, 1);
      assert(replicas.includes(clock[0]![0]), "the clock entry is a replica's");
    }
  });

  it("delete hides the value and a later put with the delete's context brings a new one", async () => {
    await using cluster = await createCluster({ nodes: 3 });
    const node = cluster.node("n2");
    await node.put("k", encodeText("v1"));
    const { context } = await node.get("k");
    const deleted = await node.delete("k", { context });
    assertEquals((await node.get("k")).values, []);
    assert((await node.localRecord("k")).some((s) => s.value === null), "a tombstone is stored");
    await node.put("k", encodeText("v2"), { context: deleted.context });
    assertEquals(text((await node.get("k")).values), ["v2"]);
  });
});

describe("quorum arithmetic", () => {
  it("with R + W > N and no faults, a read sees the last acknowledged write", async () => {
    const caseArb = fc
      .record({
        n: fc.integer({ min: 1, max: 4 }),
        extra: fc.integer({ min: 0, max: 2 }),
        seed: fc.integer({ min: 0, max: 1000 }),
        resolver: fc.constantFrom("vector-clock", "last-write-wins"),
        ops: fc.array(fc.record({ node: fc.nat(), read: fc.nat(), key: fc.integer({ min: 0, max: 2 }) }), {
          minLength: 1,
          maxLength: 12,
        }),
      })
      .chain((c) =>
        fc.record({
          c: fc.constant(c),
          r: fc.integer({ min: 1, max: c.n }),
          wOffset: fc.nat(),
        })
      );
    await fc.assert(
      fc.asyncProperty(caseArb, async ({ c, r, wOffset }) => {
        const w = Math.min(c.n, c.n - r + 1 + (wOffset % r));
        assert(r + w > c.n);
        await using cluster = await createCluster({
          nodes: c.n + c.extra,
          replication: { n: c.n, r, w },
          resolver: c.resolver,
          seed: c.seed,
          transport: { name: "in-process", options: { latency: { min: 1, max: 40 } } },
        });
        const ids = cluster.ids;
        const last = new Map<string, string>();
        for (const [i, op] of c.ops.entries()) {
          const key = `k${op.key}`;
          const writer = cluster.node(ids[op.node % ids.length]!);
          const { context } = await writer.get(key);
          await writer.put(key, encodeText(`v${i}`), { context });
          last.set(key, `v${i}`);
          const reader = cluster.node(ids[op.read % ids.length]!);
          assertEquals(text((await reader.get(key)).values), [last.get(key)!]);
        }
      }),
      { numRuns: 40 },
    );
  });

  it("with R + W <= N a read can miss the last acknowledged write (the property above is not vacuous)", async () => {
    await using cluster = await createCluster({
      nodes: 3,
      replication: { n: 3, r: 1, w: 1 },
      seed: 11,
      transport: { name: "in-process", options: { latency: { min: 1, max: 40 } } },
    });
    let stale = 0;
    for (let i = 0; i < 60; i++) {
      const writer = cluster.node(cluster.ids[i % 3]!);
      const { context } = await writer.get("k");
      await writer.put("k", encodeText(`v${i}`), { context });
      const values = text((await cluster.node(cluster.ids[(i + 1) % 3]!).get("k")).values);
      if (!values.includes(`v${i}`)) stale++;
    }
    assert(stale > 0, "some read missed the last write");
  });
});

describe("bad input is refused with a typed error and changes nothing", () => {
  it("keys, values, contexts and request options", async () => {
    // Ring catch-up polls are background traffic; push them out of this test's window.
    await using cluster = await createCluster({
      nodes: 3,
      limits: { maxKeyBytes: 16, maxValueBytes: 8 },
      handoff: { intervalMs: 3_600_000 },
    });
    const node = cluster.node("n1");
    await node.put("k", encodeText("v1"));
    await sleep(cluster.runtime.scheduler, 100); // let the last replica acknowledge
    const before = await Promise.all(cluster.nodes.map((n) => n.localRecord("k")));
    const sent = network(cluster).stats.messages;

    const empty = await assertRejects(() => node.put("", encodeText("x")), InvalidKeyError);
    assertEquals(empty.reason, "empty");
    const big = await assertRejects(() => node.put("k".repeat(17), encodeText("x")), InvalidKeyError);
    assertEquals([big.reason, big.bytes, big.limit], ["too-large", 17, 16]);
    // 6 characters, 18 UTF-8 bytes: limits count bytes, not characters.
    await assertRejects(() => node.put("€€€€€€", encodeText("x")), InvalidKeyError);
    await assertRejects(() => node.get("\ud800"), InvalidKeyError);
    await assertRejects(() => node.get(42 as unknown as string), InvalidKeyError);
    const notBytes = await assertRejects(() => node.put("k", "v2" as unknown as Uint8Array), InvalidValueError);
    assertEquals(notBytes.code, "RINGFORGE_INVALID_VALUE");
    const large = await assertRejects(() => node.put("k", new Uint8Array(9)), InvalidValueError);
    assertEquals([large.bytes, large.limit], [9, 8]);
    await assertRejects(() => node.put("k", encodeText("v2"), { context: "%%%" as never }), InvalidContextError);
    await assertRejects(() => node.put("k", encodeText("v2"), { w: 4 }), InvalidRequestError);
    await assertRejects(() => node.get("k", { r: 0 }), InvalidRequestError);
    await assertRejects(() => node.delete("k", { timeoutMs: -1 }), InvalidRequestError);

    // A context from another resolver's store is refused too.
    await using lww = await createCluster({ nodes: 3, resolver: "last-write-wins" });
    const foreign = (await lww.node("n1").get("k")).context;
    const error = await assertRejects(() => node.put("k", encodeText("v2"), { context: foreign }), InvalidContextError);
    assert(error.message.includes("last-write-wins"));

    assertEquals(network(cluster).stats.messages, sent, "nothing was sent");
    assertEquals(await Promise.all(cluster.nodes.map((n) => n.localRecord("k"))), before);
    assertEquals(text((await node.get("k")).values), ["v1"]);
  });
});

describe("graceful stop", () => {
  it("refuses new requests at once and lets the ones in flight finish", async () => {
    await using cluster = await createCluster({ nodes: 3 });
    const n1 = cluster.node("n1");
    const inFlight = n1.put("k", encodeText("v1"), { w: 3 });
    const stopping = n1.stop();
    await assertRejects(() => n1.put("k2", encodeText("v2")), NotRunningError);
    await inFlight; // acknowledged by all three replicas despite the stop
    await stopping;
    assert(!n1.running);
    assertEquals(text((await cluster.node("n2").get("k", { r: 2 })).values), ["v1"]);
  });
});

describe("strict quorum under failures", () => {
  it("refuses writes and reads that cannot reach W or R replicas, and says how many answered", async () => {
    await using cluster = await createCluster({ nodes: 3, replication: { n: 3, r: 2, w: 2 } });
    await cluster.node("n3").stop();
    const node = cluster.node("n1");
    await node.put("k", encodeText("v"), { w: 2 });
    // The request fails as soon as W is out of reach (n3 refuses at once), reporting the
    // acknowledgements it had at that moment.
    const error = await assertRejects(() => node.put("k", encodeText("v"), { w: 3 }), QuorumNotReachedError);
    assertEquals([error.required, error.targets], [3, 3]);
    assert(error.acknowledged < 3);
    assert(error.failures.some((f) => f.includes("n3")), error.message);
    assertEquals(error.code, "RINGFORGE_QUORUM_NOT_REACHED");
    assertEquals(text((await node.get("k")).values), ["v"]);
    const readError = await assertRejects(() => node.get("k", { r: 3 }), QuorumNotReachedError);
    assertEquals(readError.required, 3);
    assert(readError.failures.some((f) => f.includes("n3")), readError.message);
  });
});

describe("read repair", () => {
  it("brings replicas that lost or missed a write up to date after a read", async () => {
    await using cluster = await createCluster({ nodes: 3, replication: { n: 3, r: 2, w: 3 } });
    const [a, b, c] = cluster.nodes as [RingforgeNode, RingforgeNode, RingforgeNode];
    await a.put("k", encodeText("v1"));
    // The record's engine key is under its token.
    const k = recordKey(murmur3("k"), "k");
    const old = (await b.services.engine.get(k))!.slice();
    const { context } = await a.get("k");
    await a.put("k", encodeText("v2"), { context });
    // b is rolled back to v1 and c loses the key entirely, behind the store's back.
    await b.services.engine.put(k, old);
    await c.services.engine.delete(k);
    assertEquals(text((await a.get("k", { r: 3 })).values), ["v2"]);
    await sleep(cluster.runtime.scheduler, 100);
    for (const node of [b, c]) assertEquals(text(liveValues(await node.localRecord("k"))), ["v2"]);
  });

  it("can be turned off", async () => {
    await using cluster = await createCluster({
      nodes: 3,
      replication: { n: 3, r: 2, w: 3 },
      replicator: { name: "quorum", options: { readRepair: false } },
    });
    const c = cluster.node("n3");
    await cluster.node("n1").put("k", encodeText("v1"));
    await c.services.engine.delete(recordKey(murmur3("k"), "k"));
    await cluster.node("n1").get("k", { r: 3 });
    await sleep(cluster.runtime.scheduler, 100);
    assertEquals(await c.localRecord("k"), []);
  });
});

describe("configuration", () => {
  it("reports every problem with its path", () => {
    const error = assertThrows(
      () => resolveStoreConfig({ nodes: 2, replication: { n: 3, r: 4 } }, builtinPlugins),
      InvalidConfigError,
    );
    const paths = error.issues.map((i) => i.path);
    assert(paths.includes("replication.r") && paths.includes("replication.n"), paths.join(","));
  });

  it("rejects unknown plugins, naming the ones available", async () => {
    const error = await assertRejects(() => createCluster({ resolver: "crdt-magic" }), UnknownPluginError);
    assert(error.available.includes("vector-clock"));
  });

  it("rejects bad plugin options and unknown fields", async () => {
    const error = await assertRejects(
      () => createCluster({ partitioner: { name: "consistent-hash", options: { vnodes: 0 } } }),
      InvalidConfigError,
    );
    assert(error.issues.some((i) => i.path.includes("vnodes")));
    await assertRejects(() => createCluster({ nodez: 3 }), InvalidConfigError);
    await assertRejects(() => createCluster({ nodes: ["a", "a"] }), InvalidConfigError);
  });

  it("a store built with typed calls is the same plain config a JSON file holds", async () => {
    const builder = store()
      .name("demo")
      .nodes(4)
      .replication({ n: 3, r: 1, w: 3 })
      .use(consistentHash({ vnodes: 16 }))
      .use(lastWriteWins())
      .use(quorum({ readRepair: false }));
    const config = JSON.parse(JSON.stringify(builder.toConfig()));
    await using fromCode = await builder.cluster();
    await using fromJson = await createCluster(config);
    assertEquals(fromJson.store.plugins.resolver.plugin.name, "last-write-wins");
    assertEquals(fromJson.store.plugins.partitioner.options, { vnodes: 16 });
    assertEquals(fromJson.store.replication, fromCode.store.replication);
    for (const key of ["a", "b", "c"]) {
      assertEquals(
        fromJson.node("n1").services.partitioner.preferenceList(key, 3),
        fromCode.node("n1").services.partitioner.preferenceList(key, 3),
      );
    }
    void vectorClock;
  });

  it("nodes of one process have separate containers and services", async () => {
    await using cluster = await createCluster({ nodes: 3 });
    const engines = new Set(cluster.nodes.map((n) => n.services.engine));
    assertEquals(engines.size, 3);
    assertInstanceOf(cluster.containerOf("n1"), Object);
  });
});

describe("determinism", () => {
  async function history(seed: number): Promise<string> {
    await using cluster = await createCluster({
      nodes: 5,
      seed,
      transport: { name: "in-process", options: { latency: { min: 1, max: 30 } } },
    });
    const ops = [];
    for (let i = 0; i < 20; i++) {
      const node = cluster.node(cluster.ids[(i * 7) % 5]!);
      // Writes race each other: no awaiting between pairs.
      ops.push(node.put(`k${i % 4}`, encodeText(`v${i}`)));
      if (i % 2 === 1) await Promise.all(ops.splice(0));
    }
    const records = [];
    for (const node of cluster.nodes) {
      for (let k = 0; k < 4; k++) records.push(Array.from(encodeRecord(await node.localRecord(`k${k}`))).join(","));
    }
    return JSON.stringify([cluster.scheduler!.now(), network(cluster).stats, records]);
  }

  it("one seed gives one history", async () => {
    assertEquals(await history(5), await history(5));
  });

  it("another seed gives another", async () => {
    assert((await history(5)) !== (await history(6)));
  });
});
