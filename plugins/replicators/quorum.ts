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
    return new WriteRound(request, this.route(request), this.#deliver).start();
  }

  /** Sends one replica write: to `node` itself, or hinted, for `owner` to have later. */
  readonly #deliver: Deliver = (node, owner, key, siblings, timeoutMs) =>
    owner === undefined ? this.client.write(node, key, siblings, timeoutMs) : this.sendHinted(node, owner, key, siblings, timeoutMs);

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
    return new ReadRound(request, this.client, this.resolver, this.options.readRepair ? this.#repairs : undefined, this.logger).start();
  }

  readonly #repairs: Repair = (key, replies, merged, timeoutMs) => this.#repair(key, replies, merged, timeoutMs);

  #repair(key: string, replies: ReadonlyMap<NodeId, SiblingSet>, merged: SiblingSet, timeoutMs: number): void {
    // With one reply no two replicas were seen to differ: there is nothing to repair. (Its
    // merge with nothing could only differ in form, a record an older version stored: that is
    // rewritten by the next write or a read that reaches two replicas, not worth a write here.)
    if (merged.length === 0 || replies.size < 2) return;
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

/** Sends one replica write to `node`, or, with an `owner`, a hint that `node` keeps for it. */
type Deliver = (node: NodeId, owner: NodeId | undefined, key: string, siblings: SiblingSet, timeoutMs: number) => Promise<void>;

/** Sends the merge of a read's replies to the replicas that answered with something else. */
type Repair = (key: string, replies: ReadonlyMap<NodeId, SiblingSet>, merged: SiblingSet, timeoutMs: number) => void;

/**
 * One write in flight: sends to every target but the coordinator (which stored it already)
 * and settles at the deciding answer, W acknowledgements or too many failures for W. (A class
 * rather than closures: a request allocates one object, not one function per step.)
 */
class WriteRound {
  #acks = 0;
  #pending = 0;
  #settled = false;
  readonly #failures: RingforgeError[] = [];
  readonly #groups: GroupTally | undefined;
  #resolve!: (outcome: WriteOutcome) => void;
  #reject!: (error: RingforgeError) => void;

  constructor(
    readonly request: ReplicatedWrite,
    readonly route: WriteRoute,
    readonly deliver: Deliver,
  ) {
    this.#groups = GroupTally.of(request.groups);
  }

  start(): Promise<WriteOutcome> {
    const promise = new Promise<WriteOutcome>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    const { targets, storedOn } = this.request;
    for (const target of targets) {
      const owner = this.route.standIns.get(target);
      if (target !== storedOn) this.#send(target, owner);
      else if (owner === undefined) {
        this.#acks++; // the coordinator stored it already
        this.#groups?.sent(target);
        this.#groups?.answered(target);
      } else this.#send(target, owner); // ... and, standing in for an owner, keeps the hint too
    }
    this.#check();
    return promise;
  }

  /** Sends to `node` (hinted for `owner` when given); on failure, hands over to a spare. */
  #send(node: NodeId, owner: NodeId | undefined): void {
    this.#pending++;
    // A stand-in's answer counts for the group of the node it stands in for.
    const member = owner ?? node;
    this.#groups?.sent(member);
    const { key, siblings, timeoutMs } = this.request;
    this.deliver(node, owner, key, siblings, timeoutMs).then(
      () => {
        this.#acks++;
        this.#pending--;
        this.#groups?.answered(member);
        this.#check();
      },
      (error: unknown) => {
        this.#pending--;
        this.#groups?.failed(member);
        this.#failures.push(asRingforgeError(error, node));
        // The write meant for an owner (or held for one) goes to the next spare, if any;
        // not one a replica refused for the record bounds: the owner would refuse the
        // spare's hint again at every delivery.
        const spare = isRecordBoundError(error) ? undefined : this.route.spares.shift();
        if (spare !== undefined) this.#send(spare, member);
        this.#check();
      },
    );
  }

  #check(): void {
    if (this.#settled) return;
    const { w, operation, targets, timeoutMs } = this.request;
    const short = this.#groups?.unreachable();
    if (this.#acks >= w && (this.#groups?.met() ?? true)) {
      this.#settled = true;
      this.#resolve({ acknowledged: this.#acks });
    } else if (this.#acks + this.#pending < w) {
      this.#settled = true;
      this.#reject(quorumFailure(operation, w, this.#acks, targets.length, this.#failures, timeoutMs));
    } else if (short) {
      this.#settled = true;
      this.#reject(quorumFailure(operation, short.required, short.acks, short.nodes.length, this.#failures, timeoutMs, short.name));
    }
  }
}

/**
 * One read in flight: asks every target, answers with the merge once R have replied, and,
 * with read repair, repairs once every target has answered or failed.
 */
class ReadRound {
  readonly #replies = new Map<NodeId, SiblingSet>();
  readonly #failures: RingforgeError[] = [];
  readonly #groups: GroupTally | undefined;
  #pending: number;
  #settled = false;
  /** The merge of the replies so far, kept until another reply arrives (answer and repair share it). */
  #merged: SiblingSet = [];
  #mergedOf = -1;
  #resolve!: (outcome: ReadOutcome) => void;
  #reject!: (error: RingforgeError) => void;

  constructor(
    readonly request: ReplicatedRead,
    readonly client: ReplicaClient,
    readonly resolver: ConflictResolver,
    readonly repair: Repair | undefined,
    readonly logger: Logger,
  ) {
    this.#groups = GroupTally.of(request.groups);
    this.#pending = request.targets.length;
  }

  start(): Promise<ReadOutcome> {
    const promise = new Promise<ReadOutcome>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    const { key, targets, timeoutMs } = this.request;
    if (this.#groups) { for (const target of targets) this.#groups.sent(target); }
    for (const target of targets) {
      this.client.read(target, key, timeoutMs).then(
        (siblings) => {
          this.#replies.set(target, siblings);
          this.#pending--;
          this.#groups?.answered(target);
          this.#check();
        },
        (error: unknown) => {
          this.#pending--;
          this.#groups?.failed(target);
          this.#failures.push(asRingforgeError(error, target));
          this.#check();
        },
      );
    }
    if (targets.length === 0) this.#check();
    return promise;
  }

  #mergedReplies(): SiblingSet {
    if (this.#mergedOf !== this.#replies.size) {
      let result: SiblingSet = [];
      for (const siblings of this.#replies.values()) result = this.resolver.merge(result, siblings);
      this.#merged = result;
      this.#mergedOf = this.#replies.size;
    }
    return this.#merged;
  }

  #check(): void {
    const { key, r, targets, timeoutMs } = this.request;
    const replied = this.#replies.size;
    // Runs inside replica callbacks: anything it throws (a reply whose versions the resolver
    // cannot merge) must settle the read, never leave it hanging.
    try {
      if (!this.#settled) {
        const short = this.#groups?.unreachable();
        if (replied >= r && (this.#groups?.met() ?? true)) {
          const siblings = this.#mergedReplies();
          this.#settled = true;
          this.#resolve({ siblings, replied });
        } else if (replied + this.#pending < r) {
          this.#settled = true;
          this.#reject(quorumFailure("get", r, replied, targets.length, this.#failures, timeoutMs));
        } else if (short) {
          this.#settled = true;
          this.#reject(quorumFailure("get", short.required, short.acks, short.nodes.length, this.#failures, timeoutMs, short.name));
        }
      }
    } catch (error) {
      this.#settled = true;
      this.#reject(asRingforgeError(error, `merge of replies for "${key}"`));
      return;
    }
    // Repair once every replica has answered or failed, with everything that was learned.
    if (this.#pending === 0 && this.repair && replied > 0) {
      try {
        this.repair(key, this.#replies, this.#mergedReplies(), timeoutMs);
      } catch (error) {
        this.logger.warn("read repair skipped", { key, error: String(error) });
      }
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

  constructor(groups: readonly AckGroup[]) {
    this.#groups = groups.map((g) => ({ ...g, acks: 0, pending: 0 }));
    this.#groups.forEach((g, i) => {
      for (const node of g.nodes) this.#of.set(node, [...(this.#of.get(node) ?? []), i]);
    });
  }

  /** A tally for `groups`, or `undefined` when the request counts no groups (the usual case). */
  static of(groups: readonly AckGroup[] | undefined): GroupTally | undefined {
    return groups === undefined || groups.length === 0 ? undefined : new GroupTally(groups);
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
