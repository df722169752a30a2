/**
 * How a key's sibling set is laid out in a storage engine.
 *
 * @module
 */
import { CorruptDataError } from "../errors.ts";
import type { Sibling, SiblingSet } from "../model/sibling.ts";
import { decode, encode } from "./msgpack.ts";
import { RECORD_PREFIX } from "../model/keyspace.ts";

/** Record format version, first element of every encoded record. */
const FORMAT = 1;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** The engine key under which the record of `key` is stored. */
export function recordKey(key: string): Uint8Array {
  const body = encoder.encode(key);
  const out = new Uint8Array(body.length + 1);
  out[0] = RECORD_PREFIX;
  out.set(body, 1);
  return out;
}

/** The user key of an engine key made by {@link recordKey}, or `undefined` for other keys. */
export function keyOfRecordKey(engineKey: Uint8Array): string | undefined {
  if (engineKey.length < 2 || engineKey[0] !== RECORD_PREFIX) return undefined;
  return decoder.decode(engineKey.subarray(1));
}

/** Encodes a sibling set. */
export function encodeRecord(siblings: SiblingSet): Uint8Array {
  const rows = siblings.map((s) => [s.value, s.version]);
  return encode([FORMAT, rows]);
}

/**
 * Decodes and checks a record written by {@link encodeRecord}.
 *
 * @throws {CorruptDataError} naming `location` if the bytes are not a valid record
 */
export function decodeRecord(bytes: Uint8Array, location: string): Sibling[] {
  const data = decode(bytes, location);
  return parseSiblings(Array.isArray(data) && data[0] === FORMAT ? data[1] : undefined, location);
}

/**
 * Checks untrusted decoded data (a record, a message field) is a sibling list: an array of
 * `[Uint8Array | null, version]` rows.
 */
export function parseSiblings(rows: unknown, location: string): Sibling[] {
  if (!Array.isArray(rows)) throw new CorruptDataError(location, "not a sibling list");
  const out: Sibling[] = [];
  for (const row of rows) {
    if (!Array.isArray(row) || row.length !== 2 || !(row[0] === null || row[0] instanceof Uint8Array)) {
      throw new CorruptDataError(location, "malformed sibling");
    }
    out.push({ value: row[0] as Uint8Array | null, version: row[1] });
  }
  return out;
}

/** Sibling list in its wire form (the same rows as a stored record). */
export function siblingsToWire(siblings: SiblingSet): unknown[] {
  return siblings.map((s) => [s.value, s.version]);
}
