/**
 * The processes and temporary directories a benchmark starts, stopped and removed on every way
 * out: a normal return, a thrown error, Ctrl-C (SIGINT), SIGTERM or SIGHUP. A node or an etcd
 * member left running would load the machine under the next measurement, and its data
 * directory would stay on disk.
 *
 * @module
 */
import { type ChildProcess, spawn, type SpawnOptions } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { rm } from "node:fs/promises";
import { constants, tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";

/** The signals that end a benchmark early. */
const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/** How much of a process's output {@link Started.log} keeps. */
const LOG_BYTES = 64 * 1024;

/** A process started by {@link ChildProcesses.start}. */
export interface Started {
  readonly child: ChildProcess;
  /** The last 64 KiB of its standard output and error, for an error message. */
  log(): string;
}

/**
 * Owns a benchmark's child processes and temporary directories. Until {@link dispose}, a
 * signal that would end the benchmark kills every child (SIGKILL), removes every directory and
 * exits with the signal's status; so does the process's `exit` event, for an error nobody
 * caught.
 */
export class ChildProcesses {
  readonly #children = new Set<ChildProcess>();
  readonly #dirs = new Set<string>();
  readonly #onSignal = (signal: NodeJS.Signals) => {
    this.killNow();
    process.exit(128 + (constants.signals[signal] ?? 0));
  };
  readonly #onExit = () => this.killNow();

  constructor() {
    for (const signal of SIGNALS) process.on(signal, this.#onSignal);
    process.on("exit", this.#onExit);
  }

  /** A new empty directory under the system's temporary directory, removed on every exit path. */
  tempDir(prefix: string): string {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    this.#dirs.add(dir);
    return dir;
  }

  /** Removes a directory from {@link tempDir}. */
  async removeDir(dir: string): Promise<void> {
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
    this.#dirs.delete(dir);
  }

  /** Starts `command`, its output kept for {@link Started.log} (or inherited, with `stdio`). */
  start(command: string, args: readonly string[], options: SpawnOptions = {}): Started {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], ...options });
    this.#children.add(child);
    child.once("exit", () => this.#children.delete(child));
    let log = "";
    const keep = (chunk: Buffer) => {
      log += chunk.toString();
      if (log.length > 2 * LOG_BYTES) log = log.slice(-LOG_BYTES);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    return { child, log: () => log.slice(-LOG_BYTES) };
  }

  /** Stops a child: SIGTERM, then SIGKILL if it is still running after `graceMs`. */
  async stop(child: ChildProcess, graceMs = 10_000): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await exited;
    clearTimeout(timer);
  }

  /** Kills every child still running and removes every directory, synchronously (it runs in exit handlers). */
  killNow(): void {
    for (const child of this.#children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    this.#children.clear();
    for (const dir of this.#dirs) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    this.#dirs.clear();
  }

  /** {@link killNow}, then stops watching the signals. */
  dispose(): void {
    this.killNow();
    for (const signal of SIGNALS) process.off(signal, this.#onSignal);
    process.off("exit", this.#onExit);
  }
}

/**
 * Resolves once `url` answers and `ready` accepts the answer (default: any 2xx); fails if the
 * process exits first or `timeoutMs` passes, with what it printed.
 */
export async function waitForHttp(
  started: Started,
  url: string,
  ready: (response: Response) => boolean | Promise<boolean> = (response) => response.ok,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (started.child.exitCode !== null || started.child.signalCode !== null) {
      throw new Error(`${started.child.spawnfile} exited before ${url} answered:\n${started.log()}`);
    }
    try {
      const response = await fetch(url);
      const ok = await ready(response);
      if (!response.bodyUsed) await response.body?.cancel();
      if (ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs / 1000} s:\n${started.log()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
