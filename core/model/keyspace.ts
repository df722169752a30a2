/**
 * The node's engine keyspace: every key prefix a node writes under is declared here, and each
 * component reads and writes only its own slice ({@link Keyspace}), so no two components can
 * collide by convention.
 *
 * | prefix | slice | holds |
 * | --- | --- | --- |
 * | `0x00` | `meta` | the persisted ring view (`meta/ring`), the resolver that wrote the versions (`meta/resolver`) |
 * | `0x01` | `records-v1` | earlier versions' records by user key; moved to `0x05` when a store opens, never written |
 * | `0x02` | `hints` | hinted handoff: writes held for an owner that was down |
 * | `0x03` | `token-index` | earlier versions' keys by token (hash and size of each record); removed when a store opens, never written |
 * | `0x04` | `tombstone-index` | tombstone-only records by age (tombstone GC) |
 * | `0x05` | `records` | one record per user key under `token(u32 BE) key`, so records are in token order (anti-entropy lists the keys of a bucket, handoff streams a range, in one scan): a header (`0xc1`, then hash, size and tombstone time, 17 bytes) before its siblings (record-codec) |
 * | `0x10 name 0x00` | any other name | a plugin's own slice (`context.keyspace("my-plugin")`) |
 *
 * The bytes are part of the on-disk format: a prefix never changes meaning once released. Until
 * records moved to `0x05`, each was two engine entries (`0x01` by key and `0x03` by token), so
 * every write stored, logged and compacted both; see `RecordStore.open` for the migration.
 *
 * @module
 */
import { InvalidRequestError } from "../errors.ts";
import type { BatchOperation, ScanOptions, StorageEngine } from "../interfaces/storage-engine.ts";

/** Prefix of node metadata (ring view, resolver name). */
export const META_PREFIX = 0x00;
/** Prefix of user records as earlier versions stored them, by user key (read once, to migrate them). */
export const LEGACY_RECORD_PREFIX = 0x01;
/** Prefix of hinted handoff's held writes. */
export const HINT_PREFIX = 0x02;
/** Prefix of earlier versions' token index (removed when a store opens). */
export const LEGACY_TOKEN_INDEX_PREFIX = 0x03;
/** Prefix of the tombstone index. */
export const TOMBSTONE_INDEX_PREFIX = 0x04;
/** Prefix of user records: `0x05 token(u32 BE) key`, in token order. */
export const RECORD_PREFIX = 0x05;
/**
 * The token index's prefix, under its earlier name.
 *
 * @deprecated records are stored in token order under {@link RECORD_PREFIX} and no token index
 *   is written; this is {@link LEGACY_TOKEN_INDEX_PREFIX}.
 */
export const TOKEN_INDEX_PREFIX = LEGACY_TOKEN_INDEX_PREFIX;
/** First byte of every plugin-named slice: `0x10`, the name in UTF-8, `0x00`. */
export const PLUGIN_PREFIX = 0x10;

/** The slices core and the bundled plugins use, by name. */
const NAMED: Readonly<Record<string, number>> = {
  meta: META_PREFIX,
  "records-v1": LEGACY_RECORD_PREFIX,
  hints: HINT_PREFIX,
  "token-index": LEGACY_TOKEN_INDEX_PREFIX,
  "tombstone-index": TOMBSTONE_INDEX_PREFIX,
  records: RECORD_PREFIX,
};

const encoder = new TextEncoder();

/**
 * The bytes every key of slice `name` starts with: a reserved byte for the names in the table
 * above, else `0x10 name 0x00` (a name is 1 to 64 characters, none of them NUL).
 *
 * @throws {InvalidRequestError} for an empty, over-long or NUL-holding name
 */
export function keyspacePrefix(name: string): Uint8Array {
  const reserved = NAMED[name];
  if (reserved !== undefined) return Uint8Array.of(reserved);
  if (name.length === 0 || name.length > 64 || name.includes("\0")) {
    throw new InvalidRequestError(`a keyspace name is 1 to 64 characters without NUL, got "${name.slice(0, 80)}"`);
  }
  const body = encoder.encode(name);
  const out = new Uint8Array(body.length + 2);
  out[0] = PLUGIN_PREFIX;
  out.set(body, 1);
  return out;
}

/**
 * One component's slice of the engine: the engine's operations with keys relative to the
 * slice's prefix. Scans stay inside the slice.
 */
export interface Keyspace {
  /** The value under `key` in this slice, or `undefined`. */
  get(key: Uint8Array): Promise<Uint8Array | undefined>;
  /** Stores `value` under `key` in this slice. */
  put(key: Uint8Array, value: Uint8Array): Promise<void>;
  /** Removes `key` from this slice. */
  delete(key: Uint8Array): Promise<void>;
  /** Applies the operations (keys relative to this slice) atomically. */
  batch(operations: readonly BatchOperation[]): Promise<void>;
  /** Entries of this slice in key order; bounds and keys are relative to the slice. */
  scan(options?: ScanOptions): AsyncIterable<readonly [key: Uint8Array, value: Uint8Array]>;
}

/**
 * The slice `name` of `engine` (see {@link keyspacePrefix}).
 *
 * @example
 * ```ts
 * const hints = keyspace(engine, "hints");
 * await hints.put(encodeText("n3\0cart"), record);
 * for await (const [key] of hints.scan()) console.log(key); // without the 0x02
 * ```
 */
export function keyspace(engine: StorageEngine, name: string): Keyspace {
  const prefix = keyspacePrefix(name);
  const end = successorPrefix(prefix);
  const full = (key: Uint8Array): Uint8Array => {
    const out = new Uint8Array(prefix.length + key.length);
    out.set(prefix);
    out.set(key, prefix.length);
    return out;
  };
  return {
    get: (key) => engine.get(full(key)),
    put: (key, value) => engine.put(full(key), value),
    delete: (key) => engine.delete(full(key)),
    batch: (operations) =>
      engine.batch(
        operations.map((
          op,
        ) => (op.type === "put" ? { type: "put", key: full(op.key), value: op.value } : { type: "delete", key: full(op.key) })),
      ),
    async *scan(options: ScanOptions = {}) {
      const inner: ScanOptions = {
        ...options,
        gte: options.gte === undefined ? prefix : full(options.gte),
        lt: options.lt === undefined ? end : full(options.lt),
      };
      for await (const [key, value] of engine.scan(inner)) yield [key.subarray(prefix.length), value] as const;
    },
  };
}

/** The smallest byte string above every string starting with `prefix` (all prefixes here end below 0xff). */
function successorPrefix(prefix: Uint8Array): Uint8Array {
  const out = prefix.slice();
  out[out.length - 1]! += 1;
  return out;
}
