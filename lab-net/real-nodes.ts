/**
 * A cluster's nodes as real `ringforge start` processes, one in each namespace of a
 * {@link NetnsNetwork}: started, paused (SIGSTOP), resumed (SIGCONT), killed (SIGKILL) and
 * started again on the same config and data directory, as the real runner's faults ask.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import type { PluginRef, StoreConfig } from "../core/build/config.ts";
import { InvalidRequestError, NotRunningError, TimeoutError } from "../core/errors.ts";
import type { NetnsNetwork } from "./netns-network.ts";

/** The port every node's peer listener takes on its own namespace address. */
export const REAL_PEER_PORT = 7000;
/** The port every node's client (HTTP) listener takes on its own namespace address. */
export const REAL_CLIENT_PORT = 8000;

/**
 * How to run the `ringforge` CLI: a program and the arguments before `start --config FILE`.
 * `ringforge compare --real` passes its own (`process.execPath`, `process.execArgv` and its
 * script, or `deno run -A` and its script), as `ringforge cluster` does.
 */
export interface CliLauncher {
  /** The program (a Node or Deno executable). */
  readonly command: string;
  /** Its arguments up to the CLI's own (`--import tsx cli/main.ts`, `run -A cli/main.ts`). */
  readonly args: readonly string[];
  /** The working directory (where `--import tsx` resolves). Default: the current one. */
  readonly cwd?: string;
}

/**
 * The CLI from this source tree, under the runtime running now: Deno runs it with `deno run -A`,
 * Node through tsx (as the tests start node processes).
 */
export function sourceCliLauncher(): CliLauncher {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const script = path.join(root, "cli", "main.ts");
  return "Deno" in globalThis
    ? { command: process.execPath, args: ["run", "-A", script], cwd: root }
    : { command: process.execPath, args: ["--import", "tsx", script], cwd: root };
}

/**
 * What a node is doing, as far as the harness knows: `absent` before it first starts (a node
 * that joins later) and after it left; `down` after a crash (the final heal restarts it).
 */
export type RealNodeState = "absent" | "starting" | "up" | "paused" | "down";

/** A node's clock as the harness set it (see `POST /admin/clock`). */
export interface RealNodeClock {
  /** Offset from the machine's clock at `since`, ms. */
  readonly offsetMs: number;
  /** How fast the offset grows, ms per ms. */
  readonly driftRate: number;
  /** When it was set (`performance.now()`). */
  readonly since: number;
}

/** What {@link RealNodes} starts nodes with. */
export interface RealNodesInit {
  /** The network the nodes run in (one namespace each). */
  readonly network: NetnsNetwork;
  /** The store every node runs (its transport becomes `tcp`). */
  readonly store: StoreConfig;
  /** Where the node configs and every node's data go. */
  readonly dir: string;
  /** The cluster secret (RINGFORGE_SECRET). */
  readonly secret: string;
  /** This run's id: a node counts as up only when its `/status` reports it. */
  readonly runId: string;
  /** How to run the CLI. */
  readonly launcher: CliLauncher;
  /** The nodes' log level. */
  readonly logLevel: "debug" | "info" | "warn" | "error";
}

/** How long `ringforge leave` may take (it sends two requests), ms. */
const LEAVE_CLI_MS = 15_000;

/** How much of a node's output is kept for error messages. */
const OUTPUT_TAIL = 4096;

/** One node process and what the harness knows of it. */
interface RealNode {
  child: ChildProcess | undefined;
  state: RealNodeState;
  output: string;
  /** True while it is leaving: its exit makes it absent, not down. */
  leaving: boolean;
  /** Its clock (a restart keeps it, as a machine's clock survives a process crash). */
  clock: RealNodeClock;
}

/**
 * The nodes of one real run. Every process is started through {@link NetnsNetwork.exec}, so
 * destroying the network kills whatever still runs.
 */
export class RealNodes {
  readonly #init: RealNodesInit;
  readonly #nodes = new Map<string, RealNode>();

  constructor(init: RealNodesInit) {
    this.#init = init;
    for (const id of init.network.nodes) {
      this.#nodes.set(id, {
        child: undefined,
        state: "absent",
        output: "",
        leaving: false,
        clock: { offsetMs: 0, driftRate: 0, since: 0 },
      });
    }
  }

  /** The node ids, in network order. */
  get ids(): readonly string[] {
    return this.#init.network.nodes;
  }

  /** The client URL of `id` (`http://198.18.0.1:8000`). */
  url(id: string): string {
    return `http://${this.#init.network.address(id)}:${REAL_CLIENT_PORT}`;
  }

  /** What `id` is doing. */
  state(id: string): RealNodeState {
    return this.#node(id).state;
  }

  /** The last few KiB `id` printed (for an error message). */
  output(id: string): string {
    return this.#node(id).output;
  }

  /**
   * Writes `id`'s config and starts its process (a node that is absent or down); it is
   * `starting` until {@link waitUp}. A node whose id the store does not list joins the ring.
   */
  async start(id: string): Promise<void> {
    const node = this.#node(id);
    if (node.state !== "down" && node.state !== "absent") return;
    const { network, dir, launcher, secret } = this.#init;
    const file = path.join(dir, `${id}.json`);
    await writeFile(file, `${JSON.stringify(this.#config(id), null, 2)}\n`);
    node.output = "";
    const child = network.exec(id, launcher.command, [...launcher.args, "start", "--config", file], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, RINGFORGE_SECRET: secret },
      ...(launcher.cwd ? { cwd: launcher.cwd } : {}),
    });
    const keep = (data: Buffer) => (node.output = (node.output + data.toString()).slice(-OUTPUT_TAIL));
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    child.once("exit", () => {
      if (node.child === child) node.state = node.leaving ? "absent" : "down";
    });
    child.once("error", (error) => {
      keep(Buffer.from(`\n${error.message}\n`));
      if (node.child === child) node.state = "down";
    });
    node.child = child;
    node.leaving = false;
    node.state = "starting";
  }

  /**
   * Waits until each of `ids` answers `/status` with this run's id, for at most `ms`.
   *
   * @throws {NotRunningError} when a node's process exits first (with the end of its output)
   * @throws {TimeoutError} when one is not up in time
   */
  async waitUp(ids: readonly string[], ms: number): Promise<void> {
    const deadline = performance.now() + ms;
    await Promise.all(ids.map(async (id) => {
      const node = this.#node(id);
      for (;;) {
        if (node.state === "up" || node.state === "paused") return;
        if (node.state === "down") {
          throw new NotRunningError(`node ${id} (its process exited before it was up: ${node.output.trim().slice(-600)})`);
        }
        const status = await probe(this.url(id));
        if (status?.runId === this.#init.runId && node.state === "starting") {
          node.state = "up";
          return;
        }
        if (performance.now() > deadline) throw new TimeoutError(`waiting for node ${id} to start`, ms, { output: node.output });
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }));
  }

  /** SIGSTOP: the process stops where it is (a running node only). */
  pause(id: string): void {
    const node = this.#node(id);
    if (node.state !== "up") return;
    signal(node.child, "SIGSTOP");
    node.state = "paused";
  }

  /** SIGCONT: a paused node goes on. */
  resume(id: string): void {
    const node = this.#node(id);
    if (node.state !== "paused") return;
    signal(node.child, "SIGCONT");
    node.state = "up";
  }

  /** SIGKILL, and waits for the process to be gone (a paused one too). */
  async kill(id: string): Promise<void> {
    const node = this.#node(id);
    const child = node.child;
    // A node that left, or has not joined yet, stays out of the ring: nothing restarts it.
    if (node.state === "absent") return;
    node.state = "down";
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    signal(child, "SIGKILL");
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
  }

  /**
   * Decommissions `id` with the CLI (`ringforge leave ID --url URL`, run on the host), then waits
   * for its process to hand off its data and exit, for at most `ms`; it is then absent.
   *
   * @throws {NotRunningError} unless the node is running
   * @throws {InvalidRequestError} when the CLI fails (with its output: the ring would be too small, ...)
   * @throws {TimeoutError} when the node has not exited in time
   */
  async leave(id: string, ms: number): Promise<void> {
    const node = this.#node(id);
    const child = node.child;
    // A paused node could not answer `ringforge leave`, nor hand anything off.
    if (!child || node.state !== "up") {
      throw new NotRunningError(`node ${id} (it is ${node.state}: only a running node can leave)`);
    }
    const { launcher } = this.#init;
    node.leaving = true;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    const cli = spawn(launcher.command, [...launcher.args, "leave", id, "--url", this.url(id)], {
      stdio: ["ignore", "pipe", "pipe"],
      ...(launcher.cwd ? { cwd: launcher.cwd } : {}),
    });
    let output = "";
    cli.stdout?.on("data", (d: Buffer) => (output += d.toString()));
    cli.stderr?.on("data", (d: Buffer) => (output += d.toString()));
    // The CLI asks the node which it is, then tells it to leave: two requests, bounded.
    const cliTimer = setTimeout(() => cli.kill("SIGKILL"), LEAVE_CLI_MS);
    const code = await new Promise<number | null>((resolve) => {
      cli.once("exit", (c) => resolve(c));
      cli.once("error", () => resolve(-1));
    });
    clearTimeout(cliTimer);
    if (code !== 0) {
      node.leaving = false;
      throw new InvalidRequestError(`ringforge leave ${id} failed: ${output.trim().replace(/^ringforge: /, "").slice(-400)}`, { node: id });
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), ms)));
    const outcome = await Promise.race([exited, late]);
    clearTimeout(timer);
    if (outcome === "late") throw new TimeoutError(`waiting for node ${id} to leave`, ms, { node: id });
  }

  /**
   * Records `id`'s clock, which its next start keeps (the running process is told by the
   * caller): a step sets the offset, a rate keeps the offset gained so far, as
   * `POST /admin/clock` does.
   */
  setClock(id: string, clock: Partial<Pick<RealNodeClock, "offsetMs" | "driftRate">>): void {
    const node = this.#node(id);
    const now = performance.now();
    const offsetMs = clock.offsetMs ?? offsetNow(node.clock, now);
    node.clock = { offsetMs, driftRate: clock.driftRate ?? node.clock.driftRate, since: now };
  }

  /** Kills every node still running. */
  async killAll(): Promise<void> {
    await Promise.all(this.ids.map((id) => this.kill(id)));
  }

  #node(id: string): RealNode {
    const node = this.#nodes.get(id);
    if (!node) throw new NotRunningError(`node ${id} (not a node of this run: ${this.ids.join(", ")})`);
    return node;
  }

  /** `id`'s node process config: its namespace address, the others as seeds, the store over tcp. */
  #config(id: string): object {
    const { network, store, dir, runId, logLevel } = this.#init;
    const clock = this.#node(id).clock;
    const peer = (n: string) => `${network.address(n)}:${REAL_PEER_PORT}`;
    return {
      id,
      peer: { listen: peer(id) },
      client: { listen: `${network.address(id)}:${REAL_CLIENT_PORT}` },
      seeds: this.ids.filter((n) => n !== id).map(peer),
      dataDir: path.join(dir, "data"),
      logLevel,
      // The simulator's in-process transport (and its latency options) becomes tcp: the real
      // network is the only delay.
      store: { ...store, transport: "tcp", ...(store.engine === undefined ? {} : { engine: inRunDirectory(store.engine) }) },
      runId,
      // The clock as it reads now, drift included: a restart keeps it, as a machine's clock
      // survives a process crash.
      ...(clock.offsetMs !== 0 || clock.driftRate !== 0
        ? { clock: { offsetMs: offsetNow(clock, performance.now()), driftRate: clock.driftRate } }
        : {}),
    };
  }
}

/**
 * Sends `sig` to `child` by its pid: Deno's `ChildProcess.kill` does not send SIGCONT (it
 * returns false and the process stays stopped), `process.kill` does, under both runtimes.
 * SIGKILL goes the same way, so a node killed after a failed signal is still killed.
 */
function signal(child: ChildProcess | undefined, sig: "SIGSTOP" | "SIGCONT" | "SIGKILL"): void {
  if (child?.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(child.pid, sig);
  } catch {
    // gone meanwhile: its exit handler marks it down
  }
}

/** `/status` of the node at `url`, or undefined if it does not answer within a second. */
async function probe(url: string): Promise<{ runId?: string } | undefined> {
  try {
    const response = await fetch(`${url}/status`, { signal: AbortSignal.timeout(1000) });
    if (!response.ok) {
      await response.body?.cancel();
      return undefined;
    }
    return (await response.json()) as { runId?: string };
  } catch {
    return undefined;
  }
}

/** `clock`'s offset at `now` (`performance.now()`), drift included. */
function offsetNow(clock: RealNodeClock, now: number): number {
  return clock.offsetMs + clock.driftRate * (now - clock.since);
}

/**
 * An engine choice with its `directory` left to the node process, which puts it in the run's
 * data directory (`<dataDir>/<id>`): a config's own directory (`"data"`, relative to wherever the
 * command runs) would put every run's files in one place, outside what the run removes.
 */
function inRunDirectory(engine: PluginRef): PluginRef {
  if (typeof engine === "string" || engine.options?.directory === undefined) return engine;
  const { directory: _, ...options } = engine.options;
  return { ...engine, options };
}
