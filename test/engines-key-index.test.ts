/**
 * The memory engine's hash index (plugins/engines/key-index.ts) against a Map model: keys added,
 * overwritten and deleted in any order, with the table growing, shrinking, wrapping around its
 * end and shifting entries back over deleted slots, while the log compacts and moves records
 * under it.
 */
import { describe, it } from "@std/testing/bdd";
import { assert, assertEquals } from "@std/assert";
import fc from "fast-check";
import { KeyIndex } from "../plugins/engines/key-index.ts";
import { SegmentLog } from "../plugins/engines/segment-log.ts";
import { binaryString } from "../plugins/engines/binary-keys.ts";

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

/** An index over a log, wired as the memory engine wires them. */
function indexedLog(seed: number): { log: SegmentLog; index: KeyIndex } {
  let index!: KeyIndex;
  const log = new SegmentLog((key, at, from) => index.moved(key, from, at));
  index = new KeyIndex(log, seed);
  return { log, index };
}

// Up to 3 bytes from few values: many keys share hashes' low bits in a small table, so probe
// runs form, wrap around and are shifted back on delete.
const keyArb = fc.array(fc.integer({ min: 0, max: 11 }), { minLength: 0, maxLength: 3 });
type Op = { readonly put: boolean; readonly key: number[]; readonly size: number };
const opArb: fc.Arbitrary<Op> = fc.record({
  put: fc.boolean(),
  key: keyArb,
  // Values big enough, now and then, to fill 32 KiB segments so that frees compact them.
  size: fc.oneof(fc.nat(20), fc.integer({ min: 1000, max: 5000 })),
});

describe("memory engine key index", () => {
  it("finds exactly the live keys, with their latest records, through growth, shrinking and compaction", () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 600, size: "max" }), fc.nat(), (ops, seed) => {
        const { log, index } = indexedLog(seed);
        const model = new Map<string, number>();
        for (const [step, op] of ops.entries()) {
          const key = Uint8Array.from(op.key);
          if (op.put) {
            const value = new Uint8Array(op.size).fill(step & 0xff);
            const at = log.append(key, value);
            const old = index.set(key, at);
            assertEquals(old >= 0, model.has(hex(key)), `step ${step}: set's previous location`);
            if (old >= 0) log.free(old);
            model.set(hex(key), step);
          } else {
            const old = index.delete(key);
            assertEquals(old >= 0, model.has(hex(key)), `step ${step}: delete's previous location`);
            if (old >= 0) log.free(old);
            index.shrink();
            model.delete(hex(key));
          }
          assertEquals(index.size, model.size);
        }
        // Every key of the domain: the live ones point at their own latest record.
        for (let a = -1; a < 12; a++) {
          for (let b = -1; b < 12; b++) {
            for (let c = -1; c < 12; c++) {
              const key = Uint8Array.from([a, b, c].filter((x) => x >= 0));
              if ((a < 0 && b >= 0) || (b < 0 && c >= 0)) continue;
              const at = index.get(key);
              const expected = model.get(hex(key));
              if (expected === undefined) {
                assertEquals(at, -1, `key ${hex(key)} was deleted or never written`);
                assertEquals(index.getBinary(binaryString(key)), -1);
                continue;
              }
              assert(at >= 0, `key ${hex(key)} is missing`);
              assertEquals(hex(log.key(at)), hex(key));
              const value = log.value(at);
              assert(value.every((byte) => byte === (expected & 0xff)), `key ${hex(key)} points at an older record`);
              assertEquals(index.getBinary(binaryString(key)), at);
            }
          }
        }
        const visited: string[] = [];
        index.forEach((at) => visited.push(hex(log.key(at))));
        assertEquals(visited.sort(), [...model.keys()].sort());
      }),
      { numRuns: 150 },
    );
  });

  it("grows and shrinks with its keys, and reserve makes room ahead", () => {
    const { log, index } = indexedLog(7);
    const key = (i: number) => Uint8Array.of(i >> 16, i >> 8, i);
    for (let i = 0; i < 10_000; i++) index.set(key(i), log.append(key(i), Uint8Array.of(1)));
    // 70% full at most: 10,000 keys need 16,384 slots.
    assertEquals(index.bytes, 16_384 * 12);
    index.reserve(2_000);
    assertEquals(index.bytes, 32_768 * 12);
    for (let i = 0; i < 9_990; i++) log.free(index.delete(key(i)));
    // Deletes never shrink the table themselves (a batch's reserved room must stay); shrink does.
    assertEquals(index.bytes, 32_768 * 12);
    index.shrink();
    assertEquals(index.size, 10);
    assert(index.bytes <= 128 * 12, `${index.bytes} bytes for 10 keys`);
    for (let i = 9_990; i < 10_000; i++) assertEquals(hex(log.key(index.get(key(i)))), hex(key(i)));
  });
});
