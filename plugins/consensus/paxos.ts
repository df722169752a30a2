/**
 * Single-decree Paxos per key over the key's N replicas, as Cassandra's lightweight
 * transactions run it: each linearizable operation is one Paxos instance, ballots order the
 * instances, and the chosen record is merged into the replicas' stores.
 *
 * @module
 */
import { z } from "zod";
import { choose, definePlugin, type Plugin, type PluginChoice } from "../../core/build/plugin.ts";
import { parseSiblings, siblingsToWire } from "../../core/codec/record-codec.ts";
import { decode, encode } from "../../core/codec/msgpack.ts";
import { bytesEqual, encodeText } from "../../core/codec/bytes.ts";
import {
  CorruptDataError,
  InvalidMessageError,
  type Operation,
  QuorumNotReachedError,
  RingforgeError,
  TimeoutError,
} from "../../core/errors.ts";
import { type Clock, type Scheduler, sleep } from "../../core/interfaces/clock.ts";
import type { ConflictResolver } from "../../core/interfaces/conflict-resolver.ts";
import type { Consensus, ConsensusStats, RecordChange } from "../../core/interfaces/consensus.ts";
import type { Partitioner } from "../../core/interfaces/partitioner.ts";
import type { Random } from "../../core/interfaces/random.ts";
import type { RecordView } from "../../core/interfaces/records.ts";
import type { Message, Transport } from "../../core/interfaces/transport.ts";
import type { MessageRouter } from "../../core/interfaces/message-router.ts";
import type { Keyspace } from "../../core/model/keyspace.ts";
import { type Limits, validateKey } from "../../core/model/limits.ts";
import { type NodeId, sameSiblings, type SiblingSet } from "../../core/model/sibling.ts";

/**
 * A ballot: a counter, the proposer's id, and an epoch the proposer draws at start, so a
 * restarted proposer whose counter starts again never reuses a ballot of its earlier life.
 * Ordered by counter, then node, then epoch.
 */
export type Ballot = readonly [counter: number, node: NodeId, epoch: number];

/** Orders two ballots (negative: `a` first). */
export function compareBallots(a: Ballot, b: Ballot): number {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  if (a[1] !== b[1]) return a[1] < b[1] ? -1 : 1;
  return a[2] === b[2] ? 0 : a[2] < b[2] ? -1 : 1;
}

/** A proposal an acceptor accepted: the ballot and the record proposed. */
export interface AcceptedProposal {
  /** The ballot it was accepted at. */
  readonly ballot: Ballot;
  /** The key's record it proposes. */
  readonly record: SiblingSet;
}

/** What one acceptor keeps for one key (durably, in its engine's `paxos` slice). */
export interface AcceptorState {
  /** The highest ballot it promised (it accepts nothing lower). */
  readonly promised?: Ballot;
  /** The proposal it accepted last, not yet known committed. */
  readonly accepted?: AcceptedProposal;
  /** The highest ballot whose record it committed (merged into its store). */
  readonly committed?: Ballot;
}

/** Prepare `ballot` for `key`; reply {@link PAXOS_PROMISE}. */
export const PAXOS_PREPARE = "paxos.prepare";
/** Promise (or refusal) with the acceptor's state and its stored record. */
export const PAXOS_PROMISE = "paxos.promise";
/** Accept `record` at `ballot`; reply {@link PAXOS_ACCEPTED}. */
export const PAXOS_PROPOSE = "paxos.propose";
/** Accepted (or refused: a higher ballot was promised). */
export const PAXOS_ACCEPTED = "paxos.accepted";
/** Merge the chosen `record` into your store; reply {@link PAXOS_COMMITTED}. */
export const PAXOS_COMMIT = "paxos.commit";
/** The record is merged. */
export const PAXOS_COMMITTED = "paxos.committed";

/** Options of Paxos. */
export interface PaxosOptions {
  /**
   * Longest back-off after losing a round to a competing proposer, ms (the back-off is random,
   * doubling from 2 ms up to this). Default 64.
   */
  readonly maxBackoffMs: number;
}

/** What {@link PaxosConsensus} needs. */
export interface PaxosDeps {
  /** This node. */
  readonly id: NodeId;
  /** Replicas per key (the acceptors of a key are its first N nodes). */
  readonly n: () => number;
  /** Key limits (incoming messages are checked). */
  readonly limits: Limits;
  /** Placement: a key's preference list. */
  readonly partitioner: Partitioner;
  /** Merges records. */
  readonly resolver: ConflictResolver;
  /** This node's records (commits merge into them; promises carry them). */
  readonly records: RecordView;
  /** Where the acceptor state is kept. */
  readonly state: Keyspace;
  /** Messages to the other acceptors. */
  readonly transport: Transport;
  /** Where this node's acceptor listens. */
  readonly router: MessageRouter;
  /** Deadlines. */
  readonly clock: Clock;
  /** Back-off timers. */
  readonly scheduler: Scheduler;
  /** The epoch and the back-off. */
  readonly random: Random;
}

/** A promise as the proposer reads it. */
interface Promise_ {
  readonly from: NodeId;
  readonly accepted?: { readonly ballot: Ballot; readonly record: SiblingSet };
  readonly committed?: Ballot;
  readonly record: SiblingSet;
}

/** Replies of one phase. */
interface Gathered<T> {
  readonly oks: T[];
  /** Explicit refusals (a higher ballot was promised). */
  refused: number;
  /** Acceptors that did not answer, or failed, one line each. */
  readonly failures: string[];
}

/**
 * Linearizable reads and compare-and-set per key by single-decree Paxos over the key's N
 * replicas (Lamport, "Paxos Made Simple"; Cassandra's lightweight transactions), one instance
 * per operation:
 *
 * 1. **prepare**: the proposer sends a fresh ballot to the N replicas; a majority promises to
 *    accept nothing lower and replies with the proposal it accepted last, the ballot it
 *    committed last, and its stored record. If some promise holds an accepted proposal newer
 *    than every commit seen, an earlier operation may have been chosen and not finished: the
 *    proposer finishes it first (accept + commit with its own ballot), then starts again.
 * 2. **read**: the merge of the promised records is the key's current record (a majority's
 *    records hold every committed operation, since commits reach a majority). A read ends here:
 *    one round trip.
 * 3. **accept**: the proposer applies the change (a precondition that fails ends the operation
 *    here, having written nothing) and asks the replicas to accept the new record at its ballot;
 *    a majority accepting makes it chosen.
 * 4. **commit**: the record is merged into every replica's store (awaited at a majority), so
 *    plain reads see it too.
 *
 * A write costs three round trips (Cassandra's LWT costs four: it reads in a separate round).
 * Competing proposers of one key retry after a random back-off; a proposer loses only to a
 * higher ballot, and its operation then fails with an unknown outcome only if some replica may
 * have accepted it (otherwise it retries until its deadline). Acceptors keep their state in
 * their engine's `paxos` slice, written before they answer, so a restarted replica keeps its
 * promises (with a volatile engine it cannot: use a durable one).
 */
export class PaxosConsensus implements Consensus {
  readonly name = "paxos";
  readonly stats: ConsensusStats = { completed: 0, contended: 0, completedForOthers: 0 };
  readonly #d: PaxosDeps;
  readonly #options: PaxosOptions;
  readonly #epoch: number;
  /** Above every ballot counter this proposer used or saw. */
  #counter = 0;
  /** Per key, the tail of the operations on it (acceptor steps and this node's proposals run one at a time). */
  readonly #acceptorQueue = new Map<string, Promise<unknown>>();
  readonly #proposerQueue = new Map<string, Promise<unknown>>();
  constructor(deps: PaxosDeps, options: PaxosOptions) {
    this.#d = deps;
    this.#options = options;
    this.#epoch = deps.random.int(0x7fffffff);
    deps.router.on("paxos.", (message, from) => this.#accept(message, from));
  }

  read(key: string, timeoutMs: number): Promise<SiblingSet> {
    const deadline = this.#d.clock.now() + timeoutMs;
    return serially(this.#proposerQueue, key, () => this.#run("get", key, undefined, timeoutMs, deadline));
  }

  update(key: string, change: RecordChange, timeoutMs: number): Promise<SiblingSet> {
    // The time limit counts from the call: time queued behind this node's earlier operations of
    // the key is part of it.
    const deadline = this.#d.clock.now() + timeoutMs;
    return serially(this.#proposerQueue, key, () => this.#run("put", key, change, timeoutMs, deadline));
  }

  // ---- proposer -------------------------------------------------------------------------

  async #run(
    operation: Operation,
    key: string,
    change: RecordChange | undefined,
    timeoutMs: number,
    deadline: number,
  ): Promise<SiblingSet> {
    const { clock, partitioner, resolver } = this.#d;
    /** Records this operation proposed that some acceptor may hold (a later round may choose one). */
    const maybe: SiblingSet[] = [];
    const targets = partitioner.preferenceList(key, this.#d.n());
    const majority = Math.floor(targets.length / 2) + 1;
    for (let attempt = 0;; attempt++) {
      const remaining = deadline - clock.now();
      if (remaining <= 0) throw new TimeoutError(`linearizable ${operation} of "${key}"`, timeoutMs);
      const ballot = this.#nextBallot();
      const prepared = await this.#phase(targets, majority, remaining, (to, t) => this.#prepare(to, key, ballot, t), false);
      if (prepared.oks.length < majority) {
        await this.#lost(operation, attempt, prepared, majority, targets.length, deadline);
        continue;
      }
      const pending = pendingProposal(prepared.oks);
      if (pending) {
        // An accepted proposal newer than every commit among the promises may have been chosen:
        // finish it before anything else (Paxos's rule: propose the highest accepted value).
        const finished = await this.#phase(
          targets,
          majority,
          deadline - clock.now(),
          (to, t) => this.#propose(to, key, ballot, pending.record, t),
          false,
        );
        if (finished.oks.length < majority) {
          await this.#lost(operation, attempt, finished, majority, targets.length, deadline);
          continue;
        }
        await this.#commit(targets, majority, key, ballot, pending.record, deadline);
        if (maybe.some((m) => sameSiblings(m, pending.record))) {
          this.stats.completed++; // it was this operation's own proposal
          return pending.record;
        }
        this.stats.completedForOthers++;
        continue;
      }
      let current: SiblingSet = [];
      for (const p of prepared.oks) current = resolver.merge(current, p.record);
      if (!change) {
        this.stats.completed++;
        return current;
      }
      if (maybe.length > 0) {
        const effect = this.#tookEffect(current, maybe);
        if (effect === "yes") {
          this.stats.completed++;
          return current;
        }
        if (effect === "unknown") {
          throw new QuorumNotReachedError(operation, majority, 0, targets.length, ["an earlier round of this write may have been chosen"]);
        }
      }
      let next: SiblingSet;
      try {
        next = change(current);
      } catch (error) {
        if (maybe.length === 0) throw error;
        // A proposal of ours may still be held by a replica this round did not hear from, and be
        // chosen later: choose the current record at this ballot first, which makes it stale for
        // good, so the failure is final. If that fails, the outcome is unknown.
        const settled = await this.#phase(
          targets,
          majority,
          deadline - clock.now(),
          (to, t) => this.#propose(to, key, ballot, current, t),
          false,
        );
        if (settled.oks.length < majority) {
          throw new QuorumNotReachedError(operation, majority, settled.oks.length, targets.length, settled.failures);
        }
        await this.#commit(targets, majority, key, ballot, current, deadline);
        throw error;
      }
      // Wait for every acceptor when this fails: whether any accepted decides what follows.
      const proposed = await this.#phase(
        targets,
        majority,
        deadline - clock.now(),
        (to, t) => this.#propose(to, key, ballot, next, t),
        true,
      );
      if (proposed.oks.length < majority) {
        if (proposed.oks.length > 0 || proposed.failures.length > 0) maybe.push(next);
        await this.#lost(operation, attempt, proposed, majority, targets.length, deadline);
        continue;
      }
      // Chosen. The commit makes it visible to plain reads; a later round finishes it anyway.
      await this.#commit(targets, majority, key, ballot, next, deadline);
      this.stats.completed++;
      return next;
    }
  }

  /**
   * Whether one of this operation's earlier proposals (`maybe`) was chosen, judged from the
   * current record: "yes" if every sibling of one is in it as proposed; "unknown" if the
   * record's context covers one without holding it (it may have been chosen and overwritten since,
   * or another proposal with the same version chosen: a restarted proposer can stamp a version it
   * stamped in its earlier life, so versions alone prove nothing); else "no".
   */
  #tookEffect(current: SiblingSet, maybe: readonly SiblingSet[]): "yes" | "no" | "unknown" {
    const { resolver } = this.#d;
    const contains = (record: SiblingSet) =>
      record.every((s) => current.some((c) => resolver.compare(c.version, s.version) === "equal" && sameValue(c.value, s.value)));
    if (maybe.some(contains)) return "yes";
    const context = resolver.context(current);
    return maybe.some((m) => resolver.covers(context, resolver.context(m))) ? "unknown" : "no";
  }

  /** After a lost phase: back off and let the caller retry if a higher ballot won; otherwise fail. */
  async #lost(
    operation: Operation,
    attempt: number,
    phase: Gathered<unknown>,
    majority: number,
    targets: number,
    deadline: number,
  ): Promise<void> {
    if (phase.refused === 0 || this.#d.clock.now() >= deadline) {
      throw new QuorumNotReachedError(operation, majority, phase.oks.length, targets, phase.failures);
    }
    this.stats.contended++;
    const ceiling = Math.min(this.#options.maxBackoffMs, 2 << Math.min(attempt, 20));
    const pause = 1 + this.#d.random.int(ceiling);
    await sleep(this.#d.scheduler, Math.min(pause, Math.max(0, deadline - this.#d.clock.now())));
  }

  #nextBallot(): Ballot {
    this.#counter++;
    return [this.#counter, this.#d.id, this.#epoch];
  }

  #saw(ballot: Ballot | undefined): void {
    if (ballot && ballot[0] > this.#counter) this.#counter = ballot[0];
  }

  /**
   * Sends one phase to every target; resolves at `majority` successes, or when a majority can
   * no longer answer yes (or, with `all`, when every target answered or failed).
   */
  #phase<T>(
    targets: readonly NodeId[],
    majority: number,
    timeoutMs: number,
    ask: (to: NodeId, timeoutMs: number) => Promise<T | "refused">,
    all: boolean,
  ): Promise<Gathered<T>> {
    const gathered: Gathered<T> = { oks: [], refused: 0, failures: [] };
    return new Promise((resolve) => {
      let settled = 0;
      let done = false;
      const check = () => {
        if (done) return;
        const hopeless = targets.length - gathered.refused - gathered.failures.length < majority;
        if (gathered.oks.length >= majority || settled === targets.length || (hopeless && !all)) {
          done = true;
          resolve(gathered);
        }
      };
      for (const to of targets) {
        ask(to, Math.max(1, timeoutMs)).then(
          (reply) => {
            if (reply === "refused") gathered.refused++;
            else gathered.oks.push(reply);
          },
          (error: unknown) => {
            gathered.failures.push(`${to}: ${error instanceof Error ? error.message : String(error)}`);
          },
        ).finally(() => {
          settled++;
          check();
        });
      }
      if (targets.length === 0) check();
    });
  }

  async #call(to: NodeId, message: Message, timeoutMs: number): Promise<Message> {
    if (to === this.#d.id) return await this.#accept(message, to);
    return await this.#d.transport.request(to, message, { timeoutMs });
  }

  async #prepare(to: NodeId, key: string, ballot: Ballot, timeoutMs: number): Promise<Promise_ | "refused"> {
    const reply = await this.#call(to, { type: PAXOS_PREPARE, key, ballot }, timeoutMs);
    if (reply.type !== PAXOS_PROMISE) throw new InvalidMessageError(`expected ${PAXOS_PROMISE} from ${to}`);
    const promised = parseBallot(reply.promised, `${PAXOS_PROMISE}.promised`);
    this.#saw(promised);
    if (reply.ok !== true) return "refused";
    const accepted = reply.accepted === undefined ? undefined : parseAccepted(reply.accepted, `${PAXOS_PROMISE} from ${to}`);
    const committed = reply.committed === undefined ? undefined : parseBallot(reply.committed, `${PAXOS_PROMISE}.committed`);
    this.#saw(accepted?.ballot);
    this.#saw(committed);
    const record = parseSiblings(reply.record, `${PAXOS_PROMISE} from ${to}`);
    return { from: to, record, ...(accepted ? { accepted } : {}), ...(committed ? { committed } : {}) };
  }

  async #propose(to: NodeId, key: string, ballot: Ballot, record: SiblingSet, timeoutMs: number): Promise<true | "refused"> {
    const reply = await this.#call(to, { type: PAXOS_PROPOSE, key, ballot, record: siblingsToWire(record) }, timeoutMs);
    if (reply.type !== PAXOS_ACCEPTED) throw new InvalidMessageError(`expected ${PAXOS_ACCEPTED} from ${to}`);
    this.#saw(parseBallot(reply.promised, `${PAXOS_ACCEPTED}.promised`));
    return reply.ok === true ? true : "refused";
  }

  async #commit(
    targets: readonly NodeId[],
    majority: number,
    key: string,
    ballot: Ballot,
    record: SiblingSet,
    deadline: number,
  ): Promise<void> {
    const message = { type: PAXOS_COMMIT, key, ballot, record: siblingsToWire(record) };
    await this.#phase(targets, majority, Math.max(1, deadline - this.#d.clock.now()), async (to, timeoutMs) => {
      const reply = await this.#call(to, message, timeoutMs);
      if (reply.type !== PAXOS_COMMITTED) throw new InvalidMessageError(`expected ${PAXOS_COMMITTED} from ${to}`);
      return true;
    }, false);
  }

  // ---- acceptor -------------------------------------------------------------------------

  /** Handles one acceptor message, one at a time per key. */
  #accept(message: Message, from: NodeId): Promise<Message> {
    const key = message.key;
    if (typeof key !== "string") return Promise.reject(new InvalidMessageError(`${message.type}.key must be a string`));
    validateKey(key, this.#d.limits);
    return serially(this.#acceptorQueue, key, () => this.#step(message, key, from));
  }

  async #step(message: Message, key: string, _from: NodeId): Promise<Message> {
    const ballot = parseBallot(message.ballot, `${message.type}.ballot`);
    const state = await this.#load(key);
    switch (message.type) {
      case PAXOS_PREPARE: {
        if (state.promised && compareBallots(ballot, state.promised) <= 0) {
          return { type: PAXOS_PROMISE, ok: false, promised: state.promised };
        }
        await this.#save(key, { ...state, promised: ballot });
        const record = await this.#d.records.get(key);
        return {
          type: PAXOS_PROMISE,
          ok: true,
          promised: ballot,
          ...(state.accepted ? { accepted: { ballot: state.accepted.ballot, record: siblingsToWire(state.accepted.record) } } : {}),
          ...(state.committed ? { committed: state.committed } : {}),
          record: siblingsToWire(record),
        };
      }
      case PAXOS_PROPOSE: {
        const record = parseSiblings(message.record, `${PAXOS_PROPOSE}.record`);
        if (state.promised && compareBallots(ballot, state.promised) < 0) {
          return { type: PAXOS_ACCEPTED, ok: false, promised: state.promised };
        }
        await this.#save(key, { ...state, promised: ballot, accepted: { ballot, record } });
        return { type: PAXOS_ACCEPTED, ok: true, promised: ballot };
      }
      case PAXOS_COMMIT: {
        const record = parseSiblings(message.record, `${PAXOS_COMMIT}.record`);
        const { resolver } = this.#d;
        // The store first: a committed ballot always has its record stored.
        await this.#d.records.update(key, (local) => resolver.merge(local, record));
        const committed = !state.committed || compareBallots(ballot, state.committed) > 0 ? ballot : state.committed;
        // An accepted proposal at or below the commit is finished: it is not offered again.
        const accepted = state.accepted && compareBallots(state.accepted.ballot, committed) > 0 ? state.accepted : undefined;
        await this.#save(key, { ...(state.promised ? { promised: state.promised } : {}), ...(accepted ? { accepted } : {}), committed });
        return { type: PAXOS_COMMITTED };
      }
      default:
        throw new InvalidMessageError(`unknown paxos message ${message.type}`);
    }
  }

  async #load(key: string): Promise<AcceptorState> {
    const bytes = await this.#d.state.get(encodeText(key));
    if (bytes === undefined) return {};
    const location = `paxos state of "${key}"`;
    const raw = decode(bytes, location) as Record<string, unknown> | null;
    if (raw === null || typeof raw !== "object") throw new CorruptDataError(location, "not a map");
    try {
      return {
        ...(raw.p === undefined ? {} : { promised: parseBallot(raw.p, "promised") }),
        ...(raw.a === undefined ? {} : { accepted: parseAccepted(raw.a, location) }),
        ...(raw.c === undefined ? {} : { committed: parseBallot(raw.c, "committed") }),
      };
    } catch (error) {
      if (error instanceof RingforgeError && error.code === "RINGFORGE_INVALID_MESSAGE") {
        throw new CorruptDataError(location, error.message);
      }
      throw error;
    }
  }

  async #save(key: string, state: AcceptorState): Promise<void> {
    const raw = {
      ...(state.promised ? { p: state.promised } : {}),
      ...(state.accepted ? { a: { ballot: state.accepted.ballot, record: siblingsToWire(state.accepted.record) } } : {}),
      ...(state.committed ? { c: state.committed } : {}),
    };
    await this.#d.state.put(encodeText(key), encode(raw));
  }
}

/**
 * The proposal a proposer must finish before its own: the highest accepted one newer than every
 * commit among the promises (if any).
 */
function pendingProposal(promises: readonly Promise_[]): { ballot: Ballot; record: SiblingSet } | undefined {
  let committed: Ballot | undefined;
  for (const p of promises) {
    if (p.committed && (!committed || compareBallots(p.committed, committed) > 0)) committed = p.committed;
  }
  let pending: { ballot: Ballot; record: SiblingSet } | undefined;
  for (const p of promises) {
    const a = p.accepted;
    if (a && (!committed || compareBallots(a.ballot, committed) > 0) && (!pending || compareBallots(a.ballot, pending.ballot) > 0)) {
      pending = a;
    }
  }
  return pending;
}

function sameValue(a: Uint8Array | null, b: Uint8Array | null): boolean {
  return a === null || b === null ? a === b : bytesEqual(a, b);
}

/** Runs `task` after every earlier task of `key` in `queue` settled. */
function serially<T>(queue: Map<string, Promise<unknown>>, key: string, task: () => Promise<T>): Promise<T> {
  const before = queue.get(key) ?? Promise.resolve();
  const run = before.then(task, task);
  const tail = run.then(() => {}, () => {});
  queue.set(key, tail);
  void tail.then(() => {
    if (queue.get(key) === tail) queue.delete(key);
  });
  return run;
}

function parseBallot(data: unknown, where: string): Ballot {
  if (
    Array.isArray(data) && data.length === 3 && Number.isSafeInteger(data[0]) && data[0] >= 0 && typeof data[1] === "string" &&
    Number.isSafeInteger(data[2])
  ) {
    return [data[0], data[1], data[2]];
  }
  throw new InvalidMessageError(`${where} must be a ballot [counter, node, epoch]`);
}

function parseAccepted(data: unknown, where: string): { ballot: Ballot; record: SiblingSet } {
  const a = data as { ballot?: unknown; record?: unknown } | null;
  if (a === null || typeof a !== "object") throw new InvalidMessageError(`${where}: accepted must be a map`);
  return { ballot: parseBallot(a.ballot, `${where}.accepted.ballot`), record: parseSiblings(a.record, `${where}.accepted.record`) };
}

/** The Paxos plugin. */
export const paxosPlugin: Plugin<PaxosOptions, "consensus", undefined> = definePlugin({
  family: "consensus",
  name: "paxos",
  description: "Linearizable reads and compare-and-set per key: single-decree Paxos over the key's N replicas (Cassandra LWT).",
  options: z.object({ maxBackoffMs: z.number().int().min(1).max(10_000).default(64) }).strict() as z.ZodType<PaxosOptions, unknown>,
  capabilities: { linearizable: true },
  create: (context, options) =>
    new PaxosConsensus({
      id: context.settings.id,
      n: () => context.settings.replication.n,
      limits: context.settings.limits,
      get partitioner() {
        return context.partitioner;
      },
      get resolver() {
        return context.resolver;
      },
      get records() {
        return context.records;
      },
      state: context.keyspace("paxos"),
      get transport() {
        return context.transport;
      },
      router: context.router,
      clock: context.clock,
      scheduler: context.scheduler,
      random: context.random.fork("paxos"),
    }, options),
});

/**
 * Chooses Paxos for linearizable requests (the default).
 *
 * @example
 * ```ts
 * const cluster = await store().use(paxos({ maxBackoffMs: 32 })).cluster();
 * ```
 */
export function paxos(options: Partial<PaxosOptions> = {}): PluginChoice<PaxosOptions> {
  return choose(paxosPlugin, options) as PluginChoice<PaxosOptions>;
}
