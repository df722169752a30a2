/**
 * Conflict resolvers compared: five clients write one key in turns through the same node, each
 * with the context it read after its own previous write, so every write misses the others'
 * latest. The same history runs on last-write-wins, vector clocks and dotted version vectors.
 *
 * - last-write-wins keeps one value: four of every five writes vanish without an error;
 * - vector clocks keep every write a client did not see, and cannot tell which ones a client
 *   did see: siblings pile up with every turn (Riak's "sibling explosion");
 * - dotted version vectors keep exactly the writes that were concurrent: one per client.
 *
 * Virtual time and a fixed seed: the same output under Node and Deno.
 *
 *   npx tsx examples/resolvers.ts
 *   npx deno run -A examples/resolvers.ts
 */
import { type CausalContext, createCluster, encodeText } from "../index.ts";

const clients = 5;
const turns = 20;

for (const resolver of ["last-write-wins", "vector-clock", "dotted-version-vector"]) {
  await using cluster = await createCluster({ nodes: 3, resolver, seed: 1 });
  const node = cluster.node("n1");
  const contexts: (CausalContext | undefined)[] = new Array(clients).fill(undefined);
  let most = 0;
  for (let turn = 0; turn < turns; turn++) {
    const client = turn % clients;
    const context = contexts[client];
    await node.put("doc", encodeText(`client ${client}, turn ${turn}`), context === undefined ? {} : { context });
    const read = await node.get("doc");
    contexts[client] = read.context;
    most = Math.max(most, read.values.length);
  }
  const { values } = await node.get("doc");
  console.log(`${resolver.padEnd(21)} ${String(values.length).padStart(2)} sibling(s) after ${turns} writes (most seen: ${most})`);
}
