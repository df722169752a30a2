/**
 * A lab scenario on real node processes under real network faults (issue 23): the nodes are
 * `ringforge start` processes, each in its own namespace of a {@link NetnsNetwork}; the clients
 * run in a load process of their own (lab-net/load-process.ts, the simulator's workload driver
 * over the HTTP API); this process applies the faults: partitions, blocks and loss are iptables
 * rules, pauses SIGSTOP/SIGCONT, crashes SIGKILL, joins start a process with a new id, leaves run
 * `ringforge leave`, clock skew and drift go to `POST /admin/clock`. The history goes through
 * the simulator's checkers, so the report has the simulator's shape and sits in the same table.
 *
 * Time is wall-clock time: a fault `at 1s` happens a second after the clients start, and the
 * report's times are real milliseconds. Nothing replays from the seed (the seed still fixes the
 * clients' choices of operation, key, node and think time, and a random nemesis's faults).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { resolveStoreConfig, type StoreConfig } from "../core/build/config.ts";
import type { PluginRegistry } from "../core/build/registry.ts";
import { standaloneContext } from "../core/build/standalone-context.ts";
import { InvalidRequestError, NotRunningError, RingforgeError, TimeoutError } from "../core/errors.ts";
import type { MemberInfo, Partitioner } from "../core/interfaces/partitioner.ts";
import type { Consistency } from "../core/model/settings.ts";
import { SeededRandom } from "../core/runtime/seeded-random.ts";
import type { RingforgeClient } from "../client/ringforge-client.ts";
import { availability, latencies, siblings, timeline } from "../sim/checkers.ts";
import { History } from "../sim/history.ts";
import { type FaultEvent, parseFaults } from "../sim/nemesis.ts";
import { DEFAULT_RANDOM_FAULT_KINDS } from "../sim/random-nemesis.ts";
import { type Convergence, type RunOptions, type RunReport, type RunResult, workloadChecks } from "../sim/run.ts";
import type { Scenario } from "../sim/scenario.ts";
import { WorkloadDriver, type WorkloadWorld } from "../sim/workloads.ts";
import { CLIENT_GRACE_MS, type LoadCommand, type LoadEvent, type LoadOutput, type LoadSpec, timedClient } from "./load-process.ts";
import { NetnsNetwork } from "./netns-network.ts";
import { type CliLauncher, RealNodes, sourceCliLauncher } from "./real-nodes.ts";

/** Options of {@link runRealScenario}: the simulator's, and how to start and bound the processes. */
export interface RealRunOptions extends RunOptions {
  /** How to run the `ringforge` CLI for each node. Default: this source tree's, under this runtime. */
  readonly launcher?: CliLauncher;
  /**
   * The most wall-clock time the run takes from the moment the load process is told to go (its
   * load phase included), ms: the clients stop early to leave time for healing, quiescence and
   * the final reads, and whatever is still going at the limit is cut short (the report then
   * says what it has, and that its replicas were not compared). Starting the nodes and the load
   * process have bounds of their own (30 s each). Default 60,000.
   */
  readonly maxRunMs?: number;
  /** How long the nodes have to start, ms. Default 30,000. */
  readonly startTimeoutMs?: number;
  /** The nodes' log level. Default `warn`. */
  readonly logLevel?: "debug" | "info" | "warn" | "error";
  /**
   * The most HTTP requests the clients send (every try of every operation counts); they stop
   * when they reach it, and the timeline says so. Default 10 per planned operation, plus 1,000.
   */
  readonly maxRequests?: number;
}

/** The fault actions a real run can apply so far. */
export const REAL_FAULTS: readonly FaultEvent["action"][] = [
  "partition",
  "block",
  "heal",
  "loss",
  "pause",
  "resume",
  "crash",
  "restart",
  "join",
  "leave",
  "skew",
  "drift",
];

/** The workload types a real run can drive (all but `membership`, which has no clients to drive). */
export const REAL_WORKLOADS: readonly Scenario["workload"]["type"][] = ["set", "crdt", "ycsb", "register"];

/** Default {@link RealRunOptions.maxRunMs}. */
const MAX_RUN_MS = 60_000;

/** How long a final read keeps trying, ms. */
const FINAL_READ_MS = 10_000;

/** How long the load process has to stop its clients and write its history once told to, ms. */
const STOP_MS = 5_000;

/** How long a node (or the load process) has to start or restart, ms. */
const START_MS = 30_000;

/** How long a join (start, stream, ring change) or a leave (hand-off, exit) may take, ms. */
const MEMBERSHIP_MS = 60_000;

/**
 * Runs `scenario` against `config` on real processes with `seed`: creates a network namespace
 * per node (and per node that joins later) on a private bridge, starts a `ringforge start`
 * process in each member's (the config's store, over tcp, data in a temporary directory),
 * starts the load process, which runs the workload's clients against random running nodes,
 * applies the faults at their (wall-clock) times, then heals every fault, waits `quiesceMs`,
 * reads every key with R = N, waits again, and compares each key's replicas. Every way out (a
 * failure, the time limit) kills the processes, removes the network and the data. The clients
 * send at most `maxRequests` requests. Needs Linux, root, `ip` and `iptables`.
 *
 * @example
 * ```ts
 * const { report } = await runRealScenario(config, parseScenario(json), 1, { registry: builtinPlugins });
 * console.log(report.lostWrites);
 * ```
 *
 * @throws {InvalidRequestError} for a workload or fault a real run does not support yet (before
 *   anything is created), or a `NetnsPrerequisiteError` when the machine cannot run it
 * @throws {InvalidConfigError} for a bad config or scenario
 */
export async function runRealScenario(
  config: StoreConfig,
  scenario: Scenario,
  seed: number,
  options: RealRunOptions,
): Promise<RunResult> {
  const store = resolveStoreConfig({ ...config, seed }, options.registry);
  const members = store.members.map((m) => m.id);
  const datacenters = new Map<string, string>();
  for (const m of store.members) if (m.datacenter !== undefined) datacenters.set(m.id, m.datacenter);
  const root = new SeededRandom(seed);
  // The same faults the simulator draws for this seed: a random nemesis forks from the root.
  const faults = parseFaults(scenario.faults, members, datacenters, root);
  assertSupported(scenario, faults);
  // A node that joins later has its namespace (and address) from the start.
  const joiners = faults.flatMap((f) => (f.action === "join" ? [f.node] : []));
  const { plugin, options: partitionerOptions } = store.plugins.partitioner;
  const partitioner = plugin.create(standaloneContext(), partitionerOptions) as Partitioner;
  const launcher = options.launcher ?? sourceCliLauncher();
  const w = scenario.workload;
  const planned = w.type === "set" ? w.adds : w.type === "membership" ? 0 : w.operations + (w.type === "ycsb" ? w.records : 0);

  const dir = await mkdtemp(path.join(tmpdir(), "ringforge-real-"));
  let network: NetnsNetwork | undefined;
  let nodes: RealNodes | undefined;
  try {
    network = await NetnsNetwork.create([...members, ...joiners]);
    nodes = new RealNodes({
      network,
      store: { ...config, seed },
      dir,
      secret: randomBytes(24).toString("base64url"),
      runId: randomBytes(12).toString("base64url"),
      launcher,
      logLevel: options.logLevel ?? "warn",
    });
    for (const id of members) await nodes.start(id);
    await nodes.waitUp(members, options.startTimeoutMs ?? START_MS);
    const run = new RealRun({
      name: store.name,
      scenario,
      seed,
      faults,
      network,
      nodes,
      members: store.members,
      partitioner,
      n: store.replication.n,
      consistency: store.replication.consistency ?? "count",
      volatileEngine: store.plugins.engine.plugin.name === "memory",
      limitMs: scenario.requestTimeoutMs ?? store.requestTimeoutMs,
      maxRunMs: Math.min(options.maxRunMs ?? MAX_RUN_MS, 2 ** 31 - 1),
      maxRequests: options.maxRequests ?? 10 * planned + 1000,
      launcher,
      dir,
      onProgress: options.onProgress,
    });
    return await run.run();
  } finally {
    await nodes?.killAll();
    try {
      await network?.destroy();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

/**
 * Checks that a real run can carry out `scenario` against `config` (its workload, its faults
 * with seed 1), without creating anything: the CLI calls it before any run starts.
 *
 * @throws {InvalidRequestError} naming the workload type or fault not supported yet
 * @throws {InvalidConfigError} for a bad config or fault schedule
 */
export function assertRealScenario(config: StoreConfig, scenario: Scenario, registry: PluginRegistry): void {
  const store = resolveStoreConfig(config, registry);
  const datacenters = new Map<string, string>();
  for (const m of store.members) if (m.datacenter !== undefined) datacenters.set(m.id, m.datacenter);
  const faults = parseFaults(scenario.faults, store.members.map((m) => m.id), datacenters, new SeededRandom(1));
  assertSupported(scenario, faults);
}

/** Rejects, before anything is created, a scenario a real run cannot carry out yet. */
function assertSupported(scenario: Scenario, faults: readonly FaultEvent[]): void {
  const type = scenario.workload.type;
  if (!REAL_WORKLOADS.includes(type)) {
    throw new InvalidRequestError(
      `the ${type} workload is not supported with --real (scenario ${scenario.name}; supported: ${REAL_WORKLOADS.join(", ")})`,
      { workload: type },
    );
  }
  // A random nemesis may draw, on another seed, a kind this seed's faults do not show.
  const schedule = scenario.faults;
  const drawn: string[] = typeof schedule === "object" && !Array.isArray(schedule) && "random" in schedule
    ? [...(schedule.random.kinds ?? DEFAULT_RANDOM_FAULT_KINDS)]
    : [];
  const unsupported = [...new Set([...faults.map((f) => f.action), ...drawn])].filter((a) => !(REAL_FAULTS as string[]).includes(a));
  if (unsupported.length > 0) {
    throw new InvalidRequestError(
      `fault ${unsupported.join(", ")} is not supported with --real yet (scenario ${scenario.name}; supported: ${
        REAL_FAULTS.join(", ")
      }, isolate)`,
      { faults: unsupported },
    );
  }
  if (scenario.autoscale) {
    throw new InvalidRequestError(`autoscale is not supported with --real yet (scenario ${scenario.name})`, { autoscale: true });
  }
}

/** What one {@link RealRun} needs. */
interface RealRunInit {
  readonly name: string;
  readonly scenario: Scenario;
  readonly seed: number;
  readonly faults: readonly FaultEvent[];
  readonly network: NetnsNetwork;
  readonly nodes: RealNodes;
  /** The store's members at the start (joins and leaves change the ring from there). */
  readonly members: readonly MemberInfo[];
  readonly partitioner: Partitioner;
  readonly n: number;
  readonly consistency: Consistency;
  /**
   * True if the nodes' engine keeps records only in the process's memory (`memory`, whose
   * `durable: true` is the simulator's disk): a crash then takes the node's records with it.
   */
  readonly volatileEngine: boolean;
  /** A client request's time limit, ms. */
  readonly limitMs: number;
  readonly maxRunMs: number;
  readonly maxRequests: number;
  readonly launcher: CliLauncher;
  readonly dir: string;
  readonly onProgress: RunOptions["onProgress"];
}

/**
 * One real run from the moment the nodes are up: the load process runs the clients, this
 * process applies the faults, then heals, reads every key with R = N and checks the replicas.
 * Times are ms since the load process was told to go.
 */
class RealRun {
  readonly #init: RealRunInit;
  /** What this process records: the faults. */
  readonly #own = new History();
  /** This process's final reads (their own history, merged into the report's). */
  readonly #finals = new History();
  readonly #clients = new Map<string, RingforgeClient>();
  /** Fault changes in progress, so the final heal waits for them. */
  readonly #applying: Promise<void>[] = [];
  /** Nodes being decommissioned: no client is sent to them any more. */
  readonly #draining = new Set<string>();
  /** The node list the load process has last been told. */
  #announced = "";
  #load: LoadProcess | undefined;
  /** What the load process recorded, once it is done. */
  #output: LoadOutput | undefined;
  #convergence: Convergence | undefined;
  /** When `go` was sent, as `performance.timeOrigin + performance.now()`. */
  #t0 = performance.timeOrigin + performance.now();
  #stopped = false;
  /** Starts the time limit (set by {@link run}, called by the body as it sends `go`). */
  #armLimit: () => void = () => {};

  constructor(init: RealRunInit) {
    this.#init = init;
  }

  /** Ms since `go`. */
  get now(): number {
    return performance.timeOrigin + performance.now() - this.#t0;
  }

  async run(): Promise<RunResult> {
    const { scenario, maxRunMs } = this.#init;
    let limit: ReturnType<typeof setTimeout> | undefined;
    // The limit counts from `go` (the load process's start-up has a bound of its own).
    const cut = new Promise<void>((resolve) => {
      this.#armLimit = () => {
        limit = setTimeout(() => {
          this.#stopped = true;
          this.#own.fault(this.now, `time limit: run cut short at ${maxRunMs} ms`);
          this.#load?.send({ command: "stop" });
          resolve();
        }, maxRunMs);
      };
    });
    const body = this.#body();
    // Cut short, the rest goes on in the background until the processes are killed: its
    // failures then are not the run's.
    body.catch(() => {});
    try {
      await Promise.race([body, cut]);
      // A failure of the run itself (the load process died): report it, not a half history.
      if (!this.#stopped) await body;
      // Cut short while the clients ran: what they recorded until they stopped still counts.
      else if (!this.#output && this.#load) {
        await Promise.race([this.#load.done.then((o) => void (this.#output = o), () => {}), delay(STOP_MS)]);
      }
    } finally {
      clearTimeout(limit);
      this.#stopped = true;
      await this.#load?.close();
    }
    const h = this.#history();
    // A run cut short before its end has no convergence check: its keys are not counted as agreeing.
    const c = this.#convergence ?? { keys: this.#output?.touched.length ?? 0, divergent: 0, examples: [], unchecked: true };
    const refused = h.operations.filter((op) => op.error === "RINGFORGE_SIBLING_LIMIT");
    const report: RunReport = {
      config: this.#init.name,
      scenario: scenario.name,
      seed: this.#init.seed,
      world: "real",
      digest: h.digest(c),
      virtualMs: Math.round(this.now),
      events: 0,
      availability: availability(h),
      timeline: timeline(h),
      latency: latencies(h),
      siblings: siblings(h),
      ...(refused.length > 0
        ? { siblingLimit: { refused: refused.length, firstAtMs: Math.round(Math.min(...refused.map((op) => op.end))) } }
        : {}),
      ...workloadChecks(h, scenario.workload),
      convergence: c,
      // Node-to-node traffic is not counted in a real run.
      network: { messages: 0, bytes: 0, dropped: 0, duplicated: 0 },
    };
    return { report, history: h };
  }

  /**
   * The run's history: the load process's operations and notes (in this process's time), this
   * process's final reads, and every fault in time order.
   */
  #history(): History {
    const history = new History();
    const output = this.#output;
    const shift = output ? output.goAt - this.#t0 : 0;
    for (const op of output?.operations ?? []) history.record({ ...op, start: op.start + shift, end: op.end + shift });
    for (const op of this.#finals.operations) history.record(op);
    const faults = [...(output?.faults ?? []).map((f) => ({ at: f.at + shift, fault: f.fault })), ...this.#own.faults];
    for (const f of faults.sort((a, b) => a.at - b.at)) history.fault(f.at, f.fault);
    return history;
  }

  async #body(): Promise<void> {
    const { scenario, faults, maxRunMs, nodes, n } = this.#init;
    const load = this.#load = await LoadProcess.start(this.#spec(), this.#init);
    await load.ready;
    if (this.#stopped) return;
    this.#announce();
    this.#t0 = performance.timeOrigin + performance.now();
    this.#armLimit();
    load.send({ command: "go" });
    // Fault times count from the end of the load phase, when the clients start.
    const at = await load.started;
    if (this.#stopped) return;
    // It ended before its clients started: `done` says why.
    if (load.goAt === 0) await load.done;
    const startedAt = at + (load.goAt - this.#t0);
    const timers = faults.map((fault) =>
      setTimeout(() => this.#applying.push(this.#apply(fault)), Math.max(0, startedAt + fault.at - this.now))
    );
    try {
      this.#output = await load.done;
      const lastFault = faults.length ? startedAt + faults[faults.length - 1]!.at : 0;
      if (lastFault > this.now) await this.#sleep(Math.min(lastFault - this.now + 1, maxRunMs - this.now));
    } finally {
      for (const timer of timers) clearTimeout(timer);
    }
    if (this.#stopped) return;
    await this.#healAll();
    await this.#sleep(scenario.quiesceMs);
    const driver = new WorkloadDriver(this.#world(this.#finals), scenario);
    for (const key of this.#output.touched) driver.touched.add(key);
    if (scenario.finalReads !== false && !this.#stopped) {
      const node = nodes.ids.find((id) => nodes.state(id) === "up") ?? nodes.ids[0]!;
      // A read that needs every replica waits for redialled peers (TCP back-off after a partition).
      await driver.finalReads(node, n, FINAL_READ_MS);
      await this.#sleep(scenario.quiesceMs);
    }
    if (!this.#stopped) this.#convergence = await this.#checkReplicas(driver.touched);
  }

  /** The load process's spec: this run's scenario, seed, nodes and bounds. */
  #spec(): LoadSpec {
    const { scenario, seed, nodes, consistency, limitMs, maxRunMs, maxRequests } = this.#init;
    // The clients stop early enough for the end of the run to fit in the time limit (counted
    // from `go`, the load phase included): the waits for faults and quiescence, the final
    // reads, and a few requests' time.
    const reserve = 2 * scenario.quiesceMs + 2 * (limitMs + CLIENT_GRACE_MS) + FINAL_READ_MS + 1000;
    return {
      scenario,
      seed,
      urls: Object.fromEntries(nodes.ids.map((id) => [id, nodes.url(id)])),
      consistency,
      limitMs,
      stopAtMs: Math.max(1000, maxRunMs - reserve),
      maxRequests,
    };
  }

  /** This process as the final reads' world: the same history, its own clients. */
  #world(history: History): WorkloadWorld {
    return {
      history,
      random: new SeededRandom(this.#init.seed).fork("final"),
      consistency: this.#init.consistency,
      timeoutMs: this.#init.scenario.requestTimeoutMs,
      now: () => this.now,
      sleep: (ms) => this.#sleep(ms),
      pickNode: () => undefined,
      requests: (id) => this.#client(id),
      loadNodes: () => [],
      direct: (id) => this.#client(id),
      stopped: () => this.#stopped,
      codeOf: (error) => {
        if (error instanceof RingforgeError) return error.code;
        this.#own.fault(this.now, `unexpected client error: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
        return "unexpected";
      },
    };
  }

  /** Tells the load process which nodes a client may send to now, if that changed. */
  #announce(): void {
    const { nodes } = this.#init;
    // A paused node looks alive to a client: it is sent requests, which time out.
    const up = nodes.ids.filter((id) => (nodes.state(id) === "up" || nodes.state(id) === "paused") && !this.#draining.has(id));
    const text = up.join(",");
    if (text === this.#announced) return;
    this.#announced = text;
    this.#load?.send({ command: "nodes", up });
  }

  // ---- faults -----------------------------------------------------------------------------

  async #apply(fault: FaultEvent): Promise<void> {
    if (this.#stopped) return;
    const { network, nodes } = this.#init;
    const at = this.now;
    const record = (text: string) => this.#own.fault(at, text);
    try {
      switch (fault.action) {
        case "partition":
          record(`partition ${fault.groups.map((g) => `{${g.join(",")}}`).join(" | ")}`);
          return await network.partition(fault.groups);
        case "block":
          record(`block ${fault.from} -> ${fault.to}`);
          return await network.block(fault.from, fault.to);
        case "heal": {
          // As in the simulator, heal ends partitions and blocks; loss stays until `loss 0`.
          record("heal");
          const loss = network.faults.loss;
          await network.heal();
          if (loss > 0) await network.loss(loss);
          return;
        }
        case "loss":
          record(`loss ${fault.probability}`);
          return await network.loss(fault.probability);
        case "pause":
          record(`pause ${fault.node}`);
          return nodes.pause(fault.node);
        case "resume":
          record(`resume ${fault.node}`);
          return nodes.resume(fault.node);
        case "crash":
          // Unlike the simulator's durable memory engine, a killed process's memory is gone.
          record(`crash ${fault.node}${this.#init.volatileEngine ? " (memory engine: its records go with the process)" : ""}`);
          await nodes.kill(fault.node);
          return this.#announce();
        case "restart":
          record(`restart ${fault.node}`);
          if (nodes.state(fault.node) !== "down") return;
          await nodes.start(fault.node);
          await nodes.waitUp([fault.node], START_MS);
          return this.#announce();
        case "join":
          record(`join ${fault.node}`);
          await nodes.start(fault.node);
          await nodes.waitUp([fault.node], MEMBERSHIP_MS);
          this.#own.fault(this.now, `${fault.node} joined`);
          return this.#announce();
        case "leave":
          record(`leave ${fault.node}`);
          // The clients stop sending to it first, as they would to a node being drained.
          this.#draining.add(fault.node);
          this.#announce();
          try {
            await nodes.leave(fault.node, MEMBERSHIP_MS);
          } finally {
            this.#draining.delete(fault.node);
          }
          this.#own.fault(this.now, `${fault.node} left`);
          return this.#announce();
        case "skew":
          record(`skew ${fault.node} ${fault.offsetMs}ms`);
          nodes.setClock(fault.node, { offsetMs: fault.offsetMs });
          await this.#client(fault.node).setClock({ offsetMs: fault.offsetMs });
          return;
        case "drift":
          record(`drift ${fault.node} ${fault.rate}`);
          nodes.setClock(fault.node, { driftRate: fault.rate });
          await this.#client(fault.node).setClock({ driftRate: fault.rate });
          return;
        default:
          // assertSupported let nothing else through.
          throw new InvalidRequestError(`fault ${fault.action} is not supported with --real yet`, {});
      }
    } catch (error) {
      this.#own.fault(this.now, `${fault.action} failed: ${error instanceof Error ? error.message : String(error)}`);
      this.#announce();
    }
  }

  /** Resumes paused nodes, removes every network fault, restarts crashed nodes. */
  async #healAll(): Promise<void> {
    const { network, nodes } = this.#init;
    await Promise.all(this.#applying);
    for (const id of nodes.ids) {
      if (nodes.state(id) !== "paused") continue;
      nodes.resume(id);
      this.#own.fault(this.now, `resume ${id}`);
    }
    await network.heal();
    const down = nodes.ids.filter((id) => nodes.state(id) === "down");
    for (const id of down) await nodes.start(id);
    try {
      await nodes.waitUp(down, START_MS);
    } catch (error) {
      this.#own.fault(this.now, `restart failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    this.#own.fault(this.now, "heal all");
  }

  // ---- the end of the run -----------------------------------------------------------------

  /** A client of `node` for this process's own requests. */
  #client(node: string): RingforgeClient {
    let client = this.#clients.get(node);
    if (!client) {
      client = timedClient(node, this.#init.nodes.url(node), this.#init.limitMs);
      this.#clients.set(node, client);
    }
    return client;
  }

  /**
   * Each touched key's replicas (by the ring as the run left it: the members, less those that
   * left, and those that joined) asked for their own record (`GET /admin/local/:key`):
   * divergent if their live siblings differ, or one does not answer. The wire carries values,
   * not clocks, so two records that differ only in their clocks count as equal here (the
   * simulator compares whole records).
   */
  async #checkReplicas(touched: ReadonlySet<string>): Promise<Convergence> {
    const { partitioner, n, nodes, members } = this.#init;
    const present = nodes.ids.filter((id) => nodes.state(id) !== "absent");
    partitioner.setMembers(present.map((id) => members.find((m) => m.id === id) ?? { id }));
    const divergent: string[] = [];
    const keys = [...touched].sort();
    for (const key of keys) {
      if (this.#stopped) break;
      const records = await Promise.all(
        partitioner.preferenceList(key, n).map(async (id) => {
          try {
            const local = await this.#client(id).local(key);
            return local.siblings.map((s) => (s === null ? "tombstone" : Buffer.from(s).toString("base64"))).sort().join(",");
          } catch {
            return undefined;
          }
        }),
      );
      if (records.some((r) => r === undefined || r !== records[0])) divergent.push(key);
    }
    return { keys: keys.length, divergent: divergent.length, examples: divergent.slice(0, 10) };
  }

  /** Sleeps `ms` (wall clock), or less once the run is stopped. */
  async #sleep(ms: number): Promise<void> {
    if (ms <= 0 || this.#stopped) return;
    await new Promise((resolve) => setTimeout(resolve, ms));
  }
}

/**
 * The load process of one run (see lab-net/load-process.ts): started with the same launcher as
 * the nodes (`ringforge lab-load`), on the host; commands go to its stdin, events come from its
 * stdout. Every way it can end (an exit, a failed spawn, a broken pipe, an unreadable history)
 * settles {@link done}.
 */
class LoadProcess {
  readonly #child: ChildProcess;
  readonly #outFile: string;
  #output = "";
  /** Resolves once it has read its spec (rejects if it ends first or takes longer than 30 s). */
  readonly ready: Promise<void>;
  /** Resolves with the clients' start (ms since go, in its time) once the load phase is over. */
  readonly started: Promise<number>;
  /** Resolves with what it recorded once its clients are done; rejects if it ends otherwise. */
  readonly done: Promise<LoadOutput>;
  /** When it received `go`, as `performance.timeOrigin + performance.now()` (known once started). */
  goAt = 0;

  private constructor(child: ChildProcess, outFile: string, onProgress: RunOptions["onProgress"]) {
    this.#child = child;
    this.#outFile = outFile;
    let ready!: () => void;
    let started!: (at: number) => void;
    let done!: (output: LoadOutput) => void;
    let failed!: (error: Error) => void;
    const readyOrNot = new Promise<void>((resolve) => (ready = resolve));
    this.started = new Promise<number>((resolve) => (started = resolve));
    this.done = new Promise<LoadOutput>((resolve, reject) => {
      done = resolve;
      failed = reject;
    });
    this.done.catch(() => {});
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError("waiting for the load process to start", START_MS, {})), START_MS);
    });
    this.ready = Promise.race([readyOrNot, late, this.done.then(() => {})]).finally(() => clearTimeout(timer));
    this.ready.catch(() => {});
    // A load process that ends before it starts the clients fails the run through `done`.
    this.done.catch(() => started(0));
    const keep = (data: Buffer) => (this.#output = (this.#output + data.toString()).slice(-4096));
    const died = (what: string) =>
      failed(new NotRunningError(`the load process (${what}: ${this.#output.trim().slice(-600) || "no output"})`));
    child.stderr?.on("data", keep);
    child.once("error", (error) => died(`it could not run: ${error.message}`));
    // A late command to a process that has just exited: the exit is what matters.
    child.stdin?.on("error", () => {});
    createInterface({ input: child.stdout! }).on("line", (line) => {
      let event: LoadEvent;
      try {
        event = JSON.parse(line) as LoadEvent;
      } catch {
        keep(Buffer.from(`${line}\n`));
        return;
      }
      if (event.event === "ready") ready();
      else if (event.event === "started") {
        this.goAt = event.goAt;
        started(event.at);
      } else if (event.event === "progress") onProgress?.({ done: event.done, total: event.total, virtualMs: event.at });
      else if (event.event === "done") {
        readFile(this.#outFile, "utf8").then((text) => JSON.parse(text) as LoadOutput).then(
          done,
          (error: Error) => died(`its history is unreadable: ${error.message}`),
        );
      }
    });
    // `done` has come first when all went well (reading the file takes a moment: wait for it).
    child.once("exit", (code, signal) => setTimeout(() => died(`it exited with ${signal ?? code}`), 1000));
  }

  /** Writes `spec` and starts the load process (see {@link ready}). */
  static async start(spec: LoadSpec, init: RealRunInit): Promise<LoadProcess> {
    const specFile = path.join(init.dir, "load-spec.json");
    const outFile = path.join(init.dir, "load-history.json");
    await writeFile(specFile, JSON.stringify(spec));
    const { launcher } = init;
    const child = spawn(launcher.command, [...launcher.args, "lab-load", "--spec", specFile, "--out", outFile], {
      stdio: ["pipe", "pipe", "pipe"],
      ...(launcher.cwd ? { cwd: launcher.cwd } : {}),
    });
    return new LoadProcess(child, outFile, init.onProgress);
  }

  /** Sends a command (nothing once the process is gone). */
  send(command: LoadCommand): void {
    const stdin = this.#child.stdin;
    if (stdin && stdin.writable && this.#child.exitCode === null && this.#child.signalCode === null) {
      stdin.write(`${JSON.stringify(command)}\n`);
    }
  }

  /** Ends its stdin (which stops its clients) and kills it if it has not exited within 5 s. */
  async close(): Promise<void> {
    const child = this.#child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.stdin?.end();
    await Promise.race([exited, delay(STOP_MS)]);
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
}

/** Resolves after `ms` (wall clock). */
function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
