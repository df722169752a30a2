/**
 * Options of the TCP transport (plain data: a store config is JSON). The plugin's schema
 * (./index.ts) validates them and fills in the defaults documented here.
 *
 * @module
 */
import type { NodeId } from "../../../core/model/sibling.ts";

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
   * connection beyond it is closed on arrival, counted in the transport's `stats.turnedAway`,
   * and logged at most once per 10 s. Authenticated peers do not count, and keep working while
   * the limit is reached. Default 64.
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
