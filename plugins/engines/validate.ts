/**
 * Input checks shared by the storage engines, so every engine rejects the same bad input with
 * the same `RINGFORGE_INVALID_REQUEST` error and message.
 *
 * @module
 */
import { RingforgeError } from "../../core/errors.ts";
import type { BatchOperation, ScanOptions } from "../../core/interfaces/storage-engine.ts";

/** A `RINGFORGE_INVALID_REQUEST` error: input an engine rejects before changing anything. */
export function invalid(message: string, details: Record<string, unknown> = {}): RingforgeError {
  return new RingforgeError("RINGFORGE_INVALID_REQUEST", message, details);
}

/** Throws {@link invalid} unless `bytes` is a Uint8Array; `what` names it in the message. */
export function checkBytes(what: string, bytes: unknown, details: Record<string, unknown> = {}): asserts bytes is Uint8Array {
  if (!(bytes instanceof Uint8Array)) throw invalid(`${what} must be a Uint8Array`, details);
}

/**
 * Throws {@link invalid} unless `operations` is an array of well-formed batch operations, naming
 * the index of the first bad one. Checks everything before an engine applies anything.
 */
export function checkBatch(operations: unknown): asserts operations is readonly BatchOperation[] {
  if (!Array.isArray(operations)) throw invalid("batch operations must be an array");
  for (let index = 0; index < operations.length; index++) {
    const op: unknown = operations[index];
    const type = typeof op === "object" && op !== null ? (op as { type?: unknown }).type : undefined;
    if (type === "put") {
      const { key, value } = op as { key: unknown; value: unknown };
      checkBytes(`batch operation ${index} key`, key, { index });
      checkBytes(`batch operation ${index} value`, value, { index });
    } else if (type === "delete") {
      checkBytes(`batch operation ${index} key`, (op as { key: unknown }).key, { index });
    } else {
      throw invalid(`batch operation ${index} must have type "put" or "delete"`, { index });
    }
  }
}

/** Throws {@link invalid} unless the bounds are Uint8Arrays and `limit` a non-negative integer or Infinity. */
export function checkScanOptions(options: ScanOptions): void {
  const { gte, lt, limit = Infinity } = options;
  if (gte !== undefined) checkBytes("scan option gte", gte);
  if (lt !== undefined) checkBytes("scan option lt", lt);
  if (typeof limit !== "number" || !(limit >= 0) || (!Number.isInteger(limit) && limit !== Infinity)) {
    throw invalid("scan option limit must be a non-negative integer", { limit });
  }
}
