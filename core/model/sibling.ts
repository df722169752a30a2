/**
 * The data model of a stored key: a set of siblings, each a value (or a tombstone) with the
 * version the conflict resolver stamped on it.
 *
 * @module
 */

/** A node's identity in the cluster. Non-empty, stable across restarts. */
export type NodeId = string;

/**
 * One version of a key's value. `value` is `null` for a tombstone (a delete is a write of a
 * tombstone, so a delete that races a put is a sibling like any other, and an old replica
 * cannot bring a deleted value back). `version` is plain data owned by the conflict resolver
 * (a vector clock, a timestamp...): core stores and ships it without interpreting it.
 */
export interface Sibling<V = unknown> {
  /** The value's bytes, or `null` for a tombstone. Treat as immutable. */
  readonly value: Uint8Array | null;
  /** The resolver's version stamp; plain data (arrays, objects, strings, numbers). */
  readonly version: V;
}

/**
 * All siblings of one key, in the resolver's canonical order (so equal sets encode to equal
 * bytes). Empty means "no record".
 */
export type SiblingSet<V = unknown> = readonly Sibling<V>[];

/** True if the sibling is a tombstone. */
export function isTombstone(sibling: Sibling): boolean {
  return sibling.value === null;
}

/** The live values of a sibling set (tombstones left out), in canonical order. */
export function liveValues(siblings: SiblingSet): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const s of siblings) if (s.value !== null) out.push(s.value);
  return out;
}
