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
    const out = new Uint8Array(offset + n);
    for (let i = 0; i < n; i++) out[offset + i] = text.charCodeAt(i);
    return out;
  }
  const body = encoder.encode(text);
  const out = new Uint8Array(offset + body.length);
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

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** Base64url without padding (RFC 4648 §5): safe in URLs and HTTP headers. */
export function toBase64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64url");
}

/** Decodes unpadded base64url; returns undefined if `text` is not valid base64url. */
export function fromBase64Url(text: string): Uint8Array | undefined {
  if (text.length % 4 === 1 || !BASE64URL.test(text)) return undefined;
  const decoded = Buffer.from(text, "base64url");
  return new Uint8Array(decoded.buffer.slice(decoded.byteOffset, decoded.byteOffset + decoded.byteLength));
}
