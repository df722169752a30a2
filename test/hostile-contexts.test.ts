/**
 * Forged and hostile causal contexts, sent over the HTTP API as a client could: counters near
 * 2^53, hundreds of made-up node ids, other resolvers' contexts, garbage. Whatever was sent
 * before, the key stays readable and writable: a GET's context is accepted back by a PUT, and
 * records and context headers stay within their bounds.
 */
import { describe, it } from "@std/testing/bdd";
import { assert, assertEquals } from "@std/assert";
import fc from "fast-check";
import { createCluster } from "../index.ts";
import { encodeRecord } from "../core/codec/record-codec.ts";
import { toBase64Url } from "../core/codec/bytes.ts";
import { encode } from "../core/codec/msgpack.ts";
import { silentLogger } from "../core/interfaces/logger.ts";
import { MAX_CONTEXT_LENGTH } from "../core/model/causal-context.ts";
import { builtinPlugins } from "../plugins/index.ts";
import { COUNTER_CEILING } from "../plugins/resolvers/context-guard.ts";
import { CONTEXT_HEADER, createHttpApi, type ErrorBody } from "../server/http-api.ts";

const RESOLVERS = ["vector-clock", "dotted-version-vector", "last-write-wins"] as const;
type ResolverName = (typeof RESOLVERS)[number];

/** A context token as a client can forge one: any resolver name, any data. */
function token(resolver: string, data: unknown): string {
  return toBase64Url(encode([resolver, data]));
}

/** `count` made-up node ids, sorted as clocks are. */
function foreignIds(count: number, tag: string): string[] {
  return Array.from({ length: count }, (_, i) => `${tag}${i}`).sort();
}

async function setup(resolver: ResolverName) {
  const cluster = await createCluster(
    { nodes: 3, replication: { n: 3, r: 2, w: 2 }, resolver },
    { registry: builtinPlugins },
  );
  const app = createHttpApi(cluster.node("n1"), { logger: silentLogger });
  return { cluster, app };
}

/** Every replica's record of `key`, encoded: the bytes each stores. */
async function recordBytes(cluster: Awaited<ReturnType<typeof setup>>["cluster"], key: string): Promise<number[]> {
  return Promise.all(["n1", "n2", "n3"].map(async (id) => encodeRecord(await cluster.node(id).localRecord(key)).length));
}

/** GET, then PUT with the returned context: must succeed and leave exactly the new value. */
async function readModifyWrite(app: Awaited<ReturnType<typeof setup>>["app"], key: string, value: string): Promise<void> {
  const read = await app.request(`/kv/${key}`);
  assert([200, 300, 404].includes(read.status), `GET answered ${read.status}`);
  await read.body?.cancel();
  const context = read.headers.get(CONTEXT_HEADER)!;
  assert(context.length <= MAX_CONTEXT_LENGTH, `a read's context is ${context.length} characters`);
  const write = await app.request(`/kv/${key}`, { method: "PUT", body: value, headers: { [CONTEXT_HEADER]: context } });
  const error = write.status === 204 ? undefined : ((await write.json()) as ErrorBody).error;
  assertEquals(write.status, 204, `PUT with the context a GET returned: ${JSON.stringify(error)}`);
  const after = await app.request(`/kv/${key}`);
  assertEquals([after.status, await after.text()], [200, value], "the write superseded everything the read returned");
}

/** Hostile context data for a version-vector resolver (vector clocks and DVV share the context shape). */
const hostileClock: fc.Arbitrary<unknown> = fc.oneof(
  // Counters at and around the ceiling and the largest safe integer, for members and strangers.
  fc
    .tuple(
      fc.constantFrom("n1", "n2", "n3", "zz"),
      fc.constantFrom(2 ** 53 - 1, 2 ** 53 - 2, COUNTER_CEILING + 1, COUNTER_CEILING, COUNTER_CEILING - 1, 1, 7),
    )
    .map(([node, counter]) => [[node, counter]]),
  // Many made-up node ids, each context its own set.
  fc.tuple(fc.integer({ min: 1, max: 600 }), fc.string({ minLength: 1, maxLength: 3 })).map(([count, tag]) =>
    foreignIds(count, `f${tag}-`).map((id) => [id, 1 + (id.length % 5)])
  ),
  // Members mixed with strangers.
  fc.integer({ min: 1, max: 50 }).map((count) => [...foreignIds(count, "a"), "n1", "n2", "n3"].sort().map((id) => [id, 3])),
  // Malformed: unsorted, zero or fractional counters, wrong shapes.
  fc.constantFrom<unknown>([["n2", 1], ["n1", 1]], [["n1", 0]], [["n1", 1.5]], [["n1"]], "x", null, 42, [["n1", 1, "t"]]),
);

/** Hostile context data for last-write-wins. */
const hostileLww: fc.Arbitrary<unknown> = fc.oneof(
  fc.tuple(fc.constantFrom(2 ** 53 - 1, 2 ** 53, 1e300, -1, 0, 5, Date.now() + 10 ** 12), fc.constantFrom("n1", "zz")),
  fc.constantFrom<unknown>(null, "x", [1], [1, 2], [Number.NaN, "n1"]),
);

/** One hostile request: a write or delete with a forged context, or a plain one. */
function hostileOp(resolver: ResolverName): fc.Arbitrary<{ method: "PUT" | "DELETE"; context: string | undefined }> {
  const data = resolver === "last-write-wins" ? hostileLww : hostileClock;
  const context: fc.Arbitrary<string | undefined> = fc.oneof(
    { weight: 6, arbitrary: data.map((d) => token(resolver, d)) },
    // Another resolver's context, garbage, and a context over the length limit.
    { weight: 1, arbitrary: fc.constantFrom(...RESOLVERS.filter((r) => r !== resolver)).map((r) => token(r, [["n1", 1]])) },
    { weight: 1, arbitrary: fc.constantFrom("not base64!", "", "AAAA", "x".repeat(MAX_CONTEXT_LENGTH + 1)) },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
  return fc.record({ method: fc.constantFrom("PUT" as const, "DELETE" as const), context });
}

describe("hostile causal contexts", () => {
  for (const resolver of RESOLVERS) {
    it(`${resolver}: after any sequence of forged contexts, GET then PUT with its context succeeds and bounds hold`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(hostileOp(resolver), { minLength: 1, maxLength: 8 }), async (ops) => {
          const { cluster, app } = await setup(resolver);
          try {
            await app.request("/kv/k", { method: "PUT", body: "start" });
            for (const [i, op] of ops.entries()) {
              const headers: Record<string, string> = op.context === undefined ? {} : { [CONTEXT_HEADER]: op.context };
              const response = await app.request("/kv/k", {
                method: op.method,
                headers,
                ...(op.method === "PUT" ? { body: `v${i}` } : {}),
              });
              // Accepted, or refused as bad input: never a server error, never a quorum failure.
              assert([204, 400].includes(response.status), `${op.method} answered ${response.status}`);
              if (response.status === 400) assertEquals(((await response.json()) as ErrorBody).error.code, "RINGFORGE_INVALID_CONTEXT");
              const context = response.headers.get(CONTEXT_HEADER);
              if (context) assert(context.length <= MAX_CONTEXT_LENGTH, `a write's context is ${context.length} characters`);
            }
            for (const bytes of await recordBytes(cluster, "k")) assert(bytes <= 4096, `a replica stores a ${bytes}-byte record`);
            await readModifyWrite(app, "k", "final");
          } finally {
            await cluster.stop();
          }
        }),
        { numRuns: 25 },
      );
    });
  }

  it("vector-clock: a counter of 2^53-1 is refused and the key stays writable (it used to stamp 2^53)", async () => {
    const { cluster, app } = await setup("vector-clock");
    await app.request("/kv/k", { method: "PUT", body: "v" });
    for (const node of ["n1", "n2", "n3"]) {
      const forged = await app.request("/kv/k", {
        method: "PUT",
        body: "x",
        headers: { [CONTEXT_HEADER]: token("vector-clock", [[node, 2 ** 53 - 1]]) },
      });
      assertEquals(forged.status, 400);
      assertEquals(((await forged.json()) as ErrorBody).error.code, "RINGFORGE_INVALID_CONTEXT");
    }
    // At the ceiling it is taken, and the stamps after it are still accepted back.
    const atCeiling = await app.request("/kv/k", {
      method: "PUT",
      body: "c",
      headers: { [CONTEXT_HEADER]: token("vector-clock", [["n1", COUNTER_CEILING]]) },
    });
    assertEquals(atCeiling.status, 204);
    for (let i = 0; i < 3; i++) await readModifyWrite(app, "k", `after-${i}`);
    await cluster.stop();
  });

  it("dotted-version-vector: the same for a counter of 2^53-1", async () => {
    const { cluster, app } = await setup("dotted-version-vector");
    await app.request("/kv/k", { method: "PUT", body: "v" });
    const forged = await app.request("/kv/k", {
      method: "PUT",
      body: "x",
      headers: { [CONTEXT_HEADER]: token("dotted-version-vector", [["n1", 2 ** 53 - 1]]) },
    });
    assertEquals(forged.status, 400);
    await readModifyWrite(app, "k", "w");
    await cluster.stop();
  });

  it("four writes with different 500-entry forged contexts leave a small record and a short context", async () => {
    for (const resolver of ["vector-clock", "dotted-version-vector"] as const) {
      const { cluster, app } = await setup(resolver);
      for (let i = 0; i < 4; i++) {
        const forged = token(resolver, foreignIds(500, `w${i}-`).map((id) => [id, 1]));
        assert(forged.length <= MAX_CONTEXT_LENGTH, "the forged context itself is within the accepted length");
        assertEquals((await app.request("/kv/k", { method: "PUT", body: `v${i}`, headers: { [CONTEXT_HEADER]: forged } })).status, 204);
      }
      const read = await app.request("/kv/k");
      assertEquals(read.status, 300, "the four writes are concurrent siblings");
      await read.body?.cancel();
      const context = read.headers.get(CONTEXT_HEADER)!;
      assert(context.length < 200, `${resolver}: the context names members only (${context.length} characters)`);
      for (const bytes of await recordBytes(cluster, "k")) assert(bytes < 1024, `${resolver}: a replica stores ${bytes} bytes`);
      await readModifyWrite(app, "k", "merged");
      await cluster.stop();
    }
  });

  it("last-write-wins: a timestamp from far in the future is refused; the key keeps taking writes", async () => {
    const { cluster, app } = await setup("last-write-wins");
    await app.request("/kv/k", { method: "PUT", body: "v" });
    for (const ts of [2 ** 53 - 1, 10 ** 15]) {
      const forged = await app.request("/kv/k", {
        method: "PUT",
        body: "x",
        headers: { [CONTEXT_HEADER]: token("last-write-wins", [ts, "n1"]) },
      });
      assertEquals(forged.status, 400);
    }
    for (let i = 0; i < 3; i++) await readModifyWrite(app, "k", `w${i}`);
    await cluster.stop();
  });
});
