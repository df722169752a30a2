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
