/**
 * Weighted rendezvous (highest random weight) hashing: Thaler and Ravishankar, "Using
 * Name-Based Mappings to Increase Hit Rates" (1998), with the logarithmic weighting of
 * Schindelhauer and Schomaker ("Weighted Distributed Hash Tables", 2005).
 *
 * @module
 */
import { z } from "zod";
import { choose, definePlugin, parseWith, type Plugin, type PluginChoice } from "../../core/build/plugin.ts";
import { InvalidRequestError } from "../../core/errors.ts";
import { murmur3 } from "../../core/hash/murmur3.ts";
import { type MemberInfo, type Partitioner, type TokenRange } from "../../core/interfaces/partitioner.ts";
import type { NodeId } from "../../core/model/sibling.ts";
import { type IndexedMembers, indexMembers, mix32 } from "../../core/model/members.ts";
import { ReplicaPlacement, type TopologyOptions, topologyOptions } from "../../core/model/placement.ts";
import * as exactMath from "../../core/model/exact-math.ts";

/** Size of the token space. */
const RING_SIZE = 2 ** 32;

/** Options of the rendezvous partitioner. */
export interface RendezvousOptions {
  /**
   * Segments the token space is cut into (integer, 1..65536, default 4096). Rendezvous hashing
   * ranks the members for each segment; all keys of a segment share its ranking, which gives
   * anti-entropy and handoff whole ranges to work with. More segments spread load more evenly;
   * ranges grow with them.
   */
  readonly segments: number;
  /** Zone and datacenter placement ({@link TopologyOptions}). */
  readonly topology?: TopologyOptions;
}

/** Validates {@link RendezvousOptions} from config data, filling in defaults. */
export const rendezvousOptions: z.ZodType<RendezvousOptions, unknown> = z
  .object({
    segments: z.number().int().min(1).max(65536).default(4096),
    topology: topologyOptions.optional(),
  })
  .strict();

/**
 * Rendezvous hashing: for a key's segment, every member draws a pseudo-random score, and the
 * preference list is the members by descending score. Member `i` of weight `w` scores
 * `w / -ln(u)` with `u` uniform in (0, 1) from a hash of (member, segment), so it ranks first
 * with probability `w / sum(w)`: weights are honoured exactly in expectation.
 *
 * The trade-off against a ring: no metadata at all (nothing but the member list), and exactly
 * minimal movement (a joining member is only inserted into each segment's ranking), but each
 * lookup scores every member: O(n) per request, where a ring does a binary search.
 *
 * @example
 * ```ts
 * const hrw = new RendezvousPartitioner();
 * hrw.setMembers([{ id: "a" }, { id: "b", weight: 2 }]);
 * hrw.preferenceList("user:42", 2); // ["b", "a"] or ["a", "b"]
 * ```
 */
export class RendezvousPartitioner implements Partitioner {
  /** @inheritDoc */
  readonly name = "rendezvous";
  /** The validated options. */
  readonly options: RendezvousOptions;
  #members: readonly MemberInfo[] = Object.freeze([]);
  #index: IndexedMembers = indexMembers([]);
  /** murmur3 of each member id, by member index. */
  #hashes: Uint32Array = new Uint32Array(0);
  #placement: ReplicaPlacement = new ReplicaPlacement([]);
  /** Scratch scores, one per member. */
  #scores: Float64Array = new Float64Array(0);

  /**
   * @param options segments and placement; validated like config data
   * @throws {InvalidConfigError} if the options are out of range
   */
  constructor(options: Partial<RendezvousOptions> = {}) {
    this.options = parseWith(rendezvousOptions, options, "partitioner.options");
  }

  /** @inheritDoc */
  get members(): readonly MemberInfo[] {
    return this.#members;
  }

  /**
   * Replaces the membership: nothing to build but the member index (O(n log n)).
   *
   * @throws {InvalidConfigError} on an empty or duplicate id or a weight that is not a finite
   *   positive number
   */
  setMembers(members: readonly MemberInfo[]): void {
    const index = indexMembers(members);
    this.#members = Object.freeze([...members]);
    this.#index = index;
    this.#hashes = Uint32Array.from(index.ids, (id) => murmur3(id));
    this.#placement = new ReplicaPlacement(index.byIndex, this.options.topology);
    this.#scores = new Float64Array(index.ids.length);
  }

  /** @inheritDoc */
  token(key: string): number {
    return murmur3(key);
  }

  /** The segment holding `token`. */
  segmentOf(token: number): number {
    return Math.floor((token * this.options.segments) / RING_SIZE);
  }

  /**
   * The members by descending score for the key's segment (arranged by zone and datacenter
   * when members carry them).
   *
   * @throws {InvalidRequestError} if `count` is not a non-negative integer
   */
  preferenceList(key: string, count: number): NodeId[] {
    if (!Number.isInteger(count) || count < 0) {
      throw new InvalidRequestError(`preference list length must be a non-negative integer, got ${count}`, { count });
    }
    if (this.#index.ids.length === 0) return [];
    return this.#list(this.segmentOf(murmur3(key)), count);
  }

  /**
   * One range per segment with its first `n` replicas, in ascending order.
   *
   * @throws {InvalidRequestError} if `n` is not a non-negative integer
   */
  ranges(n: number): TokenRange[] {
    if (!Number.isInteger(n) || n < 0) throw new InvalidRequestError(`replica count must be a non-negative integer, got ${n}`, { n });
    if (this.#index.ids.length === 0) return [];
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

  #list(segment: number, count: number): NodeId[] {
    const ids = this.#index.ids;
    const n = ids.length;
    const scores = this.#scores;
    const weights = this.#index.weights;
    for (let m = 0; m < n; m++) {
      // u in (0, 1): never 0 (log would be -Infinity) nor 1 (a zero denominator). The log is
      // exactMath's, not Math's, whose last bit differs between runtimes: a Node node and a
      // Deno node of one cluster must rank the members alike, ties included.
      const u = (mix32(this.#hashes[m]!, segment) + 0.5) / RING_SIZE;
      scores[m] = weights[m]! / -exactMath.log(u);
    }
    const better = (a: number, b: number) => scores[a]! > scores[b]! || (scores[a] === scores[b] && a < b);
    if (this.#placement.active && count > 0) {
      const order = Array.from({ length: n }, (_, m) => m).sort((a, b) => (better(a, b) ? -1 : better(b, a) ? 1 : 0));
      return this.#placement.arrange(order, count).map((m) => ids[m]!);
    }
    // The top `count` by insertion into a short sorted list: O(n * count), no full sort.
    const length = Math.min(count, n);
    const top: number[] = [];
    for (let m = 0; m < n; m++) {
      if (top.length === length && !better(m, top[length - 1]!)) continue;
      let i = top.length === length ? length - 1 : top.length;
      if (top.length < length) top.push(m);
      while (i > 0 && better(m, top[i - 1]!)) {
        top[i] = top[i - 1]!;
        i--;
      }
      top[i] = m;
    }
    return top.map((m) => ids[m]!);
  }
}

/** The rendezvous partitioner plugin. */
export const rendezvousPlugin: Plugin<RendezvousOptions, "partitioner", undefined> = definePlugin({
  family: "partitioner",
  name: "rendezvous",
  description: "Weighted highest-random-weight hashing per segment: no ring metadata, exactly minimal movement, O(n) lookups.",
  capabilities: { minimalMovement: true, boundedMovement: true, datacenterReplicas: true },
  options: rendezvousOptions,
  create: (_context, options) => new RendezvousPartitioner(options),
});

/**
 * Chooses rendezvous hashing.
 *
 * @example
 * ```ts
 * const cluster = await store().nodes(5).use(rendezvous({ segments: 1024 })).cluster();
 * ```
 */
export function rendezvous(options?: Partial<RendezvousOptions>): PluginChoice<RendezvousOptions> {
  return choose(rendezvousPlugin, options);
}
