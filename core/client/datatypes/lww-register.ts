/**
 * LWW-Register: one value, the last written wins, ordered by a Lamport timestamp and then the
 * actor id (Shapiro et al. 2011, §3.2.1), and the {@link Registers} client.
 *
 * @module
 */
import type { DataType } from "../../interfaces/data-type.ts";
import { CorruptDataError } from "../../errors.ts";
import { CrdtStore, type CrdtStoreOptions, type PreparedUpdate } from "../crdt-store.ts";
import type { KeyValueStore } from "../store-client.ts";
import { encode } from "../../codec/msgpack.ts";
import { bytesEqual } from "../../codec/bytes.ts";
import { assertPlainData, seal, unseal } from "./envelope.ts";

/**
 * A register's state. `stamp` is a Lamport timestamp: a write stamps one more than the highest
 * it read, so a write always wins over what its writer had seen; of two concurrent writes the
 * higher stamp wins, then the higher actor id. No wall clock is involved, so skew cannot make
 * an older write win over one its writer had read.
 */
export interface LwwRegister<T = unknown> {
  /** Lamport timestamp of the winning write (0: never written). */
  readonly stamp: number;
  /** Its writer. */
  readonly actor: string;
  /** The value (plain data: what MessagePack encodes), `null` when never written. */
  readonly value: T | null;
}

const wins = (a: LwwRegister, b: LwwRegister) => a.stamp > b.stamp || (a.stamp === b.stamp && a.actor > b.actor);

/** The LWW-Register data type. */
export const lwwRegisterType: DataType<LwwRegister> = {
  name: "lww-register",
  empty: () => ({ stamp: 0, actor: "", value: null }),
  // Equal stamp and actor mean the same write; a tie-break on the encoded value keeps join
  // commutative even for states no writer could produce.
  join: (a, b) => (wins(a, b) ? a : wins(b, a) ? b : compareEncoded(a.value, b.value) >= 0 ? a : b),
  equals: (a, b) => a.stamp === b.stamp && a.actor === b.actor && bytesEqual(encode(a.value), encode(b.value)),
  encode: (s) => seal("lww-register", [s.stamp, s.actor, s.value]),
  decode(bytes) {
    const plain = unseal("lww-register", bytes);
    if (!Array.isArray(plain) || plain.length !== 3) throw new CorruptDataError("lww-register state", "expected [stamp, actor, value]");
    const [stamp, actor, value] = plain as unknown[];
    if (typeof stamp !== "number" || !Number.isSafeInteger(stamp) || stamp < 0 || typeof actor !== "string") {
      throw new CorruptDataError("lww-register state", "bad stamp or actor");
    }
    return { stamp, actor, value: value ?? null };
  },
};

function compareEncoded(a: unknown, b: unknown): number {
  const x = encode(a);
  const y = encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

/**
 * Prepares a write of `value` by `actor`, stamped once from the first read.
 *
 * @throws {InvalidValueError} if `value` is not plain data (see {@link assertPlainData})
 *
 * @example
 * ```ts
 * const names = new CrdtStore(node, lwwRegisterType, { actor: "web-1" });
 * await names.update("user:ada:name", (first) => prepareAssign(first, "web-1", "Ada"));
 * ```
 */
export function prepareAssign<T>(first: LwwRegister, actor: string, value: T): PreparedUpdate<LwwRegister> {
  assertPlainData(value);
  const written: LwwRegister = { stamp: first.stamp + 1, actor, value };
  return (s) => lwwRegisterType.join(s, written);
}

/**
 * Registers stored under keys: `set` and `get`, the causal context hidden. Concurrent sets
 * keep one value, the same on every replica.
 *
 * @example
 * ```ts
 * const names = new Registers<string>(cluster.node("n1"), { actor: "web-1" });
 * await names.set("user:ada:name", "Ada");
 * await names.get("user:ada:name"); // "Ada"
 * ```
 */
export class Registers<T = unknown> {
  readonly #store: CrdtStore<LwwRegister>;

  /**
   * @param store the node or HTTP client requests go to
   * @param options the actor id (unique per writer), retries, and the session to run in
   */
  constructor(store: KeyValueStore, options: CrdtStoreOptions) {
    this.#store = new CrdtStore(store, lwwRegisterType, options);
  }

  /** Sets the register at `key` to `value` (plain data). */
  async set(key: string, value: T): Promise<void> {
    await this.#store.update(key, (first) => prepareAssign(first, this.#store.actor, value));
  }

  /** The register's value, or `undefined` if it was never set. */
  async get(key: string): Promise<T | undefined> {
    const state = await this.#store.read(key);
    return state.stamp === 0 ? undefined : (state.value as T);
  }
}
