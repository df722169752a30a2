/**
 * SSTables: immutable sorted files of the LSM engine, with checksummed blocks, a sparse index
 * and a Bloom filter.
 *
 * @module
 */
import { CorruptDataError } from "../../../core/errors.ts";
import { compareBytes } from "../../../core/codec/bytes.ts";
import { SortedKeys } from "./sorted-keys.ts";
import type { BlockCache } from "./block-cache.ts";
import { BloomFilter, bloomHash, bloomHash2 } from "./bloom.ts";
import { crc32c } from "./crc32c.ts";
import { xxh32 } from "./xxhash32.ts";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import type { FileHandle, FileSystem } from "../../../core/interfaces/file-system.ts";

/*
 * File layout (all integers unsigned 32-bit big-endian):
 *
 *   data block*   payload, a compression byte (0 none, 1 deflate), then the checksum of both;
 *                 the payload (inflated if compressed) is the entries, one u32 offset per
 *                 entry, and the entry count
 *     entry       keyLength, valueLength (0xffffffff for a tombstone), key, value
 *   index block   per data block: lastKeyLength, lastKey, offset, length; then the checksum
 *   bloom block   the filter ([k][bits]); then the checksum
 *   footer        magic, version, indexOffset, indexLength, bloomOffset, bloomLength,
 *                 entryCount, the checksum of the seven fields before it (32 bytes)
 *
 * The checksum is the version's: CRC-32C in version 1, xxHash32 (seed 0) in version 2, which
 * is what the engine writes (see xxhash32.ts for why). Version 1 tables are still read, and
 * leave the database as compactions rewrite them.
 */
const MAGIC = 0x52465431; // "RFT1"
/** The format version written. */
const VERSION = 2;

/** A checksum of `bytes[start..end)`. */
export type Checksum = (bytes: Uint8Array, start?: number, end?: number) => number;

/** The checksum of table format `version`, or `undefined` for a version this engine does not know. */
export function checksumOf(version: number): Checksum | undefined {
  return version === 1 ? crc32c : version === 2 ? xxh32 : undefined;
}
/** Bytes of a table's footer. */
export const FOOTER_BYTES = 32;
/** The value length that marks a tombstone. */
export const TOMBSTONE = 0xffffffff;

/** One entry of a table: a key and its value, or `null` for a tombstone. */
export interface TableEntry {
  /** The key. */
  readonly key: Uint8Array;
  /** The value, or `null` for a tombstone. */
  readonly value: Uint8Array | null;
}

/** How tables are written. */
export interface TableOptions {
  /** Target size of a data block before its trailer, bytes. */
  readonly blockBytes: number;
  /** Bloom filter bits per key. */
  readonly bloomBitsPerKey: number;
  /** Block compression: `"deflate"` (zlib, fast level) where it saves at least 1/8, or `"none"`. */
  readonly compression?: "none" | "deflate";
}

/** What a written table holds. */
export interface TableInfo {
  /** Bytes on disk. */
  readonly size: number;
  /** Entries, tombstones included. */
  readonly count: number;
  /** Smallest key. */
  readonly smallest: Uint8Array;
  /** Largest key. */
  readonly largest: Uint8Array;
}

/**
 * Builds a table in memory from entries given in ascending key order (each key once).
 *
 * Entries are copied straight into a block buffer and finished blocks into the file's buffer,
 * so adding one allocates nothing: flushes and compactions move every byte of the data through
 * here. `addFrom` takes the key and value as ranges of a buffer the caller holds (a table
 * being compacted), `add` as arrays.
 */
export class TableBuilder {
  readonly #options: TableOptions;
  /** The file so far: finished blocks. */
  #out: Uint8Array;
  #at = 0;
  /** The block being filled: entries, then (when finished) its offsets and count. */
  #block: Uint8Array;
  #blockAt = 0;
  #entryOffsets: number[] = [];
  /** The last key added, copied (the order check and the block's index entry). */
  #last: Uint8Array = new Uint8Array(64);
  #lastLength = -1;
  #smallest: Uint8Array | undefined;
  readonly #index: { lastKey: Uint8Array; offset: number; length: number }[] = [];
  #h1s: Uint32Array = new Uint32Array(1024);
  #h2s: Uint32Array = new Uint32Array(1024);
  #count = 0;

  /**
   * @param capacity bytes to reserve for the file up front, when the caller can tell (a
   *   compaction's table size): growing the buffer copies everything written so far
   */
  constructor(options: TableOptions, capacity = 64 * 1024) {
    this.#options = options;
    this.#block = new Uint8Array(Math.max(256, options.blockBytes * 2));
    this.#out = new Uint8Array(Math.max(1024, capacity));
  }

  /** Entries added so far. */
  get count(): number {
    return this.#count;
  }

  /** Approximate bytes so far (for splitting compaction output). */
  get bytes(): number {
    return this.#at + this.#blockAt;
  }

  /** Adds the next entry; keys must ascend. */
  add(key: Uint8Array, value: Uint8Array | null): void {
    this.#put(key, 0, key.length, value, 0, value === null ? -1 : value.length);
  }

  /**
   * Adds the next entry from ranges of buffers: the key `key[keyStart, keyStart + keyLength)`,
   * the value `value[valueStart, valueStart + valueLength)`, or a tombstone if `valueLength` is
   * negative. Keys must ascend.
   */
  addFrom(key: Uint8Array, keyStart: number, keyLength: number, value: Uint8Array, valueStart: number, valueLength: number): void {
    this.#put(key, keyStart, keyLength, value, valueStart, valueLength);
  }

  #put(key: Uint8Array, ks: number, kl: number, value: Uint8Array | null, vs: number, vl: number): void {
    if (this.#lastLength >= 0 && compareRanges(key, ks, kl, this.#last, 0, this.#lastLength) <= 0) {
      throw new Error("table entries must be added in ascending key order");
    }
    const need = 8 + kl + Math.max(0, vl);
    if (this.#blockAt + need + 4 * (this.#entryOffsets.length + 2) > this.#block.length) {
      this.#block = grow(this.#block, this.#blockAt + need + 4 * (this.#entryOffsets.length + 2));
    }
    const b = this.#block;
    let at = this.#blockAt;
    this.#entryOffsets.push(at);
    writeU32(b, at, kl);
    writeU32(b, at + 4, vl < 0 ? TOMBSTONE : vl);
    at += 8;
    copyRange(key, ks, kl, b, at);
    at += kl;
    if (vl > 0) {
      copyRange(value!, vs, vl, b, at);
      at += vl;
    }
    this.#blockAt = at;
    if (kl > this.#last.length) this.#last = new Uint8Array(kl * 2);
    for (let i = 0; i < kl; i++) this.#last[i] = key[ks + i]!;
    this.#lastLength = kl;
    this.#smallest ??= key.slice(ks, ks + kl);
    if (this.#count === this.#h1s.length) {
      this.#h1s = growU32(this.#h1s);
      this.#h2s = growU32(this.#h2s);
    }
    const h1 = bloomHash(key, ks, kl);
    this.#h1s[this.#count] = h1;
    this.#h2s[this.#count] = bloomHash2(key, ks, kl, h1);
    this.#count++;
    if (this.#blockAt >= this.#options.blockBytes) this.#finishBlock();
  }

  /** The finished file's bytes and what it holds. @throws if no entry was added */
  finish(): { bytes: Uint8Array; info: TableInfo } {
    if (this.#smallest === undefined || this.#lastLength < 0) throw new Error("an empty table cannot be written");
    const largest = this.#last.slice(0, this.#lastLength);
    this.#finishBlock();
    const indexOffset = this.#at;
    let indexBytes = 4;
    for (const { lastKey } of this.#index) indexBytes += 12 + lastKey.length;
    this.#reserve(indexBytes);
    for (const { lastKey, offset, length } of this.#index) {
      writeU32(this.#out, this.#at, lastKey.length);
      this.#out.set(lastKey, this.#at + 4);
      writeU32(this.#out, this.#at + 4 + lastKey.length, offset);
      writeU32(this.#out, this.#at + 8 + lastKey.length, length);
      this.#at += 12 + lastKey.length;
    }
    this.#seal(indexOffset);
    const bloomOffset = this.#at;
    const bloom = BloomFilter.fromHashes(this.#h1s, this.#h2s, this.#count, this.#options.bloomBitsPerKey).encode();
    this.#reserve(bloom.length + 4);
    this.#out.set(bloom, this.#at);
    this.#at += bloom.length;
    this.#seal(bloomOffset);
    this.#reserve(FOOTER_BYTES);
    const footerAt = this.#at;
    [MAGIC, VERSION, indexOffset, bloomOffset - indexOffset, bloomOffset, this.#at - bloomOffset, this.#count].forEach((v, i) =>
      writeU32(this.#out, footerAt + i * 4, v)
    );
    writeU32(this.#out, footerAt + 28, xxh32(this.#out, footerAt, footerAt + 28));
    this.#at += FOOTER_BYTES;
    // A buffer reserved well past what was written (a compaction's last, short table) is cut
    // to size: the table's bytes move between threads and wait to be written whole.
    const bytes = this.#at < this.#out.length * 0.75 ? this.#out.slice(0, this.#at) : this.#out.subarray(0, this.#at);
    return { bytes, info: { size: bytes.length, count: this.#count, smallest: this.#smallest, largest } };
  }

  #finishBlock(): void {
    const offsets = this.#entryOffsets;
    if (offsets.length === 0) return;
    const b = this.#block;
    let at = this.#blockAt;
    for (const o of offsets) {
      writeU32(b, at, o);
      at += 4;
    }
    writeU32(b, at, offsets.length);
    at += 4;
    let payload = b.subarray(0, at);
    let type = 0;
    if (this.#options.compression === "deflate") {
      const deflated = deflateRawSync(payload, { level: 1 });
      if (deflated.length <= payload.length - payload.length / 8) {
        payload = new Uint8Array(deflated.buffer, deflated.byteOffset, deflated.byteLength);
        type = 1;
      }
    }
    const offset = this.#at;
    this.#reserve(payload.length + 5);
    this.#out.set(payload, this.#at);
    this.#out[this.#at + payload.length] = type;
    this.#at += payload.length + 1;
    this.#seal(offset);
    this.#index.push({ lastKey: this.#last.slice(0, this.#lastLength), offset, length: this.#at - offset });
    this.#blockAt = 0;
    this.#entryOffsets = [];
  }

  /** Appends the checksum of the output from `from` to here. */
  #seal(from: number): void {
    this.#reserve(4);
    writeU32(this.#out, this.#at, xxh32(this.#out, from, this.#at));
    this.#at += 4;
  }

  #reserve(bytes: number): void {
    if (this.#at + bytes > this.#out.length) this.#out = grow(this.#out, this.#at + bytes);
  }
}

/** Orders two byte ranges as unsigned bytes, then by length (the order of table keys). */
export function compareRanges(a: Uint8Array, as: number, al: number, b: Uint8Array, bs: number, bl: number): number {
  const n = al < bl ? al : bl;
  for (let i = 0; i < n; i++) {
    const d = a[as + i]! - b[bs + i]!;
    if (d !== 0) return d;
  }
  return al - bl;
}

/** Copies `from[start, start + length)` to `to` at `at`: short ranges byte by byte (no subarray to allocate). */
function copyRange(from: Uint8Array, start: number, length: number, to: Uint8Array, at: number): void {
  if (length <= 64) { for (let i = 0; i < length; i++) to[at + i] = from[start + i]!; }
  else to.set(start === 0 && length === from.length ? from : from.subarray(start, start + length), at);
}

function writeU32(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value >>> 24;
  bytes[at + 1] = value >>> 16;
  bytes[at + 2] = value >>> 8;
  bytes[at + 3] = value;
}

/** A copy of `bytes` at least `need` long (doubling). */
function grow(bytes: Uint8Array, need: number): Uint8Array {
  const out = new Uint8Array(Math.max(need, bytes.length * 2));
  out.set(bytes);
  return out;
}

function growU32(values: Uint32Array): Uint32Array {
  const out = new Uint32Array(values.length * 2);
  out.set(values);
  return out;
}

/** A decoded data block: its bytes and the offset of each entry. */
export class Block {
  /** Bytes held (what the block cache counts). */
  readonly bytes: number;
  /** True if {@link data} is a slice of a shared chunk (see {@link TableReader}'s reads). */
  readonly shared: boolean;
  /**
   * The block cache's pooled buffer {@link data} lies in, if it does: the cache hands it to
   * another read once this block leaves, so nothing may keep a view of it (see
   * {@link TableReader.get}).
   */
  readonly pooled: Uint8Array | undefined;
  readonly #data: Uint8Array;
  readonly #view: DataView;
  /** Where the entry-offset array starts, and the entries. */
  readonly #offsetsAt: number;
  readonly #count: number;

  /**
   * @param data the block without its checksum (already checked)
   * @param shared `data` is a slice of a chunk other blocks share
   * @param pooled the block cache's buffer `data` lies in, if it does
   */
  constructor(data: Uint8Array, where: string, shared = false, pooled?: Uint8Array) {
    this.#data = data;
    this.shared = shared;
    this.pooled = pooled;
    this.#view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    if (data.length < 4) throw new CorruptDataError(where, "block too short");
    const count = this.#view.getUint32(data.length - 4);
    const offsetsAt = data.length - 4 - count * 4;
    if (count === 0 || offsetsAt < 0) throw new CorruptDataError(where, "bad entry count");
    // Every offset is checked once here, so reads may trust them.
    for (let i = 0; i < count; i++) {
      if (this.#view.getUint32(offsetsAt + i * 4) + 8 > offsetsAt) throw new CorruptDataError(where, "entry offset out of the block");
    }
    this.#offsetsAt = offsetsAt;
    this.#count = count;
    this.bytes = (pooled?.byteLength ?? data.length) + 64;
  }

  /** The block's bytes (without its checksum). */
  get data(): Uint8Array {
    return this.#data;
  }

  /** Entries in the block. */
  get count(): number {
    return this.#count;
  }

  /** The key of entry `i`. */
  keyAt(i: number): Uint8Array {
    const o = this.#offset(i);
    return this.#data.subarray(o + 8, o + 8 + this.#view.getUint32(o));
  }

  /** Entry `i`. */
  entryAt(i: number): TableEntry {
    const o = this.#offset(i);
    const keyLength = this.#view.getUint32(o);
    const valueLength = this.#view.getUint32(o + 4);
    const key = this.#data.subarray(o + 8, o + 8 + keyLength);
    const value = valueLength === TOMBSTONE ? null : this.#data.subarray(o + 8 + keyLength, o + 8 + keyLength + valueLength);
    return { key, value };
  }

  /** The value of `key` (`null` for a tombstone), or `undefined` if the block does not hold it. */
  find(key: Uint8Array): Uint8Array | null | undefined {
    const i = this.seek(key);
    if (i === this.#count) return undefined;
    const o = this.#offset(i);
    const keyLength = this.#view.getUint32(o);
    if (compareRanges(this.#data, o + 8, keyLength, key, 0, key.length) !== 0) return undefined;
    const valueLength = this.#view.getUint32(o + 4);
    return valueLength === TOMBSTONE ? null : this.#data.subarray(o + 8 + keyLength, o + 8 + keyLength + valueLength);
  }

  /** Index of the first entry whose key is >= `key` (`count` if none); compares in place. */
  seek(key: Uint8Array): number {
    const data = this.#data;
    const view = this.#view;
    let lo = 0;
    let hi = this.#count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const o = this.#offset(mid);
      if (compareRanges(data, o + 8, view.getUint32(o), key, 0, key.length) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #offset(i: number): number {
    return this.#view.getUint32(this.#offsetsAt + i * 4);
  }
}

/** An open table: its index and filter in memory, blocks read on demand through the cache. */
export class TableReader {
  /** The table's file number. */
  readonly number: number;
  /** Its path. */
  readonly path: string;
  readonly #file: FileHandle;
  readonly #syncReads: boolean;
  /** The checksum of the table's format version. */
  readonly #checksum: Checksum;
  readonly #cache: BlockCache<Block>;
  /** This table's block `b` is cached under `#cacheBase + b`. */
  readonly #cacheBase: number;
  readonly #bloom: BloomFilter;
  /** The last key of each block. */
  readonly #lastKeys: SortedKeys;
  readonly #offsets: number[];
  readonly #lengths: number[];
  /** Entries (tombstones included). */
  readonly count: number;

  private constructor(
    number: number,
    path: string,
    file: FileHandle,
    cache: BlockCache<Block>,
    bloom: BloomFilter,
    index: { lastKeys: Uint8Array[]; offsets: number[]; lengths: number[] },
    count: number,
    syncReads: boolean,
    checksum: Checksum,
  ) {
    this.number = number;
    this.path = path;
    this.#file = file;
    this.#syncReads = syncReads;
    this.#checksum = checksum;
    this.#cache = cache;
    this.#cacheBase = cache.reserve(index.offsets.length);
    this.#bloom = bloom;
    this.#lastKeys = new SortedKeys(index.lastKeys);
    this.#offsets = index.offsets;
    this.#lengths = index.lengths;
    this.count = count;
  }

  /**
   * Opens a table file and checks its footer, index and filter.
   * @throws {CorruptDataError} naming the file and offset of anything that fails its checksum
   */
  static async open(fs: FileSystem, number: number, path: string, cache: BlockCache<Block>, syncReads = false): Promise<TableReader> {
    const file = await fs.open(path, "read");
    try {
      const size = await file.size();
      if (size < FOOTER_BYTES) throw new CorruptDataError(`${path} at offset 0`, "file too short for a table");
      const { indexOffset, indexLength, bloomOffset, bloomLength, count, checksum } = parseFooter(
        await readAt(file, size - FOOTER_BYTES, FOOTER_BYTES),
        size,
        path,
      );
      const index = checked(await readAt(file, indexOffset, indexLength), `${path} at offset ${indexOffset}`, checksum);
      const bloom = checked(await readAt(file, bloomOffset, bloomLength), `${path} at offset ${bloomOffset}`, checksum);
      return new TableReader(
        number,
        path,
        file,
        cache,
        BloomFilter.decode(bloom),
        parseIndex(index, `${path} at offset ${indexOffset}`),
        count,
        syncReads,
        checksum,
      );
    } catch (error) {
      await file.close();
      throw error;
    }
  }

  /** Closes the file. */
  async close(): Promise<void> {
    this.#cache.drop(this.#cacheBase, this.#offsets.length);
    await this.#file.close();
  }

  /**
   * The entry of `key`: its value, `null` for a tombstone, or `undefined` if the table does
   * not hold the key (the Bloom filter answers most of those without a read).
   */
  async get(key: Uint8Array): Promise<Uint8Array | null | undefined> {
    if (!this.#bloom.mayContain(key)) return undefined;
    const b = this.#blockFor(key);
    if (b === this.#lastKeys.length) return undefined;
    let block = this.#cached(b);
    if (block === undefined) {
      // A point read reads into a buffer the cache recycles (one an evicted block held): fresh
      // memory for every block cost a cold read about 2 µs of page faults and zeroing on this
      // project's 2-core VM. Nothing outside the engine may see such a buffer, so the value
      // found is copied out below. Scans (range) read into memory of their own.
      const length = this.#lengths[b]!;
      const buffer = this.#cache.take(length);
      const raw = buffer.subarray(0, length);
      if (this.#syncReads) readIntoSync(this.#file, this.#offsets[b]!, raw);
      else await readInto(this.#file, this.#offsets[b]!, raw);
      block = this.#load(b, raw, buffer);
    }
    // Nothing awaits from here on, so the block cannot leave the cache (and its buffer go to
    // another read) before its value is copied out.
    const value = block.find(key);
    return value && block.pooled ? this.#cache.copy(value) : value;
  }

  /** Entries with `gte <= key < lt`, ascending or descending. */
  async *range(gte: Uint8Array | undefined, lt: Uint8Array | undefined, reverse: boolean): AsyncGenerator<TableEntry> {
    const inRange = (key: Uint8Array) =>
      (gte === undefined || compareBytes(key, gte) >= 0) && (lt === undefined || compareBytes(key, lt) < 0);
    if (!reverse) {
      for (let b = gte === undefined ? 0 : this.#blockFor(gte); b < this.#lastKeys.length; b++) {
        const block = await this.#block(b);
        for (let i = gte === undefined ? 0 : block.seek(gte); i < block.count; i++) {
          const entry = block.entryAt(i);
          if (lt !== undefined && compareBytes(entry.key, lt) >= 0) return;
          yield entry;
        }
      }
      return;
    }
    const last = lt === undefined ? this.#lastKeys.length - 1 : Math.min(this.#blockFor(lt), this.#lastKeys.length - 1);
    for (let b = last; b >= 0; b--) {
      const block = await this.#block(b);
      for (let i = block.count - 1; i >= 0; i--) {
        const entry = block.entryAt(i);
        if (gte !== undefined && compareBytes(entry.key, gte) < 0) return;
        if (inRange(entry.key)) yield entry;
      }
    }
  }

  /** Index of the first block whose last key is >= `key`. */
  #blockFor(key: Uint8Array): number {
    return this.#lastKeys.lowerBound(key);
  }

  /**
   * Block `b` for a scan, which holds it across awaits and yields views of it: from the cache
   * (a copy, if the cached block is in a pooled buffer) or read into the cache's arena (a
   * synchronous read when `syncReads`).
   */
  async #block(b: number): Promise<Block> {
    const cached = this.#cached(b);
    if (cached !== undefined) return cached.pooled ? new Block(cached.data.slice(), this.#where(b)) : cached;
    const raw = this.#cache.arena.take(this.#lengths[b]!);
    if (this.#syncReads) readIntoSync(this.#file, this.#offsets[b]!, raw);
    else await readInto(this.#file, this.#offsets[b]!, raw);
    return this.#load(b, raw);
  }

  /**
   * Block `b` if cached. A block read into a shared chunk gets bytes of its own the first time
   * it is found here: a block read once leaves the cache in the order it came, freeing its chunk
   * with its neighbours, but one that is read again may stay for long, and must not keep a
   * whole chunk alive.
   */
  #cached(b: number): Block | undefined {
    const key = this.#cacheBase + b;
    const cached = this.#cache.get(key);
    if (cached === undefined || !cached.shared) return cached;
    const own = new Block(cached.data.slice(), this.#where(b));
    this.#cache.set(key, own);
    return own;
  }

  /**
   * Checks and caches block `b` read as `raw`: a slice of the cache's arena (unless the block
   * was too large for one), or of `pooled`, a buffer from the cache's pool.
   */
  #load(b: number, raw: Uint8Array, pooled?: Uint8Array): Block {
    const where = this.#where(b);
    const data = decodeBlock(raw, where, this.#checksum);
    let block: Block;
    if (data.buffer !== raw.buffer) {
      // Inflated: the data has a buffer of its own, and the raw bytes' pooled buffer is free.
      if (pooled) this.#cache.give(pooled);
      block = new Block(data, where);
    } else if (pooled) block = new Block(data, where, false, pooled);
    else block = new Block(data, where, raw.byteLength < raw.buffer.byteLength);
    this.#cache.set(this.#cacheBase + b, block);
    return block;
  }

  #where(b: number): string {
    return `${this.path} at offset ${this.#offsets[b]}`;
  }
}

/** Where a table's index and filter are, from its footer. */
export interface TableFooter {
  readonly indexOffset: number;
  readonly indexLength: number;
  readonly bloomOffset: number;
  readonly bloomLength: number;
  /** Entries, tombstones included. */
  readonly count: number;
  /** The checksum of its blocks (its format version's). */
  readonly checksum: Checksum;
}

/**
 * Checks and reads a table's footer (its last {@link FOOTER_BYTES} bytes) for a file of `size` bytes.
 * @throws {CorruptDataError} if it fails its checksum or points outside the file
 */
export function parseFooter(footer: Uint8Array, size: number, path: string): TableFooter {
  const view = new DataView(footer.buffer, footer.byteOffset, footer.byteLength);
  const where = `${path} at offset ${size - FOOTER_BYTES}`;
  if (footer.length < FOOTER_BYTES || view.getUint32(0) !== MAGIC) throw new CorruptDataError(where, "bad table footer");
  const version = view.getUint32(4);
  const checksum = checksumOf(version);
  if (checksum === undefined) throw new CorruptDataError(where, `unknown table format version ${version}`);
  if (checksum(footer, 0, 28) !== view.getUint32(28)) throw new CorruptDataError(where, "bad table footer");
  const [indexOffset, indexLength, bloomOffset, bloomLength, count] = [2, 3, 4, 5, 6].map((i) => view.getUint32(i * 4)) as [
    number,
    number,
    number,
    number,
    number,
  ];
  if (indexOffset + indexLength > size || bloomOffset + bloomLength > size) {
    throw new CorruptDataError(`${path} at offset ${size - FOOTER_BYTES}`, "footer points outside the file");
  }
  return { indexOffset, indexLength, bloomOffset, bloomLength, count, checksum };
}

/**
 * A data block as stored (payload, compression byte, checksum) to its entries and offsets,
 * checked and inflated.
 * @throws {CorruptDataError} naming `where` if it fails its checksum or does not inflate
 */
export function decodeBlock(raw: Uint8Array, where: string, checksum: Checksum): Uint8Array {
  const body = checked(raw, where, checksum);
  const type = body[body.length - 1];
  const payload = body.subarray(0, body.length - 1);
  if (type === 0) return payload;
  if (type !== 1) throw new CorruptDataError(where, `unknown block compression ${type}`);
  try {
    const inflated = inflateRawSync(payload);
    return new Uint8Array(inflated.buffer, inflated.byteOffset, inflated.byteLength);
  } catch {
    throw new CorruptDataError(where, "block does not inflate");
  }
}

/** Fills `out` from `position` with a synchronous pread. */
function readIntoSync(file: FileHandle, position: number, out: Uint8Array): void {
  const length = out.length;
  let done = 0;
  while (done < length) {
    const bytesRead = file.readSync(out, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  if (done < length) throw new CorruptDataError(`offset ${position}`, `expected ${length} bytes, the file ends after ${done}`);
}

/** Reads exactly `length` bytes at `position`. */
async function readAt(file: FileHandle, position: number, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  await readInto(file, position, out);
  return out;
}

/** Fills `out` from `position`. */
async function readInto(file: FileHandle, position: number, out: Uint8Array): Promise<void> {
  const length = out.length;
  let done = 0;
  while (done < length) {
    const bytesRead = await file.read(out, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  if (done < length) throw new CorruptDataError(`offset ${position}`, `expected ${length} bytes, the file ends after ${done}`);
}

/** The bytes before a trailing checksum (the table version's), after checking it. */
export function checked(bytes: Uint8Array, where: string, checksum: Checksum): Uint8Array {
  if (bytes.length < 4) throw new CorruptDataError(where, "block too short");
  const body = bytes.subarray(0, bytes.length - 4);
  const stored = new DataView(bytes.buffer, bytes.byteOffset + bytes.length - 4, 4).getUint32(0);
  if (checksum(body) !== stored) throw new CorruptDataError(where, "checksum mismatch");
  return body;
}

/** A table's index block (checked): each data block's last key, offset and length. */
export function parseIndex(bytes: Uint8Array, where: string): { lastKeys: Uint8Array[]; offsets: number[]; lengths: number[] } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lastKeys: Uint8Array[] = [];
  const offsets: number[] = [];
  const lengths: number[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (at + 4 > bytes.length) throw new CorruptDataError(where, "truncated index");
    const keyLength = view.getUint32(at);
    if (at + 4 + keyLength + 8 > bytes.length) throw new CorruptDataError(where, "truncated index entry");
    lastKeys.push(bytes.slice(at + 4, at + 4 + keyLength));
    offsets.push(view.getUint32(at + 4 + keyLength));
    lengths.push(view.getUint32(at + 8 + keyLength));
    at += 12 + keyLength;
  }
  return { lastKeys, offsets, lengths };
}
