/**
 * A typed client over any node or HTTP client: values through a codec, siblings merged by the
 * application's function, and read-modify-write with retries.
 *
 * @module
 */
import { CorruptDataError, InvalidRequestError, InvalidValueError, RetriesExhaustedError, RingforgeError } from "../errors.ts";
import { decodeText, encodeText } from "../codec/bytes.ts";
import type { CausalContext } from "../model/causal-context.ts";
import type { Session } from "./session.ts";

/**
 * What a {@link StoreClient} needs of a store: a node in process (`RingforgeNode`) or the HTTP
 * client (`RingforgeClient`) both fit.
 */
export interface KeyValueStore {
  /** Reads the live values of a key and its context. */
  get(key: string, options?: ReadOptions): Promise<StoredValues>;
  /** Writes a value, superseding what `context` read. */
  put(key: string, value: Uint8Array, options?: WriteOptions): Promise<WriteResult>;
  /** Writes a tombstone, superseding what `context` read. */
  delete(key: string, options?: WriteOptions): Promise<WriteResult>;
}

/** Options of a read through a {@link KeyValueStore}. */
export interface ReadOptions {
  /** Replies to wait for. */
  readonly r?: number;
  /** Time limit, ms. */
  readonly timeoutMs?: number;
  /** Read-your-writes and monotonic reads (see {@link Session}); a client's own session by default. */
  readonly session?: Session;
}

/** What a {@link KeyValueStore} read returns. */
export interface StoredValues {
  /** The live siblings' bytes. */
  readonly values: Uint8Array[];
  /** The read's causal context. */
  readonly context: CausalContext;
}

/** What a {@link KeyValueStore} write returns. */
export interface WriteResult {
  /** The key's context after the write. */
  readonly context: CausalContext;
}

/** Options of a write through a {@link KeyValueStore}. */
export interface WriteOptions {
  /** The context of the read the write is based on. */
  readonly context?: CausalContext;
  /** Acknowledgements to wait for. */
  readonly w?: number;
  /** Time limit, ms. */
  readonly timeoutMs?: number;
  /** The session the write belongs to (see {@link Session}); a client's own session by default. */
  readonly session?: Session;
}

/** Turns application values into stored bytes and back. */
export interface ValueCodec<T> {
  /** Encodes a value for storage. */
  encode(value: T): Uint8Array;
  /**
   * Decodes stored bytes.
   * @throws anything on bytes it cannot read (reported as {@link CorruptDataError})
   */
  decode(bytes: Uint8Array): T;
}

/** Values as raw bytes. */
export const bytesCodec: ValueCodec<Uint8Array> = { encode: (v) => v, decode: (b) => b };

/** Values as UTF-8 text. */
export const textCodec: ValueCodec<string> = { encode: encodeText, decode: decodeText };

/**
 * Values as JSON text (the type is the caller's promise; validate after reading if it matters).
 * A value JSON cannot represent (`undefined`, a function, a symbol) is refused with
 * {@link InvalidValueError}.
 *
 * @example
 * ```ts
 * const profiles = new StoreClient(node, { codec: jsonCodec<{ name: string }>() });
 * await profiles.put("user:ada", { name: "Ada" });
 * ```
 */
export function jsonCodec<T>(): ValueCodec<T> {
  return {
    encode: (v) => {
      const text = JSON.stringify(v) as string | undefined;
      if (text === undefined) throw new InvalidValueError("not-encodable");
      return encodeText(text);
    },
    decode: (b) => JSON.parse(decodeText(b)) as T,
  };
}

/** Returned by an update function to delete the key. */
export const DELETE: unique symbol = Symbol("ringforge.delete");

/** What {@link StoreClient.get} returns. */
export interface Read<T> {
  /**
   * The value: the only sibling, or the siblings merged by the client's `merge`. Undefined if
   * the key is missing or deleted, or if it has several siblings and the client has no merge.
   */
  readonly value: T | undefined;
  /** Every live sibling, decoded (several after concurrent writes). */
  readonly siblings: readonly T[];
  /** Pass it to the next write so the write supersedes every sibling read. */
  readonly context: CausalContext;
}

/** What {@link StoreClient.update} returns. */
export interface UpdateResult<T> {
  /**
   * The value written; `undefined` if the function deleted the key. When the function returned
   * `undefined` (`written: false`), the value read.
   */
  readonly value: T | undefined;
  /** The key's context after the write (or after the read, if nothing was written). */
  readonly context: CausalContext;
  /** False if the update function returned `undefined`: nothing was written. */
  readonly written: boolean;
  /** Tries it took (1 when the first succeeded). */
  readonly tries: number;
}

/** Options of {@link StoreClient.update}. */
export interface UpdateOptions {
  /** Tries before giving up with {@link RetriesExhaustedError}; default the client's (3). */
  readonly maxTries?: number;
  /** Time limit of each read and write, ms. */
  readonly timeoutMs?: number;
  /** The session of the update's reads and write; the client's own by default. */
  readonly session?: Session;
}

/** Options of a {@link StoreClient}. */
export interface StoreClientOptions<T> {
  /** How values are stored; default raw bytes. */
  readonly codec?: ValueCodec<T>;
  /**
   * Merges siblings into one value (the application's conflict resolution, as in Riak's
   * client-side resolution or Voldemort's `InconsistencyResolver`). Must be deterministic and
   * should be commutative, associative and idempotent, or readers disagree on the merged value.
   */
  readonly merge?: (siblings: readonly T[]) => T;
  /** Default tries of {@link StoreClient.update}: 3. */
  readonly maxTries?: number;
  /**
   * The session every request of this client runs in, unless a call passes its own: its reads
   * then see its own writes and never go back in time, whichever node (in process, or over
   * HTTP with `RingforgeClient`) serves each request. See {@link Session}.
   */
  readonly session?: Session;
}

/** Errors after which a read-modify-write may be tried again from a fresh read. */
const RETRYABLE = new Set([
  "RINGFORGE_TIMEOUT",
  "RINGFORGE_QUORUM_NOT_REACHED",
  "RINGFORGE_UNREACHABLE",
  "RINGFORGE_OVERLOADED",
  "RINGFORGE_CONNECTION_LOST",
  "RINGFORGE_STALE_READ",
  "RINGFORGE_NOT_RUNNING",
]);

/**
 * A typed view of a store with the application's merge: readers get one value, and
 * {@link update} runs a read-modify-write that supersedes what it read.
 *
 * @example
 * ```ts
 * const carts = new StoreClient(cluster.node("n1"), {
 *   codec: jsonCodec<string[]>(),
 *   merge: (siblings) => [...new Set(siblings.flat())].sort(), // union, DDIA's shopping cart
 * });
 * await carts.update("cart:ada", (items = []) => [...items, "milk"]);
 * const { value } = await carts.get("cart:ada"); // one merged cart, whatever the siblings
 *
 * // Read-your-writes across node processes: each request may go to another node.
 * const profiles = new StoreClient(new RingforgeClient(url), { codec: jsonCodec(), session: new Session() });
 * ```
 */
export class StoreClient<T = Uint8Array> {
  readonly #store: KeyValueStore;
  readonly #codec: ValueCodec<T>;
  readonly #merge: ((siblings: readonly T[]) => T) | undefined;
  readonly #maxTries: number;
  readonly #session: Session | undefined;

  /**
   * @param store the node or HTTP client requests go to
   * @param options codec, merge function, retries, session
   */
  constructor(store: KeyValueStore, options: StoreClientOptions<T> = {}) {
    this.#store = store;
    this.#codec = options.codec ?? (bytesCodec as unknown as ValueCodec<T>);
    this.#merge = options.merge;
    this.#maxTries = checkTries(options.maxTries ?? 3);
    this.#session = options.session;
  }

  /** The session this client's requests run in by default, if any. */
  get session(): Session | undefined {
    return this.#session;
  }

  /**
   * Reads a key and merges its siblings.
   *
   * @throws {CorruptDataError} if a stored value does not decode with the client's codec
   */
  async get(key: string, options: ReadOptions = {}): Promise<Read<T>> {
    const { values, context } = await this.#store.get(key, this.#inSession(options));
    const siblings = values.map((v) => this.#decode(key, v));
    return { value: this.#resolve(siblings), siblings, context };
  }

  /** Writes a value; pass the `context` of the read it is based on. */
  async put(key: string, value: T, options: WriteOptions = {}): Promise<WriteResult> {
    return this.#store.put(key, this.#codec.encode(value), this.#inSession(options));
  }

  /** Deletes a key; pass the `context` of the read it is based on. */
  async delete(key: string, options: WriteOptions = {}): Promise<WriteResult> {
    return this.#store.delete(key, this.#inSession(options));
  }

  /**
   * Read-modify-write: reads the key, merges its siblings, applies `change`, and writes the
   * result back with the read's context, so it supersedes every sibling it read. `change`
   * returns the new value, {@link DELETE}, or `undefined` to write nothing.
   *
   * A try that fails with a timeout, a quorum not reached, an unreachable or overloaded node or
   * a stale read starts again from a fresh read, up to `maxTries`. A failed write may still
   * have been stored, so `change` can see its own earlier try: write it so that applying it
   * twice does no harm ("the cart contains milk", not "one more milk").
   *
   * @throws {InvalidRequestError} if the key has several siblings and the client has no merge
   * @throws {RetriesExhaustedError} after `maxTries` retryable failures
   */
  async update(
    key: string,
    change: (current: T | undefined, read: Read<T>) => T | typeof DELETE | undefined,
    options: UpdateOptions = {},
  ): Promise<UpdateResult<T>> {
    const maxTries = checkTries(options.maxTries ?? this.#maxTries);
    // Each read and write of every try: the time limit, and the call's session if it names one.
    const each = {
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      ...(options.session === undefined ? {} : { session: options.session }),
    };
    for (let tries = 1;; tries++) {
      try {
        const read = await this.get(key, each);
        if (read.siblings.length > 1 && !this.#merge) {
          throw new InvalidRequestError(
            `key "${key}" has ${read.siblings.length} siblings and this client has no merge function to combine them`,
            { key, siblings: read.siblings.length },
          );
        }
        const next = change(read.value, read);
        if (next === undefined) return { value: read.value, context: read.context, written: false, tries };
        const write = { ...each, context: read.context };
        if (next === DELETE) return { value: undefined, context: (await this.delete(key, write)).context, written: true, tries };
        return { value: next, context: (await this.put(key, next, write)).context, written: true, tries };
      } catch (error) {
        if (!(error instanceof RingforgeError) || !RETRYABLE.has(error.code)) throw error;
        if (tries >= maxTries) throw new RetriesExhaustedError(key, tries, error);
      }
    }
  }

  /** `options` with the client's session, unless they name one. */
  #inSession<O extends { readonly session?: Session }>(options: O): O {
    return this.#session === undefined || options.session !== undefined ? options : { ...options, session: this.#session };
  }

  #resolve(siblings: readonly T[]): T | undefined {
    if (siblings.length <= 1) return siblings[0];
    return this.#merge?.(siblings);
  }

  #decode(key: string, bytes: Uint8Array): T {
    try {
      return this.#codec.decode(bytes);
    } catch (error) {
      throw new CorruptDataError(
        `value of key "${key}"`,
        `the client's codec cannot decode it: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
}

function checkTries(tries: number): number {
  if (!Number.isInteger(tries) || tries < 1) throw new InvalidRequestError(`maxTries must be a positive integer, got ${tries}`);
  return tries;
}
