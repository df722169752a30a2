/**
 * Runs the Transport conformance suite for every bundled transport plugin that runs on virtual
 * time, each transport created by its plugin from a plugin context (what it shares made once,
 * as a cluster does), on a virtual runtime driven by hand; plus in-process specifics: latency bounds,
 * traffic counters and seeded determinism.
 */
import { standaloneContext } from "../core/build/standalone-context.ts";
import { describe, it } from "@std/testing/bdd";
import { assert, assertEquals, assertGreater, assertInstanceOf, assertNotEquals, assertThrows } from "@std/assert";
import type { Plugin } from "../core/build/plugin.ts";
import { InvalidConfigError } from "../core/errors.ts";
import type { Message, Transport } from "../core/interfaces/transport.ts";
import type { NodeId } from "../core/model/sibling.ts";
import { type VirtualRuntime, virtualRuntime } from "../core/runtime/runtime.ts";
import { inProcess, InProcessNetwork, inProcessPlugin, InProcessTransport, transportPlugins } from "../plugins/transports/index.ts";
import { type TransportPair, transportSuite } from "../plugin-kit/testing/index.ts";

/** Nodes whose transports one plugin creates on one virtual runtime, as the node build does. */
interface Built {
  readonly runtime: VirtualRuntime;
  /** What the plugin shares across the nodes (its `createShared`). */
  readonly shared: unknown;
  /** Creates node `id`'s transport. */
  node(id: NodeId): { transport: Transport };
}

// deno-lint-ignore no-explicit-any
function build(plugin: Plugin<any, "transport", any>, rawOptions?: unknown, seed = 1): Built {
  const runtime = virtualRuntime(seed);
  const options = plugin.parseOptions(rawOptions);
  const shared = plugin.createShared?.({ scheduler: runtime.scheduler, random: runtime.random, members: [] }, options);
  return {
    runtime,
    shared,
    node(id) {
      const context = standaloneContext({ id, runtime, shared, settings: { replication: { n: 1, r: 1, w: 1 } } });
      return { transport: plugin.create(context, options) };
    },
  };
}

// deno-lint-ignore no-explicit-any
function createPair(plugin: Plugin<any, "transport", any>, rawOptions?: unknown, seed = 1): TransportPair & Built {
  const built = build(plugin, rawOptions, seed);
  const a = built.node("node-a").transport;
  const b = built.node("node-b").transport;
  const scheduler = built.runtime.scheduler;
  return {
    ...built,
    a,
    b,
    advance: (ms) => scheduler.runFor(ms),
    clock: scheduler,
    async close() {
      await a.stop();
      await b.stop();
    },
  };
}

// Transports on virtual time run the suite here; the TCP transport needs real sockets and real
// time, and runs it in test/transports-tcp.test.ts.
for (const plugin of transportPlugins.filter((p) => !p.capabilities.realTimeOnly)) transportSuite({ plugin });

/** A message delivery as observed by a handler: who got what, from whom, when. */
type Delivery = readonly [to: NodeId, from: NodeId, type: string, time: number];

describe("in-process transport", () => {
  it("is what the plugin creates: one network per cluster, one endpoint per node", () => {
    const built = build(inProcessPlugin);
    const n1 = built.node("n1");
    const n2 = built.node("n2");
    assertInstanceOf(n1.transport, InProcessTransport);
    assertEquals(n1.transport.self, "n1");
    assertEquals(n2.transport.self, "n2");
    const network = built.shared as InProcessNetwork;
    assertInstanceOf(network, InProcessNetwork);
    assertEquals(network.endpoint("n1"), n1.transport);
    assertEquals(network.endpoint("n2"), n2.transport);
    assertEquals(network.scheduler, built.runtime.scheduler);
    assert(build(inProcessPlugin).shared !== network, "clusters share nothing");
  });

  it("rejects invalid options with RINGFORGE_INVALID_CONFIG: min > max, negative, infinite, unknown", () => {
    assertEquals(inProcess().plugin, inProcessPlugin);
    for (
      const bad of [
        { latency: { min: 5, max: 1 } },
        { latency: { min: -1, max: 1 } },
        { latency: { min: 1, max: Number.POSITIVE_INFINITY } },
        { latency: { min: 1 } },
        { jitter: 3 },
      ]
    ) {
      const error = assertThrows(() => inProcessPlugin.parseOptions(bad), InvalidConfigError, undefined, JSON.stringify(bad));
      assertEquals(error.code, "RINGFORGE_INVALID_CONFIG");
      assert(error.issues.every((i) => i.path.startsWith("transport.options")), JSON.stringify(error.issues));
    }
  });

  it("delivers every message after a delay within [min, max], spread across the range", async () => {
    const pair = createPair(inProcessPlugin, { latency: { min: 10, max: 20 } }, 7);
    const scheduler = pair.runtime.scheduler;
    const arrivals: number[] = [];
    await pair.a.start(() => ({ type: "pong" }));
    await pair.b.start(() => {
      arrivals.push(scheduler.now());
      return { type: "pong" };
    });
    await scheduler.runFor(1000);
    const sentAt = scheduler.now();
    for (let i = 0; i < 100; i++) pair.a.send(pair.b.self, { type: "ping", i });
    const replyAt: number[] = [];
    const requests = Array.from(
      { length: 20 },
      () => pair.a.request(pair.b.self, { type: "ping" }, { timeoutMs: 1000 }).then(() => replyAt.push(scheduler.now())),
    );
    await scheduler.runFor(100);
    await Promise.all(requests);
    assertEquals(arrivals.length, 120);
    const delays = arrivals.map((t) => t - sentAt);
    assert(delays.every((d) => d >= 10 && d <= 20), `one-way delays out of [10, 20]: ${delays.join(", ")}`);
    assertGreater(Math.max(...delays) - Math.min(...delays), 5, "delays are spread, not constant");
    const roundTrips = replyAt.map((t) => t - sentAt);
    assert(roundTrips.every((d) => d >= 20 && d <= 40), `round trips out of [20, 40]: ${roundTrips.join(", ")}`);
    await pair.close();
  });

  it("with zero latency still delivers asynchronously, at the same virtual time", async () => {
    const pair = createPair(inProcessPlugin, { latency: { min: 0, max: 0 } });
    const scheduler = pair.runtime.scheduler;
    const arrivals: number[] = [];
    await pair.a.start(() => {});
    await pair.b.start(() => {
      arrivals.push(scheduler.now());
    });
    await scheduler.runFor(50);
    pair.a.send(pair.b.self, { type: "now" });
    assertEquals(arrivals, []);
    await scheduler.runFor(0);
    assertEquals(arrivals, [50]);
    await pair.close();
  });

  it("counts messages (requests, replies, one-way), encoded bytes, and drops", async () => {
    const pair = createPair(inProcessPlugin);
    const network = pair.shared as InProcessNetwork;
    const scheduler = pair.runtime.scheduler;
    await pair.a.start(() => {});
    await pair.b.start(() => ({ type: "ok" }));
    assertEquals([network.stats.messages, network.stats.bytes, network.stats.dropped], [0, 0, 0]);

    pair.a.send(pair.b.self, { type: "small" });
    await scheduler.runFor(10);
    assertEquals(network.stats.messages, 1);
    const small = network.stats.bytes;
    assertGreater(small, 0);

    pair.a.send(pair.b.self, { type: "small", payload: new Uint8Array(1000) });
    await scheduler.runFor(10);
    assertEquals(network.stats.messages, 2);
    assert(network.stats.bytes - small >= 1000, `a 1000-byte payload added ${network.stats.bytes - small} bytes`);

    const reply = pair.a.request(pair.b.self, { type: "ask" }, { timeoutMs: 100 });
    await scheduler.runFor(20);
    await reply;
    assertEquals(network.stats.messages, 4, "a request and its reply");
    assertEquals(network.stats.dropped, 0);

    await pair.b.stop();
    pair.a.send(pair.b.self, { type: "lost" });
    const refused = pair.a.request(pair.b.self, { type: "lost" }, { timeoutMs: 100 });
    refused.catch(() => {});
    await scheduler.runFor(20);
    assertEquals(network.stats.dropped, 2);
    await pair.close();
  });

  describe("determinism", () => {
    /** Runs a burst of one-way messages and requests both ways; returns every delivery. */
    async function burst(seed: number): Promise<Delivery[]> {
      const pair = createPair(inProcessPlugin, { latency: { min: 1, max: 30 } }, seed);
      const scheduler = pair.runtime.scheduler;
      const log: Delivery[] = [];
      const handler = (to: NodeId) => (message: Message, from: NodeId) => {
        log.push([to, from, `${message.type}#${message.i}`, scheduler.now()]);
        return { type: "reply", i: message.i };
      };
      await pair.a.start(handler(pair.a.self));
      await pair.b.start(handler(pair.b.self));
      const replies: Promise<unknown>[] = [];
      for (let i = 0; i < 30; i++) {
        pair.a.send(pair.b.self, { type: "a-send", i });
        pair.b.send(pair.a.self, { type: "b-send", i });
        replies.push(
          pair.a.request(pair.b.self, { type: "a-ask", i }, { timeoutMs: 1000 }).then((r) => {
            log.push([pair.a.self, pair.b.self, `reply#${r.i}`, scheduler.now()]);
          }),
        );
      }
      await scheduler.runUntilIdle();
      await Promise.all(replies);
      await pair.close();
      return log;
    }

    it("the same seed gives the same deliveries, in the same order, at the same times", async () => {
      const first = await burst(1234);
      assertEquals(first.length, 120);
      assertEquals(await burst(1234), first);
    });

    it("a different seed gives a different history", async () => {
      const [one, other] = [await burst(1234), await burst(4321)];
      assertNotEquals(one, other);
      assertNotEquals(
        one.map(([, , what]) => what),
        other.map(([, , what]) => what),
        "the order of deliveries differs, not only their times",
      );
    });
  });
});
