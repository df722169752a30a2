/**
 * Partitioners side by side: consistent hashing (several vnode counts), the fixed-partition
 * ring (several Q) and rendezvous hashing, on the same keys and memberships, beside the
 * `hashring` npm package (the most used consistent-hash ring on npm: ketama, MD5, 160 points
 * per server, an LRU cache of lookups) measured the same way.
 *
 *   npm run bench -- partitioners [--keys 1000000] [--json]
 *   deno run -A bench/partitioners.ts
 *
 * For each partitioner, at 10 and 100 nodes:
 * - balance: keys per node as primary, against each node's ideal (its weighted share): the
 *   largest ratio (max/ideal, 1.00 is perfect) and the standard deviation of the ratios, with
 *   equal weights and with weights 1:2:3 repeated over the nodes;
 * - movement: keys whose replica set (N = 3) changed when one node joins, and when one leaves,
 *   as a multiple of the ideal (the newcomer's or leaver's share, 1/(n+1) or 1/n);
 * - lookup cost: preference lists of 3 per second over 100,000 keys (the median of `--runs`
 *   passes after a warm-up pass);
 * - metadata: what a node must hold beyond the member list (ring tokens, the partition table).
 *
 * Prints figures; never passes or fails on them.
 */
import process from "node:process";
import HashRing from "hashring";
import type { MemberInfo, Partitioner } from "../core/interfaces/partitioner.ts";
import { benchOptions, measure, Progress, rate, runtimeName } from "./harness.ts";
import { ConsistentHashRing, FixedPartitionRing, RendezvousPartitioner } from "../plugins/partitioners/index.ts";

const args = process.argv.slice(2);
const options = benchOptions(args, { runs: 3, warmup: 1 });
const json = options.json;
const keysAt = args.indexOf("--keys");
const keyCount = keysAt >= 0 ? Number(args[keysAt + 1]) : 1_000_000;
if (!Number.isInteger(keyCount) || keyCount < 1000) throw new Error(`--keys must be an integer >= 1000, got ${args[keysAt + 1]}`);

/** What the bench needs of a partitioner (ringforge's, or an adapter around another library). */
type Placer = Pick<Partitioner, "setMembers" | "preferenceList"> & Partial<Pick<Partitioner, "nextLayout">>;

/** `hashring` behind the same calls: members as servers with weights, `range` for N nodes. */
class HashRingPlacer implements Placer {
  #ring: HashRing = new HashRing([]);
  #points = 0;
  setMembers(members: readonly MemberInfo[]): void {
    this.#ring = new HashRing(Object.fromEntries(members.map((m) => [m.id, { weight: m.weight ?? 1 }])));
    this.#points = members.reduce((sum, m) => sum + 160 * (m.weight ?? 1), 0);
  }
  preferenceList(key: string, count: number): string[] {
    return count === 1 ? [this.#ring.get(key)] : this.#ring.range(key, count, true);
  }
  /** Points on its continuum: a 4-byte hash and a server reference each. */
  get metadataBytes(): number {
    return this.#points * 8;
  }
}

interface Candidate {
  readonly name: string;
  readonly make: () => Placer;
  /** Bytes of placement metadata beyond the member list, for `members` members. */
  readonly metadataBytes: (p: Placer, members: number) => number;
}

const candidates: Candidate[] = [
  ...[16, 64, 128, 256].map((vnodes) => ({
    name: `consistent-hash vnodes=${vnodes}`,
    make: () => new ConsistentHashRing({ vnodes }),
    // A 4-byte token and a 4-byte owner per vnode (derivable from the members, but held).
    metadataBytes: (p: Placer) => {
      const ring = p as ConsistentHashRing;
      return 8 * ring.members.reduce((sum, m) => sum + ring.vnodeCount(m.id), 0);
    },
  })),
  ...[256, 1024, 4096].map((partitions) => ({
    name: `fixed-partitions Q=${partitions}`,
    make: () => new FixedPartitionRing({ partitions }),
    // One owner index per partition (2 bytes up to 65,536 members).
    metadataBytes: () => 2 * partitions,
  })),
  { name: "rendezvous segments=4096", make: () => new RendezvousPartitioner(), metadataBytes: () => 0 },
  { name: "hashring (npm) 3.2", make: () => new HashRingPlacer(), metadataBytes: (p: Placer) => (p as HashRingPlacer).metadataBytes },
];

const keys = Array.from({ length: keyCount }, (_, i) => `user${i}`);

function membersOf(n: number, weighted: boolean): MemberInfo[] {
  return Array.from({ length: n }, (_, i) => (weighted ? { id: `node-${i}`, weight: 1 + (i % 3) } : { id: `node-${i}` }));
}

/** Largest and standard deviation of keys-per-node over each node's weighted ideal. */
function balance(p: Placer, members: readonly MemberInfo[]): { max: number; stddev: number } {
  const counts = new Map<string, number>();
  for (const k of keys) {
    const [primary] = p.preferenceList(k, 1);
    counts.set(primary!, (counts.get(primary!) ?? 0) + 1);
  }
  const total = members.reduce((sum, m) => sum + (m.weight ?? 1), 0);
  const ratios = members.map((m) => (counts.get(m.id) ?? 0) / (keys.length * ((m.weight ?? 1) / total)));
  const mean = ratios.reduce((a, b) => a + b, 0) / ratios.length;
  const stddev = Math.sqrt(ratios.reduce((a, r) => a + (r - mean) ** 2, 0) / ratios.length);
  return { max: Math.max(...ratios), stddev };
}

/** Fraction of keys whose replica set of 3 differs between two partitioners. */
function moved(a: Placer, b: Placer): number {
  let changed = 0;
  for (const k of keys) {
    const x = a.preferenceList(k, 3);
    const y = b.preferenceList(k, 3);
    if (x.length !== y.length || x.some((id) => !y.includes(id))) changed++;
  }
  return changed / keys.length;
}

async function lookupsPerSecond(name: string, p: Placer): Promise<number> {
  const sample = keys.slice(0, 100_000);
  const m = await measure(`${name} lookups`, "lookups/s", options, () => rate(sample.length, (i) => p.preferenceList(sample[i]!, 3)));
  return Math.round(m.median);
}

const rows: Record<string, unknown>[] = [];
const progress = new Progress(candidates.length * 2);
for (const c of candidates) {
  for (const n of [10, 100]) {
    const equal = membersOf(n, false);
    const p: Placer = c.make();
    p.setMembers(equal);
    const weighted: Placer = c.make();
    weighted.setMembers(membersOf(n, true));
    // A partitioner that keeps a layout moves from it, as a ring view change does.
    const joined: Placer = c.make();
    const grown = [...equal, { id: "node-new" }];
    joined.setMembers(grown, p.nextLayout?.(grown));
    const left: Placer = c.make();
    left.setMembers(equal.slice(1), p.nextLayout?.(equal.slice(1)));
    // A join moves the newcomer's share (its replicas of 3): ideal 3/(n+1) of keys change a
    // replica; a leave, 3/n. Figures are the measured fraction over that ideal.
    const b = balance(p, equal);
    const bw = balance(weighted, membersOf(n, true));
    rows.push({
      partitioner: c.name,
      nodes: n,
      maxOverIdeal: round(b.max),
      stddev: round(b.stddev),
      weightedMaxOverIdeal: round(bw.max),
      weightedStddev: round(bw.stddev),
      joinMovedOverIdeal: round(moved(p, joined) / (3 / (n + 1))),
      leaveMovedOverIdeal: round(moved(p, left) / (3 / n)),
      lookupsPerSecond: await lookupsPerSecond(c.name, p),
      metadataBytes: c.metadataBytes(p, n),
    });
    progress.step(`${c.name}, ${n} nodes`);
  }
}

// The capacity-weight check of the fixed-partition ring: three nodes of weights 1:2:3 at Q=1024.
const ring = new FixedPartitionRing({ partitions: 1024 });
const threeWeighted: MemberInfo[] = [{ id: "a", weight: 1 }, { id: "b", weight: 2 }, { id: "c", weight: 3 }];
ring.setMembers(threeWeighted);
const weights123 = { ...balance(ring, threeWeighted), partitions: Object.fromEntries(ring.partitionCounts()) };

progress.end();
const runtime = runtimeName();
const markdown = [
  `partitioners, ${keyCount.toLocaleString("en-US")} keys, ${runtime}`,
  "",
  "| partitioner | nodes | max/ideal | stddev | weighted 1:2:3 max/ideal | weighted stddev | join moved (x ideal) | leave moved (x ideal) | lookups/s (N=3) | metadata bytes |",
  "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ...rows.map(
    (r) =>
      `| ${r.partitioner} | ${r.nodes} | ${r.maxOverIdeal} | ${r.stddev} | ${r.weightedMaxOverIdeal} | ${r.weightedStddev} | ${r.joinMovedOverIdeal} | ${r.leaveMovedOverIdeal} | ${
        Number(r.lookupsPerSecond).toLocaleString("en-US")
      } | ${Number(r.metadataBytes).toLocaleString("en-US")} |`,
  ),
  "",
  `fixed-partitions Q=1024, three nodes of weights 1:2:3: partitions ${JSON.stringify(weights123.partitions)}, ` +
  `largest keys/ideal ${round(weights123.max)} (within ${((weights123.max - 1) * 100).toFixed(1)}% of the weighted ideal)`,
].join("\n");
if (json) {
  console.log(JSON.stringify({ benchmark: "partitioners", runtime, keys: keyCount, rows, fixedWeights123: weights123, markdown }, null, 2));
} else console.log(markdown);

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
