/**
 * The peer handshake: both ends prove they hold the cluster secret, by HMAC over fresh nonces,
 * before a single message is accepted.
 *
 * 1. The accepting side sends `challenge` (its id and a 32-byte nonce).
 * 2. The dialling side answers `hello`: its id, the address it listens on, its own nonce, and
 *    `HMAC(secret, "client" | serverNonce | clientNonce | clientId | serverId)`.
 * 3. The accepting side checks the proof and answers `welcome` with
 *    `HMAC(secret, "server" | clientNonce | serverNonce | serverId | clientId)` and the peer
 *    addresses it knows, or `refused` with the reason, and closes.
 * 4. The dialling side checks the server's proof, so a process without the secret can neither
 *    join (send) nor pose as a node (receive writes).
 *
 * Each proof binds both nonces, both ids and the direction, so a recorded proof is useless on
 * another connection, and a reflected one fails. Without a configured secret the proofs are
 * empty and both sides must have none: a node with a secret never talks to one without.
 *
 * @module
 */
import { createHmac, timingSafeEqual } from "node:crypto";

/** Protocol version carried in the challenge. */
export const PROTOCOL_VERSION = 1;

/** Bytes of each nonce. */
export const NONCE_BYTES = 32;

/**
 * A fresh nonce from the host's cryptographic random source. Not the injected Random: a
 * challenge must be unpredictable to an eavesdropper, and a seeded generator is predictable by
 * design (scripts/check-architecture.ts allows this one file to call it).
 */
export function nonce(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
}

/** Which side of the connection a proof speaks for. */
export type Role = "client" | "server";

/**
 * The proof of `role`: HMAC-SHA256 keyed by the secret over the role, the prover's peer's
 * nonce (the challenge it answers), its own nonce, its id and the peer's id. Empty without a
 * secret.
 */
export function proof(
  secret: string | undefined,
  role: Role,
  challenge: Uint8Array,
  own: Uint8Array,
  self: string,
  peer: string,
): Uint8Array {
  if (secret === undefined) return new Uint8Array(0);
  const mac = createHmac("sha256", secret);
  const field = (bytes: Uint8Array) => {
    const length = new Uint8Array(4);
    new DataView(length.buffer).setUint32(0, bytes.length);
    mac.update(length);
    mac.update(bytes);
  };
  const text = new TextEncoder();
  field(text.encode(`ringforge-peer-v${PROTOCOL_VERSION}/${role}`));
  field(challenge);
  field(own);
  field(text.encode(self));
  field(text.encode(peer));
  return new Uint8Array(mac.digest());
}

/** True if `received` is the proof `expected` (constant time; empty only when both are). */
export function proofMatches(expected: Uint8Array, received: Uint8Array): boolean {
  if (expected.length !== received.length) return false;
  if (expected.length === 0) return true;
  return timingSafeEqual(expected, received);
}
