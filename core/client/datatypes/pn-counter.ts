/**
 * PN-Counter: a counter that goes up and down, as two G-Counters (Shapiro et al. 2011, §3.1.2),
 * and the {@link Counters} client (`counters.increment(key, 5)`).
 *
 * @module
 */
import type { DataType } from "../../interfaces/data-type.ts";
import { CorruptDataError, InvalidRequestError } from "../../errors.ts";
import { CrdtStore, type CrdtStoreOptions, type PreparedUpdate } from "../crdt-store.ts";
import type { KeyValueStore } from "../store-client.ts";
import { type GCounter, gCounterFromPlain, gCounterType, gCounterValue, raiseTo } from "./g-counter.ts";
import { seen, vectorToPlain } from "./causal.ts";
import { seal, unseal } from "./envelope.ts";

/** Increments and decrements, each a G-Counter. */
export interface PnCounter {
  /** Per actor, the total of its increments. */
  readonly p: GCounter;
  /** Per actor, the total of its decrements. */
  readonly n: GCounter;
}

/** The PN-Counter data type: both halves join as G-Counters. */
export const pnCounterType: DataType<PnCounter> = {
  name: "pn-counter",
  empty: () => ({ p: new Map(), n: new Map() }),
  join: (a, b) => ({ p: gCounterType.join(a.p, b.p), n: gCounterType.join(a.n, b.n) }),
  equals: (a, b) => gCounterType.equals(a.p, b.p) && gCounterType.equals(a.n, b.n),
  encode: (s) => seal("pn-counter", [vectorToPlain(s.p), vectorToPlain(s.n)]),
  decode: (bytes) => pnCounterFromPlain(unseal("pn-counter", bytes), "pn-counter state"),
};

/** Reads a PN-Counter's plain form. */
export function pnCounterFromPlain(data: unknown, where: string): PnCounter {
  if (!Array.isArray(data) || data.length !== 2) throw new CorruptDataError(where, "expected [increments, decrements]");
  return { p: gCounterFromPlain(data[0], where), n: gCounterFromPlain(data[1], where) };
}

/**
 * The counter's value.
 *
 * @example
 * ```ts
 * pnCounterValue(await counters.read("likes")); // 5
 * ```
 */
export function pnCounterValue(state: PnCounter): number {
  return gCounterValue(state.p) - gCounterValue(state.n);
}

/** One actor's totals in a {@link PnCounter}. */
export interface ActorTotals {
  /** The sum of its increments. */
  readonly up: number;
  /** The sum of its decrements. */
  readonly down: number;
}

/** Per-actor totals, for checking which updates a state contains. */
export function pnCounterTotals(state: PnCounter, actor: string): ActorTotals {
  return { up: seen(state.p, actor), down: seen(state.n, actor) };
}

/**
 * Prepares adding `by` to `actor`'s increments (`"up"`) or decrements (`"down"`): the new total
 * is fixed from the first read, so applying it again counts it once.
 *
 * @example
 * ```ts
 * const counters = new CrdtStore(node, pnCounterType, { actor: "web-1" });
 * await counters.update("likes", (first) => prepareChange(first, "web-1", "up", 5));
 * ```
 */
export function prepareChange(first: PnCounter, actor: string, half: "up" | "down", by: number): PreparedUpdate<PnCounter> {
  const target = pnCounterTotals(first, actor)[half] + by;
  if (!Number.isSafeInteger(target)) {
    throw new InvalidRequestError(`the counter's ${half === "up" ? "increments" : "decrements"} by ${actor} would pass 2^53`, { by });
  }
  return (s) => (half === "up" ? { p: raiseTo(s.p, actor, target), n: s.n } : { p: s.p, n: raiseTo(s.n, actor, target) });
}

/**
 * Counters stored under keys, with the causal context hidden: `increment`, `decrement`,
 * `value`. Concurrent updates from different actors all count, on any resolver that keeps
 * concurrent writes (with last-write-wins, concurrent increments are lost: the lab shows it).
 *
 * @example
 * ```ts
 * const counters = new Counters(cluster.node("n1"), { actor: "web-1" });
 * await counters.increment("page:home", 5);
 * await counters.decrement("page:home");
 * await counters.value("page:home"); // 4
 * ```
 */
export class Counters {
  readonly #store: CrdtStore<PnCounter>;

  /**
   * @param store the node or HTTP client requests go to
   * @param options the actor id (unique per writer), retries, and the session to run in
   */
  constructor(store: KeyValueStore, options: CrdtStoreOptions) {
    this.#store = new CrdtStore(store, pnCounterType, options);
  }

  /** Adds `by` (a positive integer, default 1) to the counter at `key`; returns the new value. */
  increment(key: string, by = 1): Promise<number> {
    return this.#change(key, "up", by);
  }

  /** Subtracts `by` (a positive integer, default 1) from the counter at `key`; returns the new value. */
  decrement(key: string, by = 1): Promise<number> {
    return this.#change(key, "down", by);
  }

  /** The counter's value (0 for a key never written). */
  async value(key: string): Promise<number> {
    return pnCounterValue(await this.#store.read(key));
  }

  /** The counter's state: every actor's totals (for checking and inspection). */
  state(key: string): Promise<PnCounter> {
    return this.#store.read(key);
  }

  async #change(key: string, half: "up" | "down", by: number): Promise<number> {
    if (!Number.isSafeInteger(by) || by < 1) throw new InvalidRequestError(`a counter changes by a positive integer, got ${by}`);
    const { state } = await this.#store.update(key, (first) => prepareChange(first, this.#store.actor, half, by));
    return pnCounterValue(state);
  }
}
