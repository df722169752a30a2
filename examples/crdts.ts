/**
 * CRDTs under a partition: six clients increment one counter and add to one set through
 * whichever node they reach, while the five nodes are split 2 | 3. No client sees a sibling or
 * a causal context; after the heal, every acknowledged increment and add is there, once.
 * Then the same on last-write-wins, where concurrent states overwrite each other.
 *
 * Virtual time and a fixed seed: the same output under Node and Deno.
 *
 *   npx tsx examples/crdts.ts
 *   npx deno run -A examples/crdts.ts
 */
import { Counters, createCluster, Sets, sleep } from "../index.ts";
import { simulatedNetwork } from "../sim/index.ts";

for (const resolver of ["vector-clock", "last-write-wins"]) {
  await using cluster = await createCluster({ nodes: 5, resolver, requestTimeoutMs: 200, seed: 8 });
  const network = simulatedNetwork(cluster);
  let acknowledged = 0;
  const added: string[] = [];
  const client = async (c: number) => {
    // Each client talks to one node on each side of the coming partition, alternately.
    const nodes = [cluster.node(`n${(c % 2) + 1}`), cluster.node(`n${(c % 3) + 3}`)];
    for (let i = 0; i < 20; i++) {
      const node = nodes[i % 2]!;
      const counters = new Counters(node, { actor: `client-${c}` });
      const sets = new Sets(node, { actor: `client-${c}` });
      try {
        await counters.increment("likes");
        acknowledged++;
      } catch {
        // Not acknowledged (no quorum on this side): it does not count.
      }
      try {
        await sets.add("tags", `tag-${c}-${i}`);
        added.push(`tag-${c}-${i}`);
      } catch {
        // Not acknowledged.
      }
      await sleep(cluster.runtime.scheduler, 10);
    }
  };
  const clients = Array.from({ length: 6 }, (_, c) => client(c));
  await sleep(cluster.runtime.scheduler, 30);
  network.partition([["n1", "n2"], ["n3", "n4", "n5"]]);
  await Promise.all(clients);
  network.heal();
  await sleep(cluster.runtime.scheduler, 1000);
  const reader = { actor: "reader" };
  const value = await new Counters(cluster.node("n1"), reader).value("likes");
  const members = new Set(await new Sets(cluster.node("n4"), reader).members("tags"));
  const lostAdds = added.filter((t) => !members.has(t)).length;
  console.log(
    `${resolver.padEnd(15)} counter ${value} for ${acknowledged} acknowledged increments; ` +
      `set holds ${added.length - lostAdds} of ${added.length} acknowledged adds`,
  );
}
