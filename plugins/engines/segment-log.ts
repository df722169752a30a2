/**
 * Key/value records packed into large byte segments, the memory engine's storage: a
 * log-structured memory in the manner of RAMCloud (Rumble et al., "Log-structured Memory for
 * DRAM-based Storage", FAST 2014), compacted one segment at a time.
 *
 * @module
 */

/** The largest segment; a record's location is `segment * MAX_SEGMENT_BYTES + offset`. */
const MAX_SEGMENT_BYTES = 256 * 1024;
/**
 * The smallest segment, so that a store of a few keys (a simulated node) holds little: the
 * 512 nodes of a simulation allocated 16 MiB at 32 KiB each for a handful of records apiece.
 */
const MIN_SEGMENT_BYTES = 4 * 1024;
/**
 * Records this large or larger get a segment of their own, so none wastes a segment's tail (as
 * do records over an eighth of the segment being filled).
 */
const OWN_SEGMENT_BYTES = 4 * 1024;
/** Each record: key length (u32 BE, top bit set once the record is dead), value length (u32 BE). */
const HEADER_BYTES = 8;
const DEAD = 0x80;
const MAX_KEY_BYTES = 0x7fffffff;
const MAX_VALUE_BYTES = 0xffffffff;

/**
 * An append-only log of `[header][key][value]` records in segments of 4 to 256 KiB (records
 * of 4 KiB or more, or over an eighth of the segment being filled, in a segment of their own). Why not one `Uint8Array` per value: each small
 * array costs V8 about 400 bytes beside its data (the array, its buffer, the backing store and
 * its tracking), and allocating one costs more than copying the bytes. Here a record costs its
 * bytes plus an 8-byte header, and storing one is a copy into the current segment.
 *
 * Records are never changed in place once written, so views handed out stay valid and
 * unchanged. {@link free} marks a record dead; a segment whose records are at least half dead
 * is compacted: its live records are copied to the current segment (each reported to the
 * `moved` callback, which must repoint its owner) and the segment is dropped, for the garbage
 * collector to reclaim once no view into it remains. A sealed segment is at least 7/8 full, so
 * the log holds at most about 2.3 times its live bytes, plus the segment being filled (at most
 * an eighth of the live bytes, or 4 KiB).
 */
export class SegmentLog {
  readonly #moved: (key: Uint8Array, at: number, from: number) => void;
  /** Segments by id; a dropped segment's slot is undefined until its id is reused. */
  readonly #segments: (Uint8Array | undefined)[] = [];
  /** Their buffers (views are made from a buffer, which is cheaper than `subarray`). */
  readonly #buffers: (ArrayBuffer | undefined)[] = [];
  /** Bytes of records written into each segment. */
  readonly #used: number[] = [];
  /** Bytes of dead records in each segment. */
  readonly #dead: number[] = [];
  /** Ids of dropped segments, for reuse (with a new array). */
  readonly #freeIds: number[] = [];
  /** The segment that small records are appended to; -1 before the first. */
  #active = -1;
  /** Where the next small record goes in the active segment. */
  #offset = 0;
  /** Size of the active segment (0 until there is one). */
  #end = 0;
  #bytes = 0;
  #liveBytes = 0;
  /** While above zero, segments are not reclaimed: their ids wait in #deferred. */
  #holds = 0;
  readonly #deferred: number[] = [];

  /**
   * @param moved called when compaction moves a live record, with a view of its key, its new
   *   location and its old one (whose segment is already gone: it names the record, nothing
   *   there may be read); the owner must point the key at `at` before it returns
   */
  constructor(moved: (key: Uint8Array, at: number, from: number) => void) {
    this.#moved = moved;
  }

  /** Bytes of all segments held, dead records and unused tails included. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Bytes of live records, headers included. */
  get liveBytes(): number {
    return this.#liveBytes;
  }

  /**
   * Copies a record into the log and returns its location.
   *
   * @throws {RangeError} if the key or value is too long for a record's header (2 GiB, 4 GiB),
   *   or memory for a segment cannot be allocated; the log is unchanged then
   */
  append(key: Uint8Array, value: Uint8Array): number {
    const keyLength = key.length;
    const valueLength = value.length;
    if (keyLength > MAX_KEY_BYTES || valueLength > MAX_VALUE_BYTES) {
      throw new RangeError(`memory engine records hold keys up to ${MAX_KEY_BYTES} bytes and values up to ${MAX_VALUE_BYTES} bytes`);
    }
    const size = HEADER_BYTES + keyLength + valueLength;
    let id: number;
    let offset: number;
    // A record takes at most an eighth of the segment it goes into, so a segment sealed because
    // the next record did not fit is at least 7/8 full.
    if (size >= OWN_SEGMENT_BYTES || size * 8 > (this.#active >= 0 ? this.#end : this.#nextSize())) {
      id = this.#open(size);
      offset = 0;
      this.#used[id] = size;
    } else {
      if (this.#offset + size > this.#end) this.#seal();
      id = this.#active;
      offset = this.#offset;
      this.#offset = this.#used[id] = offset + size;
    }
    const segment = this.#segments[id]!;
    writeLength(segment, offset, keyLength);
    writeLength(segment, offset + 4, valueLength);
    copy(key, segment, offset + HEADER_BYTES);
    copy(value, segment, offset + HEADER_BYTES + keyLength);
    this.#liveBytes += size;
    return id * MAX_SEGMENT_BYTES + offset;
  }

  /** A view of the key of the record at `at` (which must be live). */
  key(at: number): Uint8Array {
    const id = Math.floor(at / MAX_SEGMENT_BYTES);
    const offset = at - id * MAX_SEGMENT_BYTES;
    const segment = this.#segments[id]!;
    return new Uint8Array(this.#buffers[id]!, offset + HEADER_BYTES, readKeyLength(segment, offset));
  }

  /** Whether the record at `at` (which must be live) has the key `bytes[0..length)`; compares in place. */
  keyEquals(at: number, bytes: Uint8Array, length: number): boolean {
    const id = Math.floor(at / MAX_SEGMENT_BYTES);
    const offset = at - id * MAX_SEGMENT_BYTES;
    const segment = this.#segments[id]!;
    if (readKeyLength(segment, offset) !== length) return false;
    const start = offset + HEADER_BYTES;
    for (let i = 0; i < length; i++) if (segment[start + i] !== bytes[i]) return false;
    return true;
  }

  /** A view of the value of the record at `at` (which must be live). */
  value(at: number): Uint8Array {
    const id = Math.floor(at / MAX_SEGMENT_BYTES);
    const offset = at - id * MAX_SEGMENT_BYTES;
    const segment = this.#segments[id]!;
    return new Uint8Array(this.#buffers[id]!, offset + HEADER_BYTES + readKeyLength(segment, offset), readValueLength(segment, offset));
  }

  /** Marks the record at `at` dead (it must be live); may compact its segment. */
  free(at: number): void {
    const id = Math.floor(at / MAX_SEGMENT_BYTES);
    const offset = at - id * MAX_SEGMENT_BYTES;
    const segment = this.#segments[id]!;
    const size = HEADER_BYTES + readKeyLength(segment, offset) + readValueLength(segment, offset);
    segment[offset]! |= DEAD;
    this.#liveBytes -= size;
    this.#dead[id]! += size;
    if (id !== this.#active) this.#reclaim(id);
  }

  /**
   * Defers compaction until {@link release}, so that records appended meanwhile stay where
   * {@link append} put them even before their owner points at them (a batch appends all its
   * records before it applies any).
   */
  hold(): void {
    this.#holds++;
  }

  /** Ends a {@link hold}, reclaiming what it deferred. */
  release(): void {
    if (--this.#holds > 0) return;
    for (const id of this.#deferred.splice(0)) {
      if (this.#segments[id] !== undefined && id !== this.#active) this.#reclaim(id);
    }
  }

  /** Drops segment `id` if all its records are dead, or compacts it if half of them are. */
  #reclaim(id: number): void {
    if (this.#holds > 0) {
      this.#deferred.push(id);
      return;
    }
    const dead = this.#dead[id]!;
    const used = this.#used[id]!;
    if (dead === used) this.#drop(id);
    else if (dead * 2 >= used) this.#compact(id);
  }

  /** Copies the live records of segment `id` to the active segment, then drops it. */
  #compact(id: number): void {
    const segment = this.#segments[id]!;
    const used = this.#used[id]!;
    // Dropped first, so that the appends below never seal into (and reclaim) this segment again;
    // its id is reused only once every record has moved: a segment opened under the same id
    // meanwhile would give a moved record a location that still names one waiting to move, and
    // the owner finds the record to repoint by its old location.
    this.#drop(id, false);
    for (let offset = 0; offset < used;) {
      const keyLength = readKeyLength(segment, offset);
      const size = HEADER_BYTES + keyLength + readValueLength(segment, offset);
      if ((segment[offset]! & DEAD) === 0) {
        this.#liveBytes -= size;
        const at = this.append(
          segment.subarray(offset + HEADER_BYTES, offset + HEADER_BYTES + keyLength),
          segment.subarray(offset + HEADER_BYTES + keyLength, offset + size),
        );
        this.#moved(this.key(at), at, id * MAX_SEGMENT_BYTES + offset);
      }
      offset += size;
    }
    this.#freeIds.push(id);
  }

  /**
   * Starts a new active segment and reclaims the one it replaces if it is mostly dead. Segments
   * grow with the data, from 4 KiB to 256 KiB, about a sixteenth of the live bytes: allocating
   * a segment costs per allocation as much as per byte, and a small store stays small.
   */
  #seal(): void {
    const previous = this.#active;
    const size = this.#nextSize();
    this.#active = this.#open(size);
    this.#offset = 0;
    this.#end = size;
    if (previous >= 0) this.#reclaim(previous);
  }

  /** Size of the next active segment: about a sixteenth of the live bytes, within bounds. */
  #nextSize(): number {
    let size = MIN_SEGMENT_BYTES;
    while (size < MAX_SEGMENT_BYTES && size * 16 < this.#liveBytes) size *= 2;
    return size;
  }

  #open(size: number): number {
    const segment = new Uint8Array(size);
    const id = this.#freeIds.pop() ?? this.#segments.length;
    this.#segments[id] = segment;
    this.#buffers[id] = segment.buffer as ArrayBuffer;
    this.#used[id] = 0;
    this.#dead[id] = 0;
    this.#bytes += size;
    return id;
  }

  /** Releases segment `id`; its id may be reused at once unless `reuse` is false. */
  #drop(id: number, reuse = true): void {
    this.#bytes -= this.#segments[id]!.length;
    this.#segments[id] = undefined;
    this.#buffers[id] = undefined;
    this.#used[id] = 0;
    this.#dead[id] = 0;
    if (reuse) this.#freeIds.push(id);
  }
}

function readKeyLength(segment: Uint8Array, offset: number): number {
  return ((segment[offset]! & ~DEAD) << 24) | (segment[offset + 1]! << 16) | (segment[offset + 2]! << 8) | segment[offset + 3]!;
}

function readValueLength(segment: Uint8Array, offset: number): number {
  return ((segment[offset + 4]! << 24) | (segment[offset + 5]! << 16) | (segment[offset + 6]! << 8) | segment[offset + 7]!) >>> 0;
}

function writeLength(segment: Uint8Array, offset: number, length: number): void {
  segment[offset] = length >>> 24;
  segment[offset + 1] = (length >>> 16) & 0xff;
  segment[offset + 2] = (length >>> 8) & 0xff;
  segment[offset + 3] = length & 0xff;
}

// TypedArray.prototype.set costs a call into the runtime; a loop is cheaper for short keys.
const SHORT_COPY = 16;

function copy(from: Uint8Array, to: Uint8Array, at: number): void {
  const length = from.length;
  if (length > SHORT_COPY) to.set(from, at);
  else for (let i = 0; i < length; i++) to[at + i] = from[i]!;
}
