/**
 * Binary encoding of plain data (records, messages, causal contexts) with MessagePack, through
 * msgpackr. Two details matter for a store: the encoder reuses its output buffer, so every
 * result is copied out before the next call; and byte strings decode to plain `Uint8Array`
 * copies, never views into a larger buffer and never Node `Buffer`s, so values compare equal
 * under every runtime and a caller mutating a value cannot corrupt anything else.
 *
 * @module
 */
import { Packr } from "msgpackr";
import { CorruptDataError } from "../errors.ts";

const packr = new Packr({ useRecords: false, moreTypes: false, copyBuffers: true, mapsAsObjects: true });

/** Encodes plain data (objects, arrays, strings, numbers, booleans, null, Uint8Array). */
export function encode(value: unknown): Uint8Array {
  const packed = packr.pack(value);
  const out = new Uint8Array(packed.length);
  out.set(packed);
  return out;
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
