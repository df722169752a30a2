/**
 * The StorageEngine interface: a node's local, ordered store of encoded records.
 *
 * @module
 */
import { type Token, token } from "./token.ts";

/** Store `value` under `key` (in a batch). */
export interface PutOperation {
  /** Discriminant. */
  readonly type: "put";
  /** The key. */
  readonly key: Uint8Array;
  /** The value. */
  readonly value: Uint8Array;
}

/** Remove `key` (in a batch). */
export interface DeleteOperation {
  /** Discriminant. */
  readonly type: "delete";
  /** The key. */
  readonly key: Uint8Array;
}

/** One operation of an atomic {@link StorageEngine.batch}. */
export type BatchOperation = PutOperation | DeleteOperation;

/** Bounds and direction of a {@link StorageEngine.scan}. Keys compare as unsigned bytes. */
export interface ScanOptions {
  /** Only keys >= this. */
  readonly gte?: Uint8Array;
  /** Only keys < this. */
  readonly lt?: Uint8Array;
  /** At most this many entries. */
  readonly limit?: number;
  /** Descending order instead of ascending. */
  readonly reverse?: boolean;
}

/** What an engine can do, so the conformance suite and callers know what to expect. */
export interface EngineCapabilities {
  /** Data survives `close()` and a reopen of an engine created with the same options. */
  readonly persistent: boolean;
}

/**
 * A node's local store of bytes under byte keys, ordered by unsigned byte comparison. The
 * engine does not interpret what it stores (records are encoded by core), so any engine works
 * with any conflict resolver.
 *
 * Contract (the conformance suite checks it against a Map model):
 * - `open()` before use; any other call before `open()` or after `close()` rejects with
 *   {@link EngineNotOpenError}; `open()` and `close()` are idempotent;
 * - `get` of a missing key resolves to `undefined`; `delete` of a missing key succeeds;
 * - a `batch` applies all its operations or none, in order (a later op on the same key wins);
 * - `scan` yields entries in key order within its bounds and sees every write that completed
 *   before the scan started; it may or may not see writes made during the scan;
 * - the engine copies what it is given: a caller mutating a key or value after `put` resolves
 *   does not change what is stored. Callers must not mutate what `get` and `scan` return.
 */
export interface StorageEngine {
  /** What this engine supports. */
  readonly capabilities: EngineCapabilities;
  /** Opens (or creates) the store; recovers from a crash if the engine persists data. */
  open(): Promise<void>;
  /** Makes everything written durable (where persistent) and releases resources. */
  close(): Promise<void>;
  /** The value under `key`, or `undefined`. */
  get(key: Uint8Array): Promise<Uint8Array | undefined>;
  /** Stores `value` under `key`, replacing any previous value. */
  put(key: Uint8Array, value: Uint8Array): Promise<void>;
  /** Removes `key` if present. */
  delete(key: Uint8Array): Promise<void>;
  /** Applies the operations atomically. */
  batch(operations: readonly BatchOperation[]): Promise<void>;
  /** Entries in key order within the bounds. */
  scan(options?: ScanOptions): AsyncIterable<readonly [key: Uint8Array, value: Uint8Array]>;
  /**
   * Optional: `get` and `batch` answered at once, for an engine that never waits for I/O (the
   * memory engine). Where present, the record store does a read-modify-write in one
   * synchronous step, with no lock and no promise per engine call, which is most of what a
   * small write costs in one process. Each method behaves exactly as its promise-returning
   * twin, but throws where that one rejects.
   */
  readonly immediate?: ImmediateStorage;
}

/** The synchronous `get` and `batch` of an engine that never waits ({@link StorageEngine.immediate}). */
export interface ImmediateStorage {
  /**
   * As {@link StorageEngine.get}, returning the value (or `undefined`) at once. Like `get`'s, the
   * value may be a view into the engine's storage: callers must not mutate it, and should use
   * it before their next `batch` (an engine may move what a write replaces).
   */
  get(key: Uint8Array): Uint8Array | undefined;
  /** As {@link StorageEngine.batch}, applied (or refused, by throwing) before it returns. */
  batch(operations: readonly BatchOperation[]): void;
}

/** Injection token for the node's {@link StorageEngine}. */
export const STORAGE_ENGINE: Token<StorageEngine> = token<StorageEngine>("StorageEngine");
