/**
 * The byte pool (allocBytes/copyBytes) and what the MessagePack codec hands back: fresh zero
 * bytes that share nothing visible with any other array, and decoded byte strings that are
 * copies, never views into the input.
 */
import { describe, it } from "@std/testing/bdd";
import { assert, assertEquals } from "@std/assert";
import fc from "fast-check";
import { allocBytes, copyBytes, fromBase64Url, toBase64Url, utf8After } from "../core/codec/bytes.ts";
import { decode, encode, encodeAfter } from "../core/codec/msgpack.ts";
import { decodeRecord, encodeRecordWithHeader, RECORD_HEADER_BYTES } from "../core/codec/record-codec.ts";

describe("allocBytes", () => {
  it("gives zeroed arrays of the asked length whose writes reach no other array", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 5000 }), { minLength: 1, maxLength: 200 }), (lengths) => {
        const arrays = lengths.map((length, i) => {
          const out = allocBytes(length);
          assertEquals(out.length, length);
          assert(out.every((b) => b === 0), "fresh bytes are zero");
          out.fill((i % 255) + 1);
          return out;
        });
        // Every array still holds its own fill: none overlaps another.
        arrays.forEach((out, i) => assert(out.every((b) => b === (i % 255) + 1), `array ${i} was overwritten`));
        // A DataView made the documented way sees exactly the array.
        for (const out of arrays) {
          if (out.length < 8) continue;
          const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
          view.setFloat64(out.length - 8, 1.5);
          assertEquals(new DataView(out.buffer, out.byteOffset, out.byteLength).getFloat64(out.length - 8), 1.5);
        }
      }),
    );
  });

  it("carves small arrays from shared chunks at eight-byte alignment, and gives large ones their own memory", () => {
    const a = allocBytes(100);
    const b = allocBytes(100);
    assertEquals(a.byteOffset % 8, 0);
    assertEquals(b.byteOffset % 8, 0);
    assert(a.buffer.byteLength > a.length, "a small array is a view into a chunk");
    const big = allocBytes(64 * 1024);
    assertEquals(big.byteOffset, 0);
    assertEquals(big.buffer.byteLength, big.length);
  });

  it("copyBytes copies into a plain Uint8Array that does not follow its source", () => {
    const source = Uint8Array.from([1, 2, 3, 4]);
    const copy = copyBytes(source);
    assertEquals(Object.getPrototypeOf(copy), Uint8Array.prototype);
    source[0] = 9;
    assertEquals(Array.from(copy), [1, 2, 3, 4]);
  });
});

describe("MessagePack codec with pooled bytes", () => {
  it("decodes byte strings as copies: changing the input or one result changes no other", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }), (values) => {
        const encoded = encode({ values, nested: [values] });
        const first = decode(encoded) as { values: Uint8Array[]; nested: Uint8Array[][] };
        const second = decode(encoded) as { values: Uint8Array[] };
        assertEquals(first.values.map((v) => Array.from(v)), values.map((v) => Array.from(v)));
        encoded.fill(0);
        for (const v of first.values) v.fill(0xaa);
        assertEquals(second.values.map((v) => Array.from(v)), values.map((v) => Array.from(v)));
        assertEquals(first.nested[0]!.map((v) => Array.from(v)), values.map((v) => Array.from(v)));
        for (const v of second.values) assertEquals(Object.getPrototypeOf(v), Uint8Array.prototype);
      }),
    );
  });

  it("leaves the header bytes before encodeAfter's data zero", () => {
    for (let i = 0; i < 50; i++) allocBytes(37).fill(0xff);
    const out = encodeAfter(18, ["x".repeat(40)]);
    assert(out.subarray(0, 18).every((b) => b === 0));
    assertEquals(decode(out.subarray(18)), ["x".repeat(40)]);
  });

  it("round-trips records and base64url through pooled arrays", () => {
    const value = Uint8Array.from({ length: 100 }, (_, i) => i);
    const stored = encodeRecordWithHeader(RECORD_HEADER_BYTES, [{ value, version: [["n1", 1]] }]);
    const [sibling] = decodeRecord(stored, "test");
    assertEquals(Array.from(sibling!.value!), Array.from(value));
    stored.fill(0);
    assertEquals(Array.from(sibling!.value!), Array.from(value), "the decoded value is a copy");
    const text = toBase64Url(value);
    assertEquals(Array.from(fromBase64Url(text)!), Array.from(value));
    assertEquals(Array.from(utf8After(3, "abc")), [0, 0, 0, 97, 98, 99]);
  });
});
