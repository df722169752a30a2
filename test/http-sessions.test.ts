/**
 * Sessions over HTTP (`Ringforge-Session`): an in-process cluster on virtual time with one HTTP
 * API per node (Hono's `app.request`, no sockets), and RingforgeClient, StoreClient and the
 * CRDT clients sending each request to another node. Replication to one replica is cut and
 * nothing repairs it (no read repair, no anti-entropy), so that replica answers R = 1 reads
 * with the past unless the session says otherwise.
 */
import { describe, it } from "@std/testing/bdd";
import { assert, assertEquals, assertMatch, assertRejects } from "@std/assert";
import { simulatedNetwork } from "../sim/network.ts";
import {
  Counters,
  createCluster,
  decodeText,
  encodeText,
  type KeyValueStore,
  Session,
  sleep,
  StaleReadError,
  StoreClient,
} from "../index.ts";
import { InvalidContextError } from "../core/errors.ts";
import { type CausalContext, wrapContext } from "../core/model/causal-context.ts";
import { builtinPlugins } from "../plugins/index.ts";
import { RingforgeClient } from "../client/ringforge-client.ts";
import { decodeSessionToken, SESSION_FORGOTTEN_HEADER, SESSION_HEADER } from "../client/session-token.ts";
import { CONTEXT_HEADER, createHttpApi, type ErrorBody, statusOf } from "../server/http-api.ts";
import { silentLogger } from "../core/interfaces/logger.ts";

const KEY = "profile";

/** Three nodes, N = 3, R = W = 1, each with its HTTP API; the key's replicas in preference order. */
async function setup() {
  const cluster = await createCluster(
    {
      nodes: 3,
      replication: { n: 3, r: 1, w: 1 },
      resolver: "vector-clock",
      replicator: { name: "quorum", options: { readRepair: false } },
      antiEntropy: "none",
      requestTimeoutMs: 200,
      seed: 11,
    },
    { registry: builtinPlugins },
  );
  const [first, second, third] = cluster.nodes[0]!.services.partitioner.preferenceList(KEY, 3) as [string, string, string];
  const apps = new Map(cluster.nodes.map((n) => [n.id, createHttpApi(n, { logger: silentLogger })]));
  const http = (id: string) => {
    const app = apps.get(id)!;
    const client = new RingforgeClient(`http://${id}`, {
      fetch: ((input: string | URL | Request, init?: RequestInit) => app.request(String(input), init)) as typeof fetch,
    });
    return { app, client };
  };
  return { cluster, network: simulatedNetwork(cluster), first, second, third, http };
}

const text = (values: Uint8Array[]) => values.map(decodeText);

describe("sessions over HTTP", () => {
  it("read-your-writes across nodes: the write goes to one node, the read to a replica that missed it", async () => {
    const { cluster, network, first, third, http } = await setup();
    const writer = http(first).client;
    const reader = http(third).client;
    await writer.put(KEY, encodeText("old"), { w: 3 });
    network.block(first, third); // the third replica never hears of what follows
    const session = new Session();
    const { context } = await writer.get(KEY, { session });
    await writer.put(KEY, encodeText("new"), { context, session });
    await sleep(cluster.runtime.scheduler, 50);

    assertEquals(text((await reader.get(KEY)).values), ["old"], "without the session, R = 1 answers from the stale replica");
    assertEquals(text((await reader.get(KEY, { session })).values), ["new"], "with it, the node asks every replica");
    assertEquals(session.contexts(KEY).length, 1, "the read covers the write: one context left for the key");
    // Monotonic reads: once seen, never older, through any node.
    assertEquals(text((await http(third).client.get(KEY, { session, r: 1 })).values), ["new"]);
    await cluster.stop();
  });

  it("every /kv answer to a request in a session carries the key's token; a request without one gets none", async () => {
    const { cluster, first, http } = await setup();
    const { app } = http(first);
    const put = await app.request("/kv/a", { method: "PUT", body: "v", headers: { [SESSION_HEADER]: "v1" } });
    assertEquals(put.status, 204);
    const written = decodeSessionToken(put.headers.get(SESSION_HEADER)!);
    assertEquals(written, [put.headers.get(CONTEXT_HEADER) as CausalContext], "a write's token holds the context it wrote");
    const token = put.headers.get(SESSION_HEADER)!;
    const get = await app.request("/kv/a", { headers: { [SESSION_HEADER]: token } });
    assertEquals([get.status, await get.text()], [200, "v"]);
    assertEquals(decodeSessionToken(get.headers.get(SESSION_HEADER)!), [get.headers.get(CONTEXT_HEADER) as CausalContext]);
    const missing = await app.request("/kv/none", { headers: { [SESSION_HEADER]: "v1" } });
    assertEquals(missing.status, 404);
    assert(missing.headers.get(SESSION_HEADER), "a 404 in a session carries the token too");
    const del = await app.request("/kv/a", { method: "DELETE", headers: { [SESSION_HEADER]: get.headers.get(SESSION_HEADER)! } });
    assertEquals(del.status, 204);
    assert(del.headers.get(SESSION_HEADER));
    const plain = await app.request("/kv/a");
    assertEquals(plain.headers.get(SESSION_HEADER), null);
    assertEquals(plain.headers.get(SESSION_FORGOTTEN_HEADER), null);
    await cluster.stop();
  });

  it("a read that cannot meet the session is 503 RINGFORGE_STALE_READ, the session unchanged; it succeeds after the heal", async () => {
    const { cluster, network, first, second, third, http } = await setup();
    const writer = http(first).client;
    await writer.put(KEY, encodeText("old"), { w: 3 });
    const session = new Session();
    network.partition([[first, second], [third]]);
    await writer.put(KEY, encodeText("new"), { session, context: (await writer.get(KEY, { r: 2 })).context });
    const before = session.contexts(KEY);

    const raw = await http(third).app.request(`/kv/${KEY}`, { headers: { [SESSION_HEADER]: `v1.${before.join(".")}` } });
    assertEquals(raw.status, 503);
    const body = ((await raw.json()) as ErrorBody).error;
    assertEquals([body.code, body.details.key], ["RINGFORGE_STALE_READ", KEY]);
    assertEquals(raw.headers.get(SESSION_HEADER), null, "a failed read changes nothing in the session");

    assertEquals(statusOf(new StaleReadError(KEY, 1)), 503);
    const error = await assertRejects(() => http(third).client.get(KEY, { session }), StaleReadError);
    assertEquals(error.key, KEY);
    assertEquals(session.contexts(KEY), before);
    network.heal();
    assertEquals(text((await http(third).client.get(KEY, { session })).values), ["new"]);
    await cluster.stop();
  });

  it("a malformed, over-long or foreign token is 400 RINGFORGE_INVALID_CONTEXT, and writes nothing", async () => {
    const { cluster, first, http } = await setup();
    const { app, client } = http(first);
    const foreign = wrapContext({ name: "last-write-wins" } as never, [5, "n1"]);
    const tokens = ["", "v2", "v1.not base64!", `v1.${"A".repeat(9000)}`, `v1${".A".repeat(9)}`, `v1.${foreign}`, "v1.AAAA"];
    for (const token of tokens) {
      for (const method of ["GET", "PUT", "DELETE"]) {
        const response = await app.request("/kv/k", {
          method,
          headers: { [SESSION_HEADER]: token },
          ...(method === "PUT" ? { body: "x" } : {}),
        });
        assertEquals(response.status, 400, `${method} with ${token.slice(0, 30)}`);
        const error = ((await response.json()) as ErrorBody).error;
        assertEquals(error.code, "RINGFORGE_INVALID_CONTEXT", `${method} with ${token.slice(0, 30)}`);
        assert(error.message.length > 0);
      }
    }
    assertEquals((await client.get("k")).values, [], "no refused request wrote anything");
    const session = new Session();
    session.remember("k", [foreign]);
    await assertRejects(() => client.put("k", encodeText("x"), { session }), InvalidContextError);
    assertEquals((await client.get("k")).values, []);
    await cluster.stop();
  });

  it("contexts that do not fit the token are left out oldest first, and the client's session is told", async () => {
    const { cluster, first, http } = await setup();
    const resolver = cluster.node(first).services.resolver;
    // Eight contexts no write to this key covers (counters of n2 it never reached): all kept,
    // and the write's own is one more than a token holds.
    const uncovered = Array.from({ length: 8 }, (_, i) => wrapContext(resolver, [["n2", 1000 + i]]));
    const heard: [string, string, number][] = [];
    const session = new Session({ onForget: (key, reason, n) => void heard.push([key, reason, n]) });
    session.remember("k", uncovered);
    const { context } = await http(first).client.put("k", encodeText("v"), { session });
    assertEquals(heard, [["k", "token-limit", 1]]);
    assertEquals(session.contexts("k"), [...uncovered.slice(1), context], "the newest (the write's) is kept");

    const raw = await http(first).app.request("/kv/k", {
      method: "PUT",
      body: "w",
      headers: { [SESSION_HEADER]: `v1.${uncovered.join(".")}` },
    });
    assertEquals(raw.headers.get(SESSION_FORGOTTEN_HEADER), "1");
    assertMatch(raw.headers.get(SESSION_HEADER)!, /^v1(\.[A-Za-z0-9_-]+){8}$/);
    await cluster.stop();
  });

  it("an answer keeps what another request of the session to the same key added while it was in flight", async () => {
    const { cluster, first, http } = await setup();
    const { app } = http(first);
    const resolver = cluster.node(first).services.resolver;
    const session = new Session();
    // What a concurrent request's answer leaves in the session: a context this write does not cover.
    const concurrent = wrapContext(resolver, [["n2", 1000]]);
    const client = new RingforgeClient("http://node", {
      fetch: ((input: string | URL | Request, init?: RequestInit) => {
        session.remember("k", [concurrent]);
        return app.request(String(input), init);
      }) as typeof fetch,
    });
    const { context } = await client.put("k", encodeText("v"), { session });
    assertEquals(session.contexts("k"), [context, concurrent]);
    await cluster.stop();
  });

  it("StoreClient and the CRDT clients carry their session: counters updated through one node and read through another count everything", async () => {
    const { cluster, network, first, third, http } = await setup();
    // Writes go to the first replica; reads (and the reads of each read-modify-write) to the
    // third, which the first cannot reach.
    const split = (a: RingforgeClient, b: RingforgeClient): KeyValueStore => ({
      get: (key, options) => b.get(key, options),
      put: (key, value, options) => a.put(key, value, options),
      delete: (key, options) => a.delete(key, options),
    });
    const store = split(http(first).client, http(third).client);
    network.block(first, third);

    const plain = new Counters(store, { actor: "web-1" });
    const inSession = new Counters(store, { actor: "web-2", session: new Session() });
    for (let i = 0; i < 3; i++) {
      await plain.increment("plain-likes");
      await inSession.increment("session-likes");
    }
    // The third replica's session read needs a reply from a replica that has the writes: the
    // first cannot answer it (its link to the third is cut), the second has them once
    // replication reached it. (An update's read retries a StaleReadError by itself.)
    await sleep(cluster.runtime.scheduler, 50);
    assertEquals(await inSession.value("session-likes"), 3);
    // The control: without a session each increment read the stale replica's empty counter, so
    // the counter lost increments (and reads of it through that replica see none of them).
    assert((await plain.value("plain-likes")) < 3, "without a session, the stale replica's reads lose updates");

    const profiles = new StoreClient(store, { session: new Session() });
    await profiles.put(KEY, encodeText("ada"));
    await sleep(cluster.runtime.scheduler, 50);
    assertEquals(text([...(await profiles.get(KEY)).siblings]), ["ada"]);
    await profiles.update(KEY, (current) => encodeText(`${decodeText(current!)}!`));
    await sleep(cluster.runtime.scheduler, 50);
    assertEquals(text([...(await profiles.get(KEY)).siblings]), ["ada!"]);
    assertEquals(text((await http(third).client.get(KEY)).values), [], "the third replica itself still has nothing");
    // A RingforgeClient is a KeyValueStore as it is.
    const direct = new Counters(http(third).client, { actor: "web-3", session: new Session() });
    await direct.increment("direct-likes", 2);
    assertEquals(await direct.value("direct-likes"), 2);
    await cluster.stop();
  });
});
