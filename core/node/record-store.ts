/**
 * A node's local records, in token order, with the hash tree that anti-entropy, handoff and
 * tombstone GC work from.
 *
 * @module
 */
import {
  decodeRecord,
  encodeRecordWithHeader,
  RECORD_HEADER_BYTES,
  RECORD_HEADER_MARK,
  RECORD_KEY_HEAD_BYTES,
  recordKey,
} from "../codec/record-codec.ts";
import { allocBytes, readFloat64BE, readUint32BE, utf8After, writeFloat64BE } from "../codec/bytes.ts";
import { CorruptDataError } from "../errors.ts";
import { murmur3 } from "../hash/murmur3.ts";
import type { Clock } from "../interfaces/clock.ts";
import type { BatchOperation, ImmediateStorage, StorageEngine } from "../interfaces/storage-engine.ts";
import { checkRecordBounds, DEFAULT_LIMITS, type Limits } from "../model/limits.ts";
import type { Sibling, SiblingSet } from "../model/sibling.ts";
import type { IndexEntry, RecordView, TokenInterval } from "../interfaces/records.ts";
import { LEGACY_RECORD_PREFIX, LEGACY_TOKEN_INDEX_PREFIX, RECORD_PREFIX, TOMBSTONE_INDEX_PREFIX } from "../model/keyspace.ts";
import { KeyedMutex } from "./keyed-mutex.ts";

/** The tombstone index: `0x04 since(f64 BE) key` → empty. */
const TOMBSTONE_PREFIX = TOMBSTONE_INDEX_PREFIX;
const TOKENS = 2 ** 32;
/** A record's header after its mark: hash (u32), bytes (u32), tombstone flag (u8), tombstone time (f64). */
const INDEX_VALUE_BYTES = RECORD_HEADER_BYTES;
/** Records moved or removed per scan, and per atomic batch, of the moves at open... */
const MIGRATION_CHUNK = 256;
/** ...or fewer, once their bytes reach this: a batch of large records stays a few MiB. */
const MIGRATION_CHUNK_BYTES = 4 * 1024 * 1024;
/**
 * Up to this many non-zero leaf buckets the hash tree is a map of them, past it a Fenwick tree
 * over all buckets (256 KiB at the default 2^16): a node of a large simulated cluster holds a
 * few keys, and 512 such trees were 128 MiB allocated and zeroed for a handful of buckets each.
 */
const SPARSE_BUCKETS = 1024;

const decoder = new TextDecoder("utf-8", { fatal: true });

/** A tombstone-only record in the tombstone index: when it became so, and its key. */
export interface TombstoneCursor {
  /** This node's clock when the record became tombstones only, ms. */
  readonly since: number;
  /** The key. */
  readonly key: string;
}

/** Sizes of what the store holds. */
export interface RecordStoreStats {
  /** Records stored (tombstone-only records included). */
  keys: number;
  /** Bytes of the records and their keys: the size of one copy of this node's data. */
  bytes: number;
  /**
   * The largest record this instance has written, bytes (siblings, versions and key): a
   * high-water mark that shows sibling growth and version size (Riak's object size stats).
   */
  largestRecord: number;
  /** The most siblings a record this instance has written held: a high-water mark. */
  mostSiblings: number;
  /**
   * Changes refused because the record would have passed a bound (`maxSiblings`,
   * `maxRecordBytes`): nothing was stored for them.
   */
  refused: number;
}

/** A record change made ready for the engine, and what it changes in the store's accounting. */
interface PreparedWrite {
  readonly ops: BatchOperation[];
  readonly key: string;
  readonly token: number;
  readonly old: IndexEntry | undefined;
  readonly next: IndexEntry | undefined;
  /** Siblings of the new record. */
  readonly siblings: number;
}

/** Options of the {@link RecordStore}. */
export interface RecordStoreOptions {
  /**
   * The hash tree has 2^bits leaf buckets over the token space (default 16: 65,536 buckets,
   * 256 KiB per node once more than 1,024 of them hold keys; a map of those until then). More
   * buckets mean fewer keys to list when two replicas differ.
   */
  readonly bucketBits?: number;
  /**
   * The bounds every stored record keeps (see {@link checkRecordBounds}). Default
   * {@link DEFAULT_LIMITS}'s.
   */
  readonly limits?: Pick<Limits, "maxSiblings" | "maxRecordBytes">;
}

/**
 * A node's records, stored through its engine under `0x05 token key`, so records are in token
 * order: the keys of any token range are one engine scan (handoff streams a range,
 * anti-entropy lists the keys of a differing bucket). Each record starts with a header holding
 * its hash, size and tombstone time, so such a scan reads them without decoding the record.
 * Beside the records, the **tombstone index** orders tombstone-only records by when they
 * became so, so garbage collection reads only the tombstones past their grace period; a change
 * and its tombstone-index entries are one atomic batch.
 *
 * One engine entry per record, where earlier versions stored two (the record by key and a
 * token-index entry): a write stores, logs and compacts half the entries.
 *
 * In memory it keeps a hash tree over the token space (Merkle tree in the Tictac AAE style,
 * Riak KV 2.9): each leaf bucket holds the XOR of `hash(key, record)` over its keys, and a
 * Fenwick tree of XORs answers the hash of any token interval in O(log buckets). A write
 * updates one leaf (`old ^ new`) in O(log buckets); nothing is ever rebuilt except once at
 * open, from one scan of the records. While at most 1,024 buckets hold keys the tree is a map of those
 * buckets instead (an interval's hash is then one pass over them), so a small store, such as a
 * node of a 512-node simulation, does not allocate the whole tree. Because leaves are token buckets, not ring ranges, the tree
 * stays valid when membership changes the ranges.
 *
 * Every change goes through {@link update} under a per-key lock, so the read-modify-write of a
 * coordinator's stamp and of a replica's merge never interleave for one key.
 *
 * Being the one way a record is stored, it is also where the record bounds hold: a change that
 * would leave a record with more than `maxSiblings` siblings or over `maxRecordBytes` throws
 * (`SiblingLimitError`, `RecordTooLargeError`) and stores nothing, whichever path it came by:
 * a coordinator's write, a replica's merge, read repair, hint delivery, anti-entropy, handoff
 * or join streaming. Removals are always allowed, and a record already over a bound may change
 * as long as it does not grow in that measure (see {@link checkRecordBounds}).
 */
export class RecordStore implements RecordView {
  readonly #engine: StorageEngine;
  readonly #tokenOf: (key: string) => number;
  readonly #clock: Clock;
  readonly #locks = new KeyedMutex();
  readonly #shift: number;
  readonly #buckets: number;
  /**
   * Fenwick tree of XORs over the leaf buckets, 1-based; undefined while few buckets are
   * non-zero, which {@link #sparse} then holds.
   */
  #tree: Int32Array | undefined;
  /** The non-zero buckets' XORs while there are at most {@link SPARSE_BUCKETS} of them. */
  #sparse: Map<number, number> | undefined = new Map();
  readonly #listeners: ((key: string) => void)[] = [];
  readonly #limits: Pick<Limits, "maxSiblings" | "maxRecordBytes">;
  /** Sizes of what is stored. */
  readonly stats: RecordStoreStats = { keys: 0, bytes: 0, largestRecord: 0, mostSiblings: 0, refused: 0 };

  /**
   * @param engine the node's engine (opened by the caller before {@link open})
   * @param tokenOf the partitioner's token function
   * @param clock the node's clock (tombstone ages)
   * @param options hash tree size and record bounds
   */
  constructor(engine: StorageEngine, tokenOf: (key: string) => number, clock: Clock, options: RecordStoreOptions = {}) {
    const bits = options.bucketBits ?? 16;
    if (!Number.isInteger(bits) || bits < 4 || bits > 24) throw new RangeError(`bucketBits must be 4..24, got ${bits}`);
    this.#engine = engine;
    this.#tokenOf = tokenOf;
    this.#clock = clock;
    this.#limits = options.limits ?? DEFAULT_LIMITS;
    this.#shift = 32 - bits;
    this.#buckets = 2 ** bits;
  }

  /** Width of one leaf bucket in tokens. */
  get bucketWidth(): number {
    return 2 ** this.#shift;
  }

  /**
   * Builds the hash tree from one scan of the records, after bringing the stored data up to
   * this version's layout:
   *
   * - records of earlier versions (`0x01 key`, with a `0x03 token key` index entry) move to
   *   `0x05 token key` with their header, a chunk of records in one atomic batch, so a crash
   *   midway leaves every record readable in one place or the other and the next open goes on;
   * - records not stored under their key's token, as the partitioner gives it now (another
   *   partitioner, whose token function differs, opened the data; or such a move was
   *   interrupted), move to it. The scan that builds the tree checks every record's token.
   *
   * @throws {CorruptDataError} for a key that does not decode, or one stored twice (in both
   *   layouts, or under two tokens); neither copy is changed
   */
  async open(): Promise<void> {
    await this.#migrateLegacy();
    if (await this.#count()) return;
    await this.#moveToTokens();
    if (!(await this.#count())) throw new Error("record store: records still misplaced after moving them to their tokens");
  }

  /** Calls `listener` with the key after every change that leaves a record stored. */
  onStored(listener: (key: string) => void): void {
    this.#listeners.push(listener);
  }

  /** The token of `key` (where the partitioner places it). */
  tokenOf(key: string): number {
    return this.#tokenOf(key);
  }

  /** The record of `key` (empty if none). */
  get(key: string): Promise<Sibling[]> {
    const immediate = this.#engine.immediate;
    if (immediate === undefined) return this.#get(key);
    try {
      const bytes = immediate.get(recordKey(this.#tokenOf(key), key));
      return Promise.resolve(bytes === undefined ? [] : decodeRecord(bytes, `record "${key}"`));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async #get(key: string): Promise<Sibling[]> {
    const bytes = await this.#engine.get(recordKey(this.#tokenOf(key), key));
    return bytes === undefined ? [] : decodeRecord(bytes, `record "${key}"`);
  }

  /** The index entry of `key` (from its record's header), or `undefined` if there is no record. */
  async entry(key: string): Promise<IndexEntry | undefined> {
    const token = this.#tokenOf(key);
    const rKey = recordKey(token, key);
    const stored = await this.#engine.get(rKey);
    return stored === undefined ? undefined : headerEntry(key, token, stored, rKey.length - RECORD_KEY_HEAD_BYTES);
  }

  /**
   * Read-modify-write of one record under its key's lock: `change` gets the current siblings
   * and returns the new ones, or `undefined` to leave the record as it is. An empty result
   * removes the record. Returns what is stored afterwards.
   *
   * @throws {SiblingLimitError} or {RecordTooLargeError} if the new record would pass a
   *   bound (see {@link checkRecordBounds}); nothing is stored then
   */
  update(key: string, change: (current: Sibling[]) => SiblingSet | undefined): Promise<SiblingSet> {
    const immediate = this.#engine.immediate;
    if (immediate !== undefined && !this.#locks.held(key)) {
      // One synchronous step: nothing can interleave with it, so it needs no lock.
      try {
        return Promise.resolve(this.#updateNow(immediate, key, change));
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return this.#locks.run(key, async () => {
      const token = this.#tokenOf(key);
      const rKey = recordKey(token, key);
      const stored = await this.#engine.get(rKey);
      const current = stored === undefined ? [] : decodeRecord(stored, `record "${key}"`);
      const next = change(current);
      if (next === undefined) return current;
      const old = stored === undefined ? undefined : headerEntry(key, token, stored, rKey.length - RECORD_KEY_HEAD_BYTES);
      const write = this.#prepare(key, token, rKey, old, next, current.length);
      await this.#engine.batch(write.ops);
      this.#written(write);
      return next;
    });
  }

  /** {@link update} over an engine that answers at once. */
  #updateNow(engine: ImmediateStorage, key: string, change: (current: Sibling[]) => SiblingSet | undefined): SiblingSet {
    const token = this.#tokenOf(key);
    const rKey = recordKey(token, key);
    const stored = engine.get(rKey);
    const current = stored === undefined ? [] : decodeRecord(stored, `record "${key}"`);
    const next = change(current);
    if (next === undefined) return current;
    const old = stored === undefined ? undefined : headerEntry(key, token, stored, rKey.length - RECORD_KEY_HEAD_BYTES);
    const write = this.#prepare(key, token, rKey, old, next, current.length);
    engine.batch(write.ops);
    this.#written(write);
    return next;
  }

  /**
   * Removes the record of `key` if its hash is still `hash` (nothing changed it since the
   * caller looked); returns whether it did. Tombstone GC and handoff use it so a write that
   * raced them is never dropped.
   */
  async removeIf(key: string, hash: number): Promise<boolean> {
    return this.#locks.run(key, async () => {
      const token = this.#tokenOf(key);
      const rKey = recordKey(token, key);
      const stored = await this.#engine.get(rKey);
      const entry = stored === undefined ? undefined : headerEntry(key, token, stored, rKey.length - RECORD_KEY_HEAD_BYTES);
      if (entry === undefined || entry.hash !== hash) return false;
      const write = this.#prepare(key, token, rKey, entry, [], 0);
      await this.#engine.batch(write.ops);
      this.#written(write);
      return true;
    });
  }

  /**
   * Removes the tombstone-index entry `cursor` if the record of its key does not say it became
   * tombstones only at that time (no record, a live one, or another time): an entry only
   * damaged data leaves. Returns whether it removed it.
   */
  async dropStaleTombstone(cursor: TombstoneCursor): Promise<boolean> {
    return this.#locks.run(cursor.key, async () => {
      const entry = await this.entry(cursor.key);
      if (entry?.tombstoneSince === cursor.since) return false;
      await this.#engine.delete(tombstoneKey(cursor.since, cursor.key));
      return true;
    });
  }

  /** XOR of the record hashes of every key whose token lies in `interval`. */
  async intervalHash(interval: TokenInterval): Promise<number> {
    let hash = 0;
    for (const [lo, hi] of inclusiveSpans(interval)) hash ^= await this.#spanHash(lo, hi);
    return hash >>> 0;
  }

  /** Index entries of the keys whose token lies in `interval`, in token order. */
  async *entries(interval: TokenInterval): AsyncGenerator<IndexEntry> {
    for (const [lo, hi] of inclusiveSpans(interval)) yield* this.#scanSpan(lo, hi);
  }

  /**
   * Tombstone-only records that became so at or before `until` (this node's clock), oldest
   * first, at most `limit`, starting after `after` (a cursor from a previous call, so records
   * that stay put do not hide newer ones).
   */
  async tombstonesUntil(until: number, limit: number, after?: TombstoneCursor): Promise<TombstoneCursor[]> {
    const out: TombstoneCursor[] = [];
    const gte = after === undefined ? Uint8Array.of(TOMBSTONE_PREFIX) : successor(tombstoneKey(after.since, after.key));
    for await (const [k] of this.#engine.scan({ gte, lt: Uint8Array.of(TOMBSTONE_PREFIX + 1) })) {
      if (out.length >= limit) break;
      const since = new DataView(k.buffer, k.byteOffset, k.byteLength).getFloat64(1);
      if (since > until) break;
      out.push({ since, key: decoder.decode(k.subarray(9)) });
    }
    return out;
  }

  /** Hash of one record as the tree sees it (0 for no record). */
  static hashOf(key: string, encoded: Uint8Array | undefined): number {
    if (encoded === undefined) return 0;
    return murmur3(encoded, murmur3(key)) || 1;
  }

  // ---- internals ------------------------------------------------------------------------

  /**
   * The engine operations that store `siblings` as the record of `key` (engine key `rKey`),
   * whose index entry is `old` and which holds `currentSiblings` now; {@link #written} brings
   * the hash tree and sizes up to date once the engine applied them.
   *
   * @throws {SiblingLimitError} or {RecordTooLargeError} past a bound, before anything changes
   */
  #prepare(
    key: string,
    token: number,
    rKey: Uint8Array,
    old: IndexEntry | undefined,
    siblings: SiblingSet,
    currentSiblings: number,
  ): PreparedWrite {
    const ops: BatchOperation[] = [];
    let next: IndexEntry | undefined;
    if (siblings.length === 0) {
      ops.push({ type: "delete", key: rKey });
    } else {
      const stored = encodeRecordWithHeader(INDEX_VALUE_BYTES, siblings);
      const encoded = stored.subarray(1 + INDEX_VALUE_BYTES);
      // The size counts the record and the key's bytes (not the header, prefix and token).
      const bytes = encoded.length + rKey.length - RECORD_KEY_HEAD_BYTES;
      try {
        checkRecordBounds(key, { siblings: currentSiblings, bytes: old?.bytes ?? 0 }, { siblings: siblings.length, bytes }, this.#limits);
      } catch (error) {
        this.stats.refused++;
        throw error;
      }
      const tombstones = siblings.every((s) => s.value === null);
      next = {
        key,
        token,
        hash: RecordStore.hashOf(key, encoded),
        bytes,
        // The grace period runs from the latest change: a newer delete (or a merge that adds a
        // tombstone) starts it again, so it is never measured from an older delete.
        tombstoneSince: tombstones ? Math.max(0, this.#clock.now()) : undefined,
      };
      writeIndexValue(stored, 1, next);
      ops.push({ type: "put", key: rKey, value: stored });
    }
    if (old?.tombstoneSince !== undefined && old.tombstoneSince !== next?.tombstoneSince) {
      ops.push({ type: "delete", key: tombstoneKey(old.tombstoneSince, key) });
    }
    if (next?.tombstoneSince !== undefined && next.tombstoneSince !== old?.tombstoneSince) {
      ops.push({ type: "put", key: tombstoneKey(next.tombstoneSince, key), value: new Uint8Array(0) });
    }
    return { ops, key, token, old, next, siblings: siblings.length };
  }

  /** Accounts for a {@link #prepare}d write the engine applied. */
  #written(write: PreparedWrite): void {
    const { key, token, old, next } = write;
    this.#xor(token, (old?.hash ?? 0) ^ (next?.hash ?? 0));
    this.stats.keys += (next ? 1 : 0) - (old ? 1 : 0);
    this.stats.bytes += (next?.bytes ?? 0) - (old?.bytes ?? 0);
    if (next && next.bytes > this.stats.largestRecord) this.stats.largestRecord = next.bytes;
    if (write.siblings > this.stats.mostSiblings) this.stats.mostSiblings = write.siblings;
    if (next) { for (const listener of this.#listeners) listener(key); }
  }

  #xor(token: number, delta: number): void {
    if (delta === 0) return;
    const bucket = Math.floor(token / 2 ** this.#shift);
    const sparse = this.#sparse;
    if (sparse !== undefined) {
      const value = (sparse.get(bucket) ?? 0) ^ delta;
      if (value === 0) sparse.delete(bucket);
      else sparse.set(bucket, value);
      if (sparse.size > SPARSE_BUCKETS) this.#densify(sparse);
      return;
    }
    const tree = this.#tree!;
    for (let i = bucket + 1; i <= this.#buckets; i += i & -i) tree[i]! ^= delta;
  }

  /** Moves the buckets from the sparse map into a Fenwick tree. */
  #densify(sparse: Map<number, number>): void {
    const tree = new Int32Array(this.#buckets + 1);
    for (const [bucket, value] of sparse) {
      for (let i = bucket + 1; i <= this.#buckets; i += i & -i) tree[i]! ^= value;
    }
    this.#tree = tree;
    this.#sparse = undefined;
  }

  /** XOR of buckets `[from, to)`. */
  #range(from: number, to: number): number {
    const sparse = this.#sparse;
    let x = 0;
    if (sparse !== undefined) {
      for (const [bucket, value] of sparse) if (bucket >= from && bucket < to) x ^= value;
      return x;
    }
    const tree = this.#tree!;
    for (let i = to; i > 0; i -= i & -i) x ^= tree[i]!;
    for (let i = from; i > 0; i -= i & -i) x ^= tree[i]!;
    return x;
  }

  /** Hash of the tokens `[lo, hi]` (inclusive, lo <= hi): whole buckets from the tree, edges by scan. */
  async #spanHash(lo: number, hi: number): Promise<number> {
    const width = 2 ** this.#shift;
    const bl = Math.floor(lo / width);
    const bh = Math.floor(hi / width);
    const firstWhole = lo === bl * width ? bl : bl + 1;
    const lastWhole = hi === (bh + 1) * width - 1 ? bh : bh - 1;
    if (firstWhole > lastWhole) return this.#scanHash(lo, hi);
    let hash = this.#range(firstWhole, lastWhole + 1);
    if (firstWhole > bl) hash ^= await this.#scanHash(lo, firstWhole * width - 1);
    if (lastWhole < bh) hash ^= await this.#scanHash((lastWhole + 1) * width, hi);
    return hash;
  }

  async #scanHash(lo: number, hi: number): Promise<number> {
    let hash = 0;
    for await (const entry of this.#scanSpan(lo, hi)) hash ^= entry.hash;
    return hash;
  }

  async *#scanSpan(lo: number, hi: number): AsyncGenerator<IndexEntry> {
    const gte = tokenBound(lo);
    const lt = hi + 1 >= TOKENS ? Uint8Array.of(RECORD_PREFIX + 1) : tokenBound(hi + 1);
    for await (const [k, v] of this.#engine.scan({ gte, lt })) yield parseEntry(k, v);
  }

  // ---- migration at open -----------------------------------------------------------------

  /**
   * Moves the records of earlier versions (`0x01 key`, header optional, with a `0x03 token
   * key` index entry) to `0x05 token key` with a header, then removes what is left of the old
   * token index. A record whose header is missing takes it from its index entry (as the
   * version that wrote it did), or, without one, from the record itself. Records are moved
   * as they are, never decoded unless their tombstone state is nowhere else: a record that
   * does not decode still moves, and reading it fails as it did before.
   *
   * @throws {CorruptDataError} if a key is held in both layouts (an earlier version ran on
   *   data this version had moved); nothing is moved over it (chunks before it stay moved)
   */
  async #migrateLegacy(): Promise<void> {
    const engine = this.#engine;
    // Each scan goes on after the last chunk's keys: an engine that keeps deletions until
    // compaction (the LSM engine) would otherwise step over every moved record again.
    let after: Uint8Array | undefined;
    for (;;) {
      const chunk = await collect(engine, LEGACY_RECORD_PREFIX, after);
      if (chunk.length === 0) break;
      after = chunk[chunk.length - 1]![0];
      const ops: BatchOperation[] = [];
      for (const [k, v] of chunk) {
        const key = decodeKey(k.subarray(1), "legacy record key");
        const token = this.#tokenOf(key);
        const legacyIndexKey = indexKeyUnder(LEGACY_TOKEN_INDEX_PREFIX, token, key);
        const rKey = recordKey(token, key);
        if ((await engine.get(rKey)) !== undefined) {
          throw new CorruptDataError(
            `record "${key}"`,
            "stored both as an earlier version stored it and as this one does (was an earlier version run on this data after it was moved?); " +
              "neither copy was changed: remove one of the two, or this node's data, and let anti-entropy restore it",
          );
        }
        let header: Uint8Array;
        let record: Uint8Array;
        if (v[0] === RECORD_HEADER_MARK && v.length > 1 + INDEX_VALUE_BYTES) {
          header = v.subarray(1, 1 + INDEX_VALUE_BYTES);
          record = v.subarray(1 + INDEX_VALUE_BYTES);
        } else {
          record = v;
          const indexed = await engine.get(legacyIndexKey);
          if (indexed !== undefined && indexed.length === INDEX_VALUE_BYTES) header = indexed;
          else {
            // Neither header nor index entry (damaged data): the entry is made from the record,
            // and a record whose siblings are all tombstones starts its grace period now.
            const entry = unheaderedEntry(key, token, v, rKey.length - RECORD_KEY_HEAD_BYTES);
            header = allocBytes(INDEX_VALUE_BYTES);
            if (allTombstones(v)) {
              const since = Math.max(0, this.#clock.now());
              ops.push({ type: "put", key: tombstoneKey(since, key), value: new Uint8Array(0) });
              writeIndexValue(header, 0, { ...entry, tombstoneSince: since });
            } else {
              writeIndexValue(header, 0, entry);
            }
          }
        }
        const stored = allocBytes(1 + INDEX_VALUE_BYTES + record.length);
        stored[0] = RECORD_HEADER_MARK;
        stored.set(header, 1);
        stored.set(record, 1 + INDEX_VALUE_BYTES);
        ops.push({ type: "put", key: rKey, value: stored }, { type: "delete", key: k }, { type: "delete", key: legacyIndexKey });
      }
      // One batch per chunk: all of it moves or none (a crash leaves each record in one
      // place), in one engine write instead of one per record.
      await engine.batch(ops);
    }
    // Index entries whose record is gone (none, unless the data was damaged) go too.
    after = undefined;
    for (;;) {
      const chunk = await collect(engine, LEGACY_TOKEN_INDEX_PREFIX, after);
      if (chunk.length === 0) break;
      after = chunk[chunk.length - 1]![0];
      await engine.batch(chunk.map(([k]) => ({ type: "delete", key: k })));
    }
  }

  /**
   * Builds the hash tree and sizes from one scan of the records, checking that each is stored
   * under its key's token; returns false, counting nothing, if one is not (the partitioner's
   * token function differs from the one the records were stored by).
   */
  async #count(): Promise<boolean> {
    this.#tree = undefined;
    this.#sparse = new Map();
    this.stats.keys = 0;
    this.stats.bytes = 0;
    for await (const [k, v] of this.#engine.scan({ gte: Uint8Array.of(RECORD_PREFIX), lt: Uint8Array.of(RECORD_PREFIX + 1) })) {
      const entry = parseEntry(k, v);
      if (this.#tokenOf(entry.key) !== entry.token) return false;
      this.#xor(entry.token, entry.hash);
      this.stats.keys++;
      this.stats.bytes += entry.bytes;
    }
    return true;
  }

  /**
   * Moves every record not stored under its key's token to it, a chunk at a time in one
   * atomic batch each: every record is in one place whenever the process stops, and the next
   * open goes on, whichever token function it runs with.
   *
   * @throws {CorruptDataError} if a record's key is also stored under its new token; nothing
   *   is moved over it
   */
  async #moveToTokens(): Promise<void> {
    const engine = this.#engine;
    // Token order is the scan order; a moved record may land after the cursor and be met
    // again, with its token now right.
    let after: Uint8Array | undefined;
    for (;;) {
      const chunk = await collect(engine, RECORD_PREFIX, after);
      if (chunk.length === 0) break;
      const ops: BatchOperation[] = [];
      const targets = new Set<string>();
      for (const [k, v] of chunk) {
        const key = parseEntry(k, v).key;
        const token = this.#tokenOf(key);
        if (token === readUint32BE(k, 1)) continue;
        if (targets.has(key) || (await engine.get(recordKey(token, key))) !== undefined) {
          throw new CorruptDataError(
            `record "${key}"`,
            "stored under two tokens; neither copy was changed: remove one of them, or this node's data",
          );
        }
        targets.add(key);
        ops.push({ type: "put", key: recordKey(token, key), value: v }, { type: "delete", key: k });
      }
      if (ops.length > 0) await engine.batch(ops);
      after = chunk[chunk.length - 1]![0];
    }
  }
}

/**
 * Up to {@link MIGRATION_CHUNK} entries under `prefix` (fewer once they hold
 * {@link MIGRATION_CHUNK_BYTES}), after `after` if given, copied out of the engine: the caller
 * changes the engine before it scans again.
 */
async function collect(engine: StorageEngine, prefix: number, after?: Uint8Array): Promise<[Uint8Array, Uint8Array][]> {
  const out: [Uint8Array, Uint8Array][] = [];
  let bytes = 0;
  const gte = after === undefined ? Uint8Array.of(prefix) : successor(after);
  for await (const [k, v] of engine.scan({ gte, lt: Uint8Array.of(prefix + 1), limit: MIGRATION_CHUNK })) {
    out.push([k.slice(), v.slice()]);
    bytes += k.length + v.length;
    if (bytes >= MIGRATION_CHUNK_BYTES) break;
  }
  return out;
}

function decodeKey(bytes: Uint8Array, location: string): string {
  try {
    return decoder.decode(bytes);
  } catch {
    throw new CorruptDataError(location, "key is not UTF-8");
  }
}

/** `interval` as inclusive token spans `[lo, hi]` (two when it wraps). */
export function inclusiveSpans(interval: TokenInterval): [number, number][] {
  const { start, end } = interval;
  if (start === end) return [[0, TOKENS - 1]];
  if (start < end) return [[start + 1, end]];
  const spans: [number, number][] = [];
  if (start < TOKENS - 1) spans.push([start + 1, TOKENS - 1]);
  spans.push([0, end]);
  return spans;
}

function tokenBound(token: number): Uint8Array {
  const out = new Uint8Array(5);
  out[0] = RECORD_PREFIX;
  new DataView(out.buffer).setUint32(1, token);
  return out;
}

/** An earlier version's token-index key: `prefix token(u32 BE) key`. */
function indexKeyUnder(prefix: number, token: number, key: string): Uint8Array {
  const out = utf8After(5, key);
  out[0] = prefix;
  out[1] = token >>> 24;
  out[2] = token >>> 16;
  out[3] = token >>> 8;
  out[4] = token;
  return out;
}

/** The smallest byte string greater than `bytes` (append a zero byte). */
function successor(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

function tombstoneKey(since: number, key: string): Uint8Array {
  const out = utf8After(9, key);
  out[0] = TOMBSTONE_PREFIX;
  new DataView(out.buffer, out.byteOffset, out.byteLength).setFloat64(1, since);
  return out;
}

/** Writes `entry`'s index value (hash u32, bytes u32, tombstone flag u8, time f64, big-endian) at `at` of `out`. */
function writeIndexValue(out: Uint8Array, at: number, entry: IndexEntry): void {
  const { hash, bytes } = entry;
  out[at] = hash >>> 24;
  out[at + 1] = hash >>> 16;
  out[at + 2] = hash >>> 8;
  out[at + 3] = hash;
  out[at + 4] = bytes >>> 24;
  out[at + 5] = bytes >>> 16;
  out[at + 6] = bytes >>> 8;
  out[at + 7] = bytes;
  out[at + 8] = entry.tombstoneSince === undefined ? 0 : 1;
  writeFloat64BE(out, at + 9, entry.tombstoneSince ?? 0);
}

/**
 * The index entry of `key` (at `token`) from its stored record: from the header, or, for a
 * record stored without one (written into the engine directly), from the record itself, as
 * a record with a live value (its grace period, if it is all tombstones, starts at its next
 * change). `keyBytes` is the key's UTF-8 length.
 */
function headerEntry(key: string, token: number, stored: Uint8Array, keyBytes: number): IndexEntry {
  if (stored[0] !== RECORD_HEADER_MARK) return unheaderedEntry(key, token, stored, keyBytes);
  if (stored.length <= 1 + INDEX_VALUE_BYTES) throw new CorruptDataError(`record "${key}"`, "record header without a record");
  return {
    key,
    token,
    hash: readUint32BE(stored, 1),
    bytes: readUint32BE(stored, 5),
    tombstoneSince: stored[9] === 1 ? readFloat64BE(stored, 10) : undefined,
  };
}

/** The index entry of a stored record, from its engine key `k` and value `v`. */
function parseEntry(k: Uint8Array, v: Uint8Array): IndexEntry {
  if (k.length <= RECORD_KEY_HEAD_BYTES) throw new CorruptDataError("records", "malformed record key");
  return headerEntry(decodeKey(k.subarray(RECORD_KEY_HEAD_BYTES), "record key"), readUint32BE(k, 1), v, k.length - RECORD_KEY_HEAD_BYTES);
}

/** The index entry of a record stored without a header (`record` is the encoded record alone). */
function unheaderedEntry(key: string, token: number, record: Uint8Array, keyBytes: number): IndexEntry {
  return { key, token, hash: RecordStore.hashOf(key, record), bytes: record.length + keyBytes, tombstoneSince: undefined };
}

/** True if the encoded record holds siblings and every one is a tombstone; false if it does not decode. */
function allTombstones(record: Uint8Array): boolean {
  try {
    const siblings = decodeRecord(record, "record");
    return siblings.length > 0 && siblings.every((s) => s.value === null);
  } catch {
    return false;
  }
}
