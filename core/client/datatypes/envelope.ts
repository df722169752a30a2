/**
 * The stored form shared by the data types of this family: `[type name, state]` in MessagePack,
 * so a key written as one type is never read as another.
 *
 * @module
 */
import { decode, encode } from "../../codec/msgpack.ts";
import { CorruptDataError, InvalidValueError, RingforgeError } from "../../errors.ts";

/**
 * Checks that a register's value is plain data MessagePack stores and reads back as it was:
 * null, booleans, numbers, strings, bytes, and arrays and plain objects of those.
 *
 * @throws {InvalidValueError} (`not-encodable`) for anything else, `undefined` included
 */
export function assertPlainData(value: unknown, depth = 0): void {
  if (depth > 64) throw new InvalidValueError("not-encodable");
  if (value === null || typeof value === "boolean" || typeof value === "number" || typeof value === "string") return;
  if (value instanceof Uint8Array) return;
  if (Array.isArray(value)) {
    for (const item of value) assertPlainData(item, depth + 1);
    return;
  }
  if (typeof value === "object") {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) throw new InvalidValueError("not-encodable");
    for (const item of Object.values(value)) assertPlainData(item, depth + 1);
    return;
  }
  throw new InvalidValueError("not-encodable");
}

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
