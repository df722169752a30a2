/**
 * Runs one scenario against one store config with one seed, on virtual time, and reports what
 * the checkers found.
 *
 * @module
 */
import { type Cluster, startCluster } from "../core/build/cluster.ts";
import { type PluginRef, type StoreConfig, storeToConfig } from "../core/build/config.ts";
import type { PluginRegistry } from "../core/build/registry.ts";
import { encodeRecord } from "../core/codec/record-codec.ts";
import type { AntiEntropyStats } from "../core/interfaces/anti-entropy.ts";
import type { HandoffStats } from "../core/node/handoff.ts";
import type { HintStats } from "../core/interfaces/replicator.ts";
import { bytesEqual } from "../core/codec/bytes.ts";
import { InvalidConfigError, RingforgeError, TimeoutError } from "../core/errors.ts";
import { sleep, type Timer } from "../core/interfaces/clock.ts";
import type { Random } from "../core/interfaces/random.ts";
import type { RingforgeNode } from "../core/node/ringforge-node.ts";
import { lifecycleChanges } from "../core/node/lifecycle.ts";
import { type VirtualRuntime, virtualRuntime } from "../core/runtime/runtime.ts";
import type { SchedulerLane } from "../core/runtime/virtual-scheduler.ts";
import type { NodeId } from "../core/model/sibling.ts";
import type { NetworkStats, SimulatedNetwork } from "../core/interfaces/simulated-network.ts";
import { simulatedNetwork } from "./network.ts";
import { startSimAutoscaler } from "./autoscale-run.ts";
import {
  type Availability,
  availability,
  type CrdtUpdates,
  crdtUpdates,
  type Detection,
  detection,
  latencies,
  type LatencySummary,
  linearizability,
  type LinearizabilityReport,
  type LostWrites,
  lostWrites,
  type ScalingReport,
  type SessionViolations,
  sessionViolations,
  siblings,
  type SiblingSummary,
  type StaleReads,
  staleReads,
  type StoredRecords,
  storedRecords,
  type Timeline,
  timeline,
  type ViewChange,
} from "./checkers.ts";
import { History, type OperationKind } from "./history.ts";
import { type FaultEvent, parseFaults } from "./nemesis.ts";
import type { Scenario } from "./scenario.ts";
import { type RunProgress, WorkloadDriver, type WorkloadRequests, type WorkloadWorld } from "./workloads.ts";

export type { RunProgress } from "./workloads.ts";
export { rateAt } from "./workloads.ts";

/** Whether every replica of every key holds the same record after healing and quiescence. */
export interface Convergence {
  /** Keys checked (every key the workload touched). */
  readonly keys: number;
  /** Keys whose replicas hold different records. */
  readonly divergent: number;
  /** Some divergent keys (at most 10). */
  readonly examples: readonly string[];
  /**
   * True when the run was cut short before its replicas were compared (a real run's time
   * limit): `divergent` then says nothing.
   */
  readonly unchecked?: boolean;
}

/** The membership workload's verdict, with the detector and its knobs. */
export interface DetectionReport extends Detection {
  /** The detector plugin. */
  readonly detector: string;
  /** Its options, as configured. */
  readonly knobs: Readonly<Record<string, unknown>>;
  /** Its protocol period (gossip round or SWIM probe period), ms, if it has one. */
  readonly periodMs?: number;
}

/** Background repair and data movement over a run, summed over every node instance. */
export interface RepairReport {
  /** Anti-entropy exchanges, keys repaired and bytes. */
  readonly antiEntropy: AntiEntropyStats;
  /** Records streamed into joining nodes. */
  readonly streamed: number;
  /** Bytes of join streaming. */
  readonly streamedBytes: number;
  /** Handoff sweeps: records pushed and dropped, bytes. */
  readonly handoff: HandoffStats;
  /** Tombstones removed. */
  readonly tombstonesReaped: number;
  /** Hinted handoff (replicators that keep hints, such as sloppy quorum). */
  readonly hints?: HintStats;
  /** Bytes of one full copy of the data: the largest node's records at the end. */
  readonly dataBytes: number;
  /** The largest record any node wrote during the run, bytes (siblings and versions included). */
  readonly largestRecordBytes: number;
  /** What replicas stored against the record bounds: most siblings, largest record, refusals. */
  readonly stored: StoredRecords;
}

/** When a run hit the store's sibling limit. */
export interface SiblingLimitReport {
  /** Writes refused. */
  readonly refused: number;
  /** The first refusal, ms after the clients started. */
  readonly firstAtMs: number;
}

/** What one run measured. */
export interface RunReport {
  /** The config's name. */
  readonly config: string;
  /** The scenario's name. */
  readonly scenario: string;
  /** The seed. */
  readonly seed: number;
  /**
   * Where the run happened: `simulated` (runScenario, on virtual time) or `real` (node
   * processes under real network faults, lab-net/real-run.ts). Not part of the digest.
   */
  readonly world?: "simulated" | "real";
  /** SHA-256 of the history: equal digests, equal runs. */
  readonly digest: string;
  /** Virtual time the run took, ms. */
  readonly virtualMs: number;
  /** Simulator events run. */
  readonly events: number;
  /** Requests attempted, acknowledged, and failed by error code. */
  readonly availability: Availability;
  /** Latency of acknowledged operations by kind, virtual ms. */
  readonly latency: Partial<Record<OperationKind, LatencySummary>>;
  /** Live siblings seen by reads. */
  readonly siblings: SiblingSummary;
  /**
   * Writes refused for the store's sibling limit (`SiblingLimitError`), and when the first
   * was, in ms after the clients started; absent if none was.
   */
  readonly siblingLimit?: SiblingLimitReport;
  /** Reads that missed an acknowledged write (YCSB workloads). */
  readonly staleReads?: StaleReads;
  /** Read-your-writes and monotonic-read violations per client (YCSB workloads). */
  readonly sessions?: SessionViolations;
  /** Acknowledged adds lost (set workload). */
  readonly lostWrites?: LostWrites;
  /** Acknowledged updates lost or doubled (CRDT workload). */
  readonly crdt?: CrdtUpdates;
  /** Whether the history is linearizable (register workload). */
  readonly linearizability?: LinearizabilityReport;
  /** What the autoscaler did (scenarios with `autoscale`). */
  readonly scaling?: ScalingReport;
  /** Replica agreement after healing and quiescence. */
  readonly convergence: Convergence;
  /** Failure detection (membership workload). */
  readonly detection?: DetectionReport;
  /** Network traffic. */
  readonly network: NetworkStats;
  /** Anti-entropy, handoff and tombstone GC. */
  readonly repair?: RepairReport;
  /** Requests and failures over time, and the faults injected (the HTML report charts them). */
  readonly timeline: Timeline;
}

/** Options of {@link runScenario}. */
export interface RunOptions {
  /** Where the config's plugin names resolve. */
  readonly registry: PluginRegistry;
  /** Called after each client operation. */
  readonly onProgress?: (progress: RunProgress) => void;
}

/** The outcome of one run: the report and the full history. */
export interface RunResult {
  /** What the checkers found. */
  readonly report: RunReport;
  /** Everything that happened. */
  readonly history: History;
}

/**
 * Runs `scenario` against the store `config` with `seed`: builds an in-process cluster on a
 * virtual runtime, starts the clients, applies the faults at their times, then heals every
 * fault, lets the cluster settle, makes the final reads, settles again and checks.
 *
 * @throws {InvalidConfigError} for a bad config or scenario, or a config whose transport is not
 *   the in-process network (faults are injected there)
 */
export async function runScenario(
  config: StoreConfig,
  scenario: Scenario,
  seed: number,
  options: RunOptions,
): Promise<RunResult> {
  const runtime = virtualRuntime(seed);
  const cluster = await startCluster({ ...config, seed }, { registry: options.registry, runtime });
  try {
    const sim = new Simulation(cluster, simulatedNetwork(cluster), runtime, scenario, options);
    return await sim.run();
  } finally {
    // A node still paused (a membership run is judged unhealed) could not stop: stopping drains
    // its requests on its own timers.
    for (const id of cluster.ids) runtime.schedulerFor(id).resume();
    await cluster.stop();
  }
}

/** One run in progress. */
class Simulation {
  readonly history = new History();
  readonly #network: SimulatedNetwork;
  /** The workload's random stream: the clients' choices, and the node each request goes to. */
  readonly #random: Random;
  /** The nodes a client may use, as of a node list and a count of lifecycle changes (see {@link #pickNode}). */
  #running: { nodes: readonly RingforgeNode[]; changes: number; eligible: readonly RingforgeNode[] } | undefined;
  readonly #faults: FaultEvent[];
  /** The clients (see sim/workloads.ts), in this world: virtual time, in-process nodes. */
  readonly #workload: WorkloadDriver;
  #onCrash: ((id: string) => void) | undefined;
  /** Every node instance of the run (restarts and joins add one), for the repair totals. */
  readonly #instances: RingforgeNode[] = [];
  /** When client requests arrived, within the autoscaler's window (only with autoscaling). */
  readonly #arrivals: number[] = [];
  /** Joins and leaves in progress; the run waits for them before healing. */
  readonly #membership: Promise<void>[] = [];
  #streamed = 0;
  #streamedBytes = 0;
  #onRestart: ((id: string, node: RingforgeNode) => void) | undefined;
  /** Each node instance as the clients reach it (see {@link #client}). */
  readonly #requests = new WeakMap<RingforgeNode, NodeRequests>();
  /** True if the schedule pauses a node: client requests then keep a time limit of their own. */
  readonly #pausable: boolean;
  /** Per node, how each client request in flight on it gives up once the node is paused. */
  readonly #waiting = new Map<NodeId, Set<() => void>>();
  /** Nodes whose simulated disk a fault touched: the final heal repairs them. */
  readonly #faultyDisks = new Set<NodeId>();

  constructor(
    readonly cluster: Cluster,
    network: SimulatedNetwork,
    readonly runtime: VirtualRuntime,
    readonly scenario: Scenario,
    readonly options: RunOptions,
  ) {
    this.#network = network;
    this.#random = runtime.random.fork("workload");
    const datacenters = new Map<string, string>();
    for (const node of cluster.nodes) {
      const dc = node.services.settings.member.datacenter;
      if (dc !== undefined) datacenters.set(node.id, dc);
    }
    // A random nemesis forks its own stream from the run's Random: no other draw moves.
    this.#faults = parseFaults(scenario.faults, cluster.ids, datacenters, runtime.random);
    this.#pausable = this.#faults.some((f) => f.action === "pause");
    const strangers = (scenario.coordinators ?? []).filter((id) => !cluster.ids.includes(id));
    if (strangers.length > 0) {
      throw new InvalidConfigError(
        strangers.map((id) => ({ path: "scenario.coordinators", message: `"${id}" is not a node of the store` })),
      );
    }
    this.#instances.push(...cluster.nodes);
    this.#workload = new WorkloadDriver(this.#world(this.#random), scenario);
  }

  /** This simulation as the workload's clients see it. */
  #world(random: Random): WorkloadWorld {
    const scheduler = this.runtime.scheduler;
    return {
      history: this.history,
      random,
      consistency: this.cluster.store.replication.consistency ?? "count",
      timeoutMs: this.scenario.requestTimeoutMs,
      now: () => scheduler.now(),
      sleep: (ms) => sleep(scheduler, ms),
      pickNode: () => this.#pickNode()?.id,
      requests: (id) => this.#client(this.cluster.node(id)),
      loadNodes: () => this.cluster.ids,
      direct: (id) => this.cluster.node(id),
      stopped: () => false,
      codeOf,
      onArrival: (ms) => {
        if (this.scenario.autoscale) this.#arrivals.push(ms);
      },
      ...(this.options.onProgress ? { onProgress: this.options.onProgress } : {}),
    };
  }

  get now(): number {
    return this.runtime.scheduler.now();
  }

  async run(): Promise<RunResult> {
    const { workload } = this.scenario;
    if (workload.type === "membership") return this.#runMembership(workload.durationMs);
    await this.#workload.load();
    const t0 = this.now;
    // Fault times count from the end of the load phase, when the clients start.
    for (const fault of this.#faults) this.runtime.scheduler.schedule(fault.at, () => this.#apply(fault));
    const deadline = this.scenario.durationMs === undefined ? Infinity : t0 + this.scenario.durationMs;
    const scaling = this.scenario.autoscale
      ? startSimAutoscaler({
        cluster: this.cluster,
        runtime: this.runtime,
        network: this.#network,
        history: this.history,
        scenario: this.scenario,
        options: this.scenario.autoscale,
        t0,
        arrivals: this.#arrivals,
        onJoined: (joined) => {
          this.#instances.push(joined.node);
          this.#streamed += joined.streamed;
          this.#streamedBytes += joined.bytes;
        },
      })
      : undefined;
    await this.#workload.run(deadline);
    const scalingReport = scaling ? await scaling.finish() : undefined;
    // Let every scheduled fault happen, then undo them all: the final reads judge the store
    // after the faults, not during them.
    const lastFault = this.#faults.length ? t0 + this.#faults[this.#faults.length - 1]!.at : 0;
    if (lastFault > this.now) await sleep(this.runtime.scheduler, lastFault - this.now + 1);
    // Paused nodes first: a join or leave may wait for one.
    this.#resumeAll();
    await Promise.all(this.#membership);
    await this.#healAll();
    await sleep(this.runtime.scheduler, this.scenario.quiesceMs);
    if (this.scenario.finalReads !== false) {
      await this.#workload.finalReads(this.cluster.nodes[0]!.id, this.cluster.store.replication.n);
      await sleep(this.runtime.scheduler, this.scenario.quiesceMs);
    }
    const convergence = await this.#convergence();
    const h = this.history;
    const report: RunReport = {
      config: this.cluster.store.name,
      scenario: this.scenario.name,
      seed: this.runtime.seed,
      world: "simulated",
      digest: h.digest(convergence),
      virtualMs: Math.round(this.now),
      events: this.runtime.scheduler.eventsRun,
      availability: availability(h),
      timeline: timeline(h),
      latency: latencies(h),
      siblings: siblings(h),
      ...siblingLimitReport(h, t0),
      ...workloadChecks(h, workload),
      ...(scalingReport ? { scaling: scalingReport } : {}),
      convergence,
      network: { ...this.#network.stats },
      repair: this.#repair(),
    };
    return { report, history: h };
  }

  #repair(): RepairReport {
    const antiEntropy: AntiEntropyStats = { exchanges: 0, failures: 0, differing: 0, repaired: 0, bytes: 0 };
    const handoff: HandoffStats = { sweeps: 0, pushed: 0, dropped: 0, bytes: 0 };
    let tombstonesReaped = 0;
    let hints: HintStats | undefined;
    for (const node of this.#instances) {
      const h = node.services.replicator.hints;
      if (h) {
        hints ??= { stored: 0, delivered: 0, dropped: 0, hintedWrites: 0 };
        for (const k of Object.keys(hints) as (keyof HintStats)[]) hints[k] += h[k];
      }
      const ae = node.services.antiEntropy.stats;
      for (const k of Object.keys(antiEntropy) as (keyof AntiEntropyStats)[]) antiEntropy[k] += ae[k];
      for (const k of Object.keys(handoff) as (keyof HandoffStats)[]) handoff[k] += node.handoff.stats[k];
      tombstonesReaped += node.tombstones.stats.reaped;
    }
    const dataBytes = Math.max(0, ...this.cluster.nodes.map((n) => n.services.store.stats.bytes));
    const stored = storedRecords(this.#instances.map((n) => n.services.store.stats));
    return {
      antiEntropy,
      streamed: this.#streamed,
      streamedBytes: this.#streamedBytes,
      handoff,
      tombstonesReaped,
      dataBytes,
      largestRecordBytes: stored.largestBytes,
      stored,
      ...(hints ? { hints } : {}),
    };
  }

  /**
   * The membership workload: detectors alone, judged at the end before anything is healed.
   */
  async #runMembership(durationMs: number): Promise<RunResult> {
    const changes: ViewChange[] = [];
    const crashes: { node: string; at: number; restartedAt?: number }[] = [];
    const watch = (node: RingforgeNode) =>
      node.services.detector.onChange((e) =>
        changes.push({ at: this.now, observer: node.id, member: e.member.id, status: e.member.status })
      );
    for (const node of this.cluster.nodes) watch(node);
    this.#onCrash = (id) => crashes.push({ node: id, at: this.now });
    this.#onRestart = (id, node) => {
      const open = crashes.findLast((c) => c.node === id && c.restartedAt === undefined);
      if (open) open.restartedAt = this.now;
      watch(node);
    };
    for (const fault of this.#faults) this.runtime.scheduler.schedule(fault.at, () => this.#apply(fault));
    await sleep(this.runtime.scheduler, durationMs);
    const live = this.cluster.nodes.filter((n) => n.running).map((n) => n.id);
    const views = new Map<string, Map<string, string>>();
    for (const id of live) {
      views.set(id, new Map(this.cluster.node(id).services.detector.members().map((m) => [m.id, m.status])));
    }
    const verdict = detection(changes, crashes, live, views);
    for (const c of changes) this.history.fault(c.at, `${c.observer} sees ${c.member} ${c.status}`);
    const h = this.history;
    const detector = this.cluster.store.plugins.detector;
    const report: RunReport = {
      config: this.cluster.store.name,
      scenario: this.scenario.name,
      seed: this.runtime.seed,
      world: "simulated",
      digest: h.digest(verdict),
      virtualMs: Math.round(this.now),
      events: this.runtime.scheduler.eventsRun,
      availability: availability(h),
      timeline: timeline(h),
      latency: {},
      siblings: siblings(h),
      detection: {
        ...verdict,
        detector: detector.plugin.name,
        knobs: optionsOf(storeToConfig(this.cluster.store).detector),
        periodMs: this.cluster.nodes[0]?.services.detector.periodMs,
      },
      convergence: { keys: 0, divergent: 0, examples: [] },
      network: { ...this.#network.stats },
    };
    return { report, history: h };
  }

  // ---- faults -----------------------------------------------------------------------------

  #apply(fault: FaultEvent): void {
    const net = this.#network;
    switch (fault.action) {
      case "partition":
        net.partition(fault.groups);
        this.history.fault(this.now, `partition ${fault.groups.map((g) => `{${g.join(",")}}`).join(" | ")}`);
        return;
      case "block":
        net.block(fault.from, fault.to);
        this.history.fault(this.now, `block ${fault.from} -> ${fault.to}`);
        return;
      case "heal":
        net.heal();
        this.history.fault(this.now, "heal");
        return;
      case "crash":
        this.history.fault(this.now, `crash ${fault.node}`);
        if (this.cluster.node(fault.node).running) this.#onCrash?.(fault.node);
        void this.cluster.crash(fault.node);
        // Killing a stopped process ends its pause: what waited for it now finds it gone.
        this.runtime.schedulerFor(fault.node).resume();
        return;
      case "restart":
        this.history.fault(this.now, `restart ${fault.node}`);
        if (!this.cluster.node(fault.node).running) {
          void this.cluster.restart(fault.node).then((node) => {
            this.#instances.push(node);
            this.#onRestart?.(fault.node, node);
          });
        }
        return;
      case "join":
        this.history.fault(this.now, `join ${fault.node}`);
        this.#membership.push(
          this.cluster.join(fault.node).then((joined) => {
            this.#instances.push(joined.node);
            this.#streamed += joined.streamed;
            this.#streamedBytes += joined.bytes;
            this.history.fault(this.now, `${fault.node} joined (streamed ${joined.streamed} records)`);
          }),
        );
        return;
      case "leave":
        this.history.fault(this.now, `leave ${fault.node}`);
        this.#membership.push(this.cluster.leave(fault.node).then(() => this.history.fault(this.now, `${fault.node} left`)));
        return;
      case "pause":
        this.history.fault(this.now, `pause ${fault.node}`);
        // Only a running process can be stopped; a crashed node stays crashed.
        if (this.cluster.node(fault.node).running) {
          this.runtime.schedulerFor(fault.node).pause();
          for (const giveUp of this.#waiting.get(fault.node) ?? []) giveUp();
        }
        return;
      case "resume":
        this.history.fault(this.now, `resume ${fault.node}`);
        this.runtime.schedulerFor(fault.node).resume();
        return;
      case "disk-fail":
      case "disk-full":
      case "slow-disk":
      case "corrupt":
      case "disk-repair": {
        const disk = this.runtime.diskOf(fault.node);
        this.#faultyDisks.add(fault.node);
        if (fault.action === "disk-fail") disk.fail("EIO");
        else if (fault.action === "disk-full") disk.setCapacity(disk.usedBytes);
        else if (fault.action === "slow-disk") disk.slow(fault.factor ?? 1);
        else if (fault.action === "disk-repair") disk.repair();
        if (fault.action === "corrupt") {
          const flipped = disk.corrupt();
          this.history.fault(this.now, `corrupt ${fault.node} ${flipped ? `${flipped.path}@${flipped.offset}` : "(no durable byte)"}`);
        } else this.history.fault(this.now, `${fault.action} ${fault.node}${fault.action === "slow-disk" ? ` ${fault.factor}x` : ""}`);
        return;
      }
      case "skew":
        this.runtime.setSkew(fault.node, fault.offsetMs);
        this.history.fault(this.now, `skew ${fault.node} ${fault.offsetMs}ms`);
        return;
      case "drift":
        this.runtime.setDrift(fault.node, fault.rate);
        this.history.fault(this.now, `drift ${fault.node} ${fault.rate}`);
        return;
      case "loss":
        net.setLink("*", "*", { loss: fault.probability });
        this.history.fault(this.now, `loss ${fault.probability}`);
        return;
      case "duplicate":
        net.setLink("*", "*", { duplicate: fault.probability });
        this.history.fault(this.now, `duplicate ${fault.probability}`);
        return;
      case "latency":
        net.setLink(fault.from, fault.to, { latency: fault.latency });
        this.history.fault(this.now, `latency ${fault.from} -> ${fault.to} ${JSON.stringify(fault.latency)}`);
        return;
    }
  }

  /** Resumes every paused node (the first step of healing everything). */
  #resumeAll(): void {
    for (const id of this.cluster.ids) {
      const lane = this.runtime.schedulerFor(id);
      if (!lane.paused) continue;
      lane.resume();
      this.history.fault(this.now, `resume ${id}`);
    }
  }

  async #healAll(): Promise<void> {
    this.#network.heal();
    this.#network.resetLinks();
    for (const id of this.#faultyDisks) this.runtime.diskOf(id).repair();
    for (const id of this.cluster.ids) {
      if (!this.cluster.node(id).running) this.#instances.push(await this.cluster.restart(id));
    }
    this.history.fault(this.now, "heal all");
  }

  // ---- autoscaling --------------------------------------------------------------------------

  // ---- clients ----------------------------------------------------------------------------

  /** A random running node, or undefined if none is up. */
  #pickNode(): RingforgeNode | undefined {
    const only = this.scenario.coordinators;
    // The running nodes, in member order, are listed again only when a node was added, removed,
    // started or stopped since the last list: asking each of 512 nodes per operation was a
    // twentieth of a run.
    const nodes = this.cluster.nodeList();
    const changes = lifecycleChanges();
    let running = this.#running;
    if (running === undefined || running.nodes !== nodes || running.changes !== changes) {
      const eligible = nodes.filter((n) => n.running && (only === undefined || only.includes(n.id)));
      this.#running = running = { nodes, changes, eligible };
    }
    const { eligible } = running;
    return eligible.length ? eligible[this.#random.int(eligible.length)] : undefined;
  }

  /** `node` as a client reaches it (see {@link #request}). */
  #client(node: RingforgeNode): NodeRequests {
    // Without pauses, the node itself: such runs keep their histories bit for bit.
    if (!this.#pausable) return node;
    let requests = this.#requests.get(node);
    if (!requests) {
      const lane = this.runtime.schedulerFor(node.id);
      const when = <T>(what: string, call: () => Promise<T>): Promise<T> => this.#request(lane, node.id, what, call);
      requests = {
        get: (key, options) => when("get", () => node.get(key, options)),
        put: (key, value, options) => when("put", () => node.put(key, value, options)),
        delete: (key, options) => when("delete", () => node.delete(key, options)),
      };
      this.#requests.set(node, requests);
    }
    return requests;
  }

  /**
   * A client request in a run that pauses nodes. Sent to a paused node, it waits, as one sent to
   * a stopped process waits in its socket, and runs when the node resumes (so it may still take
   * effect then). A request in flight on a node that pauses waits likewise. Either way the
   * client gives up with a timeout once the request's time limit has passed since it sent it,
   * as a client of a stopped process does: the node's own timers, which would have ended it,
   * are stopped with the node.
   */
  #request<T>(lane: SchedulerLane, node: NodeId, what: string, call: () => Promise<T>): Promise<T> {
    const start = this.now;
    const limitMs = this.scenario.requestTimeoutMs ?? this.cluster.store.requestTimeoutMs;
    let waiting = this.#waiting.get(node);
    if (!waiting) this.#waiting.set(node, waiting = new Set());
    const pending = waiting;
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      let timer: Timer | undefined;
      const settle = (then: () => void) => {
        if (settled) return;
        settled = true;
        timer?.cancel();
        pending.delete(giveUp);
        then();
      };
      const giveUp = () => {
        timer ??= this.runtime.scheduler.schedule(start + limitMs - this.now, () => {
          settle(() => reject(new TimeoutError(`${what} on paused ${node}`, limitMs, { node })));
        });
      };
      pending.add(giveUp);
      let sent: Promise<T>;
      if (lane.paused) {
        giveUp();
        sent = lane.whenResumed().then(call);
      } else sent = call();
      sent.then((value) => settle(() => resolve(value)), (error: unknown) => settle(() => reject(error)));
    });
  }

  // ---- the end of the run -----------------------------------------------------------------

  async #convergence(): Promise<Convergence> {
    const n = this.cluster.store.replication.n;
    const partitioner = this.cluster.nodes[0]!.services.partitioner;
    const divergent: string[] = [];
    const keys = [...this.#workload.touched].sort();
    for (const key of keys) {
      const records = await Promise.all(
        partitioner.preferenceList(key, n).map(async (id) => encodeRecord(await this.cluster.node(id).localRecord(key))),
      );
      if (records.some((r) => !bytesEqual(r, records[0]!))) divergent.push(key);
    }
    return { keys: keys.length, divergent: divergent.length, examples: divergent.slice(0, 10) };
  }
}

/**
 * What the checkers of `workload`'s type find in `history`: stale reads and session violations
 * (YCSB), CRDT updates lost or doubled, linearizability (register), lost acknowledged adds (set).
 */
export function workloadChecks(
  history: History,
  workload: Scenario["workload"],
): Pick<RunReport, "staleReads" | "sessions" | "crdt" | "linearizability" | "lostWrites"> {
  return workload.type === "ycsb"
    ? { staleReads: staleReads(history), sessions: sessionViolations(history) }
    : workload.type === "crdt"
    ? { crdt: crdtUpdates(history, workload.datatype) }
    : workload.type === "register"
    ? { linearizability: linearizability(history) }
    : { lostWrites: lostWrites(history) };
}

function siblingLimitReport(history: History, t0: number): { siblingLimit?: SiblingLimitReport } {
  const refused = history.operations.filter((op) => op.error === "RINGFORGE_SIBLING_LIMIT");
  if (refused.length === 0) return {};
  return { siblingLimit: { refused: refused.length, firstAtMs: Math.round(Math.min(...refused.map((op) => op.end)) - t0) } };
}

/** A plugin's options as data (defaults filled in), from a store's config form. */
function optionsOf(ref: PluginRef | undefined): Readonly<Record<string, unknown>> {
  return typeof ref === "object" ? (ref.options ?? {}) : {};
}

/** What a client asks of a node. */
type NodeRequests = WorkloadRequests;

function codeOf(error: unknown): string {
  if (error instanceof RingforgeError) return error.code;
  throw error; // a bug, not a store failure: let it fail the run loudly
}
