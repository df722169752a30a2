/**
 * A ringforge node: the request paths (coordinator) and the replica side of the protocol.
 *
 * @module
 */
import {
  InvalidContextError,
  InvalidRequestError,
  NotRunningError,
  PreconditionFailedError,
  RingforgeError,
  SiblingLimitError,
  StaleReadError,
  UnreachableNodeError,
} from "../errors.ts";
import type { Session } from "../client/session.ts";
import type { TimeoutError } from "../errors.ts";
import { parseSiblings, siblingsToWire } from "../codec/record-codec.ts";
import { bytesEqual } from "../codec/bytes.ts";
import { encode } from "../codec/msgpack.ts";
import type { AntiEntropy } from "../interfaces/anti-entropy.ts";
import type { Consensus } from "../interfaces/consensus.ts";
import { type Clock, every, type Scheduler, sleep, type Timer } from "../interfaces/clock.ts";
import type { ConflictResolver } from "../interfaces/conflict-resolver.ts";
import type { FailureDetector } from "../interfaces/failure-detector.ts";
import type { Logger } from "../interfaces/logger.ts";
import type { MemberInfo, Partitioner } from "../interfaces/partitioner.ts";
import type { Random } from "../interfaces/random.ts";
import type { ReadOutcome, Replicator } from "../interfaces/replicator.ts";
import type { StorageEngine } from "../interfaces/storage-engine.ts";
import type { Message, Transport } from "../interfaces/transport.ts";
import { type CausalContext, MAX_CONTEXT_LENGTH, unwrapContext, wrapContext } from "../model/causal-context.ts";
import { validateKey, validateValue } from "../model/limits.ts";
import { liveValues, type NodeId, type Sibling, type SiblingSet } from "../model/sibling.ts";
import type { Handoff } from "./handoff.ts";
import type { MessageTable } from "./message-router.ts";
import { SYNC_MERGE } from "./range-sync.ts";
import type { RecordStore } from "./record-store.ts";
import { RING_GET, RING_SET, type RingMembership } from "./ring-membership.ts";
import type { JoinResult, LeaveOptions, MembershipChange } from "./membership-change.ts";
import type { TombstoneGc } from "./tombstone-gc.ts";
import type { NodeLifecycle } from "./lifecycle.ts";
import type { Replicas } from "./replicas.ts";
import type { HashTreeSync } from "./range-sync.ts";
import { keyspace } from "../model/keyspace.ts";
import {
  type CoordinateRequest,
  field,
  isString,
  KV_ACK,
  KV_COORDINATE,
  KV_READ,
  KV_RECORD,
  KV_RESULT,
  KV_WRITE,
  parseCoordinateRequest,
} from "./protocol.ts";
import type { Consistency, NodeSettings, QuorumConsistency } from "../model/settings.ts";
import { type QuorumPlan, quorumPlan } from "./consistency.ts";

/** Options of a read. */
export interface GetOptions {
  /** Replies to wait for (1..N); default the store's R. */
  readonly r?: number;
  /** Time limit in ms; default the store's request timeout. */
  readonly timeoutMs?: number;
  /**
   * Read-your-writes and monotonic reads: the read returns at least what this session already
   * saw or wrote of the key, asking every replica if the first R replies are older, or fails
   * with {@link StaleReadError}. The session then remembers what this read returned.
   */
  readonly session?: Session;
  /**
   * Where the R replies must come from: `count` (any R replicas), `local-quorum` or
   * `each-quorum` (then `r` is ignored); or `linearizable`: through the store's consensus (a
   * majority of the key's replicas, ordered with every linearizable write of the key); default
   * the store's.
   */
  readonly consistency?: Consistency;
}

/** Options of a write or delete. */
export interface PutOptions {
  /** The context from the `get` this write is based on; omit for a blind write. */
  readonly context?: CausalContext;
  /** Acknowledgements to wait for (1..N); default the store's W. */
  readonly w?: number;
  /** Time limit in ms; default the store's request timeout. */
  readonly timeoutMs?: number;
  /** The client's session: once acknowledged, its reads will see this write (read-your-writes). */
  readonly session?: Session;
  /**
   * Where the W acknowledgements must come from: `count` (any W replicas), `local-quorum` or
   * `each-quorum` (then `w` is ignored); or `linearizable`: through the store's consensus, which
   * replaces every sibling with this write atomically (the `context` is not needed); default the
   * store's, except for a conditional write (`ifMatch`, `ifAbsent`), which is linearizable unless
   * a weaker consistency is asked for here.
   */
  readonly consistency?: Consistency;
  /**
   * Compare-and-set: write only if the key is still at this version (the `context` of a read),
   * otherwise fail with {@link PreconditionFailedError} carrying the current version. Atomic
   * (linearizable) unless `consistency` asks for a quorum level: then it is checked against a
   * read at that level and two racing writers can both pass (as Riak's `if_not_modified`).
   */
  readonly ifMatch?: CausalContext;
  /** Create-if-absent: write only if the key has no value (missing or deleted); as `ifMatch` otherwise. */
  readonly ifAbsent?: boolean;
}

/** What a read returns. */
export interface GetResult {
  /**
   * The live values: none if the key is missing or deleted, one normally, several when
   * concurrent writes left siblings (resolve them by writing back with `context`).
   */
  readonly values: Uint8Array[];
  /** Pass this to the next `put` or `delete` of the key, so it supersedes what was read. */
  readonly context: CausalContext;
}

/** What a write or delete returns. */
export interface PutResult {
  /** The context of the key as the coordinator stored it: a later write based on this write. */
  readonly context: CausalContext;
}

/** The services a node is built from: every one is made by the node build, in one place. */
export interface NodeServices {
  /** Identity, replication factors, limits. */
  readonly settings: NodeSettings;
  /** The node's clock. */
  readonly clock: Clock;
  /** The node's timers. */
  readonly scheduler: Scheduler;
  /** The node's randomness. */
  readonly random: Random;
  /** The configured members: the ring before any join or leave. */
  readonly members: readonly MemberInfo[];
  /** Local records, in token order, with their hash tree. */
  readonly store: RecordStore;
  /** Hash-tree comparison with a peer (anti-entropy, join, handoff). */
  readonly sync: HashTreeSync;
  /** Background repair. */
  readonly antiEntropy: AntiEntropy;
  /** Linearizable requests and atomic conditional writes. */
  readonly consensus: Consensus;
  /** The node's logger. */
  readonly logger: Logger;
  /** Local storage. */
  readonly engine: StorageEngine;
  /** Messages to other nodes. */
  readonly transport: Transport;
  /** Key placement. */
  readonly partitioner: Partitioner;
  /** Membership and liveness. */
  readonly detector: FailureDetector;
  /** Versions and merges. */
  readonly resolver: ConflictResolver;
  /** Fan-out to replicas. */
  readonly replicator: Replicator;
  /** How the coordinator and the replicator reach replicas. */
  readonly replicas: Replicas;
  /** Where messages of other protocols (gossip, SWIM...) go. */
  readonly router: MessageTable;
  /** Ring membership: who owns ranges (changed by join and leave only). */
  readonly ring: RingMembership;
  /** Hands off records outside this node's ranges. */
  readonly handoff: Handoff;
  /** Joins and leaves. */
  readonly membership: MembershipChange;
  /** Removes tombstones every replica holds, after their grace. */
  readonly tombstones: TombstoneGc;
  /** The node's lifecycle state, shared with the parts above. */
  readonly lifecycle: NodeLifecycle;
}

/**
 * The actor that stamps the linearizable writes node `id` proposes: `~` and its id. Not the
 * node's own actor, whose counters its plain writes of the key share (a proposal may be chosen
 * after the proposer gave up on it); and one per proposer, so a proposal's version is its own
 * and the consensus can tell whether a proposal it lost track of was chosen. Node ids start with
 * a letter or digit, so this is no member's id.
 */
export function linearizableActor(id: NodeId): string {
  return `~${id}`;
}

/** Key in the `meta` keyspace recording which resolver wrote the engine's versions. */
const RESOLVER_META_KEY = new TextEncoder().encode("meta/resolver");

/**
 * One node of a store. Any node can take any request: a read is coordinated where it arrives;
 * a write is coordinated by a replica of its key (forwarded there if needed), which stamps the
 * version under a per-key lock, stores it locally, then replicates.
 *
 * Nodes are built by `createCluster` (or the node build, `buildNode`); they are not constructed by
 * hand.
 *
 * @example
 * ```ts
 * const cluster = await createCluster({ nodes: 5, resolver: "vector-clock" });
 * const node = cluster.node("n1");
 * await node.put("k", encodeText("v1"));
 * const { values, context } = await node.get("k");
 * await node.put("k", encodeText("v2"), { context });
 * ```
 */
export class RingforgeNode {
  /** This node's id. */
  readonly id: NodeId;
  readonly #s: NodeServices;
  /** The node's state, shared with the parts that act for it (see {@link NodeLifecycle}). */
  readonly #life: NodeLifecycle;
  /** The ids of the ring's members, cached per membership (the partitioner's array changes on every change). */
  #memberIds: { readonly of: readonly MemberInfo[]; readonly ids: ReadonlySet<NodeId> } | undefined;
  /** Whether `node` is a member of the ring view: what a resolver admits from a client's context. */
  readonly #isMember = (node: NodeId): boolean => {
    const members = this.#s.partitioner.members;
    if (this.#memberIds?.of !== members) this.#memberIds = { of: members, ids: new Set(members.map((m) => m.id)) };
    // A member's linearizable actor counts as the member (see linearizableActor).
    return this.#memberIds.ids.has(node) || (node.startsWith("~") && this.#memberIds.ids.has(node.slice(1)));
  };
  /** Client operations this node is coordinating now (a graceful stop waits for them). */
  #inflight = 0;
  readonly #timers: Timer[] = [];
  /** @internal Ring membership: who owns ranges (changed by join and leave only); for the lab, the server and tests. */
  readonly ring: RingMembership;
  /** @internal Hands off records outside this node's ranges; for the lab, the server and tests. */
  readonly handoff: Handoff;
  /** @internal Removes tombstones every replica holds, after their grace; for the lab, the server and tests. */
  readonly tombstones: TombstoneGc;
  readonly #membership: MembershipChange;

  /** @internal built by the node build (see `buildNode`), which makes every service it uses. */
  constructor(services: NodeServices) {
    this.#s = services;
    this.id = services.settings.id;
    this.#life = services.lifecycle;
    this.ring = services.ring;
    this.handoff = services.handoff;
    this.tombstones = services.tombstones;
    this.#membership = services.membership;
    this.ring.onChange(() => {
      this.handoff.ringChanged();
      void this.#runHandoff();
    });
    services.store.onStored((key) => this.handoff.noteStored(key));
  }

  /** @internal The strategies and runtime this node was built from: for the lab, the server and tests. */
  get services(): NodeServices {
    return this.#s;
  }

  /** True between `start()` and `stop()`. */
  get running(): boolean {
    return this.#life.state === "running";
  }

  /** Opens the engine, starts the transport and membership. Idempotent. */
  async start(): Promise<void> {
    if (this.#life.state === "running") return;
    if (this.#life.state === "stopped") throw new NotRunningError(`node ${this.id} (stopped nodes cannot restart; build a new one)`);
    const { engine, transport, detector, store, settings, scheduler } = this.#s;
    // The peer port is bound before the engine opens, so a second process started on the same
    // ports fails there, before it touches the data directory. Until the node runs, every
    // message is answered with NotRunningError.
    await transport.start((message, from) => this.#handle(message, from));
    try {
      await engine.open();
      await this.#checkResolverMeta();
      await store.open();
      await this.ring.load();
    } catch (error) {
      // Release what was taken (the port, the engine's directory lock) for whoever retries.
      await transport.stop();
      await engine.close();
      throw error;
    }
    await detector.start();
    await this.#s.replicator.start?.();
    await this.#s.antiEntropy.start();
    await this.#s.consensus.start?.();
    this.#life.state = "running";
    this.#timers.push(
      every(scheduler, settings.handoff.intervalMs, () => {
        void this.ring.poll(settings.requestTimeoutMs).then(() => this.#runHandoff());
      }),
      every(scheduler, settings.tombstones.intervalMs, () => void this.#background("tombstone gc", () => this.tombstones.collect())),
    );
    this.#s.logger.info("node started", { id: this.id });
  }

  /**
   * Stops gracefully: refuses new client requests at once, lets the requests this node is
   * coordinating finish (up to twice the request timeout) while it keeps serving its replica
   * side, then stops membership and transport and closes the engine. Idempotent.
   */
  async stop(): Promise<void> {
    if (this.#life.state !== "running") {
      if (this.#life.state !== "stopping") this.#life.state = "stopped";
      return;
    }
    this.#life.state = "stopping";
    const { scheduler, clock, settings } = this.#s;
    const deadline = clock.now() + 2 * settings.requestTimeoutMs;
    while (this.#inflight > 0 && clock.now() < deadline) await sleep(scheduler, 1);
    if (this.#life.state !== "stopping") return; // crashed while draining
    this.#life.state = "stopped";
    await this.#halt();
    this.#s.logger.info("node stopped", { id: this.id });
  }

  /**
   * Stops at once, as a killed process would: membership and transport go down, requests in
   * flight fail, and the engine closes without any shutdown work, so whatever it had not made
   * durable is lost (all of it for a volatile memory engine). The simulator's crash fault.
   */
  async crash(): Promise<void> {
    const wasRunning = this.#life.state === "running" || this.#life.state === "stopping";
    this.#life.state = "stopped";
    if (!wasRunning) return;
    await this.#halt(true);
    this.#s.logger.info("node crashed", { id: this.id });
  }

  /** Stops every service; `crashing`: the engine is dropped as a killed process drops it, not closed. */
  async #halt(crashing = false): Promise<void> {
    for (const timer of this.#timers.splice(0)) timer.cancel();
    await this.#s.consensus.stop?.();
    await this.#s.antiEntropy.stop();
    await this.#s.replicator.stop?.();
    await this.#s.detector.stop();
    await this.#s.transport.stop();
    const engine = this.#s.engine as { crash?: () => Promise<void> };
    // An engine that can be killed (the LSM engine: its unwritten log records are dropped, nothing
    // is fsynced) is; one that cannot is closed, which a crash of a memory engine amounts to.
    if (crashing && typeof engine.crash === "function") {
      // Its I/O in flight may fail (a simulated machine crash takes the disk's page cache and
      // every open file with it): a killed process reports nothing, so neither does this.
      await engine.crash().catch(() => {});
    } else {
      // A stop completes whatever the engine says; what it could not make durable is reported
      // where an operator looks (under `interval` it may include acknowledged writes).
      await this.#s.engine.close().catch((error: unknown) =>
        this.#s.logger.error("the storage engine failed to close cleanly", { id: this.id, error: String(error) })
      );
    }
  }

  /**
   * Joins the ring (Dynamo §4.8.1's explicit join): streams the ranges this node will replicate
   * from their current holders, then publishes the new ring view (see `MembershipChange.join`).
   * A no-op if this node already owns ranges.
   *
   * @param seeds members to ask for the ring view; default the configured members
   * @throws {UnreachableNodeError} or {@link TimeoutError} if no seed or no source answers
   * @throws {MembershipConflictError} if concurrent membership changes kept winning
   */
  async join(seeds?: readonly NodeId[]): Promise<JoinResult> {
    this.#assertRunning();
    return this.#membership.join(seeds);
  }

  /**
   * Decommissions this node: leaves the ring view, refuses replica writes from then on, hands
   * off every record to the nodes that replicate it now, and stops once it holds none (see
   * `MembershipChange.leave`).
   *
   * @throws {InvalidRequestError} if the ring would have fewer members than N
   * @throws {TimeoutError} if the data is not handed off within `timeoutMs` (the node keeps
   *   running and keeps its data)
   */
  async leave(options: LeaveOptions = {}): Promise<void> {
    this.#assertRunning();
    this.#membership.assertCanLeave();
    await this.#membership.leave(options);
    await this.stop();
  }

  /**
   * Checks what {@link leave} checks first, without leaving: the node runs, and the ring would
   * keep at least N members. An API that starts a leave in the background answers with this.
   *
   * @throws {NotRunningError} or {@link InvalidRequestError}
   */
  assertCanLeave(): void {
    this.#assertRunning();
    this.#membership.assertCanLeave();
  }

  async #runHandoff(): Promise<void> {
    if (this.#life.state !== "running") return;
    await this.#background("handoff", () => this.handoff.sweep());
  }

  async #background(what: string, task: () => Promise<unknown>): Promise<void> {
    try {
      await task();
    } catch (error) {
      // A node stopping under a task, or a peer sending garbage: log, the next round retries.
      if (this.#life.state === "running") this.#s.logger.warn(`${what} failed`, { error: String(error) });
    }
  }

  /**
   * Reads a key from R replicas.
   *
   * @throws {InvalidKeyError} for a bad key, before anything is sent
   * @throws {QuorumNotReachedError} or {@link TimeoutError} when R replicas do not answer
   */
  async get(key: string, options: GetOptions = {}): Promise<GetResult> {
    this.#assertRunning();
    validateKey(key, this.#s.settings.limits);
    const r = this.#count("r", options.r);
    const timeoutMs = this.#timeout(options.timeoutMs);
    this.#inflight++;
    try {
      const { resolver } = this.#s;
      // Only a session's read may need more time than its first replies took.
      const deadline = options.session === undefined ? 0 : this.#s.clock.now() + timeoutMs;
      const consistency = options.consistency ?? this.#s.settings.replication.consistency;
      let siblings = consistency === "linearizable"
        ? await this.#s.consensus.read(key, timeoutMs)
        : (await this.#coordinateRead(key, r, timeoutMs, consistency)).siblings;
      let context = resolver.context(siblings);
      const session = options.session;
      if (session) {
        const required = session.contexts(key).map((c) => unwrapContext(resolver, c));
        if (!required.every((seen) => resolver.covers(context, seen))) {
          // The first replies are older than the session: ask every replica, and answer as soon
          // as what has arrived covers the session.
          const covered = (c: unknown) => required.every((seen) => resolver.covers(c, seen));
          const more = await this.#readUntil(key, covered, Math.max(1, deadline - this.#s.clock.now()));
          siblings = resolver.merge(siblings, more.siblings);
          context = resolver.context(siblings);
          if (!covered(context)) throw new StaleReadError(key, more.replied);
        }
      }
      const wrapped = wrapContext(resolver, context);
      if (session) this.#remember(session, key, context, wrapped);
      return { values: liveValues(siblings), context: wrapped };
    } finally {
      this.#inflight--;
    }
  }

  /**
   * Reads every replica of `key` at once, merging replies as they come, until the merged context
   * satisfies `enough`, every replica answered or failed, or `timeoutMs` passed.
   */
  #readUntil(key: string, enough: (context: unknown) => boolean, timeoutMs: number): Promise<{ siblings: SiblingSet; replied: number }> {
    const { resolver } = this.#s;
    const targets = this.#s.replicator.targets(key, this.#s.settings.replication.n);
    return new Promise((resolve) => {
      let siblings: SiblingSet = [];
      let replied = 0;
      let settled = 0;
      let done = false;
      const finish = () => {
        if (!done) {
          done = true;
          resolve({ siblings, replied });
        }
      };
      for (const target of targets) {
        this.#s.replicas.read(target, key, timeoutMs).then(
          (reply) => {
            replied++;
            siblings = resolver.merge(siblings, reply);
            if (enough(resolver.context(siblings))) finish();
          },
          () => {},
        ).finally(() => {
          if (++settled === targets.length) finish();
        });
      }
      if (targets.length === 0) finish();
    });
  }

  /** Records in `session` that `context` of `key` was read or written, dropping what it covers. */
  #remember(session: Session, key: string, context: unknown, wrapped: CausalContext): void {
    const { resolver } = this.#s;
    const kept = session.contexts(key).filter((c) => !resolver.covers(context, unwrapContext(resolver, c)));
    session.remember(key, [...kept, wrapped]);
  }

  /**
   * Writes a value. With the `context` of a read, the write supersedes every sibling that read
   * returned; without one it is concurrent with whatever is stored.
   *
   * A write that fails with a quorum or timeout error may still have been stored on some
   * replicas (as in Dynamo): it is not acknowledged, and a retry is safe.
   *
   * @throws {InvalidKeyError}, {@link InvalidValueError}, {@link InvalidContextError} for bad
   *   input, before anything changes
   * @throws {QuorumNotReachedError} or {@link TimeoutError} when W replicas do not acknowledge
   */
  async put(key: string, value: Uint8Array, options: PutOptions = {}): Promise<PutResult> {
    this.#assertRunning();
    validateKey(key, this.#s.settings.limits);
    validateValue(value, this.#s.settings.limits);
    this.#inflight++;
    try {
      // A plain write goes straight to #write: one async step less than through #routeWrite.
      return await (this.#conditionOrLinearizable(options)
        ? this.#routeWrite("put", key, value, options)
        : this.#write("put", key, value, options));
    } finally {
      this.#inflight--;
    }
  }

  /**
   * Deletes a key by writing a tombstone; takes the same options and errors as {@link put}.
   *
   * Without a `context`, the delete first reads the key (at R, or the requested consistency)
   * and deletes what that read returned, as Riak does: a blind tombstone would be concurrent
   * with the stored value, which would then stay as a sibling. A value written after that
   * read, or held only by replicas the read did not reach, survives; pass the context of your
   * own read to say exactly what you delete.
   */
  async delete(key: string, options: PutOptions = {}): Promise<PutResult> {
    this.#assertRunning();
    validateKey(key, this.#s.settings.limits);
    return this.#counted(async () => {
      if (this.#conditionOrLinearizable(options)) return this.#routeWrite("delete", key, null, options);
      let context = options.context;
      if (context === undefined) {
        const consistency = options.consistency === undefined ? {} : { consistency: options.consistency };
        const session = options.session === undefined ? {} : { session: options.session };
        context = (await this.get(key, { timeoutMs: this.#timeout(options.timeoutMs), ...consistency, ...session })).context;
      }
      return this.#write("delete", key, null, { ...options, context });
    });
  }

  async #counted<T>(operation: () => Promise<T>): Promise<T> {
    this.#inflight++;
    try {
      return await operation();
    } finally {
      this.#inflight--;
    }
  }

  /** This node's own stored record for `key` (no quorum): for inspection, tests and the lab. */
  async localRecord(key: string): Promise<SiblingSet> {
    validateKey(key, this.#s.settings.limits);
    return this.#readLocal(key);
  }

  // ---- request paths --------------------------------------------------------------------

  /** Whether a write has a condition or asks (or the store defaults) for linearizable consistency. */
  #conditionOrLinearizable(options: PutOptions): boolean {
    return options.ifMatch !== undefined || options.ifAbsent === true ||
      (options.consistency ?? this.#s.settings.replication.consistency) === "linearizable";
  }

  /** A put or delete: plain, linearizable through the consensus, or conditional (atomic or checked). */
  async #routeWrite(op: "put" | "delete", key: string, value: Uint8Array | null, options: PutOptions): Promise<PutResult> {
    if (!this.#conditionOrLinearizable(options)) return this.#write(op, key, value, options);
    const { resolver } = this.#s;
    if (options.ifMatch !== undefined && options.ifAbsent === true) {
      throw new InvalidRequestError("a write takes ifMatch or ifAbsent, not both");
    }
    if (options.ifMatch !== undefined && options.context !== undefined) {
      throw new InvalidRequestError("a conditional write takes ifMatch or context, not both: ifMatch is the context it builds on");
    }
    const expected = options.ifMatch === undefined ? undefined : unwrapContext(resolver, options.ifMatch);
    if (options.session) { for (const seen of options.session.contexts(key)) unwrapContext(resolver, seen); }
    const timeoutMs = this.#timeout(options.timeoutMs);
    const conditional = options.ifMatch !== undefined || options.ifAbsent === true;
    const requested = options.consistency ?? (conditional ? "linearizable" : this.#s.settings.replication.consistency);
    if (requested !== "linearizable") {
      // Checked, not atomic: a read at the requested level, the condition, then a write based on that read.
      const consistency: QuorumConsistency = requested ?? "count";
      const session = options.session === undefined ? {} : { session: options.session };
      const read = await this.get(key, { timeoutMs, consistency, ...session });
      const siblings = read.values.length > 0;
      this.#checkCondition(key, expected, options.ifAbsent === true, unwrapContext(resolver, read.context), siblings, read.context);
      const { ifMatch: _m, ifAbsent: _a, ...rest } = options;
      return this.#write(op, key, value, { ...rest, consistency, context: read.context });
    }
    let written: unknown;
    let wrapped!: CausalContext;
    await this.#s.consensus.update(key, (current) => {
      const context = resolver.context(current);
      this.#checkCondition(key, expected, options.ifAbsent === true, context, liveValues(current).length > 0);
      const stamped = this.#stamp(current, value, context, linearizableActor(this.id));
      ({ written, wrapped } = stamped);
      return stamped.next;
    }, timeoutMs);
    if (options.session) this.#remember(options.session, key, written, wrapped);
    return { context: wrapped };
  }

  /**
   * Stamps a write on `local` as `actor` (the resolver's `write`), and returns the new siblings
   * with their context, decoded and wrapped.
   *
   * @throws {InvalidContextError} if the key's context would grow past what a write may carry:
   *   every context a read returns must be accepted back, so this is refused before storing
   */
  #stamp(
    local: SiblingSet,
    value: Uint8Array | null,
    context: unknown,
    actor: NodeId,
  ): { next: Sibling[]; written: unknown; wrapped: CausalContext } {
    const { resolver } = this.#s;
    const next = resolver.write(local, { value, context, node: actor, timestamp: this.#s.clock.now(), isMember: this.#isMember });
    const written = resolver.context(next);
    const wrapped = wrapContext(resolver, written);
    if (wrapped.length > MAX_CONTEXT_LENGTH) {
      throw new InvalidContextError(
        `this write would make the key's context ${wrapped.length} characters long, over the limit of ${MAX_CONTEXT_LENGTH}`,
      );
    }
    return { next, written, wrapped };
  }

  /** @throws {PreconditionFailedError} when the key's `current` version does not meet the condition */
  #checkCondition(
    key: string,
    expected: unknown,
    ifAbsent: boolean,
    current: unknown,
    exists: boolean,
    wrapped?: CausalContext,
  ): void {
    const { resolver } = this.#s;
    const fail = (condition: "if-match" | "if-absent") =>
      new PreconditionFailedError(key, condition, wrapped ?? wrapContext(resolver, current), exists);
    if (ifAbsent && exists) throw fail("if-absent");
    if (expected !== undefined && !(resolver.covers(current, expected) && resolver.covers(expected, current))) throw fail("if-match");
  }

  /** A put or delete of a key its caller validated. */
  async #write(op: "put" | "delete", key: string, value: Uint8Array | null, options: PutOptions): Promise<PutResult> {
    const { settings, resolver } = this.#s;
    const context = options.context === undefined ? undefined : unwrapContext(resolver, options.context);
    // A session from another store must fail here, before anything is written.
    if (options.session) { for (const seen of options.session.contexts(key)) unwrapContext(resolver, seen); }
    const w = this.#count("w", options.w);
    const timeoutMs = this.#timeout(options.timeoutMs);
    const targets = this.#s.replicator.targets(key, settings.replication.n);
    const plan = this.#plan(targets, w, options.consistency);
    if (!targets.includes(this.id)) {
      const consistency = options.consistency === undefined ? {} : { consistency: options.consistency };
      const reply = await this.#forward(targets, { op, key, value, context: options.context, w, timeoutMs, ...consistency });
      const wrapped = field(reply, "context", isString, "a string") as CausalContext;
      if (options.session) this.#remember(options.session, key, unwrapContext(resolver, wrapped), wrapped);
      return { context: wrapped };
    }
    let written: unknown;
    let wrapped!: CausalContext;
    const siblings = await this.#s.store.update(key, (local) => {
      const stamped = this.#stamp(local, value, context, this.id);
      this.#checkSiblings(key, stamped.next.length);
      ({ written, wrapped } = stamped);
      return stamped.next;
    });
    await this.#s.replicator.write({
      key,
      siblings,
      targets,
      storedOn: this.id,
      w: plan.count,
      timeoutMs,
      operation: op,
      ...(plan.groups ? { groups: plan.groups } : {}),
    });
    if (options.session) this.#remember(options.session, key, written, wrapped);
    return { context: wrapped };
  }

  #coordinateRead(key: string, r: number, timeoutMs: number, consistency?: Consistency): Promise<ReadOutcome> {
    const targets = this.#s.replicator.targets(key, this.#s.settings.replication.n);
    const plan = this.#plan(targets, r, consistency);
    return this.#s.replicator.read({
      key,
      targets,
      r: plan.count,
      timeoutMs,
      ...(plan.groups ? { groups: plan.groups } : {}),
    });
  }

  /**
   * The request's quorum plan (see {@link quorumPlan}), with the store's default consistency (a
   * store whose default is `linearizable` plans the quorum requests it still makes, such as
   * a plain write with an explicit `count`, as `count`).
   */
  #plan(targets: readonly NodeId[], count: number, requested?: Consistency): QuorumPlan {
    const { settings, partitioner } = this.#s;
    let consistency = requested ?? settings.replication.consistency ?? "count";
    if (consistency === "linearizable") consistency = "count";
    return quorumPlan(consistency, targets, partitioner.members, settings.member, count);
  }

  /**
   * Sends a write to a replica of the key, which coordinates it: live ones first. A replica that
   * refuses the connection (down, not yet noticed by the detector) or is shutting down never ran
   * the request, so the next one is tried; a timeout is not retried, since the write may have happened.
   */
  async #forward(targets: readonly NodeId[], request: CoordinateRequest): Promise<Message> {
    // Live replicas first, and among them those of this node's datacenter: a local-quorum
    // write is then coordinated where its quorum is.
    const dc = this.#s.settings.member.datacenter;
    const local = dc === undefined ? undefined : new Set(this.#s.partitioner.members.filter((m) => m.datacenter === dc).map((m) => m.id));
    const rank = (t: NodeId) => (this.#s.detector.isAlive(t) ? 0 : 2) + (local === undefined || local.has(t) ? 0 : 1);
    const ordered = [...targets].sort((a, b) => rank(a) - rank(b));
    if (ordered.length === 0) throw new InvalidRequestError("the cluster has no members to coordinate the request");
    let refused: RingforgeError | undefined;
    for (const coordinator of ordered) {
      try {
        return await this.#s.transport.request(
          coordinator,
          { type: KV_COORDINATE, ...request },
          // The coordinator has its own deadline; allow it to answer with its error first.
          { timeoutMs: (request.timeoutMs ?? this.#s.settings.requestTimeoutMs) * 2 },
        );
      } catch (error) {
        // Unreachable, or stopping and refusing new requests: either way it never ran.
        if (!(error instanceof UnreachableNodeError || error instanceof NotRunningError)) throw error;
        refused = error;
      }
    }
    throw refused!;
  }

  // ---- replica side ---------------------------------------------------------------------

  async #handle(message: Message, from: NodeId): Promise<Message | void> {
    if (this.#life.state !== "running" && this.#life.state !== "stopping") throw new NotRunningError(`node ${this.id}`);
    if (this.#life.refuseWrites && (message.type === KV_WRITE || message.type === SYNC_MERGE)) {
      throw new NotRunningError(`node ${this.id} (it has left the ring and takes no more writes)`);
    }
    switch (message.type) {
      case KV_WRITE: {
        const key = field(message, "key", isString, "a string");
        validateKey(key, this.#s.settings.limits);
        await this.#s.replicas.mergeLocal(key, parseSiblings(message.siblings, `${KV_WRITE} from ${from}`));
        return { type: KV_ACK };
      }
      case KV_READ: {
        const key = field(message, "key", isString, "a string");
        validateKey(key, this.#s.settings.limits);
        return { type: KV_RECORD, siblings: siblingsToWire(await this.#readLocal(key)) };
      }
      case KV_COORDINATE:
        return this.#handleCoordinate(parseCoordinateRequest(message));
      case RING_GET:
      case RING_SET:
        return this.ring.serve(message);
      default:
        return this.#s.router.dispatch(message, from);
    }
  }

  async #handleCoordinate(request: CoordinateRequest): Promise<Message> {
    const context = request.context as CausalContext | undefined;
    const consistency = request.consistency === undefined ? {} : { consistency: request.consistency };
    const options = { context, w: request.w, timeoutMs: request.timeoutMs, ...consistency };
    const result = request.op === "put"
      ? await this.put(request.key, request.value as Uint8Array, options)
      : request.op === "delete"
      ? await this.delete(request.key, options)
      : await this.get(request.key, { r: request.r, timeoutMs: request.timeoutMs, ...consistency });
    return { type: KV_RESULT, context: result.context };
  }

  // ---- local records --------------------------------------------------------------------

  async #readLocal(key: string): Promise<Sibling[]> {
    return this.#s.store.get(key);
  }

  async #checkResolverMeta(): Promise<void> {
    const { engine, resolver } = this.#s;
    const meta = keyspace(engine, "meta");
    const stored = await meta.get(RESOLVER_META_KEY);
    const mine = encode(resolver.name);
    if (stored === undefined) {
      await meta.put(RESOLVER_META_KEY, mine);
    } else if (!bytesEqual(stored, mine)) {
      throw new RingforgeError(
        "RINGFORGE_INVALID_CONFIG",
        `node ${this.id}: its engine holds versions written by another conflict resolver; ` +
          `a store's resolver cannot change over existing data (configured "${resolver.name}")`,
      );
    }
  }

  // ---- checks ---------------------------------------------------------------------------

  /**
   * Warns when a write leaves many siblings (Riak warns at 25). The hard limit is not checked
   * here: the record store refuses any change past `maxSiblings` or `maxRecordBytes`, on this
   * path as on every replica's, with the same {@link SiblingLimitError} for the client.
   */
  #checkSiblings(key: string, count: number): void {
    const { warnSiblings } = this.#s.settings.limits;
    if (count > warnSiblings) this.#s.logger.warn("many siblings", { key, siblings: count, warnAt: warnSiblings });
  }

  #count(name: "r" | "w", requested: number | undefined): number {
    const { n } = this.#s.settings.replication;
    const value = requested ?? this.#s.settings.replication[name];
    if (!Number.isInteger(value) || value < 1 || value > n) {
      throw new InvalidRequestError(`${name} must be an integer from 1 to N (${n}), got ${value}`, { [name]: value, n });
    }
    return value;
  }

  #timeout(requested: number | undefined): number {
    const value = requested ?? this.#s.settings.requestTimeoutMs;
    const max = this.#s.settings.limits.maxTimeoutMs;
    if (!(typeof value === "number" && value > 0 && value <= max)) {
      throw new InvalidRequestError(`timeoutMs must be a positive number of milliseconds up to ${max}, got ${value}`, {
        timeoutMs: value,
        max,
      });
    }
    return value;
  }

  #assertRunning(): void {
    if (this.#life.state !== "running") throw new NotRunningError(`node ${this.id}`);
  }
}
