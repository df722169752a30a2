/**
 * Conditional writes and linearizable requests over HTTP: `If-Match`, `If-None-Match: *`, 412
 * with the current version, `?consistency=linearizable`, and RingforgeClient's options. An
 * in-process cluster on virtual time with one HTTP API per node (Hono's `app.request`).
 */
import { describe, it } from "@std/testing/bdd";
import { assert, assertEquals, assertRejects } from "@std/assert";
import { createCluster, decodeText, encodeText, PreconditionFailedError } from "../index.ts";
import { builtinPlugins } from "../plugins/index.ts";
import { RingforgeClient } from "../client/ringforge-client.ts";
import { CONTEXT_HEADER, createHttpApi, type ErrorBody } from "../server/http-api.ts";
import { silentLogger } from "../core/interfaces/logger.ts";
import { InvalidRequestError } from "../core/errors.ts";

async function setup() {
  const cluster = await createCluster({ nodes: 3, resolver: "vector-clock", seed: 3 }, { registry: builtinPlugins });
  const apps = new Map(cluster.nodes.map((n) => [n.id, createHttpApi(n, { logger: silentLogger })]));
  const http = (id: string) => {
    const app = apps.get(id)!;
    const client = new RingforgeClient(`http://${id}`, {
      fetch: ((input: string | URL | Request, init?: RequestInit) => app.request(String(input), init)) as typeof fetch,
    });
    return { app, client };
  };
  return { cluster, http };
}

describe("conditional writes over HTTP", () => {
  it("If-None-Match: * creates once; the second gets 412 with the winner's version", async () => {
    const { cluster, http } = await setup();
    const { app } = http("n1");
    const first = await app.request("/kv/lock", { method: "PUT", body: "alice", headers: { "If-None-Match": "*" } });
    assertEquals(first.status, 204);
    const version = first.headers.get(CONTEXT_HEADER)!;
    const second = await http("n2").app.request("/kv/lock", { method: "PUT", body: "bob", headers: { "If-None-Match": "*" } });
    assertEquals(second.status, 412);
    const body = ((await second.json()) as ErrorBody).error;
    assertEquals(body.code, "RINGFORGE_PRECONDITION_FAILED");
    assertEquals(body.details.version, version);
    assertEquals(second.headers.get(CONTEXT_HEADER), version, "the current version in the header too");
    assertEquals(second.headers.get("ETag"), `"${version}"`);
    const read = await app.request("/kv/lock?consistency=linearizable");
    assertEquals([read.status, await read.text()], [200, "alice"]);
    assertEquals(read.headers.get("ETag"), `"${version}"`, "a read answers the version as its ETag");
    await cluster.stop();
  });

  it("If-Match with the ETag of a read writes once; a stale version gets 412 and changes nothing", async () => {
    const { cluster, http } = await setup();
    const { app } = http("n3");
    await app.request("/kv/k", { method: "PUT", body: "v1" });
    const read = await app.request("/kv/k");
    const etag = read.headers.get("ETag")!;
    const swap = await app.request("/kv/k", { method: "PUT", body: "v2", headers: { "If-Match": etag } });
    assertEquals(swap.status, 204);
    const stale = await http("n1").app.request("/kv/k", { method: "PUT", body: "v3", headers: { "If-Match": etag } });
    assertEquals(stale.status, 412);
    assertEquals(stale.headers.get(CONTEXT_HEADER), swap.headers.get(CONTEXT_HEADER));
    const bare = swap.headers.get(CONTEXT_HEADER)!; // unquoted works too
    const del = await app.request("/kv/k", { method: "DELETE", headers: { "If-Match": bare } });
    assertEquals(del.status, 204);
    assertEquals((await app.request("/kv/k")).status, 404);
    await cluster.stop();
  });

  it("refuses conditions it cannot honour with 400, writing nothing", async () => {
    const { cluster, http } = await setup();
    const { app } = http("n1");
    await app.request("/kv/k", { method: "PUT", body: "v1" });
    for (
      const headers of <Record<string, string>[]> [
        { "If-Match": "*" },
        { "If-Match": '"a", "b"' },
        { "If-Match": 'W/"a"' },
        { "If-None-Match": '"a"' },
        { "If-Match": '"a"', "If-None-Match": "*" },
      ]
    ) {
      const response = await app.request("/kv/k", { method: "PUT", body: "v2", headers });
      assertEquals(response.status, 400, JSON.stringify(headers));
    }
    const bad = await app.request("/kv/k", { method: "PUT", body: "v2", headers: { "If-Match": '"not-a-context"' } });
    assertEquals(bad.status, 400);
    assertEquals(((await bad.json()) as ErrorBody).error.code, "RINGFORGE_INVALID_CONTEXT");
    const level = await app.request("/kv/k?consistency=serial");
    assertEquals(level.status, 400);
    assertEquals(await (await app.request("/kv/k")).text(), "v1");
    await cluster.stop();
  });

  it("RingforgeClient: ifAbsent, ifMatch and consistency; PreconditionFailedError carries the version", async () => {
    const { cluster, http } = await setup();
    const a = http("n1").client;
    const b = http("n2").client;
    const created = await a.put("counter", encodeText("0"), { ifAbsent: true });
    const error = await assertRejects(() => b.put("counter", encodeText("9"), { ifAbsent: true }), PreconditionFailedError);
    assertEquals([error.version, error.exists, error.condition], [created.context, true, "if-absent"]);
    const read = await b.get("counter", { consistency: "linearizable" });
    await b.put("counter", encodeText("1"), { ifMatch: read.context });
    await assertRejects(() => a.put("counter", encodeText("1"), { ifMatch: read.context }), PreconditionFailedError);
    assertEquals((await a.get("counter", { consistency: "linearizable" })).values.map(decodeText), ["1"]);
    await assertRejects(() => a.put("counter", encodeText("x"), { ifMatch: read.context, ifAbsent: true }), InvalidRequestError);
    assert((await a.get("counter")).values.length === 1);
    await cluster.stop();
  });
});
