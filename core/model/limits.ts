/**
 * Size limits and validation of keys and values at the store's boundary: bad input gets a
 * typed error before anything changes.
 *
 * @module
 */
import { InvalidKeyError, InvalidValueError } from "../errors.ts";

/** Limits a store enforces on every request. */
export interface Limits {
  /** Largest key in UTF-8 bytes. Default 1024. */
  readonly maxKeyBytes: number;
  /** Largest value in bytes. Default 10 KiB (10240), as the chapter suggests. */
  readonly maxValueBytes: number;
  /** Sibling count at which a write logs a warning (Riak warns at 25). Default 25. */
  readonly warnSiblings: number;
  /** Sibling count a write may not exceed: {@link SiblingLimitError} (Riak refuses at 100). Default 100. */
  readonly maxSiblings: number;
}

/** The default {@link Limits}. */
export const DEFAULT_LIMITS: Limits = Object.freeze({
  maxKeyBytes: 1024,
  maxValueBytes: 10 * 1024,
  warnSiblings: 25,
  maxSiblings: 100,
});

/** Number of bytes `text` takes in UTF-8 (without encoding it). Assumes well-formed UTF-16. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * Checks a key: a non-empty, well-formed string of at most `limits.maxKeyBytes` UTF-8 bytes.
 *
 * @throws {InvalidKeyError} naming the reason and, for size, the byte count and limit
  *
  * @example
  * ```ts
  * validateKey("user:42"); // fine
  * validateKey(""); // throws InvalidKeyError (reason "empty")
  * ```
 */
export function validateKey(key: unknown, limits: Pick<Limits, "maxKeyBytes"> = DEFAULT_LIMITS): asserts key is string {
  if (typeof key !== "string") throw new InvalidKeyError("not-a-string");
  if (key.length === 0) throw new InvalidKeyError("empty");
  if (!key.isWellFormed()) throw new InvalidKeyError("malformed-utf16");
  const bytes = utf8Length(key);
  if (bytes > limits.maxKeyBytes) throw new InvalidKeyError("too-large", bytes, limits.maxKeyBytes);
}

/**
 * Checks a value: a Uint8Array of at most `limits.maxValueBytes` bytes.
 *
 * @throws {InvalidValueError} naming the reason and, for size, the byte count and limit
  *
  * @example
  * ```ts
  * validateValue(new Uint8Array(20_000)); // throws InvalidValueError: over 10 KiB
  * ```
 */
export function validateValue(
  value: unknown,
  limits: Pick<Limits, "maxValueBytes"> = DEFAULT_LIMITS,
): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new InvalidValueError("not-bytes");
  if (value.byteLength > limits.maxValueBytes) {
    throw new InvalidValueError("too-large", value.byteLength, limits.maxValueBytes);
  }
}
