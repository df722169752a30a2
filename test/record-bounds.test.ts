/**
 * The record bounds (`maxSiblings`, `maxRecordBytes`) hold on every replica and every path
 * that stores a record: the record store refuses a change past them and stores nothing;
 * replicators count a refusing replica as a failed acknowledgement and keep no hint for it;
 * read repair, hint delivery and range sync skip what is refused; and in the lab, twelve
 * read-modify-write clients on one key never make any replica store more than the limit.
 */
import { simulatedNetwork } from "../sim/network.ts";
import { describe, it } from "@std/testing/bdd";
import { assert, assertEquals, assertInstanceOf, assertRejects, assertThrows } from "@std/assert";
import { readFileSync } from "node:fs";
import {
  type Cluster,
  createCluster,
  decodeText,
  DEFAULT_LIMITS,
  encodeText,
  InvalidConfigError,
  QuorumNotReachedError,
  RecordTooLargeError,
  resolveStoreConfig,
  type RingforgeNode,
  SiblingLimitError,
  sleep,
  type StoreConfig,
} from "../index.ts";
import { MemoryEngine } from "../plugins/engines/memory.ts";
import { RecordStore } from "../core/node/record-store.ts";
import { type SiblingSet } from "../core/model/sibling.ts";
import { VirtualScheduler } from "../core/runtime/virtual-scheduler.ts";
import { checkRecordBounds } from "../core/model/limits.ts";
import { errorFromWire, errorToWire } from "../core/errors.ts";
import { murmur3 } from "../core/hash/murmur3.ts";
import { builtinPlugins, type QuorumReplicator, type SloppyQuorumReplicator } from "../plugins/index.ts";
import { parseScenario, runScenario, storedRecords } from "../sim/index.ts";
import { statusOf } from "../server/http-api.ts";
import { recordWatch, watchedMemoryEngine } from "./support/record-watch.ts";

const text = (values: Uint8Array[]) => values.map(decodeText).sort();
const network = (cluster: Cluster) => simulatedNetwork(cluster);

/** Siblings the store does not interpret: distinct values under plain counters. */
const plain = (...values: string[]): SiblingSet => values.map((v, i) => ({ value: encodeText(v), version: i + 1 }));

/**
 * Mutually concurrent vector-clock siblings, one per value: clocks over two members `on` whose
 * counters sum to the same total, so none descends from another. Members, because a
 * coordinator keeps only members' entries of a client's context; and not the coordinator of
 * the test's writes, so that its blind write `{coordinator: 1}` is concurrent with them too.
 */
function antichain(on: readonly [string, string], values: readonly string[]): SiblingSet[] {
  const [x, y] = [...on].sort() as [string, string];
  return values.map((v, i) => [{ value: encodeText(v), version: [[x, values.length - i], [y, i + 1]] }]);
}

/** Stores `siblings` as `node`'s record of `key`, as a replica merge would. */
async function seed(node: RingforgeNode, key: string, siblings: SiblingSet): Promise<void> {
  await node.services.store.update(key, (mine) => node.services.resolver.merge(mine, siblings));
}

async function openStore(engine: MemoryEngine, maxSiblings: number, maxRecordBytes: number): Promise<RecordStore> {
  const store = new RecordStore(engine, (key) => murmur3(key), new VirtualScheduler(), { limits: { maxSiblings, maxRecordBytes } });
  await store.open();
  return store;
}

describe("record bounds: the record store", () => {
  it("refuses a change past maxSiblings or maxRecordBytes with a typed error, and stores nothing", async () => {
    const engine = new MemoryEngine();
    await engine.open();
    const store = await openStore(engine, 3, 200);
    await store.update("k", () => plain("a", "b", "c"));
    const before = await store.entry("k");
    const tree = await store.intervalHash({ start: 0, end: 0 });

    const many = await assertRejects(() => store.update("k", (mine) => [...mine, ...plain("d")]), SiblingLimitError);
    assertEquals([many.key, many.siblings, many.limit, many.code], ["k", 4, 3, "RINGFORGE_SIBLING_LIMIT"]);
    const large = await assertRejects(() => store.update("k", () => plain("x".repeat(300))), RecordTooLargeError);
    assertEquals([large.key, large.limit, large.siblings, large.code], ["k", 200, 1, "RINGFORGE_RECORD_TOO_LARGE"]);
    assert(large.bytes > 300, `bytes counts the encoded record and the key: ${large.bytes}`);
    assertEquals(large.details, { key: "k", bytes: large.bytes, limit: 200, siblings: 1 });

    assertEquals(text((await store.get("k")).map((s) => s.value!)), ["a", "b", "c"]);
    assertEquals(await store.entry("k"), before);
    assertEquals(await store.intervalHash({ start: 0, end: 0 }), tree);
    assertEquals([store.stats.refused, store.stats.mostSiblings, store.stats.keys], [2, 3, 1]);
    // A new record past a bound is refused the same way; removals always pass.
    await assertRejects(() => store.update("new", () => plain("a", "b", "c", "d")), SiblingLimitError);
    assertEquals(await store.entry("new"), undefined);
    await store.update("k", () => []);
    assertEquals(store.stats.keys, 0);
  });

  it("lets a record stored under larger limits shrink back under them, never grow", async () => {
    const engine = new MemoryEngine();
    await engine.open();
    await (await openStore(engine, 10, 10_000)).update("k", () => plain("a", "b", "c", "d", "e"));
    const store = await openStore(engine, 3, 10_000);
    await assertRejects(() => store.update("k", () => plain("a", "b", "c", "d", "e", "f")), SiblingLimitError);
    await store.update("k", () => plain("a", "b", "c", "d")); // 5 -> 4: still over, but smaller
    await assertRejects(() => store.update("k", () => plain("a", "b", "c", "d", "e")), SiblingLimitError);
    await store.update("k", () => plain("z"));
    await assertRejects(() => store.update("k", () => plain("a", "b", "c", "d")), SiblingLimitError);
    assertEquals((await store.get("k")).length, 1);
  });

  it("checkRecordBounds: each bound alone, and removals", () => {
    const limits = { maxSiblings: 2, maxRecordBytes: 100 };
    checkRecordBounds("k", { siblings: 0, bytes: 0 }, { siblings: 2, bytes: 100 }, limits);
    checkRecordBounds("k", { siblings: 9, bytes: 900 }, { siblings: 0, bytes: 0 }, limits);
    assertThrows(() => checkRecordBounds("k", { siblings: 0, bytes: 0 }, { siblings: 3, bytes: 10 }, limits), SiblingLimitError);
    assertThrows(() => checkRecordBounds("k", { siblings: 0, bytes: 0 }, { siblings: 1, bytes: 101 }, limits), RecordTooLargeError);
    // Over on bytes already: may not grow in bytes, may grow in siblings up to their limit.
    checkRecordBounds("k", { siblings: 1, bytes: 500 }, { siblings: 2, bytes: 400 }, limits);
    assertThrows(() => checkRecordBounds("k", { siblings: 1, bytes: 500 }, { siblings: 1, bytes: 501 }, limits), RecordTooLargeError);
  });
});

describe("record bounds: configuration and errors", () => {
  it("maxRecordBytes defaults to 1 MiB and must leave room for a largest value", () => {
    assertEquals(DEFAULT_LIMITS.maxRecordBytes, 1024 * 1024);
    assertEquals(resolveStoreConfig({}, builtinPlugins).limits.maxRecordBytes, 1024 * 1024);
    assertEquals(resolveStoreConfig({ limits: { maxRecordBytes: 65536 } }, builtinPlugins).limits.maxRecordBytes, 65536);
    const small = assertThrows(() => resolveStoreConfig({ limits: { maxRecordBytes: 4096 } }, builtinPlugins), InvalidConfigError);
    assertEquals(small.issues.map((i) => i.path), ["limits.maxRecordBytes"]);
    for (const bad of [0, 1.5, -1, "1MiB", 2 ** 31]) {
      assertThrows(() => resolveStoreConfig({ limits: { maxRecordBytes: bad } }, builtinPlugins), InvalidConfigError);
    }
  });

  it("RecordTooLargeError crosses the wire typed, and HTTP answers both bounds with 409", () => {
    const error = new RecordTooLargeError("cart", 2_000_000, 1_048_576, 120);
    const back = errorFromWire(errorToWire(error), "n2");
    assertInstanceOf(back, RecordTooLargeError);
    assertEquals([back.key, back.bytes, back.limit, back.siblings, back.message], ["cart", 2_000_000, 1_048_576, 120, error.message]);
    assertEquals(statusOf(back), 409);
    assertEquals(statusOf(new SiblingLimitError("cart", 101, 100)), 409);
  });
});

describe("record bounds: every replica, every path", () => {
  const bounded = (more: Partial<StoreConfig> = {}): StoreConfig => ({
    nodes: 3,
    replication: { n: 3, r: 2, w: 2 },
    resolver: "vector-clock",
    limits: { maxSiblings: 2, warnSiblings: 2 },
    requestTimeoutMs: 200,
    ...more,
  });

  it("a replica refuses a replica write past the bound with the typed error, and stores nothing", async () => {
    await using cluster = await createCluster(bounded());
    const [n1, n2] = [cluster.node("n1"), cluster.node("n2")];
    const [a, b, c] = antichain(["n2", "n3"], ["a", "b", "c"]);
    await seed(n2, "k", [...a!, ...b!]);
    const error = await assertRejects(() => n1.services.replicas.write("n2", "k", c!, 200), SiblingLimitError);
    assertEquals([error.siblings, error.limit], [3, 2]);
    assertEquals(text((await n2.localRecord("k")).map((s) => s.value!)), ["a", "b"]);
    assertEquals(n2.services.store.stats.refused, 1);
  });

  it("a write is not acknowledged when refusing replicas leave W out of reach; reads still see everything", async () => {
    await using cluster = await createCluster(bounded());
    const [n1, n2, n3] = cluster.nodes as [RingforgeNode, RingforgeNode, RingforgeNode];
    const [a, b, c, d] = antichain(["n2", "n3"], ["a", "b", "c", "d"]);
    await seed(n2, "k", [...a!, ...b!]);
    await seed(n3, "k", [...c!, ...d!]);

    // n1 stores its blind write (1 sibling); n2 and n3 would each hold 3.
    const error = await assertRejects(() => n1.put("k", encodeText("e"), { w: 2 }), QuorumNotReachedError);
    assertEquals([error.required, error.acknowledged, error.targets], [2, 1, 3]);
    assert(error.failures.every((f) => f.includes("over the limit of 2")), error.message);

    // A read merges the replies in memory: 5 siblings, more than any replica may store. Its
    // repairs are refused in the background and the read does not fail.
    const read = await n1.get("k", { r: 3 });
    assertEquals(text(read.values), ["a", "b", "c", "d", "e"]);
    await sleep(cluster.runtime.scheduler, 100);
    assertEquals((n1.services.replicator as QuorumReplicator).stats, { readRepairs: 3, readRepairFailures: 3 });
    for (const node of cluster.nodes) assert((await node.localRecord("k")).length <= 2, node.id);

    // The client resolves them with the read's context: one sibling, accepted everywhere.
    await n1.put("k", encodeText("abcde"), { context: read.context, w: 3 });
    for (const node of cluster.nodes) assertEquals(text((await node.localRecord("k")).map((s) => s.value!)), ["abcde"]);
  });

  it("a client write past maxRecordBytes fails with RecordTooLargeError, also when forwarded", async () => {
    await using cluster = await createCluster({
      nodes: 4,
      replication: { n: 3, r: 2, w: 2 },
      limits: { maxKeyBytes: 16, maxValueBytes: 100, maxRecordBytes: 400 },
    });
    const replicas = cluster.node("n1").services.partitioner.preferenceList("k", 3);
    const outsider = cluster.ids.find((id) => !replicas.includes(id))!;
    const coordinator = cluster.node(replicas[0]!);
    // Blind writes under vector clocks pile up siblings until the record passes 400 bytes.
    let refused: RecordTooLargeError | undefined;
    for (let i = 0; i < 5 && refused === undefined; i++) {
      try {
        await coordinator.put("k", encodeText(`${i}`.repeat(100)));
      } catch (error) {
        assertInstanceOf(error, RecordTooLargeError);
        refused = error;
      }
    }
    assert(refused !== undefined && refused.bytes > 400 && refused.limit === 400, String(refused));
    const stored = (await coordinator.localRecord("k")).length;
    await assertRejects(() => cluster.node(outsider).put("k", encodeText("x".repeat(100))), RecordTooLargeError);
    for (const id of replicas) assert((await cluster.node(id).localRecord("k")).length <= stored, id);
  });

  it("sloppy quorum keeps no hint of a write a replica refused for the bounds", async () => {
    await using cluster = await createCluster(bounded({ nodes: 4, replicator: "sloppy-quorum" }));
    const [a, b, c] = cluster.node("n1").services.replicator.targets("k", 3) as [string, string, string];
    const spare = cluster.ids.find((id) => ![a, b, c].includes(id))!;
    const [x, y, z, w] = antichain([b, c], ["x", "y", "z", "w"]);
    await seed(cluster.node(b), "k", [...x!, ...y!]);
    await seed(cluster.node(c), "k", [...z!, ...w!]);
    await assertRejects(() => cluster.node(a).put("k", encodeText("v")), QuorumNotReachedError);
    await sleep(cluster.runtime.scheduler, 500);
    const sloppy = (id: string) => cluster.node(id).services.replicator as SloppyQuorumReplicator;
    assertEquals(sloppy(a).hints.hintedWrites, 0);
    for (const id of cluster.ids) assertEquals(sloppy(id).pendingHints, 0, id);
    assertEquals(await cluster.node(spare).localRecord("k"), []);
  });

  it("hint delivery the owner refuses for the bounds drops the hint and counts it", async () => {
    await using cluster = await createCluster(bounded({ nodes: 4, replicator: "sloppy-quorum" }));
    const [a, b, owner] = cluster.node("n1").services.replicator.targets("k", 3) as [string, string, string];
    const spare = cluster.ids.find((id) => ![a, b, owner].includes(id))!;
    network(cluster).partition([[owner], cluster.ids.filter((id) => id !== owner)]);
    await seed(cluster.node(owner), "k", antichain([b, owner], ["x", "y"]).flat());
    // The owner times out; the spare takes the write with a hint for it.
    await cluster.node(a).put("k", encodeText("v"));
    await sleep(cluster.runtime.scheduler, 500);
    const hints = cluster.node(spare).services.replicator as SloppyQuorumReplicator;
    assertEquals([hints.pendingHints, hints.hints.stored], [1, 1]);
    network(cluster).heal();
    await sleep(cluster.runtime.scheduler, 3000);
    assertEquals([hints.pendingHints, hints.hints.dropped, hints.hints.delivered], [0, 1, 0]);
    assertEquals(text((await cluster.node(owner).localRecord("k")).map((s) => s.value!)), ["x", "y"]);
  });

  it("range sync skips and counts a key whose merge would pass the bounds; the rest of the range moves", async () => {
    await using cluster = await createCluster(bounded());
    const [n1, n2] = [cluster.node("n1"), cluster.node("n2")];
    const [a, b, c] = antichain(["n2", "n3"], ["a", "b", "c"]);
    await seed(n1, "big", [...a!, ...b!]);
    await seed(n2, "big", c!);
    await seed(n1, "small", antichain(["n2", "n3"], ["s"])[0]!);
    await seed(n2, "other", antichain(["n2", "n3"], ["o"])[0]!);
    const whole = [{ start: 0, end: 0 }];

    // Handoff's push: "big" is refused, so it must not be settled (it would be dropped).
    const push = await n1.services.sync.run("n2", whole, { mode: "push", timeoutMs: 200 });
    assertEquals([push.refused, push.pushed, push.complete], [1, 1, true]);
    assert(!push.settled.has("big") && push.settled.has("small"));

    // Anti-entropy both ways: "other" comes to n1, "big" stays as it is on both sides.
    const both = await n1.services.sync.run("n2", whole, { mode: "both", timeoutMs: 200 });
    assertEquals([both.refused, both.pulled], [1, 1]);
    assertEquals(text((await n1.localRecord("other")).map((s) => s.value!)), ["o"]);
    assertEquals(text((await n1.localRecord("big")).map((s) => s.value!)), ["a", "b"]);
    assertEquals(text((await n2.localRecord("big")).map((s) => s.value!)), ["c"]);
    assertEquals(n1.services.sync.stats.refused, 2);
  });
});

describe("record bounds in the lab: one key, twelve read-modify-write writers, vector clocks", () => {
  it("no replica ever stores more than the sibling limit, and no acknowledged add is lost", async () => {
    const scenario = parseScenario(JSON.parse(readFileSync("examples/scenarios/one-key-12-writers.json", "utf8")));
    const watch = recordWatch();
    const config: StoreConfig = {
      nodes: 5,
      replication: { n: 3, r: 2, w: 2 },
      resolver: "vector-clock",
      limits: { maxValueBytes: 65536 },
      requestTimeoutMs: 500,
      transport: { name: "in-process", options: { latency: { kind: "normal", mean: 5, stddev: 2 } } },
    };
    const { report } = await runScenario(config, scenario, 1, { registry: builtinPlugins.with(watchedMemoryEngine(watch)) });
    const stored = storedRecords(watch.stores.map((s) => s.stats));
    const figures = JSON.stringify({
      stored,
      watched: { ...watch, stores: watch.stores.length },
      reads: report.siblings,
      failed: report.availability.failedBy,
    });

    // The bound was reached (replicas refused merges), and held on every record written.
    assert(stored.refused > 0, figures);
    assert(watch.mostSiblings <= DEFAULT_LIMITS.maxSiblings && stored.mostSiblings === watch.mostSiblings, figures);
    assert(watch.largestBytes <= DEFAULT_LIMITS.maxRecordBytes && stored.largestBytes === watch.largestBytes, figures);
    // Reads may merge more than a replica stores: the client resolves them by writing back.
    assert(report.siblings.max > DEFAULT_LIMITS.maxSiblings, figures);
    assertEquals(report.lostWrites?.finalReadSucceeded, true);
    assertEquals(report.lostWrites?.lost, 0, figures);
  });
});
