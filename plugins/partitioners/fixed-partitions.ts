/**
 * A ring of Q fixed, equal partitions assigned to nodes in proportion to their capacity
 * weights: Dynamo's strategy 3 (§6.2) and Riak's ring, with weights Riak cannot express.
 *
 * @module
 */
import { z } from "zod";
import { choose, definePlugin, parseWith, type Plugin, type PluginChoice } from "../../core/build/plugin.ts";
import { InvalidConfigError, InvalidRequestError } from "../../core/errors.ts";
import { murmur3 } from "../../core/hash/murmur3.ts";
import { type MemberInfo, type Partitioner, type TokenRange } from "../../core/interfaces/partitioner.ts";
import type { NodeId } from "../../core/model/sibling.ts";
import { type IndexedMembers, indexMembers, mix32, WalkMarks } from "../../core/model/members.ts";
import { ReplicaPlacement, type TopologyOptions, topologyOptions } from "../../core/model/placement.ts";

/** Size of the token space. */
const RING_SIZE = 2 ** 32;

/** Options of the fixed-partition ring. */
export interface FixedPartitionOptions {
  /**
   * Q, the number of partitions (integer, 1..65536, default 1024). Fixed for the life of the
   * data: it cuts the token space into equal ranges, the unit of handoff and of anti-entropy.
   * More partitions balance weights more finely and spread a join over more peers; each costs
   * a Merkle exchange and one entry of ownership metadata. Riak's default is 64, and it advises
   * about 10 partitions per node.
   */
  readonly partitions: number;
  /** Zone and datacenter placement ({@link TopologyOptions}). */
  readonly topology?: TopologyOptions;
}

/** Validates {@link FixedPartitionOptions} from config data, filling in defaults. */
export const fixedPartitionOptions: z.ZodType<FixedPartitionOptions, unknown> = z
  .object({
    partitions: z.number().int().min(1).max(65536).default(1024),
    topology: topologyOptions.optional(),
  })
  .strict();

/**
 * Q equal partitions of the token space; each has one owner, and a key's preference list is
 * the owner of its partition followed by the owners of the next partitions clockwise, distinct
 * nodes only (so two replicas of a partition never share a node).
 *
 * **Balance.** Every node holds its weighted share of the Q partitions to within one
 * partition: with Q = 1024 and weights 1:2:3, 171, 341 and 512 (give or take one).
 *
 * **Claim.** The first table (the configured members) is claimed from scratch: a pseudo-random
 * score per (partition, node) pair, pairs taken from the highest score down, each partition to
 * the first node below its share rounded up, then evened out to within one partition. Every
 * later membership change claims from the previous table ({@link nextLayout}, Riak's way): a
 * leaver's partitions go to the nodes furthest below their share, and a newcomer takes
 * partitions from the nodes furthest above theirs. A join therefore moves about the
 * newcomer's share and a leave the leaver's partitions, which `npm run bench -- partitioners`
 * measures. The table is history, so it travels in the ring view (Q small integers plus the
 * member ids) and is persisted with it; every node applies the same table.
 *
 * @example
 * ```ts
 * const ring = new FixedPartitionRing({ partitions: 1024 });
 * ring.setMembers([{ id: "a", weight: 1 }, { id: "b", weight: 2 }, { id: "c", weight: 3 }]);
 * ring.preferenceList("user:42", 3); // all three, c first about half of the time
 * ```
 */
export class FixedPartitionRing implements Partitioner {
  /** @inheritDoc */
  readonly name = "fixed-partitions";
  /** The validated options. */
  readonly options: FixedPartitionOptions;
  #members: readonly MemberInfo[] = Object.freeze([]);
  #index: IndexedMembers = indexMembers([]);
  /** Owner (member index) of each partition. */
  #owners: Uint32Array = new Uint32Array(0);
  /** Partitions owned, per member index. */
  #owned: Uint32Array = new Uint32Array(0);
  #placement: ReplicaPlacement = new ReplicaPlacement([]);
  /** Scratch marks of walks, by member index. */
  #marks: WalkMarks = new WalkMarks(0);
  /** murmur3 of each member id, by member index. */
  #hashes: readonly number[] = [];

  /**
   * @param options ring options; validated like config data
   * @throws {InvalidConfigError} if the options are out of range
   */
  constructor(options: Partial<FixedPartitionOptions> = {}) {
    this.options = parseWith(fixedPartitionOptions, options, "partitioner.options");
  }

  /** @inheritDoc */
  get members(): readonly MemberInfo[] {
    return this.#members;
  }

  /**
   * Replaces the membership and claims partitions again (O(Q n log(Q n)) for Q partitions and n
   * members). A rejected membership leaves the ring as it was.
   *
   * @throws {InvalidConfigError} on an empty or duplicate id or a weight that is not a finite
   *   positive number
   */
  setMembers(members: readonly MemberInfo[], layout?: unknown): void {
    const index = indexMembers(members);
    const q = this.options.partitions;
    const n = index.ids.length;
    const owners = layout === undefined ? new Uint32Array(q) : ownersFromLayout(layout, q, index);
    const owned = new Uint32Array(n);
    const hashes = index.ids.map((id) => murmur3(id));
    if (n > 0) {
      if (layout === undefined) {
        claim(q, hashes, capacities(q, index.weights), owners);
        const table = Array.from(owners);
        rebalance(table, index);
        owners.set(table);
      }
      for (const m of owners) owned[m]!++;
    }
    this.#members = Object.freeze([...members]);
    this.#index = index;
    this.#owners = owners;
    this.#owned = owned;
    this.#placement = new ReplicaPlacement(index.byIndex, this.options.topology);
    this.#marks = new WalkMarks(n);
    this.#hashes = hashes;
  }

  /**
   * The partition table for `members`, claimed from the current one with the fewest moves
   * (Riak's claim, with weights): partitions of departed members go to the members furthest
   * below their weighted share; then members below their share (a newcomer) take partitions
   * from those furthest above theirs, each time the one they score highest on, until every
   * member is within one partition of its share. A join therefore moves about the newcomer's
   * share and a leave exactly the leaver's partitions.
   *
   * @throws {InvalidConfigError} for bad members
   */
  nextLayout(members: readonly MemberInfo[]): FixedPartitionLayout {
    const next = indexMembers(members);
    const q = this.options.partitions;
    if (this.#index.ids.length === 0 || next.ids.length === 0) {
      const fresh = new FixedPartitionRing(this.options);
      fresh.setMembers(members);
      return { partitions: q, ids: [...next.ids], owners: Array.from(fresh.#owners) };
    }
    const owners = Array.from(this.#owners, (m) => next.indexOf.get(this.#index.ids[m]!) ?? -1);
    rebalance(owners, next);
    return { partitions: q, ids: [...next.ids], owners };
  }

  /** @inheritDoc */
  token(key: string): number {
    return murmur3(key);
  }

  /** The partition holding `token`: `floor(token * Q / 2^32)`. */
  partitionOf(token: number): number {
    return Math.floor((token * this.options.partitions) / RING_SIZE);
  }

  /**
   * The owner of the key's partition, then the owners of the next partitions clockwise,
   * distinct nodes only (arranged by zone and datacenter when members carry them).
   *
   * @throws {InvalidRequestError} if `count` is not a non-negative integer
   */
  preferenceList(key: string, count: number): NodeId[] {
    if (!Number.isInteger(count) || count < 0) {
      throw new InvalidRequestError(`preference list length must be a non-negative integer, got ${count}`, { count });
    }
    if (this.#index.ids.length === 0) return [];
    return this.#list(this.partitionOf(murmur3(key)), count);
  }

  /**
   * One range per partition, `(end of the previous, end]`, with its first `n` replicas.
   *
   * @throws {InvalidRequestError} if `n` is not a non-negative integer
   */
  ranges(n: number): TokenRange[] {
    if (!Number.isInteger(n) || n < 0) throw new InvalidRequestError(`replica count must be a non-negative integer, got ${n}`, { n });
    if (this.#index.ids.length === 0) return [];
    const q = this.options.partitions;
    const out: TokenRange[] = [];
    let start = partitionEnd(q - 1, q);
    for (let p = 0; p < q; p++) {
      const end = partitionEnd(p, q);
      out.push({ start, end, replicas: this.#list(p, n) });
      start = end;
    }
    return out;
  }

  /**
   * The ownership table: the owner of each partition, in partition order. This is all the
   * metadata the ring has (Q node ids), and what the lab counts as its size.
   */
  table(): NodeId[] {
    return Array.from(this.#owners, (m) => this.#index.ids[m]!);
  }

  /** Partitions each member owns, by id. */
  partitionCounts(): Map<NodeId, number> {
    return new Map(this.#index.ids.map((id, m) => [id, this.#owned[m]!]));
  }

  #list(partition: number, count: number): NodeId[] {
    const ids = this.#index.ids;
    if (this.#placement.active && count > 0) {
      return this.#placement.arrange(this.#walk(partition, ids.length), count).map((m) => ids[m]!);
    }
    return this.#walk(partition, count).map((m) => ids[m]!);
  }

  /**
   * The first `count` distinct members: owners of `partition` and the partitions after it, then
   * (if some member owns no partition: more members than partitions) the rest by their score
   * for this partition.
   */
  #walk(partition: number, count: number): number[] {
    const n = this.#index.ids.length;
    const length = Math.min(count, n);
    const out: number[] = [];
    if (length === 0) return out;
    const marks = this.#marks;
    marks.start();
    const owners = this.#owners;
    const q = owners.length;
    for (let i = 0, p = partition; i < q && out.length < length; i++, p = p + 1 === q ? 0 : p + 1) {
      const m = owners[p]!;
      if (marks.first(m)) out.push(m);
    }
    if (out.length < length) {
      const rest: number[] = [];
      for (let m = 0; m < n; m++) if (!marks.met(m)) rest.push(m);
      const hashes = this.#hashes;
      rest.sort((a, b) => mix32(hashes[b]!, partition) - mix32(hashes[a]!, partition) || a - b);
      for (const m of rest) {
        if (out.length === length) break;
        out.push(m);
      }
    }
    return out;
  }
}

/**
 * The fixed-partition ring's layout, as it travels in the ring view: each partition's owner as
 * an index into `ids`.
 */
export interface FixedPartitionLayout {
  /** Q. */
  readonly partitions: number;
  /** The members the table was claimed for, in id order. */
  readonly ids: readonly NodeId[];
  /** Owner of each partition, an index into `ids`. */
  readonly owners: readonly number[];
}

/** Reads a layout for `index`'s members, or throws {@link InvalidConfigError} naming why. */
function ownersFromLayout(layout: unknown, q: number, index: IndexedMembers): Uint32Array {
  const refuse = (message: string) => new InvalidConfigError([{ path: "partitioner.layout", message }]);
  const l = layout as Partial<FixedPartitionLayout>;
  if (typeof l !== "object" || l === null || l.partitions !== q) throw refuse(`expected a table of ${q} partitions`);
  if (!Array.isArray(l.ids) || !Array.isArray(l.owners) || l.owners.length !== q) throw refuse("expected ids and one owner per partition");
  if (l.ids.length !== index.ids.length || l.ids.some((id, i) => id !== index.ids[i])) {
    throw refuse("the table was claimed for other members");
  }
  const owners = new Uint32Array(q);
  for (let p = 0; p < q; p++) {
    const m = l.owners[p];
    if (!Number.isInteger(m) || (m as number) < 0 || (m as number) >= index.ids.length) throw refuse(`partition ${p} has no valid owner`);
    owners[p] = m as number;
  }
  return owners;
}

/**
 * Brings a table to within one partition of every member's weighted share with few moves:
 * orphaned partitions (owner -1) go to whoever is furthest below its share; then members more
 * than one partition below take from the member furthest above, and members more than one
 * above give to the member furthest below; each move picks the giver's partition the taker
 * scores highest on. Changes `owners` in place.
 */
function rebalance(owners: number[], members: IndexedMembers): void {
  const q = owners.length;
  const n = members.ids.length;
  const hashes = members.ids.map((id) => murmur3(id));
  const count = new Float64Array(n);
  for (const m of owners) if (m >= 0) count[m]!++;
  let total = 0;
  for (const w of members.weights) total += w;
  const share = Float64Array.from(members.weights, (w) => (q * w) / total);
  const score = (m: number, p: number) => mix32(hashes[m]!, p);
  /** The member furthest below (sign 1) or above (sign -1) its share; ties by index. */
  const furthest = (sign: 1 | -1) => {
    let best = 0;
    for (let m = 1; m < n; m++) if (sign * (share[m]! - count[m]!) > sign * (share[best]! - count[best]!)) best = m;
    return best;
  };
  const move = (p: number, to: number) => {
    if (owners[p]! >= 0) count[owners[p]!]!--;
    owners[p] = to;
    count[to]!++;
  };
  const transfer = (giver: number, taker: number) => {
    let pick = -1;
    for (let p = 0; p < q; p++) if (owners[p] === giver && (pick < 0 || score(taker, p) > score(taker, pick))) pick = p;
    move(pick, taker);
  };
  for (let p = 0; p < q; p++) if (owners[p] === -1) move(p, furthest(1));
  for (let guard = 0; guard < q; guard++) {
    const taker = furthest(1);
    const giver = furthest(-1);
    if (share[taker]! - count[taker]! < 1 || count[giver]! - share[giver]! <= 0 || taker === giver) break;
    transfer(giver, taker);
  }
  for (let guard = 0; guard < q; guard++) {
    const giver = furthest(-1);
    const taker = furthest(1);
    if (count[giver]! - share[giver]! < 1 || taker === giver) break;
    transfer(giver, taker);
  }
}

/** The last token of partition `p` of `q`. */
function partitionEnd(p: number, q: number): number {
  return Math.ceil(((p + 1) * RING_SIZE) / q) - 1;
}

/**
 * The most partitions each member may claim: its exact weighted share rounded up. The caps sum
 * to at least `q`, so every partition finds an owner, and no member ends more than one
 * partition above its share. Rounding up rather than to exact quotas leaves slack, so a join
 * changes few claims besides the newcomer's own.
 */
export function capacities(q: number, weights: Float64Array): Uint32Array {
  let total = 0;
  for (const w of weights) total += w;
  // A hair below the exact share before rounding up, so float error never adds a partition.
  return Uint32Array.from(weights, (w) => Math.max(1, Math.ceil((q * w) / total - 1e-9)));
}

/**
 * Assigns each partition to a member: (partition, member) pairs by descending score, each
 * partition to the first member below its cap. Fills `owners`.
 */
function claim(q: number, memberHashes: readonly number[], caps: Uint32Array, owners: Uint32Array): void {
  const n = memberHashes.length;
  const left = Uint32Array.from(caps);
  const pairs = q * n;
  // Sort keys: score * 2^22 + pair index, exact in a double while pairs < 2^21 (the
  // comparator-free sort is many times faster); larger rings sort with a comparator.
  const assigned = new Uint8Array(q);
  let remaining = q;
  const take = (pair: number) => {
    const p = pair % q;
    const m = (pair - p) / q;
    if (assigned[p] === 0 && left[m]! > 0) {
      assigned[p] = 1;
      left[m]!--;
      owners[p] = m;
      remaining--;
    }
  };
  if (pairs < 2 ** 21) {
    const keys = new Float64Array(pairs);
    for (let m = 0; m < n; m++) {
      for (let p = 0; p < q; p++) keys[m * q + p] = (0xffffffff - mix32(memberHashes[m]!, p)) * 2 ** 21 + (m * q + p);
    }
    keys.sort();
    for (let i = 0; i < pairs && remaining > 0; i++) take(keys[i]! % 2 ** 21);
  } else {
    const scores = new Uint32Array(pairs);
    for (let m = 0; m < n; m++) for (let p = 0; p < q; p++) scores[m * q + p] = mix32(memberHashes[m]!, p);
    const order = new Uint32Array(pairs);
    for (let i = 0; i < pairs; i++) order[i] = i;
    order.sort((a, b) => scores[b]! - scores[a]! || a - b);
    for (let i = 0; i < pairs && remaining > 0; i++) take(order[i]!);
  }
}

/** The fixed-partition ring plugin. */
export const fixedPartitionsPlugin: Plugin<FixedPartitionOptions, "partitioner", undefined> = definePlugin({
  family: "partitioner",
  name: "fixed-partitions",
  description:
    "Q equal partitions (Dynamo strategy 3, Riak's ring) claimed in proportion to node weights; small ownership table, balance within one partition.",
  // Its claim may move partitions between old members on a join (bounded instead by the
  // movement test), so it does not promise minimal movement.
  capabilities: { minimalMovement: false, boundedMovement: true, datacenterReplicas: true },
  options: fixedPartitionOptions,
  create: (_context, options) => new FixedPartitionRing(options),
});

/**
 * Chooses the fixed-partition ring.
 *
 * @example
 * ```ts
 * const cluster = await store().nodes([{ id: "a", weight: 1 }, { id: "b", weight: 2 }]).use(fixedPartitions({ partitions: 256 })).cluster();
 * ```
 */
export function fixedPartitions(options?: Partial<FixedPartitionOptions>): PluginChoice<FixedPartitionOptions> {
  return choose(fixedPartitionsPlugin, options);
}
