/**
 * Real node processes for tests: `ringforge start` as child processes of the test runner, under
 * the same runtime (Node with tsx, or Deno), on loopback ports.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { RingforgeClient } from "../../client/ringforge-client.ts";
import { hostSleep } from "./tcp-pair.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const isDeno = "Deno" in globalThis;

/** A node process started by {@link startProcess}. */
export interface NodeProcessHandle {
  /** Node id. */
  readonly id: string;
  /** The child process. */
  readonly child: ChildProcess;
  /** Client for its HTTP API. */
  readonly client: RingforgeClient;
  /** Everything it printed so far. */
  output(): string;
  /** Resolves with the exit code (or signal) once it has exited. */
  readonly exited: Promise<number | string>;
}

/** Writes `config` to `<dir>/<id>.json` and starts `ringforge start` on it. */
export function startProcess(
  dir: string,
  config: { id: string; client: { listen: string } } & Record<string, unknown>,
  env: Record<string, string> = {},
): NodeProcessHandle {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${config.id}.json`);
  writeFileSync(file, JSON.stringify(config, null, 2));
  const cli = path.join(ROOT, "cli/main.ts");
  const args = isDeno ? ["run", "-A", cli, "start", "--config", file] : ["--import", "tsx", cli, "start", "--config", file];
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  const exited = new Promise<number | string>((resolve) => child.once("exit", (code, signal) => resolve(signal ?? code ?? -1)));
  return { id: config.id, child, client: new RingforgeClient(`http://${config.client.listen}`), output: () => output, exited };
}

/** Waits until the process answers `GET /status`, or fails with its output. */
export async function waitReady(handle: NodeProcessHandle, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  let exited: number | string | undefined;
  void handle.exited.then((code) => (exited = code));
  for (;;) {
    if (exited !== undefined) throw new Error(`node ${handle.id} exited (${exited}) before it was ready:\n${handle.output()}`);
    try {
      await handle.client.status();
      return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`node ${handle.id} not ready after ${ms} ms:\n${handle.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Stops a process (SIGTERM, or `signal`) and waits for it to exit. */
export async function stopProcess(handle: NodeProcessHandle, signal: NodeJS.Signals = "SIGTERM"): Promise<number | string> {
  if (handle.child.exitCode === null && handle.child.signalCode === null) handle.child.kill(signal);
  return handle.exited;
}

/**
 * Polls `probe` every 200 ms until it returns something other than `undefined` (a thrown error
 * counts as not yet), for at most `ms`; fails naming `what` and the last error.
 */
export async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${last})` : ""}`);
    await hostSleep(200);
  }
}
