/**
 * Topology-aware placement for partitioners (the bundled ones, and any written against the
 * plugin kit): replicas spread over zones (racks), and a fixed number of replicas per
 * datacenter (Cassandra's NetworkTopologyStrategy).
 *
 * @module
 */
import { z } from "zod";
import type { MemberInfo } from "../interfaces/partitioner.ts";

/** Where replicas go, beyond the partitioner's own order (partitioner option `topology`). */
export interface TopologyOptions {
  /**
   * Replicas per datacenter, e.g. `{ "dc1": 3, "dc2": 2 }`: every key gets that many replicas
   * in each listed datacenter (fewer where a datacenter has fewer nodes), and the store's N
   * should be their sum. Nodes of unlisted datacenters hold no replicas, only stand in for
   * them under sloppy quorum. Default: none, so N replicas are placed wherever the
   * partitioner's order puts them, spread over zones.
   */
  readonly replicasPerDatacenter?: Readonly<Record<string, number>>;
}

/** Validates {@link TopologyOptions} from config data. */
export const topologyOptions: z.ZodType<TopologyOptions, unknown> = z
  .object({
    replicasPerDatacenter: z.record(z.string().min(1), z.number().int().min(1).max(64)).optional(),
  })
  .strict();

/**
 * Turns a partitioner's natural order of members for a key (its "walk": every member once)
 * into the preference order, given the members' zones and datacenters.
 *
 * The preference order is one fixed sequence per key, so a shorter list is always a prefix of
 * a longer one (sloppy quorum walks further along the same sequence):
 *
 * - **zones only**: the first member of each zone met in the walk, in walk order, then the
 *   others in walk order. With Z zones and N <= Z, the N replicas sit in N different zones.
 *   A zone is named within its datacenter (`dc/zone`), so zones also spread datacenters.
 * - **replicas per datacenter**: in each listed datacenter, the first `k` of that
 *   datacenter's members in zone-spread order are the key's replicas; they come first, in walk
 *   order, followed by every other member in zone-spread order.
 *
 * With no zone, datacenter or per-datacenter option anywhere, the walk is the order, and the
 * partitioners skip this class entirely on their hot path.
 */
export class ReplicaPlacement {
  /** True if placement changes anything: some member has a zone or datacenter, or factors are set. */
  readonly active: boolean;
  /** Zone key (`dc/zone`) by member index. */
  readonly #zoneOf: readonly string[];
  /** Datacenter by member index. */
  readonly #dcOf: readonly string[];
  readonly #factors: readonly (readonly [datacenter: string, replicas: number])[];

  /**
   * @param members the members in member-index order (the partitioner's own indexing)
   * @param options per-datacenter replicas
   */
  constructor(members: readonly MemberInfo[], options: TopologyOptions = {}) {
    this.#zoneOf = members.map((m) => `${m.datacenter ?? ""}/${m.zone ?? ""}`);
    this.#dcOf = members.map((m) => m.datacenter ?? "");
    this.#factors = Object.entries(options.replicasPerDatacenter ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    this.active = this.#factors.length > 0 || members.some((m) => m.zone !== undefined || m.datacenter !== undefined);
  }

  /**
   * The first `count` members of the preference order, from `walk` (member indices, every
   * member once, in the partitioner's order for the key).
   */
  arrange(walk: readonly number[], count: number): number[] {
    if (this.#factors.length === 0) return this.#spread(walk).slice(0, count);
    const chosen = new Set<number>();
    for (const [dc, replicas] of this.#factors) {
      const local = this.#spread(walk.filter((m) => this.#dcOf[m] === dc));
      for (let i = 0; i < replicas && i < local.length; i++) chosen.add(local[i]!);
    }
    const head = walk.filter((m) => chosen.has(m));
    if (head.length >= count) return head.slice(0, count);
    return [...head, ...this.#spread(walk.filter((m) => !chosen.has(m)))].slice(0, count);
  }

  /** The member's datacenter (`""` if it has none). */
  datacenterOf(member: number): string {
    return this.#dcOf[member]!;
  }

  /** First member of each zone in order, then the rest in order. */
  #spread(order: readonly number[]): number[] {
    const seen = new Set<string>();
    const first: number[] = [];
    const rest: number[] = [];
    for (const m of order) {
      const zone = this.#zoneOf[m]!;
      if (seen.has(zone)) rest.push(m);
      else {
        seen.add(zone);
        first.push(m);
      }
    }
    return first.length === order.length ? first : [...first, ...rest];
  }
}
