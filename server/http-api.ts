/**
 * The client HTTP API of a node, built with Hono (web standards: it runs under Node through
 * `@hono/node-server` and under Deno as is).
 *
 * - `GET /kv/:key` — one live value: `200` with its bytes as the body; none: `404`; concurrent
 *   siblings: `300 Multiple Choices` with `{ siblings: [{ value: base64 }], context }`. The
 *   causal context is in the `X-Ringforge-Context` header of every answer (as Riak's
 *   `X-Riak-Vclock`). `?r=` overrides R, `?timeout=` the time limit (ms).
 * - `PUT /kv/:key` — the body is the value; send back the context of the read it is based on
 *   in `X-Ringforge-Context`. `?w=` overrides W. `204` with the new context.
 * - `DELETE /kv/:key` — writes a tombstone; same headers and options as `PUT`.
 * - Conditional writes (compare-and-set, linearizable through the store's consensus):
 *   `If-Match: <version>` on `PUT`/`DELETE` writes only if the key is still at that version (the
 *   context of a read; `GET` also answers it as the `ETag`), `If-None-Match: *` only if the key
 *   has no value. Otherwise `412 RINGFORGE_PRECONDITION_FAILED`, with the key's current version
 *   in `X-Ringforge-Context` and `ETag` and in the error's `details.version`.
 * - `?consistency=count|local-quorum|each-quorum|linearizable` on any `/kv` request; with
 *   `linearizable` the request goes through the consensus (see docs/linearizable.md).
 * - Sessions (read-your-writes, monotonic reads across nodes): a `/kv` request may carry a
 *   `Ringforge-Session` token holding what the client's session requires of that key; the node
 *   reads or writes in that session and answers with the key's updated token (and, if it had to
 *   leave contexts out to stay within the token's bounds, `Ringforge-Session-Forgotten`). A
 *   read that cannot meet the session fails with `503 RINGFORGE_STALE_READ`, the session
 *   unchanged. See docs/sessions.md.
 * - `GET /status` — this node, members and liveness, ring ownership, hints, repair counters,
 *   client traffic of the last seconds, the autoscaler's last decision (if one runs).
 * - `GET /status/cluster` — every member's own `/status`, gathered over the peer transport (a
 *   member that does not answer within a second is listed with the reason).
 * - `GET /ui` — the live view: one self-contained page that polls `/status/cluster`. The page
 *   itself holds no data and is served without the bearer token; the figures it fetches need it.
 * - `GET /metrics` — Prometheus text format.
 * - `POST /admin/leave` — decommission this node (hand off its data, then stop).
 * - `POST /admin/scaler` — the autoscaler running the cluster reports its last decision (JSON,
 *   `ScalerStatus`); kept in memory and served in `GET /status` as `scaler`. `204`.
 * - `POST /admin/clock` — offsets (`offsetMs`: a step) and drifts (`driftRate`) this node's
 *   clock from the machine's (JSON `{ offsetMs?, driftRate? }`, at least one), for testing clock
 *   skew on real processes; `200` with the clock now, `{ offsetMs, driftRate }`, which
 *   `GET /status` also serves as `clock` while either is not zero. Only a node built with an
 *   adjustable clock (`clock` option; a node process's always is) takes it, else `400`.
 * - `GET /admin/local/:key` — this replica's own record for the key (debugging, tests).
 *
 * Errors are JSON `{ error: { code, message, details } }`: 400 invalid key, context, session
 * token or option; 401 missing or wrong bearer token; 409 sibling limit; 412 precondition failed; 413 value too large;
 * 503 quorum not reached (with `required` and `acknowledged`), stale read (a session the
 * answering replicas are behind), overloaded or not running; 504 timeout.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { timingSafeEqual } from "node:crypto";
import { type Context, Hono, type MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ResolvedStore } from "../core/build/config.ts";
import {
  InvalidKeyError,
  InvalidMessageError,
  InvalidRequestError,
  InvalidValueError,
  OverloadedError,
  PreconditionFailedError,
  RingforgeError,
  UnauthorizedError,
} from "../core/errors.ts";
import type { Logger } from "../core/interfaces/logger.ts";
import type { Message } from "../core/interfaces/transport.ts";
import type { CausalContext } from "../core/model/causal-context.ts";
import type { PutOptions, RingforgeNode } from "../core/node/ringforge-node.ts";
import type { Consistency } from "../core/model/settings.ts";
import { Session } from "../core/client/session.ts";
import { decodeSessionToken, encodeSessionToken, SESSION_FORGOTTEN_HEADER, SESSION_HEADER } from "../client/session-token.ts";
import { NodeMetrics } from "./metrics.ts";
import type { ApiOperation } from "./traffic-window.ts";
import type { DriftingClock } from "../core/runtime/drifting-clock.ts";
import { adjustClock, clockStatus, parseClockSetting } from "./node-clock.ts";
import { type ClusterMemberStatus, type ClusterStatus, LastScalerDecision, type NodeStatus, nodeStatus } from "./node-status.ts";
import { LIVE_VIEW_CSP, LIVE_VIEW_PAGE } from "./ui/live-view-page.ts";

/** The request and response header carrying the causal context. */
export const CONTEXT_HEADER = "X-Ringforge-Context";

/** Options of {@link createHttpApi}. */
export interface HttpApiOptions {
  /** Where rejections and failures are logged. */
  readonly logger: Logger;
  /** If set, every request must carry `Authorization: Bearer <token>`. */
  readonly token?: string;
  /** Largest request body, bytes. Default: the store's value limit. */
  readonly maxBodyBytes?: number;
  /** Client requests in progress at once before new ones get 503. Default 4096. */
  readonly maxInflight?: number;
  /** Metrics to record into (one is created if omitted). */
  readonly metrics?: NodeMetrics;
  /** The resolved config the node was built from (names its plugins in `/status`). */
  readonly store?: ResolvedStore;
  /** Called by `POST /admin/leave` once the node has handed off its data and stopped. */
  readonly onLeft?: () => void;
  /** This process's run id, reported in `GET /status` (a node process's `runId`). */
  readonly runId?: string;
  /**
   * The clock the node reads, if it can be offset and drifted (a node process's, made by its
   * runtime's `clockFor`): `POST /admin/clock` sets it and `GET /status` reports it. Without
   * it, `POST /admin/clock` answers `400`.
   */
  readonly clock?: DriftingClock;
}

const STATUS_PREFIX = "status.";
const STATUS_GET = "status.get";
const STATUS_REPORT = "status.report";
/** Largest body `POST /admin/scaler` accepts. */
const SCALER_BODY_BYTES = 16 * 1024;
/** Largest body `POST /admin/clock` accepts (two numbers). */
const CLOCK_BODY_BYTES = 1024;
/** How long `/status/cluster` waits for a member's status. */
const CLUSTER_STATUS_TIMEOUT_MS = 1000;

/** The HTTP status of an error a request ended with. */
export function statusOf(error: RingforgeError): ContentfulStatusCode {
  switch (error.code) {
    case "RINGFORGE_INVALID_KEY":
    case "RINGFORGE_INVALID_CONTEXT":
    case "RINGFORGE_INVALID_REQUEST":
    case "RINGFORGE_INVALID_CONFIG":
      return 400;
    case "RINGFORGE_INVALID_VALUE":
      return (error as InvalidValueError).reason === "too-large" ? 413 : 400;
    case "RINGFORGE_UNAUTHORIZED":
      return 401;
    case "RINGFORGE_SIBLING_LIMIT":
    case "RINGFORGE_RECORD_TOO_LARGE": // the client resolves siblings first, as for the sibling limit
    case "RINGFORGE_MEMBERSHIP_CONFLICT":
      return 409;
    case "RINGFORGE_PRECONDITION_FAILED":
      return 412;
    case "RINGFORGE_QUORUM_NOT_REACHED":
    case "RINGFORGE_OVERLOADED":
    case "RINGFORGE_NOT_RUNNING":
    case "RINGFORGE_STORAGE_IO": // this replica's disk failed; another node may take the request
    case "RINGFORGE_STALE_READ": // the replicas that answered are behind the session: retry later
    case "RINGFORGE_UNREACHABLE":
    case "RINGFORGE_CONNECTION_LOST":
      return 503;
    case "RINGFORGE_TIMEOUT":
      return 504;
    default:
      return 500;
  }
}

/** The JSON body of an error answer. */
export interface ErrorBody {
  /** The error. */
  readonly error: {
    /** Stable code (`RINGFORGE_...`). */
    readonly code: string;
    /** Human-readable message. */
    readonly message: string;
    /** The numbers that explain it (`required`, `acknowledged`...). */
    readonly details: Record<string, unknown>;
  };
}

/** The JSON body of an error answer. */
export function errorBody(error: RingforgeError): ErrorBody {
  return { error: { code: error.code, message: error.message, details: error.details } };
}

/**
 * Builds the Hono app serving `node`. Serve it with `@hono/node-server` (see
 * {@link startNodeProcess}) or `Deno.serve(app.fetch)`.
 *
 * @example
 * ```ts
 * const app = createHttpApi(node, { logger: consoleLogger("n1") });
 * const res = await app.request("/kv/a", { method: "PUT", body: "hello" });
 * ```
 */
export function createHttpApi(node: RingforgeNode, options: HttpApiOptions): Hono {
  const app = new Hono();
  const { logger } = options;
  const metrics = options.metrics ?? new NodeMetrics(node, options.store);
  const maxBody = options.maxBodyBytes ?? node.services.settings.limits.maxValueBytes;
  const maxInflight = options.maxInflight ?? 4096;
  let inflight = 0;

  const fail = (c: Context, error: RingforgeError) => {
    const status = statusOf(error);
    if (error instanceof PreconditionFailedError) {
      // The key's version now, where a client looks for it: retry with If-Match: <this>.
      c.header(CONTEXT_HEADER, error.version);
      c.header("ETag", etag(error.version));
    }
    if (status === 401 || status === 413) {
      logger.warn("client request refused", { path: c.req.path, code: error.code, reason: error.message });
    }
    return c.json(errorBody(error), status);
  };

  app.onError((error, c) => {
    if (error instanceof RingforgeError) return fail(c, error);
    logger.error("client request failed", { path: c.req.path, error: error instanceof Error ? error.stack : String(error) });
    return c.json({ error: { code: "RINGFORGE_INTERNAL", message: "internal error (logged on the node)", details: {} } }, 500);
  });
  app.notFound((c) =>
    c.json({ error: { code: "RINGFORGE_NOT_FOUND", message: `no route ${c.req.method} ${c.req.path}`, details: {} } }, 404)
  );

  const scaler = new LastScalerDecision();
  const status = (): Promise<NodeStatus> =>
    nodeStatus(node, options.store, options.runId, metrics.traffic(), scaler.get(), options.clock && clockStatus(options.clock));

  // Peers ask for this node's status over the transport (authenticated by the cluster secret),
  // so one node can gather the cluster's for /status/cluster. The last API built for a node answers.
  node.services.router.off(STATUS_PREFIX);
  node.services.router.on(STATUS_PREFIX, async (message: Message): Promise<Message> => {
    if (message.type !== STATUS_GET) throw new InvalidMessageError(`unexpected status message ${message.type}`);
    return { type: STATUS_REPORT, status: await status() };
  });

  // The page is the same for everyone and holds no data; the figures it fetches need the token.
  app.get("/ui", (c) =>
    c.html(LIVE_VIEW_PAGE, 200, {
      "Content-Security-Policy": LIVE_VIEW_CSP,
      "Cache-Control": "no-cache",
      "X-Content-Type-Options": "nosniff",
    }));

  if (options.token !== undefined) {
    const expected = Buffer.from(options.token);
    app.use("*", async (c, next) => {
      if (c.req.path === "/ui" && c.req.method === "GET") return next();
      const header = c.req.header("authorization") ?? "";
      const match = /^Bearer\s+(.+)$/i.exec(header);
      const given = match ? Buffer.from(match[1]!.trim()) : undefined;
      if (!given || given.length !== expected.length || !timingSafeEqual(given, expected)) {
        c.header("WWW-Authenticate", 'Bearer realm="ringforge"');
        return fail(c, new UnauthorizedError(given ? "wrong bearer token" : "missing bearer token"));
      }
      await next();
    });
  }

  /** Runs a timed, counted, bounded client operation. */
  const operation = async (c: Context, op: ApiOperation, run: () => Promise<Response>): Promise<Response> => {
    if (inflight >= maxInflight) return fail(c, new OverloadedError("client requests in progress", maxInflight));
    inflight++;
    const started = performance.now();
    let outcome = "error";
    try {
      const response = await run();
      outcome = response.status === 404 ? "not_found" : response.status === 300 ? "siblings" : "ok";
      return response;
    } catch (error) {
      if (error instanceof RingforgeError) outcome = error.code.replace(/^RINGFORGE_/, "").toLowerCase();
      throw error;
    } finally {
      inflight--;
      metrics.observe(op, outcome, (performance.now() - started) / 1000);
    }
  };

  // An empty key gets the same typed 400 as any other bad key, not "no route".
  for (const path of ["/kv", "/kv/"]) {
    app.on(["GET", "PUT", "DELETE"], path, (c) => fail(c, new InvalidKeyError("empty")));
  }

  app.get("/kv/:key{.+}", (c) =>
    operation(c, "get", async () => {
      const key = keyOf(c);
      const session = requestSession(c, key);
      const result = await node.get(key, { r: intParam(c, "r"), timeoutMs: intParam(c, "timeout"), ...consistencyParam(c), ...session });
      answerSession(c, key, session);
      c.header(CONTEXT_HEADER, result.context);
      c.header("ETag", etag(result.context));
      if (result.values.length === 0) {
        return c.json({ error: { code: "RINGFORGE_NOT_FOUND", message: "no live value for this key", details: {} } }, 404);
      }
      if (result.values.length === 1) {
        return c.body(bodyOf(result.values[0]!), 200, { "Content-Type": "application/octet-stream" });
      }
      return c.json(
        { siblings: result.values.map((v) => ({ value: Buffer.from(v).toString("base64") })), context: result.context },
        300,
      );
    }));

  const bounded = boundedBody({
    maxSize: maxBody,
    onError: (c) => fail(c, new InvalidValueError("too-large", undefined, maxBody)),
  });

  app.put("/kv/:key{.+}", bounded, (c) =>
    operation(c, "put", async () => {
      const value = new Uint8Array(await c.req.arrayBuffer());
      const key = keyOf(c);
      const session = requestSession(c, key);
      const result = await node.put(key, value, { ...writeOptions(c), ...session });
      answerSession(c, key, session);
      c.header(CONTEXT_HEADER, result.context);
      return c.body(null, 204);
    }));

  app.delete("/kv/:key{.+}", (c) =>
    operation(c, "delete", async () => {
      const key = keyOf(c);
      const session = requestSession(c, key);
      const result = await node.delete(key, { ...writeOptions(c), ...session });
      answerSession(c, key, session);
      c.header(CONTEXT_HEADER, result.context);
      return c.body(null, 204);
    }));

  app.get("/status", async (c) => c.json(await status()));

  app.get("/status/cluster", async (c) => {
    const own = await status();
    const ids = own.members.map((m) => m.id).filter((id) => id !== node.id);
    const others = await Promise.all(ids.map(async (id): Promise<ClusterMemberStatus> => {
      try {
        const reply = await node.services.transport.request(id, { type: STATUS_GET }, { timeoutMs: CLUSTER_STATUS_TIMEOUT_MS });
        if (reply.type !== STATUS_REPORT || typeof reply.status !== "object" || reply.status === null) {
          return { id, error: `unexpected answer ${String(reply.type)}` };
        }
        return { id, status: reply.status as NodeStatus };
      } catch (error) {
        return { id, error: error instanceof Error ? error.message : String(error) };
      }
    }));
    const body: ClusterStatus = { node: node.id, at: Date.now(), members: [{ id: node.id, status: own }, ...others] };
    return c.json(body);
  });

  app.get("/metrics", async (c) => c.text(await metrics.text(), 200, { "Content-Type": metrics.contentType }));

  app.post("/admin/leave", (c) => {
    if (!node.running) return fail(c, new InvalidRequestError(`node ${node.id} is not running`));
    // Refuse now what the leave would refuse later, rather than answer 202 and fail in the log.
    node.assertCanLeave();
    node.leave().then(
      () => {
        logger.info("left the cluster", { node: node.id });
        options.onLeft?.();
      },
      (error: unknown) => logger.error("leave failed; the node keeps running with its data", { error: String(error) }),
    );
    return c.json({ node: node.id, leaving: true }, 202);
  });

  // The autoscaler's last decision, for `ringforge status` and the live view. Behind the bearer
  // token like every /admin route; a decision is a few hundred bytes.
  app.post(
    "/admin/scaler",
    boundedBody({
      maxSize: SCALER_BODY_BYTES,
      onError: (c) => fail(c, new InvalidRequestError(`a decision is at most ${SCALER_BODY_BYTES} bytes`)),
    }),
    async (c) => {
      let body: unknown;
      try {
        body = await c.req.json();
      } catch {
        return fail(c, new InvalidRequestError("POST /admin/scaler takes a JSON body"));
      }
      scaler.set(body);
      return c.body(null, 204);
    },
  );

  // Testing clock skew on real processes: the lab's skew and drift faults. Behind the bearer
  // token like every /admin route. A refused body changes nothing.
  app.post(
    "/admin/clock",
    boundedBody({
      maxSize: CLOCK_BODY_BYTES,
      onError: (c) => fail(c, new InvalidRequestError(`a clock setting is at most ${CLOCK_BODY_BYTES} bytes`)),
    }),
    async (c) => {
      const clock = options.clock;
      if (clock === undefined) {
        return fail(c, new InvalidRequestError(`node ${node.id} reads its runtime's clock as is: it cannot be offset`));
      }
      let body: unknown;
      try {
        body = await c.req.json();
      } catch {
        return fail(c, new InvalidRequestError("POST /admin/clock takes a JSON body"));
      }
      adjustClock(clock, parseClockSetting(body));
      const now = clockStatus(clock);
      logger.info("clock set", { node: node.id, ...now });
      return c.json(now);
    },
  );

  app.get("/admin/local/:key{.+}", async (c) => {
    const siblings = await node.localRecord(keyOf(c, "/admin/local/"));
    return c.json({
      node: node.id,
      siblings: siblings.map((s) => (s.value === null ? { tombstone: true } : { value: Buffer.from(s.value).toString("base64") })),
    });
  });

  return app;
}

/**
 * Hono's `bodyLimit`, without its cost on the common path. A body with a `Content-Length` (and
 * no `Transfer-Encoding`) is refused or let through on the header alone, and node:http then
 * delivers at most that many bytes. Hono's middleware reaches for the request's body stream
 * to know whether there is a body at all, which makes the Node adapter build a whole web
 * `Request` (headers, `AbortSignal`, stream) per request: about 9% of a node's CPU samples
 * in a profile of `npm run bench -- cluster`, and 954 against 558 µs of CPU per operation in
 * its runs with and without. A body without a length (chunked) still goes through
 * `bodyLimit`, which counts the bytes as they stream in.
 */
function boundedBody(options: { maxSize: number; onError: (c: Context) => Response | Promise<Response> }): MiddlewareHandler {
  const streamed = bodyLimit(options);
  return (c, next) => {
    const length = c.req.header("content-length");
    if (length !== undefined && c.req.header("transfer-encoding") === undefined && /^\d+$/.test(length)) {
      return Number(length) > options.maxSize ? Promise.resolve(options.onError(c)) : next();
    }
    return streamed(c, next);
  };
}

/**
 * The key of a `/kv/...` (or other `prefix`) URL, percent-decoded strictly from the raw URL.
 * Hono's own parameter decoding keeps a malformed escape (`%FF`, `%C0%AF`, a lone `%`) as
 * literal text, so two URLs would name one key; here it is a typed 400 instead.
 */
function keyOf(c: Context, prefix = "/kv/"): string {
  const url = c.req.url;
  const start = url.indexOf(prefix, url.indexOf("//") + 2) + prefix.length;
  const query = url.indexOf("?", start);
  const raw = query === -1 ? url.slice(start) : url.slice(start, query);
  if (!raw.includes("%")) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new InvalidKeyError("malformed-percent-encoding");
  }
}

function intParam(c: Context, name: string): number | undefined {
  const raw = c.req.query(name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value)) {
    throw new InvalidRequestError(`query parameter ${name} must be a positive integer, got "${raw.slice(0, 40)}"`, {
      [name]: raw.slice(0, 40),
    });
  }
  return value;
}

function writeOptions(c: Context): PutOptions {
  const context = c.req.header(CONTEXT_HEADER);
  return {
    ...(context ? { context: context as CausalContext } : {}),
    w: intParam(c, "w"),
    timeoutMs: intParam(c, "timeout"),
    ...consistencyParam(c),
    ...conditionOf(c),
  };
}

const CONSISTENCIES: readonly Consistency[] = ["count", "local-quorum", "each-quorum", "linearizable"];

/** The `consistency` query parameter, if given. */
function consistencyParam(c: Context): { consistency?: Consistency } {
  const raw = c.req.query("consistency");
  if (raw === undefined) return {};
  if (!CONSISTENCIES.includes(raw as Consistency)) {
    throw new InvalidRequestError(`query parameter consistency must be one of ${CONSISTENCIES.join(", ")}, got "${raw.slice(0, 40)}"`, {
      consistency: raw.slice(0, 40),
    });
  }
  return { consistency: raw as Consistency };
}

/** A version as an entity tag (a quoted string; contexts hold no quotes). */
function etag(version: string): string {
  return `"${version}"`;
}

/**
 * The write's condition from `If-Match: <version>` (one entity tag, quoted or not: the context
 * of a read) or `If-None-Match: *` (the key has no value).
 *
 * @throws {InvalidRequestError} for a list of tags, a weak tag, `If-Match: *`, or both headers
 */
function conditionOf(c: Context): { ifMatch?: CausalContext; ifAbsent?: true } {
  const match = c.req.header("If-Match");
  const noneMatch = c.req.header("If-None-Match");
  if (match !== undefined && noneMatch !== undefined) {
    throw new InvalidRequestError("send If-Match or If-None-Match, not both");
  }
  if (noneMatch !== undefined) {
    if (noneMatch.trim() !== "*") {
      throw new InvalidRequestError(
        `If-None-Match takes only * on writes (write if the key has no value), got "${noneMatch.slice(0, 40)}"`,
      );
    }
    return { ifAbsent: true };
  }
  if (match === undefined) return {};
  let tag = match.trim();
  if (tag === "*" || tag.includes(",") || tag.startsWith("W/")) {
    throw new InvalidRequestError(
      `If-Match takes one version (the ${CONTEXT_HEADER} or ETag of a read), got "${tag.slice(0, 40)}"`,
    );
  }
  if (tag.length >= 2 && tag.startsWith('"') && tag.endsWith('"')) tag = tag.slice(1, -1);
  return { ifMatch: tag as CausalContext };
}

// ---- sessions over HTTP (docs/sessions.md) ------------------------------------------------

/**
 * The request's session, as the `session` option of a node request: a {@link Session} holding
 * the key's contexts from the `Ringforge-Session` token, or nothing when the request has no
 * token. A token covers the request's key only (the client keeps the session), so the node
 * keeps no session state between requests. Its contexts are validated by the resolver when the
 * node uses them, before anything is written, as a context header's are.
 *
 * @throws {InvalidContextError} for a malformed or over-long token (a 400; nothing changes)
 */
function requestSession(c: Context, key: string): { session?: Session } {
  const token = c.req.header(SESSION_HEADER);
  if (token === undefined) return {};
  const session = new Session({ maxKeys: 1 });
  session.remember(key, decodeSessionToken(token));
  return { session };
}

/**
 * Answers with the key's session token after the request ran: what the session now requires of
 * the key. Contexts that do not fit the token's bounds (the oldest) are left out and counted in
 * `Ringforge-Session-Forgotten`, so the client learns that it lost their guarantees.
 */
function answerSession(c: Context, key: string, { session }: { session?: Session }): void {
  if (session === undefined) return;
  const { token, forgotten } = encodeSessionToken(session.contexts(key));
  c.header(SESSION_HEADER, token);
  if (forgotten > 0) c.header(SESSION_FORGOTTEN_HEADER, String(forgotten));
}

/**
 * A value as a response body: the bytes themselves, not a copy into an ArrayBuffer. Hono's Node
 * adapter writes a Uint8Array (or string) body straight to the socket; for an ArrayBuffer it
 * builds a whole web Response with a ReadableStream (as soon as anything reads the status) and
 * reads the body back out of it, which cost a GET more than the store's own work. (Values are never in a
 * SharedArrayBuffer, which the cast excludes.)
 */
function bodyOf(value: Uint8Array): Uint8Array<ArrayBuffer> {
  return value as Uint8Array<ArrayBuffer>;
}
