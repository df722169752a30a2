/**
 * `ringforge cluster` as a child process for tests, under the test's own runtime (tsx under
 * Node, `deno run` under Deno), with its output collected; `stopLaunchers` (for `afterEach`)
 * interrupts every one still running, as Ctrl-C would, and removes the tests' directories.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { rmSync } from "node:fs";
import path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CLI = path.join(ROOT, "cli/main.ts");
const isDeno = "Deno" in globalThis;

/** A running `ringforge cluster`. */
export interface Launcher {
  /** Its process. */
  readonly child: ChildProcess;
  /** Everything it printed so far, standard output and error together. */
  output(): string;
  /** Resolves with its exit code or signal. */
  readonly exited: Promise<number | string>;
}

const launched: Launcher[] = [];
const dirs: string[] = [];

/** Removes `dir` when the test ends (see {@link stopLaunchers}). */
export function removeAfter(dir: string): string {
  dirs.push(dir);
  return dir;
}

/** Starts `ringforge cluster` with `flags`. */
export function cluster(flags: string[]): Launcher {
  const args = isDeno ? ["run", "-A", CLI, "cluster", ...flags] : ["--import", "tsx", CLI, "cluster", ...flags];
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  const exited = new Promise<number | string>((resolve) => child.once("exit", (code, signal) => resolve(signal ?? code ?? -1)));
  const launcher = { child, output: () => output, exited };
  launched.push(launcher);
  return launcher;
}

/** Interrupts every launcher still running (SIGINT), waits for it, and removes the directories. */
export async function stopLaunchers(): Promise<void> {
  for (const l of launched.splice(0)) {
    if (l.child.exitCode === null && l.child.signalCode === null) l.child.kill("SIGINT");
    await l.exited;
  }
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}
