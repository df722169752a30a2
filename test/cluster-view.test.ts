/**
 * `ringforge status --watch`'s frame: every member as each node sees it and each node's figures,
 * in at most 100 columns however many members and however long their ids.
 */
import { describe, it } from "@std/testing/bdd";
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { formatClusterView, VIEW_COLUMNS } from "../cli/cluster-view.ts";
import type { ClusterStatus, NodeStatus } from "../client/node-status.ts";

function statusOf(id: string, ids: string[], down: string[] = []): NodeStatus {
  return {
    node: id,
    running: true,
    replication: { n: 3, r: 2, w: 2 },
    plugins: { engine: "lsm", detector: "swim" },
    ringEpoch: 4,
    members: ids.map((m) => ({
      id: m,
      status: down.includes(m) ? "down" : "up",
      inRing: true,
      ownership: 1 / ids.length,
      incarnation: 1_796_591_908_428,
      ...(m === id ? {} : { lastContactMs: 250 }),
    })),
    records: { keys: 123_456, bytes: 98_765_432, treeHash: 1 },
    hints: { pending: 12, stored: 40, delivered: 28, dropped: 0 },
    antiEntropy: { exchanges: 9, repaired: 3 },
    handoff: {},
    tombstones: {},
    engine: {
      memtableBytes: 3_000_000,
      level0Tables: 3,
      level1Tables: 12,
      level2Tables: 40,
      compactionBacklogBytes: 5_000_000,
      lostLogBytes: 0,
    },
    transport: {},
    traffic: {
      windowSeconds: 5,
      requestsPerSecond: 1234.5,
      errorsPerSecond: 0.2,
      p50Ms: 1.95,
      p99Ms: 23.58,
      operations: {
        get: { requestsPerSecond: 600, errorsPerSecond: 0, p50Ms: 1, p99Ms: 2 },
        put: { requestsPerSecond: 634.5, errorsPerSecond: 0.2, p50Ms: 2, p99Ms: 24 },
        delete: { requestsPerSecond: 0, errorsPerSecond: 0, p50Ms: 0, p99Ms: 0 },
      },
    },
  };
}

describe("status --watch frame", () => {
  it("shows each member as each node sees it, and a node that does not answer", () => {
    const ids = ["n1", "n2", "n3"];
    const cluster: ClusterStatus = {
      node: "n1",
      at: 0,
      members: [
        { id: "n1", status: statusOf("n1", ids, ["n3"]) },
        { id: "n2", status: statusOf("n2", ids, ["n3"]) },
        { id: "n3", error: "node n3 is unreachable" },
      ],
    };
    const frame = formatClusterView(cluster, "http://127.0.0.1:8001", new Date(2026, 11, 6, 21, 0, 0));
    const lines = frame.split("\n");
    assertStringIncludes(lines[0]!, "ring epoch 4");
    assertStringIncludes(lines[0]!, "21:00:00");
    const n3 = lines.find((l) => l.startsWith("n3 "))!;
    assertEquals(n3.split(/\s+/).slice(0, 6), ["n3", "33.3%", "down", "down", "no", "answer"]);
    assertStringIncludes(frame, "n3    no answer: node n3 is unreachable");
    assertStringIncludes(frame, "1234.5");
    assertStringIncludes(frame, "mem 2.9M L 3/12/40 due 4.8M");
  });

  it(`fits ${VIEW_COLUMNS} columns with 12 members of long ids`, () => {
    const ids = Array.from({ length: 12 }, (_, i) => `storage-node-${i + 1}.eu-west`);
    const cluster: ClusterStatus = { node: ids[0]!, at: 0, members: ids.map((id) => ({ id, status: statusOf(id, ids) })) };
    const frame = formatClusterView(cluster, "https://storage-node-1.eu-west.example.com:8443");
    for (const line of frame.split("\n")) assert([...line].length <= VIEW_COLUMNS, `${[...line].length} columns: ${line}`);
    assertStringIncludes(frame, "more observers with --json", "the observers that do not fit are counted");
    assertEquals(frame.split("\n").filter((l) => l.startsWith("storage-node-")).length, 24, "every member in both tables");
  });
});
