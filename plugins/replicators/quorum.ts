/**
 * Strict quorum replication: N replicas from the preference list, R replies for a read, W
 * acknowledgements for a write (Dynamo §4.5 without the sloppiness), with read repair.
 *
 * @module
 */
import { z } from "zod";
import { QuorumNotReachedError, RemoteError, RingforgeError, TimeoutError } from "../../core/errors.ts";
import { choose, definePlugin, type Plugin, type PluginChoice } from "../../core/build/plugin.ts";
import { sameSiblings } from "../../core/model/sibling.ts";
import { isRecordBoundError } from "../../core/model/limits.ts";
import { type ConflictResolver } from "../../core/interfaces/conflict-resolver.ts";
import { type Logger } from "../../core/interfaces/logger.ts";
import { type Partitioner } from "../../core/interfaces/partitioner.ts";
import {
  type ReadOutcome,
  type ReplicaClient,
  type ReplicatedRead,
  type ReplicatedWrite,
  type Replicator,
  type WriteOutcome,
} from "../../core/interfaces/replicator.ts";
import type { NodeId, SiblingSet } from "../../core/model/sibling.ts";
import type { AckGroup } from "../../core/interfaces/replicator.ts";

/** Options of the {@link QuorumReplicator}. */
export interface QuorumOptions {
  /**
   * After a read, send the merged record to every replica that answered with an older or
   * missing one (Dynamo §4.5's read repair). Default true.
   */
  readonly readRepair: boolean;
}

const optionsSchema: z.ZodType<QuorumOptions, unknown> = z
  .object({
    readRepair: z.boolean().default(true),
  })
  .strict();

/** How a write is routed beyond its targets (see {@link QuorumReplicator.write}). */
export interface WriteRoute {
  /** Targets that hold the write for another node (target -> owner it stands in for). */
  readonly standIns: ReadonlyMap<NodeId, NodeId>;
  /** Nodes that take over, in order, when a write to a target fails; consumed as used. */
  readonly spares: NodeId[];
}

/** Counters a replicator keeps, for tests, the lab and metrics. */
export interface QuorumStats {
  /** Replica writes sent by read repair. */
  readRepairs: number;
  /**
   * Read-repair writes that failed, including those a replica refused because the merged
   * record would pass its bounds (`maxSiblings`, `maxRecordBytes`): the read never fails for
   * them, and the record stays as it was until a client resolves its siblings.
   */
  readRepairFailures: number;
}

/** What a {@link QuorumReplicator} uses of its node. */
export interface QuorumDeps {
  /** Key placement: targets are its preference list. */
  readonly partitioner: Partitioner;
  /** How replicas are reached. */
  readonly replicas: ReplicaClient;
  /** Merges replies (reads, read repair). */
  readonly resolver: ConflictResolver;
  /** Where refused repairs are reported. */
  readonly logger: Logger;
}

/**
 * The strict quorum replicator: a key's replicas are the first N nodes of its preference list,
 * whether they are up or not. A request succeeds once R (reads) or W (writes) of them answer;
 * with R + W > N every read overlaps every acknowledged write. When too many replicas are down
 * requests fail rather than write elsewhere: consistency over availability. (The sloppy quorum
 * replicator makes the other choice.)
 *
 * @example
 * ```ts
 * const cluster = await store().replication({ n: 3, r: 2, w: 2 }).use(quorum({ readRepair: true })).cluster();
 * ```
 */
export class QuorumReplicator implements Replicator {
  readonly name: string = "quorum";
  /** Counters since the node started. */
  readonly stats: QuorumStats = { readRepairs: 0, readRepairFailures: 0 };

  protected readonly partitioner: Partitioner;
  protected readonly client: ReplicaClient;
  protected readonly resolver: ConflictResolver;
  protected readonly logger: Logger;

  /**
   * @param options read repair
   * @param deps the node's partitioner, how it reaches replicas, its resolver and log (a plugin
   *   context has them all)
   */
  constructor(
    protected readonly options: QuorumOptions,
    deps: QuorumDeps,
  ) {
    this.partitioner = deps.partitioner;
    this.client = deps.replicas;
    this.resolver = deps.resolver;
    this.logger = deps.logger;
  }

  targets(key: string, n: number): NodeId[] {
    return this.partitioner.preferenceList(key, n);
  }

  /**
   * Sends the write to every target but the coordinator (which stored it already) and settles
   * at the deciding answer: W acknowledgements, or too many failures for W. Subclasses change
   * where writes go by overriding the protected `route` and `sendHinted`; the counting stays
   * here.
   */
  write(request: ReplicatedWrite): Promise<WriteOutcome> {
    const { key, siblings, targets, storedOn, w, timeoutMs, operation } = request;
    const { standIns, spares } = this.route(request);
    const groups = new GroupTally(request.groups);
    return new Promise<WriteOutcome>((resolve, reject) => {
      let acks = 0;
      let pending = 0;
      const failures: RingforgeError[] = [];
      let settled = false;
      const check = () => {
        if (settled) return;
        const short = groups.unreachable();
        if (acks >= w && groups.met()) {
          settled = true;
          resolve({ acknowledged: acks });
        } else if (acks + pending < w) {
          settled = true;
          reject(quorumFailure(operation, w, acks, targets.length, failures, timeoutMs));
        } else if (short) {
          settled = true;
          reject(quorumFailure(operation, short.required, short.acks, short.nodes.length, failures, timeoutMs, short.name));
        }
      };
      /** Sends to `node` (hinted for `owner` when given); on failure, hands over to a spare. */
      const send = (node: NodeId, owner: NodeId | undefined) => {
        pending++;
        // A stand-in's answer counts for the group of the node it stands in for.
        const member = owner ?? node;
        groups.sent(member);
        const sent = owner === undefined
          ? this.client.write(node, key, siblings, timeoutMs)
          : this.sendHinted(node, owner, key, siblings, timeoutMs);
        sent.then(
          () => {
            acks++;
            pending--;
            groups.answered(member);
            check();
          },
          (error: unknown) => {
            pending--;
            groups.failed(member);
            failures.push(asRingforgeError(error, node));
            // The write meant for an owner (or held for one) goes to the next spare, if any;
            // not one a replica refused for the record bounds: the owner would refuse the
            // spare's hint again at every delivery.
            const spare = isRecordBoundError(error) ? undefined : spares.shift();
            if (spare !== undefined) send(spare, owner ?? node);
            check();
          },
        );
      };
      for (const target of targets) {
        const owner = standIns.get(target);
        if (target !== storedOn) send(target, owner);
        else if (owner === undefined) {
          acks++; // the coordinator stored it already
          groups.sent(target);
          groups.answered(target);
        } else send(target, owner); // ... and, standing in for an owner, keeps the hint too
      }
      check();
    });
  }

  /**
   * Where a write goes besides its targets. Strict quorum: nowhere — no target stands in for
   * another node, and a failed target is not replaced.
   */
  protected route(_request: ReplicatedWrite): WriteRoute {
    return { standIns: new Map(), spares: [] };
  }

  /** Sends a write that `node` keeps for `owner`. Strict quorum never hints. */
  protected sendHinted(node: NodeId, owner: NodeId, _key: string, _siblings: SiblingSet, _timeoutMs: number): Promise<void> {
    return Promise.reject(new RingforgeError("RINGFORGE_INVALID_REQUEST", `strict quorum cannot hint ${node} for ${owner}`));
  }

  read(request: ReplicatedRead): Promise<ReadOutcome> {
    const { key, targets, r, timeoutMs } = request;
    const groups = new GroupTally(request.groups);
    for (const target of targets) groups.sent(target);
    return new Promise<ReadOutcome>((resolve, reject) => {
      const replies = new Map<NodeId, SiblingSet>();
      const failures: RingforgeError[] = [];
      let pending = targets.length;
      let settled = false;
      const merged = () => {
        let result: SiblingSet = [];
        for (const siblings of replies.values()) result = this.resolver.merge(result, siblings);
        return result;
      };
      const check = () => {
        // Runs inside replica callbacks: anything it throws (a reply whose versions the
        // resolver cannot merge) must settle the read, never leave it hanging.
        try {
          if (!settled) {
            const short = groups.unreachable();
            if (replies.size >= r && groups.met()) {
              const siblings = merged();
              settled = true;
              resolve({ siblings, replied: replies.size });
            } else if (replies.size + pending < r) {
              settled = true;
              reject(quorumFailure("get", r, replies.size, targets.length, failures, timeoutMs));
            } else if (short) {
              settled = true;
              reject(quorumFailure("get", short.required, short.acks, short.nodes.length, failures, timeoutMs, short.name));
            }
          }
        } catch (error) {
          settled = true;
          reject(asRingforgeError(error, `merge of replies for "${key}"`));
          return;
        }
        // Repair once every replica has answered or failed, with everything that was learned.
        if (pending === 0 && this.options.readRepair && replies.size > 0) {
          try {
            this.#repair(key, replies, merged(), timeoutMs);
          } catch (error) {
            this.logger.warn("read repair skipped", { key, error: String(error) });
          }
        }
      };
      for (const target of targets) {
        this.client.read(target, key, timeoutMs).then(
          (siblings) => {
            replies.set(target, siblings);
            pending--;
            groups.answered(target);
            check();
          },
          (error: unknown) => {
            pending--;
            groups.failed(target);
            failures.push(asRingforgeError(error, target));
            check();
          },
        );
      }
      if (targets.length === 0) check();
    });
  }

  #repair(key: string, replies: ReadonlyMap<NodeId, SiblingSet>, merged: SiblingSet, timeoutMs: number): void {
    if (merged.length === 0) return;
    for (const [node, siblings] of replies) {
      if (sameSiblings(siblings, merged)) continue;
      this.stats.readRepairs++;
      this.client.write(node, key, merged, timeoutMs).catch((error: unknown) => {
        this.stats.readRepairFailures++;
        // A refusal for the bounds is worth an operator's attention (a key whose siblings
        // nobody resolves); a replica that is down or slow is not.
        if (isRecordBoundError(error)) this.logger.warn("read repair refused", { key, node, error: error.message });
        else this.logger.debug("read repair failed", { key, node, error: String(error) });
      });
    }
  }
}

/** A replica's failure as a typed error (untyped ones become {@link RemoteError}). */
function asRingforgeError(error: unknown, where: string): RingforgeError {
  if (error instanceof RingforgeError) return error;
  return new RemoteError(where, error instanceof Error ? error.message : String(error));
}

/**
 * A request that cannot reach its quorum: a timeout if only timeouts stood in the way (the
 * replicas may just be slow), otherwise the quorum error naming each failure. `datacenter`
 * names the group whose quorum failed, for per-datacenter consistency.
 */
function quorumFailure(
  operation: "get" | "put" | "delete",
  required: number,
  acknowledged: number,
  targets: number,
  failures: readonly RingforgeError[],
  timeoutMs: number,
  datacenter?: string,
): RingforgeError {
  const where = datacenter === undefined ? {} : { datacenter };
  if (failures.length > 0 && failures.every((f) => f instanceof TimeoutError)) {
    return new TimeoutError(operation, timeoutMs, { required, acknowledged, targets, ...where });
  }
  return new QuorumNotReachedError(operation, required, acknowledged, targets, failures.map((f) => f.message), datacenter);
}

/** Answers per group of targets (per-datacenter quorums): met, or no longer reachable. */
class GroupTally {
  readonly #groups: {
    readonly name: string;
    readonly nodes: readonly NodeId[];
    readonly required: number;
    acks: number;
    pending: number;
  }[];
  readonly #of = new Map<NodeId, number[]>();

  constructor(groups: readonly AckGroup[] = []) {
    this.#groups = groups.map((g) => ({ ...g, acks: 0, pending: 0 }));
    this.#groups.forEach((g, i) => {
      for (const node of g.nodes) this.#of.set(node, [...(this.#of.get(node) ?? []), i]);
    });
  }

  sent(node: NodeId): void {
    for (const i of this.#of.get(node) ?? []) this.#groups[i]!.pending++;
  }

  answered(node: NodeId): void {
    for (const i of this.#of.get(node) ?? []) {
      this.#groups[i]!.pending--;
      this.#groups[i]!.acks++;
    }
  }

  failed(node: NodeId): void {
    for (const i of this.#of.get(node) ?? []) this.#groups[i]!.pending--;
  }

  /** True if every group has its answers. */
  met(): boolean {
    return this.#groups.every((g) => g.acks >= g.required);
  }

  /** A group that can no longer reach its quorum, if any. */
  unreachable(): { name: string; nodes: readonly NodeId[]; required: number; acks: number } | undefined {
    return this.#groups.find((g) => g.acks + g.pending < g.required);
  }
}

/** The strict quorum replicator plugin. */
export const quorumPlugin: Plugin<QuorumOptions, "replicator", undefined> = definePlugin({
  family: "replicator",
  name: "quorum",
  description: "Strict quorum over the first N nodes of the preference list, with read repair; fails rather than write elsewhere.",
  capabilities: { preferenceListTargets: true, readRepair: true },
  options: optionsSchema,
  create: (context, options) => new QuorumReplicator(options, context),
});

/**
 * Chooses strict quorum replication.
 *
 * @example
 * ```ts
 * const cluster = await store().use(quorum({ readRepair: false })).cluster();
 * ```
 */
export function quorum(options: Partial<QuorumOptions> = {}): PluginChoice<QuorumOptions> {
  return choose(quorumPlugin, options);
}
