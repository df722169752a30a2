/**
 * lowerBound and upperBound (core/model/sorted.ts) against a linear scan, on every kind of
 * array the code base searches: numbers (ring tokens), strings (binary keys), typed arrays and
 * records searched by a field.
 */
import { describe, it } from "@std/testing/bdd";
import { assertEquals } from "@std/assert";
import fc from "fast-check";
import { lowerBound, upperBound } from "../core/model/sorted.ts";

const byValue = (a: number, b: number) => a - b;
const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function linearLower<T, K>(sorted: readonly T[], target: K, compare: (e: T, t: K) => number): number {
  const i = sorted.findIndex((e) => compare(e, target) >= 0);
  return i === -1 ? sorted.length : i;
}

function linearUpper<T, K>(sorted: readonly T[], target: K, compare: (e: T, t: K) => number): number {
  const i = sorted.findIndex((e) => compare(e, target) > 0);
  return i === -1 ? sorted.length : i;
}

describe("lowerBound / upperBound", () => {
  it("bound the run of elements equal to the target, and place a missing one", () => {
    const tokens = [10, 20, 20, 20, 30];
    assertEquals([lowerBound(tokens, 20, byValue), upperBound(tokens, 20, byValue)], [1, 4]);
    assertEquals([lowerBound(tokens, 25, byValue), upperBound(tokens, 25, byValue)], [4, 4]);
    assertEquals([lowerBound(tokens, 5, byValue), upperBound(tokens, 5, byValue)], [0, 0]);
    assertEquals([lowerBound(tokens, 40, byValue), upperBound(tokens, 40, byValue)], [5, 5]);
    assertEquals([lowerBound([], 1, byValue), upperBound([], 1, byValue)], [0, 0]);
  });

  it("search typed arrays, and records by a field against a target of another type", () => {
    assertEquals(lowerBound(Uint32Array.of(1, 5, 0xffff_ffff), 0xffff_fffe, byValue), 2);
    const ranges = [{ end: 100 }, { end: 200 }, { end: 300 }];
    const endVersus = (r: { end: number }, token: number) => r.end - token;
    assertEquals(lowerBound(ranges, 150, endVersus), 1);
    assertEquals(lowerBound(ranges, 200, endVersus), 1);
    assertEquals(upperBound(ranges, 200, endVersus), 2);
  });

  it("agree with a linear scan on sorted numbers", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -50, max: 50 }), { maxLength: 60 }), fc.integer({ min: -60, max: 60 }), (values, target) => {
        const sorted = values.sort(byValue);
        assertEquals(lowerBound(sorted, target, byValue), linearLower(sorted, target, byValue));
        assertEquals(upperBound(sorted, target, byValue), linearUpper(sorted, target, byValue));
      }),
    );
  });

  it("agree with a linear scan on sorted strings", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 3 }), { maxLength: 40 }), fc.string({ maxLength: 3 }), (values, target) => {
        const sorted = values.sort(byString);
        assertEquals(lowerBound(sorted, target, byString), linearLower(sorted, target, byString));
        assertEquals(upperBound(sorted, target, byString), linearUpper(sorted, target, byString));
      }),
    );
  });
});
