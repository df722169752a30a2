/**
 * Byte keys as binary strings, the ordered form the memory engine and the LSM memtable share.
 *
 * @module
 */

/** Orders two binary strings (unsigned byte order of the keys they hold), for binary search. */
export function compareBinary(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// String.fromCharCode.apply passes every byte as an argument; engines cap argument counts.
const CHUNK = 8192;

/** A key's bytes as a string of code units 0–255, whose string order is unsigned byte order. */
export function binaryString(bytes: Uint8Array): string {
  if (bytes.length <= CHUNK) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  let text = "";
  for (let i = 0; i < bytes.length; i += CHUNK) {
    text += String.fromCharCode.apply(null, bytes.subarray(i, i + CHUNK) as unknown as number[]);
  }
  return text;
}
