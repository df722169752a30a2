/**
 * The LSM engine's flush and compaction work as a function of bytes: sorted runs in (whole
 * table files, or a memtable packed into one buffer), new table files out. Nothing here touches
 * a clock, nor a file but through the `readFile` its caller may pass, so the same code runs on
 * the engine's thread in slices (inputs read by the engine, from whichever file system it uses)
 * or whole in a worker thread (`compaction-worker.ts`, which reads each input file itself when
 * the merge reaches it and hands each new table back as soon as it is built, so a job holds
 * one file per run and one output table at a time).
 *
 * Entries are never materialised as objects: cursors walk the input bytes, the merge compares
 * byte ranges in place, and {@link TableBuilder.addFrom} copies each winning entry once.
 *
 * @module
 */
import { CorruptDataError } from "../../../core/errors.ts";
import {
  checked,
  type Checksum,
  compareRanges,
  decodeBlock,
  FOOTER_BYTES,
  parseFooter,
  parseIndex,
  TableBuilder,
  type TableInfo,
  type TableOptions,
  TOMBSTONE,
} from "./sstable.ts";
import { xxh32 } from "./xxhash32.ts";
import { abbreviate } from "./sorted-keys.ts";

/** An input table file: its path (named in errors), its size, and its bytes unless the merge is to read them. */
export interface SourceFile {
  readonly name: string;
  readonly size: number;
  /** The whole file; if absent, the merge reads `name` through its `readFile` when it gets there. */
  readonly bytes?: Uint8Array;
}

/** A sorted run a compaction reads. */
export type CompactionSource =
  /** Whole table files whose key ranges do not overlap, in key order (one level's tables, or one table). */
  | { readonly kind: "tables"; readonly files: readonly SourceFile[] }
  /** A memtable's entries where they lie, in no order (see {@link MemtableEntries}); the merge sorts them. */
  | ({ readonly kind: "entries" } & MemtableEntries);

/**
 * Entries in packed form (`[keyLength u32][valueLength u32, 0xffffffff for a tombstone][key][value]`)
 * where a memtable holds them: entry `i` starts at `offsetOf[i]` in `buffers[bufferOf[i]]`. No key
 * appears twice. The buffers are the memtable's own (a worker gets a copy), so nobody may change them.
 */
export interface MemtableEntries {
  readonly buffers: readonly Uint8Array[];
  readonly bufferOf: Int32Array;
  readonly offsetOf: Int32Array;
}

/** One flush or compaction. */
export interface CompactionJob {
  /** The runs to merge, newest first: where a key is in several, the newest wins. */
  readonly sources: readonly CompactionSource[];
  /** Drop tombstones (no older run below may hold their keys). */
  readonly bottom: boolean;
  /** Start a new output table once one reaches this many bytes (`Infinity`: one table). */
  readonly maxBytes: number;
  /** How output tables are written. */
  readonly table: TableOptions;
  /**
   * Bytes every key of every table source starts with (the engine knows its tables' bounds):
   * the merge then orders entries by the next six bytes of their keys, as numbers, and compares
   * whole keys only where those tie. A key that does not start with them is a CorruptDataError.
   */
  readonly sharedPrefix?: Uint8Array;
}

/** A new table: its file's bytes and what it holds. */
export interface BuiltTable {
  readonly bytes: Uint8Array;
  readonly info: TableInfo;
}

/** What a job produced. */
export interface CompactionResult {
  /** New tables in key order (none if every entry was a dropped tombstone), unless they went to `onTable`. */
  readonly tables: BuiltTable[];
  /** Tombstones dropped because the job was at the bottom. */
  readonly tombstonesDropped: number;
}

/** The current entry of a sorted input, as ranges of `data` (no copy); `valueLength < 0` is a tombstone. */
abstract class Cursor {
  data: Uint8Array = new Uint8Array(0);
  keyStart = 0;
  keyLength = 0;
  valueStart = 0;
  valueLength = 0;
  /**
   * The current key's six bytes after the job's shared prefix (see `abbreviate`), as a
   * number (0 where the merge does not abbreviate): cursors whose numbers differ order as
   * their keys do; equal numbers say nothing.
   */
  abbreviated = 0;
  /** Moves to the next entry; false at the end. */
  abstract next(): boolean;
}

/** Key bytes a radix pass sorts by, after the prefix every key shares. */
const RADIX_PLACES = 6;

/**
 * The order of `n` distinct keys (entry `i`'s key has `keyLength(i)` bytes, byte `b` being
 * `keyByte(i, b)`): a radix sort on the {@link RADIX_PLACES} bytes after the prefix every key
 * shares (keys often share a long one: zero-padded numbers, a table or tenant name), then
 * `compare` only within runs equal on those bytes. A comparison sort over a flush's 27,000 keys
 * spent most of its time calling its comparator.
 */
function sortKeys(
  n: number,
  keyLength: (i: number) => number,
  keyByte: (i: number, at: number) => number,
  compare: (x: number, y: number) => number,
): Int32Array {
  let common = n === 0 ? 0 : keyLength(0);
  for (let i = 1; i < n && common > 0; i++) {
    let same = 0;
    const limit = Math.min(common, keyLength(i));
    while (same < limit && keyByte(i, same) === keyByte(0, same)) same++;
    common = same;
  }
  // A place past a key's end is digit 0, below every byte (a shorter key sorts first).
  const W = RADIX_PLACES;
  const digits = new Uint16Array(n * W);
  for (let i = 0; i < n; i++) {
    const length = keyLength(i);
    for (let p = 0; p < W; p++) digits[i * W + p] = common + p < length ? keyByte(i, common + p) + 1 : 0;
  }
  let order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  let next = new Int32Array(n);
  const starts = new Int32Array(258);
  for (let p = W - 1; p >= 0; p--) {
    starts.fill(0);
    for (let k = 0; k < n; k++) starts[digits[order[k]! * W + p]! + 1]!++;
    for (let d = 1; d < 258; d++) starts[d]! += starts[d - 1]!;
    for (let k = 0; k < n; k++) {
      const i = order[k]!;
      next[starts[digits[i * W + p]!]!++] = i;
    }
    [order, next] = [next, order];
  }
  // Keys equal on those places differ further on: order each such run by whole keys.
  const sameHead = (x: number, y: number) => {
    for (let p = 0; p < W; p++) if (digits[x * W + p] !== digits[y * W + p]) return false;
    return true;
  };
  for (let k = 0; k < n;) {
    let end = k + 1;
    while (end < n && sameHead(order[k]!, order[end]!)) end++;
    if (end - k > 1) order.set(Array.from(order.subarray(k, end)).sort(compare), k);
    k = end;
  }
  return order;
}

/** A memtable's entries ({@link MemtableEntries}) in key order, sorted when the cursor is made. */
class EntriesCursor extends Cursor {
  readonly #entries: MemtableEntries;
  readonly #views: DataView[];
  readonly #order: Int32Array;
  #next = 0;

  constructor(entries: MemtableEntries) {
    super();
    this.#entries = entries;
    const { buffers, bufferOf, offsetOf } = entries;
    this.#views = buffers.map((b) => new DataView(b.buffer, b.byteOffset, b.byteLength));
    const views = this.#views;
    const n = bufferOf.length;
    const keyLength = (i: number) => views[bufferOf[i]!]!.getUint32(offsetOf[i]!);
    const keyByte = (i: number, at: number) => buffers[bufferOf[i]!]![offsetOf[i]! + 8 + at]!;
    this.#order = sortKeys(n, keyLength, keyByte, (x, y) => {
      const a = buffers[bufferOf[x]!]!;
      const b = buffers[bufferOf[y]!]!;
      return compareRanges(a, offsetOf[x]! + 8, keyLength(x), b, offsetOf[y]! + 8, keyLength(y));
    });
  }

  next(): boolean {
    if (this.#next >= this.#order.length) return false;
    const slot = this.#order[this.#next++]!;
    const buffer = this.#entries.bufferOf[slot]!;
    const view = this.#views[buffer]!;
    const at = this.#entries.offsetOf[slot]!;
    const kl = view.getUint32(at);
    const vl = view.getUint32(at + 4);
    this.data = this.#entries.buffers[buffer]!;
    this.keyStart = at + 8;
    this.keyLength = kl;
    this.valueStart = at + 8 + kl;
    this.valueLength = vl === TOMBSTONE ? -1 : vl;
    return true;
  }
}

/** Entries of whole table files, one after another, every block checked as it is reached. */
class TablesCursor extends Cursor {
  readonly #files: readonly SourceFile[];
  readonly #read: ((path: string) => Uint8Array) | undefined;
  /** The current file's bytes (only the current file's: a finished one is let go). */
  #bytes: Uint8Array = new Uint8Array(0);
  #file = -1;
  #blocks: { offsets: number[]; lengths: number[] } = { offsets: [], lengths: [] };
  #block = 0;
  #view: DataView = new DataView(new ArrayBuffer(0));
  /** Offset of the current block's entry-offset array, and the entry index in it. */
  #offsetsAt = 0;
  #entry = 0;
  #entries = 0;
  /** The job's shared prefix, if the merge abbreviates keys. */
  readonly #prefix: Uint8Array | undefined;
  /** The current file's checksum (its format version's). */
  #checksum: Checksum = xxh32;

  constructor(files: readonly SourceFile[], read: ((path: string) => Uint8Array) | undefined, prefix: Uint8Array | undefined) {
    super();
    this.#files = files;
    this.#read = read;
    this.#prefix = prefix;
  }

  next(): boolean {
    while (this.#entry >= this.#entries) if (!this.#nextBlock()) return false;
    const view = this.#view;
    const o = view.getUint32(this.#offsetsAt + this.#entry * 4);
    this.#entry++;
    // Where the entry is is named only when it is bad: a string built per entry was most of
    // what a merge allocated (a scavenge every few milliseconds in the compaction worker).
    if (o + 8 > this.#offsetsAt) throw new CorruptDataError(this.#where(), "entry offset out of the block");
    const kl = view.getUint32(o);
    const vl = view.getUint32(o + 4);
    const end = o + 8 + kl + (vl === TOMBSTONE ? 0 : vl);
    if (end > this.#offsetsAt) throw new CorruptDataError(this.#where(), "entry runs past its block");
    this.keyStart = o + 8;
    this.keyLength = kl;
    this.valueStart = o + 8 + kl;
    this.valueLength = vl === TOMBSTONE ? -1 : vl;
    if (this.#prefix !== undefined) this.abbreviated = abbreviate(this.data, o + 8, kl, this.#prefix.length);
    return true;
  }

  /**
   * Checks that a block's keys start with the job's shared prefix: its first and last do (the
   * keys between sort between them, so they do too).
   */
  #checkPrefix(view: DataView, offsetsAt: number, count: number): void {
    const prefix = this.#prefix!;
    for (const i of [0, count - 1]) {
      const o = view.getUint32(offsetsAt + i * 4);
      if (o + 8 > offsetsAt) throw new CorruptDataError(this.#where(), "entry offset out of the block");
      const length = view.getUint32(o);
      if (o + 8 + length > offsetsAt) throw new CorruptDataError(this.#where(), "entry runs past its block");
      if (length < prefix.length || compareRanges(this.data, o + 8, prefix.length, prefix, 0, prefix.length) !== 0) {
        throw new CorruptDataError(this.#where(), "a key outside the range its table is recorded to hold");
      }
    }
  }

  #where(): string {
    return `${this.#files[this.#file]!.name} at offset ${this.#blocks.offsets[this.#block - 1]}`;
  }

  #nextBlock(): boolean {
    while (this.#block >= this.#blocks.offsets.length) {
      if (++this.#file >= this.#files.length) {
        this.#bytes = new Uint8Array(0);
        return false;
      }
      const file = this.#files[this.#file]!;
      const name = file.name;
      if (file.bytes === undefined && this.#read === undefined) throw new Error(`no bytes for ${name} and no way to read them`);
      const bytes = (this.#bytes = file.bytes ?? this.#read!(name));
      if (bytes.length < FOOTER_BYTES) throw new CorruptDataError(`${name} at offset 0`, "file too short for a table");
      const footer = parseFooter(bytes.subarray(bytes.length - FOOTER_BYTES), bytes.length, name);
      const where = `${name} at offset ${footer.indexOffset}`;
      this.#checksum = footer.checksum;
      const index = parseIndex(
        checked(bytes.subarray(footer.indexOffset, footer.indexOffset + footer.indexLength), where, footer.checksum),
        where,
      );
      for (let b = 0; b < index.offsets.length; b++) {
        if (index.offsets[b]! + index.lengths[b]! > footer.indexOffset) throw new CorruptDataError(where, "index points outside the data");
      }
      this.#blocks = index;
      this.#block = 0;
    }
    const name = this.#files[this.#file]!.name;
    const bytes = this.#bytes;
    const offset = this.#blocks.offsets[this.#block]!;
    const raw = bytes.subarray(offset, offset + this.#blocks.lengths[this.#block]!);
    this.#block++;
    const where = `${name} at offset ${offset}`;
    const data = decodeBlock(raw, where, this.#checksum);
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    if (data.length < 4) throw new CorruptDataError(where, "block too short");
    const count = view.getUint32(data.length - 4);
    const offsetsAt = data.length - 4 - count * 4;
    if (count === 0 || offsetsAt < 0) throw new CorruptDataError(where, "bad entry count");
    this.data = data;
    this.#view = view;
    this.#offsetsAt = offsetsAt;
    this.#entry = 0;
    this.#entries = count;
    if (this.#prefix !== undefined) this.#checkPrefix(view, offsetsAt, count);
    return true;
  }
}

/**
 * One flush or compaction, run in steps: {@link step} merges up to a budget of entries and says
 * whether it is done, so the engine's thread can run a job in slices between requests, and a
 * worker can run it whole.
 */
export class Compaction {
  readonly #job: CompactionJob;
  readonly #cursors: Cursor[];
  readonly #live: boolean[];
  readonly #tables: BuiltTable[] = [];
  #builder: TableBuilder | undefined;
  #dropped = 0;
  #started = false;
  #done = false;
  readonly #capacity: number;

  readonly #onTable: ((table: BuiltTable) => void) | undefined;

  /**
   * @param io `readFile` for input files given without their bytes; `onTable` to take each new
   *   table as soon as it is built (it is then not kept for {@link result})
   */
  constructor(job: CompactionJob, io: { readFile?: (path: string) => Uint8Array; onTable?: (table: BuiltTable) => void } = {}) {
    this.#job = job;
    this.#onTable = io.onTable;
    // Keys are abbreviated only where every source is tables (a flush's one source of entries
    // needs no comparisons), and then by every cursor: numbers of two kinds would not compare.
    const prefix = job.sources.every((s) => s.kind === "tables") ? job.sharedPrefix : undefined;
    this.#cursors = job.sources.map((s) => s.kind === "entries" ? new EntriesCursor(s) : new TablesCursor(s.files, io.readFile, prefix));
    this.#live = this.#cursors.map(() => false);
    // Room for one output table without regrowing: its target size, or everything the inputs
    // hold; plus a block, the index and the filter.
    let inputBytes = 0;
    for (const s of job.sources) inputBytes += sourceBytes(s);
    this.#capacity = Math.min(job.maxBytes, inputBytes) * 1.1 + 2 * job.table.blockBytes + 4096;
  }

  /**
   * Merges up to `budget` entries (input entries consumed); true once the job is done.
   * @throws {CorruptDataError} naming the file and offset of an input block that fails its checks
   */
  step(budget: number): boolean {
    if (this.#done) return true;
    const cursors = this.#cursors;
    const live = this.#live;
    if (!this.#started) {
      this.#started = true;
      for (let i = 0; i < cursors.length; i++) live[i] = cursors[i]!.next();
    }
    const { bottom, maxBytes } = this.#job;
    for (let spent = 0; spent < budget;) {
      let best = -1;
      for (let i = 0; i < cursors.length; i++) {
        if (!live[i]) continue;
        if (best < 0) best = i;
        else {
          const a = cursors[i]!;
          const b = cursors[best]!;
          // On a tie the earlier (newer) source keeps the win. Whole keys are compared only
          // where their abbreviations tie (always, where the merge does not abbreviate).
          if (
            a.abbreviated < b.abbreviated ||
            (a.abbreviated === b.abbreviated && compareRanges(a.data, a.keyStart, a.keyLength, b.data, b.keyStart, b.keyLength) < 0)
          ) best = i;
        }
      }
      if (best < 0) {
        this.#finishTable();
        this.#done = true;
        return true;
      }
      const w = cursors[best]!;
      if (w.valueLength < 0 && bottom) this.#dropped++;
      else {
        this.#builder ??= new TableBuilder(this.#job.table, this.#capacity);
        this.#builder.addFrom(w.data, w.keyStart, w.keyLength, w.data, w.valueStart, w.valueLength);
        if (this.#builder.bytes >= maxBytes) this.#finishTable();
      }
      // Older sources holding the same key are shadowed: skip their entry. (A newer one cannot
      // hold it: it would have won.) Advance them before the winner, whose bytes they compare to.
      for (let i = best + 1; i < cursors.length; i++) {
        const c = cursors[i]!;
        if (
          live[i] && c.abbreviated === w.abbreviated &&
          compareRanges(c.data, c.keyStart, c.keyLength, w.data, w.keyStart, w.keyLength) === 0
        ) {
          live[i] = c.next();
          spent++;
        }
      }
      live[best] = w.next();
      spent++;
    }
    return false;
  }

  /** What the job produced. @throws if it is not done */
  get result(): CompactionResult {
    if (!this.#done) throw new Error("the compaction has not finished");
    return { tables: this.#tables, tombstonesDropped: this.#dropped };
  }

  #finishTable(): void {
    if (this.#builder && this.#builder.count > 0) {
      const table = this.#builder.finish();
      if (this.#onTable) this.#onTable(table);
      else this.#tables.push(table);
    }
    this.#builder = undefined;
  }
}

/** Bytes of a source's entries (of its files, for tables). */
function sourceBytes(s: CompactionSource): number {
  if (s.kind === "tables") return s.files.reduce((n, f) => n + f.size, 0);
  const views = s.buffers.map((b) => new DataView(b.buffer, b.byteOffset, b.byteLength));
  let bytes = 0;
  for (let i = 0; i < s.bufferOf.length; i++) {
    const view = views[s.bufferOf[i]!]!;
    const vl = view.getUint32(s.offsetOf[i]! + 4);
    bytes += 8 + view.getUint32(s.offsetOf[i]!) + (vl === TOMBSTONE ? 0 : vl);
  }
  return bytes;
}

/** Runs a job to the end on this thread (`io` as for {@link Compaction}). */
export function runCompaction(job: CompactionJob, io: ConstructorParameters<typeof Compaction>[1] = {}): CompactionResult {
  const compaction = new Compaction(job, io);
  compaction.step(Infinity);
  return compaction.result;
}
