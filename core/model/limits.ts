/**
 * Size limits: validation of keys and values at the store's boundary (bad input gets a typed
 * error before anything changes), and the bounds every stored record keeps.
 *
 * @module
 */
import { InvalidKeyError, InvalidValueError, RecordTooLargeError, SiblingLimitError } from "../errors.ts";

/** Limits a store enforces on every request. */
export interface Limits {
  /** Largest key in UTF-8 bytes. Default 1024. */
  readonly maxKeyBytes: number;
  /** Largest value in bytes. Default 10 KiB (10240), as the chapter suggests. */
  readonly maxValueBytes: number;
  /** Sibling count at which a write logs a warning (Riak warns at 25). Default 25. */
  readonly warnSiblings: number;
  /**
   * Most siblings a stored record may hold (Riak refuses at 100). Default 100. Every replica
   * enforces it on every path that stores a record (see {@link checkRecordBounds}); a client
   * write past it fails with {@link SiblingLimitError}.
   */
  readonly maxSiblings: number;
  /**
   * Largest stored record: its encoding (every sibling's value and version) plus its key,
   * bytes. Default 1 MiB (1048576): room for `maxSiblings` values of the default
   * `maxValueBytes` (100 x 10 KiB) with their versions, so at the defaults the sibling limit
   * usually binds first, and this one when values are large. Enforced like
   * `maxSiblings`; a client write past it fails with {@link RecordTooLargeError}. It must
   * exceed `maxValueBytes + maxKeyBytes`, with room for versions, or a largest value could
   * not be stored at all.
   */
  readonly maxRecordBytes: number;
  /**
   * Longest time limit a request may ask for (`timeoutMs`, `?timeout=`), ms. Default 60,000;
   * at most 2^31-1, the longest a host timer can wait (a longer one fires at once).
   */
  readonly maxTimeoutMs: number;
}

/** The default {@link Limits}. */
export const DEFAULT_LIMITS: Limits = Object.freeze({
  maxKeyBytes: 1024,
  maxValueBytes: 10 * 1024,
  warnSiblings: 25,
  maxSiblings: 100,
  maxRecordBytes: 1024 * 1024,
  maxTimeoutMs: 60_000,
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
  // A UTF-16 code unit is at most 3 UTF-8 bytes (a surrogate pair, two units, is 4): most keys
  // are short enough to need no count.
  if (key.length * 3 <= limits.maxKeyBytes) return;
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

/** The size of a record, stored or about to be: what {@link checkRecordBounds} compares. */
export interface RecordSize {
  /** Siblings (tombstones included). */
  readonly siblings: number;
  /** Its encoding plus its key, bytes. */
  readonly bytes: number;
}

/**
 * Checks a change of the record of `key` from `current` to `next` against the record bounds,
 * before anything is stored. Every replica runs it on every path that stores a record (a
 * coordinator's write, a replica's merge, read repair, hint delivery, anti-entropy, handoff,
 * join streaming), so no record grows past the bounds anywhere.
 *
 * A record already over a bound (stored under larger limits) may still change as long as the
 * change does not grow it in the measure it is over: a write that resolves some of its siblings
 * is how it gets back under, and refusing that would leave it stuck. Removals (`next` empty)
 * are always allowed.
 *
 * @throws {SiblingLimitError} if `next` has more than `maxSiblings` siblings, and more than `current`
 * @throws {RecordTooLargeError} if `next` is over `maxRecordBytes`, and larger than `current`
 *
 * @example
 * ```ts
 * checkRecordBounds("cart", { siblings: 3, bytes: 400 }, { siblings: 4, bytes: 520 }); // fine
 * checkRecordBounds("cart", { siblings: 100, bytes: 9_000 }, { siblings: 101, bytes: 9_090 }); // SiblingLimitError
 * ```
 */
export function checkRecordBounds(
  key: string,
  current: RecordSize,
  next: RecordSize,
  limits: Pick<Limits, "maxSiblings" | "maxRecordBytes"> = DEFAULT_LIMITS,
): void {
  if (next.siblings === 0) return;
  if (next.siblings > limits.maxSiblings && next.siblings > current.siblings) {
    throw new SiblingLimitError(key, next.siblings, limits.maxSiblings);
  }
  if (next.bytes > limits.maxRecordBytes && next.bytes > current.bytes) {
    throw new RecordTooLargeError(key, next.bytes, limits.maxRecordBytes, next.siblings);
  }
}

/**
 * True for the errors of {@link checkRecordBounds}: a replica refused a record change that
 * would pass a bound. Retrying the same change is pointless (it is refused again until a client
 * resolves the siblings), so replicators and background repair skip it rather than retry it.
 */
export function isRecordBoundError(error: unknown): error is SiblingLimitError | RecordTooLargeError {
  return error instanceof SiblingLimitError || error instanceof RecordTooLargeError;
}
