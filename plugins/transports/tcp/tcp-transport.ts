/**
 * The TCP transport: nodes in separate processes (or machines) exchange length-prefixed
 * MessagePack frames over authenticated, optionally TLS-encrypted, connections.
 *
 * @module
 */
import type { Server, Socket } from "node:net";
import {
  ConnectionLostError,
  errorFromWire,
  errorToWire,
  InvalidMessageError,
  NotRunningError,
  OverloadedError,
  RingforgeError,
  TimeoutError,
  UnreachableNodeError,
} from "../../../core/errors.ts";
import { decode, encode } from "../../../core/codec/msgpack.ts";
import type { Clock, Scheduler, Timer } from "../../../core/interfaces/clock.ts";
import type { Logger } from "../../../core/interfaces/logger.ts";
import type { Random } from "../../../core/interfaces/random.ts";
import type { Message, MessageHandler, RequestOptions, Transport } from "../../../core/interfaces/transport.ts";
import type { NodeId } from "../../../core/model/sibling.ts";
import { formatAddress, parseAddress } from "../../../core/model/address.ts";
import { AddressLookups } from "./address-lookup.ts";
import { encodeFrame, type Frame, HEADER_BYTES } from "./frames.ts";
import { HandshakeAdmission } from "./handshake-admission.ts";
import { acceptHandshake, dialHandshake, type HandshakeHost } from "./handshake-sides.ts";
import type { TcpOptions } from "./options.ts";
import type { PeerLink } from "./peer-link.ts";
import { connectPeer, peerServer, readTls, remoteOf, type TlsMaterial } from "./sockets.ts";

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
 * handshake of ./handshake.ts (its two sides: ./handshake-sides.ts); addresses spread through
 * it, so seeds suffice to find everyone. This class manages the connections.
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
  readonly #lookups: AddressLookups;
  /** Request ids are unique per transport, so a request is encoded before its link is known. */
  #nextRequest = 1;
  /** Seed connections being attempted: a lookup of an unknown node waits for them first. */
  readonly #seedDials = new Set<Promise<unknown>>();
  /** Seed address -> the timer of its next attempt, while it waits out its back-off. */
  readonly #seedRetries = new Map<string, Timer>();
  readonly #admission: HandshakeAdmission;
  readonly #timers = new Set<Timer>();
  #tls: TlsMaterial | undefined;
  /** What the handshake sides (./handshake-sides.ts) reach of this transport. */
  readonly #host: HandshakeHost;

  constructor(options: TcpOptions, deps: TcpDeps) {
    this.self = deps.self;
    this.#o = options;
    this.#d = deps;
    for (const [id, address] of Object.entries(options.peers)) if (id !== deps.self) this.#book.set(id, address);
    this.#admission = new HandshakeAdmission(options.maxUnauthenticatedConnections, {
      logger: deps.logger,
      schedule: (ms, callback) => this.#schedule(ms, callback),
    });
    this.#lookups = new AddressLookups({
      timeoutMs: options.connectTimeoutMs,
      schedule: (ms, callback) => this.#schedule(ms, callback),
      cancel: (timer) => this.#cancel(timer),
      send: (link, frame) => this.#write(link, encodeFrame(frame)),
      learn: (node, address) => this.#learn(node, address),
    });
    this.#host = {
      self: deps.self,
      options,
      stats: this.stats,
      logger: deps.logger,
      address: () => this.#address,
      book: () => this.#book,
      schedule: (ms, callback) => this.#schedule(ms, callback),
      cancel: (timer) => this.#cancel(timer),
      track: (link) => void this.#all.add(link),
      frame: (link, frame) => this.#onFrame(link, frame),
      learn: (id, address) => this.#learn(id, address),
      opened: (link) => this.#opened(link),
      closed: (link) => this.#closed(link),
      reachedBy: (peer, link, address) => this.#reachedBy(peer, link, address),
    };
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
    if (o.tls) this.#tls = await readTls(o.tls);
    const server = peerServer(this.#tls, o.handshakeTimeoutMs, (socket) => this.#accept(socket));
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
    this.#lookups.endAll();
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
    else {
      this.#linkTo(to).then(deliver, () => {
        this.stats.dropped++;
      });
    }
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
    if (!this.#book.has(to) && this.#seedRetries.size > 0) {
      // A seed not reached yet (it started after this node) may be the node asked for: dial the
      // seeds waiting out their back-off now, rather than fail a request their next try would serve.
      for (const [address, retry] of [...this.#seedRetries]) {
        this.#seedRetries.delete(address);
        this.#cancel(retry);
        this.#dialSeed(address, 1);
      }
    }
    if (!this.#book.has(to) && this.#seedDials.size > 0) await Promise.allSettled([...this.#seedDials]);
    const address = this.#book.get(to) ?? (await this.#lookups.find(to, [...this.#links.values()].filter((l) => l.open)));
    if (!this.#handler) throw new NotRunningError(`transport of ${this.self}`);
    if (!address) throw new UnreachableNodeError(to, "no known address (not a seed, and no connected peer knows it)");
    try {
      const link = await this.#dial(address, to);
      this.#backoff.delete(to);
      return link;
    } catch (error) {
      // The dial's own reason, not its message: "node n3 is unreachable: " is added once, where it is thrown.
      const reason = error instanceof UnreachableNodeError
        ? String(error.details.reason)
        : error instanceof Error
        ? error.message
        : String(error);
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
    const tls = this.#tls;
    return dialHandshake(this.#host, () => connectPeer(target, tls), address, expected);
  }

  /** A connection a peer opened: turned away, or admitted to the handshake. */
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
    acceptHandshake(this.#host, socket, remote, release);
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
        this.#lookups.answer(frame.i, frame.address);
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
