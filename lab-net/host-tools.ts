/**
 * The host's side of the real network: whether this machine can run it (Linux, root, `ip` and
 * `iptables` installed), and running those programs. Programs are run with `execFile` and an
 * argument array, never through a shell, and with a time limit, so a name can never become a
 * command and a stuck command cannot hang a run.
 *
 * Sequences of commands are written once as generators that yield each {@link Command} and
 * receive its {@link CommandResult}; {@link runSteps} drives one asynchronously and
 * {@link runStepsSync} synchronously (a process's `exit` handler can only run synchronous code,
 * and the teardown must run there too).
 *
 * @module
 */
import { execFile, spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import path from "node:path";
import process from "node:process";
import { MissingToolError, NetnsCommandError, NetnsPrerequisiteError, NotRootError } from "./errors.ts";

/** Absolute paths of the programs the real network runs. */
export interface HostTools {
  /** `ip` (Debian's iproute2). */
  readonly ip: string;
  /** `iptables` (Debian's iptables). */
  readonly iptables: string;
  /** `iptables-restore` (Debian's iptables): replaces a chain's rules in one transaction. */
  readonly iptablesRestore: string;
}

/** What the prerequisite check looks at; the current process's by default. */
export interface HostEnvironment {
  /** `process.platform`. */
  readonly platform: string;
  /** The effective user id, or undefined where the runtime has none. */
  readonly uid: number | undefined;
  /** Directories searched for the programs, in order. */
  readonly searchPath: readonly string[];
}

/** The current process's platform, user and search path (PATH, then the sbin directories). */
export function currentHost(): HostEnvironment {
  const dirs = (process.env.PATH ?? "").split(path.delimiter).filter((d) => d !== "");
  // A non-login root shell's PATH may lack the sbin directories, where Debian puts ip and iptables.
  for (const d of ["/usr/local/sbin", "/usr/sbin", "/sbin"]) if (!dirs.includes(d)) dirs.push(d);
  const uid = typeof process.geteuid === "function"
    ? process.geteuid()
    : typeof process.getuid === "function"
    ? process.getuid()
    : undefined;
  return { platform: process.platform, uid, searchPath: dirs };
}

const TOOLS: ReadonlyArray<{ readonly key: keyof HostTools; readonly name: string; readonly debianPackage: string }> = [
  { key: "ip", name: "ip", debianPackage: "iproute2" },
  { key: "iptables", name: "iptables", debianPackage: "iptables" },
  { key: "iptablesRestore", name: "iptables-restore", debianPackage: "iptables" },
];

/**
 * The programs the real network needs, or why this machine cannot run it (checked in this
 * order: Linux, root, each program).
 *
 * @example
 * ```ts
 * const problem = netnsPrerequisiteProblem();
 * if (problem) console.warn(`real-network run skipped: ${problem.message}`);
 * ```
 */
export function netnsPrerequisiteProblem(host: HostEnvironment = currentHost()): NetnsPrerequisiteError | undefined {
  try {
    requireNetnsPrerequisites(host);
    return undefined;
  } catch (error) {
    if (error instanceof NetnsPrerequisiteError) return error;
    throw error;
  }
}

/** The programs the real network needs; throws a {@link NetnsPrerequisiteError} saying what is missing. */
export function requireNetnsPrerequisites(host: HostEnvironment = currentHost()): HostTools {
  if (host.platform !== "linux") {
    throw new NetnsPrerequisiteError(
      "not-linux",
      `the real network needs Linux network namespaces (this is ${host.platform})`,
      { platform: host.platform },
    );
  }
  if (host.uid !== 0) throw new NotRootError(host.uid);
  const found: Partial<Record<keyof HostTools, string>> = {};
  for (const tool of TOOLS) {
    const file = host.searchPath.map((dir) => path.join(dir, tool.name)).find(isExecutable);
    if (file === undefined) throw new MissingToolError(tool.name, tool.debianPackage, host.searchPath);
    found[tool.key] = file;
  }
  return found as HostTools;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** One program to run. */
export interface Command {
  /** Absolute path of the program. */
  readonly file: string;
  /** Its arguments. */
  readonly args: readonly string[];
  /** Written to its stdin (iptables-restore reads its rules there). */
  readonly input?: string;
}

/** How a {@link Command} ended. */
export interface CommandResult {
  /** Whether it exited with status 0. */
  readonly ok: boolean;
  /** Its exit status, or the signal or system error (`ENOENT`, `SIGTERM`) that ended it. */
  readonly exit: number | string;
  /** What it wrote to stdout. */
  readonly stdout: string;
  /** What it wrote to stderr, trimmed. */
  readonly stderr: string;
}

/** No command of the real network takes anywhere near this; one that does is stuck. */
const COMMAND_TIMEOUT_MS = 10_000;

/** Runs `command`; resolves with how it ended (never rejects). */
export function runCommand(command: Command): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = execFile(
      command.file,
      [...command.args],
      { timeout: COMMAND_TIMEOUT_MS, killSignal: "SIGKILL", encoding: "utf8", maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const failure = error as (Error & { code?: unknown; signal?: unknown }) | null;
        const exit = failure === null
          ? 0
          : typeof failure.code === "number" || typeof failure.code === "string"
          ? failure.code
          : typeof failure.signal === "string"
          ? failure.signal
          : "failed";
        resolve({ ok: failure === null, exit, stdout: String(stdout), stderr: String(stderr).trim() });
      },
    );
    child.stdin?.on("error", () => {}); // a program that exits without reading its input
    child.stdin?.end(command.input ?? "");
  });
}

/** Runs `command` synchronously; returns how it ended (never throws). */
export function runCommandSync(command: Command): CommandResult {
  const result = spawnSync(command.file, [...command.args], {
    input: command.input ?? "",
    encoding: "utf8",
    timeout: COMMAND_TIMEOUT_MS,
    killSignal: "SIGKILL",
    maxBuffer: 16 * 1024 * 1024,
  });
  const systemError = result.error as (Error & { code?: unknown }) | undefined;
  const exit = systemError !== undefined
    ? typeof systemError.code === "string" ? systemError.code : "failed"
    : result.signal ?? result.status ?? "failed";
  return { ok: exit === 0, exit, stdout: result.stdout ?? "", stderr: (result.stderr ?? "").trim() };
}

/** The error for a command that failed while doing `action`. */
export function commandError(action: string, command: Command, result: CommandResult): NetnsCommandError {
  return new NetnsCommandError(action, [command.file, ...command.args], result.exit, result.stderr);
}

/** A sequence of commands: yields each command, receives its result, returns `T`. */
export type Steps<T> = Generator<Command, T, CommandResult>;

/** Runs `steps` asynchronously, one command at a time. */
export async function runSteps<T>(steps: Steps<T>): Promise<T> {
  let next = steps.next();
  while (!next.done) next = steps.next(await runCommand(next.value));
  return next.value;
}

/** Runs `steps` synchronously (for exit handlers), one command at a time. */
export function runStepsSync<T>(steps: Steps<T>): T {
  let next = steps.next();
  while (!next.done) next = steps.next(runCommandSync(next.value));
  return next.value;
}
