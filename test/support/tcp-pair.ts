/**
 * TCP transports for tests: real sockets on loopback, real time.
 *
 * @module
 */
import { createServer } from "node:net";
import type { Logger } from "../../core/interfaces/logger.ts";
import { silentLogger } from "../../core/interfaces/logger.ts";
import { systemClock, systemScheduler } from "../../core/runtime/system-runtime.ts";
import { SeededRandom } from "../../core/runtime/seeded-random.ts";
import { type TcpOptions, tcpPlugin, TcpTransport } from "../../plugins/transports/tcp/index.ts";

/** A free TCP port on loopback (bound and released; fine for tests on one machine). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A base port `b` with `count` free ports after it (`b + 1` to `b + count` on 127.0.0.1), for
 * a cluster whose nodes take consecutive ports.
 */
export async function freePortRange(count: number): Promise<number> {
  for (;;) {
    const b = (await freePort()) - 1;
    const free = await Promise.all(Array.from({ length: count }, (_, i) => portFree(b + 1 + i)));
    if (free.every(Boolean)) return b;
  }
}

/** True if `port` on 127.0.0.1 can be listened on now. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

/** Sleeps on a host timer that keeps the process alive (unlike the unref'd system scheduler). */
export function hostSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A logger that keeps warnings (to check rejections are logged with a reason). */
export function recordingLogger(): Logger & { readonly warnings: { message: string; fields?: Record<string, unknown> }[] } {
  const warnings: { message: string; fields?: Record<string, unknown> }[] = [];
  return {
    ...silentLogger,
    warn: (message, fields) => void warnings.push({ message, ...(fields ? { fields: { ...fields } } : {}) }),
    warnings,
  };
}

/** A TCP transport for node `id` with options given as config data (defaults applied). */
export function tcpTransport(id: string, options: Record<string, unknown>, logger: Logger = silentLogger): TcpTransport {
  const parsed: TcpOptions = tcpPlugin.parseOptions(options);
  return new TcpTransport(parsed, { self: id, scheduler: systemScheduler, clock: systemClock, random: new SeededRandom(7), logger });
}
