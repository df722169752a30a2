/**
 * A node provider that runs the user's shell commands to add and remove a node
 * (`ringforge cluster --autoscale ... --autoscale-add-command CMD --autoscale-remove-command CMD`),
 * so an orchestrator (kubectl, nomad, a cloud CLI, a script) does the starting and stopping
 * without ringforge knowing it.
 *
 * The contract (docs/processes.md, "Automatic scaling"):
 * - each command runs with `sh -c` (`cmd.exe /c` on Windows), in the launcher's directory and
 *   environment plus `RINGFORGE_ACTION` (`add` or `remove`), `RINGFORGE_NODE_ID`,
 *   `RINGFORGE_MEMBERS` (the ring's member ids, comma-separated) and whatever the launcher adds
 *   (`RINGFORGE_SEEDS`, `RINGFORGE_CLUSTER_URL`, `RINGFORGE_SECRET`, `RINGFORGE_NODE_URL`);
 * - add: `RINGFORGE_NODE_ID` is a suggested id, never used before in this run. The command
 *   starts a node that joins the ring and exits 0; the last non-empty line of its standard
 *   output is the new node's id, optionally followed by its client URL (`n4` or
 *   `n4 http://10.0.0.4:8001`). Without output, the suggested id is taken. The provider then
 *   waits until that id is a ring member;
 * - remove: `RINGFORGE_NODE_ID` is the node to decommission. The command makes it leave (its
 *   data handed off) and stop, and exits 0; the provider then waits until it is no longer a
 *   ring member;
 * - a non-zero exit is a failure, reported with the last lines of standard error; a command
 *   still running at the time limit is stopped (SIGTERM to its process group, SIGKILL 5 s
 *   later) and fails. A failing command must undo what it did (a half-started node), as the
 *   autoscaler tries again later on the cluster as it finds it.
 *
 * @module
 */
import { spawn } from "node:child_process";
import process from "node:process";
import type { NodeProvider } from "../core/interfaces/scaler.ts";
import type { NodeId } from "../core/model/sibling.ts";
import { NodeProviderError } from "./autoscale-errors.ts";

/** Options of {@link CommandNodeProvider}. */
export interface CommandProviderOptions {
  /** The shell command that adds a node. */
  readonly addCommand: string;
  /** The shell command that removes the node named in `RINGFORGE_NODE_ID`. */
  readonly removeCommand: string;
  /** Time a command and the membership change it makes may take together, ms. */
  readonly timeoutMs: number;
  /** An id for the next node that nothing in this run has used. */
  readonly suggestId: () => string;
  /** Variables the commands get besides the process's and `RINGFORGE_ACTION`/`RINGFORGE_NODE_ID`. */
  readonly env: (action: "add" | "remove", node: NodeId) => Promise<Record<string, string>>;
  /** Whether `node` is a ring member now (as a running node sees the ring). */
  readonly isMember: (node: NodeId) => Promise<boolean>;
  /** Told of each node a command added, with the client URL it printed (if any). */
  readonly onAdded?: (node: NodeId, url: string | undefined) => void;
  /** Told before a remove command runs for `node`. */
  readonly onRemoving?: (node: NodeId) => void;
  /** Told after a remove ends: whether it succeeded. */
  readonly onRemoved?: (node: NodeId, ok: boolean) => void;
  /** How often membership is checked after a command, ms. Default 200. */
  readonly pollMs?: number;
}

/** What a command printed, once it exited 0. */
export interface CommandResult {
  /** Its standard output (the last 64 KiB). */
  readonly stdout: string;
  /** Its standard error's last lines. */
  readonly stderr: string;
}

/** Output kept per stream. */
const KEEP_BYTES = 64 * 1024;
/** Lines of standard error an error message quotes. */
const STDERR_LINES = 5;
/** Time between SIGTERM and SIGKILL for a command past its time limit. */
const KILL_GRACE_MS = 5_000;
/** Time the output of an exited command may take to arrive. */
const PIPE_GRACE_MS = 500;
const NODE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/**
 * Runs the user's commands to add and remove nodes (the contract is in this module's
 * documentation and in docs/processes.md).
 *
 * @example
 * ```ts
 * const provider = new CommandNodeProvider({
 *   addCommand: "./scale-out.sh", removeCommand: "./scale-in.sh", timeoutMs: 120_000,
 *   suggestId: () => `n${++last}`, env: async () => ({}), isMember: (id) => ringHas(id),
 * });
 * const id = await provider.add();
 * ```
 */
export class CommandNodeProvider implements NodeProvider {
  /** `"command"`: nodes come and go by the user's commands. */
  readonly name = "command";
  readonly #o: CommandProviderOptions;

  constructor(options: CommandProviderOptions) {
    this.#o = options;
  }

  /**
   * Runs the add command and waits until the node it names is a ring member.
   *
   * @throws {NodeProviderError} `command-failed`, `timeout` or `bad-output`
   */
  async add(): Promise<NodeId> {
    const o = this.#o;
    const deadline = Date.now() + o.timeoutMs;
    const suggested = o.suggestId();
    const { stdout } = await this.#run("add", suggested, o.addCommand, deadline);
    const last = stdout.split("\n").map((l) => l.trim()).filter(Boolean).pop();
    const [id = suggested, url, ...rest] = last === undefined ? [] : last.split(/\s+/);
    if (!NODE_ID.test(id) || rest.length > 0 || (url !== undefined && !/^https?:\/\/\S+$/i.test(url))) {
      throw new NodeProviderError(
        "add",
        "bad-output",
        undefined,
        `the add command's last line of output is "${
          last?.slice(0, 200)
        }", not a node id optionally followed by its client URL (e.g. "n4 http://10.0.0.4:8001")`,
      );
    }
    await this.#until(deadline, async () => await o.isMember(id), () =>
      new NodeProviderError(
        "add",
        "timeout",
        id,
        `the add command exited 0, but ${id} is not a ring member ${seconds(o.timeoutMs)} after it started`,
        { timeoutMs: o.timeoutMs },
      ));
    o.onAdded?.(id, url?.replace(/\/+$/, ""));
    return id;
  }

  /**
   * Runs the remove command for `node` and waits until it is no longer a ring member.
   *
   * @throws {NodeProviderError} `command-failed` or `timeout`
   */
  async remove(node: NodeId): Promise<void> {
    const o = this.#o;
    const deadline = Date.now() + o.timeoutMs;
    o.onRemoving?.(node);
    let ok = false;
    try {
      await this.#run("remove", node, o.removeCommand, deadline);
      await this.#until(deadline, async () => !(await o.isMember(node)), () =>
        new NodeProviderError(
          "remove",
          "timeout",
          node,
          `the remove command exited 0, but ${node} is still a ring member ${seconds(o.timeoutMs)} after it started`,
          { timeoutMs: o.timeoutMs },
        ));
      ok = true;
    } finally {
      o.onRemoved?.(node, ok);
    }
  }

  async #run(action: "add" | "remove", node: NodeId, command: string, deadline: number): Promise<CommandResult> {
    const env = { ...process.env, ...(await this.#o.env(action, node)), RINGFORGE_ACTION: action, RINGFORGE_NODE_ID: node };
    return await runCommand(command, env, Math.max(0, deadline - Date.now())).catch((error: unknown) => {
      if (!(error instanceof CommandError)) throw error;
      const what = `the ${action} command (${node})`;
      if (error.timedOut) {
        throw new NodeProviderError(
          action,
          "timeout",
          node,
          `${what} did not finish within ${seconds(this.#o.timeoutMs)} and was stopped`,
          {
            timeoutMs: this.#o.timeoutMs,
          },
        );
      }
      const tail = error.stderr.trim() ? `: ${error.stderr.trim().split("\n").join(" | ")}` : " (nothing on standard error)";
      throw new NodeProviderError(action, "command-failed", node, `${what} exited with ${error.exit}${tail}`, { exit: error.exit });
    });
  }

  /** Polls `done` until it is true; past `deadline`, throws `timeout()`. A throwing probe counts as not yet. */
  async #until(deadline: number, done: () => Promise<boolean>, timeout: () => Error): Promise<void> {
    for (;;) {
      try {
        if (await done()) return;
      } catch {
        // a node between answers; ask again
      }
      if (Date.now() >= deadline) throw timeout();
      await new Promise((resolve) => setTimeout(resolve, this.#o.pollMs ?? 200));
    }
  }
}

/** A command that exited non-zero or ran past its time limit. */
class CommandError extends Error {
  constructor(
    readonly exit: number | string,
    readonly stderr: string,
    readonly timedOut: boolean,
  ) {
    super(timedOut ? "timed out" : `exited with ${exit}`);
  }
}

/**
 * Runs `command` in a shell with `env`; resolves with its output when it exits 0. Rejects with
 * a CommandError (exit code or signal, the last lines of standard error) otherwise, or when it
 * runs longer than `timeoutMs` (then its process group is stopped: SIGTERM, SIGKILL 5 s later).
 */
function runCommand(command: string, env: Record<string, string | undefined>, timeoutMs: number): Promise<CommandResult> {
  const windows = process.platform === "win32";
  const child = windows
    ? spawn("cmd.exe", ["/d", "/s", "/c", command], { env, stdio: ["ignore", "pipe", "pipe"], windowsHide: true })
    // Its own process group, so a time-out stops whatever the command started, not the shell alone.
    : spawn("/bin/sh", ["-c", command], { env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let stdout = "";
  let stderr = "";
  const keep = (text: string, chunk: unknown) => {
    const next = text + String(chunk);
    return next.length > KEEP_BYTES ? next.slice(-KEEP_BYTES) : next;
  };
  child.stdout!.on("data", (chunk) => (stdout = keep(stdout, chunk)));
  child.stderr!.on("data", (chunk) => (stderr = keep(stderr, chunk)));
  const signal = (name: NodeJS.Signals) => {
    try {
      if (!windows && child.pid !== undefined) process.kill(-child.pid, name);
      else child.kill(name);
    } catch {
      // already gone
    }
  };
  return new Promise((resolve, reject) => {
    let timedOut = false;
    let killer: ReturnType<typeof setTimeout> | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      signal("SIGTERM");
      killer = setTimeout(() => signal("SIGKILL"), KILL_GRACE_MS);
    }, timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      clearTimeout(killer);
      reject(new CommandError(error.message, error.message, false));
    });
    child.once("exit", (code, sig) => {
      clearTimeout(timer);
      clearTimeout(killer);
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        if (code === 0 && !timedOut) resolve({ stdout, stderr: lastLines(stderr) });
        else reject(new CommandError(sig ?? code ?? -1, lastLines(stderr), timedOut));
      };
      // The output still in the pipes arrives before "close"; but a node the command started in
      // the background may hold them open for as long as it runs, so wait only a moment.
      const late = setTimeout(() => {
        child.stdout!.destroy();
        child.stderr!.destroy();
        finish();
      }, PIPE_GRACE_MS);
      child.once("close", () => {
        clearTimeout(late);
        finish();
      });
    });
  });
}

function lastLines(text: string): string {
  return text.split("\n").filter((l) => l.trim() !== "").slice(-STDERR_LINES).join("\n");
}

/** `0.3 s`, `120 s`. */
function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}
