/**
 * SSTables: immutable sorted files of the LSM engine, with checksummed blocks, a sparse index
 * and a Bloom filter.
 *
 * @module
 */
import { CorruptDataError } from "../../../core/errors.ts";
import { compareBytes } from "../../../core/codec/bytes.ts";
import { lowerBound } from "../../../core/model/sorted.ts";
import type { BlockCache } from "./block-cache.ts";
import { BloomFilter } from "./bloom.ts";
import { crc32c } from "./crc32c.ts";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import type { FileHandle, FileSystem } from "../../../core/interfaces/file-system.ts";

/*
 * File layout (all integers unsigned 32-bit big-endian):
 *
 *   data block*   payload, a compression byte (0 none, 1 deflate), then CRC-32C of both; the
 *                 payload (inflated if compressed) is the entries, one u32 offset per entry,
 *                 and the entry count
 *     entry       keyLength, valueLength (0xffffffff for a tombstone), key, value
 *   index block   per data block: lastKeyLength, lastKey, offset, length; then CRC-32C
 *   bloom block   the filter ([k][bits]); then CRC-32C
 *   footer        magic, version, indexOffset, indexLength, bloomOffset, bloomLength,
 *                 entryCount, CRC-32C of the seven fields before it (32 bytes)
 */
const MAGIC = 0x52465431; // "RFT1"
const VERSION = 1;
const FOOTER_BYTES = 32;
const TOMBSTONE = 0xffffffff;

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

/** Builds a table in memory from entries given in ascending key order (each key once). */
export class TableBuilder {
  readonly #options: TableOptions;
  readonly #chunks: Uint8Array[] = [];
  #offset = 0;
  #block: Uint8Array[] = [];
  #blockBytes = 0;
  #blockOffsets: number[] = [];
  #lastKey: Uint8Array | undefined;
  #smallest: Uint8Array | undefined;
  readonly #index: { lastKey: Uint8Array; offset: number; length: number }[] = [];
  readonly #keys: Uint8Array[] = [];

  constructor(options: TableOptions) {
    this.#options = options;
  }

  /** Entries added so far. */
  get count(): number {
    return this.#keys.length;
  }

  /** Approximate bytes so far (for splitting compaction output). */
  get bytes(): number {
    return this.#offset + this.#blockBytes;
  }

  /** Adds the next entry; keys must ascend. */
  add(key: Uint8Array, value: Uint8Array | null): void {
    if (this.#lastKey !== undefined && compareBytes(key, this.#lastKey) <= 0) {
      throw new Error("table entries must be added in ascending key order");
    }
    const head = new Uint8Array(8);
    const view = new DataView(head.buffer);
    view.setUint32(0, key.length);
    view.setUint32(4, value === null ? TOMBSTONE : value.length);
    this.#blockOffsets.push(this.#blockBytes);
    this.#block.push(head, key);
    this.#blockBytes += 8 + key.length;
    if (value !== null) {
      this.#block.push(value);
      this.#blockBytes += value.length;
    }
    this.#lastKey = key;
    this.#smallest ??= key;
    this.#keys.push(key);
    if (this.#blockBytes >= this.#options.blockBytes) this.#finishBlock();
  }

  /** The finished file's bytes and what it holds. @throws if no entry was added */
  finish(): { bytes: Uint8Array; info: TableInfo } {
    if (this.#smallest === undefined || this.#lastKey === undefined) throw new Error("an empty table cannot be written");
    this.#finishBlock();
    const indexOffset = this.#offset;
    const indexParts: Uint8Array[] = [];
    for (const { lastKey, offset, length } of this.#index) {
      const head = new Uint8Array(4);
      new DataView(head.buffer).setUint32(0, lastKey.length);
      const tail = new Uint8Array(8);
      new DataView(tail.buffer).setUint32(0, offset);
      new DataView(tail.buffer).setUint32(4, length);
      indexParts.push(head, lastKey, tail);
    }
    const index = withCrc(concat(indexParts));
    this.#push(index);
    const bloomOffset = this.#offset;
    const bloom = withCrc(BloomFilter.build(this.#keys, this.#options.bloomBitsPerKey).encode());
    this.#push(bloom);
    const footer = new Uint8Array(FOOTER_BYTES);
    const view = new DataView(footer.buffer);
    [MAGIC, VERSION, indexOffset, index.length, bloomOffset, bloom.length, this.#keys.length].forEach((v, i) => view.setUint32(i * 4, v));
    view.setUint32(28, crc32c(footer, 0, 28));
    this.#push(footer);
    const bytes = concat(this.#chunks);
    return { bytes, info: { size: bytes.length, count: this.#keys.length, smallest: this.#smallest, largest: this.#lastKey } };
  }

  #finishBlock(): void {
    if (this.#blockOffsets.length === 0) return;
    const trailer = new Uint8Array(this.#blockOffsets.length * 4 + 4);
    const view = new DataView(trailer.buffer);
    this.#blockOffsets.forEach((o, i) => view.setUint32(i * 4, o));
    view.setUint32(this.#blockOffsets.length * 4, this.#blockOffsets.length);
    const body = concat([...this.#block, trailer]);
    let payload = body;
    let type = 0;
    if (this.#options.compression === "deflate") {
      const deflated = deflateRawSync(body, { level: 1 });
      if (deflated.length <= body.length - body.length / 8) {
        payload = new Uint8Array(deflated.buffer, deflated.byteOffset, deflated.byteLength);
        type = 1;
      }
    }
    const block = withCrc(concat([payload, Uint8Array.of(type)]));
    this.#index.push({ lastKey: this.#lastKey!, offset: this.#offset, length: block.length });
    this.#push(block);
    this.#block = [];
    this.#blockBytes = 0;
    this.#blockOffsets = [];
  }

  #push(chunk: Uint8Array): void {
    this.#chunks.push(chunk);
    this.#offset += chunk.length;
  }
}

/** A decoded data block: its bytes and the offset of each entry. */
export class Block {
  /** Bytes held (what the block cache counts). */
  readonly bytes: number;
  readonly #data: Uint8Array;
  readonly #view: DataView;
  readonly #offsets: Uint32Array;

  /** @param data the block without its CRC (already checked) */
  constructor(data: Uint8Array, where: string) {
    this.#data = data;
    this.#view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    if (data.length < 4) throw new CorruptDataError(where, "block too short");
    const count = this.#view.getUint32(data.length - 4);
    const offsetsAt = data.length - 4 - count * 4;
    if (count === 0 || offsetsAt < 0) throw new CorruptDataError(where, "bad entry count");
    this.#offsets = new Uint32Array(count);
    for (let i = 0; i < count; i++) {
      const o = this.#view.getUint32(offsetsAt + i * 4);
      if (o + 8 > offsetsAt) throw new CorruptDataError(where, "entry offset out of the block");
      this.#offsets[i] = o;
    }
    this.bytes = data.length + count * 4 + 64;
  }

  /** Entries in the block. */
  get count(): number {
    return this.#offsets.length;
  }

  /** The key of entry `i`. */
  keyAt(i: number): Uint8Array {
    return this.#keyAtOffset(this.#offsets[i]!);
  }

  /** Entry `i`. */
  entryAt(i: number): TableEntry {
    const o = this.#offsets[i]!;
    const keyLength = this.#view.getUint32(o);
    const valueLength = this.#view.getUint32(o + 4);
    const key = this.#data.subarray(o + 8, o + 8 + keyLength);
    const value = valueLength === TOMBSTONE ? null : this.#data.subarray(o + 8 + keyLength, o + 8 + keyLength + valueLength);
    return { key, value };
  }

  /** Index of the first entry whose key is >= `key` (`count` if none). */
  seek(key: Uint8Array): number {
    return lowerBound(this.#offsets, key, this.#entryVersusKey);
  }

  #keyAtOffset(o: number): Uint8Array {
    const length = this.#view.getUint32(o);
    return this.#data.subarray(o + 8, o + 8 + length);
  }

  /** Orders the entry at an offset against a key; one per block, so a seek allocates none. */
  readonly #entryVersusKey = (offset: number, key: Uint8Array): number => compareBytes(this.#keyAtOffset(offset), key);
}

/** An open table: its index and filter in memory, blocks read on demand through the cache. */
export class TableReader {
  /** The table's file number. */
  readonly number: number;
  /** Its path. */
  readonly path: string;
  readonly #file: FileHandle;
  readonly #syncReads: boolean;
  readonly #cache: BlockCache<Block>;
  readonly #bloom: BloomFilter;
  readonly #lastKeys: Uint8Array[];
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
  ) {
    this.number = number;
    this.path = path;
    this.#file = file;
    this.#syncReads = syncReads;
    this.#cache = cache;
    this.#bloom = bloom;
    this.#lastKeys = index.lastKeys;
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
      const footer = await readAt(file, size - FOOTER_BYTES, FOOTER_BYTES);
      const view = new DataView(footer.buffer, footer.byteOffset, footer.byteLength);
      if (view.getUint32(0) !== MAGIC || crc32c(footer, 0, 28) !== view.getUint32(28)) {
        throw new CorruptDataError(`${path} at offset ${size - FOOTER_BYTES}`, "bad table footer");
      }
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
      const index = checked(await readAt(file, indexOffset, indexLength), `${path} at offset ${indexOffset}`);
      const bloom = checked(await readAt(file, bloomOffset, bloomLength), `${path} at offset ${bloomOffset}`);
      return new TableReader(
        number,
        path,
        file,
        cache,
        BloomFilter.decode(bloom),
        parseIndex(index, `${path} at offset ${indexOffset}`),
        count,
        syncReads,
      );
    } catch (error) {
      await file.close();
      throw error;
    }
  }

  /** Closes the file. */
  async close(): Promise<void> {
    this.#cache.dropPrefix(`${this.number}:`);
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
    const block = await this.#block(b);
    const i = block.seek(key);
    if (i === block.count || compareBytes(block.keyAt(i), key) !== 0) return undefined;
    return block.entryAt(i).value;
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
    return lowerBound(this.#lastKeys, key, compareBytes);
  }

  async #block(b: number): Promise<Block> {
    const cacheKey = `${this.number}:${b}`;
    const cached = this.#cache.get(cacheKey);
    if (cached) return cached;
    const offset = this.#offsets[b]!;
    const where = `${this.path} at offset ${offset}`;
    const length = this.#lengths[b]!;
    const raw = this.#syncReads ? readAtSync(this.#file, offset, length) : await readAt(this.#file, offset, length);
    const body = checked(raw, where);
    const type = body[body.length - 1];
    const payload = body.subarray(0, body.length - 1);
    let data: Uint8Array;
    if (type === 0) data = payload;
    else if (type === 1) {
      try {
        const inflated = inflateRawSync(payload);
        data = new Uint8Array(inflated.buffer, inflated.byteOffset, inflated.byteLength);
      } catch {
        throw new CorruptDataError(where, "block does not inflate");
      }
    } else throw new CorruptDataError(where, `unknown block compression ${type}`);
    const block = new Block(data, where);
    this.#cache.set(cacheKey, block);
    return block;
  }
}

/** Reads exactly `length` bytes at `position` with a synchronous pread. */
function readAtSync(file: FileHandle, position: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const bytesRead = file.readSync(out, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  if (done < length) throw new CorruptDataError(`offset ${position}`, `expected ${length} bytes, the file ends after ${done}`);
  return out;
}

/** Reads exactly `length` bytes at `position`. */
async function readAt(file: FileHandle, position: number, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const bytesRead = await file.read(out, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  if (done < length) throw new CorruptDataError(`offset ${position}`, `expected ${length} bytes, the file ends after ${done}`);
  return out;
}

/** The bytes before a trailing CRC-32C, after checking it. */
function checked(bytes: Uint8Array, where: string): Uint8Array {
  if (bytes.length < 4) throw new CorruptDataError(where, "block too short");
  const body = bytes.subarray(0, bytes.length - 4);
  const stored = new DataView(bytes.buffer, bytes.byteOffset + bytes.length - 4, 4).getUint32(0);
  if (crc32c(body) !== stored) throw new CorruptDataError(where, "checksum mismatch");
  return body;
}

function withCrc(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.length + 4);
  out.set(body);
  new DataView(out.buffer).setUint32(body.length, crc32c(body));
  return out;
}

function parseIndex(bytes: Uint8Array, where: string): { lastKeys: Uint8Array[]; offsets: number[]; lengths: number[] } {
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

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
