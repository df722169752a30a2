/**
 * Binary encoding of plain data (records, messages, causal contexts) with MessagePack, as msgpackr
 * encodes and decodes it. The common shapes go through plain-writer.ts and plain-reader.ts,
 * which give msgpackr's bytes and values in a fraction of its time; anything else goes through
 * msgpackr itself. Two details matter for a store: the encoder reuses its output buffer, so every
 * result is copied out before the next call; and byte strings decode to plain `Uint8Array`
 * copies (never Node `Buffer`s, never views into the input), so values compare equal under
 * every runtime and a caller mutating a value cannot corrupt anything else. Copies of up to
 * 4 KiB share chunks of memory with other such arrays (see `allocBytes` in bytes.ts).
 *
 * @module
 */
import { Packr, RESERVE_START_SPACE, RESET_BUFFER_MODE } from "msgpackr";
import { CorruptDataError } from "../errors.ts";
import { allocBytes, copyBytes } from "./bytes.ts";
import { FALLBACK, readPlain } from "./plain-reader.ts";
import { writePlain } from "./plain-writer.ts";

// Byte strings decode as views into the input, and {@link decode} copies them out itself:
// msgpackr's copyBuffers gives each its own ArrayBuffer, which costs about 1.2 µs apiece on
// Node 20 (see allocBytes).
const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true });

/** Encodes plain data (objects, arrays, strings, numbers, booleans, null, Uint8Array). */
export function encode(value: unknown): Uint8Array {
  return copyBytes(writePlain(value, 0) ?? pack(value));
}

/**
 * Encodes `value` after `offset` leading bytes (at most 255) left zero for the caller's own
 * header, in one copy.
 */
export function encodeAfter(offset: number, value: unknown): Uint8Array {
  if (!Number.isInteger(offset) || offset < 0 || offset > 0xff) throw new RangeError(`offset must be 0..255, got ${offset}`);
  // The plain writer leaves the leading bytes zero: copied whole, they are the caller's header.
  const plain = writePlain(value, offset);
  if (plain !== undefined) return copyBytes(plain);
  const packed = packr.pack(value, RESET_BUFFER_MODE | RESERVE_START_SPACE | offset);
  const out = allocBytes(packed.length);
  out.set(packed.subarray(offset), offset);
  return out;
}

/**
 * Encodes `value` and hands the bytes to `use` without copying them: the view is valid only
 * during the call (the next encode overwrites it), so `use` must not keep it.
 */
export function encodeThrough<T>(value: unknown, use: (bytes: Uint8Array) => T): T {
  return use(writePlain(value, 0) ?? pack(value));
}

/**
 * Packs into the encoder's one buffer from its start. By default msgpackr appends each result
 * after the last one and allocates a fresh 8 KiB buffer when it runs out, so that results can
 * be kept without a copy; every caller here copies or consumes the bytes at once, so the
 * buffer is rewound instead (RESET_BUFFER_MODE) and never reallocated.
 */
function pack(value: unknown): Uint8Array {
  return packr.pack(value, RESET_BUFFER_MODE);
}

/**
 * Decodes bytes produced by {@link encode}.
 *
 * @param location names the bytes in the error raised if they do not decode
 * @throws {CorruptDataError} when the bytes are not valid MessagePack
 */
export function decode(bytes: Uint8Array, location = "buffer"): unknown {
  const plain = readPlain(bytes);
  if (plain !== FALLBACK) return plain;
  // A plain Uint8Array input makes msgpackr hand back plain Uint8Array byte strings.
  const input = Object.getPrototypeOf(bytes) === Uint8Array.prototype
    ? bytes
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let data: unknown;
  try {
    data = packr.unpack(input);
  } catch (error) {
    throw new CorruptDataError(location, error instanceof Error ? error.message : String(error));
  }
  return copyByteStrings(data);
}

/**
 * `data` with every byte string in it replaced by a copy ({@link copyBytes}), so nothing
 * decoded shares memory with the input: arrays and plain objects are changed in place (the
 * decoder made them), anything else is returned as it is.
 */
function copyByteStrings(data: unknown): unknown {
  if (typeof data !== "object" || data === null) return data;
  if (data instanceof Uint8Array) return copyBytes(data);
  if (Array.isArray(data)) {
    for (let i = 0; i < data.length; i++) {
      const item: unknown = data[i];
      if (typeof item === "object" && item !== null) data[i] = copyByteStrings(item);
    }
    return data;
  }
  const record = data as Record<string, unknown>;
  for (const key in record) {
    const item = record[key];
    if (typeof item === "object" && item !== null) record[key] = copyByteStrings(item);
  }
  return data;
}
