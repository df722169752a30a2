/**
 * A flood on a node process's peer port: 200 raw connections that never authenticate, each
 * announcing a 1 MiB frame and sending all of it. Before the handshake a node accepts only a
 * few KiB per frame and a bounded number of such connections, so its memory must not grow (it
 * grew by 118 MiB, for good, when each could make it buffer 1 MiB), and it must go on serving
 * its HTTP API and its peers. Linux only: the node's RSS is read from /proc.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, it } from "@std/testing/bdd";
import { assert, assertEquals } from "@std/assert";
import { decodeText, encodeText } from "../core/codec/bytes.ts";
import { parseAddress } from "../core/model/address.ts";
import { type NodeProcessHandle, startProcess, stopProcess, waitReady } from "./support/node-processes.ts";
import { freePort } from "./support/tcp-pair.ts";

const SECRET = "test-cluster-secret-0123456789";
const MiB = 1024 * 1024;
const running: NodeProcessHandle[] = [];
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => stopProcess(p, "SIGKILL")));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Resident memory of process `pid`, bytes. */
function rss(pid: number): number {
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/**
 * Opens a connection to `address`, writes `bytes` as fast as the socket takes them, and
 * resolves once the connection is gone: true if the node closed it, false if it was still open
 * after `ms`.
 */
function flood(address: string, bytes: Uint8Array, ms: number): Promise<boolean> {
  const { host, port } = parseAddress(address)!;
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      socket.destroy();
    }, ms);
    socket.on("error", () => {});
    // Read (and drop) what the node sends: a socket nobody reads from may never notice that
    // the node reset it once its own writes are done, and would wait for the timeout.
    socket.resume();
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(!timedOut);
    });
    socket.on("connect", () => socket.end(bytes));
  });
}

const linux = existsSync("/proc/self/status");

describe("the peer port of a node process", () => {
  (linux ? it : it.skip)("200 unauthenticated connections sending 1 MiB frames leave its memory alone; it keeps serving", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "ringforge-flood-"));
    dirs.push(dir);
    const ids = ["n1", "n2"];
    const peers = [`127.0.0.1:${await freePort()}`, `127.0.0.1:${await freePort()}`];
    const clients = [`127.0.0.1:${await freePort()}`, `127.0.0.1:${await freePort()}`];
    // n = r = w = 2: every write and read needs both nodes, so an answer proves they talk.
    const store = { nodes: ids, replication: { n: 2, r: 2, w: 2 }, engine: "memory", requestTimeoutMs: 2000 };
    const nodes = ids.map((id, i) =>
      startProcess(
        path.join(dir, "configs"),
        {
          id,
          peer: { listen: peers[i]! },
          client: { listen: clients[i]! },
          seeds: peers.filter((_, j) => j !== i),
          dataDir: path.join(dir, id),
          logLevel: "error",
          store,
        },
        { RINGFORGE_SECRET: SECRET },
      )
    );
    running.push(...nodes);
    await Promise.all(nodes.map((n) => waitReady(n)));
    const [n1, n2] = nodes as [NodeProcessHandle, NodeProcessHandle];
    // Warm up the request paths, so the baseline includes what serving costs anyway.
    for (let i = 0; i < 20; i++) await n1.client.put(`warm-${i}`, encodeText("x"));

    const frame = new Uint8Array(4 + MiB).fill(0x5a);
    new DataView(frame.buffer).setUint32(0, MiB); // a length prefix announcing 1 MiB
    const before = rss(n1.child.pid!);
    const closedByNode = await Promise.all(Array.from({ length: 200 }, () => flood(peers[0]!, frame, 15_000)));
    const after = rss(n1.child.pid!);
    const growth = after - before;

    assertEquals(closedByNode.filter((closed) => !closed).length, 0, "the node closed every connection itself");
    assert(
      growth < 20 * MiB,
      `RSS grew by ${(growth / MiB).toFixed(1)} MiB (${(before / MiB).toFixed(1)} -> ${(after / MiB).toFixed(1)} MiB)`,
    );
    const transport = (await n1.client.status()).transport;
    assert((transport.rejected ?? 0) + (transport.turnedAway ?? 0) >= 200, JSON.stringify(transport));

    // Its HTTP API answers, and it reaches its peer and its peer reaches it.
    await n1.client.put("after-flood", encodeText("from n1"));
    assertEquals((await n2.client.get("after-flood")).values.map(decodeText), ["from n1"]);
    await n2.client.put("after-flood-2", encodeText("from n2"));
    assertEquals((await n1.client.get("after-flood-2")).values.map(decodeText), ["from n2"]);
  }, 120_000);
});
