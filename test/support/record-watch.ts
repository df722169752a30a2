/**
 * Watches what replicas store, from outside the node: an engine plugin that replaces `memory`
 * in a registry and looks at every record the engines write. The lab's bound checks use it, so
 * they do not take the record store's word for the bound it enforces.
 */
import type { Plugin } from "../../core/build/plugin.ts";
import {
  decodeRecord,
  keyOfRecordKey,
  RECORD_HEADER_BYTES,
  RECORD_HEADER_MARK,
  RECORD_KEY_HEAD_BYTES,
} from "../../core/codec/record-codec.ts";
import {
  type BatchOperation,
  type EngineCapabilities,
  type ImmediateStorage,
  type ScanOptions,
  type StorageEngine,
} from "../../core/interfaces/storage-engine.ts";
import type { RecordStore } from "../../core/node/record-store.ts";
import { type MemoryEngineOptions, memoryEnginePlugin, type MemoryVolume } from "../../plugins/engines/memory.ts";

/** The largest records any engine was given, over every node of every run using the watch. */
export interface RecordWatch {
  /** The record store of every node instance whose engine was opened (for their counters). */
  readonly stores: RecordStore[];
  /** Record writes seen. */
  writes: number;
  /** Most siblings in one record written. */
  mostSiblings: number;
  /** Largest record written: its encoding plus its key, bytes (as `RecordStoreStats` counts). */
  largestBytes: number;
}

/**
 * A `memory` engine plugin (same name and options, so configs need no change) that records
 * into `watch` every record written through `put` or `batch`.
 */
export function watchedMemoryEngine(watch: RecordWatch): Plugin<MemoryEngineOptions, "engine", Map<string, MemoryVolume>> {
  const seen = (key: Uint8Array, value: Uint8Array) => {
    const user = keyOfRecordKey(key);
    if (user === undefined) return;
    watch.writes++;
    watch.mostSiblings = Math.max(watch.mostSiblings, decodeRecord(value, "watched record").length);
    // The record as RecordStoreStats counts it: without the header the store writes before it.
    const record = value[0] === RECORD_HEADER_MARK ? value.length - 1 - RECORD_HEADER_BYTES : value.length;
    watch.largestBytes = Math.max(watch.largestBytes, record + key.length - RECORD_KEY_HEAD_BYTES);
  };
  return {
    ...memoryEnginePlugin,
    // The node gets a wrapper that looks at every write on its way in; the node's records
    // (for their counters) are read from the context once the engine opens (the node starts).
    create: (context, options) =>
      new WatchedEngine(memoryEnginePlugin.create(context, options), seen, () => watch.stores.push(context.records as RecordStore)),
  };
}

class WatchedEngine implements StorageEngine {
  constructor(
    readonly inner: StorageEngine,
    readonly seen: (key: Uint8Array, value: Uint8Array) => void,
    readonly opened: () => void,
  ) {}
  get capabilities(): EngineCapabilities {
    return this.inner.capabilities;
  }
  async open(): Promise<void> {
    await this.inner.open();
    this.opened();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.inner.get(key);
  }
  put(key: Uint8Array, value: Uint8Array): Promise<void> {
    this.seen(key, value);
    return this.inner.put(key, value);
  }
  delete(key: Uint8Array): Promise<void> {
    return this.inner.delete(key);
  }
  batch(operations: readonly BatchOperation[]): Promise<void> {
    for (const op of operations) if (op.type === "put") this.seen(op.key, op.value);
    return this.inner.batch(operations);
  }
  scan(options?: ScanOptions): AsyncIterable<readonly [key: Uint8Array, value: Uint8Array]> {
    return this.inner.scan(options);
  }
  /** The inner engine's, watched too, so stores take the path they take in production. */
  get immediate(): ImmediateStorage | undefined {
    const inner = this.inner.immediate;
    if (inner === undefined) return undefined;
    return {
      get: (key) => inner.get(key),
      batch: (operations) => {
        for (const op of operations) if (op.type === "put") this.seen(op.key, op.value);
        inner.batch(operations);
      },
    };
  }
}

/** A fresh, empty {@link RecordWatch}. */
export function recordWatch(): RecordWatch {
  return { stores: [], writes: 0, mostSiblings: 0, largestBytes: 0 };
}
