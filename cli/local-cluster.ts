/**
 * `ringforge cluster`: a local cluster of node processes on loopback. Everything that can be
 * wrong is checked before anything is written or started (the store config, the secret, the
 * ports), and the cluster counts a node as ready only when the answer on its port comes from a
 * process of this run.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import process from "node:process";
import { resolveStoreConfig, type StoreConfig } from "../core/build/config.ts";
import type { PluginRegistry } from "../core/build/registry.ts";
import { InvalidConfigError, RingforgeError } from "../core/errors.ts";
import { parseNodeProcessConfig, processStore } from "../server/node-process.ts";
import { InvalidFlagError } from "./flag-parsers.ts";
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
 * prints how to reach them, and stops them all on Ctrl-C (SIGINT) or SIGTERM.
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
  const ids = Array.from({ length: flags.nodes }, (_, i) => `n${i + 1}`);
  for (const [flag, base] of [["--peer-base", flags.peerBase], ["--client-base", flags.clientBase]] as const) {
    if (base + flags.nodes > 65535) {
      throw new InvalidFlagError(
        flag,
        String(base),
        `${flag} ${base} leaves no room for ${flags.nodes} ports (the last would be ${base + flags.nodes})`,
      );
    }
  }
  const peerPorts = ids.map((_, i) => flags.peerBase + i + 1);
  const clientPorts = ids.map((_, i) => flags.clientBase + i + 1);
  if (peerPorts.some((p) => clientPorts.includes(p))) {
    throw new InvalidFlagError(
      "--client-base",
      String(flags.clientBase),
      `--peer-base ${flags.peerBase} and --client-base ${flags.clientBase} give overlapping ports for ${flags.nodes} nodes: move one of them`,
    );
  }
  const peers = peerPorts.map((p) => `${flags.host}:${p}`);
  const clients = clientPorts.map((p) => `${flags.host}:${p}`);
  // A fresh secret per run keeps other local processes out; it is never written to disk.
  const secret = process.env.RINGFORGE_SECRET ?? randomBytes(24).toString("base64url");
  // Each node reports this run's id in GET /status, so readiness counts only our own nodes,
  // never another cluster's processes that happen to listen on the same ports.
  const runId = randomBytes(12).toString("base64url");
  const configs = ids.map((id, i) => ({
    id,
    peer: { listen: peers[i]! },
    client: { listen: clients[i]! },
    seeds: peers.filter((_, j) => j !== i),
    dataDir: flags.dir,
    logLevel: flags.logLevel,
    store: { ...store, nodes: store.nodes ?? ids },
    runId,
  }));

  // Validate what each node will parse and build, so a bad config fails here, with nothing
  // written and nothing started.
  for (const config of configs) {
    const parsed = parseNodeProcessConfig({ ...config, secret });
    if (config === configs[0]) resolveStoreConfig(processStore(parsed), registry);
  }
  await assertPortsFree([
    ...peerPorts.map((port) => ({ listener: "peer", host: flags.host, port, flag: "--peer-base" })),
    ...clientPorts.map((port) => ({ listener: "client", host: flags.host, port, flag: "--client-base" })),
  ]);

  const script = process.argv[1];
  if (!script) throw new RingforgeError("RINGFORGE_INVALID_REQUEST", "cannot tell which script to start the nodes with");
  const configDir = path.join(flags.dir, "cluster");
  await mkdir(configDir, { recursive: true });
  // One launcher per data directory, for as long as it runs: a second `ringforge cluster` on
  // the same --dir (on other ports) fails here, before it rewrites the first one's node configs
  // or starts nodes on its data. Each node also locks its own engine directory.
  const lock = await lockDirectory(configDir);
  try {
    await launch(configs, { flags, io, script, secret, configDir, runId, peers, clients, ids });
  } finally {
    await lock.release();
  }
}

/** What {@link launch} starts: checked configs and where they go. */
interface Launch {
  readonly flags: LocalClusterFlags;
  readonly io: Io;
  readonly script: string;
  readonly secret: string;
  readonly configDir: string;
  readonly runId: string;
  readonly peers: readonly string[];
  readonly clients: readonly string[];
  readonly ids: readonly string[];
}

/** Writes each node's config, starts the nodes, waits for them, and stops them on a signal. */
async function launch(configs: readonly { readonly id: string }[], run: Launch): Promise<void> {
  const { flags, io, script, secret, configDir, runId, peers, clients, ids } = run;
  const isDeno = "Deno" in globalThis;
  const children: ChildProcess[] = [];
  const exited: Promise<void>[] = [];
  let shuttingDown = false;

  for (const config of configs) {
    const file = path.join(configDir, `${config.id}.json`);
    await writeFile(file, `${JSON.stringify(config, null, 2)}\n`);
    const args = isDeno ? ["run", "-A", script, "start", "--config", file] : [...process.execArgv, script, "start", "--config", file];
    const child = spawn(process.execPath, args, {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      env: { ...process.env, RINGFORGE_SECRET: secret },
    });
    children.push(child);
    exited.push(
      new Promise((resolve) =>
        child.once("exit", (code, signal) => {
          if (!shuttingDown) io.err(`ringforge: node ${config.id} exited (${signal ?? `code ${code}`})\n`);
          resolve();
        })
      ),
    );
  }

  const stopAll = async (): Promise<void> => {
    if (shuttingDown) return;
    shuttingDown = true;
    io.err("\nstopping the cluster...\n");
    for (const child of children) if (child.exitCode === null) child.kill("SIGTERM");
    const deadline = setTimeout(() => {
      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }, 15_000);
    await Promise.all(exited);
    clearTimeout(deadline);
  };
  const unlisten = onShutdownSignal(() => void stopAll());

  // Ready when every node of this run answers; give up if any exits first (or on Ctrl-C).
  let anyExited = false;
  for (const done of exited) void done.then(() => (anyExited = true));
  const ready = await waitReady(
    clients.map((c) => `http://${c}`),
    runId,
    60_000,
    () => anyExited || shuttingDown,
  ).catch(async (error: unknown) => {
    await stopAll();
    unlisten();
    throw error;
  });
  if (!ready) {
    // Read before stopAll, which sets shuttingDown: a node that died on its own is a failure.
    const failed = anyExited && !shuttingDown;
    await stopAll();
    unlisten();
    if (failed) throw new RingforgeError("RINGFORGE_NOT_RUNNING", "a node exited before the cluster was ready (see its log above)");
    return;
  }
  const first = `http://${clients[0]}`;
  const last = `http://${clients[clients.length - 1]}`;
  io.out(
    `ringforge: ${ids.length} node${ids.length === 1 ? "" : "s"} running (data in ${flags.dir}/)\n` +
      ids.map((id, i) => `  ${id}  client http://${clients[i]}  peer ${peers[i]}\n`).join("") +
      `\nTry:\n` +
      `  curl -X PUT --data hello ${first}/kv/greeting\n` +
      `  curl ${last}/kv/greeting\n` +
      `  curl ${first}/status\n` +
      `  curl ${first}/metrics\n` +
      `\nWatch it live: open ${first}/ui in a browser, or run ringforge status --watch\n` +
      `\nCtrl-C stops every node.\n`,
  );
  await Promise.all(exited);
  unlisten();
  if (!shuttingDown) throw new RingforgeError("RINGFORGE_NOT_RUNNING", "every node exited");
}

/**
 * Polls each URL's /status until each answers with this run's `runId` (true), or `cancelled()`
 * becomes true (false). An answer with another run's id (or none) does not count.
 *
 * @throws {RingforgeError} `RINGFORGE_TIMEOUT` when a node is not ready after `ms`
 */
export async function waitReady(urls: readonly string[], runId: string, ms: number, cancelled: () => boolean): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (const url of urls) {
    for (;;) {
      if (cancelled()) return false;
      try {
        const response = await fetch(`${url}/status`, { signal: AbortSignal.timeout(1000) });
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
