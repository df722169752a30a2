/**
 * Peer sockets, plain TCP or TLS: the listening server and the dialling socket, set up the same
 * way for both runtimes. What runs over them (the handshake, frames) is the transport's.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { connect as netConnect, createServer as createNetServer, type Server, type Socket } from "node:net";
import { connect as tlsConnect, createServer as createTlsServer } from "node:tls";
import { formatAddress, type HostPort } from "../../../core/model/address.ts";
import type { TcpTlsOptions } from "./options.ts";

/** The contents of a transport's TLS files. */
export interface TlsMaterial {
  /** Certificate chain (PEM). */
  readonly cert: Buffer;
  /** Private key (PEM). */
  readonly key: Buffer;
  /** The cluster's CA (PEM), when configured. */
  readonly ca?: Buffer;
}

/** Reads the PEM files `tls` names. */
export async function readTls(tls: TcpTlsOptions): Promise<TlsMaterial> {
  const [cert, key, ca] = await Promise.all([
    readFile(tls.cert),
    readFile(tls.key),
    tls.ca ? readFile(tls.ca) : Promise.resolve(undefined),
  ]);
  return { cert, key, ...(ca ? { ca } : {}) };
}

/**
 * A server for peer connections, TLS with `tls` (whose handshake must end within
 * `handshakeTimeoutMs`), plain TCP without. Not yet listening.
 */
export function peerServer(tls: TlsMaterial | undefined, handshakeTimeoutMs: number, onSocket: (socket: Socket) => void): Server {
  return tls
    // No client certificates: the dialling side checks the server's certificate against the
    // CA, and the cluster secret authenticates both sides (Deno's node:tls cannot yet
    // request client certificates, and the secret makes them redundant).
    ? createTlsServer({ cert: tls.cert, key: tls.key, handshakeTimeout: handshakeTimeoutMs }, onSocket)
    : createNetServer(onSocket);
}

/** Opens a socket to a peer at `target`, TLS with `tls` (checking the CA when it has one). */
export function connectPeer(target: HostPort, tls: TlsMaterial | undefined): Socket {
  return tls
    ? tlsConnect({
      host: target.host,
      port: target.port,
      ...(tls.ca ? { ca: tls.ca } : {}),
      rejectUnauthorized: tls.ca !== undefined,
      // Peers are named by the cluster secret, not by host name: accept any name the CA signed.
      checkServerIdentity: () => undefined,
    })
    : netConnect({ host: target.host, port: target.port });
}

/** A socket's remote end as `host:port`, for logs. */
export function remoteOf(socket: Socket): string {
  return socket.remoteAddress ? formatAddress(socket.remoteAddress, socket.remotePort ?? 0) : "unknown";
}
