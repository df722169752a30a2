/**
 * The TCP transport: the Transport conformance suite over real loopback sockets, then what
 * only a network transport has — seeds and address discovery, reconnecting after a peer
 * restarts, the cluster secret, TLS, limits, and garbage on the peer port.
 */
import { connect, createServer, type Socket } from "node:net";
import { Duplex } from "node:stream";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, it } from "@std/testing/bdd";
import { assert, assertEquals, assertInstanceOf, assertRejects, assertStringIncludes, assertThrows } from "@std/assert";
import fc from "fast-check";
import { ConnectionLostError, InvalidConfigError, InvalidMessageError, OverloadedError, UnreachableNodeError } from "../core/errors.ts";
import type { Message } from "../core/interfaces/transport.ts";
import { parseAddress, tcpPlugin, type TcpTransport } from "../plugins/transports/tcp/index.ts";
import { encodeFrame, FrameDecoder, FrameTooLargeError } from "../plugins/transports/tcp/frames.ts";
import { PeerLink } from "../plugins/transports/tcp/peer-link.ts";
import { afterThisTurnsFlushes, cheapTurns } from "../core/host/event-loop.ts";
import { transportSuite } from "../plugin-kit/testing/index.ts";
import { freePort, hostSleep, recordingLogger, tcpTransport } from "./support/tcp-pair.ts";

transportSuite({
  name: "tcp",
  settleMs: 40,
  async createPair() {
    const [pa, pb] = [await freePort(), await freePort()];
    const peers = { "node-a": `127.0.0.1:${pa}`, "node-b": `127.0.0.1:${pb}` };
    const a = tcpTransport("node-a", { listen: peers["node-a"], peers, backoff: { minMs: 1, maxMs: 5 } });
    const b = tcpTransport("node-b", { listen: peers["node-b"], peers, backoff: { minMs: 1, maxMs: 5 } });
    return {
      a,
      b,
      advance: hostSleep,
      async close() {
        await a.stop();
        await b.stop();
      },
    };
  },
});

const started: TcpTransport[] = [];
const echo = (message: Message) => ({ type: "echo", body: message });

async function startNode(id: string, options: Record<string, unknown> = {}, logger = recordingLogger()) {
  const transport = tcpTransport(id, { listen: "127.0.0.1:0", backoff: { minMs: 5, maxMs: 50 }, ...options }, logger);
  await transport.start(echo);
  started.push(transport);
  return { transport, logger, address: transport.address! };
}

async function until(condition: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await hostSleep(5);
  }
}

/** Opens a raw socket to `address`, writes `chunks`, and resolves once the node closes it (or after `ms`). */
function rawConnection(address: string, chunks: Uint8Array[], ms = 500): Promise<{ closedByPeer: boolean; received: number }> {
  const { host, port } = parseAddress(address)!;
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let received = 0;
    let timedOut = false;
    socket.on("data", (d) => (received += d.length));
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(timer);
      resolve({ closedByPeer: !timedOut, received });
    });
    socket.on("connect", () => {
      for (const chunk of chunks) socket.write(chunk);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      socket.destroy();
    }, ms);
  });
}

/** A raw connection held open: `greeted` resolves once the node has sent it anything (its challenge). */
function heldConnection(
  address: string,
  ms: number,
): { greeted: Promise<void>; outcome: Promise<{ closedByPeer: boolean; received: number }> } {
  const { host, port } = parseAddress(address)!;
  const socket = connect({ host, port });
  let received = 0;
  let timedOut = false;
  socket.on("error", () => {});
  const greeted = new Promise<void>((resolve) => socket.once("data", () => resolve()));
  socket.on("data", (d) => (received += d.length));
  const timer = setTimeout(() => {
    timedOut = true;
    socket.destroy();
  }, ms);
  const outcome = new Promise<{ closedByPeer: boolean; received: number }>((resolve) =>
    socket.on("close", () => {
      clearTimeout(timer);
      resolve({ closedByPeer: !timedOut, received });
    })
  );
  return { greeted, outcome };
}

/** A length prefix announcing `bytes`, then `sent` bytes of its body. */
function announce(bytes: number, sent: number): Uint8Array {
  const out = new Uint8Array(4 + sent).fill(0x41);
  new DataView(out.buffer).setUint32(0, bytes);
  return out;
}

describe("tcp transport", () => {
  afterEach(async () => {
    for (const t of started.splice(0)) await t.stop();
  });

  it("rejects bad options with RINGFORGE_INVALID_CONFIG", () => {
    for (
      const bad of [{ listen: "nohost" }, { seeds: ["1.2.3.4"] }, { secret: "short" }, { backoff: { minMs: 10, maxMs: 1 } }, { port: 1 }]
    ) {
      let error: unknown;
      try {
        tcpPlugin.parseOptions(bad);
      } catch (e) {
        error = e;
      }
      assertInstanceOf(error, InvalidConfigError, JSON.stringify(bad));
    }
  });

  it("finds every node from one seed: addresses spread through the handshake and lookups", async () => {
    const n1 = await startNode("n1");
    const n2 = await startNode("n2", { seeds: [n1.address] });
    const n3 = await startNode("n3", { seeds: [n1.address] });
    await until(() => n1.transport.addressBook().size === 2, "n1 to learn n2 and n3");
    // n2 never dialled n3: it asks its connected peers where n3 listens.
    const reply = await n2.transport.request("n3", { type: "hi" }, { timeoutMs: 2000 });
    assertEquals(reply, { type: "echo", body: { type: "hi" } });
    assertEquals(n2.transport.addressBook().get("n3"), n3.address);
    await assertRejects(() => n2.transport.request("n9", { type: "hi" }, { timeoutMs: 2000 }), UnreachableNodeError);
  });

  it("reconnects to a restarted peer on the same address; in-flight requests fail as connection lost", async () => {
    const n1 = await startNode("n1");
    const port = parseAddress(n1.address)!.port;
    const n2 = await startNode("n2", { seeds: [n1.address] });
    assertEquals((await n2.transport.request("n1", { type: "a" }, { timeoutMs: 2000 })).type, "echo");
    await n1.transport.stop();
    const restarted = tcpTransport("n1", { listen: `127.0.0.1:${port}` });
    await restarted.start(echo);
    started.push(restarted);
    let reply: Message | undefined;
    const deadline = Date.now() + 3000;
    while (!reply && Date.now() < deadline) {
      try {
        reply = await n2.transport.request("n1", { type: "b" }, { timeoutMs: 500 });
      } catch (error) {
        assert(error instanceof UnreachableNodeError || error instanceof ConnectionLostError, String(error));
        await hostSleep(10);
      }
    }
    assertEquals(reply?.type, "echo");
  });

  describe("a peer that restarts and connects clears the dial back-off", () => {
    // A back-off far longer than every timeout below (its first wait is at least minMs / 2):
    // whatever these tests wait for would not happen before it expired without the reset.
    const backoff = { minMs: 10_000, maxMs: 30_000 };

    it("its link is used at once, and if that link drops the next request dials it at once", async () => {
      const b = await startNode("b", { backoff });
      const port = parseAddress(b.address)!.port;
      const heard: Message[] = [];
      const a = tcpTransport("a", { listen: "127.0.0.1:0", backoff, peers: { b: b.address } });
      await a.start((message) => {
        heard.push(message);
        return echo(message);
      });
      started.push(a);
      assertEquals((await a.request("b", { type: "before" }, { timeoutMs: 2000 })).type, "echo");

      await b.transport.stop();
      await until(() => !a.connectedPeers().includes("b"), "A to see the connection close");
      // The first request dials and is refused; the next is refused by the back-off.
      await assertRejects(() => a.request("b", { type: "while-down" }, { timeoutMs: 1000 }), UnreachableNodeError);
      const waiting = await assertRejects(() => a.request("b", { type: "while-down" }, { timeoutMs: 1000 }), UnreachableNodeError);
      assertStringIncludes(waiting.message, "next attempt in");

      const restart = async () => {
        const node = tcpTransport("b", { listen: `127.0.0.1:${port}`, backoff, peers: { a: a.address! } });
        await node.start(echo);
        started.push(node);
        return node;
      };
      const again = await restart();
      again.send("a", { type: "back" });
      await until(() => heard.some((m) => m.type === "back"), "the restarted peer's message");
      assertEquals(await a.request("b", { type: "after" }, { timeoutMs: 2000 }), { type: "echo", body: { type: "after" } });

      // B's own link goes away (another restart, this time silent): A must dial, and its
      // back-off from the first outage must not stand in the way.
      await again.stop();
      await until(() => !a.connectedPeers().includes("b"), "A to see the connection close");
      await restart();
      assertEquals(await a.request("b", { type: "dialled" }, { timeoutMs: 2000 }), { type: "echo", body: { type: "dialled" } });
    });

    it("requests waiting for a dial that hangs take the link the peer opens meanwhile", async () => {
      // B's old address accepts connections and says nothing: A's dial waits for a challenge.
      const silent = createServer(() => {});
      await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
      const port = (silent.address() as { port: number }).port;
      try {
        const a = await startNode("a", { backoff, connectTimeoutMs: 20_000, peers: { b: `127.0.0.1:${port}` } });
        const pending = a.transport.request("b", { type: "waiting" }, { timeoutMs: 5000 });
        const b = await startNode("b", { backoff, peers: { a: a.address } });
        b.transport.send("a", { type: "back" });
        assertEquals(await pending, { type: "echo", body: { type: "waiting" } });
        assertEquals(a.transport.addressBook().get("b"), b.address, "the address it announced replaces the old one");
      } finally {
        // A's connection keeps the server open until A stops.
        for (const t of started.splice(0)) await t.stop();
        await new Promise<void>((resolve) => silent.close(() => resolve()));
      }
    });

    it("a seed waiting out its back-off is dialled at once when it connects, for its address book", async () => {
      const port = await freePort(); // the seed is not up yet
      const seed = `127.0.0.1:${port}`;
      const logger = recordingLogger();
      const notes: string[] = [];
      const a = await startNode("a", { backoff, seeds: [seed] }, { ...logger, info: (message) => void notes.push(message) });
      await until(() => notes.includes("seed not reachable yet"), "the first attempt to fail");
      const c = await startNode("c");
      const b = await startNode("b", { backoff, listen: seed, peers: { a: a.address, c: c.address } });
      b.transport.send("a", { type: "back" });
      // Only b's welcome tells a where c is.
      await until(() => a.transport.addressBook().get("c") === c.address, "a to learn c from the seed's address book");
    });
  });

  it("a request in flight when the connection drops rejects with ConnectionLostError", async () => {
    const n1 = tcpTransport("n1", { listen: "127.0.0.1:0" });
    await n1.start(() => new Promise<never>(() => {}));
    const n2 = await startNode("n2", { seeds: [n1.address!] });
    await until(() => n2.transport.connectedPeers().includes("n1"), "a connection");
    const pending = n2.transport.request("n1", { type: "hang" }, { timeoutMs: 5000 });
    const rejected = assertRejects(() => pending, ConnectionLostError);
    await hostSleep(20);
    await n1.stop();
    await rejected;
  });

  describe("cluster secret", () => {
    const secret = "correct horse battery staple";

    it("peers with the same secret talk; a peer with a wrong secret or none is refused, and it is logged", async () => {
      const n1 = await startNode("n1", { secret });
      const n2 = await startNode("n2", { secret, seeds: [n1.address] });
      assertEquals((await n2.transport.request("n1", { type: "x" }, { timeoutMs: 2000 })).type, "echo");

      const received: Message[] = [];
      const guarded = await startNode("n3", { secret });
      await guarded.transport.stop();
      const victim = tcpTransport("n3", { listen: guarded.address, secret });
      await victim.start((m) => {
        received.push(m);
        return { type: "ok" };
      });
      started.push(victim);
      const wrong = await startNode("evil", { secret: "not the cluster secret at all", peers: { n3: guarded.address } });
      const none = await startNode("open", { peers: { n3: guarded.address } });
      for (const intruder of [wrong, none]) {
        const error = await assertRejects(
          () => intruder.transport.request("n3", { type: "kv.write" }, { timeoutMs: 2000 }),
          UnreachableNodeError,
        );
        assertStringIncludes(error.message, "n3");
        intruder.transport.send("n3", { type: "gossip.digest" });
      }
      await hostSleep(50);
      assertEquals(received, [], "nothing from a peer without the secret reaches the handler");
      await until(() => (victim as unknown as { stats: { rejected: number } }).stats.rejected >= 2, "rejections counted");
    });

    it("a node with a secret refuses to send to a peer that cannot prove it (no fake servers)", async () => {
      const impostor = await startNode("n1", { secret: "an entirely different secret!!" });
      const n2 = await startNode("n2", { secret, peers: { n1: impostor.address } });
      const error = await assertRejects(() => n2.transport.request("n1", { type: "kv.write" }, { timeoutMs: 2000 }), UnreachableNodeError);
      assertStringIncludes(error.message, "refused");
    });
  });

  describe("garbage and limits on the peer port", () => {
    it("thousands of random and oversized frames never crash the node; each bad connection is closed and logged", async () => {
      const node = await startNode("n1", { secret: "0123456789abcdef", maxFrameBytes: 64 * 1024, handshakeTimeoutMs: 300 });
      const decoderCheck = new FrameDecoder(10);
      let threw: unknown;
      try {
        decoderCheck.push(Uint8Array.of(0, 0, 0, 11));
      } catch (e) {
        threw = e;
      }
      assertInstanceOf(threw, FrameTooLargeError);

      const garbage = fc.sample(
        fc.oneof(
          fc.uint8Array({ minLength: 1, maxLength: 512 }), // noise
          fc.integer({ min: 2 * 1024 * 1024, max: 0xffffffff }).map((n) => {
            const b = new Uint8Array(8);
            new DataView(b.buffer).setUint32(0, n); // an oversized length prefix
            return b;
          }),
          fc.anything().map((v) => encodeFrame(v as never)), // well-framed nonsense
          fc.constantFrom(
            encodeFrame({ k: "req", i: 1, b: { type: "kv.write" } }), // a request before the handshake
            encodeFrame({ k: "hello", id: "x", address: null, nonce: new Uint8Array(32), proof: new Uint8Array(32) }),
            encodeFrame({ k: "hello", id: "../etc", address: null, nonce: new Uint8Array(1), proof: new Uint8Array(0) }),
          ),
        ),
        { numRuns: 3000, seed: 42 },
      );
      let closed = 0;
      for (let i = 0; i < garbage.length; i += 100) {
        const batch = await Promise.all(garbage.slice(i, i + 100).map((bytes) => rawConnection(node.address, [bytes], 2000)));
        for (const outcome of batch) if (outcome.closedByPeer) closed++;
      }
      assertEquals(closed, garbage.length, "the node closed every bad connection itself (refused, violation or handshake timeout)");
      // Still serving its real peers.
      const peer = await startNode("n2", { secret: "0123456789abcdef", seeds: [node.address] });
      assertEquals((await peer.transport.request("n1", { type: "ok?" }, { timeoutMs: 2000 })).type, "echo");
      const reasons = new Set(node.logger.warnings.map((w) => w.message));
      assert(reasons.has("peer connection refused") || reasons.has("peer connection closed: protocol violation"), [...reasons].join(", "));
    });

    it("an oversized frame from an authenticated peer closes that connection; the sender's own limit refuses it first", async () => {
      const n1 = await startNode("n1", { maxFrameBytes: 1024 });
      const n2 = await startNode("n2", { seeds: [n1.address], maxFrameBytes: 1024 });
      const error = await assertRejects(
        () => n2.transport.request("n1", { type: "big", payload: new Uint8Array(4096) }, { timeoutMs: 2000 }),
        InvalidMessageError,
      );
      assertStringIncludes(error.message, "maxFrameBytes");
      // The receiver's check: a peer configured with a larger limit sends it anyway.
      const loud = await startNode("n3", { seeds: [n1.address], maxFrameBytes: 1024 * 1024 });
      const lost = await assertRejects(() =>
        loud.transport.request("n1", { type: "big", payload: new Uint8Array(4096) }, { timeoutMs: 2000 })
      );
      assert(lost instanceof ConnectionLostError || lost instanceof UnreachableNodeError, String(lost));
      assert(n1.logger.warnings.some((w) => String(w.fields?.reason).includes("exceeds the limit")), JSON.stringify(n1.logger.warnings));
      assertEquals((await n2.transport.request("n1", { type: "small" }, { timeoutMs: 2000 })).type, "echo", "n1 still serves others");
    });

    it("before authentication, a frame header over maxHandshakeFrameBytes closes the connection at once", async () => {
      const node = await startNode("n1", { secret: "0123456789abcdef", handshakeTimeoutMs: 20_000 });
      // A body the node would have to buffer: 1 MiB announced, 64 KiB of it sent.
      const outcome = await rawConnection(node.address, [announce(1024 * 1024, 64 * 1024)], 10_000);
      assert(outcome.closedByPeer, "closed by the node, long before the handshake timeout");
      assert(
        node.logger.warnings.some((w) => String(w.fields?.reason).includes("exceeds the limit of 4096")),
        JSON.stringify(node.logger.warnings),
      );
      // Just over a configured limit: refused the same way; a hello fits under the smallest one.
      const strict = await startNode("n2", { secret: "0123456789abcdef", maxHandshakeFrameBytes: 1024, handshakeTimeoutMs: 20_000 });
      assert((await rawConnection(strict.address, [announce(1025, 0)], 10_000)).closedByPeer);
      const peer = await startNode("n3", { secret: "0123456789abcdef", seeds: [strict.address] });
      assertEquals((await peer.transport.request("n2", { type: "ok?" }, { timeoutMs: 2000 })).type, "echo");
      assertEquals((await strict.transport.request("n3", { type: "ok?" }, { timeoutMs: 2000 })).type, "echo");
      for (
        const bad of [{ maxHandshakeFrameBytes: 512 }, { maxHandshakeFrameBytes: 2 * 1024 * 1024 }, { maxUnauthenticatedConnections: 0 }]
      ) {
        assertThrows(() => tcpPlugin.parseOptions(bad), InvalidConfigError, undefined, JSON.stringify(bad));
      }
    });

    it("connections beyond maxUnauthenticatedConnections are closed on arrival, counted, logged once; authenticated peers keep working", async () => {
      const secret = "0123456789abcdef";
      const node = await startNode("n1", { secret, maxUnauthenticatedConnections: 4, handshakeTimeoutMs: 1000 });
      const peer = await startNode("n2", { secret, seeds: [node.address] });
      await until(() => node.transport.connectedPeers().includes("n2"), "an authenticated peer");

      // Four connections that never authenticate take every slot (each got its challenge).
      const held = Array.from({ length: 4 }, () => heldConnection(node.address, 10_000));
      await Promise.all(held.map((h) => h.greeted));
      const beyond = await Promise.all(Array.from({ length: 6 }, () => rawConnection(node.address, [], 10_000)));
      for (const outcome of beyond) assertEquals(outcome, { closedByPeer: true, received: 0 }, "closed before any challenge");
      const stats = (node.transport as unknown as { stats: { turnedAway: number } }).stats;
      assertEquals(stats.turnedAway, 6);
      const reports = node.logger.warnings.filter((w) => w.message.includes("turned away"));
      assertEquals(reports.length, 1, "one log line, however many are turned away");

      // Meanwhile the authenticated peer is served, both ways.
      assertEquals((await peer.transport.request("n1", { type: "during" }, { timeoutMs: 2000 })).type, "echo");
      assertEquals((await node.transport.request("n2", { type: "during" }, { timeoutMs: 2000 })).type, "echo");

      // The handshake timeout closes the silent ones, freeing their slots for a new peer.
      for (const h of held) assert((await h.outcome).closedByPeer, "closed by the handshake timeout");
      assert(node.logger.warnings.some((w) => w.message === "peer connection closed: no handshake"));
      const late = await startNode("n3", { secret, seeds: [node.address] });
      assertEquals((await late.transport.request("n1", { type: "after" }, { timeoutMs: 2000 })).type, "echo");
    });

    it("refuses requests beyond maxPendingRequests per connection with OverloadedError", async () => {
      const n1 = tcpTransport("n1", { listen: "127.0.0.1:0" });
      await n1.start(() => new Promise<never>(() => {}));
      started.push(n1);
      const n2 = await startNode("n2", { seeds: [n1.address!], maxPendingRequests: 4 });
      await until(() => n2.transport.connectedPeers().includes("n1"), "a connection");
      const requests = Array.from({ length: 6 }, () => n2.transport.request("n1", { type: "hang" }, { timeoutMs: 300 }));
      const outcomes = await Promise.allSettled(requests);
      const overloaded = outcomes.filter((o) => o.status === "rejected" && o.reason instanceof OverloadedError);
      assertEquals(overloaded.length, 2);
    });
  });

  it("works over TLS with a cluster CA (and the secret)", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "ringforge-tls-"));
    try {
      const file = (name: string) => path.join(dir, name);
      const ssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "ignore" });
      ssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=ringforge-test-ca",
        "-keyout",
        file("ca.key"),
        "-out",
        file("ca.pem"),
      );
      ssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=node", "-keyout", file("node.key"), "-out", file("node.csr"));
      ssl(
        "x509",
        "-req",
        "-in",
        file("node.csr"),
        "-CA",
        file("ca.pem"),
        "-CAkey",
        file("ca.key"),
        "-CAcreateserial",
        "-days",
        "2",
        "-out",
        file("node.pem"),
      );
      const tls = { cert: file("node.pem"), key: file("node.key"), ca: file("ca.pem") };
      const secret = "0123456789abcdef";
      const n1 = await startNode("n1", { tls, secret });
      const n2 = await startNode("n2", { tls, secret, seeds: [n1.address] });
      assertEquals(await n2.transport.request("n1", { type: "over-tls", b: Uint8Array.of(1, 2) }, { timeoutMs: 3000 }), {
        type: "echo",
        body: { type: "over-tls", b: Uint8Array.of(1, 2) },
      });
      // A node trusting another CA refuses n1's certificate.
      ssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=other-ca",
        "-keyout",
        file("other.key"),
        "-out",
        file("other.pem"),
      );
      const distrustful = await startNode("n4", { tls: { ...tls, ca: file("other.pem") }, secret, peers: { n1: n1.address } });
      const refused = await assertRejects(
        () => distrustful.transport.request("n1", { type: "x" }, { timeoutMs: 2000 }),
        UnreachableNodeError,
      );
      assertStringIncludes(refused.message, "certificate");
      // Plain TCP against the TLS port is refused at the TLS layer.
      const plain = await startNode("n3", { secret, peers: { n1: n1.address } });
      await assertRejects(() => plain.transport.request("n1", { type: "x" }, { timeoutMs: 1000 }));
      // A connection that never starts TLS is closed by the handshake timeout.
      const strict = await startNode("n5", { tls, secret, handshakeTimeoutMs: 300 });
      assert((await rawConnection(strict.address, [], 10_000)).closedByPeer, "closed by the node");
      assert(strict.logger.warnings.some((w) => w.message === "peer connection refused: TLS handshake failed"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("peer link writes", () => {
  /** A link over a stream that records how many frames each write to the "socket" carried. */
  function countingLink(): { link: PeerLink; writes: number[] } {
    const writes: number[] = [];
    const stream = new Duplex({
      read() {},
      write(_chunk, _encoding, done) {
        writes.push(1);
        done();
      },
      writev(chunks, done) {
        writes.push(chunks.length);
        done();
      },
    });
    Object.assign(stream, { setNoDelay: () => stream });
    const link = new PeerLink(stream as unknown as Socket, "test", 1 << 20, 16, { frame() {}, violation() {}, closed() {} });
    return { link, writes };
  }

  it("frames written by separate events of one event-loop turn leave in one socket write (Node; per microtask run on Deno)", async () => {
    const { link, writes } = countingLink();
    const frame = (i: number) => encodeFrame({ k: "one", b: { type: "t", i } });
    // Three I/O-like events of one turn (immediates queued together run in one check phase),
    // each writing frames, the way replies leave as a group commit's writes complete.
    await new Promise<void>((resolve) => {
      setImmediate(() => void link.writeEncoded(frame(1)));
      setImmediate(() => {
        link.writeEncoded(frame(2));
        link.writeEncoded(frame(3));
      });
      setImmediate(() => void link.writeEncoded(frame(4)));
      setTimeout(resolve, 20);
    });
    assertEquals(writes, cheapTurns ? [4] : [1, 2, 1]);
    // The next turn's frames go in a write of their own: nothing waits for more.
    await new Promise<void>((resolve) => {
      setImmediate(() => void link.writeEncoded(frame(5)));
      setTimeout(resolve, 20);
    });
    assertEquals(writes.at(-1), 1);
    link.socket.destroy();
  });

  it("a turn's frames leave before what waits for the turn's end (the commit log's write, which may block) starts", async () => {
    const { link, writes } = countingLink();
    let sentWhenTheLogWrites: number[] | undefined;
    await new Promise<void>((resolve) => {
      setImmediate(() => {
        // The log starts waiting for the turn's end before the frame is written in the same turn.
        void afterThisTurnsFlushes().then(() => {
          sentWhenTheLogWrites = [...writes];
          resolve();
        });
        link.writeEncoded(encodeFrame({ k: "one", b: { type: "t" } }));
      });
    });
    assertEquals(sentWhenTheLogWrites, [1]);
    link.socket.destroy();
  });
});
