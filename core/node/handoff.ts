/**
 * Handoff: a node pushes the records of ranges it no longer replicates to their replicas, then
 * drops them.
 *
 * @module
 */
import { RingforgeError } from "../errors.ts";
import { believedDown, type FailureDetector } from "../interfaces/failure-detector.ts";
import type { Logger } from "../interfaces/logger.ts";
import { type Partitioner, rangeHolding } from "../interfaces/partitioner.ts";
import type { NodeId } from "../model/sibling.ts";
import type { RangeSync } from "../interfaces/records.ts";
import type { RecordStore } from "./record-store.ts";
import type { TokenInterval } from "../interfaces/records.ts";

/** What handoff did so far. */
export interface HandoffStats {
  /** Sweeps run. */
  sweeps: number;
  /** Records pushed to their replicas. */
  pushed: number;
  /** Records dropped after every replica held them. */
  dropped: number;
  /** Bytes of handoff's requests and replies. */
  bytes: number;
}

/** What {@link Handoff} needs from its node. */
export interface HandoffDeps {
  /** This node. */
  readonly id: NodeId;
  /** Its records. */
  readonly store: RecordStore;
  /** Range sync (push mode). */
  readonly sync: RangeSync;
  /** The ring. */
  readonly partitioner: Partitioner;
  /** Liveness: replicas that are down are not waited for in a sweep (their keys stay). */
  readonly detector: FailureDetector;
  /** Replication factor. */
  readonly n: () => number;
  /** Logging. */
  readonly logger: Logger;
  /** Time limit of each request, ms. */
  readonly timeoutMs: number;
}

/**
 * Moves data a node holds but does not replicate to the nodes that do (riak_core's ownership
 * and hinted handoff in one mechanism). Such data comes from three places: ranges this node
 * lost when a node joined, everything when this node is decommissioned, and copies it held as
 * a sloppy-quorum stand-in.
 *
 * A sweep finds the ranges the node does not replicate that hold records, runs a push-mode
 * {@link RangeSync} with every replica of each (so only records a replica lacks travel: after
 * a join the new owner streamed the range already and receives only the writes since), and
 * drops a record only once **every** replica holds it or a newer version, and only if it has
 * not changed since (a write that raced the sweep stays for the next one). Nothing is dropped
 * while a replica is unreachable, nor a record a replica refused because the merge would pass
 * the record bounds.
 */
export class Handoff {
  readonly #d: HandoffDeps;
  #running = false;
  /** Whether this node may hold records outside its ranges (set by a ring change or such a write). */
  #dirty = true;
  /** Totals. */
  readonly stats: HandoffStats = { sweeps: 0, pushed: 0, dropped: 0, bytes: 0 };

  constructor(deps: HandoffDeps) {
    this.#d = deps;
  }

  /**
   * Tells handoff a record was stored: if this node does not replicate the key (a stand-in's
   * copy, a write routed by an older ring view), the next sweep has work.
   */
  noteStored(key: string): void {
    if (!this.#dirty && !this.#d.partitioner.preferenceList(key, this.#d.n()).includes(this.#d.id)) this.#dirty = true;
  }

  /** Tells handoff the ring changed: ranges this node held may now belong to others. */
  ringChanged(): void {
    this.#dirty = true;
  }

  /** True while a sweep runs. */
  get busy(): boolean {
    return this.#running;
  }

  /**
   * One sweep; returns how many records this node still holds outside its ranges (0 means
   * everything it does not own has been handed off). Concurrent calls share nothing: a call
   * while a sweep runs returns `undefined` at once.
   */
  async sweep(): Promise<number | undefined> {
    if (this.#running) return undefined;
    this.#running = true;
    try {
      return await this.#sweep();
    } finally {
      this.#running = false;
    }
  }

  async #sweep(): Promise<number> {
    // Nothing stored outside this node's ranges since the last clean sweep: nothing to scan.
    if (!this.#dirty) return 0;
    this.#dirty = false;
    let remaining = 1;
    try {
      remaining = await this.#sweepRanges();
      return remaining;
    } finally {
      // Anything left (or a sweep that threw) keeps the next sweep's work.
      if (remaining > 0) this.#dirty = true;
    }
  }

  async #sweepRanges(): Promise<number> {
    const { id, store, partitioner, sync, detector } = this.#d;
    this.stats.sweeps++;
    const n = this.#d.n();
    // First the records this node holds but does not replicate, one pass over its own index
    // (a node holds far fewer records than the ring has ranges: 512 nodes of 128 vnodes make
    // 65,536 ranges). Only if there are some, the ranges they fall in.
    const tokens: number[] = [];
    for await (const entry of store.entries({ start: 0, end: 0 })) {
      if (!partitioner.preferenceList(entry.key, n).includes(id)) tokens.push(entry.token);
    }
    if (tokens.length === 0) return 0;
    const ranges = partitioner.ranges(n);
    const foreign = [...new Set(tokens.map((t) => rangeHolding(ranges, t)))].filter((r) => !r.replicas.includes(id));
    if (foreign.length === 0) return 0;

    // One push per replica over every foreign range it replicates.
    const byReplica = new Map<NodeId, TokenInterval[]>();
    for (const range of foreign) {
      for (const r of range.replicas) {
        if (!byReplica.has(r)) byReplica.set(r, []);
        byReplica.get(r)!.push(range);
      }
    }
    const settledBy = new Map<NodeId, ReadonlyMap<string, number>>();
    for (const [replica, intervals] of byReplica) {
      if (believedDown(detector, replica)) continue;
      try {
        const result = await sync.run(replica, intervals, { mode: "push", timeoutMs: this.#d.timeoutMs });
        this.stats.pushed += result.pushed;
        this.stats.bytes += result.bytes;
        if (result.refused > 0) {
          // Those records stay here (unsettled) until a client resolves their siblings and the
          // merge fits; the sync's stats count them.
          this.#d.logger.warn("handoff: replica refused records for the record bounds", { replica, refused: result.refused });
        }
        if (result.complete) settledBy.set(replica, result.settled);
      } catch (error) {
        if (!(error instanceof RingforgeError)) throw error;
        this.#d.logger.debug("handoff push failed", { replica, error: error.message });
      }
    }

    let remaining = 0;
    for (const range of foreign) {
      for await (const entry of store.entries(range)) {
        const everywhere = range.replicas.every((r) => settledBy.get(r)?.get(entry.key) === entry.hash);
        if (everywhere && (await store.removeIf(entry.key, entry.hash))) this.stats.dropped++;
        else remaining++;
      }
    }
    return remaining;
  }
}
