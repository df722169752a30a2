/**
 * The TCP transport: the Transport conformance suite over real loopback sockets, then what
 * only a network transport has — seeds and address discovery, reconnecting after a peer
 * restarts, the cluster secret, TLS, limits, and garbage on the peer port.
 */
import { connect } from "node:net";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, it } from "@std/testing/bdd";
import { assert, assertEquals, assertGreater, assertInstanceOf, assertRejects, assertStringIncludes } from "@std/assert";
import fc from "fast-check";
import { ConnectionLostError, InvalidConfigError, InvalidMessageError, OverloadedError, UnreachableNodeError } from "../core/errors.ts";
import type { Message } from "../core/interfaces/transport.ts";
import { parseAddress, tcpPlugin, type TcpTransport } from "../plugins/transports/tcp/index.ts";
import { FrameDecoder, FrameTooLargeError, encodeFrame } from "../plugins/transports/tcp/frames.ts";
import { transportSuite } from "./conformance/transport.ts";
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

describe("tcp transport", () => {
  afterEach(async () => {
    for (const t of started.splice(0)) await t.stop();
  });

  it("rejects bad options with RINGFORGE_INVALID_CONFIG", () => {
    for (const bad of [{ listen: "nohost" }, { seeds: ["1.2.3.4"] }, { secret: "short" }, { backoff: { minMs: 10, maxMs: 1 } }, { port: 1 }]) {
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
        const error = await assertRejects(() => intruder.transport.request("n3", { type: "kv.write" }, { timeoutMs: 2000 }), UnreachableNodeError);
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
      const lost = await assertRejects(() => loud.transport.request("n1", { type: "big", payload: new Uint8Array(4096) }, { timeoutMs: 2000 }));
      assert(lost instanceof ConnectionLostError || lost instanceof UnreachableNodeError, String(lost));
      assert(n1.logger.warnings.some((w) => String(w.fields?.reason).includes("exceeds the limit")), JSON.stringify(n1.logger.warnings));
      assertEquals((await n2.transport.request("n1", { type: "small" }, { timeoutMs: 2000 })).type, "echo", "n1 still serves others");
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
      ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=ringforge-test-ca", "-keyout", file("ca.key"), "-out", file("ca.pem"));
      ssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=node", "-keyout", file("node.key"), "-out", file("node.csr"));
      ssl("x509", "-req", "-in", file("node.csr"), "-CA", file("ca.pem"), "-CAkey", file("ca.key"), "-CAcreateserial", "-days", "2", "-out", file("node.pem"));
      const tls = { cert: file("node.pem"), key: file("node.key"), ca: file("ca.pem") };
      const secret = "0123456789abcdef";
      const n1 = await startNode("n1", { tls, secret });
      const n2 = await startNode("n2", { tls, secret, seeds: [n1.address] });
      assertEquals(await n2.transport.request("n1", { type: "over-tls", b: Uint8Array.of(1, 2) }, { timeoutMs: 3000 }), {
        type: "echo",
        body: { type: "over-tls", b: Uint8Array.of(1, 2) },
      });
      // A node trusting another CA refuses n1's certificate.
      ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=other-ca", "-keyout", file("other.key"), "-out", file("other.pem"));
      const distrustful = await startNode("n4", { tls: { ...tls, ca: file("other.pem") }, secret, peers: { n1: n1.address } });
      const refused = await assertRejects(() => distrustful.transport.request("n1", { type: "x" }, { timeoutMs: 2000 }), UnreachableNodeError);
      assertStringIncludes(refused.message, "certificate");
      // Plain TCP against the TLS port is refused at the TLS layer.
      const plain = await startNode("n3", { secret, peers: { n1: n1.address } });
      await assertRejects(() => plain.transport.request("n1", { type: "x" }, { timeoutMs: 1000 }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
