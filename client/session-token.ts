/**
 * A client session over HTTP: the `Ringforge-Session` token that carries, with one request,
 * what the session requires of that request's key, and carries back what it requires after.
 *
 * The token holds the causal contexts a session keeps for one key (the same ones an in-process
 * `Session` holds), oldest first: `v1` followed by `.context` for each, e.g. `v1` (the session
 * has nothing for the key yet) or `v1.kqN2ZWN0b3It...`. Contexts are base64url, which has no
 * `.`, so the token needs no escaping and fits an HTTP header as is. See docs/sessions.md for
 * why a token covers one key, why it is not signed, and what its bounds mean.
 *
 * @module
 */
import { InvalidContextError } from "../core/errors.ts";
import { type CausalContext, MAX_CONTEXT_LENGTH } from "../core/model/causal-context.ts";

/** The request and response header carrying a session token. */
export const SESSION_HEADER = "Ringforge-Session";

/**
 * The response header saying how many contexts of the key the node left out of the token it
 * answered with, to keep it within {@link MAX_SESSION_CONTEXTS} and
 * {@link MAX_SESSION_CONTEXT_CHARS}: the session's guarantees for what they covered are lost.
 * Absent when none were.
 */
export const SESSION_FORGOTTEN_HEADER = "Ringforge-Session-Forgotten";

/**
 * Most contexts a token holds. A session keeps only contexts that no newer one covers, so a key
 * has one after any read, and more only after blind writes coordinated by replicas that had
 * not seen each other; eight is far more than that takes, and bounds the work of checking a
 * read against the session (one `covers` per context per reply).
 */
export const MAX_SESSION_CONTEXTS = 8;

/**
 * Most characters of contexts a token holds, separators aside: the longest context a store
 * produces ({@link MAX_CONTEXT_LENGTH}, 8 KiB), so the newest context always fits.
 */
export const MAX_SESSION_CONTEXT_CHARS = MAX_CONTEXT_LENGTH;

const VERSION = "v1";

/**
 * Longest token accepted: the version, a separator per context and the contexts. 8 KiB and a
 * few bytes; with a context header it stays within the 16 KiB a Node server or fetch accepts
 * for a whole header block unless both come near their limits, which takes contexts of
 * hundreds of coordinating nodes.
 */
export const MAX_SESSION_TOKEN_LENGTH = VERSION.length + MAX_SESSION_CONTEXTS + MAX_SESSION_CONTEXT_CHARS;

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * What the HTTP client needs of a session: the contexts it keeps per key. `Session` (from
 * `ringforge`) is one; a `RingforgeClient` request in a session sends the key's contexts and
 * remembers the ones the node answers with.
 */
export interface SessionContexts {
  /** The contexts a read of `key` must cover (empty: no requirement yet), oldest first. */
  contexts(key: string): readonly CausalContext[];
  /**
   * Replaces what the session requires of `key`. `forgotten` counts contexts of the key that
   * were dropped to keep within a bound (a token's), whose guarantees are lost.
   */
  remember(key: string, contexts: readonly CausalContext[], forgotten?: number): void;
}

/** A token and how many of the key's contexts were left out of it. */
export interface EncodedSession {
  /** The `Ringforge-Session` value. */
  readonly token: string;
  /** Contexts left out to keep within the bounds: the oldest ones. */
  readonly forgotten: number;
}

/**
 * Encodes a key's session contexts (oldest first) as a token. Past {@link MAX_SESSION_CONTEXTS}
 * or {@link MAX_SESSION_CONTEXT_CHARS}, the oldest are left out and counted; the newest is
 * always kept, so the guarantee a caller has just been given (the write or read that produced
 * it) is never the one lost.
 *
 * @throws {InvalidContextError} if a context is not a base64url string within
 *   {@link MAX_SESSION_CONTEXT_CHARS} (a context a store returned always is)
 *
 * @example
 * ```ts
 * const { token } = encodeSessionToken(session.contexts("cart"));
 * await fetch(`${url}/kv/cart`, { headers: { [SESSION_HEADER]: token } });
 * ```
 */
export function encodeSessionToken(contexts: readonly CausalContext[]): EncodedSession {
  let first = Math.max(0, contexts.length - MAX_SESSION_CONTEXTS);
  let chars = 0;
  for (let i = contexts.length - 1; i >= first; i--) {
    const context = contexts[i]!;
    checkContext(context);
    if (chars + context.length > MAX_SESSION_CONTEXT_CHARS) {
      first = i + 1;
      break;
    }
    chars += context.length;
  }
  let token = VERSION;
  for (let i = first; i < contexts.length; i++) token += `.${contexts[i]}`;
  return { token, forgotten: first };
}

/**
 * Decodes a token from a request or a response: the key's contexts, oldest first. Checks its
 * shape and bounds only; the node's resolver validates each context when it uses them (as it
 * does a context header), so a context from another store is refused there.
 *
 * @throws {InvalidContextError} if the token is longer than {@link MAX_SESSION_TOKEN_LENGTH},
 *   holds more than {@link MAX_SESSION_CONTEXTS} contexts or more than
 *   {@link MAX_SESSION_CONTEXT_CHARS} characters of them, or is not `v1` followed by
 *   `.`-separated base64url contexts
 */
export function decodeSessionToken(token: string): CausalContext[] {
  // Length first: nothing else is done with an over-long token.
  if (token.length > MAX_SESSION_TOKEN_LENGTH) {
    throw new InvalidContextError(
      `the ${SESSION_HEADER} token is ${token.length} characters long, over the limit of ${MAX_SESSION_TOKEN_LENGTH}`,
    );
  }
  const parts = token.split(".");
  if (parts[0] !== VERSION) {
    throw new InvalidContextError(`the ${SESSION_HEADER} token must start with "${VERSION}" (a token from a newer client, or not one)`);
  }
  const contexts = parts.slice(1);
  if (contexts.length > MAX_SESSION_CONTEXTS) {
    throw new InvalidContextError(
      `the ${SESSION_HEADER} token holds ${contexts.length} contexts, over the limit of ${MAX_SESSION_CONTEXTS}`,
    );
  }
  let chars = 0;
  for (const context of contexts) {
    checkContext(context);
    chars += context.length;
  }
  if (chars > MAX_SESSION_CONTEXT_CHARS) {
    throw new InvalidContextError(
      `the ${SESSION_HEADER} token holds ${chars} characters of contexts, over the limit of ${MAX_SESSION_CONTEXT_CHARS}`,
    );
  }
  return contexts as CausalContext[];
}

function checkContext(context: string): void {
  if (typeof context !== "string" || !BASE64URL.test(context) || context.length > MAX_SESSION_CONTEXT_CHARS) {
    throw new InvalidContextError(`a context in a ${SESSION_HEADER} token must be a non-empty base64url string from a previous answer`);
  }
}
