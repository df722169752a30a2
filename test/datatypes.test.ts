/**
 * The CRDT data types: the conformance laws for each, their meaning (what a counter counts,
 * add-wins, concurrent values), and their clients on a cluster.
 */
import { describe, it } from "@std/testing/bdd";
import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import {
  Counters,
  gCounterType,
  inField,
  lwwRegisterType,
  mapType,
  MultiRegisters,
  mvRegisterType,
  orSetType,
  pnCounterType,
  pnCounterValue,
  prepareAdd,
  prepareAssign,
  prepareChange,
  prepareRemove,
  prepareWrite,
  raiseTo,
  Registers,
  seen,
  Sets,
} from "../core/client/datatypes/index.ts";
import { CorruptDataError, createCluster, InvalidRequestError, InvalidValueError } from "../index.ts";
import { CrdtStore } from "../core/client/crdt-store.ts";
import { builtinPlugins } from "../plugins/index.ts";
import { parseScenario, runScenario } from "../sim/index.ts";
import { dataTypeSuite } from "../plugin-kit/testing/index.ts";

const member = (n: number) => `m${n % 4}`;

dataTypeSuite({ type: gCounterType, operation: (n, actor) => (first) => (s) => raiseTo(s, actor, seen(first, actor) + 1 + (n % 5)) });
dataTypeSuite({ type: pnCounterType, operation: (n, actor) => (first) => prepareChange(first, actor, n % 2 ? "up" : "down", 1 + (n % 7)) });
dataTypeSuite({
  type: orSetType,
  operation: (n, actor) => (first) => (n % 3 === 0 ? prepareRemove(member(n >> 2)) : prepareAdd(first, actor, member(n >> 2))),
});
dataTypeSuite({ type: lwwRegisterType, operation: (n, actor) => (first) => prepareAssign(first, actor, `v${n % 5}`) });
dataTypeSuite({ type: mvRegisterType, operation: (n, actor) => (first) => prepareWrite(first, actor, `v${n % 5}`) });
const profile = mapType({ visits: pnCounterType, tags: orSetType, name: lwwRegisterType });
dataTypeSuite({
  type: profile,
  operation: (n, actor) =>
    n % 3 === 0
      ? inField("visits", (first) => prepareChange(first, actor, "up", 1))
      : n % 3 === 1
      ? inField("tags", (first) => prepareAdd(first, actor, member(n)))
      : inField("name", (first) => prepareAssign(first, actor, `name${n % 4}`)),
});

describe("what the data types mean", () => {
  it("an OR-Set add concurrent with a remove of the same member wins; a remove takes what it saw", () => {
    const base = prepareAdd(orSetType.empty(), "a", "milk")(orSetType.empty());
    const removed = prepareRemove("milk")(base);
    const readded = prepareAdd(base, "b", "milk")(base);
    assertEquals([...orSetType.join(removed, readded).entries.keys()], ["milk"]);
    assertEquals([...orSetType.join(removed, base).entries.keys()], []);
  });

  it("an MV-Register keeps concurrent writes and a later write replaces what it read", () => {
    const x = prepareWrite(mvRegisterType.empty(), "a", "x")(mvRegisterType.empty());
    const y = prepareWrite(mvRegisterType.empty(), "b", "y")(mvRegisterType.empty());
    const both = mvRegisterType.join(x, y);
    assertEquals(both.entries.map(([, v]) => v), ["x", "y"]);
    const z = prepareWrite(both, "a", "z")(both);
    assertEquals(mvRegisterType.join(z, x).entries.map(([, v]) => v), ["z"]);
  });

  it("a PN-Counter applied twice after a retry counts once", () => {
    const apply = prepareChange(pnCounterType.empty(), "a", "up", 5);
    assertEquals(pnCounterValue(apply(apply(pnCounterType.empty()))), 5);
  });
});

describe("data type clients on a cluster", () => {
  it("counters, sets and registers through different nodes agree", async () => {
    await using cluster = await createCluster({ nodes: 3, seed: 3 });
    const [a, b] = [new Counters(cluster.node("n1"), { actor: "a" }), new Counters(cluster.node("n2"), { actor: "b" })];
    await Promise.all([a.increment("likes", 5), b.increment("likes", 2), b.decrement("likes")]);
    assertEquals(await a.value("likes"), 6);
    const [s1, s2] = [new Sets(cluster.node("n1"), { actor: "a" }), new Sets(cluster.node("n3"), { actor: "b" })];
    await Promise.all([s1.add("tags", "x"), s2.add("tags", "y")]);
    await s1.remove("tags", "x");
    assertEquals(await s2.members("tags"), ["y"]);
    const names = new Registers<string>(cluster.node("n2"), { actor: "a" });
    await names.set("name", "Ada");
    assertEquals(await names.get("name"), "Ada");
    const [t1, t2] = [
      new MultiRegisters<string>(cluster.node("n1"), { actor: "a" }),
      new MultiRegisters<string>(cluster.node("n2"), { actor: "b" }),
    ];
    await Promise.all([t1.set("title", "one"), t2.set("title", "two")]);
    assertEquals((await t1.get("title")).sort(), ["one", "two"]);
    const profiles = new CrdtStore(cluster.node("n3"), profile, { actor: "a" });
    await profiles.update("ada", inField("visits", (first) => prepareChange(first, "a", "up", 3)));
    await profiles.update("ada", inField("tags", (first) => prepareAdd(first, "a", "admin")));
    const state = await profiles.read("ada");
    assertEquals([pnCounterValue(state.visits), [...state.tags.entries.keys()]], [3, ["admin"]]);
  });
});

describe("data types in the lab, under a partition", () => {
  const config = (resolver: string) => ({
    name: resolver,
    nodes: 5,
    resolver,
    requestTimeoutMs: 300,
    transport: { name: "in-process", options: { latency: { kind: "normal", mean: 5, stddev: 2 } } },
  });
  const scenario = (datatype: "counter" | "set") =>
    parseScenario({
      name: `crdt-${datatype}`,
      workload: { type: "crdt", datatype, clients: 6, operations: 120, key: "k", thinkMs: { min: 10, max: 40 } },
      faults: "partition {n1,n2} | {n3,n4,n5} at 150ms, heal at 600ms",
      quiesceMs: 500,
    });

  for (const datatype of ["counter", "set"] as const) {
    it(`${datatype}: with vector clocks no acknowledged update is lost or doubled; with last-write-wins some are lost`, async () => {
      for (const seed of [1, 2, 3]) {
        const vc = (await runScenario(config("vector-clock"), scenario(datatype), seed, { registry: builtinPlugins })).report.crdt!;
        assertEquals([vc.finalReadSucceeded, vc.lost, vc.excess], [true, 0, 0], `seed ${seed}`);
        assert(vc.acknowledged > 0);
      }
      const lww = (await runScenario(config("last-write-wins"), scenario(datatype), 1, { registry: builtinPlugins })).report.crdt!;
      assert(lww.lost > 0, "last-write-wins drops concurrent updates of one key");
    });
  }
});

describe("data type clients refuse what they cannot store, and stay usable", () => {
  it("a refused update (too large, not plain data, overflow) changes nothing and leaves the key usable", async () => {
    await using cluster = await createCluster({ nodes: 3, seed: 9 });
    const sets = new Sets(cluster.node("n1"), { actor: "a" });
    await sets.add("s", "a");
    await assertRejects(() => sets.add("s", "x".repeat(20_000)), InvalidValueError);
    await sets.add("s", "b");
    assertEquals(await sets.members("s"), ["a", "b"]);
    const registers = new Registers(cluster.node("n2"), { actor: "a" });
    await assertRejects(() => registers.set("r", () => 1), InvalidValueError);
    await assertRejects(() => registers.set("r", undefined), InvalidValueError);
    await assertRejects(() => registers.set("r", new Date(0)), InvalidValueError);
    assertEquals(await registers.get("r"), undefined);
    const counters = new Counters(cluster.node("n3"), { actor: "a" });
    await counters.increment("c", 2);
    await assertRejects(() => counters.increment("c", Number.MAX_SAFE_INTEGER), InvalidRequestError);
    await assertRejects(() => counters.increment("c", 1.5), InvalidRequestError);
    await assertRejects(() => counters.increment("c", 0), InvalidRequestError);
    assertEquals(await counters.increment("c"), 3);
    assertThrows(() => new Counters(cluster.node("n1"), { actor: "" }), InvalidRequestError);
  });

  it("a map written before its schema gained a field reads with the new field empty", () => {
    const v1 = mapType({ visits: pnCounterType });
    const v2 = mapType({ visits: pnCounterType, tags: orSetType });
    const state = prepareChange(pnCounterType.empty(), "a", "up", 4)(pnCounterType.empty());
    const bytes = v1.encode({ visits: state });
    const read = v2.decode(bytes);
    assertEquals([pnCounterValue(read.visits), read.tags.entries.size], [4, 0]);
    // A field the schema dropped cannot be read back silently.
    assertThrows(() => v1.decode(v2.encode(read)), CorruptDataError);
  });

  it("a counter state from another type is refused as corrupt", async () => {
    await using cluster = await createCluster({ nodes: 3, seed: 10 });
    await new Sets(cluster.node("n1"), { actor: "a" }).add("k", "x");
    await assertRejects(() => new Counters(cluster.node("n2"), { actor: "a" }).value("k"), CorruptDataError);
  });
});
