/**
 * A lab scenario on real node processes under real network faults (issue 23): the nodes are
 * `ringforge start` processes, each in its own namespace of a {@link NetnsNetwork}; the clients
 * run here, on the host, over the HTTP API; partitions, blocks and loss are iptables rules,
 * pauses SIGSTOP/SIGCONT, crashes SIGKILL. The history goes through the simulator's checkers,
 * so the report has the simulator's shape and sits in the same table.
 *
 * Time is wall-clock time: a fault `at 1s` happens a second after the clients start, and the
 * report's times are real milliseconds. Nothing replays from the seed (the seed still fixes the
 * clients' choices of node and think times, and a random nemesis's faults).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { resolveStoreConfig, type StoreConfig } from "../core/build/config.ts";
import type { PluginRegistry } from "../core/build/registry.ts";
import { standaloneContext } from "../core/build/standalone-context.ts";
import { StoreClient } from "../core/client/store-client.ts";
import { InvalidRequestError, RetriesExhaustedError, RingforgeError, TimeoutError } from "../core/errors.ts";
import type { Partitioner } from "../core/interfaces/partitioner.ts";
import type { Random } from "../core/interfaces/random.ts";
import { SeededRandom } from "../core/runtime/seeded-random.ts";
import { RingforgeClient } from "../client/ringforge-client.ts";
import { availability, latencies, lostWrites, siblings, timeline } from "../sim/checkers.ts";
import { History, type OperationKind } from "../sim/history.ts";
import { type FaultEvent, parseFaults } from "../sim/nemesis.ts";
import { DEFAULT_RANDOM_FAULT_KINDS } from "../sim/random-nemesis.ts";
import type { Convergence, RunOptions, RunReport, RunResult } from "../sim/run.ts";
import type { MsRange, Scenario, SetWorkload } from "../sim/scenario.ts";
import { obsoleteSiblings, parseSetValues, setCodec, unionOfSets } from "../sim/workload-values.ts";
import { NetnsNetwork } from "./netns-network.ts";
import { type CliLauncher, RealNodes, sourceCliLauncher } from "./real-nodes.ts";

/** Options of {@link runRealScenario}: the simulator's, and how to start and bound the processes. */
export interface RealRunOptions extends RunOptions {
  /** How to run the `ringforge` CLI for each node. Default: this source tree's, under this runtime. */
  readonly launcher?: CliLauncher;
  /**
   * The most wall-clock time the run takes from the moment the clients start, ms: the clients
   * stop early to leave time for healing, quiescence and the final read, and whatever is still
   * going at the limit is cut short (the report then says what it has). Default 60,000.
   */
  readonly maxRunMs?: number;
  /** How long the nodes have to start, ms. Default 30,000. */
  readonly startTimeoutMs?: number;
  /** The nodes' log level. Default `warn`. */
  readonly logLevel?: "debug" | "info" | "warn" | "error";
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
];

/** The workload types a real run can drive so far. */
export const REAL_WORKLOADS: readonly Scenario["workload"]["type"][] = ["set"];

/** Default {@link RealRunOptions.maxRunMs}. */
const MAX_RUN_MS = 60_000;

/** How long the final read keeps trying, ms. */
const FINAL_READ_MS = 10_000;

/** What the client adds to a request's time limit before giving up on its own (the node's answer should come first). */
const CLIENT_GRACE_MS = 250;

/**
 * Runs `scenario` against `config` on real processes with `seed`: creates a network namespace
 * per node on a private bridge, starts a `ringforge start` process in each (the config's store,
 * over tcp, data in a temporary directory), runs the workload's clients from this process
 * against random running nodes, applies the faults at their (wall-clock) times, then heals
 * every fault, waits `quiesceMs`, reads with R = N, waits again, and compares each key's
 * replicas. Every way out (a failure, the time limit) kills the processes, removes the network
 * and the data. Needs Linux, root, `ip` and `iptables`.
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
  const ids = store.members.map((m) => m.id);
  const datacenters = new Map<string, string>();
  for (const m of store.members) if (m.datacenter !== undefined) datacenters.set(m.id, m.datacenter);
  const root = new SeededRandom(seed);
  // The same faults the simulator draws for this seed: a random nemesis forks from the root.
  const faults = parseFaults(scenario.faults, ids, datacenters, root);
  assertSupported(scenario, faults);
  const { plugin, options: partitionerOptions } = store.plugins.partitioner;
  const partitioner = plugin.create(standaloneContext(), partitionerOptions) as Partitioner;
  partitioner.setMembers(store.members);

  const dir = await mkdtemp(path.join(tmpdir(), "ringforge-real-"));
  let network: NetnsNetwork | undefined;
  let nodes: RealNodes | undefined;
  try {
    network = await NetnsNetwork.create(ids);
    nodes = new RealNodes({
      network,
      store: { ...config, seed },
      dir,
      secret: randomBytes(24).toString("base64url"),
      runId: randomBytes(12).toString("base64url"),
      launcher: options.launcher ?? sourceCliLauncher(),
      logLevel: options.logLevel ?? "warn",
    });
    for (const id of ids) await nodes.start(id);
    await nodes.waitUp(ids, options.startTimeoutMs ?? 30_000);
    const run = new RealRun({
      name: store.name,
      scenario,
      seed,
      random: root.fork("workload"),
      faults,
      network,
      nodes,
      partitioner,
      n: store.replication.n,
      limitMs: scenario.requestTimeoutMs ?? store.requestTimeoutMs,
      maxRunMs: Math.min(options.maxRunMs ?? MAX_RUN_MS, 2 ** 31 - 1),
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
      `the ${type} workload is not supported with --real yet (scenario ${scenario.name}; supported: ${REAL_WORKLOADS.join(", ")})`,
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
  readonly random: Random;
  readonly faults: readonly FaultEvent[];
  readonly network: NetnsNetwork;
  readonly nodes: RealNodes;
  readonly partitioner: Partitioner;
  readonly n: number;
  /** A client request's time limit, ms. */
  readonly limitMs: number;
  readonly maxRunMs: number;
  readonly onProgress: RunOptions["onProgress"];
}

/** One real run from the moment the nodes are up. */
class RealRun {
  readonly history = new History();
  readonly #init: RealRunInit;
  readonly #touched = new Set<string>();
  readonly #clients = new Map<string, RingforgeClient>();
  /** Fault changes in progress, so the final heal waits for them. */
  readonly #applying: Promise<void>[] = [];
  #t0 = 0;
  #done = 0;
  #stopped = false;

  constructor(init: RealRunInit) {
    this.#init = init;
  }

  /** Ms since the clients started. */
  get now(): number {
    return performance.now() - this.#t0;
  }

  async run(): Promise<RunResult> {
    const { scenario, maxRunMs } = this.#init;
    this.#t0 = performance.now();
    let convergence: Convergence | undefined;
    let limit: ReturnType<typeof setTimeout> | undefined;
    const cut = new Promise<void>((resolve) => {
      limit = setTimeout(() => {
        this.#stopped = true;
        this.history.fault(this.now, `time limit: run cut short at ${maxRunMs} ms`);
        resolve();
      }, maxRunMs);
    });
    const body = this.#body().then((c) => void (convergence = c));
    // Cut short, the rest goes on in the background until the processes are killed: its
    // failures then are not the run's.
    body.catch(() => {});
    try {
      await Promise.race([body, cut]);
    } finally {
      clearTimeout(limit);
      this.#stopped = true;
    }
    const c = convergence ?? { keys: this.#touched.size, divergent: 0, examples: [] };
    const h = this.history;
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
      lostWrites: lostWrites(h),
      convergence: c,
      // Node-to-node traffic is not counted in a real run (yet).
      network: { messages: 0, bytes: 0, dropped: 0, duplicated: 0 },
    };
    return { report, history: h };
  }

  async #body(): Promise<Convergence> {
    const { scenario, faults, maxRunMs, limitMs } = this.#init;
    const w = scenario.workload as SetWorkload;
    const timers = faults.map((fault) => setTimeout(() => this.#applying.push(this.#apply(fault)), fault.at));
    try {
      // The clients stop early enough for the end of the run to fit in the time limit: the
      // waits for faults and quiescence, and a few requests' time.
      const reserve = 2 * scenario.quiesceMs + 2 * (limitMs + CLIENT_GRACE_MS) + FINAL_READ_MS + 1000;
      const deadline = Math.min(scenario.durationMs ?? Infinity, Math.max(1000, maxRunMs - reserve));
      const total = w.adds;
      await Promise.all(split(total, w.clients).map((adds, client) => this.#setClient(w, client, adds, deadline)));
      const lastFault = faults.length ? faults[faults.length - 1]!.at : 0;
      if (lastFault > this.now) await this.#sleep(Math.min(lastFault - this.now + 1, deadline - this.now));
    } finally {
      for (const timer of timers) clearTimeout(timer);
    }
    await this.#healAll();
    await this.#sleep(scenario.quiesceMs);
    if (scenario.finalReads !== false) {
      await this.#finalRead(w.key);
      await this.#sleep(scenario.quiesceMs);
    }
    return await this.#convergence();
  }

  // ---- faults -----------------------------------------------------------------------------

  async #apply(fault: FaultEvent): Promise<void> {
    if (this.#stopped) return;
    const { network, nodes } = this.#init;
    const at = this.now;
    try {
      switch (fault.action) {
        case "partition":
          this.history.fault(at, `partition ${fault.groups.map((g) => `{${g.join(",")}}`).join(" | ")}`);
          return await network.partition(fault.groups);
        case "block":
          this.history.fault(at, `block ${fault.from} -> ${fault.to}`);
          return await network.block(fault.from, fault.to);
        case "heal": {
          // As in the simulator, heal ends partitions and blocks; loss stays until `loss 0`.
          this.history.fault(at, "heal");
          const loss = network.faults.loss;
          await network.heal();
          if (loss > 0) await network.loss(loss);
          return;
        }
        case "loss":
          this.history.fault(at, `loss ${fault.probability}`);
          return await network.loss(fault.probability);
        case "pause":
          this.history.fault(at, `pause ${fault.node}`);
          return nodes.pause(fault.node);
        case "resume":
          this.history.fault(at, `resume ${fault.node}`);
          return nodes.resume(fault.node);
        case "crash":
          this.history.fault(at, `crash ${fault.node}`);
          return await nodes.kill(fault.node);
        case "restart":
          this.history.fault(at, `restart ${fault.node}`);
          if (nodes.state(fault.node) !== "down") return;
          await nodes.start(fault.node);
          return await nodes.waitUp([fault.node], 30_000);
        default:
          // assertSupported let nothing else through.
          throw new InvalidRequestError(`fault ${fault.action} is not supported with --real yet`, {});
      }
    } catch (error) {
      this.history.fault(this.now, `${fault.action} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** Resumes paused nodes, removes every network fault, restarts crashed nodes. */
  async #healAll(): Promise<void> {
    const { network, nodes } = this.#init;
    await Promise.all(this.#applying);
    for (const id of nodes.ids) {
      if (nodes.state(id) !== "paused") continue;
      nodes.resume(id);
      this.history.fault(this.now, `resume ${id}`);
    }
    await network.heal();
    const down = nodes.ids.filter((id) => nodes.state(id) === "down");
    for (const id of down) await nodes.start(id);
    try {
      await nodes.waitUp(nodes.ids, 30_000);
    } catch (error) {
      this.history.fault(this.now, `restart failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    this.history.fault(this.now, "heal all");
  }

  // ---- clients ----------------------------------------------------------------------------

  /**
   * A client of `node` whose requests give up once the time limit (and a little more) has
   * passed: a request to a paused process would otherwise wait for as long as the pause.
   */
  #client(node: string): RingforgeClient {
    let client = this.#clients.get(node);
    if (!client) {
      const limitMs = this.#init.limitMs + CLIENT_GRACE_MS;
      const timed: typeof fetch = async (input, init) => {
        try {
          return await fetch(input, { ...init, signal: AbortSignal.timeout(limitMs) });
        } catch (error) {
          if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) {
            throw new TimeoutError(`request to ${node}`, limitMs, { node });
          }
          throw error;
        }
      };
      client = new RingforgeClient(this.#init.nodes.url(node), { fetch: timed });
      this.#clients.set(node, client);
    }
    return client;
  }

  /** A random node that is up or paused (a paused one looks alive to a client), if any. */
  #pickNode(): string | undefined {
    const { nodes, scenario, random } = this.#init;
    const only = scenario.coordinators;
    const running = nodes.ids.filter((id) => nodes.state(id) !== "down" && nodes.state(id) !== "starting" && (!only || only.includes(id)));
    return running.length ? running[random.int(running.length)] : undefined;
  }

  async #setClient(w: SetWorkload, client: number, adds: number, deadline: number): Promise<void> {
    const timeout = this.#init.scenario.requestTimeoutMs === undefined ? {} : { timeoutMs: this.#init.scenario.requestTimeoutMs };
    for (let i = 0; i < adds && this.now < deadline && !this.#stopped; i++) {
      await this.#think(w.thinkMs);
      if (this.#stopped || this.now >= deadline) break;
      const element = `${client}.${i}`;
      const node = this.#pickNode();
      const start = this.now;
      if (!node) {
        this.#fail(client, "add", w.key, "-", start, "RINGFORGE_NOT_RUNNING", element);
        continue;
      }
      this.#touched.add(w.key);
      // One try, as in the simulator: a failed add is recorded as failed (it may still be stored).
      const set = new StoreClient(this.#client(node), { codec: setCodec(element), merge: unionOfSets, maxTries: 1 });
      let putStart: number | undefined;
      try {
        await set.update(
          w.key,
          (current, read) => {
            const values = read.siblings;
            this.#recordRead(client, "read", w.key, node, start, values.length, [...(current?.elements ?? [])], obsoleteSiblings(values));
            putStart = this.now;
            return { by: element, elements: [...(current?.elements ?? []), element] };
          },
          timeout,
        );
        this.history.record({ client, kind: "add", key: w.key, node, value: element, start: putStart!, end: this.now, ok: true });
      } catch (error) {
        const cause = error instanceof RetriesExhaustedError ? error.cause : error;
        if (putStart === undefined) this.#fail(client, "read", w.key, node, start, this.#codeOf(cause));
        this.#fail(client, "add", w.key, node, putStart ?? start, this.#codeOf(cause), element);
      }
      this.#done++;
      this.#init.onProgress?.({ done: this.#done, total: w.adds, virtualMs: this.now });
    }
  }

  // ---- the end of the run -----------------------------------------------------------------

  /**
   * Reads `key` with R = N through the first node that is up, so read repair reaches every
   * replica. Unlike the simulator's, it tries again for a while: after a partition, a node's
   * TCP transport redials its peers only once its back-off has passed, and until then a read
   * that needs every replica times out.
   */
  async #finalRead(key: string): Promise<void> {
    if (this.#stopped || !this.#touched.has(key)) return;
    const { nodes, n } = this.#init;
    const node = nodes.ids.find((id) => nodes.state(id) === "up") ?? nodes.ids[0]!;
    const start = this.now;
    const giveUp = start + FINAL_READ_MS;
    for (;;) {
      try {
        const read = await this.#client(node).get(key, { r: n });
        const obsolete = obsoleteSiblings(read.values.map((v) => setCodec("").decode(v)));
        this.#recordRead(-1, "final-read", key, node, start, read.values.length, parseSetValues(read.values), obsolete);
        return;
      } catch (error) {
        if (this.now < giveUp && !this.#stopped) {
          await this.#sleep(200);
          continue;
        }
        this.#fail(-1, "final-read", key, node, start, this.#codeOf(error));
        return;
      }
    }
  }

  /**
   * Each touched key's replicas (the store's preference list) asked for their own record
   * (`GET /admin/local/:key`): divergent if their live siblings differ, or one does not answer.
   * The wire carries values, not clocks, so two records that differ only in their clocks count
   * as equal here (the simulator compares whole records).
   */
  async #convergence(): Promise<Convergence> {
    const { partitioner, n } = this.#init;
    const divergent: string[] = [];
    const keys = [...this.#touched].sort();
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

  // ---- recording --------------------------------------------------------------------------

  #recordRead(
    client: number,
    kind: OperationKind,
    key: string,
    node: string,
    start: number,
    count: number,
    ids: string[],
    obsolete?: number,
  ): void {
    this.history.record({
      client,
      kind,
      key,
      node,
      start,
      end: this.now,
      ok: true,
      read: ids,
      siblings: count,
      ...(obsolete ? { obsolete } : {}),
    });
  }

  #fail(client: number, kind: OperationKind, key: string, node: string, start: number, error: string, value?: string): void {
    this.history.record({ client, kind, key, node, ...(value === undefined ? {} : { value }), start, end: this.now, ok: false, error });
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
      this.history.fault(this.now, `unexpected client error: ${message}`);
    }
    return "unexpected";
  }

  readonly #unexpected = new Set<string>();

  async #think(range: MsRange): Promise<void> {
    const ms = range.min + this.#init.random.next() * (range.max - range.min);
    if (ms > 0) await this.#sleep(ms);
  }

  /** Sleeps `ms` (wall clock), or less once the run is stopped. */
  async #sleep(ms: number): Promise<void> {
    if (ms <= 0 || this.#stopped) return;
    await new Promise((resolve) => setTimeout(resolve, ms));
  }
}

/** Splits `total` into `parts` near-equal whole shares. */
function split(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}
