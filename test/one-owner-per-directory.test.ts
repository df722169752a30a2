/**
 * Two clusters on one data directory used to lose acknowledged writes: the second `npm start`
 * took the first cluster's nodes for its own, opened their LSM directories and rotated their
 * commit logs under them. Now the second exits at once with one line naming what is in use
 * (the ports, the launcher's directory, or a node's engine directory), and every write the
 * first cluster acknowledged, before and after, is there once it restarts.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, it } from "@std/testing/bdd";
import { assert, assertEquals, assertMatch } from "@std/assert";
import { RingforgeClient } from "../client/ringforge-client.ts";
import { decodeText, encodeText } from "../core/codec/bytes.ts";
import { startProcess, stopProcess } from "./support/node-processes.ts";
import { freePort, freePortRange } from "./support/tcp-pair.ts";
import { cluster, type Launcher, removeAfter, stopLaunchers } from "./support/cluster-launcher.ts";

afterEach(stopLaunchers);

async function ready(l: Launcher): Promise<void> {
  const deadline = Date.now() + 90_000;
  let code: number | string | undefined;
  void l.exited.then((c) => (code = c));
  while (!l.output().includes("Ctrl-C stops every node")) {
    if (code !== undefined) throw new Error(`the cluster exited (${code}) before it was ready:\n${l.output()}`);
    if (Date.now() > deadline) throw new Error(`the cluster was not ready:\n${l.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Writes `keys` through the cluster's nodes in turn (each write acknowledged, W=2). */
async function write(clients: RingforgeClient[], keys: string[]): Promise<void> {
  for (const [i, key] of keys.entries()) await clients[i % clients.length]!.put(key, encodeText(`v-${key}`));
}

describe("one owner per data directory", () => {
  it("a second cluster on the same directory exits at once, and the first loses nothing", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "ringforge-owner-"));
    removeAfter(dir);
    const [peerBase, clientBase] = [await freePortRange(3), await freePortRange(3)];
    const flags = ["--nodes", "3", "--dir", dir, "--peer-base", String(peerBase), "--client-base", String(clientBase)];
    const first = cluster(flags);
    await ready(first);
    const clients = [1, 2, 3].map((i) => new RingforgeClient(`http://127.0.0.1:${clientBase + i}`));
    const before = Array.from({ length: 30 }, (_, i) => `before-${i}`);
    await write(clients, before);
    const configBefore = readFileSync(path.join(dir, "cluster", "n1.json"), "utf8");

    // `npm start` twice: the same ports and the same directory.
    const same = cluster(flags);
    assert((await same.exited) !== 0, "the second cluster exits non-zero");
    assertMatch(same.output(), /^ringforge: the peer port 127\.0\.0\.1:\d+ is already in use .*--peer-base\n$/);

    // Other ports, the same directory: the launcher's directory is held.
    const [otherPeers, otherClients] = [await freePortRange(3), await freePortRange(3)];
    const moved = cluster(["--nodes", "3", "--dir", dir, "--peer-base", String(otherPeers), "--client-base", String(otherClients)]);
    assert((await moved.exited) !== 0);
    assertMatch(
      moved.output(),
      new RegExp(`^ringforge: data directory \\S*cluster is in use by process ${first.child.pid} on host .*\\n$`),
    );
    assertEquals(
      readFileSync(path.join(dir, "cluster", "n1.json"), "utf8"),
      configBefore,
      "the first cluster's node configs are untouched",
    );

    // One node started by hand on n1's data: its engine directory is held by the live n1.
    const node = startProcess(path.join(dir, "by-hand"), {
      ...JSON.parse(configBefore),
      peer: { listen: `127.0.0.1:${await freePort()}` },
      client: { listen: `127.0.0.1:${await freePort()}` },
      runId: "by-hand",
    }, { RINGFORGE_SECRET: "one-owner-test-secret-0123456789" });
    const code = await node.exited;
    assert(code !== 0, "the node started on a held directory exits non-zero");
    assertMatch(node.output(), new RegExp(`ringforge: data directory \\S*n1 is in use by process \\d+ on host `));
    await stopProcess(node);

    const after = Array.from({ length: 30 }, (_, i) => `after-${i}`);
    await write(clients, after);

    first.child.kill("SIGINT");
    // Node exits 0 after its Ctrl-C handler; Deno reports the signal it handled.
    assert([0, "SIGINT"].includes(await first.exited), `the first cluster stops:\n${first.output()}`);
    assertMatch(first.output(), /stopping the cluster/);
    const again = cluster(flags);
    await ready(again);
    for (const key of [...before, ...after]) {
      // R=2 of N=3 on a fresh start: every key must be there on a quorum.
      const { values } = await clients[key.length % 3]!.get(key);
      assertEquals(values.map(decodeText), [`v-${key}`], `key ${key} after the restart`);
    }
    // Four clusters and a node started as processes: on a busy 2-core machine that takes
    // well over vitest's default 30 s.
  }, 180_000);
});
