/**
 * Static membership: the configured members, all always up. For tests and for clusters whose
 * membership never changes; it detects no failures.
 *
 * @module
 */
import { z } from "zod";
import { choose, definePlugin, type Plugin, type PluginChoice } from "../../core/build/plugin.ts";
import { type FailureDetector, type MembershipEvent, type MemberState } from "../../core/interfaces/failure-detector.ts";
import type { MemberInfo } from "../../core/interfaces/partitioner.ts";
import type { NodeId } from "../../core/model/sibling.ts";

/**
 * A {@link FailureDetector} that reports the configured members as up, forever. Requests to a
 * crashed node then fail by timeout instead of being routed around it: use a real detector
 * (gossip, phi-accrual, SWIM) where nodes fail.
 *
 * @example
 * ```ts
 * const cluster = await createCluster({ nodes: 3, detector: "static" }); // members always up
 * ```
 */
export class StaticMembership implements FailureDetector {
  readonly #members: readonly MemberState[];
  readonly #ids: ReadonlySet<NodeId>;

  /**
   * @param self this node's id (added to the members if missing)
   * @param members the configured members
   */
  constructor(self: NodeId, members: readonly MemberInfo[]) {
    let shared = upLists.get(members);
    // Made from this very array, but checked again: a caller may have changed it since.
    if (!shared || !sameEntries(shared.source, members)) upLists.set(members, shared = upList(members));
    // Every configured node shares one frozen list (a cluster of n nodes built n of n entries
    // each); a node that is not configured (one that will join) gets its own with itself added.
    const list = shared.ids.has(self) ? shared : upList([...members, { id: self }]);
    this.#members = list.members;
    this.#ids = list.ids;
  }

  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  members(): readonly MemberState[] {
    return this.#members;
  }

  isAlive(node: NodeId): boolean {
    return this.#ids.has(node);
  }

  onChange(_listener: (event: MembershipEvent) => void): () => void {
    return () => {};
  }
}

/** The members as always up, and their ids. */
interface UpList {
  /** The entries it was made from, as they were then. */
  readonly source: readonly MemberInfo[];
  readonly members: readonly MemberState[];
  readonly ids: ReadonlySet<NodeId>;
}

/** True if both lists hold the same entry objects in the same order. */
function sameEntries(a: readonly MemberInfo[], b: readonly MemberInfo[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Lists already made, by the configured members they were made from (a store's one array). */
const upLists = new WeakMap<readonly MemberInfo[], UpList>();

function upList(members: readonly MemberInfo[]): UpList {
  return {
    source: [...members],
    members: Object.freeze(members.map((m) => Object.freeze({ ...m, status: "up" as const }))),
    ids: new Set(members.map((m) => m.id)),
  };
}

/** Options of static membership (none). */
export type StaticMembershipOptions = Record<string, never>;

/** The static membership plugin. */
export const staticMembershipPlugin: Plugin<StaticMembershipOptions, "detector", undefined> = definePlugin({
  family: "detector",
  name: "static",
  description: "The configured members, always up; detects nothing (tests, fixed clusters).",
  options: z.object({}).strict() as z.ZodType<StaticMembershipOptions, unknown>,
  create: ({ settings, members }) => new StaticMembership(settings.id, members),
});

/**
 * Chooses static membership.
 *
 * @example
 * ```ts
 * const cluster = await store().use(staticMembership()).cluster();
 * ```
 */
export function staticMembership(): PluginChoice<StaticMembershipOptions> {
  return choose(staticMembershipPlugin) as PluginChoice<StaticMembershipOptions>;
}
