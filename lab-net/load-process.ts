/**
 * The load process of a real run: a process of its own (`ringforge lab-load`, started by the
 * harness) that runs a scenario's clients against node processes over the HTTP API, with the
 * simulator's workload driver (sim/workloads.ts), and writes the history it recorded to a file.
 * The harness applies the faults; keeping the clients in another process keeps its fault work
 * (iptables, spawning and signalling processes) out of the clients' latencies.
 *
 * The two talk in JSON lines: the harness writes {@link LoadCommand}s to the load process's
 * stdin, the load process writes {@link LoadEvent}s to its stdout. A closed stdin (the harness
 * died) stops the clients.
 *
 * @module
 */
import { readFile, writeFile } from "node:fs/promises";
import process from "node:process";
import { createInterface } from "node:readline";
import { z } from "zod";
import { InvalidConfigError, InvalidRequestError, RingforgeError, TimeoutError } from "../core/errors.ts";
import { SeededRandom } from "../core/runtime/seeded-random.ts";
import type { Consistency } from "../core/model/settings.ts";
import { RingforgeClient } from "../client/ringforge-client.ts";
import { History, type OperationRecord } from "../sim/history.ts";
import { parseScenario, type Scenario } from "../sim/scenario.ts";
import { WorkloadDriver, type WorkloadRequests, type WorkloadWorld } from "../sim/workloads.ts";
import { parseWith } from "../core/build/plugin.ts";

/** What the harness tells the load process to do (the file `--spec` names). */
export interface LoadSpec {
  /** The scenario (parsed again here). */
  readonly scenario: unknown;
  /** The run's seed: the clients' random stream is the simulator's for this seed. */
  readonly seed: number;
  /** Each node's client URL, by node id (nodes that join later included). */
  readonly urls: Readonly<Record<string, string>>;
  /** The store's default consistency (the register workload sends it). */
  readonly consistency: Consistency;
  /** A request's time limit as the node applies it, ms; the client gives up a little later. */
  readonly limitMs: number;
  /**
   * The clients start no operation later than this, ms after `go` (the load phase included);
   * the scenario's `durationMs`, counted from the clients' start, may stop them sooner.
   */
  readonly stopAtMs: number;
  /** The most HTTP requests the clients send; the clients stop when they reach it. */
  readonly maxRequests: number;
}

/** A line the harness writes to the load process. */
export type LoadCommand =
  /** Start the clients now. */
  | { readonly command: "go" }
  /** The nodes a client may send to from now on (running or paused, as far as the harness knows). */
  | { readonly command: "nodes"; readonly up: readonly string[] }
  /** Stop the clients (the run's time limit). */
  | { readonly command: "stop" };

/** A line the load process writes to the harness. */
export type LoadEvent =
  /** The spec is read and the clients are ready for `go`. */
  | { readonly event: "ready" }
  /**
   * The load phase (YCSB's) is over and the clients start: fault times count from `at` (ms
   * since `go`, which came at `goAt`, as `performance.timeOrigin + performance.now()`).
   */
  | { readonly event: "started"; readonly at: number; readonly goAt: number }
  /** Client operations finished so far, `at` ms since `go`. */
  | { readonly event: "progress"; readonly done: number; readonly total: number; readonly at: number }
  /** The clients are done; the history is in the `--out` file. */
  | { readonly event: "done"; readonly requests: number };

/** What the load process writes to its `--out` file. */
export interface LoadOutput {
  /** When `go` came, as `performance.timeOrigin + performance.now()`, ms. */
  readonly goAt: number;
  /** The operations, times in ms since `goAt`. */
  readonly operations: readonly OperationRecord[];
  /** What the load process noticed (the request limit, unexpected client errors), same times. */
  readonly faults: readonly { readonly at: number; readonly fault: string }[];
  /** HTTP requests sent. */
  readonly requests: number;
  /** The keys the clients sent requests for. */
  readonly touched: readonly string[];
}

const specSchema = z.object({
  scenario: z.unknown(),
  seed: z.number().int(),
  urls: z.record(z.string(), z.string().url()),
  consistency: z.enum(["count", "local-quorum", "each-quorum", "linearizable"]),
  limitMs: z.number().positive(),
  stopAtMs: z.number().nonnegative(),
  maxRequests: z.number().int().positive(),
}).strict() as unknown as z.ZodType<LoadSpec, unknown>;

const commandSchema = z.discriminatedUnion("command", [
  z.object({ command: z.literal("go") }),
  z.object({ command: z.literal("nodes"), up: z.array(z.string()) }),
  z.object({ command: z.literal("stop") }),
]);

/** What a client adds to a request's time limit before giving up on its own (the node's answer should come first). */
export const CLIENT_GRACE_MS = 250;

/** Requests past the bound a client may send to finish what it was doing, before they are refused. */
const HARD_STOP_PER_CLIENT = 10;

/** How often progress goes to the harness, at most, ms. */
const PROGRESS_EVERY_MS = 250;

/**
 * Runs the load process: reads the spec, says `ready`, waits for `go`, runs the clients, writes
 * the history to `outFile` and says `done`.
 *
 * @throws {InvalidConfigError} for a spec file that is not a spec
 */
export async function runLoadProcess(specFile: string, outFile: string): Promise<void> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(specFile, "utf8"));
  } catch (error) {
    throw new InvalidConfigError([{ path: specFile, message: `not a load spec: ${(error as Error).message}` }]);
  }
  const spec = parseWith(specSchema, raw);
  const scenario = parseScenario(spec.scenario);
  const emit = (event: LoadEvent) => process.stdout.write(`${JSON.stringify(event)}\n`);
  const load = new LoadClients(spec, scenario, (done, total, at) => emit({ event: "progress", done, total, at }));
  const driver = new WorkloadDriver(load.world, scenario);

  let go!: () => void;
  const started = new Promise<void>((resolve) => (go = resolve));
  const lines = createInterface({ input: process.stdin });
  lines.on("line", (line) => {
    let command;
    try {
      command = commandSchema.parse(JSON.parse(line));
    } catch {
      process.stderr.write(`ringforge lab-load: ignored a line that is not a command: ${line.slice(0, 200)}\n`);
      return;
    }
    if (command.command === "go") go();
    else if (command.command === "nodes") load.up = command.up;
    else load.stop();
  });
  // The harness is gone: nothing will read what the clients record.
  lines.on("close", () => {
    load.stop();
    go();
  });
  try {
    emit({ event: "ready" });
    await started;
    load.start();
    if (!load.stopped()) {
      await driver.load();
      const at = load.world.now();
      emit({ event: "started", at, goAt: load.goAt });
      await driver.run(Math.min(at + (scenario.durationMs ?? Infinity), spec.stopAtMs));
    }
    const output: LoadOutput = {
      goAt: load.goAt,
      operations: load.history.operations,
      faults: load.history.faults,
      requests: load.requests,
      touched: [...driver.touched],
    };
    await writeFile(outFile, JSON.stringify(output));
    // Written through before the caller exits (a pipe's writes are asynchronous).
    await new Promise<void>((resolve) =>
      process.stdout.write(`${JSON.stringify({ event: "done", requests: load.requests })}\n`, () => resolve())
    );
  } finally {
    // An open stdin would hold the process after a failure as well as after success.
    lines.close();
    process.stdin.destroy();
  }
}

/** The clients' side of a real run: HTTP clients of the nodes, wall-clock time, the request bound. */
class LoadClients {
  readonly history = new History();
  /** The nodes a client may send to. */
  up: readonly string[] = [];
  requests = 0;
  goAt = 0;
  readonly world: WorkloadWorld;
  readonly #spec: LoadSpec;
  readonly #clients = new Map<string, RingforgeClient>();
  readonly #unexpected = new Set<string>();
  readonly #clientCount: number;
  #stopped = false;
  #lastProgress = 0;

  constructor(spec: LoadSpec, scenario: Scenario, progress: (done: number, total: number, at: number) => void) {
    this.#spec = spec;
    const timeoutMs = scenario.requestTimeoutMs;
    this.#clientCount = scenario.workload.type === "membership" ? 1 : scenario.workload.clients;
    // The simulator's stream for this seed: the same choices of operation, key, node and think time.
    const random = new SeededRandom(spec.seed).fork("workload");
    const only = scenario.coordinators;
    this.world = {
      history: this.history,
      random,
      consistency: spec.consistency,
      timeoutMs,
      now: () => this.#now(),
      sleep: (ms) => this.#sleep(ms),
      pickNode: () => {
        const running = this.up.filter((id) => !only || only.includes(id));
        return running.length ? running[random.int(running.length)] : undefined;
      },
      requests: (id) => this.#client(id),
      loadNodes: () => this.up,
      direct: (id) => this.#client(id),
      stopped: () => this.#stopped,
      codeOf: (error) => this.#codeOf(error),
      onProgress: ({ done, total }) => {
        const now = performance.now();
        if (done < total && now - this.#lastProgress < PROGRESS_EVERY_MS) return;
        this.#lastProgress = now;
        progress(done, total, Math.round(this.#now()));
      },
    };
  }

  start(): void {
    this.goAt = performance.timeOrigin + performance.now();
  }

  stop(): void {
    this.#stopped = true;
  }

  stopped(): boolean {
    return this.#stopped;
  }

  #now(): number {
    return performance.timeOrigin + performance.now() - this.goAt;
  }

  async #sleep(ms: number): Promise<void> {
    if (ms <= 0 || this.#stopped) return;
    await new Promise((resolve) => setTimeout(resolve, ms));
  }

  /** A client of `node` (see {@link timedClient}); each request counts against the spec's bound. */
  #client(node: string): WorkloadRequests {
    let client = this.#clients.get(node);
    if (!client) {
      const url = this.#spec.urls[node];
      if (url === undefined) throw new InvalidRequestError(`node ${node} has no URL in the load spec`, { node });
      client = timedClient(node, url, this.#spec.limitMs, () => {
        // At the bound no client starts another operation; those in flight finish theirs (a
        // request or two more each). A runaway (a retry loop) meets a hard stop further on.
        if (this.requests >= this.#spec.maxRequests + HARD_STOP_PER_CLIENT * this.#clientCount) {
          throw new InvalidRequestError(`the run's request limit (${this.#spec.maxRequests}) is long past`, {});
        }
        this.requests++;
        if (this.requests >= this.#spec.maxRequests && !this.#stopped) {
          this.history.fault(this.#now(), `request limit: clients stopped after ${this.requests} requests`);
          this.#stopped = true;
        }
      });
      this.#clients.set(node, client);
    }
    return client;
  }

  /**
   * A failure's code. A real network fails in ways the simulator's does not (a reset
   * connection, a half-written answer): anything that is not a RingforgeError is recorded as
   * `unexpected`, and its message goes into the timeline once, so it is seen, not hidden.
   */
  #codeOf(error: unknown): string {
    if (error instanceof RingforgeError) return error.code;
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    if (!this.#unexpected.has(message)) {
      this.#unexpected.add(message);
      this.history.fault(this.#now(), `unexpected client error: ${message}`);
    }
    return "unexpected";
  }
}

/**
 * A client of the node `node` at `url` whose requests give up once the node's time limit
 * `limitMs` (and a little more) has passed: a request to a paused process would otherwise wait
 * for as long as the pause. `before` runs before each request (and may refuse it by throwing).
 */
export function timedClient(node: string, url: string, limitMs: number, before?: () => void): RingforgeClient {
  const giveUpMs = limitMs + CLIENT_GRACE_MS;
  const timed: typeof fetch = async (input, init) => {
    before?.();
    try {
      return await fetch(input, { ...init, signal: AbortSignal.timeout(giveUpMs) });
    } catch (error) {
      if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) {
        throw new TimeoutError(`request to ${node}`, giveUpMs, { node });
      }
      throw error;
    }
  };
  return new RingforgeClient(url, { fetch: timed });
}
