/**
 * The TCP transport: nodes in separate processes (or machines) exchange length-prefixed
 * MessagePack frames over authenticated, optionally TLS-encrypted, connections.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { type Server, type Socket, createServer as createNetServer, connect as netConnect } from "node:net";
import { connect as tlsConnect, createServer as createTlsServer } from "node:tls";
import {
  ConnectionLostError,
  InvalidMessageError,
  NotRunningError,
  OverloadedError,
  RingforgeError,
  TimeoutError,
  UnreachableNodeError,
  errorFromWire,
  errorToWire,
} from "../../../core/errors.ts";
import { decode, encode } from "../../../core/codec/msgpack.ts";
import type { Clock, Scheduler, Timer } from "../../../core/interfaces/clock.ts";
import type { Logger } from "../../../core/interfaces/logger.ts";
import type { Random } from "../../../core/interfaces/random.ts";
import type { Message, MessageHandler, RequestOptions, Transport } from "../../../core/interfaces/transport.ts";
import type { NodeId } from "../../../core/model/sibling.ts";
import { formatAddress, parseAddress } from "./address.ts";
import { type Frame, HEADER_BYTES, encodeFrame } from "./frames.ts";
import { PROTOCOL_VERSION, nonce, proof, proofMatches } from "./handshake.ts";
import { HandshakeAdmission } from "./handshake-admission.ts";
import { PeerLink } from "./peer-link.ts";

/** TLS for peer connections: PEM files. */
export interface TcpTlsOptions {
  /** This node's certificate chain (PEM file path). */
  readonly cert: string;
  /** Its private key (PEM file path). */
  readonly key: string;
  /**
   * The CA that signed the cluster's certificates (PEM file path). With it, a node dialling a
   * peer checks that the peer's certificate chains to this CA; without it, any certificate is
   * accepted and TLS only encrypts. Either way the cluster secret authenticates both sides.
   */
  readonly ca?: string;
}

/** Options of the TCP transport. */
export interface TcpOptions {
  /** `host:port` to accept peer connections on. Default `127.0.0.1:0` (any free port). */
  readonly listen: string;
  /** `host:port` other nodes dial to reach this one. Default: the address actually bound. */
  readonly advertise?: string;
  /**
   * Peer addresses to dial at start (`host:port`, ids not needed): each answers with its id and
   * the addresses it knows, so a node finds the whole cluster from one seed.
   */
  readonly seeds: readonly string[];
  /** Known peer addresses by node id (static configuration; seeds are usually enough). */
  readonly peers: Readonly<Record<NodeId, string>>;
  /**
   * The cluster secret. Peers prove they hold it (HMAC challenge-response) before anything else
   * is accepted; without one, the cluster is open to anyone who can reach its peer ports.
   */
  readonly secret?: string;
  /** TLS for peer connections; plain TCP without it. */
  readonly tls?: TcpTlsOptions;
  /** Largest frame accepted or sent, bytes. Default 64 MiB. */
  readonly maxFrameBytes: number;
  /**
   * Largest frame accepted on a connection before it has authenticated, bytes, 1 KiB to 1 MiB.
   * The hello a dialling peer sends is under 1 KiB; a longer length prefix closes the
   * connection at once, before any of the body is buffered, so an unauthenticated client
   * cannot make the node hold more than this per connection. (A dialling node accepts up to
   * 1 MiB for the accepting side's `welcome`, which carries its address book.) Default 4096.
   */
  readonly maxHandshakeFrameBytes: number;
  /**
   * Inbound connections that may be in the handshake (not yet authenticated) at once. A
   * connection beyond it is closed on arrival, counted in {@link TcpStats.turnedAway}, and
   * logged at most once per 10 s. Authenticated peers do not count, and keep working while the
   * limit is reached. Default 64.
   */
  readonly maxUnauthenticatedConnections: number;
  /** Requests in flight per connection, each way. Default 1024. */
  readonly maxPendingRequests: number;
  /** Bytes queued for one peer before new requests are refused. Default 32 MiB. */
  readonly maxBufferedBytes: number;
  /** Time limit of a connection attempt, ms. Default 3000. */
  readonly connectTimeoutMs: number;
  /**
   * Time an accepted connection has to complete the handshake (with TLS, the TLS handshake
   * and then this one, each), ms; then it is closed. Default 5000.
   */
  readonly handshakeTimeoutMs: number;
  /** Wait after a failed connection attempt before the next. */
  readonly backoff: TcpBackoff;
}

/** Back-off between connection attempts to a peer that failed: doubles from `minMs` up to `maxMs`, with jitter. */
export interface TcpBackoff {
  /** First wait, ms. Default 100. */
  readonly minMs: number;
  /** Longest wait, ms. Default 5000. */
  readonly maxMs: number;
}

/** Traffic and rejection counters of a {@link TcpTransport}. */
export interface TcpStats {
  /** Frames written. */
  framesOut: number;
  /** Frames read. */
  framesIn: number;
  /** Bytes written, including length prefixes. */
  bytesOut: number;
  /** Connections accepted. */
  accepted: number;
  /** Connections dialled successfully. */
  dialled: number;
  /** Connections refused: failed authentication, protocol violations, handshake timeouts. */
  rejected: number;
  /** One-way messages dropped: no connection, or the peer's queue full. */
  dropped: number;
  /**
   * Inbound connections closed on arrival because `maxUnauthenticatedConnections` were already
   * in the handshake (not counted in `accepted`).
   */
  turnedAway: number;
}

/**
 * Largest `welcome` a dialling node accepts: it carries the accepting node's address book,
 * which grows with the cluster. Only the dialling side sees it, on connections to addresses it
 * chose; every other frame before authentication is held to `maxHandshakeFrameBytes`.
 */
const WELCOME_FRAME_BYTES = 1024 * 1024;

/** What a failed dial leaves behind: when to try again. */
interface Backoff {
  failures: number;
  nextAt: number;
  reason: string;
}

/**
 * A dial to a node in progress: the requests waiting for a link to it share `link`, which
 * settles with the dial's outcome, or earlier with a link the node opened to this one.
 */
interface Dialling {
  readonly link: Promise<PeerLink>;
  /** Settles `link` with a link the peer opened meanwhile (no-op once settled). */
  readonly adopt: (link: PeerLink) => void;
}

/** Services the transport runs on. */
export interface TcpDeps {
  /** This node's id. */
  readonly self: NodeId;
  /** Timers (request timeouts, connect timeouts). */
  readonly scheduler: Scheduler;
  /** Time, for back-off. */
  readonly clock: Clock;
  /** Jitter of back-off. */
  readonly random: Random;
  /** Where rejections and connection problems are reported. */
  readonly logger: Logger;
}

/**
 * Node-to-node messaging over TCP. One connection per pair of nodes is enough (either side may
 * send requests on it; a second one appears only when both dial at once), opened on first use,
 * re-dialled after a failure with exponential back-off. Every connection starts with the
 * handshake of ./handshake.ts; addresses spread through it, so seeds suffice to find everyone.
 *
 * Limits, each refusing cleanly with a typed error or a logged close, never a crash: frame size
 * (checked from the length prefix before buffering; a few KiB until the peer has
 * authenticated), connections in the handshake at once and the time each may take, requests
 * pending per connection (a sender gets {@link OverloadedError}; a receiver stops reading the
 * socket, so TCP flow control pushes back on the sender), and bytes queued for a slow peer.
 *
 * A peer that restarts and connects is used at once: its authentication clears this node's
 * back-off towards it (see `#reachedBy`).
  *
  * @example
  * ```ts
  * // In a store config for node processes (see docs/processes.md):
  * const config = { transport: { name: "tcp", options: { listen: "0.0.0.0:7001", seeds: ["10.0.0.2:7001"] } } };
  * ```
 */
export class TcpTransport implements Transport {
  /** Counters since start. */
  readonly stats: TcpStats = { framesOut: 0, framesIn: 0, bytesOut: 0, accepted: 0, dialled: 0, rejected: 0, dropped: 0, turnedAway: 0 };
  readonly self: NodeId;
  readonly #o: TcpOptions;
  readonly #d: TcpDeps;
  #handler: MessageHandler | undefined;
  #server: Server | undefined;
  #address: string | undefined;
  /** Node id -> peer address. */
  readonly #book = new Map<NodeId, string>();
  /** Node id -> the open link used to send to it. */
  readonly #links = new Map<NodeId, PeerLink>();
  /** Every socket this transport holds, open or handshaking, to destroy them on stop. */
  readonly #all = new Set<PeerLink>();
  readonly #dialling = new Map<NodeId, Dialling>();
  readonly #backoff = new Map<NodeId, Backoff>();
  readonly #lookups = new Map<number, { resolve: (address: string | null) => void }>();
  #nextLookup = 1;
  /** Request ids are unique per transport, so a request is encoded before its link is known. */
  #nextRequest = 1;
  /** Seed connections being attempted: a lookup of an unknown node waits for them first. */
  readonly #seedDials = new Set<Promise<unknown>>();
  /** Seed address -> the timer of its next attempt, while it waits out its back-off. */
  readonly #seedRetries = new Map<string, Timer>();
  readonly #admission: HandshakeAdmission;
  readonly #timers = new Set<Timer>();
  #tls: { cert: Buffer; key: Buffer; ca?: Buffer } | undefined;

  constructor(options: TcpOptions, deps: TcpDeps) {
    this.self = deps.self;
    this.#o = options;
    this.#d = deps;
    for (const [id, address] of Object.entries(options.peers)) if (id !== deps.self) this.#book.set(id, address);
    this.#admission = new HandshakeAdmission(options.maxUnauthenticatedConnections, {
      logger: deps.logger,
      schedule: (ms, callback) => this.#schedule(ms, callback),
    });
  }

  /** The address peers reach this node at (known once started). */
  get address(): string | undefined {
    return this.#address;
  }

  /** Peer addresses this node knows, by id. */
  addressBook(): ReadonlyMap<NodeId, string> {
    return this.#book;
  }

  /** Node ids with an open connection now. */
  connectedPeers(): NodeId[] {
    return [...this.#links.keys()];
  }

  async start(handler: MessageHandler): Promise<void> {
    if (this.#handler) return;
    const o = this.#o;
    const listen = parseAddress(o.listen)!;
    if (o.tls) {
      const [cert, key, ca] = await Promise.all([
        readFile(o.tls.cert),
        readFile(o.tls.key),
        o.tls.ca ? readFile(o.tls.ca) : Promise.resolve(undefined),
      ]);
      this.#tls = { cert, key, ...(ca ? { ca } : {}) };
    }
    const onSocket = (socket: Socket) => this.#accept(socket);
    const server = this.#tls
      ? // No client certificates: the dialling side checks the server's certificate against the
        // CA, and the cluster secret authenticates both sides (Deno's node:tls cannot yet
        // request client certificates, and the secret makes them redundant).
        createTlsServer({ cert: this.#tls.cert, key: this.#tls.key, handshakeTimeout: o.handshakeTimeoutMs }, onSocket)
      : createNetServer(onSocket);
    server.on("tlsClientError", (error: Error, socket: Socket) => {
      this.stats.rejected++;
      this.#d.logger.warn("peer connection refused: TLS handshake failed", { remote: remoteOf(socket), error: error.message });
      // Neither runtime closes the socket itself once a listener is attached (a handshake that
      // timed out would stay open for good).
      socket.destroy();
    });
    server.maxConnections = 10_000;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(listen.port, listen.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    server.on("error", (error) => this.#d.logger.error("peer server error", { error: error.message }));
    const bound = server.address();
    const port = typeof bound === "object" && bound ? bound.port : listen.port;
    this.#server = server;
    this.#address = o.advertise ?? formatAddress(listen.host === "0.0.0.0" || listen.host === "::" ? "127.0.0.1" : listen.host, port);
    this.#handler = handler;
    for (const seed of o.seeds) if (seed !== this.#address) this.#dialSeed(seed, 0);
    this.#d.logger.info("peer port open", { address: this.#address, tls: this.#tls !== undefined, secret: o.secret !== undefined });
  }

  async stop(): Promise<void> {
    if (!this.#handler && !this.#server) return;
    this.#handler = undefined;
    for (const timer of this.#timers) timer.cancel();
    this.#timers.clear();
    const server = this.#server;
    this.#server = undefined;
    for (const link of this.#all) {
      this.#failPending(link, () => new NotRunningError(`transport of ${this.self}`));
      link.destroy();
    }
    this.#all.clear();
    this.#links.clear();
    this.#seedDials.clear();
    this.#seedRetries.clear();
    for (const lookup of this.#lookups.values()) lookup.resolve(null);
    this.#lookups.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  request(to: NodeId, message: Message, options: RequestOptions): Promise<Message> {
    if (!this.#handler) return Promise.reject(new NotRunningError(`transport of ${this.self}`));
    if (to === this.self) return this.#requestSelf(message);
    // Encoded now, so a caller changing the message after this call changes nothing sent.
    const id = this.#nextRequest++;
    const bytes = this.#encode(() => ({ k: "req", i: id, b: message }));
    if (bytes instanceof RingforgeError) return Promise.reject(bytes);
    return new Promise<Message>((resolve, reject) => {
      let settled = false;
      let link: PeerLink | undefined;
      const timer = this.#schedule(options.timeoutMs, () => {
        if (settled) return;
        settled = true;
        link?.pending.delete(id);
        reject(new TimeoutError(`${message.type} to ${to}`, options.timeoutMs, { node: to }));
      });
      const fail = (error: unknown) => {
        if (settled) return;
        settled = true;
        this.#cancel(timer);
        reject(error);
      };
      this.#linkTo(to).then((l) => {
        if (settled) return;
        if (!this.#handler) return fail(new NotRunningError(`transport of ${this.self}`));
        if (l.pending.size >= this.#o.maxPendingRequests) {
          return fail(new OverloadedError(`requests pending to ${to}`, this.#o.maxPendingRequests));
        }
        if (l.buffered > this.#o.maxBufferedBytes) {
          return fail(new OverloadedError(`bytes queued for ${to}`, this.#o.maxBufferedBytes));
        }
        link = l;
        l.pending.set(id, {
          resolve: (reply) => {
            if (settled) return;
            settled = true;
            this.#cancel(timer);
            resolve(reply);
          },
          reject: fail,
          timer,
        });
        this.#write(l, bytes);
      }, fail);
    });
  }

  send(to: NodeId, message: Message): void {
    if (!this.#handler) return;
    if (to === this.self) {
      const copy = decode(encode(message)) as Message;
      queueMicrotask(() => this.#deliverOneWay(copy, this.self));
      return;
    }
    const bytes = this.#encode(() => ({ k: "one", b: message }));
    if (bytes instanceof RingforgeError) {
      this.stats.dropped++;
      this.#d.logger.warn("one-way message not sent", { to, type: message.type, error: bytes.message });
      return;
    }
    const existing = this.#links.get(to);
    const deliver = (link: PeerLink) => {
      if (link.buffered > this.#o.maxBufferedBytes) {
        this.stats.dropped++;
        return;
      }
      this.#write(link, bytes);
    };
    if (existing?.open) deliver(existing);
    else
      this.#linkTo(to).then(deliver, () => {
        this.stats.dropped++;
      });
  }

  // ---- connections --------------------------------------------------------------------

  /** The open link to `to`, dialling it if there is none. */
  #linkTo(to: NodeId): Promise<PeerLink> {
    const existing = this.#links.get(to);
    if (existing?.open) return Promise.resolve(existing);
    const inProgress = this.#dialling.get(to);
    if (inProgress) return inProgress.link;
    let adopt!: (link: PeerLink) => void;
    const link = new Promise<PeerLink>((resolve, reject) => {
      adopt = resolve;
      this.#dialNode(to).then(resolve, reject);
    });
    const dialling: Dialling = { link, adopt };
    this.#dialling.set(to, dialling);
    const done = () => {
      if (this.#dialling.get(to) === dialling) this.#dialling.delete(to);
    };
    link.then(done, done);
    return link;
  }

  async #dialNode(to: NodeId): Promise<PeerLink> {
    const backoff = this.#backoff.get(to);
    const now = this.#d.clock.now();
    if (backoff && now < backoff.nextAt) {
      throw new UnreachableNodeError(to, `${backoff.reason}; next attempt in ${Math.ceil(backoff.nextAt - now)} ms`);
    }
    if (!this.#book.has(to) && this.#seedDials.size > 0) await Promise.allSettled([...this.#seedDials]);
    const address = this.#book.get(to) ?? (await this.#lookup(to));
    if (!this.#handler) throw new NotRunningError(`transport of ${this.self}`);
    if (!address) throw new UnreachableNodeError(to, "no known address (not a seed, and no connected peer knows it)");
    try {
      const link = await this.#dial(address, to);
      this.#backoff.delete(to);
      return link;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      // If the node connected to this one while the dial failed, it is up: no back-off.
      if (!this.#links.get(to)?.open) {
        const failures = (this.#backoff.get(to)?.failures ?? 0) + 1;
        const wait = Math.min(this.#o.backoff.maxMs, this.#o.backoff.minMs * 2 ** (failures - 1));
        this.#backoff.set(to, { failures, nextAt: this.#d.clock.now() + wait * (0.5 + this.#d.random.next() / 2), reason });
      }
      if (error instanceof RingforgeError) throw error;
      throw new UnreachableNodeError(to, reason);
    }
  }

  /** Dials a seed until it answers once (with back-off); its address book fills ours. */
  #dialSeed(address: string, failures: number): void {
    if (!this.#handler) return;
    const attempt = this.#dial(address, undefined);
    this.#seedDials.add(attempt);
    attempt.then(
      () => this.#seedDials.delete(attempt),
      (error: unknown) => {
        this.#seedDials.delete(attempt);
        if (!this.#handler) return;
        if (failures === 0 || failures % 10 === 0) {
          this.#d.logger.info("seed not reachable yet", { seed: address, error: error instanceof Error ? error.message : String(error) });
        }
        const wait = Math.min(this.#o.backoff.maxMs, this.#o.backoff.minMs * 2 ** failures);
        const retry = this.#schedule(wait * (0.5 + this.#d.random.next() / 2), () => {
          this.#seedRetries.delete(address);
          this.#dialSeed(address, failures + 1);
        });
        this.#seedRetries.set(address, retry);
      },
    );
  }

  /**
   * Opens a connection to `address` and runs the dialling side of the handshake. `expected` is
   * the id the address should belong to (undefined for a seed).
   */
  #dial(address: string, expected: NodeId | undefined): Promise<PeerLink> {
    const target = parseAddress(address);
    if (!target) return Promise.reject(new UnreachableNodeError(expected ?? address, `invalid address "${address}"`));
    return new Promise<PeerLink>((resolve, reject) => {
      const tls = this.#tls;
      const socket: Socket = tls
        ? tlsConnect({
            host: target.host,
            port: target.port,
            ...(tls.ca ? { ca: tls.ca } : {}),
            rejectUnauthorized: tls.ca !== undefined,
            // Peers are named by the cluster secret, not by host name: accept any name the
            // CA signed.
            checkServerIdentity: () => undefined,
          })
        : netConnect({ host: target.host, port: target.port });
      let done = false;
      const finish = (error?: Error, link?: PeerLink) => {
        if (done) return;
        done = true;
        this.#cancel(timer);
        if (error) {
          socket.destroy();
          reject(error);
        } else resolve(link!);
      };
      const timer = this.#schedule(this.#o.connectTimeoutMs, () =>
        finish(new UnreachableNodeError(expected ?? address, `no connection within ${this.#o.connectTimeoutMs} ms`)),
      );
      socket.once("error", (error) => finish(new UnreachableNodeError(expected ?? address, error.message)));
      const myNonce = nonce();
      const link = new PeerLink(socket, address, this.#o.maxHandshakeFrameBytes, this.#o.maxPendingRequests, {
        frame: (l, frame) => {
          if (l.open) return this.#onFrame(l, frame);
          if (frame.k === "challenge") {
            if (frame.v !== PROTOCOL_VERSION) return finish(this.#refuse(l, `protocol version ${frame.v}, expected ${PROTOCOL_VERSION}`));
            if (frame.id === this.self) return finish(this.#refuse(l, `${address} is this node itself`));
            if (expected !== undefined && frame.id !== expected) {
              return finish(this.#refuse(l, `${address} now belongs to node ${frame.id}, not ${expected}`));
            }
            l.peer = frame.id;
            l.challenge = frame.nonce;
            l.write({
              k: "hello",
              id: this.self,
              address: this.#address ?? null,
              nonce: myNonce,
              proof: proof(this.#o.secret, "client", frame.nonce, myNonce, this.self, frame.id),
            });
            l.maxFrameBytes = WELCOME_FRAME_BYTES;
            return;
          }
          if (frame.k === "welcome" && l.peer !== undefined) {
            const challenge = l.challenge!;
            const expectedProof = proof(this.#o.secret, "server", myNonce, challenge, l.peer, this.self);
            if (!proofMatches(expectedProof, frame.proof)) {
              return finish(this.#refuse(l, `node ${l.peer} at ${address} did not prove it holds the cluster secret`));
            }
            for (const [id, peerAddress] of frame.book) this.#learn(id, peerAddress);
            this.#learn(l.peer, address);
            this.#opened(l);
            this.stats.dialled++;
            return finish(undefined, l);
          }
          if (frame.k === "refused") {
            this.stats.rejected++;
            this.#d.logger.warn("peer refused this node", { peer: l.peer ?? address, reason: frame.reason });
            return finish(new UnreachableNodeError(l.peer ?? expected ?? address, `refused: ${frame.reason}`));
          }
          finish(this.#refuse(l, `unexpected ${frame.k} frame during the handshake`));
        },
        violation: (l, reason) => {
          this.stats.rejected++;
          this.#d.logger.warn("peer connection closed: protocol violation", { remote: l.remote, peer: l.peer, reason });
          finish(new UnreachableNodeError(expected ?? address, `protocol violation: ${reason}`));
        },
        closed: (l) => {
          this.#closed(l);
          finish(new UnreachableNodeError(expected ?? address, "connection closed during the handshake"));
        },
      });
      this.#all.add(link);
    });
  }

  /** The accepting side of the handshake. */
  #accept(socket: Socket): void {
    socket.on("error", () => {});
    if (!this.#handler) {
      socket.destroy();
      return;
    }
    const remote = remoteOf(socket);
    // Held until the peer authenticates or the connection closes, whichever comes first.
    const release = this.#admission.admit(remote);
    if (!release) {
      this.stats.turnedAway++;
      socket.destroy();
      return;
    }
    this.stats.accepted++;
    const myNonce = nonce();
    const link = new PeerLink(socket, remote, this.#o.maxHandshakeFrameBytes, this.#o.maxPendingRequests, {
      frame: (l, frame) => {
        if (l.open) return this.#onFrame(l, frame);
        if (frame.k !== "hello") {
          this.#refuse(l, `expected hello, got ${frame.k}`);
          return;
        }
        if (!/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/.test(frame.id)) {
          this.#refuse(l, "invalid node id");
          return;
        }
        if (frame.id === this.self) {
          this.#refuse(l, `node id ${frame.id} is this node's own`);
          return;
        }
        const expected = proof(this.#o.secret, "client", myNonce, frame.nonce, frame.id, this.self);
        if (!proofMatches(expected, frame.proof)) {
          this.#refuse(l, this.#o.secret === undefined ? "this cluster has no secret; the peer sent a proof" : "wrong cluster secret", frame.id);
          return;
        }
        l.peer = frame.id;
        if (frame.address && parseAddress(frame.address)) this.#learn(frame.id, frame.address);
        l.write({
          k: "welcome",
          proof: proof(this.#o.secret, "server", frame.nonce, myNonce, this.self, frame.id),
          book: [...this.#book].filter(([id]) => id !== frame.id),
        });
        this.#opened(l);
        release();
        this.#reachedBy(frame.id, l, frame.address);
      },
      violation: (l, reason) => {
        this.stats.rejected++;
        this.#d.logger.warn("peer connection closed: protocol violation", { remote: l.remote, peer: l.peer, reason });
      },
      closed: (l) => {
        release();
        this.#closed(l);
      },
    });
    this.#all.add(link);
    link.write({ k: "challenge", v: PROTOCOL_VERSION, id: this.self, nonce: myNonce });
    const timer = this.#schedule(this.#o.handshakeTimeoutMs, () => {
      if (!link.open && !link.closed) {
        this.stats.rejected++;
        this.#d.logger.warn("peer connection closed: no handshake", { remote, withinMs: this.#o.handshakeTimeoutMs });
        link.destroy();
      }
    });
    socket.once("close", () => this.#cancel(timer));
  }

  /** Refuses a peer during the handshake: logs why, tells it, closes. */
  #refuse(link: PeerLink, reason: string, claimed?: string): Error {
    this.stats.rejected++;
    this.#d.logger.warn("peer connection refused", { remote: link.remote, peer: claimed ?? link.peer, reason });
    link.write({ k: "refused", reason });
    link.end();
    // A peer that never reads would keep the socket half-open; do not wait for it.
    this.#schedule(1000, () => link.destroy());
    return new UnreachableNodeError(link.peer ?? link.remote, `handshake failed: ${reason}`);
  }

  /**
   * `peer` authenticated on a connection it opened to this node, so it is up, whatever this
   * node's own dials to it met (it may have just restarted). Its dial back-off is forgotten, so
   * if this link drops the next dial goes at once; requests waiting for a dial to it take this
   * link; and a seed at its address waiting out its back-off is dialled now, as its welcome
   * brings the address book.
   */
  #reachedBy(peer: NodeId, link: PeerLink, address: string | null): void {
    this.#backoff.delete(peer);
    this.#dialling.get(peer)?.adopt(link);
    const retry = address === null ? undefined : this.#seedRetries.get(address);
    if (address === null || retry === undefined) return;
    this.#seedRetries.delete(address);
    this.#cancel(retry);
    this.#dialSeed(address, 0);
  }

  #opened(link: PeerLink): void {
    link.open = true;
    link.maxFrameBytes = this.#o.maxFrameBytes;
    link.socket.setKeepAlive(true, 10_000);
    this.#links.set(link.peer!, link);
  }

  #closed(link: PeerLink): void {
    this.#all.delete(link);
    if (link.peer !== undefined && this.#links.get(link.peer) === link) this.#links.delete(link.peer);
    this.#failPending(link, () => new ConnectionLostError(link.peer ?? link.remote, "the connection closed"));
  }

  #failPending(link: PeerLink, error: () => Error): void {
    for (const [id, pending] of link.pending) {
      link.pending.delete(id);
      pending.reject(error());
    }
  }

  #learn(id: NodeId, address: string): void {
    if (id === this.self || !parseAddress(address)) return;
    const known = this.#book.get(id);
    if (known === address) return;
    this.#book.set(id, address);
    this.#backoff.delete(id);
    if (known !== undefined) this.#d.logger.info("peer address changed", { peer: id, from: known, to: address });
  }

  /** Asks every connected peer where `node` listens; the first address wins. */
  #lookup(node: NodeId): Promise<string | null> {
    const links = [...this.#links.values()].filter((l) => l.open);
    if (links.length === 0) return Promise.resolve(null);
    return new Promise((resolve) => {
      let waiting = links.length;
      const ids: number[] = [];
      const done = (address: string | null) => {
        for (const i of ids) this.#lookups.delete(i);
        this.#cancel(timer);
        resolve(address);
      };
      const timer = this.#schedule(this.#o.connectTimeoutMs, () => done(null));
      for (const link of links) {
        const i = this.#nextLookup++;
        ids.push(i);
        this.#lookups.set(i, {
          resolve: (address) => {
            if (address && parseAddress(address)) {
              this.#learn(node, address);
              done(address);
            } else if (--waiting === 0) done(null);
          },
        });
        this.#write(link, encodeFrame({ k: "where", i, node }));
      }
    });
  }

  // ---- frames on an open link -----------------------------------------------------------

  #onFrame(link: PeerLink, frame: Frame): void {
    this.stats.framesIn++;
    const peer = link.peer!;
    switch (frame.k) {
      case "req":
        this.#serve(link, frame.i, frame.b);
        return;
      case "one":
        this.#deliverOneWay(frame.b, peer);
        return;
      case "res":
      case "err": {
        const pending = link.pending.get(frame.i);
        if (!pending) return; // timed out already
        link.pending.delete(frame.i);
        if (frame.k === "res") pending.resolve(frame.b);
        else pending.reject(errorFromWire(frame.e, peer));
        return;
      }
      case "where": {
        const address = frame.node === this.self ? (this.#address ?? null) : (this.#book.get(frame.node) ?? null);
        this.#write(link, encodeFrame({ k: "here", i: frame.i, address }));
        return;
      }
      case "here":
        this.#lookups.get(frame.i)?.resolve(frame.address);
        return;
      default:
        this.stats.rejected++;
        this.#d.logger.warn("peer connection closed: protocol violation", { peer, reason: `${frame.k} frame after the handshake` });
        link.destroy();
    }
  }

  #serve(link: PeerLink, id: number, body: Message): void {
    const handler = this.#handler;
    if (!handler) return;
    link.serving();
    Promise.resolve()
      .then(() => handler(body, link.peer!))
      .then(
        (reply) => ({ k: "res", i: id, b: reply ?? { type: "ack" } }) as const,
        (error: unknown) => ({ k: "err", i: id, e: errorToWire(error) }) as const,
      )
      .then((frame) => {
        link.served();
        if (!this.#handler) return; // stopped meanwhile: the requester learns from the closed link
        let bytes = this.#encode(() => frame);
        if (bytes instanceof RingforgeError) bytes = encodeFrame({ k: "err", i: id, e: errorToWire(bytes) });
        this.#write(link, bytes);
      });
  }

  #deliverOneWay(message: Message, from: NodeId): void {
    const handler = this.#handler;
    if (!handler) return;
    Promise.resolve()
      .then(() => handler(message, from))
      .catch((error: unknown) => this.#d.logger.debug("one-way handler failed", { type: message.type, error: String(error) }));
  }

  /** A request to this node itself: through the codec, so the handler gets its own copy. */
  async #requestSelf(message: Message): Promise<Message> {
    const handler = this.#handler!;
    const copy = decode(encode(message)) as Message;
    try {
      const reply = await handler(copy, this.self);
      return decode(encode(reply ?? { type: "ack" })) as Message;
    } catch (error) {
      throw errorFromWire(decode(encode(errorToWire(error))) as ReturnType<typeof errorToWire>, this.self);
    }
  }

  // ---- helpers ----------------------------------------------------------------------------

  /** Encodes a frame, or returns the error that makes it unsendable (too large, not encodable). */
  #encode(frame: () => Frame): Uint8Array | RingforgeError {
    let bytes: Uint8Array;
    try {
      bytes = encodeFrame(frame());
    } catch (error) {
      return new InvalidMessageError(`cannot encode: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (bytes.length - HEADER_BYTES > this.#o.maxFrameBytes) {
      return new InvalidMessageError(`frame of ${bytes.length - HEADER_BYTES} bytes exceeds maxFrameBytes (${this.#o.maxFrameBytes})`);
    }
    return bytes;
  }

  #write(link: PeerLink, bytes: Uint8Array): void {
    if (link.writeEncoded(bytes)) {
      this.stats.framesOut++;
      this.stats.bytesOut += bytes.length;
    }
  }

  #schedule(ms: number, callback: () => void): Timer {
    const timer = this.#d.scheduler.schedule(ms, () => {
      this.#timers.delete(timer);
      callback();
    });
    this.#timers.add(timer);
    return timer;
  }

  #cancel(timer: Timer): void {
    timer.cancel();
    this.#timers.delete(timer);
  }
}

function remoteOf(socket: Socket): string {
  return socket.remoteAddress ? formatAddress(socket.remoteAddress, socket.remotePort ?? 0) : "unknown";
}
