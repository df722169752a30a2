/**
 * The RecordView port: a node's stored records as background repair sees them — ordered by
 * token, with a hash per record and a hash per token interval — and the RangeSync port that
 * compares and repairs them with a peer. Anti-entropy strategies receive both in their plugin
 * context.
 *
 * @module
 */
import type { NodeId, Sibling, SiblingSet } from "../model/sibling.ts";

/**
 * An interval of the token space, `(start, end]` as in a partitioner's `TokenRange` (wrapping
 * when `end <= start`; `start === end` is the whole ring).
 */
export interface TokenInterval {
  /** Exclusive start token. */
  readonly start: number;
  /** Inclusive end token. */
  readonly end: number;
}

/** What a stored record's header says of it (read by a scan in token order without decoding the record). */
export interface IndexEntry {
  /** The user key. */
  readonly key: string;
  /** The key's token (partitioner position). */
  readonly token: number;
  /** Hash of the key and its encoded record; never 0 (0 is "no record" in the tree). */
  readonly hash: number;
  /** Size of the encoded record plus the key, bytes. */
  readonly bytes: number;
  /**
   * When this node first stored the record as tombstones only (its clock, ms), or `undefined`
   * if the record has a live value.
   */
  readonly tombstoneSince: number | undefined;
}

/**
 * A node's records for comparison and repair. Every change goes through {@link update}, under
 * the key's lock and within the store's record bounds, so a repair never races a client write
 * and never stores a record past `maxSiblings` or `maxRecordBytes`.
 */
export interface RecordView {
  /** Width of one leaf bucket of the hash tree, in tokens. */
  readonly bucketWidth: number;
  /** The token of `key` (where the partitioner places it). */
  tokenOf(key: string): number;
  /** XOR of the record hashes of every key whose token lies in `interval`. */
  intervalHash(interval: TokenInterval): Promise<number>;
  /** Index entries of the keys whose token lies in `interval`, in token order. */
  entries(interval: TokenInterval): AsyncIterable<IndexEntry>;
  /** The record of `key` (empty if none). */
  get(key: string): Promise<Sibling[]>;
  /**
   * Read-modify-write of one record: `change` gets the current siblings and returns the new
   * ones, or `undefined` to leave it. Returns what is stored afterwards.
   * @throws {SiblingLimitError} or {RecordTooLargeError} when the result would pass the bounds
   */
  update(key: string, change: (current: Sibling[]) => SiblingSet | undefined): Promise<SiblingSet>;
}

/** Which way records flow in a {@link RangeSync.run}. */
export type SyncMode = "both" | "pull" | "push";

/** Options of one sync. */
export interface SyncOptions {
  /**
   * `both`: each side ends with the merge of the two (anti-entropy); `pull`: only this node
   * takes the peer's records (a joining node streaming); `push`: only the peer takes this
   * node's records (handoff before dropping them).
   */
  readonly mode: SyncMode;
  /** Stop after repairing this many keys (the rest is left for the next run). Default no limit. */
  readonly maxKeys?: number;
  /** Time limit of each request, ms. */
  readonly timeoutMs: number;
}

/** What one sync did. */
export interface SyncResult {
  /** Requests sent. */
  readonly requests: number;
  /** Bytes of requests sent and replies received. */
  readonly bytes: number;
  /** Keys found different. */
  readonly differing: number;
  /** Records taken from the peer that changed this node's record. */
  readonly pulled: number;
  /** Records sent to the peer and merged there. */
  readonly pushed: number;
  /**
   * Keys skipped because the merge of the two records would pass the record bounds
   * (`maxSiblings`, `maxRecordBytes`) on this node or the peer: nothing was stored for them,
   * and they stay as they are (unsettled) until a client resolves their siblings.
   */
  readonly refused: number;
  /**
   * Keys whose local record (at the given hash) the peer now holds or supersedes: handoff may
   * drop these if they are still at that hash.
   */
  readonly settled: ReadonlyMap<string, number>;
  /** False when `maxKeys` cut the run short. */
  readonly complete: boolean;
}

/**
 * Compares this node's records with a peer's over token intervals and repairs the difference
 * (core's hash-tree walk, which join streaming and handoff use too). An anti-entropy strategy
 * may call it, or compare {@link RecordView}s its own way over its own messages.
 */
export interface RangeSync {
  /**
   * Syncs `intervals` with `peer`.
   * @throws the transport's errors (timeout, unreachable) if the peer cannot be reached
   */
  run(peer: NodeId, intervals: readonly TokenInterval[], options: SyncOptions): Promise<SyncResult>;
}
