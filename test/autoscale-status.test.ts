/**
 * What `ringforge cluster --autoscale` reads and shows, without processes: `--autoscale` as a
 * flag, the cluster's load from `GET /status/cluster`, the last decision a node keeps
 * (`POST /admin/scaler`, `GET /status` `scaler`) and the line `ringforge status` and
 * `status --watch` print for it; and the launcher's refusals before it starts anything.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, it } from "@std/testing/bdd";
import { assert, assertEquals, assertMatch, assertThrows } from "@std/assert";
import { createCluster } from "../index.ts";
import { builtinPlugins } from "../plugins/index.ts";
import { silentLogger } from "../core/interfaces/logger.ts";
import { createHttpApi } from "../server/http-api.ts";
import { LastScalerDecision } from "../server/node-status.ts";
import type { ClusterStatus, NodeStatus, ScalerStatus } from "../client/node-status.ts";
import type { DecisionRecord } from "../core/scaling/autoscaler.ts";
import { RingforgeError } from "../core/errors.ts";
import { runCli } from "../cli/program.ts";
import { autoscaleFlag, InvalidFlagError } from "../cli/flag-parsers.ts";
import { clusterLoadOf } from "../cli/autoscale-load.ts";
import { scalerStatusOf } from "../cli/autoscale-controller.ts";
import { scalerLine, scalerLines } from "../cli/autoscale-status-line.ts";
import { formatClusterView, VIEW_COLUMNS } from "../cli/cluster-view.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("--autoscale", () => {
  it("takes the limits and durations with units, with defaults for the rest", () => {
    assertEquals(autoscaleFlag("min=3,max=8"), {
      min: 3,
      max: 8,
      intervalMs: 5000,
      cooldownMs: 30_000,
      retryMs: 10_000,
      timeoutMs: 120_000,
    });
    assertEquals(autoscaleFlag(" min=3, max=5 ,interval=500ms,cooldown=1.5m,retry=2s,timeout=1h"), {
      min: 3,
      max: 5,
      intervalMs: 500,
      cooldownMs: 90_000,
      retryMs: 2000,
      timeoutMs: 3_600_000,
    });
  });

  it("names the key and what it wants in every refusal", () => {
    const cases: [string, RegExp][] = [
      ["max=8", /needs min=<count>/],
      ["min=3", /needs max=<count>/],
      ["min=5,max=3", /max \(3\) must be at least min \(5\)/],
      ["min=0,max=3", /min must be an integer from 1 to 64, got "0"/],
      ["min=3,max=8,interval=2", /interval must be a duration with a unit \(500ms, 2s, 1m\), got "2"/],
      ["min=3,max=8,interval=10ms", /interval must be from 100 ms to 24 h/],
      ["min=3,max=8,speed=2", /has no key "speed": it takes min \(the fewest nodes\), max/],
      ["min=3,min=4,max=8", /gives min twice/],
      ["min=3,max", /"max" has no value/],
    ];
    for (const [value, message] of cases) {
      const error = assertThrows(() => autoscaleFlag(value), InvalidFlagError);
      assertMatch(error.message, message);
      assertMatch(error.message, /^--autoscale /);
      assertEquals(error.flag, "--autoscale");
    }
  });
});

function nodeStatus(id: string, ring: string[], rps: number, bytes: number, extra: Partial<NodeStatus> = {}): NodeStatus {
  return {
    node: id,
    running: true,
    replication: { n: 3, r: 2, w: 2 },
    plugins: {},
    ringEpoch: 1,
    members: [...ring, "gone"].map((m) => ({ id: m, status: "up", inRing: m !== "gone", ownership: 0.25 })),
    records: { keys: 10, bytes, treeHash: 0 },
    hints: { pending: 0, stored: 0, delivered: 0, dropped: 0 },
    antiEntropy: {},
    handoff: {},
    tombstones: {},
    engine: {},
    transport: {},
    traffic: {
      windowSeconds: 5,
      requestsPerSecond: rps,
      errorsPerSecond: 0,
      p50Ms: 1,
      p99Ms: rps / 10,
      operations: {
        get: { requestsPerSecond: 0, errorsPerSecond: 0, p50Ms: 0, p99Ms: 0 },
        put: { requestsPerSecond: 0, errorsPerSecond: 0, p50Ms: 0, p99Ms: 0 },
        delete: { requestsPerSecond: 0, errorsPerSecond: 0, p50Ms: 0, p99Ms: 0 },
      },
    },
    ...extra,
  };
}

describe("the cluster's load from GET /status/cluster", () => {
  it("is each ring member's traffic and bytes; a member out of the ring does not count", () => {
    const ring = ["n1", "n2", "n3"];
    const cluster: ClusterStatus = {
      node: "n1",
      at: 0,
      members: [
        { id: "n1", status: nodeStatus("n1", ring, 300, 1000) },
        { id: "n2", status: nodeStatus("n2", ring, 100, 2000) },
        { id: "n3", status: nodeStatus("n3", ring, 20, 3000) },
        { id: "gone", error: "unreachable" },
      ],
    };
    assertEquals(clusterLoadOf(cluster, 42), {
      at: 42,
      nodes: [
        { id: "n1", requestsPerSecond: 300, p99Ms: 30, bytes: 1000, queueDepth: 0 },
        { id: "n2", requestsPerSecond: 100, p99Ms: 10, bytes: 2000, queueDepth: 0 },
        { id: "n3", requestsPerSecond: 20, p99Ms: 2, bytes: 3000, queueDepth: 0 },
      ],
    });
  });

  it("is refused while a ring member does not answer: no decision on the wrong count", () => {
    const ring = ["n1", "n2", "n3"];
    const cluster: ClusterStatus = {
      node: "n1",
      at: 0,
      members: [{ id: "n1", status: nodeStatus("n1", ring, 300, 1000) }, { id: "n2", status: nodeStatus("n2", ring, 1, 1) }, {
        id: "n3",
        error: "timed out",
      }],
    };
    const error = assertThrows(() => clusterLoadOf(cluster, 0), RingforgeError);
    assertEquals(error.code, "RINGFORGE_UNREACHABLE");
    assertMatch(error.message, /no load from n3 \(timed out\)/);
  });
});

const record = (over: Partial<DecisionRecord> = {}): DecisionRecord => ({
  at: 10_000,
  nodes: 3,
  requestsPerNode: 412,
  decision: {
    action: "add",
    reason: "requestsPerSecond 412 per node against a target of 200: 4 node(s) wanted, 3 running",
  },
  outcome: "applied",
  detail: "n4",
  completedAt: 13_000,
  ...over,
});

describe("the scaler line", () => {
  it("says what was done, why, and when; and the last change when the last decision changed nothing", () => {
    const added = scalerStatusOf([record()], "target-tracking", "processes", { min: 3, max: 8 }, 25_000)!;
    assertEquals(
      scalerLine(added),
      "scaler: added n4 — requestsPerSecond 412 per node against a target of 200: 4 node(s) wanted, 3 running (12 s ago)",
    );
    const quiet = record({
      at: 30_000,
      nodes: 4,
      decision: { action: "none", reason: "requestsPerSecond 190 per node against a target of 200: 4 node(s) wanted, 4 running" },
      outcome: "none",
      detail: undefined,
      completedAt: undefined,
    });
    const later = scalerStatusOf([record(), quiet], "target-tracking", "processes", { min: 3, max: 8 }, 31_000)!;
    assertEquals(
      scalerLine(later),
      "scaler: no change — requestsPerSecond 190 per node against a target of 200: 4 node(s) wanted, 4 running (1 s ago); " +
        "last change: added n4 (18 s ago)",
    );
    const removing = record({ decision: { action: "remove", node: "n2", reason: "r" }, detail: undefined, completedAt: undefined });
    assertEquals(
      scalerLine(scalerStatusOf([removing], "p", "processes", { min: 3, max: 8 }, 10_500)!),
      "scaler: removing n2 — r (started 500 ms ago)",
    );
    const failed = record({ outcome: "failed", detail: "n4 did not join the ring within 120.0 s" });
    assertMatch(
      scalerLine(scalerStatusOf([failed], "p", "processes", { min: 3, max: 8 }, 13_000)!),
      /^scaler: adding a node failed: n4 did not join/,
    );
  });

  it("fits the live view's 100 columns: on two lines when it must, cut only past that", () => {
    const quiet = record({
      decision: { action: "none", reason: "requestsPerSecond 190 per node against a target of 200: 4 node(s) wanted, 4 running" },
      outcome: "none",
      completedAt: undefined,
    });
    const status = scalerStatusOf([record(), quiet], "target-tracking", "processes", { min: 3, max: 8 }, 20_000)!;
    const lines = scalerLines(status, VIEW_COLUMNS);
    assertEquals(lines, [
      "scaler (target-tracking, 3-8 nodes): no change (10 s ago); last change: added n4 (7 s ago)",
      "  requestsPerSecond 190 per node against a target of 200: 4 node(s) wanted, 4 running",
    ]);
    const ring = ["n1", "n2", "n3", "n4"];
    const cluster: ClusterStatus = {
      node: "n1",
      at: 0,
      members: ring.map((id, i) => ({ id, status: nodeStatus(id, ring, 10, 10, i === 2 ? { scaler: status } : {}) })),
    };
    const frame = formatClusterView(cluster, "http://127.0.0.1:8001").split("\n");
    assert(frame.every((line) => line.length <= VIEW_COLUMNS), frame.join("\n"));
    assertEquals(frame.filter((line) => line.startsWith("scaler") || line.startsWith("  requestsPerSecond")), lines);
  });
});

describe("POST /admin/scaler", () => {
  it("keeps the last decision, served in GET /status aged by the time since it came; anything else is a 400", async () => {
    const cluster = await createCluster({ nodes: 3, replication: { n: 3, r: 2, w: 2 } }, { registry: builtinPlugins });
    const app = createHttpApi(cluster.node("n1"), { logger: silentLogger });
    const before = (await (await app.request("/status")).json()) as NodeStatus;
    assertEquals(before.scaler, undefined, "no autoscaler, no scaler field");
    const sent = scalerStatusOf([record()], "target-tracking", "processes", { min: 3, max: 8 }, 13_000)!;
    const post = await app.request("/admin/scaler", {
      method: "POST",
      body: JSON.stringify(sent),
      headers: { "Content-Type": "application/json" },
    });
    assertEquals(post.status, 204);
    const after = ((await (await app.request("/status")).json()) as NodeStatus).scaler!;
    assertEquals({ ...after, last: { ...after.last, ageMs: 0 } }, { ...sent, last: { ...sent.last, ageMs: 0 } });
    for (
      const body of [
        "not json",
        JSON.stringify({ ...sent, last: { ...sent.last, outcome: "exploded" } }),
        JSON.stringify({ ...sent, extra: 1 }),
      ]
    ) {
      const bad = await app.request("/admin/scaler", { method: "POST", body });
      assertEquals(bad.status, 400, body);
      assertEquals(((await bad.json()) as { error: { code: string } }).error.code, "RINGFORGE_INVALID_REQUEST");
    }
    const huge = await app.request("/admin/scaler", { method: "POST", body: "x".repeat(20_000) });
    assertEquals(huge.status, 400);
    assertEquals(((await (await app.request("/status")).json()) as NodeStatus).scaler?.last.detail, "n4", "a refused body changes nothing");
    await cluster.stop();
  });

  it("ages each decision by the time since it arrived", () => {
    let now = 1000;
    const kept = new LastScalerDecision(() => now);
    const quiet = record({ decision: { action: "none", reason: "quiet" }, outcome: "none", completedAt: undefined, at: 14_000 });
    kept.set(scalerStatusOf([record(), quiet], "p", "processes", { min: 3, max: 8 }, 15_000) as ScalerStatus);
    now += 2500;
    const status = kept.get()!;
    assertEquals([status.last.ageMs, status.lastChange?.ageMs], [3500, 4500]);
  });
});

describe("ringforge cluster --autoscale refuses before it starts anything", () => {
  async function cli(args: string[]): Promise<{ code: number; text: string }> {
    let text = "";
    const io = { out: (t: string) => void (text += t), err: (t: string) => void (text += t) };
    return { code: await runCli(args, io), text };
  }
  const tempDir = () => {
    const dir = mkdtempSync(path.join(tmpdir(), "ringforge-autoscale-flags-"));
    dirs.push(dir);
    return dir;
  };

  it("without a scaling policy in the store config", async () => {
    const dir = tempDir();
    const { code, text } = await cli(["cluster", "--dir", path.join(dir, "data"), "--autoscale", "min=3,max=5"]);
    assertEquals(code, 2);
    assertMatch(text, /^ringforge: .*scaler.*--autoscale needs a scaling policy, and the store config chooses "none" \(the default\)/);
    assertMatch(text, /"scaler": \{ "name": "target-tracking", "options": \{ "target": 200 \} \}/);
  });

  it("with a max below the replication factor, or command flags without --autoscale or without each other", async () => {
    const dir = tempDir();
    const store = path.join(dir, "store.json");
    writeFileSync(store, JSON.stringify({ scaler: { name: "target-tracking", options: { target: 100 } } }));
    const data = path.join(dir, "data");
    const low = await cli(["cluster", "--dir", data, "--store", store, "--autoscale", "min=2,max=2"]);
    assertMatch(low.text, /^ringforge: --autoscale max \(2\) must be at least the replication factor N \(3\)\n$/);
    const alone = await cli(["cluster", "--dir", data, "--store", store, "--autoscale-add-command", "true"]);
    assertMatch(alone.text, /^ringforge: --autoscale-add-command is for --autoscale/);
    const half = await cli(["cluster", "--dir", data, "--store", store, "--autoscale", "min=3,max=4", "--autoscale-add-command", "true"]);
    assertMatch(half.text, /^ringforge: --autoscale-add-command and --autoscale-remove-command go together: give both\n$/);
    for (const result of [low, alone, half]) assertEquals(result.code, 2);
  });
});
