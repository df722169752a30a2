/**
 * Structured logging, injected per node.
 *
 * @module
 */
import { type Token, token } from "./token.ts";

/** Structured fields attached to a log line. */
export type LogFields = Readonly<Record<string, unknown>>;

/** A minimal structured logger; every node gets one bound to its id. */
export interface Logger {
  /** Detail useful when debugging a run. */
  debug(message: string, fields?: LogFields): void;
  /** Normal, infrequent events (node started, member joined). */
  info(message: string, fields?: LogFields): void;
  /** Something is wrong but the node goes on (sibling count high, hint dropped). */
  warn(message: string, fields?: LogFields): void;
  /** An operation failed and nobody else will report it. */
  error(message: string, fields?: LogFields): void;
}

/** Injection token for the node's {@link Logger}. */
export const LOGGER: Token<Logger> = token<Logger>("Logger");

/** A logger that discards everything (the default in simulations and tests). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

/** The levels a {@link consoleLogger} can be limited to, most verbose first. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

/**
 * A logger that writes one line per event to the console (stderr for warn and error).
 *
 * @example
 * ```ts
 * const logger = consoleLogger("n1", "info");
 * logger.info("started", { port: 7001 });
 * ```
 */
export function consoleLogger(prefix: string, level: LogLevel = "info"): Logger {
  const min = LEVELS.indexOf(level);
  const line = (lvl: LogLevel, message: string, fields?: LogFields) => {
    if (LEVELS.indexOf(lvl) < min) return;
    const text = `[${prefix}] ${lvl} ${message}${fields ? ` ${JSON.stringify(fields)}` : ""}`;
    if (lvl === "warn" || lvl === "error") console.error(text);
    else console.log(text);
  };
  return {
    debug: (m, f) => line("debug", m, f),
    info: (m, f) => line("info", m, f),
    warn: (m, f) => line("warn", m, f),
    error: (m, f) => line("error", m, f),
  };
}
