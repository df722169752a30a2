/**
 * A node provider that starts and stops `ringforge start` processes on this machine, as
 * `ringforge cluster` starts its nodes (cli/local-cluster.ts): the run's secret and run id, ports
 * from the same bases, the same data directory and store config. This is what
 * `ringforge cluster --autoscale` scales with.
 *
 * @module
 */
import { existsSync } from "node:fs";
import type { NodeStatus } from "../client/node-status.ts";
import { AddressInUseError } from "../core/errors.ts";
import type { NodeProvider } from "../core/interfaces/scaler.ts";
import type { NodeId } from "../core/model/sibling.ts";
import { NodeProviderError } from "./autoscale-errors.ts";
import type { ScalingLedger } from "./autoscale-ledger.ts";
import { assertPortsFree } from "./port-check.ts";

/** Where a node of the local cluster lives: its id, port index and addresses. */
export interface NodePlan {
  /** `n<index>`. */
  readonly id: NodeId;
  /** Its ports are peer-base+index and client-base+index. */
  readonly index: number;
  /** Its peer address, `host:port`. */
  readonly peer: string;
  /** Its client address, `host:port`. */
  readonly client: string;
  /** The data directories its engine would use (`<dir>/<id>`): a new node needs them absent. */
  readonly dataDirs: readonly string[];
}

/** A node process the launcher started. */
export interface LocalNode {
  /** Its plan (id, index, addresses). */
  readonly plan: NodePlan;
  /** Its client URL. */
  readonly url: string;
  /** Resolves with its exit code (or signal) once it has exited. */
  readonly exited: Promise<number | string>;
  /** True until it exits. */
  readonly running: boolean;
  /** Set when the launcher means it to exit (a leave, a stopped half-start): its exit is not reported as a failure. */
  expectExit: boolean;
  /** Sends it a signal, if it still runs. */
  kill(signal: "SIGTERM" | "SIGKILL"): void;
}

/** What the provider needs of the launcher's processes (cli/local-cluster.ts implements it). */
export interface LocalProcesses {
  /** True once the launcher is stopping every node (Ctrl-C): nothing new starts then. */
  readonly stopping: boolean;
  /** The node with this id started in this run (the latest, if it was started twice). */
  node(id: NodeId): LocalNode | undefined;
  /** The nodes still running. */
  running(): readonly LocalNode[];
  /** The highest port index used in this run. */
  highestIndex(): number;
  /** The plan for port index `index`, or undefined if its ports would be past 65535. */
  plan(index: number): NodePlan | undefined;
  /** Writes the node's config (seeded with `seeds`, peer addresses) and starts its process. */
  spawn(plan: NodePlan, seeds: readonly string[]): Promise<LocalNode>;
}

/** Options of {@link ProcessNodeProvider}. */
export interface ProcessProviderOptions {
  /** The launcher's processes. */
  readonly nodes: LocalProcesses;
  /** Where added and departed nodes are recorded for the next run. */
  readonly ledger: ScalingLedger;
  /** The run's id: a new node is ready when its `/status` carries it. */
  readonly runId: string;
  /** The nodes' bearer token, if they need one. */
  readonly token?: string;
  /** Time an add (start and join) or a remove (leave, hand-off, exit) may take, ms. */
  readonly timeoutMs: number;
  /** Where progress lines go (`ringforge: n4 joined the ring in 2.1 s`). */
  readonly log: (line: string) => void;
}

/** How often a starting node is asked whether it has joined. */
const POLL_MS = 200;
/** Time a half-started node has to stop on SIGTERM before SIGKILL. */
const KILL_GRACE_MS = 5_000;
/** Time for ring messages in flight to land before the ring is checked. */
const SETTLE_MS = 500;
/** Port indexes tried for a new node before giving up. */
const INDEX_TRIES = 32;

/**
 * Adds a node by starting `ringforge start` with the next free port index (`n4` on
 * peer-base+4 and client-base+4, `n5`...; an id used before on this directory is never given
 * again, nor one whose data directory exists), and removes one with `POST /admin/leave`.
 *
 * - `add()` resolves once the new process answers `/status` with this run's id and counts
 *   itself a ring member (it joined: its ranges streamed). A process that exits first, or is
 *   not in the ring in time, is stopped and the add fails, the ring as it was.
 * - `remove(id)` resolves once the node has left and its process exited (the leave hands its
 *   data off first). Past the time limit it fails, but the node goes on handing off and exits
 *   when done: stopping it then could lose what only it holds.
 *
 * @example
 * ```ts
 * const provider = new ProcessNodeProvider({ nodes, ledger, runId, timeoutMs: 120_000, log: (l) => io.out(`${l}\n`) });
 * const id = await provider.add(); // "n4"
 * await provider.remove(id);
 * ```
 */
export class ProcessNodeProvider implements NodeProvider {
  /** `"processes"`: nodes are `ringforge start` processes of this machine. */
  readonly name = "processes";
  readonly #o: ProcessProviderOptions;

  constructor(options: ProcessProviderOptions) {
    this.#o = options;
  }

  /**
   * Starts a node with a new id and waits until it has joined the ring.
   *
   * @throws {NodeProviderError} `no-room`, `exited` or `timeout` (the process is stopped)
   */
  async add(): Promise<NodeId> {
    const { nodes, ledger, log, timeoutMs } = this.#o;
    if (nodes.stopping) throw new NodeProviderError("add", "exited", undefined, "the cluster is stopping");
    const plan = await this.#allocate();
    const started = Date.now();
    const deadline = started + timeoutMs;
    // Recorded first: if the launcher dies during the join, the next run starts the node again
    // (it joins, or finds itself joined) rather than leave a ring member without a process.
    await ledger.recordAdded({ id: plan.id, index: plan.index });
    log(`ringforge: starting ${plan.id} (client http://${plan.client}, peer ${plan.peer}); it joins the ring`);
    let node: LocalNode;
    try {
      node = await nodes.spawn(plan, this.#seeds(plan.id));
    } catch (error) {
      await ledger.forgetAdded(plan.id);
      throw error;
    }
    try {
      await this.#joined(node, deadline);
    } catch (error) {
      await stop(node);
      // Stopping the cluster: it stays recorded, and the next run starts it (it joins again, or
      // finds itself joined).
      if (nodes.stopping) throw error;
      // The join publishes the new ring last: if that happened just before the stop, the node is
      // a member, and its data and ring are on its disk. Start it again rather than leave its
      // ranges without it.
      if (await this.#inRingElsewhere(plan.id)) return await this.#restart(plan, error);
      await ledger.forgetAdded(plan.id);
      throw error;
    }
    log(`ringforge: ${plan.id} joined the ring in ${seconds(Date.now() - started)}`);
    return plan.id;
  }

  /**
   * Has `node` leave the ring (its data handed off to the others) and waits for its process to
   * exit.
   *
   * @throws {NodeProviderError} `unknown-node`, `refused` (nothing changed), `exited` (the process
   *   died during the leave) or `timeout` (the node goes on handing off)
   */
  async remove(node: NodeId): Promise<void> {
    const { nodes, ledger, log, timeoutMs, token } = this.#o;
    const local = nodes.node(node);
    if (!local || !local.running) {
      throw new NodeProviderError("remove", "unknown-node", node, `${node} is not a node this launcher runs`);
    }
    if (local.expectExit) throw new NodeProviderError("remove", "refused", node, `${node} is already leaving or stopping`);
    const started = Date.now();
    // Before the request: a node with little data leaves and exits before the answer is read.
    local.expectExit = true;
    try {
      const response = await fetch(`${local.url}/admin/leave`, {
        method: "POST",
        headers: token ? { Authorization: `Bearer ${token}` } : {},
        signal: AbortSignal.timeout(10_000),
      });
      if (response.status !== 202) {
        const body = (await response.json().catch(() => ({}))) as { error?: { message?: string } };
        throw new NodeProviderError(
          "remove",
          "refused",
          node,
          `${node} refused to leave: ${body.error?.message ?? `HTTP ${response.status}`}`,
          {
            status: response.status,
          },
        );
      }
    } catch (error) {
      local.expectExit = false;
      if (error instanceof NodeProviderError) throw error;
      throw new NodeProviderError(
        "remove",
        "refused",
        node,
        `${node} did not take the leave: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    log(`ringforge: ${node} is leaving: it hands its data to the others, then exits`);
    // Out of the ring from here on, whatever happens to the process: recorded once it exits.
    const recorded = local.exited.then(async (exit) => {
      await ledger.recordLeft(node);
      return exit;
    });
    const exit = await Promise.race([recorded, sleep(Math.max(0, started + timeoutMs - Date.now())).then(() => undefined)]);
    if (exit === undefined) {
      recorded.then(
        () => log(`ringforge: ${node} finished its leave and exited`),
        (error: unknown) => log(`ringforge: ${node} exited, but recording its departure failed: ${String(error)}`),
      );
      throw new NodeProviderError(
        "remove",
        "timeout",
        node,
        `${node} has not finished handing off its data after ${seconds(timeoutMs)}; it goes on, and exits when done`,
        { timeoutMs },
      );
    }
    if (exit !== 0 && !("Deno" in globalThis && exit === "SIGTERM")) {
      throw new NodeProviderError("remove", "exited", node, `${node} exited (${exit}) during its leave: see its log above`, { exit });
    }
    log(`ringforge: ${node} left the ring and exited in ${seconds(Date.now() - started)}`);
  }

  /** The next port index whose id is new on this directory, whose data directory is absent and whose ports are free. */
  async #allocate(): Promise<NodePlan> {
    const { nodes, ledger } = this.#o;
    const first = nodes.highestIndex() + 1;
    for (let index = first; index < first + INDEX_TRIES; index++) {
      const plan = nodes.plan(index);
      if (!plan) break;
      if (nodes.node(plan.id) || ledger.knows(plan.id) || plan.dataDirs.some((dir) => existsSync(dir))) continue;
      const host = (address: string) => address.slice(0, address.lastIndexOf(":"));
      const port = (address: string) => Number(address.slice(address.lastIndexOf(":") + 1));
      try {
        await assertPortsFree([
          { listener: "peer", host: host(plan.peer), port: port(plan.peer), flag: "--peer-base" },
          { listener: "client", host: host(plan.client), port: port(plan.client), flag: "--client-base" },
        ]);
      } catch (error) {
        if (error instanceof AddressInUseError) continue;
        throw error;
      }
      return plan;
    }
    throw new NodeProviderError(
      "add",
      "no-room",
      undefined,
      `no port index from ${first} to ${
        first + INDEX_TRIES - 1
      } has both ports free and a new id and data directory: move --peer-base or --client-base`,
    );
  }

  /** The peer addresses of the running nodes other than `id`. */
  #seeds(id: NodeId): string[] {
    return this.#o.nodes.running().filter((n) => n.plan.id !== id).map((n) => n.plan.peer);
  }

  /** Resolves once `node` answers with this run's id and counts itself a ring member. */
  async #joined(node: LocalNode, deadline: number): Promise<void> {
    const { nodes, runId, token, timeoutMs } = this.#o;
    const id = node.plan.id;
    let exit: number | string | undefined;
    void node.exited.then((code) => (exit = code));
    for (;;) {
      if (exit !== undefined) {
        throw new NodeProviderError("add", "exited", id, `${id} exited (${exit}) before it joined the ring: see its log above`, { exit });
      }
      if (nodes.stopping) throw new NodeProviderError("add", "exited", id, `the cluster stopped while ${id} was joining`);
      const status = await statusOf(node.url, token);
      if (status?.runId === runId && status.members.some((m) => m.id === id && m.inRing)) return;
      if (Date.now() >= deadline) {
        throw new NodeProviderError("add", "timeout", id, `${id} did not join the ring within ${seconds(timeoutMs)}`, { timeoutMs });
      }
      await Promise.race([sleep(POLL_MS), node.exited]);
    }
  }

  /**
   * True if any running node other than `id` counts `id` a ring member, once the ring messages
   * `id` sent before it stopped have had a moment to land (a join broadcasts its ring to every
   * member, so one may have it and another not yet).
   */
  async #inRingElsewhere(id: NodeId): Promise<boolean> {
    await sleep(SETTLE_MS);
    const others = this.#o.nodes.running().filter((n) => n.plan.id !== id);
    const views = await Promise.all(others.map((other) => statusOf(other.url, this.#o.token)));
    return views.some((status) => status?.members.some((m) => m.id === id && m.inRing) === true);
  }

  /** Starts a node that joined but was stopped as its add failed; resolves with its id if it comes back. */
  async #restart(plan: NodePlan, cause: unknown): Promise<NodeId> {
    const { nodes, log, timeoutMs } = this.#o;
    log(`ringforge: ${plan.id} had joined the ring after all; starting it again`);
    const node = await nodes.spawn(plan, this.#seeds(plan.id));
    try {
      await this.#joined(node, Date.now() + timeoutMs);
      return plan.id;
    } catch {
      await stop(node);
      throw new NodeProviderError(
        "add",
        "exited",
        plan.id,
        `${plan.id} joined the ring, but its process does not come up (${cause instanceof Error ? cause.message : String(cause)}); ` +
          "it stays recorded and starts with the cluster next time",
      );
    }
  }
}

/** Stops a half-started node: SIGTERM, SIGKILL after a grace period. */
async function stop(node: LocalNode): Promise<void> {
  node.expectExit = true;
  node.kill("SIGTERM");
  const timer = setTimeout(() => node.kill("SIGKILL"), KILL_GRACE_MS);
  await node.exited;
  clearTimeout(timer);
}

/** The node's `/status`, or undefined if it does not answer (yet). */
async function statusOf(url: string, token: string | undefined): Promise<NodeStatus | undefined> {
  try {
    const response = await fetch(`${url}/status`, {
      headers: token ? { Authorization: `Bearer ${token}` } : {},
      signal: AbortSignal.timeout(1000),
    });
    if (response.ok) return (await response.json()) as NodeStatus;
    await response.body?.cancel();
  } catch {
    // not listening yet, or starting
  }
  return undefined;
}

/** A pause on a host timer that does not keep the launcher alive on its own. */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => (setTimeout(resolve, ms) as { unref?: () => void }).unref?.());
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
