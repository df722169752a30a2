/**
 * A node process's clock offset (skew) and drift from the machine's clock, for the lab's real
 * runs: `clock` in the node config (validated, applied at start), `POST /admin/clock` and
 * `RingforgeClient.setClock` while the node runs (bad bodies refused with a typed 400 that
 * changes nothing), `clock` in `GET /status`, and the effect that matters: a last-write-wins
 * write through a node a minute ahead carries a timestamp a minute ahead.
 */
import { describe, it } from "@std/testing/bdd";
import { assert, assertEquals, assertMatch, assertRejects, assertThrows } from "@std/assert";
import { createCluster } from "../index.ts";
import { encodeText } from "../core/codec/bytes.ts";
import { InvalidConfigError, InvalidRequestError, UnauthorizedError } from "../core/errors.ts";
import { silentLogger } from "../core/interfaces/logger.ts";
import type { CausalContext } from "../core/model/causal-context.ts";
import { unwrapContext } from "../core/model/causal-context.ts";
import { systemRuntime } from "../core/runtime/runtime.ts";
import { systemClock } from "../core/runtime/system-runtime.ts";
import { builtinPlugins } from "../plugins/index.ts";
import { LastWriteWins } from "../plugins/resolvers/last-write-wins.ts";
import { RingforgeClient } from "../client/ringforge-client.ts";
import type { ClockStatus, NodeStatus } from "../client/node-status.ts";
import { createHttpApi, type ErrorBody } from "../server/http-api.ts";
import { nodeClock } from "../server/node-clock.ts";
import { parseNodeProcessConfig, startNodeProcess } from "../server/node-process.ts";

const TOKEN = "clock-test-token";
const base = { id: "n1", peer: { listen: "127.0.0.1:0" }, client: { listen: "127.0.0.1:0" } };

/** The last-write-wins timestamp a write's context carries. */
function timestampOf(context: CausalContext): number {
  const version = unwrapContext(new LastWriteWins(), context);
  assert(version !== null, "a write's context holds its version");
  return version[0];
}

/** One last-write-wins node on the system runtime reading `clock`, served in process. */
async function setup(withClock = true) {
  const clock = nodeClock();
  const cluster = await createCluster(
    { nodes: 1, replication: { n: 1, r: 1, w: 1 }, resolver: "last-write-wins" },
    { registry: builtinPlugins, runtime: systemRuntime({ clock: () => clock }) },
  );
  const app = createHttpApi(cluster.node("n1"), { logger: silentLogger, token: TOKEN, ...(withClock ? { clock } : {}) });
  const fetch = ((input: string | URL | Request, init?: RequestInit) => app.request(String(input), init)) as typeof globalThis.fetch;
  const client = new RingforgeClient("http://node", { token: TOKEN, fetch });
  const post = (body: string) =>
    app.request("/admin/clock", {
      method: "POST",
      body,
      headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
    });
  return { clock, cluster, app, client, post };
}

describe("clock in a node config", () => {
  it("takes a finite offset and a drift rate above -1; without one the node reads the machine's clock", () => {
    assertEquals(parseNodeProcessConfig(base).clock, undefined);
    assertEquals(parseNodeProcessConfig({ ...base, clock: { offsetMs: -1500.5, driftRate: 0.05 } }).clock, {
      offsetMs: -1500.5,
      driftRate: 0.05,
    });
    assertEquals(parseNodeProcessConfig({ ...base, clock: {} }).clock, {});
    const before = systemClock.now();
    const plain = nodeClock().now();
    assert(before <= plain && plain <= systemClock.now(), "no config: the machine's clock as is");
    const skewed = nodeClock({ offsetMs: 60_000, driftRate: -0.5 });
    assertEquals([Math.round(skewed.offset), skewed.rate], [60_000, -0.5]);
  });

  it("refuses anything else with RINGFORGE_INVALID_CONFIG naming the field", () => {
    const cases: [unknown, string, RegExp][] = [
      [{ offsetMs: "60000" }, "clock.offsetMs", /finite number of ms/],
      [{ offsetMs: Number.POSITIVE_INFINITY }, "clock.offsetMs", /finite number of ms/],
      [{ offsetMs: Number.NaN }, "clock.offsetMs", /finite number of ms/],
      [{ offsetMs: 1e300 }, "clock.offsetMs", /within a year/],
      [{ offsetMs: -4e10 }, "clock.offsetMs", /within a year/],
      [{ driftRate: -1 }, "clock.driftRate", /above -1/],
      [{ driftRate: 1e9 }, "clock.driftRate", /at most 1/],
      [{ driftRate: Number.NEGATIVE_INFINITY }, "clock.driftRate", /finite number/],
      [{ skew: 5 }, "clock", /Unrecognized key/],
      [60_000, "clock", /expected object/],
    ];
    for (const [clock, path, message] of cases) {
      const error = assertThrows(() => parseNodeProcessConfig({ ...base, clock }), InvalidConfigError);
      assertEquals(error.code, "RINGFORGE_INVALID_CONFIG");
      assertEquals(error.issues[0]?.path, path, JSON.stringify(clock));
      assertMatch(error.issues[0]!.message, message);
    }
  });
});

describe("POST /admin/clock", () => {
  it("steps and drifts the node's clock: a last-write-wins write a minute ahead, GET /status shows it", async () => {
    const { cluster, client, app, post } = await setup();
    assertEquals((await client.status()).clock, undefined, "a clock at zero is not reported");
    const set = await post(JSON.stringify({ offsetMs: 60_000 }));
    assertEquals(set.status, 200);
    assertEquals(await set.json(), { offsetMs: 60_000, driftRate: 0 });
    const before = Date.now();
    const { context } = await client.put("k", encodeText("v"));
    const after = Date.now();
    const stamp = timestampOf(context);
    assert(before + 60_000 <= stamp && stamp <= after + 60_000, `stamped ${stamp - before} ms after the write began`);
    assertEquals((await client.status()).clock, { offsetMs: 60_000, driftRate: 0 });

    // Drift keeps the offset gained so far; a step keeps the rate; both: exactly that offset now.
    const drifting = await client.setClock({ driftRate: 0.5 });
    assertEquals(drifting.driftRate, 0.5);
    assert(drifting.offsetMs >= 60_000 && drifting.offsetMs < 60_100, `offset kept: ${drifting.offsetMs}`);
    const stepped = await client.setClock({ offsetMs: -2000 });
    assert(stepped.offsetMs >= -2000 && stepped.offsetMs < -1900 && stepped.driftRate === 0.5, JSON.stringify(stepped));
    assertEquals((await client.status()).clock?.driftRate, 0.5);
    assertEquals(await client.setClock({ offsetMs: 0, driftRate: 0 }), { offsetMs: 0, driftRate: 0 });
    assertEquals(
      ((await (await app.request("/status", { headers: { Authorization: `Bearer ${TOKEN}` } })).json()) as NodeStatus).clock,
      undefined,
    );
    await cluster.stop();
  });

  it("refuses a bad body with a typed 400 and changes nothing; needs the bearer token", async () => {
    const { cluster, client, app, post, clock } = await setup();
    await client.setClock({ offsetMs: 500, driftRate: 0 });
    for (
      const body of [
        "not json",
        "{}",
        "[]",
        "null",
        JSON.stringify({ offsetMs: "1000" }),
        JSON.stringify({ offsetMs: 1000, driftRate: -1 }),
        JSON.stringify({ offsetMs: 1000, rate: 0.1 }),
        JSON.stringify({ offsetMs: 1000, pad: "x".repeat(2000) }),
      ]
    ) {
      const bad = await post(body);
      assertEquals(bad.status, 400, body.slice(0, 60));
      assertEquals(((await bad.json()) as ErrorBody).error.code, "RINGFORGE_INVALID_REQUEST", body.slice(0, 60));
    }
    assertEquals([Math.round(clock.offset), clock.rate], [500, 0], "a refused body changes nothing");
    await assertRejects(() => client.setClock({ driftRate: -2 }), InvalidRequestError);
    const anonymous = await app.request("/admin/clock", { method: "POST", body: JSON.stringify({ offsetMs: 9 }) });
    assertEquals(anonymous.status, 401);
    await assertRejects(() => client.setClock({}), InvalidRequestError);
    assertEquals(Math.round(clock.offset), 500);
    await cluster.stop();
  });

  it("answers 400 on a node whose clock cannot be offset", async () => {
    const { cluster, client } = await setup(false);
    const error = await assertRejects(() => client.setClock({ offsetMs: 1000 }), InvalidRequestError);
    assertMatch(error.message, /cannot be offset/);
    await cluster.stop();
  });
});

describe("a node process's clock", () => {
  it("starts offset as its config says and is set through the client", async () => {
    const config = parseNodeProcessConfig({
      ...base,
      client: { ...base.client, token: TOKEN },
      secret: "clock-test-secret-0123456789",
      clock: { offsetMs: 60_000 },
      store: {
        nodes: ["n1"],
        replication: { n: 1, r: 1, w: 1 },
        resolver: "last-write-wins",
        engine: "memory",
        detector: "static",
        antiEntropy: "none",
      },
    });
    const running = await startNodeProcess(config, { registry: builtinPlugins, logger: silentLogger });
    try {
      const client = new RingforgeClient(running.url, { token: TOKEN });
      assertEquals((await client.status()).clock, { offsetMs: 60_000, driftRate: 0 });
      const before = Date.now();
      const stamp = timestampOf((await client.put("k", encodeText("v"))).context);
      assert(before + 60_000 <= stamp && stamp <= Date.now() + 60_000, `stamped ${stamp - before} ms ahead`);
      const now: ClockStatus = await client.setClock({ offsetMs: -30_000 });
      assertEquals(now, { offsetMs: -30_000, driftRate: 0 });
      await assertRejects(() => new RingforgeClient(running.url).setClock({ offsetMs: 0 }), UnauthorizedError);
    } finally {
      await running.stop();
    }
  });
});
