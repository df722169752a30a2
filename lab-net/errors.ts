/**
 * Why a real network could not be built or changed. Each is an {@link InvalidRequestError}
 * (code `RINGFORGE_INVALID_REQUEST`: the machine cannot carry out the request as asked) with
 * `details.reason` telling them apart, and a message that fits on one line and says what to do.
 *
 * @module
 */
import { InvalidRequestError } from "../core/errors.ts";

/** Why this machine cannot run the real network: not Linux, not root, or a tool missing. */
export type NetnsPrerequisite = "not-linux" | "not-root" | "missing-tool";

/** This machine cannot run the real network at all; the message says what is missing. */
export class NetnsPrerequisiteError extends InvalidRequestError {
  constructor(
    /** What is missing. */
    readonly reason: NetnsPrerequisite,
    message: string,
    details: Record<string, unknown> = {},
  ) {
    super(message, { reason, ...details });
  }
}

/**
 * The process is not root. Creating network namespaces, veth pairs and a bridge, and writing
 * iptables rules, needs CAP_SYS_ADMIN and CAP_NET_ADMIN, which in practice means root.
 */
export class NotRootError extends NetnsPrerequisiteError {
  constructor(
    /** The process's user id (undefined where the runtime does not tell). */
    readonly uid: number | undefined,
  ) {
    super(
      "not-root",
      `the real network needs root (uid 0, this process runs as uid ${uid ?? "unknown"}): ` +
        "it creates network namespaces, a bridge and iptables rules; run it as root or with sudo",
      { uid },
    );
  }
}

/** A command the real network runs (`ip`, `iptables`) is not installed. */
export class MissingToolError extends NetnsPrerequisiteError {
  constructor(
    /** The command that was not found. */
    readonly tool: string,
    /** The Debian package that provides it. */
    readonly debianPackage: string,
    /** The directories searched. */
    readonly searched: readonly string[],
  ) {
    super(
      "missing-tool",
      `the real network needs \`${tool}\`, which is not installed (searched ${searched.join(":")}): ` +
        `install Debian's ${debianPackage} package (apt-get install -y ${debianPackage})`,
      { tool, package: debianPackage, searched },
    );
  }
}

/** A command that builds, changes or removes the network failed; nothing was retried. */
export class NetnsCommandError extends InvalidRequestError {
  constructor(
    /** What was being done, e.g. `create the bridge rfk3x9qbr`. */
    readonly action: string,
    /** The command line (program and arguments, never run through a shell). */
    readonly command: readonly string[],
    /** Its exit code, or the signal or system error that ended it. */
    readonly exit: number | string,
    /** What it wrote to stderr, trimmed. */
    readonly stderr: string,
  ) {
    const said = stderr.split("\n").map((line) => line.trim()).filter((line) => line !== "").join(" / ");
    super(`could not ${action}: \`${command.join(" ")}\` failed (${exit})${said ? `: ${said}` : ""}`, {
      reason: "command-failed",
      action,
      command,
      exit,
      stderr,
    });
  }
}
