/**
 * Canonical ordering of siblings, shared by the resolvers of this family: equal sibling sets
 * must encode to equal bytes on every replica.
 *
 * @module
 */
import { compareBytes } from "../../core/codec/bytes.ts";
import type { Sibling } from "../../core/model/sibling.ts";

/** Orders tombstones before values, then values by bytes. */
export function compareValues(a: Uint8Array | null, b: Uint8Array | null): number {
  if (a === null) return b === null ? 0 : -1;
  if (b === null) return 1;
  return compareBytes(a, b);
}

/**
 * Sorts siblings by `versionOrder`, then value, and drops exact duplicates (same version and
 * same value). Returns a new array.
 */
export function canonicalSiblings<V>(
  siblings: Iterable<Sibling<V>>,
  versionOrder: (a: V, b: V) => number,
): Sibling<V>[] {
  // One sibling, the common case: already canonical (spread and sort would cost more than the rest of a write's stamp).
  if (Array.isArray(siblings) && siblings.length <= 1) return siblings.slice();
  const sorted = [...siblings].sort((x, y) => versionOrder(x.version, y.version) || compareValues(x.value, y.value));
  const out: Sibling<V>[] = [];
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (last && versionOrder(last.version, s.version) === 0 && compareValues(last.value, s.value) === 0) continue;
    out.push(s);
  }
  return out;
}
