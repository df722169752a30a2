/**
 * A MessagePack writer for the plain data the store encodes on every request (records,
 * contexts, messages), byte for byte what msgpackr writes with the options msgpack.ts uses.
 *
 * @module
 */

/**
 * Why this exists beside msgpackr: msgpackr's `pack` sets up per call (state, buffer checks,
 * its structure bookkeeping), and a byte string takes its extension path (six `instanceof`
 * checks, a closure and an object per write), so a record of one 100-byte value cost about
 * 0.65 µs to pack where writing the same bytes straight costs a fraction. msgpackr stays the
 * decoder, and the encoder of anything this writer does not know.
 *
 * The output must equal msgpackr's (`useRecords: false`, `moreTypes: false`,
 * `mapsAsObjects: true`, no float32): smallest integer forms, float64 for other numbers, plain
 * objects (and objects without a prototype) always as map16 in for-in order, `undefined` as fixext1 type 0, strings under 64 code
 * units encoded as msgpackr's own loop does (a lone surrogate as three bytes), longer ones as
 * `TextEncoder` does (a lone surrogate as U+FFFD). Objects msgpackr treats its own way go to
 * it whole: other classes (Buffer and other `Uint8Array` subclasses included), objects with a
 * `hasOwnProperty` key, prototype-less objects with a `toJSON`, and nesting too deep for the
 * stack. test/plain-writer.test.ts holds the two to the same bytes over arbitrary data and at
 * the end of the buffer.
 */

const encoder = new TextEncoder();

let buffer = new Uint8Array(8192);
let view = new DataView(buffer.buffer);
let position = 0;
let writing = false;

/**
 * Writes `value` after `offset` zero bytes into the writer's buffer and returns a view of the
 * whole, valid until the next call; `undefined` if `value` holds anything but arrays, plain
 * objects, strings, numbers, booleans, `null`, `undefined` and `Uint8Array`s (the caller then
 * encodes it with msgpackr).
 */
export function writePlain(value: unknown, offset: number): Uint8Array | undefined {
  // A getter run while writing may encode too: that inner call goes to msgpackr (which handles
  // re-entry) rather than overwrite the buffer this one is filling.
  if (writing) return undefined;
  writing = true;
  try {
    if (offset > buffer.length) grow(offset);
    for (let i = 0; i < offset; i++) buffer[i] = 0;
    position = offset;
    if (!write(value)) return undefined;
    return new Uint8Array(buffer.buffer, 0, position);
  } catch (error) {
    // Nesting too deep for the stack, or a buffer too large to make: msgpackr then decides.
    if (error instanceof RangeError) return undefined;
    throw error;
  } finally {
    writing = false;
  }
}

/** @internal for tests: replaces the buffer with one of `bytes`, so a test can put a value at its end. */
export function resizePlainWriter(bytes: number): void {
  buffer = new Uint8Array(bytes);
  view = new DataView(buffer.buffer);
}

function grow(needed: number): void {
  const next = new Uint8Array(Math.max(needed, buffer.length * 2));
  next.set(buffer.subarray(0, position));
  buffer = next;
  view = new DataView(next.buffer);
}

function write(value: unknown): boolean {
  switch (typeof value) {
    case "string":
      writeString(value);
      return true;
    case "number":
      writeNumber(value);
      return true;
    case "boolean":
      if (position + 1 > buffer.length) grow(position + 1);
      buffer[position++] = value ? 0xc3 : 0xc2;
      return true;
    case "undefined":
      if (position + 3 > buffer.length) grow(position + 3);
      buffer[position++] = 0xd4;
      buffer[position++] = 0;
      buffer[position++] = 0;
      return true;
    case "object": {
      if (value === null) {
        if (position + 1 > buffer.length) grow(position + 1);
        buffer[position++] = 0xc0;
        return true;
      }
      const constructor = value.constructor;
      if (constructor === Array) return writeArray(value as unknown[]);
      if (constructor === Object) return writeObject(value as Record<string, unknown>);
      // msgpackr calls toJSON on an object without a prototype that has one (and fails on one
      // that is not a function): those are msgpackr's.
      if (constructor === undefined && Object.getPrototypeOf(value) === null && (value as { toJSON?: unknown }).toJSON === undefined) {
        return writeObject(value as Record<string, unknown>);
      }
      // Plain byte arrays only: msgpackr honours a subclass's own toJSON, and Buffers are rare here.
      if (Object.getPrototypeOf(value) === Uint8Array.prototype) {
        writeBytes(value as Uint8Array);
        return true;
      }
      return false;
    }
    default:
      return false;
  }
}

function writeArray(array: unknown[]): boolean {
  const length = array.length;
  if (position + 5 > buffer.length) grow(position + 5);
  if (length < 0x10) buffer[position++] = 0x90 | length;
  else if (length < 0x10000) {
    buffer[position++] = 0xdc;
    buffer[position++] = length >> 8;
    buffer[position++] = length & 0xff;
  } else {
    buffer[position++] = 0xdd;
    view.setUint32(position, length);
    position += 4;
  }
  for (let i = 0; i < length; i++) if (!write(array[i])) return false;
  return true;
}

function writeObject(object: Record<string, unknown>): boolean {
  if (position + 3 > buffer.length) grow(position + 3);
  buffer[position++] = 0xde;
  const sizeAt = position;
  position += 2;
  let size = 0;
  for (const key in object) {
    // msgpackr asks the object's own hasOwnProperty, whatever it is: such objects are msgpackr's.
    if (key === "hasOwnProperty") return false;
    if (!Object.hasOwn(object, key)) continue;
    writeString(key);
    if (!write(object[key])) return false;
    size++;
  }
  // msgpackr refuses these too; the caller's fallback raises its error.
  if (size > 0xffff) return false;
  buffer[sizeAt] = size >> 8;
  buffer[sizeAt + 1] = size & 0xff;
  return true;
}

function writeBytes(bytes: Uint8Array): void {
  const length = bytes.length;
  if (position + 5 + length > buffer.length) grow(position + 5 + length);
  if (length < 0x100) {
    buffer[position++] = 0xc4;
    buffer[position++] = length;
  } else if (length < 0x10000) {
    buffer[position++] = 0xc5;
    buffer[position++] = length >> 8;
    buffer[position++] = length & 0xff;
  } else {
    buffer[position++] = 0xc6;
    view.setUint32(position, length);
    position += 4;
  }
  // TypedArray.prototype.set costs a call into the runtime; a loop is cheaper for short values.
  if (length > 32) buffer.set(bytes, position);
  else for (let i = 0; i < length; i++) buffer[position + i] = bytes[i]!;
  position += length;
}

function writeNumber(value: number): void {
  if (position + 9 > buffer.length) grow(position + 9);
  if (value >>> 0 === value) {
    if (value < 0x80) buffer[position++] = value;
    else if (value < 0x100) {
      buffer[position++] = 0xcc;
      buffer[position++] = value;
    } else if (value < 0x10000) {
      buffer[position++] = 0xcd;
      buffer[position++] = value >> 8;
      buffer[position++] = value & 0xff;
    } else {
      buffer[position++] = 0xce;
      view.setUint32(position, value);
      position += 4;
    }
  } else if (value >> 0 === value) {
    if (value >= -0x20) buffer[position++] = 0x100 + value;
    else if (value >= -0x80) {
      buffer[position++] = 0xd0;
      buffer[position++] = value + 0x100;
    } else if (value >= -0x8000) {
      buffer[position++] = 0xd1;
      view.setInt16(position, value);
      position += 2;
    } else {
      buffer[position++] = 0xd2;
      view.setInt32(position, value);
      position += 4;
    }
  } else {
    buffer[position++] = 0xcb;
    view.setFloat64(position, value);
    position += 8;
  }
}

function writeString(text: string): void {
  const units = text.length;
  // The header is written once the length is known: strings are encoded after room for the
  // largest header they could need, then moved back if a smaller one does.
  const headerSize = units < 0x20 ? 1 : units < 0x100 ? 2 : units < 0x10000 ? 3 : 5;
  const maxBytes = units * 3;
  // Room for the largest header: the real one may be larger than the estimate, and the string
  // then moves forward by the difference.
  if (position + 5 + maxBytes > buffer.length) grow(position + 5 + maxBytes);
  const start = position + headerSize;
  let length: number;
  if (units < 0x40) {
    let at = start;
    for (let i = 0; i < units; i++) {
      let c = text.charCodeAt(i);
      if (c < 0x80) buffer[at++] = c;
      else if (c < 0x800) {
        buffer[at++] = (c >> 6) | 0xc0;
        buffer[at++] = (c & 0x3f) | 0x80;
      } else if ((c & 0xfc00) === 0xd800 && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
        c = 0x10000 + ((c & 0x03ff) << 10) + (text.charCodeAt(++i) & 0x03ff);
        buffer[at++] = (c >> 18) | 0xf0;
        buffer[at++] = ((c >> 12) & 0x3f) | 0x80;
        buffer[at++] = ((c >> 6) & 0x3f) | 0x80;
        buffer[at++] = (c & 0x3f) | 0x80;
      } else {
        buffer[at++] = (c >> 12) | 0xe0;
        buffer[at++] = ((c >> 6) & 0x3f) | 0x80;
        buffer[at++] = (c & 0x3f) | 0x80;
      }
    }
    length = at - start;
  } else {
    length = encoder.encodeInto(text, buffer.subarray(start, start + maxBytes)).written;
  }
  if (length < 0x20) buffer[position++] = 0xa0 | length;
  else if (length < 0x100) {
    if (headerSize < 2) buffer.copyWithin(position + 2, start, start + length);
    buffer[position++] = 0xd9;
    buffer[position++] = length;
  } else if (length < 0x10000) {
    if (headerSize !== 3) buffer.copyWithin(position + 3, start, start + length);
    buffer[position++] = 0xda;
    buffer[position++] = length >> 8;
    buffer[position++] = length & 0xff;
  } else {
    if (headerSize < 5) buffer.copyWithin(position + 5, start, start + length);
    buffer[position++] = 0xdb;
    view.setUint32(position, length);
    position += 4;
  }
  position += length;
}
