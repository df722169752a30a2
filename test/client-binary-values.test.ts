/**
 * RingforgeClient keeps values byte-exact on every path, not only as UTF-8 text: a plain body,
 * siblings (base64 in a 300's JSON, decoded without node:buffer) and a replica's own record.
 */
import { describe, it } from "@std/testing/bdd";
import { assertEquals } from "@std/assert";
import { RingforgeClient } from "../client/ringforge-client.ts";
import { createCluster } from "../index.ts";
import { silentLogger } from "../core/interfaces/logger.ts";
import { createHttpApi } from "../server/http-api.ts";

/** Every byte value once, then bytes that are never valid UTF-8 (a lone continuation, 0xff). */
const ALL_BYTES = Uint8Array.from({ length: 256 }, (_, i) => i);
const NOT_UTF8 = new Uint8Array([0x80, 0xff, 0xfe, 0xc0, 0x00, 0xed, 0xa0, 0x80]);

describe("RingforgeClient binary values", () => {
  it("a value, two siblings and a local record come back byte for byte", async () => {
    const cluster = await createCluster({ nodes: 3, replication: { n: 3, r: 2, w: 2 }, resolver: "vector-clock" });
    try {
      const app = createHttpApi(cluster.node("n1"), { logger: silentLogger });
      const client = new RingforgeClient("http://node", {
        fetch: ((input: string | URL | Request, init?: RequestInit) => app.request(String(input), init)) as typeof fetch,
      });
      await client.put("one", ALL_BYTES);
      assertEquals((await client.get("one")).values, [ALL_BYTES]);

      // Two blind writes: concurrent siblings, served as base64 in a 300.
      await client.put("two", ALL_BYTES);
      await client.put("two", NOT_UTF8);
      const byLength = (a: Uint8Array, b: Uint8Array) => a.length - b.length;
      assertEquals((await client.get("two")).values.sort(byLength), [NOT_UTF8, ALL_BYTES]);
      const local = (await client.local("two")).siblings.filter((s): s is Uint8Array => s !== null);
      assertEquals(local.sort(byLength), [NOT_UTF8, ALL_BYTES]);
    } finally {
      await cluster.stop();
    }
  });
});
