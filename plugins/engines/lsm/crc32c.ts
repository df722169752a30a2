/**
 * CRC-32C (Castagnoli), the checksum of the LSM engine's log records and table blocks.
 *
 * @module
 */

/**
 * Slicing-by-8 tables (Intel's method, as in LevelDB's crc32c.cc portable path): table 0 is the
 * byte-at-a-time table; table `t` advances a byte's contribution past `t` more zero bytes, so
 * eight bytes fold into the CRC with eight lookups and no carried dependency between them.
 * Compaction checks and writes every block it moves, so this loop is on its hot path.
 */
const TABLES = (() => {
  const tables = new Uint32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    tables[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = tables[n]!;
    for (let t = 1; t < 8; t++) {
      c = tables[c & 0xff]! ^ (c >>> 8);
      tables[t * 256 + n] = c >>> 0;
    }
  }
  return tables;
})();

/**
 * CRC-32C of `bytes[start..end)` (as in iSCSI, ext4 and LevelDB): detects every burst error up
 * to 32 bits and torn writes, which is what a log tail cut by a crash looks like.
 *
 * @example
 * ```ts
 * crc32c(new TextEncoder().encode("123456789")); // 0xe3069283
 * ```
 */
export function crc32c(bytes: Uint8Array, start = 0, end = bytes.length): number {
  const T = TABLES;
  let c = 0xffffffff;
  let i = start;
  const fast = end - ((end - start) & 7);
  for (; i < fast; i += 8) {
    const lo = c ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
    c = T[1792 + (lo & 0xff)]! ^ T[1536 + ((lo >>> 8) & 0xff)]! ^ T[1280 + ((lo >>> 16) & 0xff)]! ^ T[1024 + (lo >>> 24)]! ^
      T[768 + bytes[i + 4]!]! ^ T[512 + bytes[i + 5]!]! ^ T[256 + bytes[i + 6]!]! ^ T[bytes[i + 7]!]!;
  }
  for (; i < end; i++) c = T[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
