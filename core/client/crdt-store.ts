/**
 * Keys whose values are CRDT states: reads join the siblings, updates are read-modify-writes
 * made safe to retry.
 *
 * @module
 */
import type { DataType } from "../interfaces/data-type.ts";
import type { CausalContext } from "../model/causal-context.ts";
import { InvalidRequestError, RetriesExhaustedError } from "../errors.ts";
import { KeyedMutex } from "../node/keyed-mutex.ts";
import { type KeyValueStore, type ReadOptions, StoreClient, type UpdateOptions } from "./store-client.ts";
import type { Session } from "./session.ts";

/** Options of a {@link CrdtStore}. */
export interface CrdtStoreOptions {
  /**
   * This writer's actor id, stored in the states it updates (a counter keeps one entry per
   * actor). Must be unique among concurrent writers: two writers sharing one can lose each
   * other's updates. Stable ids keep states small; a fresh id per process is safe but grows them.
   */
  readonly actor: string;
  /** Tries of each update; default 3. */
  readonly maxTries?: number;
  /**
   * The session every read and update runs in: a read then contains every update this writer
   * made and every state it read before, whichever node serves it (in process, or over HTTP
   * with `RingforgeClient`), or fails with `StaleReadError` (an update retries it). See
   * {@link Session}.
   */
  readonly session?: Session;
}

/** What {@link CrdtStore.update} returns. */
export interface CrdtUpdateResult<S> {
  /** The state written. */
  readonly state: S;
  /** The key's context after the write. */
  readonly context: CausalContext;
}

/**
 * One update, prepared once from the first read and then applied to each try's state. The
 * first read fixes what the update means (the counter's new total for this actor, the add's
 * dot), so applying it again after a try whose write failed but was stored does not count it
 * twice.
 */
export type PreparedUpdate<S> = (state: S) => S;

/**
 * Keys holding states of one {@link DataType}. Siblings are joined on every read, so readers see
 * one state that contains every acknowledged update; the causal context never shows.
 *
 * Updates from one `CrdtStore` to one key run one at a time (an actor's updates must not race
 * each other); different keys run in parallel.
 *
 * @example
 * ```ts
 * const counters = new CrdtStore(cluster.node("n1"), pnCounterType, { actor: "web-1" });
 * await counters.update("likes", (first) => incrementBy(first, "web-1", 5));
 * pnCounterValue(await counters.read("likes")); // 5
 * ```
 */
export class CrdtStore<S> {
  /** The data type of every key. */
  readonly type: DataType<S>;
  /** This writer's actor id. */
  readonly actor: string;
  readonly #client: StoreClient<S>;
  readonly #locks = new KeyedMutex();
  /**
   * Per key, the state of this writer's last update whose tries all failed in transit (timeouts,
   * lost quorums): it may have been stored on some replica, so the next update of the key starts from it (joined with what it
   * reads). Otherwise a later read that misses it could reuse its dot or its counter total, and
   * an acknowledged update would vanish into the unacknowledged one.
   */
  readonly #pending = new Map<string, S>();

  /**
   * @param store the node or HTTP client requests go to
   * @param type the data type of every key
   * @param options the actor id, retries, and the session to run in
   */
  constructor(store: KeyValueStore, type: DataType<S>, options: CrdtStoreOptions) {
    if (typeof options.actor !== "string" || options.actor.length === 0) {
      throw new InvalidRequestError("a CRDT writer needs a non-empty actor id");
    }
    this.type = type;
    this.actor = options.actor;
    this.#client = new StoreClient(store, {
      codec: type,
      merge: (states) => states.reduce((a, b) => type.join(a, b), type.empty()),
      ...(options.maxTries === undefined ? {} : { maxTries: options.maxTries }),
      ...(options.session === undefined ? {} : { session: options.session }),
    });
  }

  /** The key's state: its siblings joined (the empty state for a missing key). */
  async read(key: string, options: ReadOptions = {}): Promise<S> {
    return (await this.#client.get(key, options)).value ?? this.type.empty();
  }

  /**
   * Applies one update. `prepare` is called once, with the state of the first read, and returns
   * the update to apply to each try's state (retries after a timeout or a lost quorum re-read
   * the key). The written state is the read's siblings joined, then updated: it supersedes them.
   *
   * @returns the state written and the key's context after the write
   * @throws {RetriesExhaustedError} after the client's tries all failed
   */
  async update(
    key: string,
    prepare: (first: S) => PreparedUpdate<S>,
    options: UpdateOptions = {},
  ): Promise<CrdtUpdateResult<S>> {
    return this.#locks.run(key, async () => {
      let apply: PreparedUpdate<S> | undefined;
      let attempted: S | undefined;
      try {
        const result = await this.#client.update(
          key,
          (current) => {
            let state = current ?? this.type.empty();
            const pending = this.#pending.get(key);
            if (pending) state = this.type.join(state, pending);
            apply ??= prepare(state);
            // Written even when it changes nothing: the state read may sit on fewer than W
            // replicas (a failed earlier try), and the acknowledgement must mean W copies.
            attempted = apply(state);
            return attempted;
          },
          options,
        );
        this.#pending.delete(key);
        return { state: result.value ?? this.type.empty(), context: result.context };
      } catch (error) {
        // Only a write that failed after being sent may have been stored; a refused one
        // (bad value, sibling limit) was not, and must not follow the key's next update.
        if (attempted !== undefined && error instanceof RetriesExhaustedError) this.#pending.set(key, attempted);
        throw error;
      }
    });
  }
}
