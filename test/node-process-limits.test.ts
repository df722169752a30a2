/**
 * The client port of a real node process on a bad day: URLs that do not name one key, a time
 * limit past what a timer can hold, clients that send their headers slowly or open too many
 * connections, and a second process started on ports already taken. Each gets a clear answer
 * and leaves the node serving.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, it } from "@std/testing/bdd";
import { assert, assertEquals, assertMatch } from "@std/assert";
import { encodeText } from "../core/codec/bytes.ts";
import { type NodeProcessHandle, startProcess, stopProcess, waitReady } from "./support/node-processes.ts";
import { freePort } from "./support/tcp-pair.ts";

const running: NodeProcessHandle[] = [];
const dirs: string[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(running.splice(0).map((p) => stopProcess(p, "SIGKILL")));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function oneNode(client: Record<string, unknown> = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), "ringforge-limits-"));
  dirs.push(dir);
  const peer = `127.0.0.1:${await freePort()}`;
  const listen = `127.0.0.1:${await freePort()}`;
  const config = {
    id: "n1",
    peer: { listen: peer },
    client: { listen, ...client },
    dataDir: path.join(dir, "data"),
    logLevel: "warn",
    store: { nodes: ["n1"], replication: { n: 1, r: 1, w: 1 }, detector: "static", antiEntropy: "none" },
  };
  const handle = startProcess(path.join(dir, "configs"), config, { RINGFORGE_SECRET: "limits-test-secret-0123456789" });
  running.push(handle);
  await waitReady(handle);
  const [host, port] = [listen.split(":")[0]!, Number(listen.split(":")[1])];
  return { handle, dir, config, peer, listen, host, port };
}

/** Sends `request` verbatim on a new connection; resolves with everything the server sent back. */
function raw(host: string, port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, host, () => socket.write(request));
    sockets.push(socket);
    let data = "";
    socket.on("data", (d) => (data += d));
    socket.on("end", () => resolve(data));
    socket.on("close", () => resolve(data));
    socket.on("error", reject);
  });
}

/** Resolves true once the server closes `socket`, false if it is still open after `ms`. */
function closedWithin(socket: Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    const done = () => {
      clearTimeout(timer);
      resolve(true);
    };
    socket.once("close", done);
    socket.once("end", done);
    // A paused socket never sees the server's end: read (and drop) what it sends.
    socket.resume();
  });
}

describe("node process: the client port on a bad day", () => {
  it("malformed percent-encodings, an empty key and an unbounded ?timeout= get a typed JSON 400", async () => {
    const { host, port, handle } = await oneNode();
    for (
      const target of [
        "/kv/%FF",
        "/kv/%C0%AF",
        "/kv/%ED%A0%80",
        "/kv/%",
        "/kv/%ZZ",
        "/kv/",
        `/kv/a?timeout=${2 ** 31}`,
        "/kv/a?timeout=99999999999",
      ]
    ) {
      const answer = await raw(host, port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      assertMatch(answer, /^HTTP\/1\.1 400 /, `GET ${target}: ${answer.slice(0, 200)}`);
      assertMatch(answer, /"code":"RINGFORGE_INVALID_(KEY|REQUEST)"/, `GET ${target}`);
    }
    // The node still serves.
    await handle.client.put("a", encodeText("v"));
    assertEquals((await handle.client.get("a")).values.length, 1);
  });

  it("a client that sends its headers too slowly is disconnected; a connection cap turns the rest away", async () => {
    const { host, port, handle } = await oneNode({ headersTimeoutMs: 500, maxConnections: 6 });
    const slow = connect(port, host, () => slow.write("GET /status HTTP/1.1\r\nHost: x\r\n"));
    sockets.push(slow);
    slow.on("error", () => {});
    // Node's default would hold it for 60 s, checked every 30 s.
    assert(await closedWithin(slow, 10_000), "a client that never finishes its headers is disconnected");

    const held: Socket[] = [];
    for (let i = 0; i < 12; i++) {
      const socket = connect(port, host);
      socket.on("error", () => {});
      sockets.push(socket);
      held.push(socket);
    }
    const closed = await Promise.all(held.map((s) => closedWithin(s, 2000)));
    assert(closed.filter(Boolean).length >= 6, `connections past the cap are closed (${closed.filter(Boolean).length} of 12 were)`);
    for (const socket of held) socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 200));
    assertEquals((await handle.client.status()).node, "n1", "the node serves once they are gone");
  });

  it("a second process on taken ports exits at once with one line naming the port and how to choose another", async () => {
    const first = await oneNode();
    const dir = mkdtempSync(path.join(tmpdir(), "ringforge-limits-"));
    dirs.push(dir);
    const cases = [
      {
        client: first.listen,
        peer: `127.0.0.1:${await freePort()}`,
        line: /the client port 127\.0\.0\.1:\d+ is already in use .*--client/,
      },
      { client: `127.0.0.1:${await freePort()}`, peer: first.peer, line: /the peer port 127\.0\.0\.1:\d+ is already in use .*--peer/ },
    ];
    for (const [i, c] of cases.entries()) {
      const second = startProcess(path.join(dir, "configs"), {
        ...first.config,
        client: { listen: c.client },
        peer: { listen: c.peer },
        dataDir: path.join(dir, `data-${i}`),
      }, { RINGFORGE_SECRET: "limits-test-secret-0123456789" });
      running.push(second);
      const code = await second.exited;
      assert(code !== 0, "it exits non-zero");
      const output = second.output();
      assertMatch(output, c.line);
      assertEquals(output.trim().split("\n").length, 1, `one line:\n${output}`);
      assert(!/\n\s+at /.test(output), `no stack trace:\n${output}`);
    }
    assertEquals((await first.handle.client.status()).node, "n1", "the first node is untouched");
  });
});
