/**
 * Free loopback ports for the processes a benchmark or a test starts, chosen **outside the
 * kernel's ephemeral range**.
 *
 * A port the kernel handed out for `listen(0)` comes from the ephemeral range, the same range it
 * draws the source ports of outgoing connections from. Between the moment such a port is
 * released and the moment a node binds it, any connection on the machine (the nodes' own
 * connections to their peers included) may take it as its source port, and the node then
 * fails with "address in use". Ports below the ephemeral range are never taken that way, so a
 * port found free there stays free unless another listener binds it on purpose.
 *
 * The range: the larger side of Linux's `ip_local_port_range` (read from /proc; 32768-60999 by
 * default, so 10000-32767), and 20000-32767 where /proc is absent (below both Linux's default and
 * the IANA range 49152-65535 that macOS and Windows use). A port is drawn at random in it and
 * checked by binding it for a moment; one process never hands the same port out twice, and
 * parallel test processes, drawing from thousands, rarely draw the same one.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/** The lowest port handed out: above the registered ports most local services use. */
const LOWEST = 10_000;
/** Ports tried before giving up (a loaded machine still has thousands free). */
const TRIES = 1_000;

/** Fewest ports a range outside the ephemeral one needs to be used. */
const ENOUGH = 200;

/**
 * The ports to pick from, `[low, high]`, inclusive: none of them an ephemeral source port,
 * unless the ephemeral range leaves fewer than {@link ENOUGH} ports on either side (a machine
 * that hands out 1024-65535): then the fixed range, which the race can reach there.
 */
export function listeningPortRange(): readonly [number, number] {
  try {
    const [low, high] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
    if (low !== undefined && high !== undefined && Number.isInteger(low) && Number.isInteger(high)) {
      const below = low - LOWEST;
      const above = 65_535 - high;
      if (Math.max(below, above) >= ENOUGH) return below >= above ? [LOWEST, low - 1] : [high + 1, 65_535];
    }
  } catch {
    // Not Linux, or /proc not readable: the fixed range below.
  }
  return [20_000, 32_767];
}

/** Ports this process handed out already: never handed out twice, though each was free when checked. */
const handedOut = new Set<number>();

/** True if `port` on 127.0.0.1 can be listened on now (bound for a moment, then released). */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A TCP port on 127.0.0.1 outside the ephemeral range that was free a moment ago. */
export async function freePort(): Promise<number> {
  return (await freePortRange(1)) + 1;
}

/**
 * A base port `b` with `count` free ports after it (`b + 1` to `b + count` on 127.0.0.1), all
 * outside the ephemeral range, for a cluster whose nodes take consecutive ports.
 *
 * @throws {Error} when no such run of ports is found in {@link TRIES} draws
 */
export async function freePortRange(count: number): Promise<number> {
  const [low, high] = listeningPortRange();
  for (let tries = 0; tries < TRIES; tries++) {
    const base = low - 1 + Math.floor(Math.random() * (high - low + 2 - count));
    const ports = Array.from({ length: count }, (_, i) => base + 1 + i);
    if (ports.some((port) => handedOut.has(port))) continue;
    const free = await Promise.all(ports.map(portFree));
    if (!free.every(Boolean) || ports.some((port) => handedOut.has(port))) continue;
    for (const port of ports) handedOut.add(port);
    return base;
  }
  throw new Error(`no ${count} consecutive free ports found in ${low}-${high} on 127.0.0.1`);
}
