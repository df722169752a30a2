/**
 * Google's jump consistent hash (Lamping and Veach, "A Fast, Minimal Memory, Consistent Hash
 * Algorithm", 2014) as a ringforge partitioner, written the way a strategy outside this
 * repository is written: it imports `ringforge/plugin-kit` and zod, nothing else.
 *
 * Jump hash maps a 64-bit key to one of `n` numbered buckets with no table at all, in
 * O(ln n) steps, and when bucket `n` is added, a key either stays or moves to the new bucket.
 * Here a member of weight `w` owns `round(w * bucketsPerWeight)` consecutive buckets (at least
 * one), members in id order. What that trades, against a ring:
 *
 * - **nothing to store or gossip**: placement is a function of the member list (no vnode ring,
 *   no partition table), and a lookup is O(ln n) with no memory beyond the member list;
 * - **buckets are positional**: the bucket numbers follow the members' id order, so only a
 *   member added *after* every other id (n6 joining n1..n5) moves primaries just to itself
 *   (deeper replicas almost: a key whose walk meets the newcomer twice meets one more old member,
 *   about 5% of the copies that move). A member whose id sorts in the middle (n0, or n10 among
 *   n1..n9: ids compare by code units) shifts the buckets of every member after it, and a
 *   member leaving from anywhere but the end does the same: n2 leaving n1..n5 hands n2's
 *   buckets to n3, n3's to n4, ..., so most keys change owner between members that stayed.
 *   That is why the plugin does not claim `minimalMovement`, and why
 *   `ringforge compare examples/scenarios/leave.json` shows far more handoff than the
 *   consistent-hash ring, and stale reads while it runs (docs/writing-a-plugin.md has the table).
 *
 * Keys are placed by segment, as the bundled rendezvous partitioner does: the 32-bit token
 * space is cut into `segments` equal ranges and jump hash places each segment, so anti-entropy
 * and handoff get whole token ranges to work with. A key's replicas are the members met by
 * successive jump hashes of its segment (draws 0, 1, 2, ...), skipping members already met:
 * first one member of each zone (a zone is named within its datacenter), then the others, the
 * same rule the bundled partitioners follow. A walk that has not met every member after
 * {@link DRAWS_PER_MEMBER} draws per member lists the rest in id order, so every preference
 * list is finite and a longer one always extends a shorter one.
 *
 * @example
 * ```ts
 * import { builtinPlugins, createCluster } from "ringforge";
 * import { jumpHashPlugin } from "./jump-hash.ts";
 *
 * const cluster = await createCluster({ nodes: 5, partitioner: "jump-hash" }, { registry: builtinPlugins.with(jumpHashPlugin) });
 * ```
 *
 * @module
 */
import { z } from "zod";
import {
  choose,
  definePlugin,
  fmix32,
  indexMembers,
  InvalidConfigError,
  InvalidRequestError,
  type MemberInfo,
  murmur3,
  type NodeId,
  parseWith,
  type Partitioner,
  type Plugin,
  type PluginChoice,
  type TokenRange,
} from "ringforge/plugin-kit";

/** Size of the 32-bit token space. */
const RING_SIZE = 2 ** 32;

/**
 * How many jump-hash draws per member a preference-list walk makes before it lists the members
 * it has not met in id order. Only members deep in a list (sloppy quorum's stand-ins, full
 * lists) or of a tiny weight are ever reached that way.
 */
export const DRAWS_PER_MEMBER = 16;

/** The most buckets jump hash takes (its bucket count is a signed 32-bit integer). */
const MAX_BUCKETS = 2 ** 31 - 1;

/** The 64-bit LCG multiplier of the paper's generator, in 32-bit halves and their 16-bit halves. */
const A_HI = 0x27bb2ee6;
const A_LO = 0x87b0b0fd;
const A_LO_0 = A_LO & 0xffff;
const A_LO_1 = A_LO >>> 16;

/**
 * Jump consistent hash, exactly the paper's C++ function, with its 64-bit key given as two
 * unsigned 32-bit halves (JavaScript has no fast 64-bit integers; BigInt allocates).
 *
 * ```c++
 * int32_t JumpConsistentHash(uint64_t key, int32_t num_buckets) {
 *   int64_t b = -1, j = 0;
 *   while (j < num_buckets) {
 *     b = j;
 *     key = key * 2862933555777941757ULL + 1;
 *     j = (b + 1) * (double(1LL << 31) / double((key >> 33) + 1));
 *   }
 *   return b;
 * }
 * ```
 *
 * @param keyHi the key's high 32 bits
 * @param keyLo the key's low 32 bits
 * @param buckets how many buckets, 1 to 2^31 - 1
 * @returns the key's bucket, in `[0, buckets)`
 *
 * @example
 * ```ts
 * jumpConsistentHash(0, 0, 10); // 0: the paper's generator starts key 0 at state 1
 * ```
 */
export function jumpConsistentHash(keyHi: number, keyLo: number, buckets: number): number {
  let hi = keyHi >>> 0;
  let lo = keyLo >>> 0;
  let b = -1;
  let j = 0;
  while (j < buckets) {
    b = j;
    // key = key * A + 1 (mod 2^64). lo * A_LO needs all 64 bits: multiply 16-bit halves so every
    // partial product is exact in a double; hi * A_LO and lo * A_HI only matter mod 2^32.
    const l0 = lo & 0xffff;
    const l1 = lo >>> 16;
    const p00 = l0 * A_LO_0;
    const mid = l0 * A_LO_1 + l1 * A_LO_0 + (p00 >>> 16);
    const low = (((mid & 0xffff) << 16) | (p00 & 0xffff)) >>> 0;
    const carry = l1 * A_LO_1 + Math.floor(mid / 0x10000);
    hi = (carry + Math.imul(hi, A_LO) + Math.imul(lo, A_HI)) >>> 0;
    lo = low + 1;
    if (lo === 0x1_0000_0000) {
      lo = 0;
      hi = (hi + 1) >>> 0;
    }
    // (key >> 33) is the top 31 bits of the new state: hi >>> 1.
    j = Math.floor((b + 1) * (2147483648 / ((hi >>> 1) + 1)));
  }
  return b;
}

/** Options of the jump-hash partitioner. */
export interface JumpHashOptions {
  /**
   * Segments the token space is cut into (integer, 1..65536, default 4096). Jump hash places
   * each segment; all keys of a segment share its replicas, which gives anti-entropy and handoff
   * whole ranges. More segments spread keys more evenly (each bucket gets about
   * `segments / buckets` of them); ranges grow with them.
   */
  readonly segments: number;
  /**
   * Buckets per unit of member weight (integer, 1..1024, default 16): a member of weight `w`
   * owns `round(w * bucketsPerWeight)` buckets, at least one, so weights count to the nearest
   * 1/16 by default. Lookups cost O(ln(total buckets)), so more is nearly free.
   */
  readonly bucketsPerWeight: number;
}

/** Validates {@link JumpHashOptions} from config data, filling in defaults. */
export const jumpHashOptions: z.ZodType<JumpHashOptions, unknown> = z
  .object({
    segments: z.number().int().min(1).max(65536).default(4096),
    bucketsPerWeight: z.number().int().min(1).max(1024).default(16),
  })
  .strict();

/**
 * The jump-hash partitioner: members in id order own consecutive runs of buckets, jump hash
 * picks a bucket for each (segment, draw), and a key's preference list is the members its
 * segment's draws meet, one per zone first.
 *
 * @example
 * ```ts
 * const jump = new JumpHashPartitioner();
 * jump.setMembers([{ id: "a" }, { id: "b", weight: 2 }]);
 * jump.preferenceList("user:42", 2); // ["b", "a"] or ["a", "b"]
 * ```
 */
export class JumpHashPartitioner implements Partitioner {
  /** @inheritDoc */
  readonly name = "jump-hash";
  /** The validated options. */
  readonly options: JumpHashOptions;
  #members: readonly MemberInfo[] = Object.freeze([]);
  /** Member ids in id order (UTF-16 code units): a member's index is its position here. */
  #ids: readonly NodeId[] = [];
  /** One past each member's last bucket, by member index: member m owns [ends[m-1], ends[m]). */
  #bucketEnds: Float64Array = new Float64Array(0);
  #buckets = 0;
  /** Zone (`datacenter/zone`) number of each member, and how many zones there are. */
  #zoneOf: Int32Array = new Int32Array(0);
  #zones = 0;
  // Scratch for walks, so a lookup allocates only its result: a member or zone is met in this
  // walk when its mark equals #walk.
  #memberMarks: Uint32Array = new Uint32Array(0);
  #zoneMarks: Uint32Array = new Uint32Array(0);
  #walk = 0;
  #firsts: Int32Array = new Int32Array(0);
  #rest: Int32Array = new Int32Array(0);

  /**
   * @param options segments and buckets per weight; validated like config data
   * @throws {InvalidConfigError} if the options are out of range
   */
  constructor(options: Partial<JumpHashOptions> = {}) {
    this.options = parseWith(jumpHashOptions, options, "partitioner.options");
  }

  /** @inheritDoc */
  get members(): readonly MemberInfo[] {
    return this.#members;
  }

  /**
   * Replaces the membership: sorts the ids and lays out their buckets (O(n log n)); there is
   * nothing else to build. Jump hash keeps no layout, so `layout` is never given.
   *
   * @throws {InvalidConfigError} on an empty or duplicate id, a weight that is not a finite
   *   number > 0, or weights adding up to more than 2^31 - 1 buckets; the membership is then
   *   unchanged
   */
  setMembers(members: readonly MemberInfo[]): void {
    // The kit's membership check: ids non-empty and unique, weights finite and positive, and
    // the members in id order, so every node lays out the same buckets whatever order it got.
    const { ids, byIndex } = indexMembers(members);
    const ends = new Float64Array(ids.length);
    let buckets = 0;
    for (let m = 0; m < ids.length; m++) {
      buckets += Math.max(1, Math.round((byIndex[m]!.weight ?? 1) * this.options.bucketsPerWeight));
      if (buckets > MAX_BUCKETS) {
        const message =
          `weights add up to more than ${MAX_BUCKETS} jump-hash buckets (${this.options.bucketsPerWeight} per unit of weight)`;
        throw new InvalidConfigError([{ path: `nodes.${ids[m]}.weight`, message }]);
      }
      ends[m] = buckets;
    }
    const zoneNumbers = new Map<string, number>();
    const zoneOf = Int32Array.from(byIndex, (member) => {
      const { datacenter = "", zone = "" } = member;
      const name = `${datacenter}/${zone}`;
      if (!zoneNumbers.has(name)) zoneNumbers.set(name, zoneNumbers.size);
      return zoneNumbers.get(name)!;
    });

    this.#members = Object.freeze([...members]);
    this.#ids = ids;
    this.#bucketEnds = ends;
    this.#buckets = buckets;
    this.#zoneOf = zoneOf;
    this.#zones = zoneNumbers.size;
    this.#memberMarks = new Uint32Array(ids.length);
    this.#zoneMarks = new Uint32Array(zoneNumbers.size);
    this.#walk = 0;
    this.#firsts = new Int32Array(ids.length);
    this.#rest = new Int32Array(ids.length);
  }

  /** The key's token: the 32-bit murmur3 of its UTF-8 bytes, as every bundled partitioner. */
  token(key: string): number {
    return murmur3(key);
  }

  /** The segment holding `token`. */
  segmentOf(token: number): number {
    return Math.floor((token * this.options.segments) / RING_SIZE);
  }

  /**
   * The first `count` members met by the key's segment's jump-hash draws, one per zone first.
   *
   * @throws {InvalidRequestError} if `count` is not a non-negative integer
   */
  preferenceList(key: string, count: number): NodeId[] {
    if (!Number.isInteger(count) || count < 0) {
      throw new InvalidRequestError(`preference list length must be a non-negative integer, got ${count}`, { count });
    }
    return this.#list(this.segmentOf(murmur3(key)), count);
  }

  /**
   * One range per segment with its first `n` replicas, in ascending order.
   *
   * @throws {InvalidRequestError} if `n` is not a non-negative integer
   */
  ranges(n: number): TokenRange[] {
    if (!Number.isInteger(n) || n < 0) throw new InvalidRequestError(`replica count must be a non-negative integer, got ${n}`, { n });
    if (this.#ids.length === 0) return [];
    const s = this.options.segments;
    const end = (i: number) => Math.ceil(((i + 1) * RING_SIZE) / s) - 1;
    const out: TokenRange[] = [];
    let start = end(s - 1);
    for (let i = 0; i < s; i++) {
      out.push({ start, end: end(i), replicas: this.#list(i, n) });
      start = end(i);
    }
    return out;
  }

  /**
   * The walk for `segment`. Its full order is: the first member of each zone met, in the order
   * met, then every other member in the order met; the first `count` of it are known as soon as
   * `count` zones have been met, or every zone and enough others.
   */
  #list(segment: number, count: number): NodeId[] {
    const n = this.#ids.length;
    const want = Math.min(count, n);
    if (want === 0) return [];
    const walk = this.#startWalk();
    const firsts = this.#firsts;
    const rest = this.#rest;
    let nFirsts = 0;
    let nRest = 0;
    const draws = DRAWS_PER_MEMBER * n;
    let draw = 0;
    let next = 0;
    while (nFirsts < want && !(nFirsts === this.#zones && nFirsts + nRest >= want)) {
      let m: number;
      if (draw < draws) {
        // A 64-bit key per (segment, draw), from two rounds of murmur3's finaliser.
        const hi = fmix32(Math.imul(segment + 1, 0x9e3779b1) ^ draw);
        const lo = fmix32(hi ^ Math.imul(draw + 1, 0x85ebca6b));
        m = this.#memberOfBucket(jumpConsistentHash(hi, lo, this.#buckets));
        draw++;
      } else {
        // Out of draws: the members not met yet, in id order (the loop ends before next == n).
        m = next++;
      }
      if (this.#memberMarks[m] === walk) continue;
      this.#memberMarks[m] = walk;
      const zone = this.#zoneOf[m]!;
      if (this.#zoneMarks[zone] === walk) rest[nRest++] = m;
      else {
        this.#zoneMarks[zone] = walk;
        firsts[nFirsts++] = m;
      }
    }
    const list: NodeId[] = new Array(want);
    for (let i = 0; i < want; i++) list[i] = this.#ids[i < nFirsts ? firsts[i]! : rest[i - nFirsts]!]!;
    return list;
  }

  /** The member owning `bucket` (binary search over the bucket ends). */
  #memberOfBucket(bucket: number): number {
    const ends = this.#bucketEnds;
    let low = 0;
    let high = ends.length - 1;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (ends[mid]! > bucket) high = mid;
      else low = mid + 1;
    }
    return low;
  }

  /** Starts a walk: no member or zone is met. */
  #startWalk(): number {
    if (++this.#walk === 0x1_0000_0000) {
      // After 2^32 - 1 walks the marks would alias: clear them once and start over.
      this.#memberMarks.fill(0);
      this.#zoneMarks.fill(0);
      this.#walk = 1;
    }
    return this.#walk;
  }
}

/**
 * The jump-hash partitioner plugin. It claims no `minimalMovement` and no `boundedMovement`: a
 * join whose id does not sort last, or any leave but the last member's, moves keys between
 * members that stayed. It
 * does not take `topology` (per-datacenter replica counts), so it claims no
 * `datacenterReplicas`; replicas still spread over zones, which the suite checks for every
 * partitioner.
 */
export const jumpHashPlugin: Plugin<JumpHashOptions, "partitioner", undefined> = definePlugin({
  family: "partitioner",
  name: "jump-hash",
  description:
    "Google's jump consistent hash over members in id order: no ring, O(ln n) lookups; a join or leave not last in id order moves most keys.",
  capabilities: { minimalMovement: false },
  options: jumpHashOptions,
  create: (_context, options) => new JumpHashPartitioner(options),
});

/**
 * Chooses jump hash, for `store().use(...)` (which adds the plugin to the store's registry).
 *
 * @example
 * ```ts
 * const cluster = await store().nodes(5).use(jumpHash({ segments: 1024 })).cluster();
 * ```
 */
export function jumpHash(options?: Partial<JumpHashOptions>): PluginChoice<JumpHashOptions> {
  return choose(jumpHashPlugin, options);
}
