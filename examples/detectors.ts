/**
 * Failure detectors under a crash: twelve nodes run one detector each; n7 crashes; how long
 * until every other node marks it down, and how many messages did the detectors send per node
 * per second while all was well?
 *
 * - gossip: heartbeat counters spread by gossip; silent for `failAfterMs`, a member is down;
 * - phi-accrual: the same gossip, judged by how unusual the silence is (Cassandra);
 * - swim: direct and indirect probes, suspicion, and dissemination on the probes' backs.
 *
 * Default options of each plugin. Virtual time: the same output under Node and Deno.
 *
 *   npx tsx examples/detectors.ts
 *   npx deno run -A examples/detectors.ts
 */
import { createCluster, sleep } from "../index.ts";
import { simulatedNetwork } from "../sim/index.ts";

for (const detector of ["gossip", "phi-accrual", "swim"]) {
  await using cluster = await createCluster({ nodes: 12, detector, seed: 4 });
  const network = simulatedNetwork(cluster);
  const scheduler = cluster.runtime.scheduler;
  // Let the detectors settle, then count a quiet minute's messages.
  await sleep(scheduler, 10_000);
  const before = network.stats.messages;
  await sleep(scheduler, 60_000);
  const perNodeSecond = (network.stats.messages - before) / 12 / 60;
  const crashedAt = cluster.runtime.clockFor("n1").now();
  await cluster.crash("n7");
  const observers = cluster.nodes.filter((n) => n.id !== "n7");
  let allDownAt: number | undefined;
  for (let waited = 0; waited < 120_000 && allDownAt === undefined; waited += 100) {
    await sleep(scheduler, 100);
    if (observers.every((n) => !n.services.detector.isAlive("n7"))) allDownAt = cluster.runtime.clockFor("n1").now();
  }
  const took = allDownAt === undefined ? "not within 120 s" : `${((allDownAt - crashedAt) / 1000).toFixed(1)} s`;
  console.log(`${detector.padEnd(12)} n7 down everywhere after ${took}; ${perNodeSecond.toFixed(1)} messages per node per second`);
}
