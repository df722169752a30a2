/**
 * How a key's sibling set is laid out in a storage engine.
 *
 * @module
 */
import { CorruptDataError } from "../errors.ts";
import type { Sibling, SiblingSet } from "../model/sibling.ts";
import { decode, encode, encodeAfter } from "./msgpack.ts";
import { utf8After } from "./bytes.ts";
import { RECORD_PREFIX } from "../model/keyspace.ts";

/** Record format version, first element of every encoded record. */
const FORMAT = 1;

/**
 * Bytes of the header the record store writes before a record (its index entry: hash, size,
 * tombstone flag and time).
 */
export const RECORD_HEADER_BYTES = 17;

const decoder = new TextDecoder("utf-8", { fatal: true });

/** Bytes before the user key in a record's engine key: the prefix and the token. */
export const RECORD_KEY_HEAD_BYTES = 5;

/**
 * The engine key under which the record of `key` (at `token`, the partitioner's position of
 * the key) is stored: `0x05`, the token as a big-endian u32, the key's UTF-8 bytes. Records
 * are thereby in token order, which anti-entropy and handoff scan by.
 */
export function recordKey(token: number, key: string): Uint8Array {
  const out = utf8After(RECORD_KEY_HEAD_BYTES, key);
  out[0] = RECORD_PREFIX;
  out[1] = token >>> 24;
  out[2] = token >>> 16;
  out[3] = token >>> 8;
  out[4] = token;
  return out;
}

/** The user key of an engine key made by {@link recordKey}, or `undefined` for other keys. */
export function keyOfRecordKey(engineKey: Uint8Array): string | undefined {
  if (engineKey.length <= RECORD_KEY_HEAD_BYTES || engineKey[0] !== RECORD_PREFIX) return undefined;
  return decoder.decode(engineKey.subarray(RECORD_KEY_HEAD_BYTES));
}

/** Encodes a sibling set. */
export function encodeRecord(siblings: SiblingSet): Uint8Array {
  return encode([FORMAT, siblingsToWire(siblings)]);
}

/**
 * First byte of a stored record that starts with a header (its hash, size and tombstone time,
 * which anti-entropy and handoff read without decoding the record). MessagePack never uses
 * 0xc1, so a record stored without a header (format 1 alone, as earlier versions wrote) never
 * starts with it.
 */
export const RECORD_HEADER_MARK = 0xc1;

/**
 * A record as stored with a header: {@link RECORD_HEADER_MARK}, `headerBytes` bytes for the
 * caller to fill (from offset 1), then the record exactly as {@link encodeRecord} encodes it.
 */
export function encodeRecordWithHeader(headerBytes: number, siblings: SiblingSet): Uint8Array {
  const out = encodeAfter(1 + headerBytes, [FORMAT, siblingsToWire(siblings)]);
  out[0] = RECORD_HEADER_MARK;
  return out;
}

/**
 * Decodes and checks a record written by {@link encodeRecord}, or stored with a header by
 * {@link encodeRecordWithHeader} (whose header is `headerBytes` long).
 *
 * @throws {CorruptDataError} naming `location` if the bytes are not a valid record
 */
export function decodeRecord(bytes: Uint8Array, location: string, headerBytes = RECORD_HEADER_BYTES): Sibling[] {
  if (bytes[0] === RECORD_HEADER_MARK) {
    if (bytes.length <= 1 + headerBytes) throw new CorruptDataError(location, "record header without a record");
    bytes = bytes.subarray(1 + headerBytes);
  }
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
