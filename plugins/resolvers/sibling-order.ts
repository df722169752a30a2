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
 * The merge of two sibling sets of at most one sibling each, exactly as {@link mergeSiblings}
 * computes it, without its intermediate arrays: a read's replies are merged one at a time, and
 * most records hold one sibling. `undefined` when either set holds more.
 */
function mergeAtMostOne<V>(
  a: readonly Sibling<V>[],
  b: readonly Sibling<V>[],
  dominated: (s: Sibling<V>, by: Sibling<V>) => boolean,
  versionOrder: (a: V, b: V) => number,
): Sibling<V>[] | undefined {
  if (a.length > 1 || b.length > 1) return undefined;
  const x = a[0] ?? b[0];
  const y = a.length === 1 ? b[0] : undefined;
  if (x === undefined) return [];
  if (y === undefined) return dominated(x, x) ? [] : [x];
  const keepX = !dominated(x, x) && !dominated(x, y);
  const keepY = !dominated(y, x) && !dominated(y, y);
  if (!keepX) return keepY ? [y] : [];
  if (!keepY) return [x];
  // Both kept: canonical order, and one of two equal siblings (the first, as a stable sort keeps it).
  const order = versionOrder(x.version, y.version) || compareValues(x.value, y.value);
  return order === 0 ? [x] : order < 0 ? [x, y] : [y, x];
}

/**
 * The siblings of `a` and `b` that no sibling of either dominates (`dominated(s, by)`: `by`
 * supersedes `s`), in canonical order without duplicates: the merge of the resolvers of this
 * family, which differ only in what dominates.
 */
export function mergeSiblings<V>(
  a: readonly Sibling<V>[],
  b: readonly Sibling<V>[],
  dominated: (s: Sibling<V>, by: Sibling<V>) => boolean,
  versionOrder: (a: V, b: V) => number,
): Sibling<V>[] {
  const small = mergeAtMostOne(a, b, dominated, versionOrder);
  if (small !== undefined) return small;
  const all = [...a, ...b];
  return canonicalSiblings(all.filter((s) => !all.some((t) => dominated(s, t))), versionOrder);
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
