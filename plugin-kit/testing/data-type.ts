/**
 * Conformance suite for {@link DataType}: the join laws and the encoding, as fast-check
 * properties over states made by the type's own operations at three replicas with random syncs.
 * Data types are values with clients of their own, not plugins: the suite takes the type and a
 * way to make its operations.
 *
 * @example
 * ```ts
 * dataTypeSuite({ type: lwwRegisterType, operation: (n, actor) => (first) => prepareAssign(first, actor, `v${n % 5}`) });
 * ```
 *
 * @module
 */
import { describe, it } from "./bdd.ts";
import { assert, assertEquals, assertThrows } from "./assert.ts";
import fc from "fast-check";
import { CorruptDataError } from "../../core/errors.ts";
import { encode } from "../../core/codec/msgpack.ts";
import type { DataType } from "../../core/interfaces/data-type.ts";
import type { PreparedUpdate } from "../../core/client/crdt-store.ts";

/** An operation of the type, made from a random draw: it prepares an update for `actor`. */
export type OperationFactory<S> = (draw: number, actor: string) => (first: S) => PreparedUpdate<S>;

/** What the suite needs to test a data type. */
export interface DataTypeSuiteOptions<S> {
  /** The type. */
  readonly type: DataType<S>;
  /** Makes one of the type's operations from a random number. */
  readonly operation: OperationFactory<S>;
}

const ACTORS = ["a", "b", "c"] as const;

type Step = { readonly kind: "op"; readonly at: number; readonly draw: number } | {
  readonly kind: "sync";
  readonly from: number;
  readonly to: number;
};

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant("op" as const), at: fc.integer({ min: 0, max: 2 }), draw: fc.nat(1000) }),
  fc.record({ kind: fc.constant("sync" as const), from: fc.integer({ min: 0, max: 2 }), to: fc.integer({ min: 0, max: 2 }) }),
);
const historyArb = fc.array(stepArb, { minLength: 1, maxLength: 30 });

/** Replays a history; returns every state any replica passed through, and the final ones. */
function replay<S>({ type, operation }: DataTypeSuiteOptions<S>, history: readonly Step[]): { seen: S[]; states: S[] } {
  const states = ACTORS.map(() => type.empty());
  const seen: S[] = [type.empty()];
  for (const step of history) {
    if (step.kind === "sync") states[step.to] = type.join(states[step.to]!, states[step.from]!);
    else states[step.at] = operation(step.draw, ACTORS[step.at]!)(states[step.at]!)(states[step.at]!);
    seen.push(...states);
  }
  return { seen, states };
}

/**
 * Registers the conformance tests of a data type.
 *
 * @example
 * ```ts
 * dataTypeSuite({ type: gCounterType, operation: (n, actor) => (first) => (s) => raiseTo(s, actor, seen(first, actor) + 1 + (n % 5)) });
 * ```
 */
export function dataTypeSuite<S>(options: DataTypeSuiteOptions<S>): void {
  const { type } = options;
  const same = (a: S, b: S) => assert(type.equals(a, b), "states differ");
  describe(`DataType conformance: ${type.name}`, () => {
    const pick = (r: { seen: S[] }, i: number) => r.seen[i % r.seen.length]!;

    it("join is commutative, associative and idempotent, with the empty state as identity", () => {
      fc.assert(
        fc.property(historyArb, fc.nat(), fc.nat(), fc.nat(), (history, i, j, k) => {
          const r = replay(options, history);
          const [x, y, z] = [pick(r, i), pick(r, j), pick(r, k)];
          same(type.join(x, y), type.join(y, x));
          same(type.join(type.join(x, y), z), type.join(x, type.join(y, z)));
          same(type.join(x, x), x);
          same(type.join(x, type.empty()), x);
        }),
      );
    });

    it("replicas that exchange their states in any order converge", () => {
      fc.assert(
        fc.property(historyArb, (history) => {
          const { states } = replay(options, history);
          const forward = states.reduce((a, b) => type.join(a, b));
          const backward = [...states].reverse().reduce((a, b) => type.join(a, b));
          same(forward, backward);
          assertEquals(type.encode(forward), type.encode(backward));
        }),
      );
    });

    it("an update only moves a state up: the old state joined in changes nothing", () => {
      fc.assert(
        fc.property(historyArb, fc.nat(), fc.nat(1000), fc.integer({ min: 0, max: 2 }), (history, i, draw, at) => {
          const before = pick(replay(options, history), i);
          const after = options.operation(draw, ACTORS[at]!)(before)(before);
          same(type.join(after, before), after);
        }),
      );
    });

    it("decodes what it encodes, and refuses other bytes with CorruptDataError", () => {
      fc.assert(
        fc.property(historyArb, fc.nat(), (history, i) => {
          const x = pick(replay(options, history), i);
          const back = type.decode(type.encode(x));
          same(back, x);
          assertEquals(type.encode(back), type.encode(x));
        }),
      );
      for (
        const junk of [
          new Uint8Array([0xc1]),
          encode(42),
          encode(["another-type", []]),
          encode([type.name, "nonsense"]),
          encode([type.name, [[1, 2]]]),
        ]
      ) {
        assertThrows(() => type.decode(junk), CorruptDataError);
      }
    });
  });
}
