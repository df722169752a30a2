/**
 * The simulator's newer faults: pausing and resuming a node (SIGSTOP/SIGCONT), clock drift, and
 * the random nemesis; their schedule syntax and errors, what they do to a node, and that runs
 * with them stay deterministic under Node and Deno.
 */
import { describe, it } from "@std/testing/bdd";
import { assert, assertEquals, assertInstanceOf, assertNotEquals, assertThrows } from "@std/assert";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import process from "node:process";
import { createCluster, decodeText, encodeText, InvalidConfigError, sleep } from "../index.ts";
import type { Message } from "../core/interfaces/transport.ts";
import { type VirtualRuntime, virtualRuntime } from "../core/runtime/runtime.ts";
import { SeededRandom } from "../core/runtime/seeded-random.ts";
import { VirtualScheduler } from "../core/runtime/virtual-scheduler.ts";
import { InProcessNetwork } from "../plugins/transports/in-process.ts";
import { builtinPlugins } from "../plugins/index.ts";
import {
  compare,
  type FaultEvent,
  parseFaults,
  parseScenario,
  randomFaults,
  type RandomNemesis,
  randomNemesisSchema,
  runScenario,
} from "../sim/index.ts";
import { faultWindows } from "../sim/lab-report.ts";
import { faultFixtureDigests } from "./support/fault-fixture.ts";

const FIVE = ["n1", "n2", "n3", "n4", "n5"];

/** The InvalidConfigError `run` throws, with its issues' paths. */
function configError(run: () => unknown): InvalidConfigError {
  return assertThrows(run, InvalidConfigError);
}

describe("the fault language: pause, resume, drift", () => {
  it("parses the one-line form, reusing the node, and the JSON events", () => {
    assertEquals(parseFaults("pause n3 at 2s, resume at 6s; drift n2 +0.05 at 1s; drift n4 -2% at 3s; drift n2 0 at 7s", FIVE), [
      { at: 1000, action: "drift", node: "n2", rate: 0.05 },
      { at: 2000, action: "pause", node: "n3" },
      { at: 3000, action: "drift", node: "n4", rate: -0.02 },
      { at: 6000, action: "resume", node: "n3" },
      { at: 7000, action: "drift", node: "n2", rate: 0 },
    ]);
    const events: FaultEvent[] = [
      { action: "pause", node: "n3", at: 2000 },
      { action: "resume", node: "n3", at: 6000 },
      { action: "drift", node: "n2", rate: -0.1, at: 1000 },
    ];
    assertEquals(parseScenario({ name: "s", workload: { type: "membership", durationMs: 1 }, faults: events }).faults, events);
  });

  it("refuses bad clauses and events with typed errors that name them", () => {
    assert(configError(() => parseFaults("drift n2 fast at 1s", FIVE)).message.includes("drift n2 fast at 1s"));
    assert(configError(() => parseFaults("drift n2 -1 at 1s", FIVE)).message.includes("above -1"));
    configError(() => parseFaults("drift n2 -150% at 1s", FIVE));
    configError(() => parseFaults("pause at 1s", FIVE));
    configError(() => parseFaults("pause n1 n2 at 1s", FIVE));
    assert(configError(() => parseFaults("resume n9 at 1s", FIVE)).message.includes('unknown node "n9"'));
    const drift = configError(() => parseFaults([{ at: 0, action: "drift", node: "n1", rate: -2 }], FIVE));
    assertEquals(drift.issues.map((i) => i.path), ["faults.0.rate"]);
    const pause = configError(() =>
      parseScenario({ name: "s", workload: { type: "membership", durationMs: 1 }, faults: [{ at: 0, action: "pause" }] })
    );
    assertEquals(pause.issues.map((i) => i.path), ["scenario.faults.0.node"]);
  });
});

describe("a paused lane of the virtual scheduler", () => {
  it("holds its events and runs them at the resume, in the order they fell due, before later ones", async () => {
    const scheduler = new VirtualScheduler();
    const lane = scheduler.lane();
    const log: string[] = [];
    const at = (name: string) => () => log.push(`${name}@${scheduler.now()}`);
    lane.schedule(300, at("b"));
    lane.schedule(100, at("a"));
    const cancelled = lane.schedule(200, at("cancelled"));
    scheduler.schedule(150, at("shared"));
    scheduler.schedule(250, () => cancelled.cancel());
    lane.pause();
    let resumedAt: number | undefined;
    void lane.whenResumed().then(() => resumedAt = scheduler.now());
    scheduler.schedule(1000, () => {
      lane.resume();
      lane.schedule(0, at("after"));
    });
    await scheduler.runFor(999);
    assertEquals(log, ["shared@150"]);
    assert(lane.paused);
    assertEquals(lane.held, 3); // "cancelled" fell due at 200 ms, before it was cancelled
    await scheduler.runFor(1);
    assertEquals(log, ["shared@150", "a@1000", "b@1000", "after@1000"]);
    assertEquals(resumedAt, 1000);
    assert(!lane.paused);
    assertEquals(lane.held, 0);
  });
});

describe("a paused node", () => {
  it("fires its timers late, at the resume, as a stopped process would", async () => {
    await using cluster = await createCluster({ nodes: 3 });
    const runtime = cluster.runtime as VirtualRuntime;
    const n3 = cluster.node("n3");
    assertEquals(n3.services.scheduler, runtime.schedulerFor("n3"));
    const fired: number[] = [];
    n3.services.scheduler.schedule(100, () => fired.push(runtime.scheduler.now()));
    const start = runtime.scheduler.now();
    runtime.schedulerFor("n3").pause();
    await sleep(runtime.scheduler, 1000);
    assertEquals(fired, []);
    runtime.schedulerFor("n3").resume();
    const resumedAt = runtime.scheduler.now();
    await sleep(runtime.scheduler, 1);
    assertEquals(fired, [resumedAt]);
    assert(resumedAt - start >= 1000);
  });

  it("receives nothing while paused; the writes sent to it apply at the resume", async () => {
    await using cluster = await createCluster({ nodes: 3, replication: { n: 3, r: 1, w: 2 }, resolver: "vector-clock" });
    const runtime = cluster.runtime as VirtualRuntime;
    runtime.schedulerFor("n3").pause();
    let context = undefined;
    for (const value of ["a", "b", "c"]) {
      ({ context } = await cluster.node("n1").put("k", encodeText(value), { context }));
    }
    await sleep(runtime.scheduler, 2000);
    assertEquals(await cluster.node("n3").localRecord("k"), []);
    runtime.schedulerFor("n3").resume();
    await sleep(runtime.scheduler, 1);
    const record = await cluster.node("n3").localRecord("k");
    assertEquals(record.map((s) => s.value && decodeText(s.value)), ["c"]);
  });

  it("gets the messages sent to it in the order they arrived; its own timeouts fire after them", async () => {
    const runtime = virtualRuntime(1);
    const scheduler = runtime.scheduler;
    const network = new InProcessNetwork(scheduler, runtime.random.fork("network"), {
      latency: { kind: "constant", ms: 5 },
      loss: 0,
      duplicate: 0,
      serviceMs: 0,
    });
    const a = network.endpoint("a", runtime.schedulerFor("a"));
    const b = network.endpoint("b", runtime.schedulerFor("b"));
    const received: string[] = [];
    await a.start((message) => (message.type === "never" ? new Promise<Message>(() => {}) : { type: "pong" }));
    await b.start((message) => void received.push(`${message.type}@${scheduler.now()}`));
    const outcomes: string[] = [];
    const note = (request: Promise<Message>, into: string[]) =>
      request.then((m) => into.push(`${m.type}@${scheduler.now()}`), (e: Error) => into.push(`${e.name}@${scheduler.now()}`));
    // b asks a twice: the reply to the first comes back at 10 ms; b gives up on the second at 50.
    note(b.request("a", { type: "ping" }, { timeoutMs: 50 }), outcomes);
    note(b.request("a", { type: "never" }, { timeoutMs: 50 }), outcomes);
    await scheduler.runFor(1);
    runtime.schedulerFor("b").pause();
    for (const type of ["m1", "m2", "m3"]) {
      a.send("b", { type });
      await scheduler.runFor(10);
    }
    // a's request to the paused b times out on a's own timers, which run.
    const fromA: string[] = [];
    note(a.request("b", { type: "hello" }, { timeoutMs: 20 }), fromA);
    await scheduler.runUntil(200);
    assertEquals(fromA, ["TimeoutError@51"]);
    assertEquals(received, []);
    assertEquals(outcomes, []);
    runtime.schedulerFor("b").resume();
    await scheduler.runFor(0);
    assertEquals(received, ["m1@200", "m2@200", "m3@200", "hello@200"]);
    // The reply had arrived before b's timeout fell due, so b sees it first, as a stopped
    // process finds both waiting when it goes on.
    assertEquals(outcomes, ["pong@200", "TimeoutError@200"]);
    await a.stop();
    await b.stop();
  });

  it("in a run: clients wait for it, and vector clocks lose no acknowledged add", async () => {
    const scenario = parseScenario({
      name: "pause-set",
      workload: { type: "set", clients: 5, adds: 150, key: "s", thinkMs: { min: 5, max: 30 } },
      faults: "pause n3 at 300ms, resume at 900ms",
      quiesceMs: 500,
      requestTimeoutMs: 1000,
    });
    const config = { nodes: 5, replication: { n: 3, r: 2, w: 2 }, resolver: "vector-clock", requestTimeoutMs: 1000 };
    const { report, history } = await runScenario(config, scenario, 3, { registry: builtinPlugins });
    assertEquals(report.lostWrites!.lost, 0);
    assertEquals(report.availability.failedBy, {});
    const pausedAt = history.faults.find((f) => f.fault === "pause n3")!.at;
    const resumedAt = history.faults.find((f) => f.fault === "resume n3")!.at;
    assertEquals(resumedAt - pausedAt, 600);
    const waited = history.operations.filter((op) => op.node === "n3" && op.start >= pausedAt && op.start < resumedAt);
    assert(waited.length > 0, "no client sent a request to the paused node");
    for (const op of waited) assert(op.end >= resumedAt, `${op.kind} ${op.value} ended at ${op.end}, before the resume`);
  });

  it("is resumed by the final heal, and a client that waits too long for it times out", async () => {
    const scenario = parseScenario({
      name: "pause-forever",
      workload: { type: "set", clients: 4, adds: 80, key: "s", thinkMs: { min: 5, max: 30 } },
      faults: "pause n2 at 200ms",
      quiesceMs: 500,
      requestTimeoutMs: 300,
    });
    const { report, history } = await runScenario({ nodes: 5, resolver: "vector-clock" }, scenario, 1, { registry: builtinPlugins });
    assert((report.availability.failedBy["RINGFORGE_TIMEOUT"] ?? 0) > 0);
    assertEquals(report.lostWrites!.lost, 0);
    assertEquals(report.convergence.divergent, 0);
    const faults = history.faults.map((f) => f.fault);
    assertEquals(faults.slice(-2), ["resume n2", "heal all"]);
  });

  it("gives one history per seed, the same under Node and under Deno", async () => {
    const mine = await faultFixtureDigests();
    const underDeno = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";
    const bin = join(process.cwd(), "node_modules", ".bin", underDeno ? "tsx" : "deno");
    const args = underDeno ? ["test/support/print-fault-digests.ts"] : ["run", "-A", "test/support/print-fault-digests.ts"];
    const theirs = JSON.parse(execFileSync(bin, args, { encoding: "utf8" })) as Record<string, string>;
    assertEquals(theirs, mine);
    assertEquals(await faultFixtureDigests(), mine);
    assertEquals(new Set(Object.values(mine)).size, Object.keys(mine).length);
  }, 60_000);
});

describe("clock drift", () => {
  it("moves what Clock.now returns at its rate, composed with skew; timers keep virtual time", async () => {
    const runtime = virtualRuntime(1);
    const n2 = runtime.clockFor("n2");
    const close = (actual: number, expected: number) => assert(Math.abs(actual - expected) < 1e-9, `${actual} is not ${expected}`);
    runtime.setDrift("n2", 0.05);
    await runtime.scheduler.runFor(1000);
    close(n2.now(), 1050); // 5% fast: 50 ms gained per second
    runtime.setSkew("n2", 200); // a step: the offset is 200 from here, and the drift goes on
    close(n2.now(), 1200);
    await runtime.scheduler.runFor(1000);
    close(n2.now(), 2250);
    runtime.setDrift("n2", -0.1); // 10% slow, from the 250 ms gained so far
    await runtime.scheduler.runFor(500);
    close(n2.now(), 2700);
    close(runtime.skewOf("n2"), 200);
    assertEquals(runtime.driftOf("n2"), -0.1);
    assertEquals(runtime.clockFor("n1").now(), 2500);
    let firedAt: number | undefined;
    runtime.schedulerFor("n2").schedule(100, () => firedAt = runtime.scheduler.now());
    await runtime.scheduler.runFor(100);
    assertEquals(firedAt, 2600);
    assertThrows(() => runtime.setDrift("n2", -1), RangeError);
    assertThrows(() => runtime.setDrift("n2", Number.NaN), RangeError);
  });

  it("is what a node's clock reads in a cluster; a run records it with the other faults", async () => {
    await using cluster = await createCluster({ nodes: 3 });
    const runtime = cluster.runtime as VirtualRuntime;
    const [n1, n2] = [cluster.node("n1").services.clock, cluster.node("n2").services.clock];
    runtime.setDrift("n2", -0.05);
    const before = n2.now() - n1.now();
    await sleep(runtime.scheduler, 2000);
    assert(Math.abs(n2.now() - n1.now() - (before - 100)) < 1e-6, "n2 should have lost 100 ms in 2 s");

    const scenario = parseScenario({
      name: "drift",
      workload: { type: "membership", durationMs: 3000 },
      faults: "drift n2 +0.05 at 1s, skew n2 -100ms at 2s",
    });
    const { history } = await runScenario({ nodes: 3 }, scenario, 1, { registry: builtinPlugins });
    const faults = history.faults.filter((f) => !f.fault.includes(" sees "));
    assertEquals(faults.map((f) => [f.at, f.fault]), [[1000, "drift n2 0.05"], [2000, "skew n2 -100ms"]]);
  });
});

describe("the report's fault windows", () => {
  it("run a pause to its resume (or its crash), a clock fault until the clock is set back, loss until 0", () => {
    const windows = faultWindows(
      [
        { at: 1000, fault: "pause n3" },
        { at: 1500, fault: "drift n2 0.05" },
        { at: 2000, fault: "resume n3" },
        { at: 2500, fault: "loss 0.1" },
        { at: 3000, fault: "pause n1" },
        { at: 3500, fault: "crash n1" },
        { at: 4000, fault: "drift n2 0" },
        { at: 4000, fault: "skew n2 0ms" },
        { at: 4500, fault: "loss 0" },
        { at: 5000, fault: "restart n1" },
      ],
      6,
    );
    assertEquals(windows, [
      { label: "pause n3", from: 1, to: 2 },
      { label: "drift n2 0.05", from: 1.5, to: 4 },
      { label: "loss 0.1", from: 2.5, to: 4.5 },
      { label: "pause n1", from: 3, to: 3.5 },
      { label: "crash n1", from: 3.5, to: 5 },
    ]);
  });
});

describe("the random nemesis", () => {
  const nemesis = (spec: Record<string, unknown>): RandomNemesis => randomNemesisSchema.parse(spec);

  it("is drawn from the seed: the same seed, the same faults; another seed, others", () => {
    const spec = { random: { every: "2s", until: "20s", kinds: ["partition", "crash", "pause", "skew", "drift", "loss"], maxDown: 1 } };
    const draw = (seed: number) => parseFaults(spec, FIVE, new Map(), new SeededRandom(seed));
    assertEquals(draw(7), draw(7));
    assertNotEquals(draw(7), draw(8));
    assert(draw(7).length > 10);
    configError(() => parseFaults(spec, FIVE)); // no random stream to draw from
  });

  it("keeps to maxDown, ends every fault it starts by `until`, and starts none before `from`", () => {
    for (const maxDown of [1, 2]) {
      const spec = nemesis({ every: 500, from: "1s", until: "30s", lasting: { min: 100, max: 1500 }, maxDown });
      for (let seed = 1; seed <= 40; seed++) {
        const events = parseFaults({ random: spec }, FIVE, new Map(), new SeededRandom(seed));
        checkHealed(events, spec, maxDown, seed);
      }
    }
  });

  it("gives every config of a comparison the same faults", async () => {
    const scenario = parseScenario({
      name: "random",
      workload: { type: "set", clients: 4, adds: 120, key: "s", thinkMs: { min: 5, max: 30 } },
      faults: { random: { every: "200ms", until: "1.5s", maxDown: 2 } },
      quiesceMs: 500,
      requestTimeoutMs: 300,
    });
    const base = { nodes: 5, replication: { n: 3, r: 2, w: 2 }, engine: { name: "memory", options: { durable: true } } };
    const comparison = await compare(scenario, [
      { name: "lww", config: { ...base, resolver: "last-write-wins" } },
      { name: "vector-clock", config: { ...base, resolver: "vector-clock" } },
    ], { registry: builtinPlugins, seeds: [1, 2] });
    const faultsOf = (config: number, seed: number) =>
      comparison.results[config]!.runs.find((r) => r.seed === seed)!.timeline.faults.filter((f) => f.fault !== "heal all");
    for (const seed of [1, 2]) {
      assert(faultsOf(0, seed).length > 4);
      assertEquals(faultsOf(0, seed), faultsOf(1, seed));
    }
    assertNotEquals(faultsOf(0, 1), faultsOf(0, 2));
    // Vector clocks lose nothing the store acknowledged, whatever the nemesis drew.
    for (const run of comparison.results[1]!.runs) assertEquals(run.lostWrites!.lost, 0);
  }, 60_000);

  it("refuses a bad shape with typed errors that name the field", () => {
    const scenario = (random: unknown) => ({ name: "s", workload: { type: "membership", durationMs: 1 }, faults: { random } });
    const paths = (random: unknown) => configError(() => parseScenario(scenario(random))).issues.map((i) => i.path);
    assertEquals(paths({ every: "soon", until: "20s" }), ["scenario.faults.random.every"]);
    assertEquals(paths({ every: "2s", until: "1s" }), ["scenario.faults.random.until"]);
    assertEquals(paths({ every: "2s" }), ["scenario.faults.random.until"]);
    assertEquals(paths({ every: 0, until: "20s" }), ["scenario.faults.random.every"]);
    assertEquals(paths({ every: "2s", until: "20s", kinds: ["explode"] }), ["scenario.faults.random.kinds.0"]);
    assertEquals(paths({ every: "2s", until: "20s", kinds: ["crash", "crash"] }), ["scenario.faults.random.kinds"]);
    assertEquals(paths({ every: "2s", until: "20s", lasting: { min: 300, max: 100 } }), ["scenario.faults.random.lasting"]);
    assertEquals(paths({ every: "2s", until: "20s", maxDown: 0, kinds: ["pause"] }), ["scenario.faults.random.maxDown"]);
    assertEquals(paths({ every: "2s", until: "20s", often: true }), ["scenario.faults.random"]);
    const chaos = configError(() => parseScenario({ ...scenario({}), faults: { chaos: {} } }));
    assert(chaos.issues.some((i) => i.path === "scenario.faults" && i.message.includes("chaos")));
    // What only the cluster can tell: more nodes down than there are.
    const spec = { random: { every: "2s", until: "20s", maxDown: 3 } };
    const tooMany = configError(() => parseFaults(spec, ["n1", "n2", "n3"], new Map(), new SeededRandom(1)));
    assertEquals(tooMany.issues.map((i) => i.path), ["faults.random.maxDown"]);
    assertInstanceOf(tooMany, InvalidConfigError);
    assertEquals(randomFaults(nemesis({ every: "2s", until: "20s", kinds: ["skew"] }), ["n1"], new SeededRandom(1)).length > 0, true);
  });
});

/**
 * Replays `events` and checks what the random nemesis promises: never more than `maxDown` nodes
 * crashed or paused at once, every fault ended by `until`, none begun before `from`, nothing left
 * undone at the end.
 */
function checkHealed(events: readonly FaultEvent[], spec: RandomNemesis, maxDown: number, seed: number): void {
  const down = new Set<string>();
  let partitioned = false;
  let loss = 0;
  const clocks = new Map<string, { skew: number; drift: number }>();
  let mostDown = 0;
  for (const event of events) {
    assert(event.at >= spec.from && event.at <= spec.until, `seed ${seed}: ${JSON.stringify(event)} outside [from, until]`);
    switch (event.action) {
      case "crash":
      case "pause":
        assert(!down.has(event.node), `seed ${seed}: ${event.node} taken down twice`);
        down.add(event.node);
        mostDown = Math.max(mostDown, down.size);
        break;
      case "restart":
      case "resume":
        assert(down.delete(event.node), `seed ${seed}: ${event.action} of ${event.node}, which was up`);
        break;
      case "partition":
        assert(!partitioned, `seed ${seed}: a partition over another`);
        assert(event.groups.length === 2 && event.groups.every((g) => g.length > 0));
        partitioned = true;
        break;
      case "heal":
        partitioned = false;
        break;
      case "loss":
        loss = event.probability;
        break;
      case "skew":
        clocks.set(event.node, { ...(clocks.get(event.node) ?? { drift: 0 }), skew: event.offsetMs });
        break;
      case "drift":
        clocks.set(event.node, { ...(clocks.get(event.node) ?? { skew: 0 }), drift: event.rate });
        break;
      default:
        throw new Error(`seed ${seed}: the nemesis drew ${event.action}`);
    }
    assert(down.size <= maxDown, `seed ${seed}: ${down.size} nodes down at ${event.at}`);
  }
  assertEquals(mostDown > 0, true);
  assertEquals([...down], [], `seed ${seed}: left down`);
  assert(!partitioned && loss === 0, `seed ${seed}: network left faulty`);
  for (const [node, clock] of clocks) assertEquals(clock, { skew: 0, drift: 0 }, `seed ${seed}: ${node}'s clock left off`);
}
