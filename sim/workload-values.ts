/**
 * The values the lab's workloads write and read back: YCSB values that name their write, the
 * set workload's siblings (the elements, and which add wrote each), and what a final read of a
 * CRDT key holds. Pure functions, shared by the simulation and its checkers' inputs.
 *
 * @module
 */
import type { ValueCodec } from "../core/client/store-client.ts";
import { allocBytes, decodeText, encodeText } from "../core/codec/bytes.ts";
import { orSetMembers, orSetType } from "../core/client/datatypes/or-set.ts";
import { pnCounterType } from "../core/client/datatypes/pn-counter.ts";
import type { CrdtWorkload } from "./scenario.ts";

/** The key of YCSB record `index`. */
export function ycsbKey(index: number): string {
  return `user${index}`;
}

/** A value whose first bytes name the write (`id|`), padded to `size`. */
export function ycsbValue(id: string, size: number): Uint8Array {
  const head = encodeText(`${id}|`);
  const out = allocBytes(Math.max(size, head.length));
  out.set(head);
  out.fill(0x2e, head.length); // '.'
  return out;
}

/** The id of the write a YCSB value names. */
export function ycsbId(value: Uint8Array): string {
  const text = decodeText(value.subarray(0, Math.min(value.length, 64)));
  const bar = text.indexOf("|");
  return bar < 0 ? text : text.slice(0, bar);
}

/** What a final read of the CRDT workload's key holds: actors' totals, or members. */
export function crdtReadIds(w: CrdtWorkload, values: readonly Uint8Array[]): string[] {
  if (w.datatype === "counter") {
    const state = values.map((v) => pnCounterType.decode(v)).reduce((a, b) => pnCounterType.join(a, b), pnCounterType.empty());
    const actors = new Set([...state.p.keys(), ...state.n.keys()]);
    return [...actors].sort().map((a) => `${a}=${state.p.get(a) ?? 0}/${state.n.get(a) ?? 0}`);
  }
  const state = values.map((v) => orSetType.decode(v)).reduce((a, b) => orSetType.join(a, b), orSetType.empty());
  return orSetMembers(state);
}

/** One sibling of the set workload's key: the elements, and the element whose add wrote it. */
export interface SetValue {
  readonly by: string;
  readonly elements: readonly string[];
}

/** The set as stored: sorted elements, plus the element whose add wrote this sibling. */
export function setCodec(by: string): ValueCodec<SetValue> {
  return {
    encode: (v) => encodeText(JSON.stringify({ by, e: [...new Set(v.elements)].sort() })),
    decode: (b) => {
      const { by, e } = JSON.parse(decodeText(b)) as { by: string; e: string[] };
      return { by, elements: e };
    },
  };
}

/** How this workload merges siblings: the union of their elements. */
export function unionOfSets(siblings: readonly SetValue[]): SetValue {
  return { by: "", elements: [...new Set(siblings.flatMap((s) => s.elements))].sort() };
}

/** The set's elements across siblings: the union. */
export function parseSetValues(values: readonly Uint8Array[]): string[] {
  return unionOfSets(values.map((v) => setCodec("").decode(v))).elements as string[];
}

/**
 * Siblings of a read that another sibling descends from: sibling B holds the element whose
 * add wrote sibling A, so B's writer had read A (elements are unique), and A should be gone.
 */
export function obsoleteSiblings(siblings: readonly SetValue[]): number {
  if (siblings.length < 2) return 0;
  return siblings.filter((a) => siblings.some((b) => b !== a && b.by !== a.by && b.elements.includes(a.by))).length;
}
