/**
 * Version vectors and dots shared by the data types of this family that track causality
 * (OR-Set, MV-Register): the "dotted" representation of Almeida, Shoker and Baquero, "Delta
 * State Replicated Data Types" (2018), which Riak's ORSWOT uses.
 *
 * @module
 */
import { CorruptDataError } from "../../errors.ts";

/** One event: the `counter`-th update by `actor`. */
export type Dot = readonly [actor: string, counter: number];

/** Per actor, the number of its events seen (its events 1..n). Treat as immutable. */
export type VersionVector = ReadonlyMap<string, number>;

/** Events of `actor` seen by `vv`. */
export function seen(vv: VersionVector, actor: string): number {
  return vv.get(actor) ?? 0;
}

/** True if `vv` has seen `dot`. */
export function covers(vv: VersionVector, [actor, counter]: Dot): boolean {
  return seen(vv, actor) >= counter;
}

/** Pointwise maximum. */
export function joinVectors(a: VersionVector, b: VersionVector): VersionVector {
  const out = new Map(a);
  for (const [actor, n] of b) if (n > (out.get(actor) ?? 0)) out.set(actor, n);
  return out;
}

/** `vv` with `dot` recorded. */
export function withDot(vv: VersionVector, [actor, counter]: Dot): VersionVector {
  if (seen(vv, actor) >= counter) return vv;
  return new Map(vv).set(actor, counter);
}

/** Equal vectors (absent entries are 0). */
export function sameVectors(a: VersionVector, b: VersionVector): boolean {
  if (a.size !== b.size) return false;
  for (const [actor, n] of a) if (b.get(actor) !== n) return false;
  return true;
}

/** Canonical plain form: `[actor, n]` pairs sorted by actor. */
export function vectorToPlain(vv: VersionVector): [string, number][] {
  return [...vv].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
}

/** Sorts dots canonically. */
export function sortDots(dots: Iterable<Dot>): Dot[] {
  return [...dots].sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x - y));
}

/** Reads a plain vector back, or throws {@link CorruptDataError} naming `where`. */
export function vectorFromPlain(data: unknown, where: string): VersionVector {
  if (!Array.isArray(data)) throw new CorruptDataError(where, "expected [actor, count] pairs");
  const out = new Map<string, number>();
  for (const entry of data) {
    const [actor, n] = dotFromPlain(entry, where);
    if (out.has(actor)) throw new CorruptDataError(where, `actor "${actor}" appears twice`);
    out.set(actor, n);
  }
  return out;
}

/** Reads a plain dot back, or throws {@link CorruptDataError} naming `where`. */
export function dotFromPlain(data: unknown, where: string): Dot {
  if (!Array.isArray(data) || data.length !== 2) throw new CorruptDataError(where, "expected an [actor, count] pair");
  const [actor, n] = data as unknown[];
  if (typeof actor !== "string" || actor.length === 0) throw new CorruptDataError(where, "an actor must be a non-empty string");
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) {
    throw new CorruptDataError(where, "a count must be a non-negative integer");
  }
  return [actor, n];
}
