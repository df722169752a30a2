/**
 * The two sides of the peer handshake (./handshake.ts describes the protocol) as state
 * machines over a fresh {@link PeerLink}: the dialling side answers the challenge and checks
 * the welcome; the accepting side sends the challenge, checks the hello and welcomes. Either
 * hands the link to its transport once the peer has proved it holds the cluster secret, and
 * refuses, logs and closes on anything else. The transport keeps the connections.
 *
 * @module
 */
import type { Socket } from "node:net";
import { UnreachableNodeError } from "../../../core/errors.ts";
import type { Timer } from "../../../core/interfaces/clock.ts";
import type { Logger } from "../../../core/interfaces/logger.ts";
import type { NodeId } from "../../../core/model/sibling.ts";
import { parseAddress } from "../../../core/model/address.ts";
import type { Frame } from "./frames.ts";
import { nonce, proof, proofMatches, PROTOCOL_VERSION } from "./handshake.ts";
import type { TcpOptions } from "./options.ts";
import { PeerLink } from "./peer-link.ts";

/**
 * Largest `welcome` a dialling node accepts: it carries the accepting node's address book,
 * which grows with the cluster. Only the dialling side sees it, on connections to addresses it
 * chose; every other frame before authentication is held to `maxHandshakeFrameBytes`.
 */
const WELCOME_FRAME_BYTES = 1024 * 1024;

/** What a handshake needs of the transport it runs for. */
export interface HandshakeHost {
  /** This node's id. */
  readonly self: NodeId;
  /** The cluster secret and the handshake's limits. */
  readonly options: TcpOptions;
  /** The transport's counters the handshake moves. */
  readonly stats: { dialled: number; rejected: number };
  /** Where refusals are reported. */
  readonly logger: Logger;
  /** The address this node advertises (sent in a hello). */
  address(): string | undefined;
  /** The peer addresses this node knows (sent in a welcome). */
  book(): ReadonlyMap<NodeId, string>;
  /** Timers of the transport, which cancels them when it stops. */
  schedule(ms: number, callback: () => void): Timer;
  /** Cancels a timer from {@link HandshakeHost.schedule}. */
  cancel(timer: Timer): void;
  /** Holds a new link, to destroy it when the transport stops. */
  track(link: PeerLink): void;
  /** A frame on a link that is open. */
  frame(link: PeerLink, frame: Frame): void;
  /** Records where a node listens. */
  learn(id: NodeId, address: string): void;
  /** The peer authenticated: the link carries requests from now on. */
  opened(link: PeerLink): void;
  /** A link closed, open or not. */
  closed(link: PeerLink): void;
  /** `peer` authenticated on a connection it opened: it is up (see the transport). */
  reachedBy(peer: NodeId, link: PeerLink, address: string | null): void;
}

/**
 * The dialling side, on the socket `connect` opens to `address`: resolves with the open link,
 * or rejects (the socket destroyed) when the peer refuses, fails to prove the secret, breaks
 * the protocol, closes, or does not finish within `connectTimeoutMs`. `expected` is the id the
 * address should belong to (undefined for a seed).
 */
export function dialHandshake(
  host: HandshakeHost,
  connect: () => Socket,
  address: string,
  expected: NodeId | undefined,
): Promise<PeerLink> {
  const { options, stats, logger } = host;
  return new Promise<PeerLink>((resolve, reject) => {
    const socket = connect();
    let done = false;
    const finish = (error?: Error, link?: PeerLink) => {
      if (done) return;
      done = true;
      host.cancel(timer);
      if (error) {
        socket.destroy();
        reject(error);
      } else resolve(link!);
    };
    const timer = host.schedule(
      options.connectTimeoutMs,
      () => finish(new UnreachableNodeError(expected ?? address, `no connection within ${options.connectTimeoutMs} ms`)),
    );
    socket.once("error", (error) => finish(new UnreachableNodeError(expected ?? address, error.message)));
    const myNonce = nonce();
    const link = new PeerLink(socket, address, options.maxHandshakeFrameBytes, options.maxPendingRequests, {
      frame: (l, frame) => {
        if (l.open) return host.frame(l, frame);
        if (frame.k === "challenge") {
          if (frame.v !== PROTOCOL_VERSION) return finish(refuse(host, l, `protocol version ${frame.v}, expected ${PROTOCOL_VERSION}`));
          if (frame.id === host.self) return finish(refuse(host, l, `${address} is this node itself`));
          if (expected !== undefined && frame.id !== expected) {
            return finish(refuse(host, l, `${address} now belongs to node ${frame.id}, not ${expected}`));
          }
          l.peer = frame.id;
          l.challenge = frame.nonce;
          l.write({
            k: "hello",
            id: host.self,
            address: host.address() ?? null,
            nonce: myNonce,
            proof: proof(options.secret, "client", frame.nonce, myNonce, host.self, frame.id),
          });
          l.maxFrameBytes = WELCOME_FRAME_BYTES;
          return;
        }
        if (frame.k === "welcome" && l.peer !== undefined) {
          const challenge = l.challenge!;
          const expectedProof = proof(options.secret, "server", myNonce, challenge, l.peer, host.self);
          if (!proofMatches(expectedProof, frame.proof)) {
            return finish(refuse(host, l, `node ${l.peer} at ${address} did not prove it holds the cluster secret`));
          }
          for (const [id, peerAddress] of frame.book) host.learn(id, peerAddress);
          host.learn(l.peer, address);
          host.opened(l);
          stats.dialled++;
          return finish(undefined, l);
        }
        if (frame.k === "refused") {
          stats.rejected++;
          logger.warn("peer refused this node", { peer: l.peer ?? address, reason: frame.reason });
          return finish(new UnreachableNodeError(l.peer ?? expected ?? address, `refused: ${frame.reason}`));
        }
        finish(refuse(host, l, `unexpected ${frame.k} frame during the handshake`));
      },
      violation: (l, reason) => {
        stats.rejected++;
        logger.warn("peer connection closed: protocol violation", { remote: l.remote, peer: l.peer, reason });
        finish(new UnreachableNodeError(expected ?? address, `protocol violation: ${reason}`));
      },
      closed: (l) => {
        host.closed(l);
        finish(new UnreachableNodeError(expected ?? address, "connection closed during the handshake"));
      },
    });
    host.track(link);
  });
}

/**
 * The accepting side, on a socket a peer opened from `remote` and admission let in: challenges
 * it, and opens the link once its hello proves the secret. `release` gives the admission slot
 * back, when the peer authenticates or the connection closes, whichever comes first. A peer that
 * has not finished within `handshakeTimeoutMs` is disconnected.
 */
export function acceptHandshake(host: HandshakeHost, socket: Socket, remote: string, release: () => void): void {
  const { options, stats, logger } = host;
  const myNonce = nonce();
  const link = new PeerLink(socket, remote, options.maxHandshakeFrameBytes, options.maxPendingRequests, {
    frame: (l, frame) => {
      if (l.open) return host.frame(l, frame);
      if (frame.k !== "hello") {
        refuse(host, l, `expected hello, got ${frame.k}`);
        return;
      }
      if (!/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/.test(frame.id)) {
        refuse(host, l, "invalid node id");
        return;
      }
      if (frame.id === host.self) {
        refuse(host, l, `node id ${frame.id} is this node's own`);
        return;
      }
      const expected = proof(options.secret, "client", myNonce, frame.nonce, frame.id, host.self);
      if (!proofMatches(expected, frame.proof)) {
        refuse(
          host,
          l,
          options.secret === undefined ? "this cluster has no secret; the peer sent a proof" : "wrong cluster secret",
          frame.id,
        );
        return;
      }
      l.peer = frame.id;
      if (frame.address && parseAddress(frame.address)) host.learn(frame.id, frame.address);
      l.write({
        k: "welcome",
        proof: proof(options.secret, "server", frame.nonce, myNonce, host.self, frame.id),
        book: [...host.book()].filter(([id]) => id !== frame.id),
      });
      host.opened(l);
      release();
      host.reachedBy(frame.id, l, frame.address);
    },
    violation: (l, reason) => {
      stats.rejected++;
      logger.warn("peer connection closed: protocol violation", { remote: l.remote, peer: l.peer, reason });
    },
    closed: (l) => {
      release();
      host.closed(l);
    },
  });
  host.track(link);
  link.write({ k: "challenge", v: PROTOCOL_VERSION, id: host.self, nonce: myNonce });
  const timer = host.schedule(options.handshakeTimeoutMs, () => {
    if (!link.open && !link.closed) {
      stats.rejected++;
      logger.warn("peer connection closed: no handshake", { remote, withinMs: options.handshakeTimeoutMs });
      link.destroy();
    }
  });
  socket.once("close", () => host.cancel(timer));
}

/** Refuses a peer during the handshake: logs why, tells it, closes. */
function refuse(host: HandshakeHost, link: PeerLink, reason: string, claimed?: string): Error {
  host.stats.rejected++;
  host.logger.warn("peer connection refused", { remote: link.remote, peer: claimed ?? link.peer, reason });
  link.write({ k: "refused", reason });
  link.end();
  // A peer that never reads would keep the socket half-open; do not wait for it.
  host.schedule(1000, () => link.destroy());
  return new UnreachableNodeError(link.peer ?? link.remote, `handshake failed: ${reason}`);
}
