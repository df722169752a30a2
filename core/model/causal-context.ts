/**
 * The opaque causal context a read returns and a write takes back (Dynamo §4.4's "context",
 * Riak's X-Riak-Vclock). To a client it is a string: it fits an HTTP header, a JSON document or
 * a log line, and survives any round trip. Inside it is the resolver's name and its context data,
 * MessagePack-encoded and base64url-wrapped.
 *
 * @module
 */
import { InvalidContextError, RingforgeError } from "../errors.ts";
import { decode, encodeThrough } from "../codec/msgpack.ts";
import { fromBase64Url, toBase64Url } from "../codec/bytes.ts";
import type { ConflictResolver } from "../interfaces/conflict-resolver.ts";

/** An opaque causal context. Produced by `get`, passed back to `put` and `delete`. */
export type CausalContext = string & {
  /** Type-level brand only: makes a context a distinct type from other strings. */
  readonly __causalContext: unique symbol;
};

/** Wraps a resolver's context data into an opaque token. */
export function wrapContext(resolver: ConflictResolver, data: unknown): CausalContext {
  return encodeThrough([resolver.name, data], toBase64Url) as CausalContext;
}

/**
 * Largest context token, in characters: the most a write accepts and the most a write may
 * produce (a write whose new context would be longer is refused), so every context a read
 * returns can be sent back. 8 KiB fits an HTTP header everywhere: Node's server and fetch
 * refuse header blocks over 16 KiB. A version-vector context holds one entry per node that
 * coordinated writes of the key, about 10 bytes each with short node ids.
 */
export const MAX_CONTEXT_LENGTH = 8 * 1024;

/**
 * Unwraps and validates a token from a client.
 *
 * @throws {InvalidContextError} if the token is malformed, too large, or from another resolver
 */
export function unwrapContext<C>(resolver: ConflictResolver<unknown, C>, token: unknown): C {
  if (typeof token !== "string") throw new InvalidContextError("must be a string from a previous get");
  if (token.length > MAX_CONTEXT_LENGTH) throw new InvalidContextError(`longer than ${MAX_CONTEXT_LENGTH} characters`);
  const bytes = fromBase64Url(token);
  if (!bytes) throw new InvalidContextError("not base64url");
  let decoded: unknown;
  try {
    decoded = decode(bytes, "causal context");
  } catch (error) {
    if (error instanceof RingforgeError) throw new InvalidContextError("does not decode");
    throw error;
  }
  if (!Array.isArray(decoded) || decoded.length !== 2 || typeof decoded[0] !== "string") {
    throw new InvalidContextError("unexpected structure");
  }
  if (decoded[0] !== resolver.name) {
    throw new InvalidContextError(`made by resolver "${decoded[0]}", this store uses "${resolver.name}"`);
  }
  return resolver.parseContext(decoded[1]);
}
