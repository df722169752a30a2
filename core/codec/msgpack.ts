/**
 * Binary encoding of plain data (records, messages, causal contexts) with MessagePack, through
 * msgpackr. Two details matter for a store: the encoder reuses its output buffer, so every
 * result is copied out before the next call; and byte strings decode to plain `Uint8Array`
 * copies, never views into a larger buffer and never Node `Buffer`s, so values compare equal
 * under every runtime and a caller mutating a value cannot corrupt anything else.
 *
 * @module
 */
import { Packr, RESERVE_START_SPACE, RESET_BUFFER_MODE } from "msgpackr";
import { CorruptDataError } from "../errors.ts";

const packr = new Packr({ useRecords: false, moreTypes: false, copyBuffers: true, mapsAsObjects: true });

/** Encodes plain data (objects, arrays, strings, numbers, booleans, null, Uint8Array). */
export function encode(value: unknown): Uint8Array {
  const packed = pack(value);
  const out = new Uint8Array(packed.length);
  out.set(packed);
  return out;
}

/**
 * Encodes `value` after `offset` leading bytes (at most 255) left zero for the caller's own
 * header, in one copy.
 */
export function encodeAfter(offset: number, value: unknown): Uint8Array {
  if (!Number.isInteger(offset) || offset < 0 || offset > 0xff) throw new RangeError(`offset must be 0..255, got ${offset}`);
  const packed = packr.pack(value, RESET_BUFFER_MODE | RESERVE_START_SPACE | offset);
  const out = new Uint8Array(packed.length);
  out.set(packed.subarray(offset), offset);
  return out;
}

/**
 * Encodes `value` and hands the bytes to `use` without copying them: the view is valid only
 * during the call (the next encode overwrites it), so `use` must not keep it.
 */
export function encodeThrough<T>(value: unknown, use: (bytes: Uint8Array) => T): T {
  return use(pack(value));
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
  // A plain Uint8Array input makes msgpackr hand back plain Uint8Array byte strings.
  const input = Object.getPrototypeOf(bytes) === Uint8Array.prototype
    ? bytes
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    return packr.unpack(input);
  } catch (error) {
    throw new CorruptDataError(location, error instanceof Error ? error.message : String(error));
  }
}
