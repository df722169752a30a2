/**
 * The conformance suite every {@link Transport} must pass: the contract written on the
 * interface — replies, typed remote errors, timeouts, unreachable peers, best-effort one-way
 * messages, copying in transit, messages to oneself, and `stop()`.
 *
 * It runs on virtual or real time: the pair under test says how time passes (`advance`), and
 * the suite waits `settleMs` wherever it needs every message in flight to have arrived. A
 * simulated network drives its scheduler by hand (`advance: (ms) => scheduler.runFor(ms)`); a
 * socket transport sleeps on a host timer (`advance: (ms) => new Promise((r) => setTimeout(r, ms))`;
 * not systemScheduler, whose timers are unref'd, which `deno test` reports as a stuck test) with
 * a `settleMs` comfortably above a local round trip.
 *
 * What the interface leaves open, the suite pins where callers rely on one answer:
 * - pending requests of a transport being stopped, and requests made after `stop()`, reject
 *   with {@link NotRunningError} (`RINGFORGE_NOT_RUNNING`): the local node is not running;
 * - a request to a stopped peer rejects with {@link UnreachableNodeError} or
 *   {@link TimeoutError} — a refused connection and a silent peer are both honest answers.
 *
 * Given a plugin, the suite builds each pair itself on virtual time: one virtual runtime, what
 * `plugin.createShared` makes (a simulated network), and the transports of nodes `node-a` and
 * `node-b` made by `plugin.create`. A plugin that needs real time (`capabilities.realTimeOnly`,
 * such as a socket transport, whose nodes also need addresses of their own) uses the factory
 * form, `createPair`.
 *
 * @example
 * ```ts
 * // Virtual time, from the plugin:
 * transportSuite({ plugin: inProcessPlugin, options: { latency: { min: 1, max: 5 } } });
 * // Real time: a socket transport on localhost.
 * transportSuite({ name: "tcp", settleMs: 30, createPair: () => tcpPair() }); // advance = host sleep
 * ```
 *
 * @module
 */
import { afterEach, beforeEach, describe, it } from "./bdd.ts";
import {
  assert,
  assertEquals,
  assertGreaterOrEqual,
  assertInstanceOf,
  assertNotStrictEquals,
  assertRejects,
  assertStringIncludes,
  equal,
} from "./assert.ts";
import fc from "fast-check";
import {
  InvalidKeyError,
  NotRunningError,
  QuorumNotReachedError,
  RemoteError,
  RingforgeError,
  TimeoutError,
  UnreachableNodeError,
} from "../../core/errors.ts";
import type { Clock } from "../../core/interfaces/clock.ts";
import type { Message, MessageHandler, Transport } from "../../core/interfaces/transport.ts";
import type { MemberInfo } from "../../core/interfaces/partitioner.ts";
import type { NodeId } from "../../core/model/sibling.ts";
import { virtualRuntime } from "../../core/runtime/runtime.ts";
import { checkPlugin, createShared, createStandalone, type PluginSuiteOptions } from "./plugin-under-test.ts";

/** Two transports that can reach each other, and control over their time. */
export interface TransportPair {
  /** A transport, not started. */
  readonly a: Transport;
  /** Another transport that `a` can reach (and that can reach `a`), not started. */
  readonly b: Transport;
  /** Lets at least `ms` of the transports' time pass, delivering what falls due. */
  advance(ms: number): Promise<void>;
  /** The clock the transports' timeouts run on; lets the suite check timeouts are not early. */
  readonly clock?: Clock;
  /** Stops whatever the pair still runs (both transports, sockets, schedulers). */
  close(): Promise<void>;
}

/**
 * The plugin form of {@link transportSuite}: pairs made by the plugin on virtual time (see the
 * module note). `settleMs` and `unknownNode` as in {@link TransportSuiteOptions}.
 */
export interface TransportPluginSuiteOptions extends PluginSuiteOptions<"transport"> {
  /** As {@link TransportSuiteOptions.settleMs} (virtual ms here). Default 50. */
  readonly settleMs?: number;
  /** As {@link TransportSuiteOptions.unknownNode}. */
  readonly unknownNode?: NodeId;
}

/** The factory form of {@link transportSuite}: how the suite makes a pair and lets time pass. */
export interface TransportSuiteOptions {
  /** Name shown in the test report. */
  readonly name: string;
  /** A fresh pair of transports; called once per test (and once more by a few tests). */
  readonly createPair: () => TransportPair | Promise<TransportPair>;
  /**
   * Time after which every message sent, and the reply to it, has surely arrived, in the pair's
   * time (default 50 ms). Request timeouts in the suite are multiples of it.
   */
  readonly settleMs?: number;
  /** An id that neither transport knows how to reach. Default `"nobody"`. */
  readonly unknownNode?: NodeId;
}

/** A message as a handler received it. */
interface Received {
  readonly message: Message;
  readonly from: NodeId;
}

/** The reply of the suite's default handler: the request and its sender, echoed. */
interface Echo extends Message {
  readonly type: "echo";
  readonly body: Message;
  readonly from: NodeId;
}

const echo = (message: Message, from: NodeId): Echo => ({ type: "echo", body: message, from });

/** A message for a failure report (JSON, with bytes shown as `bytes(1,2,3)`). */
function show(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (v instanceof Uint8Array ? `bytes(${v.join(",")})` : v));
}

function isPlainUint8Array(value: unknown): boolean {
  return value instanceof Uint8Array && Object.getPrototypeOf(value) === Uint8Array.prototype;
}

// ---- arbitrary plain data -----------------------------------------------------------------

// Field names exclude "__proto__": msgpackr renames it on decode (to "__proto_") to guard
// against prototype pollution, so such a field cannot cross an encoded wire unchanged.
const fieldName = fc.string({ maxLength: 8, unit: "binary" }).filter((k) => k !== "__proto__");
// Numbers exclude -0: MessagePack encoders write it as the integer 0.
const number = fc.oneof(
  fc.integer(),
  fc.maxSafeInteger(),
  fc.double().filter((x) => !Object.is(x, -0)),
);
const leaf = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.string({ maxLength: 12, unit: "binary" }),
  number,
  fc.uint8Array({ maxLength: 16 }),
);
const { value: plainData } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    leaf,
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(fieldName, tie("value"), { maxKeys: 4, noNullPrototype: true }),
  ),
}));
const message: fc.Arbitrary<Message> = fc
  .record({
    type: fc.string({ minLength: 1, maxLength: 12 }),
    fields: fc.dictionary(fieldName, plainData, { maxKeys: 5, noNullPrototype: true }),
  })
  .map(({ type, fields }) => ({ ...fields, type }));

/** The two nodes of a pair the suite builds from a plugin. */
const PAIR_MEMBERS: readonly MemberInfo[] = [{ id: "node-a" }, { id: "node-b" }];

/** The factory form of a plugin: two nodes' transports on one virtual runtime. */
function fromPlugin(given: TransportPluginSuiteOptions): TransportSuiteOptions {
  const checked = checkPlugin("transportSuite", "transport", given, { virtualTime: true });
  return {
    name: checked.name,
    settleMs: given.settleMs,
    unknownNode: given.unknownNode,
    createPair(): TransportPair {
      const runtime = virtualRuntime(1);
      const shared = createShared(checked, runtime, PAIR_MEMBERS);
      const node = (id: NodeId): Transport => createStandalone(checked, { id, runtime, shared, members: PAIR_MEMBERS });
      const a = node("node-a");
      const b = node("node-b");
      const scheduler = runtime.scheduler;
      return {
        a,
        b,
        advance: (ms) => scheduler.runFor(ms),
        clock: scheduler,
        async close() {
          await a.stop();
          await b.stop();
        },
      };
    },
  };
}

/**
 * Registers the {@link Transport} conformance tests for one implementation: a plugin that runs
 * on virtual time, or a factory of pairs.
 *
 * @example
 * ```ts
 * transportSuite({ plugin: inProcessPlugin });
 * ```
 */
export function transportSuite(suite: TransportPluginSuiteOptions | TransportSuiteOptions): void {
  const options = "plugin" in suite ? fromPlugin(suite) : suite;
  const settleMs = options.settleMs ?? 50;
  const unknown = options.unknownNode ?? "nobody";
  /** Generous time limit of requests that are expected to succeed. */
  const timeoutMs = settleMs * 20;

  describe(`Transport conformance: ${options.name}`, () => {
    let pair: TransportPair;
    let a: Transport;
    let b: Transport;
    const inbox: { a: Received[]; b: Received[] } = { a: [], b: [] };
    /** Per-test behaviour of each side's handler (default: echo). */
    let onA: MessageHandler;
    let onB: MessageHandler;

    const settle = (): Promise<void> => pair.advance(settleMs);

    /** Starts both transports with handlers that record every message and then defer to onA/onB. */
    async function startBoth(): Promise<void> {
      await a.start((message, from) => {
        inbox.a.push({ message, from });
        return onA(message, from);
      });
      await b.start((message, from) => {
        inbox.b.push({ message, from });
        return onB(message, from);
      });
    }

    /** Sends a request and lets time pass until it has surely settled. */
    async function requestAndSettle(
      from: Transport,
      to: NodeId,
      body: Message,
      limitMs = timeoutMs,
    ): Promise<Message> {
      const reply = from.request(to, body, { timeoutMs: limitMs });
      // A rejection is awaited below; mark it handled so the host does not report it meanwhile.
      reply.catch(() => {});
      await settle();
      return reply;
    }

    beforeEach(async () => {
      pair = await options.createPair();
      ({ a, b } = pair);
      inbox.a = [];
      inbox.b = [];
      onA = echo;
      onB = echo;
      await startBoth();
    });
    afterEach(async () => {
      await pair.close();
    });

    describe("request", () => {
      it("resolves with the handler's reply; the handler sees the message and the sender", async () => {
        const reply = await requestAndSettle(a, b.self, { type: "test.ping", n: 1 });
        assertEquals(reply, { type: "echo", body: { type: "test.ping", n: 1 }, from: a.self });
        assertEquals(inbox.b, [{ message: { type: "test.ping", n: 1 }, from: a.self }]);
        assertEquals(inbox.a, []);
      });

      it("waits for an async handler", async () => {
        onB = async (message) => {
          for (let i = 0; i < 5; i++) await Promise.resolve();
          return { type: "late", of: message.type };
        };
        assertEquals(await requestAndSettle(a, b.self, { type: "test.ping" }), { type: "late", of: "test.ping" });
      });

      it("matches each of many concurrent requests, in both directions, with its own reply", async () => {
        onA = (message) => ({ type: "from-a", i: message.i });
        onB = (message) => ({ type: "from-b", i: message.i });
        const toB = Array.from({ length: 20 }, (_, i) => a.request(b.self, { type: "test.n", i }, { timeoutMs }));
        const toA = Array.from({ length: 20 }, (_, i) => b.request(a.self, { type: "test.n", i }, { timeoutMs }));
        await settle();
        assertEquals(
          await Promise.all(toB),
          toB.map((_, i) => ({ type: "from-b", i })),
        );
        assertEquals(
          await Promise.all(toA),
          toA.map((_, i) => ({ type: "from-a", i })),
        );
      });

      it("works from a node to itself", async () => {
        const reply = await requestAndSettle(a, a.self, { type: "test.self" });
        assertEquals(reply, { type: "echo", body: { type: "test.self" }, from: a.self });
        assertEquals(inbox.a, [{ message: { type: "test.self" }, from: a.self }]);
      });
    });

    describe("errors from the handler", () => {
      it("a RingforgeError reaches the requester as the same class, code and details", async () => {
        onB = () => {
          throw new InvalidKeyError("too-large", 2000, 1024);
        };
        const error = await assertRejects(() => requestAndSettle(a, b.self, { type: "test.fail" }), InvalidKeyError);
        assertEquals(error.code, "RINGFORGE_INVALID_KEY");
        assertEquals([error.reason, error.bytes, error.limit], ["too-large", 2000, 1024]);
      });

      it("an async handler's rejection with a RingforgeError keeps its details", async () => {
        onB = async () => {
          await Promise.resolve();
          throw new QuorumNotReachedError("put", 2, 1, 3, ["n3: timeout"]);
        };
        const error = await assertRejects(
          () => requestAndSettle(a, b.self, { type: "test.fail" }),
          QuorumNotReachedError,
        );
        assertEquals(error.code, "RINGFORGE_QUORUM_NOT_REACHED");
        assertEquals(
          [error.operation, error.required, error.acknowledged, error.targets, error.failures],
          ["put", 2, 1, 3, ["n3: timeout"]],
        );
      });

      it("a plain Error arrives as RINGFORGE_REMOTE_ERROR carrying its message", async () => {
        onB = () => {
          throw new Error("disk on fire");
        };
        const error = await assertRejects(() => requestAndSettle(a, b.self, { type: "test.fail" }), RingforgeError);
        assertEquals(error.code, "RINGFORGE_REMOTE_ERROR");
        assertStringIncludes(error.message, "disk on fire");
      });

      it("a plain Error arrives as a RemoteError naming the node; a NotRunningError as itself", async () => {
        onB = () => {
          throw new Error("disk on fire");
        };
        const remote = await assertRejects(() => requestAndSettle(a, b.self, { type: "test.fail" }), RemoteError);
        assertStringIncludes(remote.message, b.self);
        onB = () => {
          throw new NotRunningError("engine of b");
        };
        await assertRejects(() => requestAndSettle(a, b.self, { type: "test.fail" }), NotRunningError);
      });

      it("a thrown non-Error arrives as RINGFORGE_REMOTE_ERROR too", async () => {
        onB = () => Promise.reject("just a string");
        const error = await assertRejects(() => requestAndSettle(a, b.self, { type: "test.fail" }), RingforgeError);
        assertEquals(error.code, "RINGFORGE_REMOTE_ERROR");
        assertStringIncludes(error.message, "just a string");
      });

      it("a failed request leaves the transport working", async () => {
        let fail = true;
        onB = (message) => {
          if (fail) throw new Error("once");
          return echo(message, a.self);
        };
        await assertRejects(() => requestAndSettle(a, b.self, { type: "test.fail" }), RingforgeError);
        fail = false;
        assertEquals((await requestAndSettle(a, b.self, { type: "test.ok" })).type, "echo");
      });
    });

    describe("timeouts and unreachable peers", () => {
      it("rejects with TimeoutError, no earlier than timeoutMs, when the handler never answers", async () => {
        const limit = settleMs * 2;
        onB = () => new Promise<never>(() => {});
        const start = pair.clock?.now();
        let rejectedAt: number | undefined;
        const reply = a.request(b.self, { type: "test.silence" }, { timeoutMs: limit });
        const rejected = assertRejects(() => reply, TimeoutError).finally(() => (rejectedAt = pair.clock?.now()));
        await pair.advance(limit + settleMs);
        const error = await rejected;
        assertEquals(error.code, "RINGFORGE_TIMEOUT");
        assertEquals(error.timeoutMs, limit);
        if (start !== undefined) assertGreaterOrEqual(rejectedAt! - start, limit);
        assertEquals(inbox.b.length, 1, "the request was delivered");
      });

      it("ignores a reply that comes after the timeout, and keeps working", async () => {
        const limit = settleMs * 2;
        let answer: ((reply: Message) => void) | undefined;
        onB = () => new Promise<Message>((resolve) => (answer = resolve));
        const reply = a.request(b.self, { type: "test.slow" }, { timeoutMs: limit });
        const rejected = assertRejects(() => reply, TimeoutError);
        await pair.advance(limit + settleMs);
        await rejected;
        assert(answer, "the handler was called");
        answer({ type: "too-late" });
        await settle();
        onB = echo;
        assertEquals((await requestAndSettle(a, b.self, { type: "test.after" })).type, "echo");
      });

      it("rejects a request to an unknown node with UnreachableNodeError naming it", async () => {
        let reply: Promise<Message> | undefined;
        try {
          reply = a.request(unknown, { type: "test.ping" }, { timeoutMs });
        } catch (error) {
          throw new Error(`request() threw synchronously instead of rejecting: ${error}`);
        }
        const rejected = assertRejects(() => reply!, UnreachableNodeError);
        await settle();
        const error = await rejected;
        assertEquals(error.code, "RINGFORGE_UNREACHABLE");
        assertEquals(error.node, unknown);
      });

      it("rejects a request to a stopped peer with UnreachableNodeError or TimeoutError", async () => {
        await b.stop();
        const limit = settleMs * 2;
        const reply = a.request(b.self, { type: "test.ping" }, { timeoutMs: limit });
        const rejected = assertRejects(() => reply, RingforgeError);
        await pair.advance(limit + settleMs);
        const error = await rejected;
        assert(
          error instanceof UnreachableNodeError || error instanceof TimeoutError,
          `expected UnreachableNodeError or TimeoutError, got ${error.name}: ${error.message}`,
        );
        assertEquals(inbox.b, []);
      });
    });

    describe("send", () => {
      it("delivers a one-way message with its sender; the handler's return value goes nowhere", async () => {
        a.send(b.self, { type: "test.note", n: 7 });
        await settle();
        assertEquals(inbox.b, [{ message: { type: "test.note", n: 7 }, from: a.self }]);
        assertEquals(inbox.a, [], "no reply travels back");
      });

      it("delivers to the sender itself", async () => {
        a.send(a.self, { type: "test.self" });
        await settle();
        assertEquals(inbox.a, [{ message: { type: "test.self" }, from: a.self }]);
      });

      it("never throws: to an unknown node, to a stopped peer, from a stopped transport", async () => {
        a.send(unknown, { type: "test.lost" });
        await b.stop();
        a.send(b.self, { type: "test.lost" });
        b.send(a.self, { type: "test.lost" });
        await settle();
        assertEquals(inbox.a, []);
        assertEquals(inbox.b, []);
      });

      it("never throws before start()", async () => {
        const fresh = await options.createPair();
        try {
          fresh.a.send(fresh.b.self, { type: "test.early" });
          fresh.a.send(unknown, { type: "test.early" });
          await fresh.advance(settleMs);
        } finally {
          await fresh.close();
        }
      });

      it("a throwing one-way handler does not break the transport", async () => {
        onB = (message) => {
          if (message.type === "test.sync-throw") throw new Error("sync");
          if (message.type === "test.async-throw") return Promise.reject(new Error("async"));
          return echo(message, a.self);
        };
        a.send(b.self, { type: "test.sync-throw" });
        a.send(b.self, { type: "test.async-throw" });
        await settle();
        assertEquals(inbox.b.length, 2);
        assertEquals((await requestAndSettle(a, b.self, { type: "test.after" })).type, "echo");
      });
    });

    describe("messages are copied in transit", () => {
      it("changing a sent message or its bytes afterwards does not change what arrives", async () => {
        const bytes = Uint8Array.of(1, 2, 3);
        const nested = { list: [1, 2], bytes };
        const sent = { type: "test.copy", bytes, nested };
        a.send(b.self, sent);
        const reply = a.request(b.self, sent, { timeoutMs });
        bytes[0] = 99;
        nested.list.push(3);
        (sent as { extra?: boolean }).extra = true;
        await settle();
        const expected = { type: "test.copy", bytes: Uint8Array.of(1, 2, 3), nested: { list: [1, 2], bytes: Uint8Array.of(1, 2, 3) } };
        assertEquals(inbox.b.map((r) => r.message), [expected, expected]);
        assertEquals(((await reply) as Echo).body, expected);
      });

      it("the receiver gets plain Uint8Arrays of its own, never the sender's objects", async () => {
        const bytes = Uint8Array.of(5, 6, 7, 8).subarray(1, 3);
        const sent = { type: "test.share", bytes, deep: [{ bytes }] };
        a.send(a.self, sent);
        await settle();
        const got = inbox.a[0]?.message as typeof sent | undefined;
        assert(got, "delivered");
        assertNotStrictEquals(got, sent);
        assertNotStrictEquals(got.deep, sent.deep);
        for (const received of [got.bytes, got.deep[0]!.bytes]) {
          assert(isPlainUint8Array(received), `received a ${received?.constructor?.name}, not a plain Uint8Array`);
          assertEquals(received, Uint8Array.of(6, 7));
          assertNotStrictEquals(received.buffer, bytes.buffer);
        }
        got.bytes[0] = 0;
        assertEquals(bytes, Uint8Array.of(6, 7), "the receiver's writes do not reach the sender");
      });

      it("a reply is copied too: the requester's changes never reach the handler's object", async () => {
        const kept = { type: "test.kept", bytes: Uint8Array.of(1), list: [1] };
        onB = () => kept;
        const reply = (await requestAndSettle(a, b.self, { type: "test.get" })) as typeof kept;
        assertNotStrictEquals(reply, kept);
        assert(isPlainUint8Array(reply.bytes), "reply bytes are a plain Uint8Array");
        reply.bytes[0] = 9;
        reply.list.push(2);
        assertEquals(kept, { type: "test.kept", bytes: Uint8Array.of(1), list: [1] });
      });

      it("plain data round-trips exactly: null, booleans, numbers, strings, bytes, arrays, objects", async () => {
        await fc.assert(
          fc.asyncProperty(fc.array(message, { minLength: 1, maxLength: 6 }), async (messages) => {
            inbox.b = [];
            const replies = messages.map((m) => a.request(b.self, m, { timeoutMs }));
            for (const m of messages) a.send(b.self, m);
            await settle();
            const echoed = (await Promise.all(replies)).map((r) => (r as Echo).body);
            assertEquals(echoed, messages);
            // Requests and one-way messages may arrive in any order: match what arrived against
            // what was sent (each message twice) as a multiset.
            const expected = [...messages, ...messages];
            for (const { message: got } of inbox.b) {
              const i = expected.findIndex((m) => equal(m, got));
              assert(i >= 0, `received a message that was not sent, or too often: ${show(got)}`);
              expected.splice(i, 1);
            }
            assertEquals(expected, [], "sent but never received");
          }),
          { numRuns: 25 },
        );
      });
    });

    describe("stop", () => {
      it("rejects pending requests with NotRunningError at once", async () => {
        onB = () => new Promise<never>(() => {});
        let outcome: unknown;
        const reply = a.request(b.self, { type: "test.pending" }, { timeoutMs });
        reply.then(
          () => (outcome = "resolved"),
          (error: unknown) => (outcome = error),
        );
        await pair.advance(settleMs); // delivered, and the handler is holding it
        assertEquals(outcome, undefined);
        await a.stop();
        await pair.advance(1);
        assertInstanceOf(outcome, NotRunningError);
        assertEquals(outcome.code, "RINGFORGE_NOT_RUNNING");
      });

      it("drops messages that arrive after stop(), and rejects later requests", async () => {
        a.send(b.self, { type: "test.in-flight" });
        const sentEarlier = a.request(b.self, { type: "test.in-flight" }, { timeoutMs: settleMs * 2 });
        sentEarlier.catch(() => {});
        await b.stop();
        const stoppedAt = inbox.b.length;
        a.send(b.self, { type: "test.after-stop" });
        await pair.advance(settleMs * 3);
        assertEquals(inbox.b.length, stoppedAt, "b's handler ran after stop()");

        await a.stop();
        const later = a.request(b.self, { type: "test.after-stop" }, { timeoutMs });
        const error = await assertRejects(() => later, NotRunningError);
        assertEquals(error.code, "RINGFORGE_NOT_RUNNING");
        b.send(a.self, { type: "test.after-stop" });
        await settle();
        assertEquals(inbox.a, []);
      });
    });
  });
}
