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

/**
 * True if two sibling sets are the same siblings in the same order: equal value bytes and
 * structurally equal versions. Resolvers keep sets in canonical order, so two replicas holding
 * the same record compare equal without encoding either.
 */
export function sameSiblings(a: SiblingSet, b: SiblingSet): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.value === null || y.value === null) {
      if (x.value !== y.value) return false;
    } else if (!sameBytes(x.value, y.value)) return false;
    if (!samePlainData(x.version, y.version)) return false;
  }
  return true;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Structural equality of plain data (what versions are made of). */
function samePlainData(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return a instanceof Uint8Array && b instanceof Uint8Array && sameBytes(a, b);
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    if (a.length !== bb.length) return false;
    for (let i = 0; i < a.length; i++) if (!samePlainData(a[i], bb[i])) return false;
    return true;
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, k)) return false;
    if (!samePlainData((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}

/** The live values of a sibling set (tombstones left out), in canonical order. */
export function liveValues(siblings: SiblingSet): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const s of siblings) if (s.value !== null) out.push(s.value);
  return out;
}
