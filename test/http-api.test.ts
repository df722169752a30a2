/**
 * The client HTTP API on an in-process node (Hono's `app.request`, no sockets): values as
 * bodies, the context header, siblings as 300, and every documented error status with a JSON
 * code and message. Also the RingforgeClient against the same app.
 */
import { createHash } from "node:crypto";
import { request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { describe, it } from "@std/testing/bdd";
import { assert, assertEquals, assertMatch, assertRejects, assertStringIncludes } from "@std/assert";
import { createCluster } from "../index.ts";
import { decodeText, encodeText } from "../core/codec/bytes.ts";
import { InvalidKeyError, InvalidValueError, QuorumNotReachedError, TimeoutError, UnauthorizedError } from "../core/errors.ts";
import type { CausalContext } from "../core/model/causal-context.ts";
import { builtinPlugins } from "../plugins/index.ts";
import { RingforgeClient } from "../client/ringforge-client.ts";
import { CONTEXT_HEADER, createHttpApi, type ErrorBody, statusOf } from "../server/http-api.ts";
import { silentLogger } from "../core/interfaces/logger.ts";
import { SESSION_HEADER } from "../client/session-token.ts";
import type { Logger } from "../core/interfaces/logger.ts";

async function setup(options: { token?: string } = {}) {
  const cluster = await createCluster(
    { nodes: 3, replication: { n: 3, r: 2, w: 2 }, resolver: "vector-clock", limits: { maxKeyBytes: 64, maxValueBytes: 1024 } },
    { registry: builtinPlugins },
  );
  const warnings: string[] = [];
  const logger: Logger = { ...silentLogger, warn: (m, f) => void warnings.push(`${m} ${JSON.stringify(f)}`) };
  const app = createHttpApi(cluster.node("n1"), { logger, ...options });
  const client = new RingforgeClient("http://node", {
    fetch: ((input: string | URL | Request, init?: RequestInit) => app.request(String(input), init)) as typeof fetch,
    ...(options.token ? { token: options.token } : {}),
  });
  return { cluster, app, warnings, client };
}

async function errorOf(response: Response): Promise<ErrorBody["error"]> {
  assertMatch(response.headers.get("content-type") ?? "", /json/);
  return ((await response.json()) as ErrorBody).error;
}

describe("HTTP API", () => {
  it("PUT a body, GET it back as the body, with the context in X-Ringforge-Context", async () => {
    const { cluster, app } = await setup();
    const put = await app.request("/kv/a", { method: "PUT", body: "hello" });
    assertEquals(put.status, 204);
    assert(put.headers.get(CONTEXT_HEADER), "a write returns the new context");
    const get = await app.request("/kv/a");
    assertEquals(get.status, 200);
    assertEquals(await get.text(), "hello");
    const context = get.headers.get(CONTEXT_HEADER)!;
    assertEquals((await app.request("/kv/a", { method: "PUT", body: "world", headers: { [CONTEXT_HEADER]: context } })).status, 204);
    const reread = await app.request("/kv/a");
    assertEquals(await reread.text(), "world", "a write with the read's context replaces it: no siblings");
    const latest = reread.headers.get(CONTEXT_HEADER)!;
    assertEquals((await app.request("/kv/a", { method: "DELETE", headers: { [CONTEXT_HEADER]: latest } })).status, 204);
    const gone = await app.request("/kv/a");
    assertEquals(gone.status, 404);
    assert(gone.headers.get(CONTEXT_HEADER), "a 404 carries the context (of the tombstone)");
    assertEquals((await app.request("/kv/some/path%20with%20spaces", { method: "PUT", body: "x" })).status, 204);
    assertEquals(await (await app.request("/kv/some/path%20with%20spaces")).text(), "x");
    await cluster.stop();
  });

  it("concurrent writes come back as 300 Multiple Choices listing the siblings (base64) and the context", async () => {
    const { cluster, app } = await setup();
    await app.request("/kv/cart", { method: "PUT", body: "milk" });
    await app.request("/kv/cart", { method: "PUT", body: "eggs" });
    const response = await app.request("/kv/cart");
    assertEquals(response.status, 300);
    const body = (await response.json()) as { siblings: { value: string }[]; context: string };
    assertEquals(body.siblings.map((s) => atob(s.value)).sort(), ["eggs", "milk"]);
    assertEquals(body.context, response.headers.get(CONTEXT_HEADER));
    await app.request("/kv/cart", { method: "PUT", body: "eggs,milk", headers: { [CONTEXT_HEADER]: body.context } });
    assertEquals(await (await app.request("/kv/cart")).text(), "eggs,milk");
    await cluster.stop();
  });

  it("bad input gets the documented 4xx with a JSON code and message, and changes nothing", async () => {
    const { cluster, app, warnings } = await setup();
    const cases: [string, RequestInit, number, string][] = [
      [`/kv/${"k".repeat(65)}`, { method: "PUT", body: "v" }, 400, "RINGFORGE_INVALID_KEY"],
      [`/kv/${"k".repeat(65)}`, {}, 400, "RINGFORGE_INVALID_KEY"],
      ["/kv/big", { method: "PUT", body: new Uint8Array(1025) }, 413, "RINGFORGE_INVALID_VALUE"],
      ["/kv/big", { method: "PUT", body: new Uint8Array(100_000) }, 413, "RINGFORGE_INVALID_VALUE"],
      ["/kv/a", { method: "PUT", body: "v", headers: { [CONTEXT_HEADER]: "not a context!" } }, 400, "RINGFORGE_INVALID_CONTEXT"],
      ["/kv/a?w=0", { method: "PUT", body: "v" }, 400, "RINGFORGE_INVALID_REQUEST"],
      ["/kv/a?w=9", { method: "PUT", body: "v" }, 400, "RINGFORGE_INVALID_REQUEST"],
      ["/kv/a?r=two", {}, 400, "RINGFORGE_INVALID_REQUEST"],
      ["/kv/a?timeout=-5", {}, 400, "RINGFORGE_INVALID_REQUEST"],
      ["/nothing-here", {}, 404, "RINGFORGE_NOT_FOUND"],
    ];
    for (const [path, init, status, code] of cases) {
      const response = await app.request(path, init);
      assertEquals(response.status, status, `${init.method ?? "GET"} ${path}`);
      const error = await errorOf(response);
      assertEquals(error.code, code, `${init.method ?? "GET"} ${path}`);
      assert(error.message.length > 0);
    }
    assertEquals((await app.request("/kv/a")).status, 404, "no bad write stored anything");
    assertEquals((await app.request("/kv/big")).status, 404);
    assert(warnings.some((w) => w.includes("RINGFORGE_INVALID_VALUE")), "a refused body is logged");
    await cluster.stop();
  });

  it("a malformed percent-encoding or an empty key is a typed 400, never a literal key", async () => {
    const { cluster, app } = await setup();
    for (const raw of ["%FF", "%C0%AF", "%ED%A0%80", "%", "%ZZ", "a%2", "ok%FFok"]) {
      for (const method of ["GET", "PUT", "DELETE"]) {
        const response = await app.request(`/kv/${raw}`, { method, ...(method === "PUT" ? { body: "v" } : {}) });
        assertEquals(response.status, 400, `${method} /kv/${raw}`);
        const error = await errorOf(response);
        assertEquals([error.code, error.details.reason], ["RINGFORGE_INVALID_KEY", "malformed-percent-encoding"], `${method} /kv/${raw}`);
      }
      assertEquals(
        (await app.request(`/kv/${encodeURIComponent(raw)}`)).status,
        404,
        "the literal text is a key of its own, never written",
      );
    }
    for (const path of ["/kv/", "/kv"]) {
      for (const method of ["GET", "PUT", "DELETE"]) {
        const response = await app.request(path, { method, ...(method === "PUT" ? { body: "v" } : {}) });
        assertEquals(response.status, 400, `${method} ${path}`);
        const error = await errorOf(response);
        assertEquals([error.code, error.details.reason], ["RINGFORGE_INVALID_KEY", "empty"]);
      }
    }
    // Well-formed escapes still decode: "é" and "%" itself.
    assertEquals((await app.request("/kv/caf%C3%A9%25", { method: "PUT", body: "x" })).status, 204);
    assertEquals(await (await app.request(`/kv/${encodeURIComponent("café%")}`)).text(), "x");
    await cluster.stop();
  });

  it("a DELETE without a context deletes what a read returns (as Riak does): the value is gone", async () => {
    const { cluster, app, client } = await setup();
    assertEquals((await app.request("/kv/blind", { method: "PUT", body: "v1" })).status, 204);
    assertEquals((await app.request("/kv/blind", { method: "DELETE" })).status, 204);
    assertEquals((await app.request("/kv/blind")).status, 404);
    // Two siblings, both deleted by one blind delete.
    await app.request("/kv/two", { method: "PUT", body: "a" });
    await app.request("/kv/two", { method: "PUT", body: "b" });
    assertEquals((await app.request("/kv/two")).status, 300);
    await client.delete("two");
    assertEquals((await client.get("two")).values, []);
    await cluster.stop();
  });

  it("POST /admin/leave that would leave fewer than N members is refused at once, not in the log", async () => {
    const { cluster, app } = await setup();
    const response = await app.request("/admin/leave", { method: "POST" });
    assertEquals(response.status, 400);
    const error = await errorOf(response);
    assertEquals([error.code, error.details.members, error.details.n], ["RINGFORGE_INVALID_REQUEST", 2, 3]);
    assert(cluster.node("n1").running, "the node keeps running");
    await cluster.stop();
  });

  it("503 with the replica counts when a quorum cannot be reached", async () => {
    const { cluster, app } = await setup();
    await cluster.crash("n2");
    await cluster.crash("n3");
    const response = await app.request("/kv/x", { method: "PUT", body: "v" });
    assertEquals(response.status, 503);
    const error = await errorOf(response);
    assertEquals(error.code, "RINGFORGE_QUORUM_NOT_REACHED");
    assertEquals([error.details.required, error.details.acknowledged], [2, 1]);
    assertEquals((await app.request("/kv/x?r=1")).status, 200, "R=1 is still served by the live replica");
    await cluster.stop();
  });

  it("maps each error code to its status", () => {
    assertEquals(statusOf(new InvalidKeyError("empty")), 400);
    assertEquals(statusOf(new InvalidValueError("too-large", 5, 1)), 413);
    assertEquals(statusOf(new UnauthorizedError("x")), 401);
    assertEquals(statusOf(new QuorumNotReachedError("get", 2, 1, 3)), 503);
    assertEquals(statusOf(new TimeoutError("get", 100)), 504);
  });

  it("with a bearer token: 401 without it or with a wrong one (logged), 200 with it", async () => {
    const { cluster, app, warnings } = await setup({ token: "s3cret-token" });
    const attempts: Record<string, string>[] = [{}, { Authorization: "Bearer wrong-token!" }, { Authorization: "Basic czNjcmV0" }];
    for (const headers of attempts) {
      const response = await app.request("/status", { headers });
      assertEquals(response.status, 401);
      assertEquals((await errorOf(response)).code, "RINGFORGE_UNAUTHORIZED");
      assertStringIncludes(response.headers.get("www-authenticate") ?? "", "Bearer");
    }
    assertEquals(warnings.filter((w) => w.includes("RINGFORGE_UNAUTHORIZED")).length, 3);
    assertEquals((await app.request("/status", { headers: { Authorization: "Bearer s3cret-token" } })).status, 200);
    await cluster.stop();
  });

  it("GET /status and GET /metrics describe the node", async () => {
    const { cluster, app, client } = await setup();
    await client.put("k", encodeText("v"));
    await client.get("k");
    await client.get("missing");
    const status = await client.status();
    assertEquals(status.node, "n1");
    assertEquals(status.members.map((m) => m.id), ["n1", "n2", "n3"]);
    const share = status.members.reduce((sum, m) => sum + m.ownership, 0);
    assert(Math.abs(share - 1) < 0.01, `ownership shares sum to 1, got ${share}`);
    assertEquals(status.records.keys, 1);
    const metrics = await client.metrics();
    assertMatch(metrics, /ringforge_requests_total\{operation="put",outcome="ok",node="n1"\} 1/);
    assertMatch(metrics, /ringforge_requests_total\{operation="get",outcome="not_found",node="n1"\} 1/);
    assertMatch(metrics, /ringforge_request_duration_seconds_bucket\{le="\+Inf",node="n1",operation="get"\} 2/);
    assertMatch(metrics, /ringforge_hints_pending\{node="n1"\} 0/);
    assertMatch(metrics, /ringforge_records\{what="keys",node="n1"\} 1/);
    void app;
    await cluster.stop();
  });

  it("GET /status/cluster gathers every member's own status over the peer transport; /ui needs no token, its data does", async () => {
    const { cluster, app, client } = await setup({ token: "s3cret-token" });
    for (const id of ["n2", "n3"]) createHttpApi(cluster.node(id), { logger: silentLogger });
    await client.put("k", encodeText("v"));
    const view = await client.clusterStatus();
    assertEquals(view.node, "n1");
    assertEquals(view.members.map((m) => m.id), ["n1", "n2", "n3"]);
    for (const m of view.members) {
      assertEquals(m.status?.node, m.id, `${m.id} answers with its own status`);
      assertEquals(m.status?.members.map((x) => x.id), ["n1", "n2", "n3"]);
      assertEquals(m.status?.records.keys, 1);
      assert(m.status?.traffic, "the HTTP API adds its traffic figures");
    }
    // A member that cannot answer is listed with the reason, the others still are.
    cluster.node("n3").services.router.off("status.");
    const partial = await client.clusterStatus();
    assertEquals(partial.members.map((m) => [m.id, m.status !== undefined]), [["n1", true], ["n2", true], ["n3", false]]);
    assertStringIncludes(partial.members[2]!.error ?? "", "status.get");

    assertEquals((await app.request("/status/cluster")).status, 401, "the figures need the token");
    const page = await app.request("/ui");
    assertEquals(page.status, 200, "the page itself does not (it holds no data)");
    assertMatch(page.headers.get("content-type") ?? "", /text\/html/);
    const html = await page.text();
    const script = html.slice(html.indexOf("<script>") + "<script>".length, html.indexOf("</script>"));
    const hash = createHash("sha256").update(script).digest("base64");
    const csp = page.headers.get("content-security-policy") ?? "";
    assertStringIncludes(csp, `script-src 'sha256-${hash}'`, "the policy allows exactly the inline script");
    assertStringIncludes(csp, "default-src 'none'");
    assertStringIncludes(csp, "connect-src 'self'");
    const urls = [...new Set(html.match(/https?:\/\/[^\s"')]+/g))];
    assertEquals(urls, ["http://www.w3.org/2000/svg"], "the page names no other origin (the SVG namespace is not fetched)");
    await cluster.stop();
  });

  it("over a socket (the Node adapter), the /kv answers carry the same statuses, headers and bodies as through Hono", async () => {
    const { cluster } = await setup();
    const app = createHttpApi(cluster.node("n1"), { logger: silentLogger });
    const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(s));
    });
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // Each request goes over the socket and, for the same key in a twin namespace, through
    // app.request (Hono's own request and response objects): both must answer alike.
    const both = async (key: string, init: RequestInit = {}) => {
      const [socket, hono] = [await fetch(`${base}/kv/sock-${key}`, init), await app.request(`/kv/hono-${key}`, init)];
      const view = async (r: Response) => ({
        status: r.status,
        type: r.headers.get("content-type"),
        context: r.headers.get(CONTEXT_HEADER) !== null,
        etag: r.headers.get("etag") === (r.headers.get(CONTEXT_HEADER) === null ? null : `"${r.headers.get(CONTEXT_HEADER)}"`),
        session: r.headers.get(SESSION_HEADER) !== null,
        body: (await r.text()).replace(/(sock|hono)-/g, ""),
      });
      const [a, b] = [await view(socket), await view(hono)];
      assertEquals(a, b, `${init.method ?? "GET"} ${key}`);
      return { ...a, contextOf: socket.headers.get(CONTEXT_HEADER)!, honoContext: hono.headers.get(CONTEXT_HEADER)! };
    };
    try {
      const first = await both("k", { method: "PUT", body: "one" });
      assertEquals([first.status, first.context], [204, true]);
      // The context header is read: this write replaces the first, no siblings.
      await fetch(`${base}/kv/sock-k`, { method: "PUT", body: "two", headers: { [CONTEXT_HEADER]: first.contextOf } });
      await app.request(`/kv/hono-k`, { method: "PUT", body: "two", headers: { [CONTEXT_HEADER]: first.honoContext } });
      const read = await both("k");
      assertEquals([read.status, read.type, read.body, read.context, read.etag], [200, "application/octet-stream", "two", true, true]);
      // Conditional writes read If-Match and If-None-Match.
      assertEquals((await both("k", { method: "PUT", body: "x", headers: { "If-Match": `"${first.contextOf}"` } })).status, 412);
      assertEquals((await both("k", { method: "PUT", body: "x", headers: { "If-None-Match": "*" } })).status, 412);
      assertEquals((await both("k", { method: "PUT", body: "x", headers: { "If-None-Match": "*", "If-Match": "a" } })).status, 400);
      // Two blind writes are concurrent: siblings, as JSON with a 300.
      await both("s", { method: "PUT", body: "a" });
      await both("s", { method: "PUT", body: "b" });
      const siblings = await both("s");
      assertEquals([siblings.status, siblings.type, siblings.context], [300, "application/json", true]);
      const missing = await both("none");
      assertEquals([missing.status, missing.type, JSON.parse(missing.body).error.code], [404, "application/json", "RINGFORGE_NOT_FOUND"]);
      // The session header is read, and answered.
      const inSession = await both("k", { headers: { [SESSION_HEADER]: "v1" } });
      assertEquals([inSession.status, inSession.session], [200, true]);
      assertEquals((await both("k", { method: "DELETE", headers: { [SESSION_HEADER]: "v1" } })).session, true);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await cluster.stop();
    }
  });

  it("over a socket, a PUT body is bounded by its Content-Length, or as it streams in when it has none", async () => {
    const { cluster } = await setup();
    // A body limit below the store's value limit (1024), so the middleware refuses, not the node.
    const app = createHttpApi(cluster.node("n1"), { logger: silentLogger, maxBodyBytes: 512 });
    const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(s));
    });
    const port = (server.address() as AddressInfo).port;
    // One request with node:http: `chunks` written one by one, with or without a length.
    const put = (key: string, chunks: Uint8Array[], length: boolean) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const total = chunks.reduce((n, c) => n + c.length, 0);
        const req = httpRequest({
          host: "127.0.0.1",
          port,
          method: "PUT",
          path: `/kv/${key}`,
          headers: length ? { "content-length": String(total) } : { "transfer-encoding": "chunked" },
        }, (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (t: string) => (body += t));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on("error", reject);
        for (const chunk of chunks) req.write(chunk);
        req.end();
      });
    try {
      const cases: [string, Uint8Array[], boolean, number][] = [
        ["len-ok", [new Uint8Array(512).fill(1)], true, 204],
        ["len-big", [new Uint8Array(513)], true, 413],
        ["chunked-ok", [new Uint8Array(300).fill(2), new Uint8Array(212).fill(3)], false, 204],
        ["chunked-big", [new Uint8Array(300), new Uint8Array(213)], false, 413],
      ];
      for (const [key, chunks, length, status] of cases) {
        const answer = await put(key, chunks, length);
        assertEquals(answer.status, status, `${key}: ${answer.body}`);
        if (status === 413) assertEquals((JSON.parse(answer.body) as ErrorBody).error.code, "RINGFORGE_INVALID_VALUE");
      }
      const stored = async (key: string) => {
        const response = await app.request(`/kv/${key}`);
        return response.status === 200 ? new Uint8Array(await response.arrayBuffer()) : undefined;
      };
      assertEquals(await stored("len-ok"), new Uint8Array(512).fill(1));
      const chunked = new Uint8Array(512);
      chunked.fill(2, 0, 300).fill(3, 300);
      assertEquals(await stored("chunked-ok"), chunked);
      assertEquals([await stored("len-big"), await stored("chunked-big")], [undefined, undefined], "a refused body stores nothing");
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await cluster.stop();
    }
  });

  it("RingforgeClient: values, siblings, context, typed errors", async () => {
    const { cluster, client } = await setup();
    const first = await client.put("c", encodeText("a"));
    await client.put("c", encodeText("b"));
    const read = await client.get("c");
    assertEquals(read.values.map(decodeText).sort(), ["a", "b"]);
    await client.put("c", encodeText("ab"), { context: read.context });
    assertEquals((await client.get("c")).values.map(decodeText), ["ab"]);
    assertEquals((await client.get("nope")).values, []);
    await assertRejects(() => client.put("k".repeat(100), encodeText("v")), InvalidKeyError);
    await assertRejects(() => client.put("c", encodeText("v"), { context: "garbage" as CausalContext }));
    assert(first.context.length > 0);
    assertEquals((await client.local("c")).siblings.map((s) => (s ? decodeText(s) : null)), ["ab"]);
    await cluster.stop();
  });
});
