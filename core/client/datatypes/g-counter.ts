/**
 * G-Counter: a grow-only counter, one entry per actor (Shapiro et al. 2011, §3.1.1).
 *
 * @module
 */
import type { DataType } from "../../interfaces/data-type.ts";
import { InvalidRequestError } from "../../errors.ts";
import { joinVectors, sameVectors, seen, vectorFromPlain, vectorToPlain, type VersionVector } from "./causal.ts";
import { seal, unseal } from "./envelope.ts";

/** Per actor, the total of its increments. The counter's value is the sum. */
export type GCounter = VersionVector;

/** The G-Counter data type: join is the pointwise maximum. */
export const gCounterType: DataType<GCounter> = {
  name: "g-counter",
  empty: () => new Map(),
  join: joinVectors,
  equals: sameVectors,
  encode: (state) => seal("g-counter", vectorToPlain(state)),
  decode: (bytes) => gCounterFromPlain(unseal("g-counter", bytes), "g-counter state"),
};

/** Reads a G-Counter's plain form (used by the types that embed one). */
export function gCounterFromPlain(data: unknown, where: string): GCounter {
  return vectorFromPlain(data, where);
}

/** The counter's value: the sum of every actor's total. */
export function gCounterValue(state: GCounter): number {
  let total = 0;
  for (const n of state.values()) total += n;
  return total;
}

/**
 * Raises `actor`'s total to at least `total`. An increment by `n` is `raiseTo(state, actor,
 * own + n)` with `own` fixed before the first try: applying it twice counts it once.
 *
 * @example
 * ```ts
 * const state = raiseTo(gCounterType.empty(), "web-1", 3);
 * gCounterValue(state); // 3
 * ```
 */
export function raiseTo(state: GCounter, actor: string, total: number): GCounter {
  if (!Number.isSafeInteger(total) || total < 0) {
    throw new InvalidRequestError(`a counter total must be a safe non-negative integer, got ${total}`, { total });
  }
  if (seen(state, actor) >= total) return state;
  return new Map(state).set(actor, total);
}
