/**
 * Parsers for the CLI's flag values. Each is made for one flag and names it in its error, so
 * `--seed-count 0` says which flag is wrong and what it wants instead of a bare "expected a
 * positive integer".
 *
 * @module
 */
import { InvalidRequestError } from "../core/errors.ts";

/** A flag's value is not one it accepts; the message names the flag and the value given. */
export class InvalidFlagError extends InvalidRequestError {
  /** The flag, as typed (`--seed-count`). */
  readonly flag: string;
  /** The value given. */
  readonly value: string;

  /** @param message the whole message, naming the flag (`--url must start with ...`) */
  constructor(flag: string, value: string, message: string) {
    super(message, { flag, value });
    this.flag = flag;
    this.value = value;
  }
}

/** A parser for an integer flag in `[min, max]`; `what` says what it wants when out of range. */
export function integerFlag(flag: string, min: number, max: number, what: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isInteger(n) || n < min || n > max) {
      throw new InvalidFlagError(flag, value, `${flag} must be ${what}, got "${value}"`);
    }
    return n;
  };
}

/** A parser for a flag that takes a positive integer (a count, a seed, a quorum size). */
export function positiveIntFlag(flag: string): (value: string) => number {
  return integerFlag(flag, 1, Number.MAX_SAFE_INTEGER, "a positive integer");
}

/** A parser for a flag that takes a TCP port number. */
export function portFlag(flag: string): (value: string) => number {
  return integerFlag(flag, 1, 65535, "a port number (1-65535)");
}

/**
 * Parses `--url`: an `http://` or `https://` URL. Without the scheme, `fetch` fails with a
 * parser error far from the flag that caused it.
 */
export function urlFlag(value: string): string {
  if (!/^https?:\/\//i.test(value) || !URL.canParse(value)) {
    throw new InvalidFlagError("--url", value, `--url must start with http:// or https:// (got "${value}")`);
  }
  return value;
}

/** Collects a comma-separated flag that may be repeated into one list. */
export function listFlag(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(",").map((s) => s.trim()).filter(Boolean)];
}

/** Collects a repeated flag's values in order. */
export function repeatedFlag(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** What `ringforge cluster --autoscale` asks for (see {@link autoscaleFlag}). */
export interface AutoscaleSpec {
  /** Fewest ring members (raised to the replication factor N by the autoscaler). */
  readonly min: number;
  /** Most ring members. */
  readonly max: number;
  /** Time between the autoscaler's rounds, ms. Default 5,000. */
  readonly intervalMs: number;
  /** Time after a change before the next may start, ms. Default 30,000. */
  readonly cooldownMs: number;
  /** Time after a failed change before another is tried, ms. Default 10,000. */
  readonly retryMs: number;
  /** Time an add (start and join) or a remove (leave, hand-off and exit) may take, ms. Default 120,000. */
  readonly timeoutMs: number;
}

/** The keys `--autoscale` takes, and what each is. */
const AUTOSCALE_KEYS = {
  min: "the fewest nodes",
  max: "the most nodes",
  interval: "time between rounds",
  cooldown: "time after a change before the next",
  retry: "time after a failed change before another",
  timeout: "time an add or a remove may take",
} as const;

/** Most nodes `--autoscale max=` accepts (as `--nodes`). */
const AUTOSCALE_MAX_NODES = 64;

/**
 * Parses `--autoscale min=3,max=8[,interval=5s][,cooldown=30s][,retry=10s][,timeout=2m]`: the
 * limits as integers, the times as durations with a unit (`500ms`, `2s`, `1m`). Every problem
 * names the key and what it wants.
 */
export function autoscaleFlag(value: string): AutoscaleSpec {
  const fail = (why: string): never => {
    throw new InvalidFlagError("--autoscale", value, `--autoscale ${why} (e.g. --autoscale min=3,max=8,interval=5s,cooldown=30s)`);
  };
  const given = new Map<string, string>();
  for (const part of value.split(",").map((s) => s.trim()).filter(Boolean)) {
    const eq = part.indexOf("=");
    const key = eq < 0 ? part : part.slice(0, eq).trim();
    if (eq < 0) fail(`takes key=value pairs; "${part}" has no value`);
    if (!(key in AUTOSCALE_KEYS)) {
      fail(`has no key "${key}": it takes ${Object.entries(AUTOSCALE_KEYS).map(([k, what]) => `${k} (${what})`).join(", ")}`);
    }
    if (given.has(key)) fail(`gives ${key} twice`);
    given.set(key, part.slice(eq + 1).trim());
  }
  const count = (key: "min" | "max"): number => {
    const raw = given.get(key);
    if (raw === undefined) return fail(`needs ${key}=<count>`);
    const n = Number(raw);
    if (raw === "" || !Number.isInteger(n) || n < 1 || n > AUTOSCALE_MAX_NODES) {
      fail(`${key} must be an integer from 1 to ${AUTOSCALE_MAX_NODES}, got "${raw}"`);
    }
    return n;
  };
  const duration = (key: "interval" | "cooldown" | "retry" | "timeout", fallback: number, least: number): number => {
    const raw = given.get(key);
    if (raw === undefined) return fallback;
    const ms = parseDuration(raw);
    if (ms === undefined) fail(`${key} must be a duration with a unit (500ms, 2s, 1m), got "${raw}"`);
    if (ms! < least || ms! > 24 * 3_600_000) fail(`${key} must be from ${least} ms to 24 h, got "${raw}"`);
    return ms!;
  };
  const min = count("min");
  const max = count("max");
  if (max < min) fail(`max (${max}) must be at least min (${min})`);
  return {
    min,
    max,
    intervalMs: duration("interval", 5_000, 100),
    cooldownMs: duration("cooldown", 30_000, 0),
    retryMs: duration("retry", 10_000, 0),
    timeoutMs: duration("timeout", 120_000, 1_000),
  };
}

/** `500ms`, `2s`, `1.5m`, `1h` in ms; undefined for anything else (a bare number has no unit). */
function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text);
  if (!match) return undefined;
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[match[2] as "ms" | "s" | "m" | "h"];
  return Math.round(Number(match[1]) * unit);
}
