/**
 * A MessagePack reader for the plain data the store decodes on every request (records, frames,
 * contexts): what msgpackr returns for it with the options msgpack.ts uses, in a fraction of
 * the time. Anything else is left to msgpackr.
 *
 * @module
 */
import { allocBytes, readFloat64BE, readUint32BE } from "./bytes.ts";

/**
 * Why this exists beside msgpackr: its `unpack` sets up per call (state, and a `DataView` it
 * stores as a new property on the input array), and decoded byte strings had to be walked
 * again to copy them out of the input. This reader copies byte strings as it meets them.
 *
 * It reads only what it can read exactly as msgpackr does: nil, `undefined` (fixext 1 of type
 * 0), booleans, integers up to 32 bits, float64, ASCII strings, byte strings, arrays, and maps whose keys are ASCII strings
 * (as plain objects; `__proto__` renamed `__proto_` as msgpackr does). Anything else (other
 * strings, 64-bit integers, float32, extensions, other map keys) and anything malformed
 * (truncated, trailing bytes, an unused type byte) returns {@link FALLBACK}: the caller decodes
 * with msgpackr, which returns the same for valid input and raises its own error otherwise.
 * test/plain-reader.test.ts holds the two to the same results over arbitrary data and bytes.
 */
export const FALLBACK: unique symbol = Symbol("msgpack fallback");

/** Thrown inside the reader to abandon it; caught by {@link readPlain}. */
const ABANDON = { abandon: true };

let source: Uint8Array = new Uint8Array(0);
let position = 0;
let end = 0;
/**
 * Array elements the rest of this input may still allocate: the input's length at the start,
 * as msgpackr budgets it. Each array's length is checked against the bytes left, but nested
 * headers would each pass that check and together allocate far more than the input's size.
 */
let budget = 0;
/**
 * Decodes `bytes` (one MessagePack value, nothing after it) into plain data, copying every byte
 * string (see `allocBytes`), or returns {@link FALLBACK}.
 */
export function readPlain(bytes: Uint8Array): unknown {
  // A getter cannot run while reading (the reader makes only plain objects and arrays), so it
  // is never re-entered; the state is still reset, so nothing keeps the input alive.
  source = bytes;
  position = 0;
  end = bytes.length;
  budget = end;
  try {
    const value = read();
    return position === end ? value : FALLBACK;
  } catch (error) {
    // A RangeError is nesting too deep for the stack (or an array too large to make): msgpackr
    // then decides, and raises the error decode reports as corrupt data.
    if (error === ABANDON || error instanceof RangeError) return FALLBACK;
    throw error;
  } finally {
    source = EMPTY;
  }
}

const EMPTY = new Uint8Array(0);

function need(count: number): void {
  if (position + count > end) throw ABANDON;
}

/** The next byte, consumed. */
function next8(): number {
  need(1);
  return source[position++]!;
}

/** The next big-endian u16, consumed. */
function next16(): number {
  need(2);
  position += 2;
  return (source[position - 2]! << 8) | source[position - 1]!;
}

/** The next big-endian u32, consumed. */
function next32(): number {
  need(4);
  position += 4;
  return readUint32BE(source, position - 4);
}

function read(): unknown {
  const type = next8();
  if (type < 0x80) return type;
  if (type < 0x90) return readMap(type & 0x0f);
  if (type < 0xa0) return readArray(type & 0x0f);
  if (type < 0xc0) return readString(type & 0x1f);
  if (type >= 0xe0) return type - 0x100;
  switch (type) {
    case 0xc0:
      return null;
    case 0xc2:
      return false;
    case 0xc3:
      return true;
    case 0xc4:
      return readBytes(next8());
    case 0xc5:
      return readBytes(next16());
    case 0xc6:
      return readBytes(next32());
    case 0xcb:
      need(8);
      position += 8;
      return readFloat64BE(source, position - 8);
    case 0xcc:
      return next8();
    case 0xcd:
      return next16();
    case 0xce:
      return next32();
    case 0xd0:
      return (next8() << 24) >> 24;
    case 0xd1:
      return (next16() << 16) >> 16;
    case 0xd2:
      return next32() | 0;
    case 0xd9:
      return readString(next8());
    case 0xda:
      return readString(next16());
    case 0xdb:
      return readString(next32());
    case 0xdc:
      return readArray(next16());
    case 0xdd:
      return readArray(next32());
    case 0xde:
      return readMap(next16());
    case 0xdf:
      return readMap(next32());
    case 0xd4:
      // fixext 1 of type 0 is `undefined` (its data byte ignored, as msgpackr ignores it);
      // other extension types are msgpackr's.
      need(2);
      if (source[position] !== 0) throw ABANDON;
      position += 2;
      return undefined;
    default:
      // 0xc1 (unused), other extensions, float32, 64-bit integers.
      throw ABANDON;
  }
}

function readArray(length: number): unknown[] {
  // Each element takes at least a byte: a length past the input is malformed, not a huge array.
  need(length);
  if ((budget -= length) < 0) throw ABANDON;
  const array = new Array<unknown>(length);
  for (let i = 0; i < length; i++) array[i] = read();
  return array;
}

function readMap(length: number): Record<string, unknown> {
  need(length * 2);
  const object: Record<string, unknown> = {};
  for (let i = 0; i < length; i++) {
    const type = next8();
    let key: string;
    if (type >= 0xa0 && type < 0xc0) key = readKey(type & 0x1f);
    else if (type === 0xd9) key = readKey(next8());
    else throw ABANDON;
    if (key === "__proto__") key = "__proto_";
    object[key] = read();
  }
  return object;
}

function readString(length: number): string {
  need(length);
  const start = position;
  position = start + length;
  return length <= 32 ? shortAscii(source, start, length) : longAscii(source, start, length);
}

const fromCharCode = String.fromCharCode;

/**
 * Map keys met before, by a hash of their bytes: the same few field names come in every
 * message, and a key found here costs a comparison instead of a new string (which V8 would
 * then look up in its table of property names). A slot holds the last key that hashed to it.
 */
const KEY_SLOTS = 1024;
const keyCache: (string | undefined)[] = new Array(KEY_SLOTS).fill(undefined);

function readKey(length: number): string {
  if (length === 0 || length > 24) return readString(length);
  need(length);
  const bytes = source;
  const at = position;
  const slot = (length * 0x9e3 + bytes[at]! * 31 + bytes[at + length - 1]! * 7 + bytes[at + (length >> 1)]!) & (KEY_SLOTS - 1);
  const cached = keyCache[slot];
  if (cached !== undefined && cached.length === length) {
    let same = true;
    for (let i = 0; i < length; i++) {
      if (cached.charCodeAt(i) !== bytes[at + i]) {
        same = false;
        break;
      }
    }
    if (same) {
      position = at + length;
      return cached;
    }
  }
  const key = readString(length);
  keyCache[slot] = key;
  return key;
}

/**
 * A short ASCII string, four characters per call without a view or an argument list (most keys
 * and message fields). ASCII only: every UTF-8 decoder agrees on it.
 */
function shortAscii(bytes: Uint8Array, at: number, length: number): string {
  let high = 0;
  for (let i = at; i < at + length; i++) high |= bytes[i]!;
  if (high >= 0x80) throw ABANDON;
  let text = "";
  let i = at;
  for (const to = at + length - 3; i < to; i += 4) text += fromCharCode(bytes[i]!, bytes[i + 1]!, bytes[i + 2]!, bytes[i + 3]!);
  const left = at + length - i;
  if (left === 1) text += fromCharCode(bytes[i]!);
  else if (left === 2) text += fromCharCode(bytes[i]!, bytes[i + 1]!);
  else if (left === 3) text += fromCharCode(bytes[i]!, bytes[i + 1]!, bytes[i + 2]!);
  return text;
}

/** A longer ASCII string, in slices: fromCharCode takes its characters as arguments. */
function longAscii(bytes: Uint8Array, at: number, length: number): string {
  let text = "";
  for (let from = at; from < at + length; from += 4096) {
    const to = Math.min(at + length, from + 4096);
    for (let i = from; i < to; i++) if (bytes[i]! >= 0x80) throw ABANDON;
    text += fromCharCode.apply(null, bytes.subarray(from, to) as unknown as number[]);
  }
  return text;
}

function readBytes(length: number): Uint8Array {
  need(length);
  const out = allocBytes(length);
  const bytes = source;
  const start = position;
  if (length > 32) out.set(bytes.subarray(start, start + length));
  else for (let i = 0; i < length; i++) out[i] = bytes[start + i]!;
  position = start + length;
  return out;
}
