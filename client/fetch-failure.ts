/**
 * Why `fetch` got no HTTP answer from a node's URL. Node (undici) reports a system error code
 * on the error's `cause`; Deno reports only a message. Both are told apart here into one small
 * set of reasons, so a caller (and the CLI) can say what to do: start the cluster, fix the host
 * name, use the client port rather than the peer port.
 *
 * @module
 */
import { UnreachableNodeError } from "../core/errors.ts";

/**
 * Why a request got no HTTP answer.
 *
 * - `connection-refused`: nothing listens on that port.
 * - `host-not-found`: the host name does not resolve.
 * - `timeout`: no connection or no answer in time.
 * - `connection-reset`, `connection-closed`: the other side hung up without an HTTP reply.
 * - `not-http`: bytes came back, but not HTTP (a node's peer port speaks binary frames).
 * - `tls`: the TLS handshake failed (certificate, or HTTPS against a plain port).
 * - `network`: anything else.
 */
export type FetchFailure =
  | "connection-refused"
  | "host-not-found"
  | "timeout"
  | "connection-reset"
  | "connection-closed"
  | "not-http"
  | "tls"
  | "network";

const DESCRIPTIONS: Readonly<Record<FetchFailure, string>> = {
  "connection-refused": "connection refused",
  "host-not-found": "host not found",
  timeout: "timed out",
  "connection-reset": "connection reset without an HTTP reply",
  "connection-closed": "connection closed without an HTTP reply",
  "not-http": "the reply is not HTTP",
  tls: "TLS handshake failed",
  network: "network error",
};

/**
 * A request to `url` got no HTTP answer (code `RINGFORGE_UNREACHABLE`). `failure` says why,
 * the same under Node and Deno; `errno` is the system error code when the runtime reports one
 * (Node does: `ECONNREFUSED`, `ENOTFOUND`, `ECONNRESET`...; Deno reports only a message, kept in
 * `cause`).
 *
 * @example
 * ```ts
 * try {
 *   await new RingforgeClient("http://127.0.0.1:8001").status();
 * } catch (error) {
 *   if (error instanceof UnreachableUrlError && error.failure === "connection-refused") {
 *     console.error(`nothing listens at ${error.url}: is the cluster running?`);
 *   }
 * }
 * ```
 */
export class UnreachableUrlError extends UnreachableNodeError {
  /** The URL requested (the node's base URL). */
  readonly url: string;
  /** Why there was no answer. */
  readonly failure: FetchFailure;
  /** The system error code, when the runtime reports one. */
  readonly errno: string | undefined;
  /** The error `fetch` threw. */
  override readonly cause: unknown;

  constructor(url: string, failure: FetchFailure, errno: string | undefined, cause: unknown) {
    super(url, `${DESCRIPTIONS[failure]}${errno ? ` (${errno})` : ""}`, { url, failure, ...(errno ? { errno } : {}) });
    this.url = url;
    this.failure = failure;
    this.errno = errno;
    this.cause = cause;
  }

  /** The reason in a few words (`connection refused`), for messages. */
  get description(): string {
    return DESCRIPTIONS[this.failure];
  }
}

const TIMEOUT_CODES = new Set(["ETIMEDOUT", "UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT"]);
const DNS_CODES = new Set(["ENOTFOUND", "EAI_AGAIN", "EAI_NONAME", "EAI_FAIL"]);

/** What {@link classifyFetchFailure} found. */
export interface FetchFailureReason {
  /** Why there was no answer. */
  readonly failure: FetchFailure;
  /** The system error code, when the runtime reported one. */
  readonly errno: string | undefined;
}

/** Tells why `fetch` threw `error`, from the codes and messages along its `cause` chain. */
export function classifyFetchFailure(error: unknown): FetchFailureReason {
  const codes: string[] = [];
  const names: string[] = [];
  const messages: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== null && current !== undefined && depth < 8; depth++) {
    const e = current as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown };
    if (typeof e.code === "string") codes.push(e.code);
    if (typeof e.name === "string") names.push(e.name);
    messages.push(typeof e.message === "string" ? e.message : String(current));
    current = e.cause;
  }
  const text = messages.join(" | ");
  const errno = codes.find((c) => /^E[A-Z]+$/.test(c));
  const has = (predicate: (code: string) => boolean) => codes.some(predicate);

  // System codes first (Node), then the messages Deno gives for the same failures.
  let failure: FetchFailure;
  if (has((c) => c === "ECONNREFUSED") || /connection refused/i.test(text)) failure = "connection-refused";
  else if (has((c) => DNS_CODES.has(c)) || /dns error|failed to lookup|name or service not known|nodename nor servname/i.test(text)) {
    failure = "host-not-found";
  } else if (has((c) => TIMEOUT_CODES.has(c)) || names.includes("TimeoutError") || /timed? ?out/i.test(text)) failure = "timeout";
  else if (
    has((c) => c.startsWith("HPE_")) || names.includes("HTTPParserError") || /invalid HTTP|HTTP\/0\.9|does not match the HTTP/i.test(text)
  ) {
    failure = "not-http";
  } else if (has((c) => c === "ECONNRESET" || c === "EPIPE") || /connection reset|broken pipe/i.test(text)) failure = "connection-reset";
  else if (
    has((c) => c === "EPROTO" || c.startsWith("ERR_SSL") || c.startsWith("ERR_TLS") || c.includes("CERT")) ||
    /certificate|\btls\b|\bssl\b/i.test(text)
  ) {
    failure = "tls";
  } else if (has((c) => c === "UND_ERR_SOCKET") || /other side closed|connection closed|closed before/i.test(text)) {
    failure = "connection-closed";
  } else failure = "network";
  return { failure, errno };
}
