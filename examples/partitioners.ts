/**
 * Partitioners compared on the same 100,000 keys: how evenly each spreads keys over ten nodes of
 * weights 1, 2 and 3, how many keys move when an eleventh joins, and, with racks, how replicas
 * spread.
 *
 * - consistent hashing (128 vnodes per weight unit): balance within a few percent, a join moves
 *   about the ideal;
 * - the fixed-partition ring (Q = 1024): balance within one partition, the join claimed from the
 *   previous table;
 * - rendezvous hashing: no ring at all; a join only moves keys to the newcomer.
 *
 * Deterministic: the same output under Node and Deno.
 *
 *   npx tsx examples/partitioners.ts
 *   npx deno run -A examples/partitioners.ts
 */
import type { MemberInfo, Partitioner } from "../plugin-kit/index.ts";
import { ConsistentHashRing, FixedPartitionRing, RendezvousPartitioner } from "../plugins/index.ts";

const keys = Array.from({ length: 100_000 }, (_, i) => `user${i}`);
const members: MemberInfo[] = Array.from({ length: 10 }, (_, i) => ({ id: `node-${i}`, weight: 1 + (i % 3), zone: `rack-${i % 3}` }));
const totalWeight = members.reduce((sum, m) => sum + m.weight!, 0);
const grown: MemberInfo[] = [...members, { id: "node-new", weight: 2, zone: "rack-0" }];

for (
  const [name, make] of [
    ["consistent-hash", () => new ConsistentHashRing()],
    ["fixed-partitions", () => new FixedPartitionRing({ partitions: 1024 })],
    ["rendezvous", () => new RendezvousPartitioner()],
  ] as const
) {
  const p: Partitioner = make();
  p.setMembers(members);
  const counts = new Map<string, number>();
  for (const k of keys) counts.set(p.preferenceList(k, 1)[0]!, (counts.get(p.preferenceList(k, 1)[0]!) ?? 0) + 1);
  const worst = Math.max(...members.map((m) => counts.get(m.id)! / (keys.length * (m.weight! / totalWeight))));
  // A join as the cluster makes it: partitioners that keep a layout claim from it.
  const after: Partitioner = make();
  after.setMembers(grown, p.nextLayout?.(grown));
  const moved = keys.filter((k) => p.preferenceList(k, 1)[0] !== after.preferenceList(k, 1)[0]).length;
  const ideal = keys.length * (2 / (totalWeight + 2));
  const racks = keys.slice(0, 1000).every((k) =>
    new Set(p.preferenceList(k, 3).map((id) => members.find((m) => m.id === id)!.zone)).size === 3
  );
  console.log(
    `${name.padEnd(16)} busiest node ${((worst - 1) * 100).toFixed(1).padStart(4)}% over its weighted share; ` +
      `a join moved ${(moved / ideal).toFixed(2)}x the ideal; 3 replicas on 3 racks: ${racks ? "always" : "not always"}`,
  );
}
