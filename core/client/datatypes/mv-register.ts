/**
 * MV-Register: a multi-value register that keeps every concurrent write (Shapiro et al. 2011,
 * §3.2.2), in the dotted form of the OR-Set, and the {@link MultiRegisters} client.
 *
 * @module
 */
import type { DataType } from "../../interfaces/data-type.ts";
import { CorruptDataError } from "../../errors.ts";
import { CrdtStore, type CrdtStoreOptions, type PreparedUpdate } from "../crdt-store.ts";
import type { KeyValueStore } from "../store-client.ts";
import { encode } from "../../codec/msgpack.ts";
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
import { joinDots } from "./or-set.ts";
import { assertPlainData, seal, unseal } from "./envelope.ts";
import { bytesEqual } from "../../codec/bytes.ts";

/** The register: the values of the writes no other write has seen, each with its dot. */
export interface MvRegister<T = unknown> {
  /** Every write this state has seen. */
  readonly clock: VersionVector;
  /** Concurrent values, sorted by dot. */
  readonly entries: readonly (readonly [dot: Dot, value: T])[];
}

const key = ([actor, n]: Dot) => `${n}@${actor}`;

/** The MV-Register data type. */
export const mvRegisterType: DataType<MvRegister> = {
  name: "mv-register",
  empty: () => ({ clock: new Map(), entries: [] }),
  join(a, b) {
    const values = new Map<string, unknown>();
    for (const [d, v] of [...a.entries, ...b.entries]) values.set(key(d), v);
    const dots = joinDots(
      a.entries.map(([d]) => d),
      a.clock,
      b.entries.map(([d]) => d),
      b.clock,
    );
    return { clock: joinVectors(a.clock, b.clock), entries: dots.map((d) => [d, values.get(key(d))] as const) };
  },
  equals: (a, b) =>
    sameVectors(a.clock, b.clock) &&
    a.entries.length === b.entries.length &&
    a.entries.every(([d, v], i) => key(d) === key(b.entries[i]![0]) && bytesEqual(encode(v), encode(b.entries[i]![1]))),
  encode: (s) => seal("mv-register", [vectorToPlain(s.clock), s.entries.map(([d, v]) => [d, v])]),
  decode(bytes) {
    const plain = unseal("mv-register", bytes);
    const where = "mv-register state";
    if (!Array.isArray(plain) || plain.length !== 2 || !Array.isArray(plain[1])) {
      throw new CorruptDataError(where, "expected [clock, entries]");
    }
    const clock = vectorFromPlain(plain[0], where);
    const entries = (plain[1] as unknown[]).map((e) => {
      if (!Array.isArray(e) || e.length !== 2) throw new CorruptDataError(where, "an entry must be [dot, value]");
      const d = dotFromPlain(e[0], where);
      if (!covers(clock, d)) throw new CorruptDataError(where, "a dot is newer than the clock");
      return [d, e[1]] as const;
    });
    const sorted = sortDots(entries.map(([d]) => d)).map(key);
    if (entries.some(([d], i) => key(d) !== sorted[i])) throw new CorruptDataError(where, "entries out of order");
    return { clock, entries };
  },
};

/**
 * The register's values: one, or several after concurrent writes (none if never written).
 *
 * @example
 * ```ts
 * mvRegisterValues(await titles.read("doc:1:title")); // ["Draft"]
 * ```
 */
export function mvRegisterValues<T>(state: MvRegister<T>): T[] {
  return state.entries.map(([, v]) => v);
}

/**
 * Prepares a write of `value` by `actor`: a new dot, fixed from the first read; the write
 * replaces every value the state holds when it is applied.
 *
 * @example
 * ```ts
 * const titles = new CrdtStore(node, mvRegisterType, { actor: "web-1" });
 * await titles.update("doc:1:title", (first) => prepareWrite(first, "web-1", "Draft"));
 * ```
 */
export function prepareWrite<T>(first: MvRegister, actor: string, value: T): PreparedUpdate<MvRegister> {
  assertPlainData(value);
  const dot: Dot = [actor, seen(first.clock, actor) + 1];
  return (s) => (covers(s.clock, dot) ? s : { clock: withDot(s.clock, dot), entries: [[dot, value]] });
}

/**
 * Multi-value registers stored under keys: `set` replaces the values it read; `get` returns
 * every value written concurrently (DDIA's siblings, but inside one CRDT state).
 *
 * @example
 * ```ts
 * const titles = new MultiRegisters<string>(cluster.node("n1"), { actor: "web-1" });
 * await titles.set("doc:1:title", "Draft");
 * await titles.get("doc:1:title"); // ["Draft"]
 * ```
 */
export class MultiRegisters<T = unknown> {
  readonly #store: CrdtStore<MvRegister>;

  /**
   * @param store the node or HTTP client requests go to
   * @param options the actor id (unique per writer), retries, and the session to run in
   */
  constructor(store: KeyValueStore, options: CrdtStoreOptions) {
    this.#store = new CrdtStore(store, mvRegisterType, options);
  }

  /** Sets the register at `key` to `value` (plain data), replacing the values it read. */
  async set(key: string, value: T): Promise<void> {
    await this.#store.update(key, (first) => prepareWrite(first, this.#store.actor, value));
  }

  /** The register's concurrent values (none if never set). */
  async get(key: string): Promise<T[]> {
    return mvRegisterValues(await this.#store.read(key)) as T[];
  }
}
