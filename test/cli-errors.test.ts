/**
 * What a person meets at the command line when something is wrong: one line that says what to
 * do and a non-zero exit code, never a stack trace unless asked for (`--verbose`); flags that
 * name themselves in their errors; commands that check everything before they write or start
 * anything. Runs under both runtimes, whose `fetch` fails differently (Node reports system
 * codes, Deno only messages) and must read the same to a person.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, it } from "@std/testing/bdd";
import { assert, assertEquals, assertMatch, assertNotEquals, assertRejects } from "@std/assert";
import { runCli } from "../cli/program.ts";
import { waitReady } from "../cli/local-cluster.ts";
import type { PluginRegistry } from "../core/build/registry.ts";
import { RingforgeError } from "../core/errors.ts";
import { freePort } from "./support/tcp-pair.ts";

/** Runs the CLI; resolves to its exit code and what it wrote to each stream. */
async function cli(args: string[], registry?: PluginRegistry): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const io = { out: (t: string) => void (out += t), err: (t: string) => void (err += t) };
  const code = registry ? await runCli(args, io, registry) : await runCli(args, io);
  return { code, out, err };
}

const servers: (Server | HttpServer)[] = [];
const sockets: Socket[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const server of servers) if ("closeAllConnections" in server) server.closeAllConnections();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A TCP server on loopback that does `onConnection` with each socket; resolves to its port. */
async function tcpServer(onConnection: (socket: Socket) => void): Promise<number> {
  const server = createServer((socket) => {
    sockets.push(socket);
    onConnection(socket);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as { port: number }).port;
}

/** An HTTP server on loopback answering every request with `handler`; resolves to its URL. */
async function httpServer(handler: (method: string, url: string) => { status: number; body: unknown }): Promise<string> {
  const server = createHttpServer((request, response) => {
    const { status, body } = handler(request.method ?? "GET", request.url ?? "/");
    response.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(body));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "ringforge-cli-"));
  dirs.push(dir);
  return dir;
}

/** Asserts the CLI failed with exactly one line on standard error, and returns it. */
function oneLine(result: { code: number; err: string }): string {
  assertNotEquals(result.code, 0, result.err);
  assertEquals(result.err.split("\n").length, 2, `expected one line, got:\n${result.err}`);
  assert(!/\n\s+at /.test(result.err), `a stack trace:\n${result.err}`);
  return result.err.trimEnd();
}

describe("client commands: an unreachable or wrong URL", () => {
  it("a closed port: cannot reach, connection refused, is the cluster running?", async () => {
    const port = await freePort();
    const line = oneLine(await cli(["get", "greeting", "--url", `http://127.0.0.1:${port}`]));
    assertEquals(line, `ringforge: cannot reach http://127.0.0.1:${port} (connection refused): is the cluster running?`);
  });

  it("a URL without http://: names --url and what it got", async () => {
    const line = oneLine(await cli(["status", "--url", "127.0.0.1:8001"]));
    assertEquals(line, 'ringforge: --url must start with http:// or https:// (got "127.0.0.1:8001")');
  });

  it("a peer port (binary frames, not HTTP): not a ringforge client port, is it a peer port?", async () => {
    // A node's peer port greets each connection with a length-prefixed binary frame.
    const port = await tcpServer((socket) => socket.write(new Uint8Array([0, 0, 0, 6, 0x82, 0xa1, 0x74, 0xa1, 0x68, 0x69])));
    const line = oneLine(await cli(["put", "k", "v", "--url", `http://127.0.0.1:${port}`]));
    assertEquals(
      line,
      `ringforge: http://127.0.0.1:${port} is not a ringforge client port: the reply is not HTTP ` +
        "(is it a peer port? client ports are 8001.. with npm start)",
    );
  });

  it("a port that hangs up without an HTTP reply gets the same hint", async () => {
    const port = await tcpServer((socket) => socket.once("data", () => socket.destroy()));
    const line = oneLine(await cli(["status", "--url", `http://127.0.0.1:${port}`]));
    assertMatch(line, new RegExp(`^ringforge: http://127\\.0\\.0\\.1:${port} is not a ringforge client port: .*is it a peer port\\?`));
  });

  it("--verbose, anywhere on the line, adds the stack trace and the cause", async () => {
    const port = await freePort();
    const { code, err } = await cli(["get", "greeting", "--url", `http://127.0.0.1:${port}`, "--verbose"]);
    assertNotEquals(code, 0);
    assert(err.startsWith(`ringforge: cannot reach http://127.0.0.1:${port} (connection refused)`), err);
    assertMatch(err, /UnreachableUrlError/);
    assertMatch(err, /\n\s+at /);
  });

  it("an error the CLI did not expect: its message on one line, and where the stack trace is", async () => {
    const broken = {
      names: () => {
        throw new Error("registry exploded");
      },
    } as unknown as PluginRegistry;
    const { code, err } = await cli(["plugins"], broken);
    assertNotEquals(code, 0);
    assertEquals(err, "ringforge: registry exploded\n(run with --verbose for the stack trace)\n");
  });

  it("commander's usage errors read the same way", async () => {
    const { code, err } = await cli(["get", "greeting", "--no-such-flag"]);
    assertNotEquals(code, 0);
    assert(err.startsWith("ringforge: unknown option '--no-such-flag'"), err);
  });
});

describe("leave names its target", () => {
  it("a bare leave is a usage error: it does not decommission the node at the default URL", async () => {
    const { code, err } = await cli(["leave"]);
    assertNotEquals(code, 0);
    assertMatch(err, /missing required argument 'node-id'/);
  });

  it("refuses when the node at --url is another node, and sends it nothing", async () => {
    const requests: string[] = [];
    const url = await httpServer((method, path) => {
      requests.push(`${method} ${path}`);
      return path === "/status" ? { status: 200, body: { node: "n1" } } : { status: 202, body: {} };
    });
    const line = oneLine(await cli(["leave", "n2", "--url", url]));
    assertEquals(line, `ringforge: the node at ${url} is n1, not n2: pass --url with n2's client URL`);
    assertEquals(requests, ["GET /status"]);
  });

  it("leaves when the node at --url is the one named", async () => {
    const requests: string[] = [];
    const url = await httpServer((method, path) => {
      requests.push(`${method} ${path}`);
      return path === "/status" ? { status: 200, body: { node: "n2" } } : { status: 202, body: {} };
    });
    const { code, out } = await cli(["leave", "n2", "--url", url]);
    assertEquals(code, 0);
    assertMatch(out, /node n2 is leaving/);
    assertEquals(requests, ["GET /status", "POST /admin/leave"]);
  });
});

describe("flags", () => {
  it("every numeric flag names itself when its value is wrong", async () => {
    const cases: [string[], string][] = [
      [["compare", "s.json", "--config", "c.json", "--seed-count", "0"], '--seed-count must be a positive integer, got "0"'],
      [["compare", "s.json", "--config", "c.json", "--first-seed", "x"], '--first-seed must be a positive integer, got "x"'],
      [["cluster", "--nodes", "0"], '--nodes must be an integer from 1 to 64, got "0"'],
      [["cluster", "--peer-base", "70000"], '--peer-base must be a port number (1-65535), got "70000"'],
      [["cluster", "--client-base", "-1"], '--client-base must be a port number (1-65535), got "-1"'],
      [["get", "k", "--r", "0"], '--r must be a positive integer, got "0"'],
      [["put", "k", "v", "--w", "1.5"], '--w must be a positive integer, got "1.5"'],
      [["delete", "k", "--w", ""], '--w must be a positive integer, got ""'],
    ];
    for (const [args, message] of cases) assertEquals(oneLine(await cli(args)), `ringforge: ${message}`, args.join(" "));
  });

  it("compare without --config says to pass one", async () => {
    const line = oneLine(await cli(["compare", "examples/scenarios/join.json"]));
    assertMatch(line, /pass --config FILE/);
  });

  it("compare with an unknown --format or a report that is not .html says what it takes, before any run", async () => {
    const base = ["compare", "examples/scenarios/partition-set.json", "--config", "examples/configs/lww.json"];
    assertMatch(oneLine(await cli([...base, "--format", "xml"])), /--format.*one of table, wide, md, csv, json/);
    assertMatch(oneLine(await cli([...base, "--report", "out.txt"])), /--report.*ending in \.html/);
  });

  it("the old names still work, with one line saying the new name", async () => {
    const dir = tempDir();
    writeFileSync(
      path.join(dir, "s.json"),
      JSON.stringify({
        name: "tiny",
        workload: { type: "set", clients: 2, adds: 4, key: "s", thinkMs: { min: 1, max: 5 } },
        quiesceMs: 100,
      }),
    );
    writeFileSync(path.join(dir, "c.json"), JSON.stringify({ nodes: 3, engine: "memory" }));
    const { code, out, err } = await cli([
      "compare",
      path.join(dir, "s.json"),
      "--config",
      path.join(dir, "c.json"),
      "--seeds",
      "2",
      "--json",
    ]);
    assertEquals(code, 0, err);
    assertEquals(err, "ringforge: --seeds is now --seed-count (the old name will go)\n");
    assertEquals(JSON.parse(out).seeds, [1, 2]);

    // start --nodes: the line comes first, then the config is checked (a bad id here).
    const start = await cli(["start", "--nodes", "n1,n2", "--id", "not valid!", "--peer", "127.0.0.1:1", "--client", "127.0.0.1:2"]);
    assertNotEquals(start.code, 0);
    assert(start.err.startsWith("ringforge: --nodes is now --members (the old name will go)\n"), start.err);

    const both = oneLine(await cli(["start", "--nodes", "n1", "--members", "n1"]));
    assertEquals(both, "ringforge: --nodes is the old name of --members: give --members only");
  });
});

describe("ringforge cluster checks before it writes or starts anything", () => {
  it("a bad store config: the problem, a non-zero exit, and no file written", async () => {
    const dir = tempDir();
    const store = path.join(dir, "bad.json");
    writeFileSync(store, JSON.stringify({ resolver: "no-such-resolver" }));
    const data = path.join(dir, "data");
    const line = oneLine(await cli(["cluster", "--store", store, "--dir", data, "--peer-base", "27300", "--client-base", "27400"]));
    assertMatch(line, /no-such-resolver/);
    assertEquals(readdirSync(dir), ["bad.json"]);
  });

  it("a port in use: names it and the flag that moves it, and writes nothing", async () => {
    const dir = tempDir();
    const held = await tcpServer(() => {});
    // One node: its ports are base+1, so base = a free port - 1 puts one on a free port.
    const peer = oneLine(
      await cli([
        "cluster",
        "--nodes",
        "1",
        "--dir",
        dir,
        "--peer-base",
        String(held - 1),
        "--client-base",
        String((await freePort()) - 1),
      ]),
    );
    assertMatch(peer, new RegExp(`port 127\\.0\\.0\\.1:${held} is already in use .*--peer-base$`));
    const client = oneLine(
      await cli([
        "cluster",
        "--nodes",
        "1",
        "--dir",
        dir,
        "--peer-base",
        String((await freePort()) - 1),
        "--client-base",
        String(held - 1),
      ]),
    );
    assertMatch(client, new RegExp(`port 127\\.0\\.0\\.1:${held} is already in use .*--client-base$`));
    assertEquals(readdirSync(dir), []);
  });

  it("overlapping peer and client ports are refused", async () => {
    const line = oneLine(await cli(["cluster", "--nodes", "3", "--dir", tempDir(), "--peer-base", "27000", "--client-base", "27001"]));
    assertMatch(line, /--peer-base 27000 and --client-base 27001 give overlapping ports/);
  });

  it("readiness counts only a node that reports this run's id", async () => {
    const url = await httpServer(() => ({ status: 200, body: { node: "n1", runId: "another-run" } }));
    await assertRejects(() => waitReady([url], "this-run", 300, () => false), RingforgeError, "not ready");
    assertEquals(await waitReady([url], "another-run", 5_000, () => false), true);
  });
});
