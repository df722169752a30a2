/**
 * The conformance suite every {@link Random} must pass: the range and shape of its draws, the
 * rejection of bad bounds, and what {@link Random.fork} promises. Seeded implementations also
 * get the determinism checks (same seed, same history) and distribution checks on fixed seeds,
 * so those cannot flake.
 *
 * @example
 * ```ts
 * randomSuite({ name: "SeededRandom", create: (seed) => new SeededRandom(seed) });
 * randomSuite({ name: "systemRandom", create: () => systemRandom(), deterministic: false });
 * ```
 *
 * @module
 */
import { describe, it } from "./bdd.ts";
import { assert, assertEquals, assertLess, assertNotEquals, assertThrows } from "./assert.ts";
import fc from "fast-check";
import type { Random } from "../../core/interfaces/random.ts";

/** Options of {@link randomSuite}. */
export interface RandomSuiteOptions {
  /** Name shown in the test report. */
  readonly name: string;
  /** A generator for `seed` (a 32-bit unsigned integer); may ignore it if not deterministic. */
  readonly create: (seed: number) => Random;
  /**
   * True (the default) if `create(seed)` gives the same stream for the same seed. When false,
   * only the checks that hold for one instance run: ranges, bad bounds and forks by label.
   */
  readonly deterministic?: boolean;
}

const seed = fc.nat({ max: 0xffff_ffff });
/** Bounds the interface accepts: positive integers below 2^32, small ones more often. */
const bound = fc.oneof(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 0xffff_ffff }));
const label = fc.string({ maxLength: 12 });

function draws(random: Random, count: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(random.next());
  return out;
}

/** Mixed calls, so a twin that diverges on any of them shows. */
function history(random: Random, count = 16): number[] {
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(i % 3 === 0 ? random.next() : random.int(i + 1));
  return out;
}

/** Pearson's chi-square statistic of `counts` against a uniform expectation. */
function chiSquare(counts: readonly number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  const expected = total / counts.length;
  return counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
}

// Seeds are fixed, so a threshold is a regression check, not a gamble. 40 with 9 degrees of
// freedom is far beyond the 0.1% critical value (27.9): a healthy generator never gets near it,
// a biased or stuck one (every value in a few buckets) is far above it.
const CHI_SQUARE_LIMIT_9_DOF = 40;
const FIXED_SEEDS = [0, 1, 42, 0xdead_beef, 0xffff_ffff];

/** Registers the {@link Random} conformance tests for one implementation. */
export function randomSuite(options: RandomSuiteOptions): void {
  const { create } = options;
  const deterministic = options.deterministic ?? true;
  const describeDeterministic = deterministic ? describe : describe.skip;

  describe(`Random conformance: ${options.name}`, () => {
    describe("range and shape", () => {
      it("next() returns floats in [0, 1)", () => {
        for (const s of FIXED_SEEDS) {
          for (const x of draws(create(s), 2_000)) {
            assert(typeof x === "number" && x >= 0 && x < 1, `next() returned ${x}`);
          }
        }
      });

      it("int(bound) returns integers in [0, bound)", () => {
        fc.assert(
          fc.property(seed, bound, (s, b) => {
            const random = create(s);
            for (let i = 0; i < 20; i++) {
              const x = random.int(b);
              assert(Number.isInteger(x) && x >= 0 && x < b, `int(${b}) returned ${x}`);
            }
          }),
        );
      });

      it("int(1) is always 0, and the largest bound below 2^32 is accepted", () => {
        const random = create(7);
        for (let i = 0; i < 50; i++) assertEquals(random.int(1), 0);
        const x = random.int(0xffff_ffff);
        assert(Number.isInteger(x) && x >= 0 && x < 0xffff_ffff);
      });

      it("int rejects bounds that are not positive integers below 2^32 with RangeError", () => {
        const random = create(3);
        for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 32 + 1, 2 ** 40]) {
          assertThrows(() => random.int(bad), RangeError, undefined, `int(${bad})`);
        }
      });

      it("forks draw in range too", () => {
        const fork = create(9).fork("child");
        for (const x of draws(fork, 500)) assert(x >= 0 && x < 1);
        for (let i = 0; i < 500; i++) {
          const x = fork.int(6);
          assert(Number.isInteger(x) && x >= 0 && x < 6);
        }
      });
    });

    describe("fork", () => {
      it("the same label gives the same stream", () => {
        fc.assert(
          fc.property(seed, label, (s, l) => {
            const random = create(s);
            assertEquals(history(random.fork(l)), history(random.fork(l)));
          }),
        );
      });

      it("different labels give different streams", () => {
        fc.assert(
          fc.property(
            seed,
            label,
            label.filter((l) => l.length > 0),
            (s, l1, suffix) => {
              const random = create(s);
              // Two distinct labels: one is a proper prefix of the other, so they never collide.
              assertNotEquals(draws(random.fork(l1), 4), draws(random.fork(l1 + suffix), 4));
            },
          ),
        );
      });

      it("a fork's stream differs from its parent's", () => {
        for (const s of FIXED_SEEDS) {
          const random = create(s);
          const fork = random.fork("child");
          assertNotEquals(draws(fork, 4), draws(random, 4));
        }
      });

      it("drawing from the parent does not change a fork made later with the same label", () => {
        fc.assert(
          fc.property(seed, label, fc.nat(40), (s, l, n) => {
            const random = create(s);
            const early = history(random.fork(l));
            draws(random, n);
            assertEquals(history(random.fork(l)), early);
          }),
        );
      });

      it("forks of forks are derived by label too", () => {
        const random = create(11);
        assertEquals(history(random.fork("a").fork("b")), history(random.fork("a").fork("b")));
        assertNotEquals(draws(random.fork("a").fork("b"), 4), draws(random.fork("b").fork("a"), 4));
      });
    });

    describeDeterministic("determinism", () => {
      it("the same seed gives the same sequence of next() and int()", () => {
        fc.assert(
          fc.property(seed, (s) => {
            assertEquals(history(create(s), 32), history(create(s), 32));
          }),
        );
      });

      it("different seeds give different sequences", () => {
        fc.assert(
          fc.property(seed, seed, (s1, s2) => {
            fc.pre(s1 !== s2);
            assertNotEquals(draws(create(s1), 8), draws(create(s2), 8));
          }),
        );
      });

      it("the same seed and label give the same fork on separate instances", () => {
        fc.assert(
          fc.property(seed, label, (s, l) => {
            assertEquals(history(create(s).fork(l)), history(create(s).fork(l)));
          }),
        );
      });

      it("forking and drawing from a fork do not shift the parent's stream", () => {
        const plain = create(5);
        const forked = create(5);
        const child = forked.fork("child");
        const out: number[] = [];
        for (let i = 0; i < 20; i++) {
          out.push(forked.next());
          child.next();
          forked.fork(`again-${i}`).next();
        }
        assertEquals(out, draws(plain, 20));
      });

      it("a rejected int() draws nothing", () => {
        const random = create(8);
        const twin = create(8);
        random.next();
        twin.next();
        assertThrows(() => random.int(0), RangeError);
        assertThrows(() => random.int(2.5), RangeError);
        assertEquals(history(random), history(twin));
      });
    });

    describeDeterministic("distribution (fixed seeds)", () => {
      it("int(10) is roughly uniform", () => {
        for (const s of FIXED_SEEDS) {
          const random = create(s);
          const counts = new Array<number>(10).fill(0);
          for (let i = 0; i < 10_000; i++) counts[random.int(10)]!++;
          assertLess(chiSquare(counts), CHI_SQUARE_LIMIT_9_DOF, `seed ${s}: counts ${counts.join(",")}`);
        }
      });

      it("next() is roughly uniform over ten buckets", () => {
        for (const s of FIXED_SEEDS) {
          const counts = new Array<number>(10).fill(0);
          for (const x of draws(create(s), 10_000)) counts[Math.floor(x * 10)]!++;
          assertLess(chiSquare(counts), CHI_SQUARE_LIMIT_9_DOF, `seed ${s}: counts ${counts.join(",")}`);
        }
      });

      it("int(bound) has no modulo bias for a bound close to 2^32", () => {
        // With bound = 3·2^30, a plain `uint32 % bound` lands in [0, 2^30) half the time
        // instead of a third.
        const b = 3 * 2 ** 30;
        for (const s of FIXED_SEEDS) {
          const random = create(s);
          let low = 0;
          for (let i = 0; i < 3_000; i++) if (random.int(b) < 2 ** 30) low++;
          const share = low / 3_000;
          assert(share > 0.28 && share < 0.39, `seed ${s}: ${share} of draws below 2^30, expected ~1/3`);
        }
      });

      it("forks with neighbouring labels are not correlated", () => {
        // Components forked as "n0", "n1"... (one per node) must not all start alike: the
        // first draws of 2000 such forks are spread evenly.
        const random = create(42);
        const counts = new Array<number>(10).fill(0);
        for (let i = 0; i < 2_000; i++) counts[random.fork(`n${i}`).int(10)]!++;
        assertLess(chiSquare(counts), CHI_SQUARE_LIMIT_9_DOF, `counts ${counts.join(",")}`);
      });
    });
  });
}
