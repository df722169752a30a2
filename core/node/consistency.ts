/**
 * Per-datacenter consistency (Cassandra's LOCAL_QUORUM and EACH_QUORUM): which answers a
 * request waits for, as quorum groups the replicator counts.
 *
 * @module
 */
import { InvalidRequestError } from "../errors.ts";
import type { MemberInfo } from "../interfaces/partitioner.ts";
import type { AckGroup } from "../interfaces/replicator.ts";
import type { NodeId } from "../model/sibling.ts";
import type { QuorumConsistency } from "../model/settings.ts";

/** What a request waits for: `count` answers in all, and each group's quorum if any. */
export interface QuorumPlan {
  /** Answers in all (R or W, or the sum of the groups' quorums). */
  readonly count: number;
  /** Quorums per datacenter; absent for `count` consistency. */
  readonly groups?: AckGroup[];
}

/**
 * The plan of a request: `count` as given for `count` consistency; otherwise a majority of the
 * key's replicas in the coordinator's datacenter (`local-quorum`) or in every datacenter that
 * holds some (`each-quorum`).
 *
 * @param targets the key's replicas
 * @param members the ring's members (their datacenters)
 * @param coordinator the coordinating node, with its datacenter
 * @throws {InvalidRequestError} for a consistency this coordinator or key cannot meet (no
 *   datacenter label, or no replica of the key in it)
 *
 * @example
 * ```ts
 * quorumPlan("each-quorum", ["a1", "a2", "b1"], members, { id: "a1", datacenter: "dc1" }, 2);
 * // { count: 3, groups: [{ name: "dc1", nodes: ["a1", "a2"], required: 2 }, { name: "dc2", nodes: ["b1"], required: 1 }] }
 * ```
 */
export function quorumPlan(
  consistency: QuorumConsistency,
  targets: readonly NodeId[],
  members: readonly MemberInfo[],
  coordinator: MemberInfo,
  count: number,
): QuorumPlan {
  if (consistency === "count") return { count };
  const dcOf = new Map(members.map((m) => [m.id, m.datacenter ?? ""]));
  const byDc = new Map<string, NodeId[]>();
  for (const t of targets) {
    const dc = dcOf.get(t) ?? "";
    byDc.set(dc, [...(byDc.get(dc) ?? []), t]);
  }
  const quorum = (name: string, nodes: NodeId[]): AckGroup => ({ name, nodes, required: Math.floor(nodes.length / 2) + 1 });
  let groups: AckGroup[];
  if (consistency === "local-quorum") {
    const local = coordinator.datacenter;
    if (local === undefined) throw new InvalidRequestError(`local-quorum needs node ${coordinator.id} to have a datacenter`);
    const nodes = byDc.get(local);
    if (!nodes) throw new InvalidRequestError(`local-quorum: no replica of the key is in datacenter ${local}`, { datacenter: local });
    groups = [quorum(local, nodes)];
  } else {
    groups = [...byDc].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([dc, nodes]) => quorum(dc, nodes));
  }
  return { count: groups.reduce((sum, g) => sum + g.required, 0), groups };
}
