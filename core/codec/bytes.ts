/**
 * Helpers for the byte values a store holds: text and JSON conversion, comparison, base64url.
 *
 * @module
 */
import { Buffer } from "node:buffer";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * UTF-8 bytes of a string, for use as a value.
 *
 * @example
 * ```ts
 * await store.put("greeting", encodeText("hello"));
 * ```
 */
export function encodeText(text: string): Uint8Array {
  return encoder.encode(text);
}

/**
 * The string a UTF-8 value holds. Throws a TypeError if the bytes are not valid UTF-8.
 *
 * @example
 * ```ts
 * decodeText(encodeText("héllo")); // "héllo"
 * ```
 */
export function decodeText(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/**
 * Byte arrays up to this long are carved out of a shared chunk, as Node's `Buffer` pool does.
 * Why not `new Uint8Array(n)`: V8 keeps an array of up to 64 bytes inside its heap (about
 * 20 ns), but the first use of its `buffer` (a `DataView`, a decoder reading it) moves it out,
 * about 1.3 µs on Node 20; and an array of 65 bytes or more gets memory outside the heap at
 * once, with a backing store the garbage collector tracks and sweeps: about 1.2 µs on the
 * development VM. A view into a chunk costs about 40 ns.
 */
const CHUNKED_BYTES = 4096;
/** Size of a chunk; its memory is freed once no array made from it is left. */
const CHUNK_BYTES = 16 * 1024;
let chunk = new ArrayBuffer(0);
let chunkUsed = 0;

/**
 * `length` fresh zero bytes, for a copy the caller fills (a value, an encoded record, a key, a
 * frame). Arrays of 1 byte to 4 KiB are views into a shared 16 KiB chunk: their `buffer` is
 * the whole chunk, so code must use `byteOffset` and `byteLength` with it and must never
 * transfer it to a worker; and an array kept alive keeps its chunk alive (at most 16 KiB).
 * Chunk memory is never reused, so the bytes are zero like a new array's.
 */
export function allocBytes(length: number): Uint8Array {
  if (length === 0 || length > CHUNKED_BYTES) return new Uint8Array(length);
  if (chunkUsed + length > chunk.byteLength) {
    chunk = new ArrayBuffer(CHUNK_BYTES);
    chunkUsed = 0;
  }
  const out = new Uint8Array(chunk, chunkUsed, length);
  // Eight-byte aligned, so a DataView over an array reads its fields at their own alignment.
  chunkUsed += (length + 7) & ~7;
  return out;
}

/** A copy of `bytes` from {@link allocBytes}: a plain `Uint8Array` that shares memory with nothing the caller had. */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  const out = allocBytes(bytes.length);
  out.set(bytes);
  return out;
}

/**
 * `text`'s UTF-8 bytes after `offset` leading bytes left zero for the caller to fill: how engine
 * keys are made (a prefix byte, a fixed header, the key). ASCII, the usual key, is copied a code
 * unit at a time, which for short keys costs a fraction of `TextEncoder.encode` plus a copy.
 */
export function utf8After(offset: number, text: string): Uint8Array {
  const n = text.length;
  let ascii = true;
  for (let i = 0; i < n; i++) {
    if (text.charCodeAt(i) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) {
    const out = allocBytes(offset + n);
    for (let i = 0; i < n; i++) out[offset + i] = text.charCodeAt(i);
    return out;
  }
  const body = encoder.encode(text);
  const out = allocBytes(offset + body.length);
  out.set(body, offset);
  return out;
}

/**
 * JSON-serialised UTF-8 bytes of a value.
 *
 * @example
 * ```ts
 * await node.put("cfg", encodeJson({ retries: 3 }));
 * ```
 */
export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

/**
 * Parses a value written by {@link encodeJson}.
 *
 * @example
 * ```ts
 * const { values } = await node.get("cfg");
 * const cfg = decodeJson<{ retries: number }>(values[0]!);
 * ```
 */
export function decodeJson<T = unknown>(bytes: Uint8Array): T {
  return JSON.parse(decoder.decode(bytes)) as T;
}

/** Lexicographic comparison of two byte strings (negative, zero or positive). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** True if both byte strings hold the same bytes. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// Big-endian float64 through a scratch array: a DataView made per value costs more than the
// eight byte moves, and a long-lived one cannot span the caller's arrays.
const float64 = new Float64Array(1);
const float64Bytes = new Uint8Array(float64.buffer);
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** Writes `value` as a big-endian float64 at `at` of `out`. */
export function writeFloat64BE(out: Uint8Array, at: number, value: number): void {
  float64[0] = value;
  if (LITTLE_ENDIAN) { for (let i = 0; i < 8; i++) out[at + i] = float64Bytes[7 - i]!; }
  else for (let i = 0; i < 8; i++) out[at + i] = float64Bytes[i]!;
}

/** The big-endian u32 at `at` of `bytes`. */
export function readUint32BE(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

/** The big-endian float64 at `at` of `bytes`. */
export function readFloat64BE(bytes: Uint8Array, at: number): number {
  if (LITTLE_ENDIAN) { for (let i = 0; i < 8; i++) float64Bytes[i] = bytes[at + 7 - i]!; }
  else for (let i = 0; i < 8; i++) float64Bytes[i] = bytes[at + i]!;
  return float64[0]!;
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** Base64url without padding (RFC 4648 §5): safe in URLs and HTTP headers. */
export function toBase64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64url");
}

/** Decodes unpadded base64url; returns undefined if `text` is not valid base64url. */
export function fromBase64Url(text: string): Uint8Array | undefined {
  if (text.length % 4 === 1 || !BASE64URL.test(text)) return undefined;
  return copyBytes(Buffer.from(text, "base64url"));
}
