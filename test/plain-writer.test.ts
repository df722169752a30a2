/**
 * The plain-data MessagePack writer (core/codec/plain-writer.ts) writes exactly msgpackr's bytes,
 * so records, contexts and frames it encodes are the same bytes as before it existed: every
 * stored record and every peer running an older build reads them unchanged.
 */
import { describe, it } from "@std/testing/bdd";
import { assert, assertEquals } from "@std/assert";
import fc from "fast-check";
import { Packr } from "msgpackr";
import { Buffer } from "node:buffer";
import { resizePlainWriter, writePlain } from "../core/codec/plain-writer.ts";
import { decode, encode, encodeAfter } from "../core/codec/msgpack.ts";

// The options core/codec/msgpack.ts packs with.
const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true });
const reference = (value: unknown) => Uint8Array.from(packr.pack(value));

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

// Strings of every shape: ASCII, any code point, lone surrogates; short (msgpackr's own loop)
// and long (the UTF-8 encoder), across the fixstr/str8/str16 boundaries.
const stringArb = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 80 }),
  fc.string({ unit: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)), maxLength: 70 }),
  fc.string({ unit: "grapheme", minLength: 20, maxLength: 120 }),
);
// Sizes across the str16/str32 and bin8/bin16/bin32 boundaries, once per value at the top.
const largeArb = fc.oneof(
  fc.integer({ min: 0, max: 70_000 }).map((n) => "é".repeat(n)),
  fc.integer({ min: 0, max: 70_000 }).map((n) => "a".repeat(n) + "\ud800"),
  fc.integer({ min: 0, max: 70_000 }).map((n) => new Uint8Array(n).fill(n & 0xff)),
);
const numberArb = fc.oneof(
  fc.integer({ min: -(2 ** 31), max: 2 ** 32 - 1 }),
  fc.constantFrom(0, -0, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, -0x20, -0x21, -0x80, -0x81, -0x8000, -0x8001, 2 ** 32, -(2 ** 31) - 1),
  fc.double(),
  fc.maxSafeInteger(),
);
const bytesArb = fc.oneof(
  fc.uint8Array({ maxLength: 40 }),
  // A view into a larger buffer, as values often are.
  fc.uint8Array({ minLength: 4, maxLength: 300 }).map((a) => a.subarray(2, a.length - 1)),
);
const { plain } = fc.letrec((tie) => ({
  plain: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    stringArb,
    numberArb,
    bytesArb,
    fc.constantFrom(null, undefined, true, false),
    fc.array(tie("plain"), { maxLength: 20 }),
    fc.dictionary(stringArb, tie("plain"), { maxKeys: 20 }),
  ),
}));
const anyPlain = fc.oneof({ arbitrary: plain, weight: 9 }, { arbitrary: largeArb.map((v) => [v, "after"]), weight: 1 });

describe("plain MessagePack writer", () => {
  it("writes msgpackr's bytes for any plain data", () => {
    fc.assert(
      fc.property(anyPlain, (value) => {
        const written = writePlain(value, 0);
        assert(written !== undefined, "plain data must not fall back to msgpackr");
        assertEquals(hex(written), hex(reference(value)));
      }),
      { numRuns: 1_000 },
    );
  });

  it("leaves the requested leading bytes zero, whatever the buffer held", () => {
    fc.assert(
      fc.property(anyPlain, fc.integer({ min: 0, max: 255 }), (value, offset) => {
        writePlain([new Uint8Array(300).fill(0xee)], 0);
        const written = writePlain(value, offset)!;
        assertEquals(hex(written), "00".repeat(offset) + hex(reference(value)));
        const out = encodeAfter(offset, value);
        assertEquals(hex(out), "00".repeat(offset) + hex(reference(value)));
      }),
      { numRuns: 300 },
    );
  });

  it("writes a string whose header is longer than its length in code units suggested, at the buffer's end", () => {
    // Three-byte characters cross a header boundary (fixstr/str8 at 32 bytes, str8/str16 at 256,
    // str16/str32 at 65,536) while the code units do not: the string then moves forward, and
    // must have had the room to.
    for (const text of [10, 11, 12, 84, 85, 86, 0x5555, 0x5556].map((n) => "€".repeat(n))) {
      const expected = hex(reference([text, 7]));
      for (let size = expected.length / 2 - 12; size <= expected.length / 2 + 2; size++) {
        resizePlainWriter(size);
        const written = writePlain([text, 7], 0);
        assert(written !== undefined);
        assertEquals(hex(written), expected, `${text.length} characters, a buffer of ${size} bytes`);
      }
    }
    resizePlainWriter(8192);
  });

  it("hands anything else to msgpackr, whose encoding and errors stay", () => {
    for (const value of [new Map([[1, 2]]), new Date(0), [1, new Set([2])], { a: 10n }, new Int16Array([1, -1])]) {
      assertEquals(writePlain(value, 0), undefined);
      assertEquals(hex(encode(value)), hex(reference(value)));
    }
    class Point {
      constructor(readonly x: number) {}
    }
    assertEquals(writePlain({ at: new Point(1) }, 0), undefined);
    // Objects msgpackr treats its own way: an own hasOwnProperty decides what is own; a
    // prototype-less object's toJSON is called; a byte array subclass's toJSON too.
    const shadowed = Object.assign(Object.create({ inherited: 1 }), { hasOwnProperty: 0 });
    class Tagged extends Uint8Array {
      toJSON() {
        return "tagged";
      }
    }
    const jsonless = Object.assign(Object.create(null), { toJSON: () => "made", a: 1 });
    for (const value of [shadowed, [new Tagged(2)], jsonless, Buffer.from([1, 2])]) {
      assertEquals(writePlain(value, 0), undefined);
      assertEquals(hex(encode(value)), hex(reference(value)));
    }
    // Nesting deeper than the stack: msgpackr's too.
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    assertEquals(writePlain(deep, 0), undefined);
    let thrown: unknown;
    try {
      encode(Symbol("s"));
    } catch (error) {
      thrown = error;
    }
    assert(thrown instanceof Error);
  });

  it("survives encoding from inside a getter of the value being encoded", () => {
    const value = {
      a: "outer",
      get b() {
        return encode(["inner", 1]);
      },
    };
    assertEquals(decode(encode(value)), { a: "outer", b: encode(["inner", 1]) });
  });
});
