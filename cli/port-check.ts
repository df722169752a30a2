/**
 * Checking, before a local cluster writes or starts anything, that the ports it will listen on
 * are free: a port held by another cluster would otherwise answer for a node that never
 * started.
 *
 * @module
 */
import { createServer } from "node:net";
import { AddressInUseError, InvalidRequestError } from "../core/errors.ts";

/** A port a command is about to listen on, and the flag that chooses it. */
export interface PlannedPort {
  /** Which listener (`"peer"`, `"client"`). */
  readonly listener: string;
  /** The host to bind. */
  readonly host: string;
  /** The port. */
  readonly port: number;
  /** The flag that moves it (`--client-base`). */
  readonly flag: string;
}

/**
 * Binds each port for a moment and releases it, in order.
 *
 * @throws {AddressInUseError} for the first port another process holds
 * @throws {InvalidRequestError} when a port cannot be bound for another reason (the host is
 *   not an address of this machine, a privileged port)
 */
export async function assertPortsFree(ports: readonly PlannedPort[]): Promise<void> {
  for (const planned of ports) {
    const code = await tryBind(planned.host, planned.port);
    if (code === undefined) continue;
    if (code === "EADDRINUSE") throw new AddressInUseError(planned.listener, `${planned.host}:${planned.port}`, planned.flag);
    throw new InvalidRequestError(`cannot listen on ${planned.host}:${planned.port} (${code}): choose another --host or ${planned.flag}`, {
      host: planned.host,
      port: planned.port,
      code,
    });
  }
}

/** Binds `host:port` and closes it; resolves to the error code if binding failed. */
function tryBind(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "EUNKNOWN"));
    // exclusive: a cluster-mode worker must not share a handle with the primary here.
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}
