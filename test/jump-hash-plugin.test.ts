/**
 * The jump-hash partitioner of examples/plugin-kit/jump-hash/, tested as its author outside
 * this repository would test it: the shipped partitioner suite from
 * `ringforge/plugin-kit/testing`, given the plugin (what it declares in `capabilities` decides
 * what is checked), and the plugin's own properties: the jump function is the paper's, a key
 * moves only to an added bucket, and what it does not claim (movement on a leave that is not
 * last) is as documented.
 *
 * Imports only the package's public names, which resolve to this repository's source (deno.json
 * `imports`, vitest.config.ts `resolve.alias`).
 */
import { describe, it } from "@std/testing/bdd";
import { assert, assertEquals, assertGreater, assertLess } from "@std/assert";
import fc from "fast-check";
import { partitionerSuite } from "ringforge/plugin-kit/testing";
import type { MemberInfo } from "ringforge/plugin-kit";
import { jumpConsistentHash, JumpHashPartitioner, jumpHashPlugin } from "../examples/plugin-kit/jump-hash/jump-hash.ts";

partitionerSuite({ plugin: jumpHashPlugin });

/** The paper's C++ function, line for line, over BigInt: the reference the fast one must match. */
function paperJumpHash(key: bigint, buckets: number): number {
  let b = -1n;
  let j = 0n;
  while (j < BigInt(buckets)) {
    b = j;
    key = BigInt.asUintN(64, key * 2862933555777941757n + 1n);
    j = BigInt(Math.trunc(Number(b + 1n) * (2 ** 31 / Number((key >> 33n) + 1n))));
  }
  return Number(b);
}

const uint32 = fc.integer({ min: 0, max: 0xffff_ffff });

function withMembers(members: readonly MemberInfo[]): JumpHashPartitioner {
  const p = new JumpHashPartitioner();
  p.setMembers(members);
  return p;
}

/** Keys, out of `keys`, whose primary differs between two partitioners. */
function primariesMoved(before: JumpHashPartitioner, after: JumpHashPartitioner, keys: readonly string[]): number {
  return keys.filter((k) => before.preferenceList(k, 1)[0] !== after.preferenceList(k, 1)[0]).length;
}

const keys = Array.from({ length: 20_000 }, (_, i) => `key-${i}`);
const five: MemberInfo[] = ["n1", "n2", "n3", "n4", "n5"].map((id) => ({ id }));

describe("jump-hash (examples/plugin-kit/jump-hash)", () => {
  it("computes the paper's function exactly, with 64-bit arithmetic in 32-bit halves", () => {
    fc.assert(
      fc.property(uint32, uint32, fc.integer({ min: 1, max: 2 ** 31 - 1 }), (hi, lo, buckets) => {
        const key = (BigInt(hi) << 32n) | BigInt(lo);
        assertEquals(jumpConsistentHash(hi, lo, buckets), paperJumpHash(key, buckets));
      }),
      { numRuns: 2000 },
    );
    // Carries out of the low half, and the largest key.
    for (const [hi, lo] of [[0, 0], [0, 0xffff_ffff], [0xffff_ffff, 0xffff_ffff], [1, 0x7890_abcd]] as const) {
      for (const buckets of [1, 2, 10, 1000, 2 ** 31 - 1]) {
        assertEquals(jumpConsistentHash(hi, lo, buckets), paperJumpHash((BigInt(hi) << 32n) | BigInt(lo), buckets));
      }
    }
  });

  it("moves a key only to a bucket added at the end (the paper's consistency property)", () => {
    fc.assert(
      fc.property(uint32, uint32, fc.integer({ min: 1, max: 100_000 }), (hi, lo, n) => {
        const before = jumpConsistentHash(hi, lo, n);
        const after = jumpConsistentHash(hi, lo, n + 1);
        assert(after === before || after === n, `key moved from ${before} to ${after} when bucket ${n} was added`);
      }),
      { numRuns: 2000 },
    );
  });

  it("a join whose id sorts last moves keys only to the newcomer", () => {
    const before = withMembers(five);
    const after = withMembers([...five, { id: "n6" }]);
    for (const k of keys.slice(0, 2000)) {
      const [was] = before.preferenceList(k, 1);
      const [now] = after.preferenceList(k, 1);
      assert(now === was || now === "n6", `${k} moved from ${was} to ${now}`);
    }
  });

  it("a leave that is not last moves most keys between members that stayed (documented, not claimed)", () => {
    const before = withMembers(five);
    const after = withMembers(five.filter((m) => m.id !== "n2"));
    const movedBetweenStayers = keys.filter((k) => {
      const [was] = before.preferenceList(k, 1);
      return was !== "n2" && after.preferenceList(k, 1)[0] !== was;
    }).length;
    // Ideal: none (only n2's fifth moves). n3, n4 and n5 each shift down one bucket run.
    assertGreater(movedBetweenStayers / keys.length, 0.4);
    // The last member leaving is jump hash's own case: only its keys move.
    const withoutLast = withMembers(five.slice(0, 4));
    assertLess(primariesMoved(before, withoutLast, keys) / keys.length, 0.22);
  });

  it("gives a member of weight w about w times the buckets, to the nearest 1/bucketsPerWeight", () => {
    const p = new JumpHashPartitioner({ bucketsPerWeight: 4 });
    p.setMembers([{ id: "a", weight: 1 }, { id: "b", weight: 1.25 }, { id: "c", weight: 0.01 }]);
    const counts = new Map<string, number>();
    for (const k of keys) counts.set(p.preferenceList(k, 1)[0]!, (counts.get(p.preferenceList(k, 1)[0]!) ?? 0) + 1);
    // 4, 5 and 1 buckets (a tiny weight still owns one): shares 0.4, 0.5, 0.1 of the segments.
    const share = (id: string) => (counts.get(id) ?? 0) / keys.length;
    assert(
      Math.abs(share("a") - 0.4) < 0.05 && Math.abs(share("b") - 0.5) < 0.05 && Math.abs(share("c") - 0.1) < 0.05,
      JSON.stringify([...counts]),
    );
  });
});
