/**
 * Conformance suite for {@link ConflictResolver}: the merge laws and the write rules, as
 * fast-check properties over histories made by the resolver itself (writes at random replicas
 * with contexts from random reads, and replica-to-replica syncs). Whether concurrent writes
 * must both survive or exactly one must is the resolver's own `keepsConcurrentWrites`.
 *
 * @example
 * ```ts
 * conflictResolverSuite({ plugin: vectorClockPlugin });
 * conflictResolverSuite({ name: "hybrid clock", create: () => new HybridClockResolver() });
 * ```
 *
 * @module
 */
import { describe, it } from "./bdd.ts";
import { assert, assertEquals, assertThrows } from "./assert.ts";
import fc from "fast-check";
import { InvalidContextError } from "../../core/errors.ts";
import { decode, encode } from "../../core/codec/msgpack.ts";
import { decodeText, encodeText } from "../../core/codec/bytes.ts";
import type { ConflictResolver } from "../../core/interfaces/conflict-resolver.ts";
import type { Sibling, SiblingSet } from "../../core/model/sibling.ts";
import { virtualRuntime } from "../../core/runtime/runtime.ts";
import { checkPlugin, createShared, createStandalone, type PluginSuiteOptions } from "./plugin-under-test.ts";

/**
 * The plugin form of {@link conflictResolverSuite}: the suite creates each resolver with
 * `plugin.create` from a standalone context.
 */
export type ConflictResolverPluginSuiteOptions = PluginSuiteOptions<"resolver">;

/** The factory form of {@link conflictResolverSuite}, for a resolver made in code. */
export interface ConflictResolverSuiteOptions {
  /** Shown in test names. */
  readonly name: string;
  /** A fresh resolver. */
  readonly create: () => ConflictResolver;
}

const REPLICAS = ["a", "b", "c"] as const;

/** One step of a generated history. */
type Step =
  | { readonly kind: "write"; readonly at: number; readonly readFrom: number | null; readonly tombstone: boolean }
  | { readonly kind: "sync"; readonly from: number; readonly to: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant("write" as const),
    at: fc.integer({ min: 0, max: 2 }),
    readFrom: fc.option(fc.integer({ min: 0, max: 2 }), { nil: null }),
    tombstone: fc.boolean(),
  }),
  fc.record({ kind: fc.constant("sync" as const), from: fc.integer({ min: 0, max: 2 }), to: fc.integer({ min: 0, max: 2 }) }),
);

const historyArb = fc.array(stepArb, { minLength: 1, maxLength: 25 });

/** The result of replaying a history. */
interface Replay {
  /** Each replica's sibling set at the end. */
  readonly states: SiblingSet[];
  /** Every state any replica passed through (for the merge laws). */
  readonly seen: SiblingSet[];
  /** Write labels (w0, w1...) whose value some later write's read returned. */
  readonly superseded: Set<string>;
  /** Every write's label, in order. */
  readonly writes: string[];
}

/**
 * Replays a history: writes stamp through `resolver.write` at their replica (timestamps
 * increase by one per step, as a clock would), reads take `resolver.context` of a replica's
 * state, syncs merge one replica into another. Every write has a unique label stored in its
 * value.
 */
function replay(resolver: ConflictResolver, history: readonly Step[]): Replay {
  const states: SiblingSet[] = REPLICAS.map(() => []);
  const seen: SiblingSet[] = [];
  const superseded = new Set<string>();
  const writes: string[] = [];
  history.forEach((step, time) => {
    if (step.kind === "sync") {
      states[step.to] = resolver.merge(states[step.to]!, states[step.from]!);
    } else {
      const label = `w${writes.length}`;
      writes.push(label);
      let context: unknown;
      if (step.readFrom !== null) {
        const read = states[step.readFrom]!;
        context = resolver.parseContext(decode(encode(resolver.context(read))));
        for (const s of read) if (s.value !== null) superseded.add(decodeText(s.value));
      }
      const next = resolver.write(states[step.at]!, {
        value: step.tombstone ? null : encodeText(label),
        context,
        node: REPLICAS[step.at]!,
        timestamp: time,
      });
      states[step.at] = next;
    }
    seen.push(...states);
  });
  return { states, seen, superseded, writes };
}

function mergeAll(resolver: ConflictResolver, sets: readonly SiblingSet[]): SiblingSet {
  return sets.reduce<SiblingSet>((acc, s) => resolver.merge(acc, s), []);
}

const liveLabels = (set: SiblingSet) => set.filter((s) => s.value !== null).map((s) => decodeText(s.value!));

/** The factory form of a plugin: resolvers its plugin creates. */
function fromPlugin(given: ConflictResolverPluginSuiteOptions): ConflictResolverSuiteOptions {
  const checked = checkPlugin("conflictResolverSuite", "resolver", given);
  const runtime = virtualRuntime(1);
  const shared = createShared(checked, runtime, [{ id: "n1" }]);
  return { name: checked.name, create: () => createStandalone(checked, { runtime, shared }) };
}

/**
 * Registers the conformance tests of a conflict resolver: a plugin, or a factory.
 *
 * @example
 * ```ts
 * conflictResolverSuite({ plugin: dottedVersionVectorPlugin });
 * conflictResolverSuite({ name: "vector-clock", create: () => new VectorClockResolver() });
 * ```
 */
export function conflictResolverSuite(suite: ConflictResolverPluginSuiteOptions | ConflictResolverSuiteOptions): void {
  const { name, create } = "plugin" in suite ? fromPlugin(suite) : suite;
  describe(`ConflictResolver conformance: ${name}`, () => {
    const pick = (r: Replay, i: number) => r.seen[i % r.seen.length]!;

    it("merge is commutative", () => {
      fc.assert(
        fc.property(historyArb, fc.nat(), fc.nat(), (history, i, j) => {
          const resolver = create();
          const r = replay(resolver, history);
          const [x, y] = [pick(r, i), pick(r, j)];
          assertEquals(resolver.merge(x, y), resolver.merge(y, x));
        }),
      );
    });

    it("merge is associative", () => {
      fc.assert(
        fc.property(historyArb, fc.nat(), fc.nat(), fc.nat(), (history, i, j, k) => {
          const resolver = create();
          const r = replay(resolver, history);
          const [x, y, z] = [pick(r, i), pick(r, j), pick(r, k)];
          assertEquals(resolver.merge(resolver.merge(x, y), z), resolver.merge(x, resolver.merge(y, z)));
        }),
      );
    });

    it("merge is idempotent and the empty set is its identity", () => {
      fc.assert(
        fc.property(historyArb, fc.nat(), (history, i) => {
          const resolver = create();
          const x = pick(replay(resolver, history), i);
          assertEquals(resolver.merge(x, x), x);
          assertEquals(resolver.merge(x, []), x);
          assertEquals(resolver.merge([], x), x);
        }),
      );
    });

    it("replicas that saw the same writes in any order hold identical records", () => {
      fc.assert(
        fc.property(historyArb, (history) => {
          const resolver = create();
          const { states } = replay(resolver, history);
          const forward = mergeAll(resolver, states);
          const backward = mergeAll(resolver, [...states].reverse());
          assertEquals(encode(forward.map((s) => [s.value, s.version])), encode(backward.map((s) => [s.value, s.version])));
        }),
      );
    });

    it("a write carrying a read's context supersedes every sibling that read returned", () => {
      fc.assert(
        // The writer's clock may lag the clocks that stamped what it read (skew): `lag`.
        fc.property(historyArb, fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 }), fc.nat(30), (history, at, from, lag) => {
          const resolver = create();
          const { states } = replay(resolver, history);
          const read = states[from]!;
          const context = resolver.context(read);
          // The coordinator need not hold what was read: the context alone must make it win.
          const next = resolver.write(states[at]!, {
            value: encodeText("new"),
            context,
            node: REPLICAS[at]!,
            timestamp: history.length - lag,
          });
          const mine = next.find((s) => s.value !== null && decodeText(s.value) === "new");
          assert(mine, "the written value is in the result");
          for (const s of read) assertEquals(resolver.compare(s.version, mine.version), "before");
          // Merging the read back in changes nothing: it is dominated.
          assertEquals(resolver.merge(next, read), next);
        }),
      );
    });

    it(
      create().keepsConcurrentWrites
        ? "two writes that did not see each other both survive"
        : "of two writes that did not see each other exactly one survives, the same on every replica",
      () => {
        fc.assert(
          fc.property(historyArb, fc.boolean(), (history, withContext) => {
            const resolver = create();
            const { states } = replay(resolver, history);
            // a and b start from the same knowledge, then write without seeing each other.
            const base = resolver.merge(states[0]!, states[1]!);
            const context = withContext ? resolver.context(base) : undefined;
            const t = history.length;
            const x = resolver.write(base, { value: encodeText("x"), context, node: "a", timestamp: t });
            const y = resolver.write(base, { value: encodeText("y"), context, node: "b", timestamp: t });
            const xy = resolver.merge(x, y);
            assertEquals(xy, resolver.merge(y, x));
            const live = liveLabels(xy).filter((l) => l === "x" || l === "y");
            if (resolver.keepsConcurrentWrites) {
              assertEquals(live.sort(), ["x", "y"]);
              assertEquals(resolver.compare(x.find(isValue("x"))!.version, y.find(isValue("y"))!.version), "concurrent");
            } else {
              assertEquals(live.length, 1);
            }
          }),
        );
      },
    );

    it(
      create().keepsConcurrentWrites
        ? "no write is lost unless a later write read it"
        : "after every replica syncs, the one surviving value is the same everywhere",
      () => {
        fc.assert(
          fc.property(historyArb, (history) => {
            const resolver = create();
            const r = replay(resolver, history);
            const final = mergeAll(resolver, r.states);
            if (resolver.keepsConcurrentWrites) {
              const present = new Set(liveLabels(final));
              const writeSteps = history.filter((s) => s.kind === "write");
              r.writes.forEach((label, i) => {
                const step = writeSteps[i]!;
                // Tombstones carry no label in their bytes; their survival is covered by the
                // tombstone test below.
                if (r.superseded.has(label) || (step.kind === "write" && step.tombstone)) return;
                assert(present.has(label), `write ${label} was lost: ${[...present].join(",")}`);
              });
            } else {
              assert(final.length <= 1);
              for (const state of r.states) {
                assertEquals(resolver.merge(state, final), final);
              }
            }
          }),
        );
      },
    );

    it("a context covers what it was read from, what was merged into it, and the context a write was based on", () => {
      fc.assert(
        fc.property(historyArb, fc.nat(), fc.nat(), fc.integer({ min: 0, max: 2 }), (history, i, j, at) => {
          const resolver = create();
          const r = replay(resolver, history);
          const [x, y] = [pick(r, i), pick(r, j)];
          const merged = resolver.context(resolver.merge(x, y));
          assert(resolver.covers(merged, resolver.context(x)));
          assert(resolver.covers(merged, resolver.context(y)));
          assert(resolver.covers(resolver.context(x), resolver.context(x)));
          const before = r.states[at]!;
          const seen = resolver.context(y);
          const next = resolver.write(before, { value: encodeText("new"), context: seen, node: REPLICAS[at]!, timestamp: history.length });
          assert(resolver.covers(resolver.context(next), seen), "a write's result covers the context it was based on");
          assert(!resolver.covers(resolver.context(before), resolver.context(next)), "an older state does not cover a newer write");
        }),
      );
    });

    it("contexts survive encoding, and anything else is refused with InvalidContextError", () => {
      fc.assert(
        fc.property(historyArb, fc.nat(), (history, i) => {
          const resolver = create();
          const x = pick(replay(resolver, history), i);
          const context = resolver.context(x);
          assertEquals(resolver.parseContext(decode(encode(context))), context);
        }),
      );
      const resolver = create();
      for (const junk of [42, "clock", { a: 1 }, [["n", -1]], [["n", 1.5]], [[1, 1]], [["b", 1], ["a", 1]], [null]]) {
        assertThrows(() => resolver.parseContext(junk), InvalidContextError);
      }
    });

    it("a tombstone written with a read's context hides the value it deletes", () => {
      const resolver = create();
      const put = resolver.write([], { value: encodeText("v"), context: undefined, node: "a", timestamp: 1 });
      const del = resolver.write(put, { value: null, context: resolver.context(put), node: "a", timestamp: 2 });
      assertEquals(liveLabels(resolver.merge(put, del)), []);
      assert(resolver.merge(put, del).length >= 1, "the tombstone itself is kept");
    });
  });
}

function isValue(label: string) {
  return (s: Sibling) => s.value !== null && decodeText(s.value) === label;
}
