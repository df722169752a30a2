/**
 * TCP transports for tests: real sockets on loopback, real time.
 *
 * @module
 */
import type { Logger } from "../../core/interfaces/logger.ts";
import { silentLogger } from "../../core/interfaces/logger.ts";
import { systemClock, systemScheduler } from "../../core/runtime/system-runtime.ts";
import { SeededRandom } from "../../core/runtime/seeded-random.ts";
import { type TcpOptions, tcpPlugin, TcpTransport } from "../../plugins/transports/tcp/index.ts";

// Ports outside the kernel's ephemeral range: see bench/free-port.ts for why.
export { freePort, freePortRange } from "../../bench/free-port.ts";

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
