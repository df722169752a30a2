/**
 * A typed client for a node's HTTP API (web-standard `fetch`: Node, Deno, browsers).
 *
 * @module
 */
import { errorFromWire, InvalidConfigError, RingforgeError } from "../core/errors.ts";
import { encodeText } from "../core/codec/bytes.ts";
import type { CausalContext } from "../core/model/causal-context.ts";
import type { Consistency } from "../core/model/settings.ts";
import { classifyFetchFailure, UnreachableUrlError } from "./fetch-failure.ts";
import { decodeSessionToken, encodeSessionToken, SESSION_FORGOTTEN_HEADER, SESSION_HEADER, type SessionContexts } from "./session-token.ts";
import type { ClockSetting, ClockStatus, ClusterStatus, NodeStatus } from "./node-status.ts";

/** The header carrying the causal context (see the server's API). */
const CONTEXT_HEADER = "X-Ringforge-Context";

/** Options of a {@link RingforgeClient}. */
export interface ClientOptions {
  /** Bearer token, if the node requires one. */
  readonly token?: string;
  /** The fetch to use (default: the global one). */
  readonly fetch?: typeof fetch;
}

/** Options of {@link RingforgeClient.get}. */
export interface ClientGetOptions {
  /** Replies to wait for (1..N); default the store's R. */
  readonly r?: number;
  /** Time limit in ms; default the store's request timeout. */
  readonly timeoutMs?: number;
  /**
   * Read-your-writes and monotonic reads, whichever node answers: the read returns at least
   * what this session already saw or wrote of the key, or fails with `StaleReadError`; the
   * session then remembers what it returned. A `Session` from `ringforge`.
   */
  readonly session?: SessionContexts;
  /** `linearizable` reads through the store's consensus; or a quorum level; default the store's. */
  readonly consistency?: Consistency;
}

/** Options of {@link RingforgeClient.put} and {@link RingforgeClient.delete}. */
export interface ClientWriteOptions {
  /** The context of the read the write is based on; omit for a blind write. */
  readonly context?: CausalContext;
  /** Acknowledgements to wait for (1..N); default the store's W. */
  readonly w?: number;
  /** Time limit in ms; default the store's request timeout. */
  readonly timeoutMs?: number;
  /** The client's session: once acknowledged, its reads through any node see this write. */
  readonly session?: SessionContexts;
  /** `linearizable` writes through the store's consensus; or a quorum level; default the store's. */
  readonly consistency?: Consistency;
  /**
   * Compare-and-set (`If-Match`): write only if the key is still at this version (the `context`
   * of a read), else fail with `PreconditionFailedError` (412) carrying the current version.
   */
  readonly ifMatch?: CausalContext;
  /** Create-if-absent (`If-None-Match: *`): write only if the key has no value. */
  readonly ifAbsent?: boolean;
}

/** What {@link RingforgeClient.get} returns. */
export interface ClientGetResult {
  /** Live values: none (missing or deleted), one, or several concurrent siblings. */
  readonly values: Uint8Array[];
  /** Pass it to the next write of the key so that write supersedes what was read. */
  readonly context: CausalContext;
}

/** What a write returns. */
export interface ClientPutResult {
  /** The key's context after the write. */
  readonly context: CausalContext;
}

/** A replica's own record of a key (`/admin/local`). */
export interface LocalRecord {
  /** The node answering. */
  readonly node: string;
  /** Its siblings: values base64-decoded, tombstones as `null`. */
  readonly siblings: (Uint8Array | null)[];
}

/**
 * Talks to one node's client API. Every node coordinates any request, so one URL is enough;
 * give several clients several URLs to spread load or survive a node going down.
 *
 * @example
 * ```ts
 * const client = new RingforgeClient("http://127.0.0.1:8001");
 * await client.put("cart:ada", encodeText("milk"));
 * const { values, context } = await client.get("cart:ada");
 * await client.put("cart:ada", encodeText("milk,eggs"), { context });
 *
 * // Read-your-writes across nodes: one session, requests to any node.
 * const session = new Session();
 * await client.put("cart:ada", encodeText("milk"), { session });
 * await new RingforgeClient("http://127.0.0.1:8002").get("cart:ada", { session, r: 1 }); // "milk" or later
 * ```
 */
export class RingforgeClient {
  readonly #base: string;
  readonly #fetch: typeof fetch;
  readonly #headers: Record<string, string>;

  /**
   * @param url the node's client URL, e.g. `http://127.0.0.1:8001`
   * @throws {InvalidConfigError} when `url` is not an `http://` or `https://` URL
   */
  constructor(url: string, options: ClientOptions = {}) {
    // Checked here: without a scheme, fetch would fail on every request with a parser error.
    if (!/^https?:\/\//i.test(url) || !URL.canParse(url)) {
      throw new InvalidConfigError([{ path: "url", message: `must start with http:// or https:// (got "${url}")` }]);
    }
    this.#base = url.replace(/\/+$/, "");
    this.#fetch = options.fetch ?? fetch;
    this.#headers = options.token ? { Authorization: `Bearer ${options.token}` } : {};
  }

  /** The node's URL. */
  get url(): string {
    return this.#base;
  }

  /**
   * Reads a key (R replicas, or `r`).
   *
   * @throws {RingforgeError} with the node's code (`RINGFORGE_QUORUM_NOT_REACHED`,
   *   `RINGFORGE_STALE_READ` in a session, ...), or {@link UnreachableUrlError} when no HTTP
   *   answer came back (every method)
   */
  async get(key: string, options: ClientGetOptions = {}): Promise<ClientGetResult> {
    const sent = sendSession(key, options.session);
    const query = { r: options.r, timeout: options.timeoutMs, consistency: options.consistency };
    const response = await this.#request("GET", this.#kv(key, query), undefined, sent?.headers);
    this.#followSession(key, sent, response);
    const context = (response.headers.get(CONTEXT_HEADER) ?? "") as CausalContext;
    if (response.status === 404) {
      await response.body?.cancel();
      return { values: [], context };
    }
    if (response.status === 300) {
      const body = (await response.json()) as { siblings: { value: string }[] };
      return { values: body.siblings.map((s) => fromBase64(s.value)), context };
    }
    return { values: [new Uint8Array(await response.arrayBuffer())], context };
  }

  /** Writes a value; pass the `context` of the read it is based on. */
  async put(key: string, value: Uint8Array, options: ClientWriteOptions = {}): Promise<ClientPutResult> {
    return this.#write("PUT", key, value, options);
  }

  /** Deletes a key (writes a tombstone); pass the `context` of the read it is based on. */
  async delete(key: string, options: ClientWriteOptions = {}): Promise<ClientPutResult> {
    return this.#write("DELETE", key, undefined, options);
  }

  /** The node's status: members, ring ownership, hints, repair counters. */
  async status(): Promise<NodeStatus> {
    return (await (await this.#request("GET", "/status")).json()) as NodeStatus;
  }

  /**
   * Every member's own status, gathered by this node over the peer transport (`GET
   * /status/cluster`): how each node sees the cluster, and its traffic of the last seconds.
   */
  async clusterStatus(): Promise<ClusterStatus> {
    return (await (await this.#request("GET", "/status/cluster")).json()) as ClusterStatus;
  }

  /** The node's Prometheus metrics text. */
  async metrics(): Promise<string> {
    return (await this.#request("GET", "/metrics")).text();
  }

  /** Asks the node to decommission itself (hand off its data and stop); returns at once. */
  async leave(): Promise<void> {
    await (await this.#request("POST", "/admin/leave")).body?.cancel();
  }

  /**
   * Offsets and drifts the node's clock from its machine's (`POST /admin/clock`), for testing
   * clock skew on real processes: `offsetMs` steps it to read that far ahead (negative: behind),
   * `driftRate` makes it run `1 + driftRate` times as fast; give at least one. Returns the clock
   * now.
   *
   * @throws {InvalidRequestError} (`RINGFORGE_INVALID_REQUEST`) for a bad setting, or a node
   *   whose clock cannot be offset; nothing changes
   */
  async setClock(setting: ClockSetting): Promise<ClockStatus> {
    const response = await this.#request("POST", "/admin/clock", encodeText(JSON.stringify(setting)), {
      "Content-Type": "application/json",
    });
    return (await response.json()) as ClockStatus;
  }

  /** The node's own stored record of `key` (no quorum), for debugging and tests. */
  async local(key: string): Promise<LocalRecord> {
    const body = (await (await this.#request("GET", `/admin/local/${encodeURIComponent(key)}`)).json()) as {
      node: string;
      siblings: ({ value: string } | { tombstone: true })[];
    };
    return { node: body.node, siblings: body.siblings.map((s) => ("value" in s ? fromBase64(s.value) : null)) };
  }

  async #write(
    method: "PUT" | "DELETE",
    key: string,
    value: Uint8Array | undefined,
    options: ClientWriteOptions,
  ): Promise<ClientPutResult> {
    const sent = sendSession(key, options.session);
    const headers: Record<string, string> = {
      ...(options.context ? { [CONTEXT_HEADER]: options.context } : {}),
      ...(options.ifMatch === undefined ? {} : { "If-Match": `"${options.ifMatch}"` }),
      ...(options.ifAbsent ? { "If-None-Match": "*" } : {}),
      ...sent?.headers,
    };
    const query = { w: options.w, timeout: options.timeoutMs, consistency: options.consistency };
    const response = await this.#request(method, this.#kv(key, query), value, headers);
    await response.body?.cancel();
    this.#followSession(key, sent, response);
    return { context: (response.headers.get(CONTEXT_HEADER) ?? "") as CausalContext };
  }

  /**
   * Remembers in the session what the node answered the key's session requires now. A node that
   * answered without a token did not run the request in the session (a version before
   * sessions): failing says so, where carrying on would silently drop the guarantees.
   */
  #followSession(key: string, sent: SentSession | undefined, response: Response): void {
    if (sent === undefined) return;
    const token = response.headers.get(SESSION_HEADER);
    if (token === null) {
      void response.body?.cancel();
      throw new RingforgeError(
        "RINGFORGE_REMOTE_ERROR",
        `${this.#base} answered a request in a session without a ${SESSION_HEADER} header: it does not support sessions, ` +
          `so the answer carries no session guarantee (a write was still applied)`,
        { status: response.status },
      );
    }
    const answered = decodeSessionToken(token);
    const forgotten = Number(response.headers.get(SESSION_FORGOTTEN_HEADER) ?? 0);
    // The node answered from the contexts this request sent. Another request of the session to
    // the same key may have finished meanwhile: keep what it added, or its guarantee is lost.
    // (In process the node updates the session at the end, from what it holds then; here the
    // next request of the key lets the node drop whichever of them a newer one covers.)
    const now = sent.session.contexts(key);
    const gained = now === sent.contexts ? [] : now.filter((c) => !sent.contexts.includes(c) && !answered.includes(c));
    sent.session.remember(key, [...answered, ...gained], Number.isSafeInteger(forgotten) && forgotten > 0 ? forgotten : 0);
  }

  #kv(key: string, query: Record<string, number | string | undefined>): string {
    const params = Object.entries(query).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`);
    return `/kv/${encodeURIComponent(key)}${params.length ? `?${params.join("&")}` : ""}`;
  }

  /**
   * Sends one request; a failure to get any HTTP answer becomes an {@link UnreachableUrlError}
   * saying why, and an error answer becomes the node's typed error.
   */
  async #request(method: string, path: string, body?: Uint8Array, headers: Record<string, string> = {}): Promise<Response> {
    let response: Response;
    try {
      response = await this.#fetch(`${this.#base}${path}`, {
        method,
        // A value is bytes; a caller sending JSON says so in `headers`.
        headers: { ...this.#headers, ...(body ? { "Content-Type": "application/octet-stream" } : {}), ...headers },
        // A Uint8Array is a valid body everywhere; Deno's types want one over a plain ArrayBuffer.
        ...(body ? { body: body as Uint8Array<ArrayBuffer> } : {}),
      });
    } catch (error) {
      if (error instanceof RingforgeError) throw error;
      const { failure, errno } = classifyFetchFailure(error);
      throw new UnreachableUrlError(this.#base, failure, errno, error);
    }
    if (response.ok || response.status === 300 || (response.status === 404 && path.startsWith("/kv/"))) {
      if (response.status !== 404) return response;
      // A 404 from /kv is "no value" only when it carries a context (a route miss has none).
      if (response.headers.get(CONTEXT_HEADER) !== null) return response;
    }
    let wire: { code?: string; message?: string; details?: Record<string, unknown> } = {};
    try {
      wire = ((await response.json()) as { error?: typeof wire }).error ?? {};
    } catch {
      // not JSON: keep the status line
    }
    if (typeof wire.code === "string" && wire.code.startsWith("RINGFORGE_")) {
      throw errorFromWire({ code: wire.code, message: wire.message ?? "", details: wire.details ?? {} }, this.#base);
    }
    throw new RingforgeError(
      "RINGFORGE_REMOTE_ERROR",
      `${method} ${path}: HTTP ${response.status} ${wire.message ?? response.statusText}`,
      {
        status: response.status,
      },
    );
  }
}

/** A request's session: the header it sends, and the contexts of the key it sent. */
interface SentSession {
  readonly session: SessionContexts;
  readonly contexts: readonly CausalContext[];
  readonly headers: Record<string, string>;
}

/**
 * The session part of a request for `key`: the key's contexts only. Contexts the token cannot
 * hold (a session filled in process or by concurrent requests may hold more) are forgotten
 * now, and reported, rather than sent and refused.
 */
function sendSession(key: string, session: SessionContexts | undefined): SentSession | undefined {
  if (session === undefined) return undefined;
  let contexts = session.contexts(key);
  const { token, forgotten } = encodeSessionToken(contexts);
  if (forgotten > 0) {
    contexts = contexts.slice(forgotten);
    session.remember(key, contexts, forgotten);
    contexts = session.contexts(key);
  }
  return { session, contexts, headers: { [SESSION_HEADER]: token } };
}

/**
 * Bytes of a standard (padded) base64 string, as the server writes sibling values. `atob`, not
 * node:buffer, so the client runs in browsers; every byte 0..255 round-trips (`atob` yields one
 * char per byte, not text).
 */
function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
