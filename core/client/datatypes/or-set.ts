/**
 * OR-Set, add-wins, without tombstones (Bieniusa et al., "An Optimized Conflict-free Replicated
 * Set", 2012; Riak's ORSWOT), and the {@link Sets} client (`sets.add(key, member)`).
 *
 * @module
 */
import type { DataType } from "../../interfaces/data-type.ts";
import { CorruptDataError, InvalidRequestError } from "../../errors.ts";
import { CrdtStore, type CrdtStoreOptions, type PreparedUpdate } from "../crdt-store.ts";
import type { KeyValueStore } from "../store-client.ts";
import {
  covers,
  type Dot,
  dotFromPlain,
  joinVectors,
  sameVectors,
  seen,
  sortDots,
  vectorFromPlain,
  vectorToPlain,
  type VersionVector,
  withDot,
} from "./causal.ts";
import { seal, unseal } from "./envelope.ts";

/**
 * The set: every add is a dot; a member is in the set while some dot of its adds is. The clock
 * records every dot the state has seen, so a dot it has seen but no longer holds was removed.
 */
export interface OrSet {
  /** Every add this state has seen. */
  readonly clock: VersionVector;
  /** Members present, each with the dots of its adds not yet removed (sorted). */
  readonly entries: ReadonlyMap<string, readonly Dot[]>;
}

const dotKey = ([actor, n]: Dot) => `${n}@${actor}`;

/**
 * Joins two members' dots: those both hold, plus those one holds that the other has not seen
 * (a dot the other has seen but dropped was removed there). Shared with the MV-Register.
 */
export function joinDots(a: readonly Dot[], aClock: VersionVector, b: readonly Dot[], bClock: VersionVector): Dot[] {
  const inB = new Set(b.map(dotKey));
  const inA = new Set(a.map(dotKey));
  const kept = new Map<string, Dot>();
  for (const d of a) if (inB.has(dotKey(d)) || !covers(bClock, d)) kept.set(dotKey(d), d);
  for (const d of b) if (inA.has(dotKey(d)) || !covers(aClock, d)) kept.set(dotKey(d), d);
  return sortDots(kept.values());
}

/** The OR-Set data type. */
export const orSetType: DataType<OrSet> = {
  name: "or-set",
  empty: () => ({ clock: new Map(), entries: new Map() }),
  join(a, b) {
    const entries = new Map<string, readonly Dot[]>();
    for (const member of new Set([...a.entries.keys(), ...b.entries.keys()])) {
      const dots = joinDots(a.entries.get(member) ?? [], a.clock, b.entries.get(member) ?? [], b.clock);
      if (dots.length > 0) entries.set(member, dots);
    }
    return { clock: joinVectors(a.clock, b.clock), entries: sortedEntries(entries) };
  },
  equals(a, b) {
    if (!sameVectors(a.clock, b.clock) || a.entries.size !== b.entries.size) return false;
    for (const [m, dots] of a.entries) {
      const other = b.entries.get(m);
      if (!other || other.length !== dots.length || other.some((d, i) => dotKey(d) !== dotKey(dots[i]!))) return false;
    }
    return true;
  },
  encode: (s) => seal("or-set", [vectorToPlain(s.clock), [...sortedEntries(s.entries)].map(([m, dots]) => [m, dots])]),
  decode: (bytes) => orSetFromPlain(unseal("or-set", bytes), "or-set state"),
};

function sortedEntries<V>(entries: ReadonlyMap<string, V>): Map<string, V> {
  return new Map([...entries].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
}

/** Reads an OR-Set's plain form. */
export function orSetFromPlain(data: unknown, where: string): OrSet {
  if (!Array.isArray(data) || data.length !== 2 || !Array.isArray(data[1])) throw new CorruptDataError(where, "expected [clock, entries]");
  const clock = vectorFromPlain(data[0], where);
  const entries = new Map<string, readonly Dot[]>();
  for (const entry of data[1] as unknown[]) {
    if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== "string" || !Array.isArray(entry[1])) {
      throw new CorruptDataError(where, "an entry must be [member, dots]");
    }
    const dots = (entry[1] as unknown[]).map((d) => dotFromPlain(d, where));
    if (dots.some((d) => !covers(clock, d))) throw new CorruptDataError(where, "a dot is newer than the clock");
    entries.set(entry[0], sortDots(dots));
  }
  return { clock, entries: sortedEntries(entries) };
}

/**
 * The members, sorted.
 *
 * @example
 * ```ts
 * orSetMembers(await sets.read("tags")); // ["admin", ...]
 * ```
 */
export function orSetMembers(state: OrSet): string[] {
  return [...state.entries.keys()];
}

/**
 * Prepares an add of `member` by `actor`: one new dot, fixed from the first read, so a retry
 * re-adds the same dot.
 *
 * @example
 * ```ts
 * const sets = new CrdtStore(node, orSetType, { actor: "web-1" });
 * await sets.update("tags", (first) => prepareAdd(first, "web-1", "admin"));
 * ```
 */
export function prepareAdd(first: OrSet, actor: string, member: string): PreparedUpdate<OrSet> {
  const dot: Dot = [actor, seen(first.clock, actor) + 1];
  return (s) => {
    // Seen already: this add was stored by an earlier try (and maybe removed since): leave it.
    if (covers(s.clock, dot)) return s;
    return { clock: withDot(s.clock, dot), entries: sortedEntries(new Map(s.entries).set(member, [dot])) };
  };
}

/**
 * Prepares a remove of `member`: the dots of it the state holds are dropped (observed-remove).
 *
 * @example
 * ```ts
 * await sets.update("tags", () => prepareRemove("admin"));
 * ```
 */
export function prepareRemove(member: string): PreparedUpdate<OrSet> {
  return (s) => {
    if (!s.entries.has(member)) return s;
    const entries = new Map(s.entries);
    entries.delete(member);
    return { clock: s.clock, entries };
  };
}

/**
 * Sets of strings stored under keys, with the causal context hidden. Add wins: an add
 * concurrent with a remove of the same member survives; a remove takes away only the adds it
 * had seen.
 *
 * @example
 * ```ts
 * const sets = new Sets(cluster.node("n1"), { actor: "web-1" });
 * await sets.add("cart:ada", "milk");
 * await sets.remove("cart:ada", "milk");
 * await sets.members("cart:ada"); // []
 * ```
 */
export class Sets {
  readonly #store: CrdtStore<OrSet>;

  /**
   * @param store the node or HTTP client requests go to
   * @param options the actor id (unique per writer), retries, and the session to run in
   */
  constructor(store: KeyValueStore, options: CrdtStoreOptions) {
    this.#store = new CrdtStore(store, orSetType, options);
  }

  /** Adds `member` to the set at `key`; returns the members after the add. */
  async add(key: string, member: string): Promise<string[]> {
    checkMember(member);
    return orSetMembers((await this.#store.update(key, (first) => prepareAdd(first, this.#store.actor, member))).state);
  }

  /** Removes `member` (the adds of it this read sees); returns the members after. */
  async remove(key: string, member: string): Promise<string[]> {
    checkMember(member);
    return orSetMembers((await this.#store.update(key, () => prepareRemove(member))).state);
  }

  /** The members of the set at `key`, sorted (none for a key never written). */
  async members(key: string): Promise<string[]> {
    return orSetMembers(await this.#store.read(key));
  }
}

function checkMember(member: unknown): asserts member is string {
  if (typeof member !== "string") throw new InvalidRequestError("a set member must be a string");
}
