/**
 * The plain-data MessagePack reader (core/codec/plain-reader.ts) returns what msgpackr returns,
 * or leaves the bytes to msgpackr: for any value and any bytes, valid, truncated, corrupted or
 * random, `decode` gives the same result (or the same failure) as msgpackr alone.
 */
import { describe, it } from "@std/testing/bdd";
import { assert, assertEquals, assertNotStrictEquals } from "@std/assert";
import fc from "fast-check";
import { Packr } from "msgpackr";
import { FALLBACK, readPlain } from "../core/codec/plain-reader.ts";
import { decode, encode } from "../core/codec/msgpack.ts";
import { CorruptDataError } from "../core/errors.ts";

// The options core/codec/msgpack.ts decodes with.
const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true });

/** Byte strings as tagged hex, so that results compare whatever array class holds the bytes. */
function normal(value: unknown): unknown {
  if (value instanceof Uint8Array) return { bytes: Array.from(value, (b) => b.toString(16).padStart(2, "0")).join("") };
  if (Array.isArray(value)) return value.map(normal);
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) out[key] = normal((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

/** msgpackr's result for `bytes`, or the fact that it throws. */
function reference(bytes: Uint8Array): { value: unknown } | { throws: true } {
  try {
    return { value: normal(packr.unpack(Uint8Array.from(bytes))) };
  } catch {
    return { throws: true };
  }
}

// Plain data the reader reads itself: ASCII strings, 32-bit integers, float64, byte strings,
// undefined.
const asciiArb = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)), maxLength: 40 }),
  fc.constantFrom("__proto__", "constructor", ""),
);
const readableLeaf = fc.oneof(
  asciiArb,
  fc.integer({ min: -(2 ** 31), max: 2 ** 32 - 1 }),
  // Every integer width's range, both signs.
  fc.integer({ min: -70_000, max: 70_000 }),
  fc.double({ noDefaultInfinity: false }).filter((x) => !Number.isInteger(x) || Math.abs(x) > 2 ** 32),
  fc.uint8Array({ maxLength: 300 }),
  fc.constantFrom(null, undefined, true, false),
);
const { readable } = fc.letrec((tie) => ({
  readable: fc.oneof(
    { depthSize: "small" },
    readableLeaf,
    fc.array(tie("readable"), { maxLength: 20 }),
    fc.dictionary(asciiArb, tie("readable"), { maxKeys: 20 }),
  ),
}));
// Everything else plain data can hold: non-ASCII strings, big integers.
const { anything } = fc.letrec((tie) => ({
  anything: fc.oneof(
    { depthSize: "small" },
    readableLeaf,
    fc.string({ unit: "binary", maxLength: 40 }),
    fc.constantFrom(2 ** 40, -(2 ** 40)),
    fc.array(tie("anything"), { maxLength: 10 }),
    fc.dictionary(fc.string({ unit: "binary", maxLength: 10 }), tie("anything"), { maxKeys: 10 }),
  ),
}));

describe("plain MessagePack reader", () => {
  it("reads plain data itself, as msgpackr does", () => {
    fc.assert(
      fc.property(readable, (value) => {
        const bytes = encode(value);
        const read = readPlain(bytes);
        assertNotStrictEquals(read, FALLBACK, "plain data the reader knows must not fall back");
        // msgpackr's value, which is the encoded one but for `__proto__` keys (renamed `__proto_`).
        assertEquals({ value: normal(read) }, reference(bytes));
      }),
      { numRuns: 1_000 },
    );
  });

  it("agrees with msgpackr on any value, and on the value's bytes truncated, corrupted or extended", () => {
    fc.assert(
      fc.property(anything, fc.nat(), fc.nat(255), fc.constantFrom("as is", "truncate", "flip", "append"), (value, at, byte, how) => {
        let bytes = encode(value);
        if (how === "truncate") bytes = bytes.subarray(0, at % (bytes.length + 1));
        else if (how === "flip" && bytes.length > 0) (bytes = bytes.slice())[at % bytes.length] = byte;
        else if (how === "append") bytes = Uint8Array.of(...bytes, byte);
        const read = readPlain(bytes);
        const expected = reference(bytes);
        if (read !== FALLBACK) {
          assert("value" in expected, "the reader read bytes msgpackr refuses");
          assertEquals(normal(read), expected.value);
        }
        // decode: the reader or msgpackr, and msgpackr's refusal as a CorruptDataError.
        let decoded: unknown;
        try {
          decoded = { value: normal(decode(bytes)) };
        } catch (error) {
          assert(error instanceof CorruptDataError, String(error));
          decoded = { throws: true };
        }
        assertEquals(decoded, expected);
      }),
      { numRuns: 2_000 },
    );
  });

  it("agrees with msgpackr on random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 40 }), (bytes) => {
        const read = readPlain(bytes);
        if (read === FALLBACK) return;
        const expected = reference(bytes);
        assert("value" in expected, "the reader read bytes msgpackr refuses");
        assertEquals(normal(read), expected.value);
      }),
      { numRuns: 3_000 },
    );
  });

  it("agrees with msgpackr on every one-byte extension (type 0 is undefined)", () => {
    for (let type = 0; type < 256; type++) {
      for (const data of [0, 1, 0x7f, 0xff]) {
        const bytes = Uint8Array.of(0x92, 0xd4, type, data, 0x01);
        const read = readPlain(bytes);
        const expected = reference(bytes);
        if (type === 0) assertEquals(read, [undefined, 1]);
        if (read !== FALLBACK) assertEquals({ value: normal(read) }, expected);
      }
    }
  });

  it("leaves hostile nesting to msgpackr: nested array headers past the input's size, nesting past the stack", () => {
    // 3,000 nested headers of 65,280-element arrays over about 70 KB: each array is within the
    // bytes left, their sum is 200 million elements. The reader spends a budget of the input's
    // length, as msgpackr does, and gives up at the second.
    const nested = new Uint8Array(3_000 * 3 + 65_280);
    for (let i = 0; i < 3_000; i++) nested.set([0xdc, 0xff, 0x00], i * 3);
    assertEquals(readPlain(nested), FALLBACK);
    let thrown: unknown;
    try {
      decode(nested);
    } catch (error) {
      thrown = error;
    }
    assert(thrown instanceof CorruptDataError, String(thrown));
    // 200,000 levels of one-element arrays: deeper than the stack.
    const deep = new Uint8Array(200_001).fill(0x91);
    deep[200_000] = 0x01;
    assertEquals(readPlain(deep), FALLBACK);
    thrown = undefined;
    try {
      decode(deep);
    } catch (error) {
      thrown = error;
    }
    assert(thrown instanceof CorruptDataError, String(thrown));
  });

  it("copies byte strings out of the input", () => {
    const input = encode([new Uint8Array([1, 2, 3])]);
    const [bytes] = readPlain(input) as [Uint8Array];
    input.fill(0xee);
    assertEquals(Array.from(bytes), [1, 2, 3]);
    assert(Object.getPrototypeOf(bytes) === Uint8Array.prototype);
  });
});
