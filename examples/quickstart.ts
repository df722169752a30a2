/**
 * Quickstart: five nodes in one process, N=3 R=2 W=2.
 *
 * It puts, gets and deletes a key, then makes two clients write the same key at the same
 * moment through two different replicas — and shows the result under vector clocks (both
 * writes kept, as siblings for the reader to merge) and under last-write-wins (one silently
 * kept, one silently dropped).
 *
 * The cluster runs on virtual time with a fixed seed, so every run prints the same thing,
 * under Node and under Deno:
 *
 *   npx tsx examples/quickstart.ts
 *   deno run -A examples/quickstart.ts
 *
 * (`npm install` provides both: the `deno` npm package ships the Deno binary, so use
 * `npx deno run -A examples/quickstart.ts` if Deno is not on your PATH.)
 */
import { createCluster, decodeText, encodeText, type StoreConfig } from "../index.ts";

/** Values as text, one after another (plain strings print the same under Node and Deno). */
const show = (values: Uint8Array[]) => (values.length ? values.map(decodeText).join("  ") : "(none)");

const base: StoreConfig = {
  nodes: 5,
  replication: { n: 3, r: 2, w: 2 },
  seed: 42,
};

// ---- 1. put, get, delete -------------------------------------------------------------------
{
  await using cluster = await createCluster(base);
  const n1 = cluster.node("n1");
  const n4 = cluster.node("n4");

  console.log("replicas of 'greeting':", n1.services.partitioner.preferenceList("greeting", 3).join(", "));
  await n1.put("greeting", encodeText("hello"));
  const read = await n4.get("greeting");
  console.log("get via n4:", show(read.values));

  await n4.delete("greeting", { context: read.context });
  console.log("after delete:", show((await n1.get("greeting")).values));
}

// ---- 2. two concurrent writes, two resolvers ---------------------------------------------------
for (const resolver of ["vector-clock", "last-write-wins"] as const) {
  await using cluster = await createCluster({ ...base, resolver });
  const client = cluster.node("n1");
  const [first, second] = client.services.partitioner.preferenceList("cart", 2) as [string, string];

  await client.put("cart", encodeText("[]"));
  const { context } = await client.get("cart");

  // Alice and Bob both read the empty cart, then write at the same instant through two replicas.
  await Promise.all([
    cluster.node(first).put("cart", encodeText('["milk"]'), { context }),
    cluster.node(second).put("cart", encodeText('["eggs"]'), { context }),
  ]);

  const after = await client.get("cart");
  const shown = [...after.values].sort((a, b) => decodeText(a).localeCompare(decodeText(b)));
  console.log(`${resolver}: ${shown.length} sibling(s) after concurrent writes via ${first} and ${second}:`, show(shown));

  if (after.values.length > 1) {
    // The reader merges the siblings (here: union of the two carts) and writes the result back
    // with the context, which supersedes both.
    const merged = [...new Set(after.values.flatMap((v) => JSON.parse(decodeText(v)) as string[]))].sort();
    await client.put("cart", encodeText(JSON.stringify(merged)), { context: after.context });
    console.log(`${resolver}: after the reader merges:`, show((await client.get("cart")).values));
  }
}
