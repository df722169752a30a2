/**
 * The TCP transport plugin: nodes as separate processes, talking over the network.
 *
 * @module
 */
import { z } from "zod";
import { choose, definePlugin, type Plugin, type PluginChoice } from "../../../core/build/plugin.ts";
import { parseAddress } from "../../../core/model/address.ts";
import type { TcpOptions } from "./options.ts";
import { TcpTransport } from "./tcp-transport.ts";

export * from "../../../core/model/address.ts";
export * from "./options.ts";
export * from "./tcp-transport.ts";

const address = z.string().refine((a) => parseAddress(a) !== undefined, "must be host:port (e.g. 127.0.0.1:7001, [::1]:7001)");
const positive = z.number().int().positive();

const optionsSchema: z.ZodType<TcpOptions, unknown> = z
  .object({
    listen: address.default("127.0.0.1:0"),
    advertise: address.optional(),
    seeds: z.array(address).max(1000).default([]),
    peers: z.record(z.string().min(1), address).default({}),
    secret: z.string().min(16, "a cluster secret must have at least 16 characters").optional(),
    tls: z.object({ cert: z.string().min(1), key: z.string().min(1), ca: z.string().min(1).optional() }).strict().optional(),
    maxFrameBytes: positive.max(1024 * 1024 * 1024).default(64 * 1024 * 1024),
    maxHandshakeFrameBytes: positive
      .min(1024, "maxHandshakeFrameBytes must leave room for a hello (up to 1 KiB)")
      .max(1024 * 1024)
      .default(4 * 1024),
    maxUnauthenticatedConnections: positive.max(10_000).default(64),
    maxPendingRequests: positive.default(1024),
    maxBufferedBytes: positive.default(32 * 1024 * 1024),
    connectTimeoutMs: positive.default(3000),
    handshakeTimeoutMs: positive.default(5000),
    backoff: z
      .object({ minMs: positive.default(100), maxMs: positive.default(5000) })
      .strict()
      .refine((b) => b.minMs <= b.maxMs, "backoff.minMs must not exceed backoff.maxMs")
      .default({ minMs: 100, maxMs: 5000 }),
  })
  .strict();

/** The TCP transport plugin. */
export const tcpPlugin: Plugin<TcpOptions, "transport", undefined> = definePlugin({
  family: "transport",
  name: "tcp",
  description: "Length-prefixed MessagePack frames over TCP (or TLS), HMAC-authenticated peers, reconnect with back-off.",
  capabilities: { realTimeOnly: true },
  options: optionsSchema,
  create: ({ settings, scheduler, clock, random, logger }, options) =>
    new TcpTransport(options, { self: settings.id, scheduler, clock, random: random.fork("tcp"), logger }),
});

/**
 * Chooses the TCP transport.
 *
 * @example
 * ```ts
 * const build = store().use(tcp({ listen: "0.0.0.0:7001", advertise: "10.0.0.1:7001", seeds: ["10.0.0.2:7001"], secret }));
 * ```
 */
export function tcp(options: Partial<TcpOptions> = {}): PluginChoice<TcpOptions> {
  return choose(tcpPlugin, options);
}
