/**
 * Range sync: two nodes compare their records over token intervals by hash tree and exchange
 * only the keys that differ. Anti-entropy, join streaming and handoff are all built on it.
 *
 * @module
 */
import { InvalidMessageError } from "../errors.ts";
import { parseSiblings, siblingsToWire } from "../codec/record-codec.ts";
import { encode } from "../codec/msgpack.ts";
import type { ConflictResolver } from "../interfaces/conflict-resolver.ts";
import type { Message, Transport } from "../interfaces/transport.ts";
import { rangeContains } from "../interfaces/partitioner.ts";
import { type NodeId, sameSiblings, type SiblingSet } from "../model/sibling.ts";
import type { Limits } from "../model/limits.ts";
import { isRecordBoundError, validateKey } from "../model/limits.ts";
import type { MessageRouter } from "../interfaces/message-router.ts";
import type { RecordStore } from "./record-store.ts";
import type { RangeSync, SyncMode, SyncOptions, SyncResult, TokenInterval } from "../interfaces/records.ts";

/** Hashes of intervals. Reply: `{ hashes: number[] }`. */
export const SYNC_HASHES = "sync.hashes";
/** Keys and record hashes in intervals. Reply: `{ keys: string[], hashes: number[] }`. */
export const SYNC_KEYS = "sync.keys";
/** Records of keys. Reply: `{ records: [key, rows][] }`. */
export const SYNC_FETCH = "sync.fetch";
/**
 * Merge these records. Reply: `{ merged: number, refused?: string[] }`, `refused` naming the
 * keys whose merge would pass the record bounds (nothing was stored for them); absent if none.
 */
export const SYNC_MERGE = "sync.merge";

const TOKENS = 2 ** 32;
/** Most intervals in one request. */
const MAX_INTERVALS = 8192;
/** Most keys fetched or merged in one request. */
const MAX_BATCH = 256;
/** A key-list reply stops adding intervals once it holds this many keys. */
const MAX_KEYS_REPLY = 4096;

/** Running totals of one node's syncs, for the lab and metrics. */
export interface SyncStats {
  /** Syncs run. */
  runs: number;
  /** Bytes of requests and replies. */
  bytes: number;
  /** Keys found different. */
  differing: number;
  /** Records pulled that changed a local record. */
  pulled: number;
  /** Records pushed to peers. */
  pushed: number;
  /** Keys skipped because a merge would pass the record bounds (see {@link SyncResult.refused}). */
  refused: number;
}

/** An empty {@link SyncStats}. */
export function emptySyncStats(): SyncStats {
  return { runs: 0, bytes: 0, differing: 0, pulled: 0, pushed: 0, refused: 0 };
}

/** What a {@link HashTreeSync} needs from its node. */
export interface RangeSyncDeps {
  /** This node. */
  readonly id: NodeId;
  /** Its records. */
  readonly store: RecordStore;
  /** Its transport. */
  readonly transport: Transport;
  /** Its resolver (merges). */
  readonly resolver: ConflictResolver;
  /** Its router (serves the peer side). */
  readonly router: MessageRouter;
  /** Key limits (incoming keys are checked). */
  readonly limits: Limits;
}

/**
 * Compares this node's records with a peer's over token intervals and repairs the
 * difference. The walk (Merkle exchange, as Dynamo §4.7 and Riak's AAE): ask the peer for the
 * hash of each interval, keep those that differ, cut each into 16, and repeat until an
 * interval spans at most 16 leaf buckets; then compare key lists and move only the records
 * that differ. Two replicas that agree cost one request with one hash per interval.
 *
 * A key whose merge would pass the record bounds, on either side, is skipped and counted
 * ({@link SyncResult.refused}); the rest of the range carries on. Retrying it cannot succeed
 * until a client resolves its siblings, so it is neither an error nor settled.
 */
export class HashTreeSync implements RangeSync {
  readonly #d: RangeSyncDeps;
  /** Totals over every sync this node started. */
  readonly stats: SyncStats = emptySyncStats();

  constructor(deps: RangeSyncDeps) {
    this.#d = deps;
    deps.router.on("sync.", (message) => this.#serve(message));
  }

  /**
   * Syncs `intervals` with `peer`.
   * @throws the transport's errors (timeout, unreachable) if the peer cannot be reached
   */
  async run(peer: NodeId, intervals: readonly TokenInterval[], options: SyncOptions): Promise<SyncResult> {
    const { store } = this.#d;
    const leafSpan = store.bucketWidth * 16;
    const result = {
      requests: 0,
      bytes: 0,
      differing: 0,
      pulled: 0,
      pushed: 0,
      refused: 0,
      settled: new Map<string, number>(),
      complete: true,
    };
    const request = async (message: Message): Promise<Message> => {
      result.requests++;
      result.bytes += encode(message).length;
      const reply = await this.#d.transport.request(peer, message, { timeoutMs: options.timeoutMs });
      result.bytes += encode(reply).length;
      return reply;
    };

    // Walk down the tree: only intervals whose hashes differ are cut and compared again.
    let level = [...intervals];
    const leaves: TokenInterval[] = [];
    while (level.length > 0) {
      const next: TokenInterval[] = [];
      for (let at = 0; at < level.length; at += MAX_INTERVALS) {
        const chunk = level.slice(at, at + MAX_INTERVALS);
        const reply = await request({ type: SYNC_HASHES, intervals: flatten(chunk) });
        const theirs = numbers(reply.hashes, chunk.length, "sync.hashes reply");
        for (let i = 0; i < chunk.length; i++) {
          const interval = chunk[i]!;
          const equal = (await store.intervalHash(interval)) === theirs[i];
          // Push mode also settles the interval's records, unless they changed meanwhile.
          if (equal && (options.mode !== "push" || (await this.#settleEqual(interval, theirs[i]!, result.settled)))) continue;
          if (width(interval) <= leafSpan) leaves.push(interval);
          else next.push(...split(interval, store.bucketWidth));
        }
      }
      level = next;
    }

    // Compare key lists of the differing leaves, a bounded reply at a time, and move only the
    // records that differ.
    let budget = options.maxKeys ?? Infinity;
    let at = 0;
    while (at < leaves.length && budget > 0) {
      const chunk = leaves.slice(at, at + MAX_INTERVALS);
      const reply = await request({ type: SYNC_KEYS, intervals: flatten(chunk) });
      const listed = reply.listed;
      if (typeof listed !== "number" || !Number.isInteger(listed) || listed < 1 || listed > chunk.length) {
        throw new InvalidMessageError("sync.keys reply: listed must count the intervals answered");
      }
      const answered = chunk.slice(0, listed);
      at += listed;
      const keys = reply.keys;
      if (!Array.isArray(keys) || !keys.every((k) => typeof k === "string")) throw new InvalidMessageError("sync.keys reply keys");
      const hashes = numbers(reply.hashes, keys.length, "sync.keys reply");
      const remote = new Map<string, number>();
      keys.forEach((k: string, i) => {
        validateKey(k, this.#d.limits);
        const token = store.tokenOf(k);
        if (!answered.some((leaf) => rangeContains(leaf, token))) {
          throw new InvalidMessageError(`sync.keys reply from ${peer}: key "${k}" is outside the intervals asked for`);
        }
        remote.set(k, hashes[i]!);
      });
      const local = new Map<string, number>();
      for (const leaf of answered) for await (const e of store.entries(leaf)) local.set(e.key, e.hash);
      const differing = [...new Set([...local.keys(), ...remote.keys()])].filter((k) => local.get(k) !== remote.get(k)).sort();
      for (const [k, h] of local) if (remote.get(k) === h) result.settled.set(k, h);
      result.differing += differing.length;
      const work = differing.slice(0, budget);
      budget -= work.length;
      if (work.length < differing.length) result.complete = false;
      await this.#repair(peer, work, remote, options.mode, request, result);
    }
    if (at < leaves.length) result.complete = false;

    const s = this.stats;
    s.runs++;
    s.bytes += result.bytes;
    s.differing += result.differing;
    s.pulled += result.pulled;
    s.pushed += result.pushed;
    s.refused += result.refused;
    return result;
  }

  /**
   * Push mode, an interval whose tree hash matched the peer's: reads its entries once and, if
   * their XOR still equals the peer's hash (no write slipped in since the tree was read), marks
   * them settled. Returns false if they changed, so the caller compares further.
   */
  async #settleEqual(interval: TokenInterval, theirs: number, settled: Map<string, number>): Promise<boolean> {
    const entries: [string, number][] = [];
    let hash = 0;
    for await (const e of this.#d.store.entries(interval)) {
      entries.push([e.key, e.hash]);
      hash ^= e.hash;
    }
    if (hash >>> 0 !== theirs) return false;
    for (const [k, h] of entries) settled.set(k, h);
    return true;
  }

  /** Moves the records of `work` (keys whose hashes differ) as `mode` says. */
  async #repair(
    peer: NodeId,
    work: readonly string[],
    remote: ReadonlyMap<string, number>,
    mode: SyncMode,
    request: (message: Message) => Promise<Message>,
    result: { pulled: number; pushed: number; refused: number; settled: Map<string, number> },
  ): Promise<void> {
    const { store, resolver } = this.#d;
    const toPush: [string, SiblingSet][] = [];
    const fetch = mode === "push" ? [] : work.filter((k) => remote.has(k));
    for (let at = 0; at < fetch.length; at += MAX_BATCH) {
      const batch = fetch.slice(at, at + MAX_BATCH);
      const reply = await request({ type: SYNC_FETCH, keys: batch });
      const records = parseRecords(reply.records, `sync.fetch reply from ${peer}`, this.#d.limits);
      const asked = new Set(batch);
      for (const [key, theirs] of records) {
        if (!asked.delete(key)) throw new InvalidMessageError(`sync.fetch reply from ${peer}: "${key}" was not asked for`);
        let changed = false;
        let stored: SiblingSet;
        try {
          stored = await store.update(key, (mine) => {
            const merged = resolver.merge(mine, theirs);
            if (sameSiblings(merged, mine)) return undefined;
            changed = true;
            return merged;
          });
        } catch (error) {
          if (!isRecordBoundError(error)) throw error;
          // The peer would refuse the same merge: nothing to push either.
          result.refused++;
          continue;
        }
        if (changed) result.pulled++;
        if (mode === "both" && !sameSiblings(stored, theirs)) toPush.push([key, stored]);
      }
    }
    if (mode !== "pull") {
      for (const key of work) {
        if (remote.has(key) && mode === "both") continue; // fetched above
        const entry = await store.entry(key);
        if (entry === undefined) continue;
        toPush.push([key, await store.get(key)]);
        // Settled at the hash read before the record: if the record changed in between, the
        // hashes differ and handoff keeps it for the next sweep.
        result.settled.set(key, entry.hash);
      }
    }
    for (let at = 0; at < toPush.length; at += MAX_BATCH) {
      const batch = toPush.slice(at, at + MAX_BATCH);
      const reply = await request({ type: SYNC_MERGE, records: batch.map(([k, s]) => [k, siblingsToWire(s)]) });
      const refused = refusedKeys(reply.refused, batch, peer);
      // The peer does not hold what it refused: handoff must keep those records.
      for (const key of refused) result.settled.delete(key);
      result.refused += refused.length;
      result.pushed += batch.length - refused.length;
    }
  }

  // ---- the peer's side ------------------------------------------------------------------

  async #serve(message: Message): Promise<Message> {
    const { store } = this.#d;
    switch (message.type) {
      case SYNC_HASHES: {
        const intervals = parseIntervals(message.intervals);
        const hashes: number[] = [];
        for (const interval of intervals) hashes.push(await store.intervalHash(interval));
        return { type: "sync.hashes.reply", hashes };
      }
      case SYNC_KEYS: {
        // Whole intervals, until the reply holds MAX_KEYS_REPLY keys; the caller asks again for
        // the rest.
        const keys: string[] = [];
        const hashes: number[] = [];
        let listed = 0;
        for (const interval of parseIntervals(message.intervals)) {
          if (listed > 0 && keys.length >= MAX_KEYS_REPLY) break;
          for await (const e of store.entries(interval)) {
            keys.push(e.key);
            hashes.push(e.hash);
          }
          listed++;
        }
        return { type: "sync.keys.reply", keys, hashes, listed };
      }
      case SYNC_FETCH: {
        const keys = message.keys;
        if (!Array.isArray(keys) || keys.length > MAX_BATCH || !keys.every((k) => typeof k === "string")) {
          throw new InvalidMessageError(`sync.fetch.keys must be at most ${MAX_BATCH} strings`);
        }
        for (const key of keys) validateKey(key, this.#d.limits);
        const records: unknown[] = [];
        for (const key of keys as string[]) records.push([key, siblingsToWire(await store.get(key))]);
        return { type: "sync.fetch.reply", records };
      }
      case SYNC_MERGE: {
        const records = parseRecords(message.records, "sync.merge", this.#d.limits);
        const refused: string[] = [];
        for (const [key, theirs] of records) {
          try {
            await store.update(key, (mine) => {
              const merged = this.#d.resolver.merge(mine, theirs);
              return sameSiblings(merged, mine) ? undefined : merged;
            });
          } catch (error) {
            // One record over the bounds must not fail the rest of the batch.
            if (!isRecordBoundError(error)) throw error;
            refused.push(key);
          }
        }
        return { type: "sync.merge.reply", merged: records.length - refused.length, ...(refused.length ? { refused } : {}) };
      }
      default:
        throw new InvalidMessageError(`unknown sync message "${message.type}"`);
    }
  }
}

/** Tokens in an interval (2^32 for the whole ring). */
function width(interval: TokenInterval): number {
  const w = (interval.end - interval.start + TOKENS) % TOKENS;
  return w === 0 ? TOKENS : w;
}

/** Cuts an interval into up to 16 pieces whose inner boundaries fall on bucket edges. */
function split(interval: TokenInterval, bucket: number): TokenInterval[] {
  const w = width(interval);
  const out: TokenInterval[] = [];
  let start = interval.start;
  let last = 0;
  for (let i = 1; i < 16; i++) {
    const t = (interval.start + Math.floor((w * i) / 16)) % TOKENS;
    const cut = (Math.floor(t / bucket) * bucket + TOKENS - 1) % TOKENS; // last token of a bucket
    const offset = (cut - interval.start + TOKENS) % TOKENS;
    if (offset <= last || offset >= w) continue;
    out.push({ start, end: cut });
    start = cut;
    last = offset;
  }
  out.push({ start, end: interval.end });
  return out;
}

function flatten(intervals: readonly TokenInterval[]): number[] {
  const out: number[] = [];
  for (const i of intervals) out.push(i.start, i.end);
  return out;
}

function isToken(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0 && v < TOKENS;
}

function parseIntervals(data: unknown): TokenInterval[] {
  if (!Array.isArray(data) || data.length % 2 !== 0 || data.length > MAX_INTERVALS * 2 || !data.every(isToken)) {
    throw new InvalidMessageError(`sync intervals must be at most ${MAX_INTERVALS} [start, end] token pairs`);
  }
  const out: TokenInterval[] = [];
  for (let i = 0; i < data.length; i += 2) out.push({ start: data[i] as number, end: data[i + 1] as number });
  return out;
}

function numbers(data: unknown, count: number, what: string): number[] {
  if (!Array.isArray(data) || data.length !== count || !data.every((h) => typeof h === "number")) {
    throw new InvalidMessageError(`${what}: expected ${count} hashes`);
  }
  return data as number[];
}

/** The keys of `batch` a `sync.merge` reply says the peer refused (none from a peer that does not say). */
function refusedKeys(data: unknown, batch: readonly (readonly [string, SiblingSet])[], peer: NodeId): string[] {
  if (data === undefined) return [];
  const sent = new Set(batch.map(([k]) => k));
  if (!Array.isArray(data) || !data.every((k) => typeof k === "string" && sent.has(k))) {
    throw new InvalidMessageError(`sync.merge reply from ${peer}: refused must list keys that were sent`);
  }
  return [...new Set(data as string[])];
}

function parseRecords(data: unknown, where: string, limits: Limits): [string, SiblingSet][] {
  if (!Array.isArray(data) || data.length > MAX_BATCH) {
    throw new InvalidMessageError(`${where}: records must be a list of at most ${MAX_BATCH}`);
  }
  return data.map((row) => {
    if (!Array.isArray(row) || row.length !== 2 || typeof row[0] !== "string") throw new InvalidMessageError(`${where}: malformed record`);
    validateKey(row[0], limits);
    return [row[0], parseSiblings(row[1], `${where} "${row[0]}"`)];
  });
}
