/**
 * `host:port` addresses of peer and client ports.
 *
 * @module
 */

/** A parsed `host:port`. */
export interface HostPort {
  /** Host name or IP address (IPv6 without brackets). */
  readonly host: string;
  /** TCP port, 0..65535 (0: any free port, when listening). */
  readonly port: number;
}

/**
 * Parses `host:port` (`[::1]:7000` for IPv6); undefined when it is not one.
 *
 * @example
 * ```ts
 * parseAddress("127.0.0.1:7001"); // { host: "127.0.0.1", port: 7001 }
 * ```
 */
export function parseAddress(address: string): HostPort | undefined {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9._-]+)):(\d{1,5})$/.exec(address);
  if (!match) return undefined;
  const port = Number(match[3]);
  if (port > 65535) return undefined;
  return { host: match[1] ?? match[2]!, port };
}

/** Formats a host and port as an address (`[::1]:7000` for IPv6). */
export function formatAddress(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
