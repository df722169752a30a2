/**
 * Sessions across node processes: three `ringforge start` processes (N = 3, R = W = 1), one
 * client writing through one node and reading through the other two, over HTTP.
 *
 * Over loopback, replication to the other replicas outruns a client's next request, so plain
 * R = 1 reads of a healthy cluster hardly ever miss a write. A replica that was down when the
 * write happened does: n2 is stopped while every key is overwritten through n1 (W = 1: n1 and
 * n3 take it), then started again, behind. Nothing repairs it during the test (no read repair,
 * no anti-entropy; the quorum replicator keeps no hints), which holds open the window a real
 * cluster has between a restart and the next repair. Each key is then read through n3 and
 * then n2, by a client without a session and by one with a `Session`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, it } from "@std/testing/bdd";
import { assert, assertEquals } from "@std/assert";
import { decodeText, encodeText } from "../core/codec/bytes.ts";
import { Session } from "../core/client/session.ts";
import type { RingforgeClient } from "../client/ringforge-client.ts";
import type { CausalContext } from "../core/model/causal-context.ts";
import { type NodeProcessHandle, startProcess, stopProcess, until, waitReady } from "./support/node-processes.ts";
import { freePort } from "./support/tcp-pair.ts";

const SECRET = "test-cluster-secret-0123456789";
const KEYS = 100;
const running: NodeProcessHandle[] = [];
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => stopProcess(p, "SIGKILL")));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Runs `task` on 0..count-1, `concurrency` at a time. */
async function each(count: number, task: (i: number) => Promise<unknown>, concurrency = 10): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    for (let i = next++; i < count; i = next++) await task(i);
  }));
}

/** What one client's reads broke: its own writes missed, and reads older than its last read. */
interface Violations {
  readYourWrites: number;
  monotonicReads: number;
  reads: number;
}

describe("sessions across node processes", () => {
  it("R = W = 1, writes through n1, reads through n3 then n2: plain reads go back in time, session reads never do", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "ringforge-sessions-"));
    dirs.push(dir);
    const ids = ["n1", "n2", "n3"];
    const peers: string[] = [];
    const listen: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      peers.push(`127.0.0.1:${await freePort()}`);
      listen.push(`127.0.0.1:${await freePort()}`);
    }
    const store = {
      nodes: ids,
      replication: { n: 3, r: 1, w: 1 },
      resolver: "vector-clock",
      replicator: { name: "quorum", options: { readRepair: false } },
      antiEntropy: "none",
      detector: { name: "swim", options: { periodMs: 200, pingTimeoutMs: 80 } },
      engine: "lsm",
      requestTimeoutMs: 2000,
    };
    const start = (i: number) => {
      const handle = startProcess(path.join(dir, "configs"), {
        id: ids[i]!,
        peer: { listen: peers[i]! },
        client: { listen: listen[i]! },
        seeds: peers.filter((_, j) => j !== i),
        dataDir: path.join(dir, "data"),
        logLevel: "warn",
        store,
      }, { RINGFORGE_SECRET: SECRET });
      running.push(handle);
      return handle;
    };
    const nodes = [0, 1, 2].map(start);
    await Promise.all(nodes.map((n) => waitReady(n)));
    const [n1, , n3] = nodes.map((n) => n.client) as [RingforgeClient, RingforgeClient, RingforgeClient];

    // Two clients, each with its own keys: one without a session, one with.
    const session = new Session();
    const clients = [
      { name: "plain", prefix: "plain", session: undefined },
      { name: "session", prefix: "session", session },
    ];
    const key = (prefix: string, i: number) => `${prefix}-${String(i).padStart(3, "0")}`;

    // v1 everywhere (W = 3), then n2 stops and every key is overwritten with v2 (W = 1), with
    // v1's context: v2 supersedes it, no siblings.
    const v1 = new Map<string, CausalContext>();
    for (const c of clients) {
      await each(KEYS, async (i) => {
        const { context } = await n1.put(key(c.prefix, i), encodeText("v1"), { w: 3, session: c.session });
        v1.set(key(c.prefix, i), context);
      });
    }
    const exit = await stopProcess(nodes[1]!);
    // Deno's node:child_process reports the signal it sent even when the child exited 0 on it.
    assert(exit === 0 || ("Deno" in globalThis && exit === "SIGTERM"), `n2 stops cleanly, its v1 records on disk; got ${exit}`);
    for (const c of clients) {
      await each(KEYS, (i) => n1.put(key(c.prefix, i), encodeText("v2"), { context: v1.get(key(c.prefix, i))!, session: c.session }));
    }
    const restarted = start(1);
    await waitReady(restarted);
    // n2 can reach the others (a session read may need them) once it sees them up.
    await until("n2 to see n1 and n3 up", 20_000, async () => {
      const status = await restarted.client.status();
      return status.members.every((m) => m.status === "up") ? true : undefined;
    });
    const readers = [n3, restarted.client];

    const results = new Map<string, Violations>();
    for (const c of clients) {
      const v: Violations = { readYourWrites: 0, monotonicReads: 0, reads: 0 };
      await each(KEYS, async (i) => {
        let previous: string[] | undefined;
        for (const reader of readers) {
          const values = (await reader.get(key(c.prefix, i), { session: c.session })).values.map(decodeText);
          v.reads++;
          if (values.length > 1) throw new Error(`siblings where none should be: ${values}`);
          if (!values.includes("v2")) v.readYourWrites++;
          if (previous?.includes("v2") && !values.includes("v2")) v.monotonicReads++;
          previous = values;
        }
      });
      results.set(c.name, v);
    }
    const plain = results.get("plain")!;
    const inSession = results.get("session")!;
    console.log(`sessions across processes, ${KEYS} keys per client, ${plain.reads} reads each:`, { plain, session: inSession });

    assertEquals(inSession, { readYourWrites: 0, monotonicReads: 0, reads: 2 * KEYS }, "a session never reads its own write's past");
    // The control: the same reads without a session do go back in time at the stale replica,
    // so the figures above are the session's doing.
    assert(plain.readYourWrites > 0, `plain reads missed no write: ${JSON.stringify(plain)}`);
    assert(plain.monotonicReads > 0, `plain reads never went back in time: ${JSON.stringify(plain)}`);
    assertEquals(session.size, KEYS);
  }, 60_000);
});
