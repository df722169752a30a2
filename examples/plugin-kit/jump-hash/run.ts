/**
 * A partitioner written outside ringforge, used by a cluster: jump-hash (./jump-hash.ts, which
 * imports only `ringforge/plugin-kit`) is added to the registry with
 * `builtinPlugins.with(jumpHashPlugin)` and named in the store config, like a bundled plugin.
 *
 * Five nodes hold 1,000 keys (N = 3). Then n6 joins, which jump hash handles nearly as well as a
 * ring: its id sorts last, so its buckets are added at the end and primaries move only to it (a
 * few deeper replicas move between old nodes: a key's walk that meets n6 twice meets one more old
 * node). Then n2 leaves, which jump hash does not handle well: the buckets of n3 to n6 shift down
 * one run, so about a third of all key copies move between nodes that stayed. Every key still
 * reads back its last write once the nodes' handoff has run.
 *
 * Deterministic (virtual time, fixed seed): the same output under Node and Deno.
 *
 *   npx tsx examples/plugin-kit/jump-hash/run.ts
 *   npx deno run -A examples/plugin-kit/jump-hash/run.ts
 */
import { builtinPlugins, createCluster, decodeText, encodeText, sleep } from "ringforge";
import type { Partitioner } from "ringforge/plugin-kit";
import { jumpHashPlugin } from "./jump-hash.ts";

const N = 3;
const keys = Array.from({ length: 1000 }, (_, i) => `user${i}`);

await using cluster = await createCluster(
  { nodes: 5, replication: { n: N, r: 2, w: 2 }, partitioner: "jump-hash", seed: 7 },
  { registry: builtinPlugins.with(jumpHashPlugin) },
);
const n1 = cluster.node("n1");
const partitioner = n1.services.partitioner;

await n1.put("greeting", encodeText("hello"));
const read = await cluster.node("n4").get("greeting");
console.log(
  `${partitioner.name} on ${cluster.ids.join(", ")}: replicas of 'greeting' ${partitioner.preferenceList("greeting", N).join(", ")}; ` +
    `read through n4: ${read.values.map(decodeText).join(", ")}`,
);
for (const key of keys) await cluster.any().put(key, encodeText(`v1 of ${key}`));

/** Every key's replicas under the partitioner's current members. */
const replicas = (p: Partitioner) => new Map(keys.map((k) => [k, p.preferenceList(k, N)]));
/** Key copies that must move, by the node that gains them: replicas a key has now and did not before. */
function gained(before: Map<string, string[]>, after: Map<string, string[]>): Map<string, number> {
  const byNode = new Map<string, number>();
  for (const k of keys) for (const id of after.get(k)!) if (!before.get(k)!.includes(id)) byNode.set(id, (byNode.get(id) ?? 0) + 1);
  return byNode;
}
const total = (counts: Map<string, number>) => [...counts.values()].reduce((a, b) => a + b, 0);

const beforeJoin = replicas(partitioner);
await cluster.join("n6");
const afterJoin = replicas(partitioner);
const joinMoves = gained(beforeJoin, afterJoin);
console.log(
  `n6 joins (its id sorts last): ${total(joinMoves)} of ${N * keys.length} key copies move ` +
    `(ideal ${(N * keys.length) / 6}, all to n6), ${total(joinMoves) - (joinMoves.get("n6") ?? 0)} of them between nodes that stayed`,
);

await cluster.leave("n2");
const afterLeave = replicas(partitioner);
const n2Held = [...afterJoin.values()].filter((list) => list.includes("n2")).length;
// Copies that the nodes which stayed lose: with minimal movement, none (only n2's move).
const betweenStayers = keys.reduce(
  (sum, k) => sum + afterJoin.get(k)!.filter((id) => id !== "n2" && !afterLeave.get(k)!.includes(id)).length,
  0,
);
// A node's handoff sweep runs every 5 virtual seconds: give every node one.
await sleep(cluster.runtime.scheduler, 6_000);
let latest = 0;
for (const key of keys) if ((await cluster.any().get(key)).values.map(decodeText).includes(`v1 of ${key}`)) latest++;
console.log(
  `n2 leaves (not last): ${total(gained(afterJoin, afterLeave))} of ${N * keys.length} key copies move ` +
    `(ideal ${n2Held}, the copies n2 held), ${betweenStayers} of them between nodes that stayed; ` +
    `${latest} of ${keys.length} keys read back their last write`,
);
