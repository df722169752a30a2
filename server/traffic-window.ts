/**
 * Client traffic over the last few seconds: requests and errors per second and latency
 * percentiles per operation, for the live view (`GET /ui`), `ringforge status --watch` and the
 * `traffic` field of `GET /status`. Prometheus's histogram (`/metrics`) counts since start, so a
 * scraper computes rates itself; this answers "what is the node doing now" without one.
 *
 * @module
 */
import type { OperationTraffic, TrafficStatus } from "../client/node-status.ts";

/** Client operations the API times. */
export type ApiOperation = "get" | "put" | "delete";

const OPERATIONS: readonly ApiOperation[] = ["get", "put", "delete"];

/** Latency buckets grow by 10%, from 10 µs up: the percentiles are within 10% of the truth. */
const BASE_MS = 0.01;
const GROWTH = 1.1;
const LOG_GROWTH = Math.log(GROWTH);
/** 10 µs × 1.1^170 ≈ 110 s: past any request deadline. */
const BUCKETS = 171;

/** Outcomes that are answers, not failures (the HTTP API's names). */
const ANSWERS = new Set(["ok", "not_found", "siblings"]);

/** One second of one operation's requests. */
interface Slot {
  second: number;
  requests: number;
  errors: number;
  readonly latency: Uint32Array;
}

/**
 * A sliding window of whole seconds. Each operation keeps one slot per second of the window,
 * reused round-robin, so recording is a few array writes and memory stays fixed
 * (3 operations × window × 171 counters).
 *
 * @example
 * ```ts
 * const traffic = new TrafficWindow();
 * traffic.record("put", "ok", 1.8);
 * traffic.snapshot().operations.put.p99Ms;
 * ```
 */
export class TrafficWindow {
  readonly #slots: Record<ApiOperation, Slot[]>;
  readonly #started: number;

  /**
   * @param windowSeconds completed seconds the figures cover (default 5)
   * @param now the time, ms (default `performance.now()`; tests pass their own)
   */
  constructor(
    readonly windowSeconds = 5,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!Number.isInteger(windowSeconds) || windowSeconds < 1 || windowSeconds > 300) {
      throw new RangeError(`windowSeconds must be an integer in 1..300, got ${windowSeconds}`);
    }
    const slots = () =>
      Array.from({ length: windowSeconds + 1 }, () => ({ second: -1, requests: 0, errors: 0, latency: new Uint32Array(BUCKETS) }));
    this.#slots = { get: slots(), put: slots(), delete: slots() };
    this.#started = now();
  }

  /** Records one finished request: its operation, outcome (`ok`, `not_found`, `siblings` or an error name) and latency. */
  record(operation: ApiOperation, outcome: string, latencyMs: number): void {
    const second = Math.floor(this.now() / 1000);
    const slots = this.#slots[operation];
    const slot = slots[second % slots.length]!;
    if (slot.second !== second) {
      slot.second = second;
      slot.requests = 0;
      slot.errors = 0;
      slot.latency.fill(0);
    }
    slot.requests++;
    if (!ANSWERS.has(outcome)) slot.errors++;
    slot.latency[bucketOf(latencyMs)]!++;
  }

  /** The figures over the last {@link windowSeconds} completed seconds (fewer just after start). */
  snapshot(): TrafficStatus {
    const now = this.now();
    const current = Math.floor(now / 1000);
    // Seconds covered: the whole window, or as many completed seconds as have passed since start.
    const seconds = Math.max(1, Math.min(this.windowSeconds, current - Math.floor(this.#started / 1000)));
    const total = new Uint32Array(BUCKETS);
    let requests = 0;
    let errors = 0;
    const operations = {} as Record<ApiOperation, OperationTraffic>;
    for (const op of OPERATIONS) {
      const latency = new Uint32Array(BUCKETS);
      let opRequests = 0;
      let opErrors = 0;
      for (const slot of this.#slots[op]) {
        if (slot.second >= current || slot.second < current - seconds) continue;
        opRequests += slot.requests;
        opErrors += slot.errors;
        for (let i = 0; i < BUCKETS; i++) latency[i]! += slot.latency[i]!;
      }
      for (let i = 0; i < BUCKETS; i++) total[i]! += latency[i]!;
      requests += opRequests;
      errors += opErrors;
      operations[op] = figures(opRequests, opErrors, latency, seconds);
    }
    return { windowSeconds: seconds, ...figures(requests, errors, total, seconds), operations };
  }
}

function figures(requests: number, errors: number, latency: Uint32Array, seconds: number): OperationTraffic {
  return {
    requestsPerSecond: round(requests / seconds),
    errorsPerSecond: round(errors / seconds),
    p50Ms: percentile(latency, requests, 0.5),
    p99Ms: percentile(latency, requests, 0.99),
  };
}

function bucketOf(ms: number): number {
  if (!(ms > BASE_MS)) return 0;
  return Math.min(BUCKETS - 1, Math.floor(Math.log(ms / BASE_MS) / LOG_GROWTH) + 1);
}

/** The upper bound of the bucket holding the `q` quantile (0 when there were no requests). */
function percentile(latency: Uint32Array, count: number, q: number): number {
  if (count === 0) return 0;
  const rank = Math.ceil(q * count);
  let seen = 0;
  for (let i = 0; i < BUCKETS; i++) {
    seen += latency[i]!;
    if (seen >= rank) return round(BASE_MS * GROWTH ** i);
  }
  return round(BASE_MS * GROWTH ** (BUCKETS - 1));
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
