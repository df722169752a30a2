/**
 * `ringforge cluster`: a local cluster of node processes on loopback. Everything that can be
 * wrong is checked before anything is written or started (the store config, the secret, the
 * ports), and the cluster counts a node as ready only when the answer on its port comes from a
 * process of this run. With `--autoscale`, an autoscaler adds and removes nodes as the load
 * changes (cli/autoscale-controller.ts).
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import process from "node:process";
import { resolveStoreConfig, type StoreConfig } from "../core/build/config.ts";
import type { PluginChoice } from "../core/build/plugin.ts";
import type { PluginRegistry } from "../core/build/registry.ts";
import { standaloneContext } from "../core/build/standalone-context.ts";
import { InvalidConfigError, NotRunningError, RingforgeError } from "../core/errors.ts";
import type { NodeProvider, Scaler } from "../core/interfaces/scaler.ts";
import { type NodeProcessConfig, parseNodeProcessConfig, processStore } from "../server/node-process.ts";
import type { NodeStatus } from "../client/node-status.ts";
import { CommandNodeProvider } from "./autoscale-command-provider.ts";
import { startClusterAutoscaler } from "./autoscale-controller.ts";
import { ScalingLedger } from "./autoscale-ledger.ts";
import { fetchClusterStatus } from "./autoscale-load.ts";
import { type LocalNode, type LocalProcesses, type NodePlan, ProcessNodeProvider } from "./autoscale-process-provider.ts";
import { type AutoscaleSpec, InvalidFlagError } from "./flag-parsers.ts";
import { assertPortsFree } from "./port-check.ts";
import { lockDirectory } from "../core/host/directory-lock.ts";
import { readJson } from "./read-json.ts";
import { onShutdownSignal } from "./shutdown-signals.ts";

/** Where a command writes (see cli/program.ts). */
interface Io {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

/** The flags of `ringforge cluster`. */
export interface LocalClusterFlags {
  /** Number of nodes, `n1`..`nK`. */
  readonly nodes: number;
  /** Data directory; configs go to `<dir>/cluster`, node data to `<dir>/<id>`. */
  readonly dir: string;
  /** Peer ports are base+1, base+2, ... */
  readonly peerBase: number;
  /** Client ports are base+1, base+2, ... */
  readonly clientBase: number;
  /** Address to listen on. */
  readonly host: string;
  /** A store config file, instead of {@link defaultClusterStore}. */
  readonly store?: string;
  /** The nodes' log level. */
  readonly logLevel: string;
  /** Automatic scaling (`--autoscale min=3,max=8,...`) with the store config's `scaler` policy; off when absent. */
  readonly autoscale?: AutoscaleSpec;
  /** With `autoscale`: a shell command that adds a node, instead of starting a local process. */
  readonly autoscaleAddCommand?: string;
  /** With `autoscale`: a shell command that removes the node named in `RINGFORGE_NODE_ID`. */
  readonly autoscaleRemoveCommand?: string;
}

/** The store a local cluster runs when no `--store` is given. */
export function defaultClusterStore(nodes: number): StoreConfig {
  const n = Math.min(3, nodes);
  const quorum = Math.floor(n / 2) + 1;
  return {
    name: "local",
    nodes: Array.from({ length: nodes }, (_, i) => `n${i + 1}`),
    replication: { n, r: quorum, w: quorum },
    partitioner: "consistent-hash",
    resolver: "vector-clock",
    replicator: "sloppy-quorum",
    detector: "swim",
    engine: { name: "lsm", options: { sync: "always" } },
    antiEntropy: "merkle",
  };
}

/**
 * Starts `flags.nodes` node processes on loopback, waits until every one of them answers,
 * prints how to reach them, and stops them all on Ctrl-C (SIGINT) or SIGTERM. Nodes an
 * autoscaler added in an earlier run on the same `--dir` start too, and configured nodes it
 * removed do not (`<dir>/cluster/scaled.json`): the cluster starts as it was.
 *
 * @throws {RingforgeError} before anything is written or started, when the store config, the
 *   secret or the flags are invalid or a port is taken; later, when a node exits before the
 *   cluster is ready
 */
export async function runLocalCluster(flags: LocalClusterFlags, io: Io, registry: PluginRegistry): Promise<void> {
  const store = (flags.store ? await readJson(flags.store, "store config") : defaultClusterStore(flags.nodes)) as StoreConfig;
  if (typeof store !== "object" || store === null || Array.isArray(store)) {
    throw new InvalidConfigError([{ path: "", message: `store config ${flags.store} is not a JSON object` }]);
  }
  checkCommandFlags(flags);
  const configured = Array.from({ length: flags.nodes }, (_, i) => `n${i + 1}`);
  const configDir = path.join(flags.dir, "cluster");
  const ledger = await ScalingLedger.read(configDir);
  // The cluster as it was: the configured nodes that did not leave, and the nodes added since.
  const starting = [
    ...configured.map((id, i) => ({ id, index: i + 1 })).filter((n) => !ledger.left.includes(n.id)),
    ...ledger.added.filter((a) => !configured.includes(a.id)),
  ];
  if (starting.length === 0) {
    throw new InvalidConfigError([{ path: path.join(configDir, "scaled.json"), message: "says every node left: no node to start" }]);
  }
  const highest = Math.max(...starting.map((n) => n.index));
  for (const [flag, base] of [["--peer-base", flags.peerBase], ["--client-base", flags.clientBase]] as const) {
    if (base + highest > 65535) {
      throw new InvalidFlagError(
        flag,
        String(base),
        `${flag} ${base} leaves no room for ${highest} ports (the last would be ${base + highest})`,
      );
    }
  }
  const plans = starting.map((n) => planOf(flags, n.index, n.id));
  const peerPorts = plans.map((p) => flags.peerBase + p.index);
  const clientPorts = plans.map((p) => flags.clientBase + p.index);
  if (peerPorts.some((p) => clientPorts.includes(p))) {
    throw new InvalidFlagError(
      "--client-base",
      String(flags.clientBase),
      `--peer-base ${flags.peerBase} and --client-base ${flags.clientBase} give overlapping ports for ${plans.length} nodes: move one of them`,
    );
  }
  // A fresh secret per run keeps other local processes out; it is never written to disk.
  const secret = process.env.RINGFORGE_SECRET ?? randomBytes(24).toString("base64url");
  // Each node reports this run's id in GET /status, so readiness counts only our own nodes,
  // never another cluster's processes that happen to listen on the same ports.
  const runId = randomBytes(12).toString("base64url");
  const nodeStore: StoreConfig = { ...store, nodes: store.nodes ?? configured };
  const configOf = (plan: NodePlan, seeds: readonly string[]) => ({
    id: plan.id,
    peer: { listen: plan.peer },
    client: { listen: plan.client },
    seeds: [...seeds],
    dataDir: flags.dir,
    logLevel: flags.logLevel,
    store: nodeStore,
    runId,
  });
  const configs = plans.map((plan) => configOf(plan, plans.filter((p) => p !== plan).map((p) => p.peer)));

  // Validate what each node will parse and build, so a bad config fails here, with nothing
  // written and nothing started.
  let engineDirs: string[] = [];
  let scaler: Scaler | undefined;
  let n = 1;
  for (const config of configs) {
    const parsed = parseNodeProcessConfig({ ...config, secret });
    if (config !== configs[0]) continue;
    const resolved = resolveStoreConfig(processStore(parsed), registry);
    engineDirs = engineDirectories(parsed);
    n = resolved.replication.n;
    if (flags.autoscale) scaler = scalingPolicy(resolved.plugins.scaler, n, flags.autoscale);
  }
  await assertPortsFree([
    ...peerPorts.map((port) => ({ listener: "peer", host: flags.host, port, flag: "--peer-base" })),
    ...clientPorts.map((port) => ({ listener: "client", host: flags.host, port, flag: "--client-base" })),
  ]);

  const script = process.argv[1];
  if (!script) throw new RingforgeError("RINGFORGE_INVALID_REQUEST", "cannot tell which script to start the nodes with");
  await mkdir(configDir, { recursive: true });
  // One launcher per data directory, for as long as it runs: a second `ringforge cluster` on
  // the same --dir (on other ports) fails here, before it rewrites the first one's node configs
  // or starts nodes on its data. Each node also locks its own engine directory.
  const lock = await lockDirectory(configDir);
  try {
    const nodes = new LocalNodeProcesses({ flags, io, script, secret, configDir, configOf, engineDirs });
    await launch(plans, { flags, io, nodes, runId, ledger, scaler, n, secret, added: new Set(ledger.added.map((a) => a.id)) });
  } finally {
    await lock.release();
  }
}

/** `--autoscale-add-command` and `--autoscale-remove-command` come together, and with `--autoscale`. */
function checkCommandFlags(flags: LocalClusterFlags): void {
  const add = flags.autoscaleAddCommand;
  const remove = flags.autoscaleRemoveCommand;
  if (add === undefined && remove === undefined) return;
  const [flag, value] = add !== undefined ? ["--autoscale-add-command", add] : ["--autoscale-remove-command", remove!];
  if (!flags.autoscale) throw new InvalidFlagError(flag, value, `${flag} is for --autoscale: add --autoscale min=...,max=...`);
  if (add === undefined || remove === undefined) {
    throw new InvalidFlagError(flag, value, "--autoscale-add-command and --autoscale-remove-command go together: give both");
  }
  for (const [name, command] of [["--autoscale-add-command", add], ["--autoscale-remove-command", remove]] as const) {
    if (command.trim() === "") throw new InvalidFlagError(name, command, `${name} must be a shell command, got an empty one`);
  }
}

/**
 * The policy of `--autoscale`: the store config's `scaler`, created once here.
 *
 * @throws {InvalidConfigError} when the store chooses no policy (`none`, the default)
 * @throws {InvalidFlagError} when `max` is below the replication factor
 */
function scalingPolicy(choice: PluginChoice, n: number, spec: AutoscaleSpec): Scaler {
  if (choice.plugin.name === "none") {
    throw new InvalidConfigError([{
      path: "scaler",
      message: '--autoscale needs a scaling policy, and the store config chooses "none" (the default): set one in the store config ' +
        '(--store FILE), e.g. "scaler": { "name": "target-tracking", "options": { "target": 200 } } or "thresholds"',
    }]);
  }
  if (spec.max < n) {
    throw new InvalidFlagError(
      "--autoscale",
      `max=${spec.max}`,
      `--autoscale max (${spec.max}) must be at least the replication factor N (${n})`,
    );
  }
  // A policy needs nothing of a node: a standalone context is all it is given.
  return choice.plugin.create(standaloneContext(), choice.options) as Scaler;
}

/** The node at port index `index`: its id (`n<index>` unless given), addresses and data directories. */
function planOf(flags: LocalClusterFlags, index: number, id = `n${index}`, engineDirs: readonly string[] = [flags.dir]): NodePlan {
  return {
    id,
    index,
    peer: `${flags.host}:${flags.peerBase + index}`,
    client: `${flags.host}:${flags.clientBase + index}`,
    dataDirs: engineDirs.map((dir) => path.join(dir, id)),
  };
}

/** The directories a node's engine keeps `<dir>/<id>` in: the engine's `directory` option, and `--dir`. */
function engineDirectories(config: NodeProcessConfig): string[] {
  const engine = processStore(config).engine;
  const directory = typeof engine === "object" ? engine.options?.directory : undefined;
  return [...new Set([config.dataDir, ...(typeof directory === "string" ? [directory] : [])])];
}

/** What {@link LocalNodeProcesses} starts nodes with. */
interface NodeLaunch {
  readonly flags: LocalClusterFlags;
  readonly io: Io;
  readonly script: string;
  readonly secret: string;
  readonly configDir: string;
  /** A node's config, seeded with `seeds`. */
  readonly configOf: (plan: NodePlan, seeds: readonly string[]) => object;
  readonly engineDirs: readonly string[];
}

/**
 * The node processes of one run of the launcher: the ones it starts with and the ones the
 * autoscaler adds, each `ringforge start` with a config file in `<dir>/cluster` and the run's
 * secret in its environment. Reports a node that exits on its own; stops them all on Ctrl-C.
 */
class LocalNodeProcesses implements LocalProcesses {
  readonly #launch: NodeLaunch;
  readonly #nodes = new Map<string, LocalNode>();
  readonly #children = new Set<ChildProcess>();
  readonly #exits: Promise<unknown>[] = [];
  #stopping = false;
  #stopped: Promise<void> | undefined;
  #highest = 0;
  #live = 0;
  #failed = false;
  #noneRunning!: () => void;
  /** Resolves when no node runs any more: all stopped, or all exited. */
  readonly noneRunning: Promise<void> = new Promise((resolve) => (this.#noneRunning = resolve));

  constructor(launch: NodeLaunch) {
    this.#launch = launch;
  }

  get stopping(): boolean {
    return this.#stopping;
  }

  /** True if a node exited without being asked to. */
  get failed(): boolean {
    return this.#failed;
  }

  node(id: string): LocalNode | undefined {
    return this.#nodes.get(id);
  }

  running(): readonly LocalNode[] {
    return [...this.#nodes.values()].filter((n) => n.running);
  }

  highestIndex(): number {
    return this.#highest;
  }

  plan(index: number): NodePlan | undefined {
    const { flags, engineDirs } = this.#launch;
    if (Math.max(flags.peerBase, flags.clientBase) + index > 65535) return undefined;
    return planOf(flags, index, undefined, engineDirs);
  }

  async spawn(plan: NodePlan, seeds: readonly string[]): Promise<LocalNode> {
    // Stopping: a process started now would outlive stopAll's list.
    if (this.#stopping) throw new NotRunningError(`the cluster (stopping; ${plan.id} not started)`);
    const { io, script, secret, configDir, configOf } = this.#launch;
    const file = path.join(configDir, `${plan.id}.json`);
    await writeFile(file, `${JSON.stringify(configOf(plan, seeds), null, 2)}\n`);
    if (this.#stopping) throw new NotRunningError(`the cluster (stopping; ${plan.id} not started)`);
    const isDeno = "Deno" in globalThis;
    const args = isDeno ? ["run", "-A", script, "start", "--config", file] : [...process.execArgv, script, "start", "--config", file];
    const child = spawn(process.execPath, args, {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      env: { ...process.env, RINGFORGE_SECRET: secret },
    });
    this.#children.add(child);
    this.#highest = Math.max(this.#highest, plan.index);
    this.#live++;
    let running = true;
    const node: LocalNode = {
      plan,
      url: `http://${plan.client}`,
      expectExit: false,
      get running() {
        return running;
      },
      exited: new Promise((resolve) =>
        child.once("exit", (code, signal) => {
          running = false;
          if (!this.#stopping && !node.expectExit) {
            this.#failed = true;
            io.err(`ringforge: node ${plan.id} exited (${signal ?? `code ${code}`})\n`);
          }
          if (--this.#live === 0) this.#noneRunning();
          resolve(signal ?? code ?? -1);
        })
      ),
      kill: (signal) => {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      },
    };
    this.#exits.push(node.exited);
    this.#nodes.set(plan.id, node);
    return node;
  }

  /** Stops every node (SIGTERM, SIGKILL after 15 s) and waits for them all. Idempotent. */
  stopAll(): Promise<void> {
    return (this.#stopped ??= (async () => {
      this.#stopping = true;
      if (this.#live > 0) this.#launch.io.err("\nstopping the cluster...\n");
      for (const child of this.#children) if (child.exitCode === null) child.kill("SIGTERM");
      const deadline = setTimeout(() => {
        for (const child of this.#children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      }, 15_000);
      await Promise.all(this.#exits);
      clearTimeout(deadline);
    })());
  }
}

/** What {@link launch} runs. */
interface Launch {
  readonly flags: LocalClusterFlags;
  readonly io: Io;
  readonly nodes: LocalNodeProcesses;
  readonly runId: string;
  readonly ledger: ScalingLedger;
  /** The policy, with `--autoscale`. */
  readonly scaler: Scaler | undefined;
  /** The store's replication factor. */
  readonly n: number;
  readonly secret: string;
  /** The nodes started because an earlier run's autoscaler added them. */
  readonly added: ReadonlySet<string>;
}

/** Starts the nodes, waits for them, runs the autoscaler if asked, and stops everything on a signal. */
async function launch(plans: readonly NodePlan[], run: Launch): Promise<void> {
  const { flags, io, nodes, runId } = run;
  const token = process.env.RINGFORGE_TOKEN;
  for (const plan of plans) await nodes.spawn(plan, plans.filter((p) => p !== plan).map((p) => p.peer));

  let autoscaler: { stop(): Promise<void> } | undefined;
  const stopAll = async (): Promise<void> => {
    // The rounds stop at once; a change in progress ends as its node stops.
    const stopped = autoscaler?.stop();
    await nodes.stopAll();
    await stopped;
  };
  const unlisten = onShutdownSignal(() => void stopAll());

  // Ready when every node of this run answers; give up if any exits first (or on Ctrl-C).
  const ready = await waitReady(
    plans.map((p) => `http://${p.client}`),
    runId,
    60_000,
    () => nodes.failed || nodes.stopping,
    token,
  ).catch(async (error: unknown) => {
    await stopAll();
    unlisten();
    throw error;
  });
  if (!ready) {
    // Read before stopAll, which sets stopping: a node that died on its own is a failure.
    const failed = nodes.failed && !nodes.stopping;
    await stopAll();
    unlisten();
    if (failed) throw new RingforgeError("RINGFORGE_NOT_RUNNING", "a node exited before the cluster was ready (see its log above)");
    return;
  }
  const first = `http://${plans[0]!.client}`;
  const last = `http://${plans[plans.length - 1]!.client}`;
  const note = (id: string) => (run.added.has(id) ? "  (added by --autoscale in an earlier run)" : "");
  io.out(
    `ringforge: ${plans.length} node${plans.length === 1 ? "" : "s"} running (data in ${flags.dir}/)\n` +
      plans.map((p) => `  ${p.id}  client http://${p.client}  peer ${p.peer}${note(p.id)}\n`).join("") +
      `\nTry:\n` +
      `  curl -X PUT --data hello ${first}/kv/greeting\n` +
      `  curl ${last}/kv/greeting\n` +
      `  curl ${first}/status\n` +
      `  curl ${first}/metrics\n` +
      `\nWatch it live: open ${first}/ui in a browser, or run ringforge status --watch\n` +
      `\nCtrl-C stops every node.\n`,
  );
  if (run.scaler && flags.autoscale && !nodes.stopping) {
    const extra = new Map<string, string>();
    const urls = () => [...nodes.running().filter((n) => !n.expectExit).map((n) => n.url), ...extra.values()];
    const provider = flags.autoscaleAddCommand !== undefined
      ? commandProvider(run, flags.autoscale, urls, extra, token)
      : new ProcessNodeProvider({
        nodes,
        ledger: run.ledger,
        runId,
        timeoutMs: flags.autoscale.timeoutMs,
        log: (line) => io.out(`${line}\n`),
        ...(token ? { token } : {}),
      });
    const spec = flags.autoscale;
    autoscaler = startClusterAutoscaler({ spec, scaler: run.scaler, provider, n: run.n, urls, io, ...(token ? { token } : {}) });
    io.out(
      `ringforge: autoscaling with ${run.scaler.name} (store config), ${spec.min}-${spec.max} nodes, ` +
        `a round every ${spec.intervalMs / 1000} s, ${spec.cooldownMs / 1000} s between changes; nodes ${
          provider.name === "command" ? "added and removed by your commands" : "started here"
        }\n`,
    );
  }
  await nodes.noneRunning;
  const failed = !nodes.stopping;
  await stopAll();
  unlisten();
  if (failed) throw new RingforgeError("RINGFORGE_NOT_RUNNING", "every node exited");
}

/** The provider of `--autoscale-add-command` and `--autoscale-remove-command`, with the environment they get. */
function commandProvider(
  run: Launch,
  spec: AutoscaleSpec,
  urls: () => string[],
  extra: Map<string, string>,
  token: string | undefined,
): NodeProvider {
  const { nodes, ledger } = run;
  const used = new Set<string>();
  let next = nodes.highestIndex();
  const ringOf = async (): Promise<NodeStatus | undefined> => (await fetchClusterStatus(urls(), token)).members[0]?.status;
  return new CommandNodeProvider({
    addCommand: run.flags.autoscaleAddCommand!,
    removeCommand: run.flags.autoscaleRemoveCommand!,
    timeoutMs: spec.timeoutMs,
    suggestId: () => {
      let id: string;
      do id = `n${++next}`; while (used.has(id) || nodes.node(id) || ledger.knows(id));
      used.add(id);
      return id;
    },
    env: async (_action, node) => {
      const ring = await ringOf().catch(() => undefined);
      const url = nodes.node(node)?.url ?? extra.get(node);
      return {
        RINGFORGE_MEMBERS: (ring?.members ?? []).filter((m) => m.inRing).map((m) => m.id).join(","),
        RINGFORGE_SEEDS: nodes.running().map((n) => n.plan.peer).join(","),
        RINGFORGE_CLUSTER_URL: urls()[0] ?? "",
        RINGFORGE_SECRET: run.secret,
        ...(url ? { RINGFORGE_NODE_URL: url } : {}),
      };
    },
    isMember: async (node) => (await ringOf())?.members.some((m) => m.id === node && m.inRing) ?? false,
    onAdded: (node, url) => {
      used.add(node);
      if (url) extra.set(node, url);
    },
    onRemoving: (node) => {
      const local = nodes.node(node);
      if (local) local.expectExit = true;
    },
    onRemoved: (node, ok) => {
      const local = nodes.node(node);
      if (ok) {
        extra.delete(node);
        if (local) void ledger.recordLeft(node);
      } else if (local?.running) local.expectExit = false;
    },
  });
}

/**
 * Polls each URL's /status (with `token` as the bearer token, if given) until each answers with
 * this run's `runId` (true), or `cancelled()` becomes true (false). An answer with another run's
 * id (or none) does not count.
 *
 * @throws {RingforgeError} `RINGFORGE_TIMEOUT` when a node is not ready after `ms`
 */
export async function waitReady(
  urls: readonly string[],
  runId: string,
  ms: number,
  cancelled: () => boolean,
  token?: string,
): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (const url of urls) {
    for (;;) {
      if (cancelled()) return false;
      try {
        const response = await fetch(`${url}/status`, {
          headers: token ? { Authorization: `Bearer ${token}` } : {},
          signal: AbortSignal.timeout(1000),
        });
        // Another process on this port (an earlier cluster still running) answers too: only
        // this run's id counts.
        if (!response.ok) await response.body?.cancel();
        else if (((await response.json()) as { runId?: unknown }).runId === runId) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new RingforgeError("RINGFORGE_TIMEOUT", `node at ${url} not ready after ${ms} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return true;
}
