/**
 * The stored form shared by the data types of this family: `[type name, state]` in MessagePack,
 * so a key written as one type is never read as another.
 *
 * @module
 */
import { decode, encode } from "../../core/codec/msgpack.ts";
import { CorruptDataError, RingforgeError } from "../../core/errors.ts";

/** Encodes a state in its plain form, tagged with its type's name. */
export function seal(type: string, plain: unknown): Uint8Array {
  return encode([type, plain]);
}

/**
 * Reads a tagged state's plain form.
 * @throws {CorruptDataError} if the bytes do not decode or hold another type
 */
export function unseal(type: string, bytes: Uint8Array): unknown {
  let decoded: unknown;
  try {
    decoded = decode(bytes, `${type} state`);
  } catch (error) {
    if (error instanceof RingforgeError) throw new CorruptDataError(`${type} state`, "not MessagePack");
    throw error;
  }
  if (!Array.isArray(decoded) || decoded.length !== 2 || typeof decoded[0] !== "string") {
    throw new CorruptDataError(`${type} state`, "not a data type's state");
  }
  if (decoded[0] !== type) throw new CorruptDataError(`${type} state`, `holds a "${decoded[0]}" state`);
  return decoded[1];
}
