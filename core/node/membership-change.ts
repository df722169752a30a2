/**
 * Membership changes of one node: joining the ring with range streaming, and leaving it with
 * handoff.
 *
 * @module
 */
import { InvalidRequestError, MembershipConflictError, NotRunningError, RingforgeError, TimeoutError } from "../errors.ts";
import { type Clock, type Scheduler, sleep } from "../interfaces/clock.ts";
import { believedDown, type FailureDetector } from "../interfaces/failure-detector.ts";
import { type MemberInfo, type Partitioner, rangeContains, rangeMoves } from "../interfaces/partitioner.ts";
import type { NodeId } from "../model/sibling.ts";
import type { Handoff } from "./handoff.ts";
import type { RangeSync } from "../interfaces/records.ts";
import type { TokenInterval } from "../interfaces/records.ts";
import type { RingMembership, RingView } from "./ring-membership.ts";
import type { NodeSettings } from "../model/settings.ts";

/** Tries a join or leave makes before giving up on concurrent membership changes. */
const MEMBERSHIP_ATTEMPTS = 5;

/** What a join moved. */
export interface JoinResult {
  /** The ring view the join made. */
  readonly view: RingView;
  /** Records streamed into this node from the previous owners. */
  readonly streamed: number;
  /** Bytes of the streaming requests and replies. */
  readonly bytes: number;
}

/** Options of {@link RingforgeNode.leave}. */
export interface LeaveOptions {
  /**
   * Give up if the node's data is not handed off within this time, ms (the node then keeps
   * running and keeps its data; call `leave` again). Default 600,000.
   */
  readonly timeoutMs?: number;
}

/** What {@link MembershipChange} needs from its node. */
export interface MembershipChangeDeps {
  /** Identity, replication factor, time limits, handoff period. */
  readonly settings: NodeSettings;
  /** The node's clock. */
  readonly clock: Clock;
  /** The node's timers. */
  readonly scheduler: Scheduler;
  /** The configured members (the default seeds). */
  readonly members: readonly MemberInfo[];
  /** Key placement (trial layouts are computed on it). */
  readonly partitioner: Partitioner;
  /** Liveness: streaming prefers holders not believed down. */
  readonly detector: FailureDetector;
  /** Range sync (pull mode streams a joining node's ranges). */
  readonly sync: RangeSync;
  /** The node's ring view. */
  readonly ring: RingMembership;
  /** The node's handoff (a leaving node sweeps until it holds nothing). */
  readonly handoff: Handoff;
  /** True while the node runs. */
  readonly running: () => boolean;
  /** Turns the node's refusal of replica writes on or off (on once it is out of the view). */
  readonly refuseWrites: (on: boolean) => void;
}

/** Joins and leaves for one node; {@link RingforgeNode.join} and {@link RingforgeNode.leave} call it. */
export class MembershipChange {
  readonly #d: MembershipChangeDeps & { readonly id: NodeId };

  constructor(deps: MembershipChangeDeps) {
    this.#d = { ...deps, id: deps.settings.id };
  }

  /**
   * Joins the ring (Dynamo §4.8.1's explicit join): fetches the current ring view from a
   * member, streams every range this node will replicate from a node that replicates it now
   * (a pull-mode range sync: records move once, by hash-tree diff), then makes and broadcasts
   * the new view, and checks with a member that it took effect. Writes keep going to the old
   * replicas while it streams; those that land after a range was streamed reach this node when
   * the old replica hands the range off. If a concurrent membership change won, it streams the
   * difference and tries again. A no-op if this node already owns ranges.
   *
   * @param seeds members to ask for the ring view; default the configured members
   * @throws {UnreachableNodeError} or {@link TimeoutError} if no seed or no source answers
   * @throws {MembershipConflictError} if concurrent membership changes kept winning
   */
  async join(seeds?: readonly NodeId[]): Promise<JoinResult> {
    const peers = (seeds ?? this.#d.members.map((m) => m.id)).filter((id) => id !== this.#d.id);
    let streamed = 0;
    let bytes = 0;
    for (let attempt = 0; attempt < MEMBERSHIP_ATTEMPTS; attempt++) {
      await this.#pullView(peers, true);
      const current = this.#d.ring.view;
      if (current.members.some((m) => m.id === this.#d.id)) return { view: current, streamed, bytes };
      const next = this.#nextView(current, [...current.members, this.#d.settings.member]);
      const moved = await this.#streamGained(current, next);
      streamed += moved.streamed;
      bytes += moved.bytes;
      await this.#publish(next);
      // Confirm against a member: a concurrent change with the same epoch may have won.
      await this.#pullView(current.members.map((m) => m.id), false);
      if (this.#d.ring.view.members.some((m) => m.id === this.#d.id)) return { view: this.#d.ring.view, streamed, bytes };
    }
    throw new MembershipConflictError(this.#d.id, MEMBERSHIP_ATTEMPTS);
  }

  /**
   * Decommissions this node: removes it from the ring view (broadcast to every member and
   * checked with one), refuses replica writes from then on (a coordinator still on the old view
   * counts this replica failed and uses the others), hands off every record to the nodes that
   * replicate it now, and stops once it holds none. While a replica of some range is
   * unreachable its records stay here and the handoff retries.
   *
   * @throws {InvalidRequestError} if the ring would have fewer members than N
   * @throws {TimeoutError} if the data is not handed off within `timeoutMs` (the node keeps
   *   running and keeps its data)
   */
  async leave(options: LeaveOptions = {}): Promise<void> {
    const { settings, scheduler, clock } = this.#d;
    const timeoutMs = options.timeoutMs ?? 600_000;
    const deadline = clock.now() + timeoutMs;
    const isMember = () => this.#d.ring.view.members.some((m) => m.id === this.#d.id);
    await this.#pullView(this.#d.ring.view.members.map((m) => m.id).filter((id) => id !== this.#d.id), false);
    for (;;) {
      if (!this.#d.running()) throw new NotRunningError(`node ${this.#d.id} (stopped while leaving)`);
      if (isMember()) {
        // Not yet out (or a concurrent change put this node back): make the change.
        this.#d.refuseWrites(false);
        const current = this.#d.ring.view;
        this.assertCanLeave();
        await this.#publish(this.#nextView(current, current.members.filter((m) => m.id !== this.#d.id)));
        await this.#pullView(current.members.map((m) => m.id).filter((id) => id !== this.#d.id), false);
        continue;
      }
      this.#d.refuseWrites(true);
      while (this.#d.handoff.busy) await sleep(scheduler, 10);
      const remaining = await this.#d.handoff.sweep();
      if (remaining === 0 && !isMember()) break;
      if (clock.now() >= deadline) {
        this.#d.refuseWrites(false);
        throw new TimeoutError(`leave of ${this.#d.id} (${remaining} record(s) not yet handed off)`, timeoutMs, { remaining });
      }
      await sleep(scheduler, Math.min(settings.handoff.intervalMs, 1000));
    }
  }

  /**
   * Checks, on this node's ring view, that it may leave: the ring must keep at least N members.
   *
   * @throws {InvalidRequestError} if it would have fewer
   */
  assertCanLeave(): void {
    const { n } = this.#d.settings.replication;
    const members = this.#d.ring.view.members;
    const after = members.filter((m) => m.id !== this.#d.id).length;
    if (after < n) {
      throw new InvalidRequestError(`cannot leave: the ring would have ${after} member(s), fewer than N (${n})`, { members: after, n });
    }
  }

  /** Adopts and broadcasts a view this node made. */
  async #publish(view: RingView): Promise<void> {
    if (await this.#d.ring.adopt(view)) await this.#d.ring.broadcast(view, this.#d.settings.requestTimeoutMs);
  }

  /**
   * Fetches the ring view from the first of `peers` that answers (adopting it if newer).
   * @throws the last error if `required` and none answered
   */
  async #pullView(peers: readonly NodeId[], required: boolean): Promise<void> {
    let lastError: unknown;
    for (const peer of peers) {
      if (peer === this.#d.id) continue;
      try {
        await this.#d.ring.pull(peer, this.#d.settings.requestTimeoutMs);
        return;
      } catch (error) {
        if (!(error instanceof RingforgeError)) throw error;
        lastError = error;
      }
    }
    if (required && lastError) throw lastError;
  }

  /**
   * The view after `current` with `members`: the next epoch, and the partitioner's next layout
   * if it keeps one (computed from `current`'s, which the partitioner holds now).
   */
  #nextView(current: RingView, members: readonly MemberInfo[]): RingView {
    const { partitioner } = this.#d;
    partitioner.setMembers(current.members, current.layout);
    const layout = partitioner.nextLayout?.(members);
    partitioner.setMembers(this.#d.ring.view.members, this.#d.ring.view.layout);
    return { epoch: current.epoch + 1, members, ...(layout === undefined ? {} : { layout }) };
  }

  /** Streams, from their current holders, the ranges this node replicates in `next` but not in `current`. */
  async #streamGained(current: RingView, next: RingView): Promise<{ streamed: number; bytes: number }> {
    const { partitioner, settings, sync, detector } = this.#d;
    const n = settings.replication.n;
    // Both layouts, computed without awaiting in between, so no request sees the trial members.
    partitioner.setMembers(current.members, current.layout);
    const before = partitioner.ranges(n);
    partitioner.setMembers(next.members, next.layout);
    const after = partitioner.ranges(n);
    partitioner.setMembers(this.#d.ring.view.members, this.#d.ring.view.layout);
    const pieces: { interval: TokenInterval; holders: NodeId[] }[] = [];
    for (const move of rangeMoves(before, after)) {
      if (!move.gained.includes(this.#d.id)) continue;
      const was = before.find((r) => rangeContains(r, move.end))?.replicas ?? [];
      // Prefer the node that loses the range: it is the one that hands off what lands there later.
      const holders = [...move.lost, ...was.filter((r) => !move.lost.includes(r))];
      pieces.push({ interval: { start: move.start, end: move.end }, holders });
    }
    const bySource = new Map<NodeId, typeof pieces>();
    for (const piece of pieces) {
      const source = piece.holders.find((h) => !believedDown(detector, h)) ?? piece.holders[0]!;
      if (!bySource.has(source)) bySource.set(source, []);
      bySource.get(source)!.push(piece);
    }
    let streamed = 0;
    let bytes = 0;
    for (const [source, group] of bySource) {
      const tried = new Set<NodeId>();
      let from: NodeId | undefined = source;
      while (from !== undefined) {
        tried.add(from);
        try {
          const result = await sync.run(from, group.map((p) => p.interval), { mode: "pull", timeoutMs: settings.requestTimeoutMs });
          streamed += result.pulled;
          bytes += result.bytes;
          break;
        } catch (error) {
          if (!(error instanceof RingforgeError)) throw error;
          // Another holder of the same ranges.
          from = group.flatMap((p) => p.holders).find((h) => !tried.has(h));
          if (from === undefined) throw error;
        }
      }
    }
    return { streamed, bytes };
  }
}
