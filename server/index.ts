/**
 * ringforge server: a node as an operating-system process — the HTTP client API (Hono), its
 * Prometheus metrics and status document, and the process that ties them to a node on the TCP
 * transport. `ringforge start` and `ringforge cluster` run these.
 *
 * @module
 */
export * from "./http-api.ts";
export * from "./metrics.ts";
export * from "./node-process.ts";
export * from "./node-status.ts";
export * from "./traffic-window.ts";
