/**
 * One node as an operating-system process: its engine on disk, the TCP transport on a peer
 * port, the HTTP API on a client port, and a clean shutdown. `ringforge start` runs this.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { z } from "zod";
import { type PluginRef, type ResolvedStore, resolveStoreConfig, type StoreConfig } from "../core/build/config.ts";
import { buildNode, createRootContainer } from "../core/build/node-build.ts";
import { parseWith } from "../core/build/plugin.ts";
import type { PluginRegistry } from "../core/build/registry.ts";
import { AddressInUseError, InvalidConfigError, NotRunningError } from "../core/errors.ts";
import { consoleLogger, type Logger, type LogLevel } from "../core/interfaces/logger.ts";
import type { RingforgeNode } from "../core/node/ringforge-node.ts";
import { systemRuntime } from "../core/runtime/runtime.ts";
import { parseAddress } from "../core/model/address.ts";
import { createHttpApi, errorBody } from "./http-api.ts";
import { NodeMetrics } from "./metrics.ts";
import { clockSettingSchema, clockStatus, nodeClock } from "./node-clock.ts";

/** PEM files for a TLS listener. */
export interface TlsFiles {
  /** Certificate chain (PEM file path). */
  readonly cert: string;
  /** Private key (PEM file path). */
  readonly key: string;
  /** CA of the cluster's peer certificates (peer port only; PEM file path). */
  readonly ca?: string;
}

/**
 * A node process's clock against the machine's at start: `clock` in a node config. For testing
 * clock skew on real processes (the lab's `skew` and `drift` faults); never needed in
 * production. `POST /admin/clock` changes it while the node runs.
 */
export interface NodeClockConfig {
  /**
   * The node's clock reads this far ahead of the machine's clock, ms (negative: behind). A
   * finite number; default 0.
   */
  readonly offsetMs?: number;
  /**
   * The node's clock runs `1 + driftRate` times as fast as the machine's (`0.05`: 5% fast, it
   * gains 50 ms a second; negative: slow). A finite number above -1; default 0.
   */
  readonly driftRate?: number;
}

/**
 * A node process described as data: the file `ringforge start --config` reads (flags override
 * its fields).
 *
 * @example
 * ```json
 * {
 *   "id": "n1",
 *   "peer": { "listen": "127.0.0.1:7001" },
 *   "client": { "listen": "127.0.0.1:8001" },
 *   "seeds": ["127.0.0.1:7002", "127.0.0.1:7003"],
 *   "dataDir": "data",
 *   "store": { "nodes": ["n1", "n2", "n3"], "replication": { "n": 3, "r": 2, "w": 2 } }
 * }
 * ```
 */
export interface NodeProcessConfig {
  /** This node's id: one of `store.nodes`, or a new id, which then joins the ring at start. */
  readonly id: string;
  /** The peer port: node-to-node traffic. */
  readonly peer: {
    /** `host:port` to listen on. */
    readonly listen: string;
    /** `host:port` peers dial (when it differs from `listen`, e.g. `0.0.0.0`). */
    readonly advertise?: string;
    /** TLS for peer connections. */
    readonly tls?: TlsFiles;
  };
  /** The client port: the HTTP API. */
  readonly client: {
    /** `host:port` to listen on. */
    readonly listen: string;
    /** Bearer token every client request must carry (default: none). */
    readonly token?: string;
    /** HTTPS instead of HTTP. */
    readonly tls?: TlsFiles;
    /** Client requests in progress at once before 503. Default 4096. */
    readonly maxInflight?: number;
    /** Open client connections at most; more are refused at accept. Default 1024. */
    readonly maxConnections?: number;
    /** Time a client has to send a request's headers, ms. Default 10,000. */
    readonly headersTimeoutMs?: number;
    /** Time a client has to send a whole request (headers and body), ms. Default 30,000. */
    readonly receiveTimeoutMs?: number;
    /** An idle keep-alive connection is closed after this long, ms. Default 5,000. */
    readonly keepAliveTimeoutMs?: number;
  };
  /** Peer addresses to contact at start (the other nodes, or a few of them). */
  readonly seeds: readonly string[];
  /** The cluster secret (at least 16 characters); `RINGFORGE_SECRET` in the environment also sets it. */
  readonly secret?: string;
  /** Where the engine keeps its files (`<dataDir>/<id>`). Default `data`. */
  readonly dataDir: string;
  /** Log level. Default `info`. */
  readonly logLevel: LogLevel;
  /**
   * The store config (as for an in-process cluster), shared by every node of the cluster. Defaults for
   * processes differ from in-process ones where a real cluster needs it: engine `lsm` (in
   * `dataDir`), detector `swim`, anti-entropy `merkle`; the transport is always `tcp`.
   */
  readonly store: StoreConfig;
  /**
   * An id for this run, reported as `runId` in `GET /status`: `ringforge cluster` gives each
   * run a fresh one, so its readiness check counts only its own nodes, never another
   * cluster's processes already listening on the same ports.
   */
  readonly runId?: string;
  /**
   * Offsets and drifts this node's clock from the machine's, for testing clock skew (default:
   * the machine's clock as is). Only what the node reads from its clock changes (last-write-wins
   * timestamps, ages, deadlines); its timers keep the machine's time.
   */
  readonly clock?: NodeClockConfig;
}

const address = z.string().refine((a) => parseAddress(a) !== undefined, "must be host:port (e.g. 127.0.0.1:7001)");
// Node's timers take at most 2^31-1 ms; beyond that they fire at once.
const timeoutMs = z.number().int().positive().max(2 ** 31 - 1);
const tlsFiles = z.object({ cert: z.string().min(1), key: z.string().min(1), ca: z.string().min(1).optional() }).strict();

const configSchema: z.ZodType<NodeProcessConfig, unknown> = z
  .object({
    id: z.string().regex(
      /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/,
      "a node id is letters, digits and . _ : - (starting with a letter or digit)",
    ),
    peer: z.object({ listen: address, advertise: address.optional(), tls: tlsFiles.optional() }).strict(),
    client: z
      .object({
        listen: address,
        token: z.string().min(8, "a bearer token must have at least 8 characters").optional(),
        tls: tlsFiles.omit({ ca: true }).optional(),
        maxInflight: z.number().int().positive().optional(),
        maxConnections: z.number().int().positive().optional(),
        headersTimeoutMs: timeoutMs.optional(),
        receiveTimeoutMs: timeoutMs.optional(),
        keepAliveTimeoutMs: timeoutMs.optional(),
      })
      .strict(),
    seeds: z.array(address).default([]),
    secret: z.string().min(16, "a cluster secret must have at least 16 characters").optional(),
    dataDir: z.string().min(1).default("data"),
    logLevel: z.enum(["debug", "info", "warn", "error"]).default("info"),
    store: z.record(z.string(), z.unknown()).default({}),
    runId: z.string().min(1).max(128).optional(),
    clock: clockSettingSchema.optional(),
  })
  .strict() as unknown as z.ZodType<NodeProcessConfig, unknown>;

/** Validates a node process config (data or parsed JSON), applying defaults. */
export function parseNodeProcessConfig(raw: unknown): NodeProcessConfig {
  return parseWith(configSchema, raw);
}

/** A running node process. */
export interface NodeProcess {
  /** The node. */
  readonly node: RingforgeNode;
  /** Its store as resolved (plugins and options). */
  readonly store: ResolvedStore;
  /** Where peers reach it. */
  readonly peerAddress: string;
  /** The client API's base URL. */
  readonly url: string;
  /**
   * Shuts down cleanly: stops accepting client connections, finishes the requests in
   * progress, stops the node (which drains its coordinations, stops membership and the
   * transport, and closes the engine: the commit log is synced, hints stay on disk).
   * Idempotent.
   */
  stop(): Promise<void>;
  /** Resolves once the process has stopped (by {@link stop}, or after `POST /admin/leave`). */
  readonly stopped: Promise<void>;
}

/** Options of {@link startNodeProcess}. */
export interface StartOptions {
  /** Where plugin names resolve. */
  readonly registry: PluginRegistry;
  /** Log sink per node (default: console at the config's level). */
  readonly logger?: Logger;
}

/** The store config with the process defaults and the per-process transport filled in. */
export function processStore(config: NodeProcessConfig): StoreConfig {
  const store = config.store;
  const withDirectory = (ref: PluginRef | undefined, fallback: string): PluginRef => {
    const name = ref === undefined ? fallback : typeof ref === "string" ? ref : ref.name;
    const options = typeof ref === "object" ? { ...ref.options } : {};
    if ((name === "lsm" || name === "level") && options.directory === undefined) options.directory = config.dataDir;
    return { name, options };
  };
  const transport = store.transport;
  const transportName = transport === undefined ? "tcp" : typeof transport === "string" ? transport : transport.name;
  if (transportName !== "tcp") {
    throw new InvalidConfigError([{
      path: "store.transport",
      message: `a node process talks to its peers over tcp, not "${transportName}"`,
    }]);
  }
  return {
    ...store,
    detector: store.detector ?? "swim",
    antiEntropy: store.antiEntropy ?? "merkle",
    engine: withDirectory(store.engine, "lsm"),
    transport: {
      name: "tcp",
      options: {
        ...(typeof transport === "object" ? transport.options : {}),
        listen: config.peer.listen,
        ...(config.peer.advertise ? { advertise: config.peer.advertise } : {}),
        seeds: config.seeds,
        ...(config.secret ? { secret: config.secret } : {}),
        ...(config.peer.tls ? { tls: config.peer.tls } : {}),
      },
    },
  };
}

/**
 * Starts a node process: builds the node from the config on the system runtime, starts it
 * (joining the ring if its id is not a configured member), and serves the HTTP API.
 *
 * @example
 * ```ts
 * const running = await startNodeProcess(parseNodeProcessConfig(json), { registry: builtinPlugins });
 * process.on("SIGTERM", () => void running.stop());
 * ```
 */
export async function startNodeProcess(config: NodeProcessConfig, options: StartOptions): Promise<NodeProcess> {
  const logger = options.logger ?? consoleLogger(config.id, config.logLevel);
  const store = resolveStoreConfig(processStore(config), options.registry);
  // Always a drifting clock, so a running node's clock can be skewed (POST /admin/clock) even
  // when its config set none; at offset 0 and rate 0 it reads exactly the machine's clock.
  const clock = nodeClock(config.clock);
  if (clock.offset !== 0 || clock.rate !== 0) {
    logger.info("clock offset from the machine's (testing clock skew)", { ...clockStatus(clock) });
  }
  const runtime = systemRuntime({ logger: () => logger, clock: () => clock });
  const root = createRootContainer(store, runtime);
  const member = store.members.find((m) => m.id === config.id);
  const { node } = buildNode(root, store, config.id, member ?? { id: config.id });

  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  let stopping: Promise<void> | undefined;
  const metrics = new NodeMetrics(node, store);
  const app = createHttpApi(node, {
    logger,
    metrics,
    store,
    clock,
    ...(config.client.token ? { token: config.client.token } : {}),
    ...(config.client.maxInflight ? { maxInflight: config.client.maxInflight } : {}),
    ...(config.runId ? { runId: config.runId } : {}),
    onLeft: () => void stop(),
  });
  // Both ports are bound before the engine opens (the client port here, the peer port first
  // thing in node.start()), so a second process on the same ports fails before it touches the
  // data directory. Until the node runs, every request gets 503 "starting".
  let serving = false;
  const starting = () => Response.json(errorBody(new NotRunningError(`node ${config.id} (starting)`)), { status: 503 });
  const server = await listenClient(config, logger, (request) => (serving ? app.fetch(request) : starting()));
  const url = server.url;
  const closeServer = async () => {
    const closed = new Promise<void>((resolve) => server.http.close(() => resolve()));
    server.http.closeIdleConnections?.();
    server.http.closeAllConnections?.();
    await closed;
  };
  try {
    await node.start().catch((error: unknown) => {
      throw addressInUse(error, "peer", config.peer.listen, "--peer (peer.listen in a node config)") ?? error;
    });
    if (!member) {
      logger.info("not a configured member: joining the ring", { node: config.id });
      try {
        const joined = await node.join();
        logger.info("joined", { streamedKeys: joined.streamed, bytes: joined.bytes, epoch: joined.view.epoch });
      } catch (error) {
        await node.stop();
        throw error;
      }
    }
  } catch (error) {
    await closeServer();
    throw error;
  }
  serving = true;
  const transport = node.services.transport as { address?: string };
  logger.info("node ready", { node: node.id, peer: transport.address, client: url });

  const stop = (): Promise<void> => (stopping ??= (async () => {
    logger.info("shutting down", { node: node.id });
    const closed = new Promise<void>((resolve) => server.http.close(() => resolve()));
    server.http.closeIdleConnections?.();
    await node.stop();
    // Connections still open after the node stopped are idle keep-alives or stuck clients.
    server.http.closeAllConnections?.();
    await closed;
    logger.info("stopped", { node: node.id });
    resolveStopped();
  })());

  return { node, store, peerAddress: transport.address ?? config.peer.listen, url, stop, stopped };
}

/** The parts of Node's HTTP server the process uses. */
interface ClientServer {
  readonly http: HttpServerSettings;
  readonly url: string;
}

/**
 * Binds the client port and serves `fetch` on it, with the connection limits and timeouts of
 * the config (Node's defaults allow 300 s per request and any number of connections).
 */
async function listenClient(
  config: NodeProcessConfig,
  logger: Logger,
  fetch: (request: Request) => Response | Promise<Response>,
): Promise<ClientServer> {
  const listen = parseAddress(config.client.listen)!;
  const tls = config.client.tls ? { key: await readFile(config.client.tls.key), cert: await readFile(config.client.tls.cert) } : undefined;
  const c = config.client;
  const headersTimeout = c.headersTimeoutMs ?? 10_000;
  const limits = {
    headersTimeout,
    requestTimeout: Math.max(headersTimeout, c.receiveTimeoutMs ?? 30_000),
    keepAliveTimeout: c.keepAliveTimeoutMs ?? 5_000,
    // Node checks the two timeouts above only this often (30 s by default), so a slow client
    // would hold its connection that much longer.
    connectionsCheckingInterval: Math.min(1000, headersTimeout),
  };
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve(
      {
        fetch,
        port: listen.port,
        hostname: listen.host,
        serverOptions: { ...limits, ...tls },
        ...(tls ? { createServer: createHttpsServer } : {}),
      },
      () => resolve(s),
    );
    s.once("error", reject);
  }).catch((error: unknown) => {
    throw addressInUse(error, "client", config.client.listen, "--client (client.listen in a node config)") ?? error;
  });
  const http = server as unknown as HttpServerSettings;
  http.maxConnections = c.maxConnections ?? 1024;
  server.on("error", (error) => logger.error("client server error", { error: String(error) }));
  const bound = server.address() as AddressInfo;
  const host = listen.host.includes(":") ? `[${listen.host}]` : listen.host;
  return { http, url: `${tls ? "https" : "http"}://${host}:${bound.port}` };
}

/** The parts of node:http's Server (and node:https's) this process uses. */
interface HttpServerSettings {
  maxConnections: number;
  close(callback: () => void): void;
  closeIdleConnections?(): void;
  closeAllConnections?(): void;
}

/** `error` as an {@link AddressInUseError} if it is EADDRINUSE, else undefined. */
function addressInUse(error: unknown, listener: string, address: string, setting: string): AddressInUseError | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "EADDRINUSE" ? new AddressInUseError(listener, address, setting) : undefined;
}
