/**
 * ringforge client: a typed client for a node's HTTP API, on web-standard `fetch` (Node, Deno,
 * browsers).
 *
 * @module
 */
export * from "./ringforge-client.ts";
export * from "./fetch-failure.ts";
export * from "./node-status.ts";
export * from "./session-token.ts";
