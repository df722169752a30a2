/**
 * How the CLI reports a failure: one line a person can act on, never a stack trace unless
 * asked for with `--verbose`.
 *
 * @module
 */
import { inspect } from "node:util";
import { PreconditionFailedError, RingforgeError } from "../core/errors.ts";
import { UnreachableUrlError } from "../client/fetch-failure.ts";

/** What to print for a failure, and the exit code. */
export interface ErrorReport {
  /** The text for standard error: one line, or with `verbose` the line and the stack trace. */
  readonly text: string;
  /** The process's exit code (never 0). */
  readonly exitCode: number;
}

/** Where client ports are with `npm start` (and `ringforge cluster`'s default `--client-base`). */
const PORT_HINT = "is it a peer port? client ports are 8001.. with npm start";

/** The one line for a failure, without the `ringforge: ` prefix. */
export function errorLine(error: unknown): string {
  if (error instanceof UnreachableUrlError) {
    switch (error.failure) {
      case "connection-refused":
        return `cannot reach ${error.url} (connection refused): is the cluster running?`;
      case "host-not-found":
        return `cannot reach ${error.url} (host not found): check the host name in --url`;
      case "timeout":
        return `cannot reach ${error.url} (timed out): is the host up and the port open?`;
      case "not-http":
      case "connection-reset":
      case "connection-closed":
        // A peer port speaks length-prefixed binary frames: it answers an HTTP request with a
        // frame, or hangs up.
        return `${error.url} is not a ringforge client port: ${error.description} (${PORT_HINT})`;
      case "tls":
        return `cannot reach ${error.url} (${error.description}: ${
          causeMessage(error.cause)
        }): check http:// or https:// in --url, and the node's certificate`;
      case "network":
        return `cannot reach ${error.url} (${causeMessage(error.cause)})`;
    }
  }
  // A failed condition says which version to retry from (`put --if-match <it>`).
  if (error instanceof PreconditionFailedError) return `${error.message} (its version now: ${error.version})`;
  // The stable code is for programs (and --verbose shows it); the message is for a person.
  if (error instanceof RingforgeError) return error.message;
  const errno = error as NodeJS.ErrnoException;
  if (error instanceof Error && typeof errno.code === "string" && typeof errno.path === "string") {
    // fs errors: "ENOENT: no such file or directory, open 'x.json'" is what a person needs,
    // minus the errno prefix.
    return `cannot ${errno.syscall === "open" ? "read" : (errno.syscall ?? "use")} ${errno.path}: ${describeErrno(errno)}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * The report for a failure of a command: the line with `ringforge: ` in front; with `verbose`,
 * the stack trace (and every cause) after it; without, for errors the CLI did not expect, a
 * pointer to `--verbose`.
 */
export function reportError(error: unknown, verbose: boolean): ErrorReport {
  const expected = error instanceof RingforgeError || (error instanceof Error && typeof (error as NodeJS.ErrnoException).path === "string");
  let text = `ringforge: ${errorLine(error)}\n`;
  if (verbose) text += `${inspect(error, { depth: 6 })}\n`;
  else if (!expected) text += "(run with --verbose for the stack trace)\n";
  return { text, exitCode: expected ? 2 : 1 };
}

function causeMessage(cause: unknown): string {
  let innermost = cause;
  while (innermost instanceof Error && innermost.cause !== undefined) innermost = innermost.cause;
  return innermost instanceof Error ? innermost.message : String(innermost);
}

function describeErrno(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case "ENOENT":
      return "no such file or directory";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EISDIR":
      return "is a directory";
    case "ENOTDIR":
      return "not a directory";
    default:
      return error.message;
  }
}
