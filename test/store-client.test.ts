/**
 * StoreClient (codecs, merges, read-modify-write with retries) and sessions (read-your-writes,
 * monotonic reads) against in-process clusters on virtual time.
 */
import { simulatedNetwork } from "../sim/network.ts";
import { describe, it } from "@std/testing/bdd";
import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import {
  CorruptDataError,
  createCluster,
  DELETE,
  encodeText,
  InvalidContextError,
  InvalidRequestError,
  InvalidValueError,
  jsonCodec,
  type KeyValueStore,
  RetriesExhaustedError,
  Session,
  SiblingLimitError,
  sleep,
  StaleReadError,
  StoreClient,
  textCodec,
  TimeoutError,
} from "../index.ts";
import { builtinPlugins } from "../plugins/index.ts";
import { History, type OperationRecord, parseScenario, runScenario, sessionViolations } from "../sim/index.ts";

const union = (sets: readonly string[][]) => [...new Set(sets.flat())].sort();

describe("StoreClient", () => {
  it("merges siblings for readers, and update supersedes every sibling it read", async () => {
    await using cluster = await createCluster({ nodes: 3, seed: 1 });
    const a = new StoreClient(cluster.node("n1"), { codec: jsonCodec<string[]>(), merge: union });
    const b = new StoreClient(cluster.node("n2"), { codec: jsonCodec<string[]>(), merge: union });
    await Promise.all([a.put("cart", ["milk"]), b.put("cart", ["eggs"])]);
    const read = await a.get("cart");
    assertEquals(read.siblings.length, 2);
    assertEquals(read.value, ["eggs", "milk"]);
    const result = await b.update("cart", (items = []) => union([items, ["flour"]]));
    assertEquals([result.written, result.tries], [true, 1]);
    const after = await a.get("cart");
    assertEquals(after.siblings, [["eggs", "flour", "milk"]]);
  });

  it("update can write nothing or delete, and needs a merge to act on siblings", async () => {
    await using cluster = await createCluster({ nodes: 3, seed: 2 });
    const text = new StoreClient(cluster.node("n1"), { codec: textCodec });
    await text.put("k", "v");
    assertEquals((await text.update("k", () => undefined)).written, false);
    await text.update("k", () => DELETE);
    assertEquals((await text.get("k")).value, undefined);
    await Promise.all([text.put("k", "x"), new StoreClient(cluster.node("n2"), { codec: textCodec }).put("k", "y")]);
    await assertRejects(() => text.update("k", (v) => v), InvalidRequestError);
  });

  it("reports a value its codec cannot read as corrupt, naming the key", async () => {
    await using cluster = await createCluster({ nodes: 3, seed: 3 });
    await cluster.node("n1").put("k", encodeText("not json"));
    const error = await assertRejects(() => new StoreClient(cluster.node("n1"), { codec: jsonCodec() }).get("k"), CorruptDataError);
    assert(error.message.includes('"k"'));
  });

  it("retries a failed try from a fresh read, up to maxTries, then gives up with the last error", async () => {
    let failures = 2;
    const flaky = (store: KeyValueStore): KeyValueStore => ({
      get: (key, options) => store.get(key, options),
      put: (key, value, options) => (failures-- > 0 ? Promise.reject(new TimeoutError("put", 10)) : store.put(key, value, options)),
      delete: (key, options) => store.delete(key, options),
    });
    await using cluster = await createCluster({ nodes: 3, seed: 4 });
    const client = new StoreClient(flaky(cluster.node("n1")), { codec: textCodec });
    let calls = 0;
    const result = await client.update("k", () => `try ${++calls}`, { maxTries: 3 });
    assertEquals([result.tries, result.value, calls], [3, "try 3", 3]);
    failures = 5;
    const error = await assertRejects(() => client.update("k", () => "again", { maxTries: 2 }), RetriesExhaustedError);
    assertEquals([error.tries, error.cause.code], [2, "RINGFORGE_TIMEOUT"]);
  });

  it("does not retry what a retry cannot fix", async () => {
    await using cluster = await createCluster({ nodes: 3, seed: 5, limits: { maxSiblings: 1, warnSiblings: 1 } });
    const client = new StoreClient(cluster.node("n1"), { codec: textCodec, merge: (s) => s.join("+") });
    await client.put("k", "a");
    let calls = 0;
    // A blind write next to "a" would leave 2 siblings: refused, not retried.
    await assertRejects(
      () => client.update("k", () => (calls++, "b"), { maxTries: 5 }).then(() => client.put("k", "c")),
      SiblingLimitError,
    );
    assertEquals(calls, 1);
  });
});

describe("sessions", () => {
  // R = W = 1: a write is acknowledged by its coordinator alone, and a read asks one replica.
  const weak = { nodes: 3, replication: { n: 3, r: 1, w: 1 }, seed: 11, requestTimeoutMs: 200 };

  it("read-your-writes: a read that would miss the session's write asks every replica", async () => {
    await using cluster = await createCluster(weak);
    const network = simulatedNetwork(cluster);
    const key = "profile";
    const [first, , third] = cluster.nodes[0]!.services.partitioner.preferenceList(key, 3);
    const coordinator = cluster.node(first!);
    // Replication to the third replica is cut: it keeps the old value.
    await coordinator.put(key, encodeText("old"), { w: 3 });
    const { context } = await coordinator.get(key, { r: 3 });
    network.block(first!, third!);
    const session = new Session();
    await coordinator.put(key, encodeText("new"), { session, context });
    await sleep(cluster.runtime.scheduler, 50); // the second replica has it by now; the third never will
    // A plain R=1 read at the third replica answers from its own stale copy...
    const plain = await cluster.node(third!).get(key, { r: 1 });
    assertEquals(plain.values.map((v) => new TextDecoder().decode(v)), ["old"]);
    // ...a session read there sees its stale copy is older than the session and asks everyone.
    const mine = await cluster.node(third!).get(key, { r: 1, session });
    assertEquals(mine.values.map((v) => new TextDecoder().decode(v)), ["new"]);
  });

  it("fails with StaleReadError rather than answer with the past, and the session stays as it was", async () => {
    await using cluster = await createCluster(weak);
    const network = simulatedNetwork(cluster);
    const key = "profile";
    const [first, second, third] = cluster.nodes[0]!.services.partitioner.preferenceList(key, 3);
    await cluster.node(first!).put(key, encodeText("old"), { w: 3 });
    const session = new Session();
    network.partition([[first!, second!], [third!]]);
    await cluster.node(first!).put(key, encodeText("new"), { session, context: (await cluster.node(first!).get(key, { r: 2 })).context });
    const before = session.contexts(key);
    const error = await assertRejects(() => cluster.node(third!).get(key, { r: 1, session }), StaleReadError);
    assertEquals(error.key, key);
    assertEquals(session.contexts(key), before);
    network.heal();
    // Once the partition heals, the read succeeds: every replica is reachable.
    const read = await cluster.node(third!).get(key, { r: 1, session });
    assertEquals(read.values.map((v) => new TextDecoder().decode(v)), ["new"]);
  });

  it("monotonic reads: after seeing a value, the session never reads an older one", async () => {
    await using cluster = await createCluster(weak);
    const network = simulatedNetwork(cluster);
    const key = "feed";
    const [first, , third] = cluster.nodes[0]!.services.partitioner.preferenceList(key, 3);
    await cluster.node(first!).put(key, encodeText("v1"), { w: 3 });
    const { context } = await cluster.node(first!).get(key, { r: 3 });
    network.block(first!, third!);
    await cluster.node(first!).put(key, encodeText("v2"), { context });
    await sleep(cluster.runtime.scheduler, 50);
    const session = new Session();
    const seen = await cluster.node(first!).get(key, { r: 1, session });
    assertEquals(seen.values.map((v) => new TextDecoder().decode(v)), ["v2"]);
    const later = await cluster.node(third!).get(key, { r: 1, session });
    assertEquals(later.values.map((v) => new TextDecoder().decode(v)), ["v2"]);
  });

  it("forgets the least recently used key past maxKeys", () => {
    const session = new Session({ maxKeys: 2 });
    const ctx = "x" as never;
    session.remember("a", [ctx]);
    session.remember("b", [ctx]);
    session.remember("a", [ctx]);
    session.remember("c", [ctx]);
    assertEquals([session.contexts("a").length, session.contexts("b").length, session.contexts("c").length], [1, 0, 1]);
    assertEquals(session.size, 2);
  });
});

describe("sessions in the lab", () => {
  const config = {
    nodes: 5,
    replication: { n: 3, r: 1, w: 1 },
    requestTimeoutMs: 500,
    detector: "static",
    transport: { name: "in-process", options: { latency: { kind: "exponential", mean: 5 } } },
  };
  const scenario = (sessions: boolean) =>
    parseScenario({
      name: sessions ? "sessions" : "plain",
      workload: {
        type: "ycsb",
        clients: 10,
        operations: 1500,
        records: 100,
        mix: { read: 0.5, update: 0.5, insert: 0 },
        thinkMs: { min: 0, max: 10 },
        sessions,
      },
      faults: "latency * -> n3 20..80ms at 200ms; latency n3 -> * 20..80ms at 200ms",
      quiesceMs: 500,
    });

  it("plain R=1 reads violate read-your-writes and monotonic reads; session reads never do", async () => {
    const plain = (await runScenario({ ...config, name: "plain" }, scenario(false), 1, { registry: builtinPlugins })).report;
    const mine = (await runScenario({ ...config, name: "sessions" }, scenario(true), 1, { registry: builtinPlugins })).report;
    assert(plain.sessions!.readYourWrites > 0, `plain: ${JSON.stringify(plain.sessions)}`);
    assert(plain.sessions!.readYourWrites + plain.sessions!.monotonicReads > 0);
    assertEquals([mine.sessions!.readYourWrites, mine.sessions!.monotonicReads], [0, 0]);
    assert(mine.sessions!.reads > 500);
  });
});

describe("the session checker", () => {
  const op = (o: Partial<OperationRecord> & Pick<OperationRecord, "kind" | "start" | "end">): OperationRecord => ({
    client: 0,
    key: "k",
    node: "n1",
    ok: true,
    ...o,
  });

  it("counts a read that misses the client's own finished write, and a read older than the last", () => {
    const history = new History();
    history.record(op({ client: 1, kind: "write", value: "w0", start: 0, end: 1 }));
    history.record(op({ kind: "write", value: "w1", start: 2, end: 3 }));
    history.record(op({ kind: "read", start: 4, end: 5, read: ["w0"] })); // misses w1: RYW
    history.record(op({ kind: "read", start: 6, end: 7, read: ["w1"] })); // fine
    history.record(op({ kind: "read", start: 8, end: 9, read: ["w0"] })); // older than w1: both
    history.record(op({ client: 2, kind: "read", start: 10, end: 11, read: ["w0"] })); // another client: fine
    assertEquals(sessionViolations(history), { reads: 4, readYourWrites: 2, monotonicReads: 1 });
  });

  it("does not count an empty read that a concurrent delete may explain", () => {
    const history = new History();
    history.record(op({ kind: "write", value: "w1", start: 0, end: 1 }));
    history.record(op({ client: 1, kind: "delete", value: "d1", start: 1.5, end: 10, ok: false }));
    history.record(op({ kind: "read", start: 2, end: 3, read: [] }));
    assertEquals(sessionViolations(history).readYourWrites, 0);
  });
});

describe("sessions and codecs refuse bad input before anything changes", () => {
  it("a session from a store of another resolver fails a put before the value is stored", async () => {
    await using vc = await createCluster({ nodes: 3, seed: 21, resolver: "vector-clock" });
    await using dvv = await createCluster({ nodes: 3, seed: 22, resolver: "dotted-version-vector" });
    const session = new Session();
    await vc.node("n1").put("k", encodeText("v"), { session });
    await assertRejects(() => dvv.node("n1").put("k", encodeText("x"), { session }), InvalidContextError);
    assertEquals((await dvv.node("n1").get("k")).values, []);
  });

  it("a session needs a positive maxKeys; JSON refuses what it cannot represent", () => {
    assertThrows(() => new Session({ maxKeys: 0 }), InvalidRequestError);
    assertThrows(() => jsonCodec().encode(undefined), InvalidValueError);
  });
});
