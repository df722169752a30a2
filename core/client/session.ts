/**
 * Client sessions: read-your-writes and monotonic reads for a sequence of requests, whichever
 * nodes serve them (DDIA ch. 5, Terry et al., "Session Guarantees for Weakly Consistent
 * Replicated Data", 1994).
 *
 * @module
 */
import type { CausalContext } from "../model/causal-context.ts";
import { InvalidRequestError } from "../errors.ts";
import type { InvalidContextError, StaleReadError } from "../errors.ts";

/** Options of a {@link Session}. */
export interface SessionOptions {
  /**
   * Keys whose contexts the session remembers; past this, the least recently used key is
   * forgotten, and its guarantees with it (reported to `onForget`). Default 10,000.
   */
  readonly maxKeys?: number;
  /**
   * Called whenever the session loses guarantees to stay within a bound: `"max-keys"` when it
   * forgets the least recently used key (`contexts`: what it held for it), `"token-limit"` when
   * a key's contexts did not all fit the HTTP API's session token and the oldest were left out
   * (`contexts`: how many). Reads of `key` may then return what those contexts had ruled out.
   */
  readonly onForget?: (key: string, reason: "max-keys" | "token-limit", contexts: number) => void;
}

/**
 * What one client has seen and written, per key: the causal contexts of its acknowledged
 * writes and of its reads. Pass it to `get`, `put` and `delete` (option `session`) and a read
 * never returns less than the session already saw or wrote: a reply older than that is stale,
 * so the coordinator asks every replica, and fails with {@link StaleReadError} rather than
 * answer with the past.
 *
 * A session holds only opaque contexts, so one session can span every node of a store, in
 * process or over HTTP (pass it to `RingforgeClient`, which sends each request's key's
 * contexts in the `Ringforge-Session` header). It belongs to one store: a session used with a store of another resolver fails with
 * {@link InvalidContextError} before anything is written, but two stores with the same resolver
 * cannot tell each other's contexts apart, so never share a session between stores. Nor is it
 * for concurrent requests of different clients: a session is one client's sequence of
 * operations.
 *
 * @example
 * ```ts
 * const session = new Session();
 * await cluster.node("n1").put("cart", encodeText("milk"), { session });
 * // Read-your-writes: n3 answers with "milk" or later, or fails with StaleReadError.
 * const { values } = await cluster.node("n3").get("cart", { session, r: 1 });
 * ```
 */
export class Session {
  readonly #maxKeys: number;
  readonly #onForget: SessionOptions["onForget"];
  /** Per key, contexts none of which covers another (insertion order = recency). */
  readonly #contexts = new Map<string, readonly CausalContext[]>();

  /** @param options how many keys to remember, and who to tell when one is forgotten */
  constructor(options: SessionOptions = {}) {
    const maxKeys = options.maxKeys ?? 10_000;
    if (!Number.isInteger(maxKeys) || maxKeys < 1) {
      throw new InvalidRequestError(`a session's maxKeys must be a positive integer, got ${maxKeys}`, { maxKeys });
    }
    this.#maxKeys = maxKeys;
    this.#onForget = options.onForget;
  }

  /** The contexts a read of `key` must cover (empty: no requirement yet). */
  contexts(key: string): readonly CausalContext[] {
    return this.#contexts.get(key) ?? [];
  }

  /**
   * Replaces what the session requires of `key` (called by the node after each operation,
   * with the contexts that are not covered by a newer one, and by the HTTP client with the
   * contexts a node answered with).
   *
   * @param forgotten contexts of the key the caller left out to stay within a bound (the
   *   HTTP API's session token), reported to `onForget`
   */
  remember(key: string, contexts: readonly CausalContext[], forgotten = 0): void {
    this.#contexts.delete(key);
    this.#contexts.set(key, contexts);
    if (forgotten > 0) this.#onForget?.(key, "token-limit", forgotten);
    if (this.#contexts.size > this.#maxKeys) {
      const [oldest, held] = this.#contexts.entries().next().value!;
      this.#contexts.delete(oldest);
      this.#onForget?.(oldest, "max-keys", held.length);
    }
  }

  /** Forgets `key`: the next read of it may return anything the store holds. */
  forget(key: string): void {
    this.#contexts.delete(key);
  }

  /** Keys the session holds contexts for. */
  get size(): number {
    return this.#contexts.size;
  }
}
