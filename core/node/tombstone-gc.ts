/**
 * Tombstone garbage collection: a delete's tombstone is removed only after a grace period and
 * once every replica holds it.
 *
 * @module
 */
import type { TombstoneSettings } from "../model/settings.ts";
import { InvalidMessageError, RingforgeError } from "../errors.ts";
import type { Clock } from "../interfaces/clock.ts";
import type { Logger } from "../interfaces/logger.ts";
import type { Partitioner } from "../interfaces/partitioner.ts";
import type { Message, Transport } from "../interfaces/transport.ts";
import type { Limits } from "../model/limits.ts";
import { validateKey } from "../model/limits.ts";
import type { NodeId } from "../model/sibling.ts";
import type { MessageRouter } from "../interfaces/message-router.ts";
import type { RecordStore, TombstoneCursor } from "./record-store.ts";

/** Which of these keys do you hold, at which hash? Reply: `{ hashes: number[] }` (0: none). */
export const GC_CHECK = "gc.check";
/** Remove these keys if still at these hashes. Reply: `{ removed: number }`. */
export const GC_REAP = "gc.reap";

/** Most keys in one request. */
const MAX_KEYS = 512;

/** What tombstone GC did so far. */
export interface TombstoneStats {
  /** Tombstones removed from this node. */
  reaped: number;
  /** Tombstones past grace kept because a replica did not hold them yet or did not answer. */
  deferred: number;
}

/** What {@link TombstoneGc} needs from its node. */
export interface TombstoneGcDeps {
  /** This node. */
  readonly id: NodeId;
  /** Its records. */
  readonly store: RecordStore;
  /** Its clock (tombstone ages). */
  readonly clock: Clock;
  /** The ring: who replicates a key. */
  readonly partitioner: Partitioner;
  /** Replication factor. */
  readonly n: () => number;
  /** Messages to replicas. */
  readonly transport: Transport;
  /** Serves the replica side. */
  readonly router: MessageRouter;
  /** Key limits (incoming keys are checked). */
  readonly limits: Limits;
  /** Logging. */
  readonly logger: Logger;
  /** Settings. */
  readonly settings: TombstoneSettings;
  /** Time limit of each request, ms. */
  readonly timeoutMs: number;
}

/**
 * Removes tombstones safely (DDIA ch. 5; the fix for Cassandra's resurrection after a missed
 * repair within gc_grace). Each round reads the tombstones this node stored more than `graceMs`
 * ago, oldest first; for each key it asks **every** replica of the key (all N, up or not) for
 * its record's hash, and only if all hold the very same tombstone does it ask each to remove
 * it, conditionally on the record not having changed since. A replica that is down,
 * partitioned or still holds the old value keeps every copy, so anti-entropy can carry the
 * tombstone to it first and a deleted value cannot come back.
 */
export class TombstoneGc {
  readonly #d: TombstoneGcDeps;
  #running = false;
  /** Where the next round resumes in the tombstone index (tombstones held back stay behind). */
  #cursor: TombstoneCursor | undefined;
  /** Totals. */
  readonly stats: TombstoneStats = { reaped: 0, deferred: 0 };

  constructor(deps: TombstoneGcDeps) {
    this.#d = deps;
    deps.router.on("gc.", (message) => this.#serve(message));
  }

  /** One round; returns how many tombstones this node removed. */
  async collect(): Promise<number> {
    if (this.#running) return 0;
    this.#running = true;
    try {
      return await this.#collect();
    } finally {
      this.#running = false;
    }
  }

  async #collect(): Promise<number> {
    const { store, clock, settings, partitioner, id } = this.#d;
    const due = await store.tombstonesUntil(clock.now() - settings.graceMs, settings.batch, this.#cursor);
    // Next round goes on from here; after a short batch it starts over from the oldest.
    this.#cursor = due.length < settings.batch ? undefined : due[due.length - 1];
    if (due.length === 0) return 0;
    // Group by the other replicas to ask, so each gets one request.
    const candidates: { key: string; hash: number; replicas: NodeId[] }[] = [];
    for (const { key, since } of due) {
      const entry = await store.entry(key);
      // An index entry the record does not match (left by damaged data) never shortens a
      // record's grace period: it is dropped, and the record's own entry comes due in time.
      if (entry?.tombstoneSince !== since) {
        await store.dropStaleTombstone({ key, since });
        continue;
      }
      const replicas = partitioner.preferenceList(key, this.#d.n());
      // Records outside this node's ranges are handoff's business.
      if (!replicas.includes(id)) continue;
      candidates.push({ key, hash: entry.hash, replicas: replicas.filter((r) => r !== id) });
    }
    if (settings.mode === "grace-only") {
      let removed = 0;
      for (const c of candidates) if (await store.removeIf(c.key, c.hash)) removed++;
      this.stats.reaped += removed;
      return removed;
    }
    const peers = [...new Set(candidates.flatMap((c) => c.replicas))].sort();
    const agree = new Map<string, number>(candidates.map((c) => [c.key, 0]));
    for (const peer of peers) {
      const mine = candidates.filter((c) => c.replicas.includes(peer));
      const hashes = await this.#ask(peer, GC_CHECK, mine);
      if (!hashes) continue;
      mine.forEach((c, i) => {
        if (hashes[i] === c.hash) agree.set(c.key, agree.get(c.key)! + 1);
      });
    }
    const ready = candidates.filter((c) => agree.get(c.key) === c.replicas.length);
    this.stats.deferred += candidates.length - ready.length;
    for (const peer of peers) {
      const mine = ready.filter((c) => c.replicas.includes(peer));
      if (mine.length) await this.#ask(peer, GC_REAP, mine);
    }
    let reaped = 0;
    for (const c of ready) if (await store.removeIf(c.key, c.hash)) reaped++;
    this.stats.reaped += reaped;
    return reaped;
  }

  async #ask(peer: NodeId, type: string, items: readonly { key: string; hash: number }[]): Promise<number[] | undefined> {
    const out: number[] = [];
    try {
      for (let at = 0; at < items.length; at += MAX_KEYS) {
        const chunk = items.slice(at, at + MAX_KEYS);
        const reply = await this.#d.transport.request(
          peer,
          { type, keys: chunk.map((c) => c.key), hashes: chunk.map((c) => c.hash) },
          { timeoutMs: this.#d.timeoutMs },
        );
        if (type === GC_CHECK) {
          const hashes = reply.hashes;
          if (!Array.isArray(hashes) || hashes.length !== chunk.length) throw new InvalidMessageError("gc.check reply");
          out.push(...(hashes as number[]));
        }
      }
      return out;
    } catch (error) {
      if (!(error instanceof RingforgeError)) throw error;
      this.#d.logger.debug("tombstone gc request failed", { peer, type, error: error.message });
      return undefined;
    }
  }

  async #serve(message: Message): Promise<Message> {
    const keys = message.keys;
    const hashes = message.hashes;
    if (
      !Array.isArray(keys) ||
      !Array.isArray(hashes) ||
      keys.length !== hashes.length ||
      keys.length > MAX_KEYS ||
      !keys.every((k) => typeof k === "string") ||
      !hashes.every((h) => typeof h === "number")
    ) {
      throw new InvalidMessageError(`${message.type}: keys and hashes must be equal lists of at most ${MAX_KEYS}`);
    }
    for (const key of keys as string[]) validateKey(key, this.#d.limits);
    const { store } = this.#d;
    if (message.type === GC_CHECK) {
      const out: number[] = [];
      for (const key of keys as string[]) {
        const entry = await store.entry(key);
        // Only a tombstone counts: a live record at the same hash cannot exist, but be explicit.
        out.push(entry?.tombstoneSince === undefined ? 0 : entry.hash);
      }
      return { type: "gc.check.reply", hashes: out };
    }
    if (message.type === GC_REAP) {
      let removed = 0;
      for (let i = 0; i < keys.length; i++) {
        const entry = await store.entry(keys[i] as string);
        if (entry?.tombstoneSince !== undefined && (await store.removeIf(keys[i] as string, hashes[i] as number))) removed++;
      }
      this.stats.reaped += removed;
      return { type: "gc.reap.reply", removed };
    }
    throw new InvalidMessageError(`unknown gc message "${message.type}"`);
  }
}
