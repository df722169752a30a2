/**
 * A real cluster under load, beside its peers. A separate load process runs YCSB workload A
 * (50% reads, 50% updates, zipfian 0.99 keys) over loopback HTTP with keep-alive, spreading its
 * requests over the target's processes, and reports ops/s and p50/p99/p999 latency per
 * operation. It sends with node:http (`--client fetch`: with web fetch, as `RingforgeClient`
 * does, which costs the load process several times the CPU per request). The targets:
 *
 * - **ringforge**: three `ringforge start` processes (N=3 R=2 W=2) run from the built JavaScript
 *   (`dist/cli/main.js`), the `ringforge cluster` default build (vector clocks, consistent
 *   hashing, sloppy quorum, SWIM, LSM engine, Merkle anti-entropy), with the LSM commit log
 *   synced as `--sync` says (default `always`, as `npm start` runs). An update writes back with
 *   the context of the load process's last read or write of the key, as a Riak client does.
 * - with `--peers`, **etcd** (three members on loopback, when `etcd` is on the PATH; skipped
 *   with a note otherwise) and **the floor** (node:http over a `Map`): see bench/peers.ts.
 *
 *   npm run bench -- cluster [--peers] [--runs N] [--sync always|interval|never] [--json]
 *                            [--records 10000] [--warmup 5] [--duration 20] [--concurrency 32]
 *                            [--value-bytes 100] [--client http|fetch] [--profile] [--syscalls]
 *                            [--keep-profiles DIR]
 *
 * Beside ops/s and latency each target gets its CPU time per operation: the user and system
 * time of its server processes over the measured window (Linux's /proc), over the operations
 * done. On a shared machine ops/s moves with what else runs; the CPU a request costs moves much
 * less, so compare builds by it.
 *
 * Each run starts every target afresh (empty data directories), loads the records, runs the
 * workload and stops the target; the targets take turns within a run, so a change in the
 * machine's background load falls on all of them. With `--runs N` (the shared harness's option,
 * default 1) every figure of a target is the median of its N runs. With `--json` it prints one
 * object: per target its ops/s and latencies, and `ratios` (`vsEtcd`: ringforge's ops/s over
 * etcd's, `p99VsEtcd`: ringforge's p99 over etcd's, `vsFloor`: ringforge's ops/s over the
 * floor's; each null where that peer did not run).
 *
 * The nodes never run through a TypeScript loader: when `dist/cli/main.js` is missing or older
 * than a source file it is built from, the benchmark first builds `dist/` the way `npm start`
 * and `npm install` do (`npm run prepare`: JavaScript only, a few seconds), so the figures are
 * those of the sources in the tree. With `--profile` the nodes run under the V8 CPU profiler and the summary splits their
 * CPU time (of the median run) by where it went; `--keep-profiles DIR` leaves the
 * `.cpuprofile` files in `DIR/run-N` (open them in Chrome DevTools). With `--syscalls` (Linux,
 * with `perf` installed and allowed to read the kernel's tracepoints, as root is) each target
 * also gets its system calls per operation over the measured window: socket and file writes
 * (`write`, `writev`), `read`, and `futex` (thread-pool hand-offs), the counts that batching
 * per event-loop turn lowers.
 *
 * Node only. Prints figures; never passes or fails on speed.
 *
 * @module
 */
import { type CpuProfile, type ProfileShares, profileShares, topFunctions } from "./profile.ts";
import { benchOptions, figure, runtimeName, summarize } from "./harness.ts";
import { spawn, spawnSync } from "node:child_process";
import { Agent, request as httpRequest } from "node:http";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { availableParallelism, cpus } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import type { NodeStatus } from "../client/node-status.ts";
import { SeededRandom } from "../core/runtime/seeded-random.ts";
import { defaultClusterStore } from "../cli/local-cluster.ts";
import { ScrambledZipfian } from "../sim/zipfian.ts";
import { ChildProcesses, type Started, waitForHttp } from "./child-processes.ts";
import { freePort } from "./free-port.ts";
import { sourceMappedProfile } from "./source-mapped-profile.ts";
import { etcdBinary, type Protocol, startEtcd, startFloor, type Target, type TargetName } from "./peers.ts";

const HERE = fileURLToPath(import.meta.url);
const ROOT = dirname(dirname(HERE));
/** The node's entry point in the built package. */
const BUILT_MAIN = join(ROOT, "dist", "cli", "main.js");
/** What `dist/` is built from (tsup.config.ts's entries and everything they import). */
const BUILD_INPUTS = ["index.ts", "package.json", "tsup.config.ts", "core", "plugins", "plugin-kit", "sim", "server", "client", "cli"];

const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};
const number = (name: string, fallback: number): number => {
  const value = Number(option(name) ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
};

/** Latency figures of one operation, in milliseconds. */
interface Latency {
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly count: number;
}

/** What the load process reports. */
interface LoadResult {
  readonly seconds: number;
  readonly ops: number;
  readonly errors: number;
  /** Failed requests by error message (numbers standing alone as `#`), with their counts. */
  readonly failures: Record<string, number>;
  readonly opsPerSecond: number;
  readonly latencyMs: Record<"read" | "update" | "all", Latency>;
  /**
   * CPU time of the target's processes (user + system, from /proc) over the measured window,
   * per operation, µs; null where /proc is not there. Less noisy than ops/s on a shared
   * machine: it says what a request costs, not how much CPU was left for it.
   */
  readonly cpuUsPerOp: number | null;
  /**
   * With `--syscalls`: system calls of the target's processes (all their threads) over the
   * measured window, per operation, by name (`write`, `writev`, `read`, `futex`), counted by
   * `perf stat` on the kernel's syscall tracepoints; null without it, or where perf cannot
   * count them (not installed, not permitted).
   */
  readonly syscallsPerOp: Record<string, number> | null;
}

// ---- the load process ------------------------------------------------------------------------

/** A target as the load process sees it: a read and a write of one key. */
interface KvClient {
  read(key: string): Promise<void>;
  write(key: string, value: Uint8Array): Promise<void>;
}

/** An HTTP answer, as much of it as the load process reads. */
interface Reply {
  readonly status: number;
  /** ringforge's `X-Ringforge-Context` header, if the answer has one. */
  readonly context: string | undefined;
  readonly body: Uint8Array;
}

/** Sends one request to a target's URL. */
type Send = (method: string, path: string, headers: Record<string, string>, body?: Uint8Array) => Promise<Reply>;

/**
 * node:http over a keep-alive agent (`--client http`, the default). The load process shares
 * two cores with the target, so its HTTP client must cost little. Web fetch (undici, Node 20)
 * cost it about 7x the CPU per request on the 2-core machine: against the floor the load process
 * was the bottleneck, at a sixth of the rate node:http reaches.
 */
function nodeHttpSend(base: string, agent: Agent): Send {
  const { hostname, port } = new URL(base);
  return (method, path, headers, body) =>
    new Promise((resolve, reject) => {
      const request = httpRequest(
        { hostname, port, method, path, agent, headers: body ? { ...headers, "Content-Length": String(body.length) } : headers },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("error", reject);
          response.on("end", () => {
            const context = response.headers["x-ringforge-context"];
            resolve({
              status: response.statusCode ?? 0,
              context: typeof context === "string" ? context : undefined,
              body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks),
            });
          });
        },
      );
      request.on("error", reject);
      request.end(body);
    });
}

/** Web fetch (`--client fetch`): what `RingforgeClient` and browsers send with. */
function fetchSend(base: string): Send {
  return async (method, path, headers, body) => {
    const response = await fetch(`${base}${path}`, { method, headers, ...(body ? { body: body as Uint8Array<ArrayBuffer> } : {}) });
    return {
      status: response.status,
      context: response.headers.get("x-ringforge-context") ?? undefined,
      body: new Uint8Array(await response.arrayBuffer()),
    };
  };
}

/** A failed request's error, with the start of the answer's body (ringforge's error JSON, etcd's message). */
function failure(what: string, reply: Reply): Error {
  return new Error(`${what}: HTTP ${reply.status} ${new TextDecoder().decode(reply.body.subarray(0, 300))}`);
}

/**
 * ringforge's client API (and the floor's, which speaks it), as `RingforgeClient` uses it: an
 * update carries the context of the load process's last answer for the key.
 */
function ringforgeProtocol(send: Send, contexts: Map<string, string>): KvClient {
  return {
    async read(key) {
      const reply = await send("GET", `/kv/${encodeURIComponent(key)}`, {});
      // 404 is a failure here: every key was loaded.
      if (reply.status !== 200 && reply.status !== 300) throw failure(`GET ${key}`, reply);
      contexts.set(key, reply.context ?? "");
    },
    async write(key, value) {
      const context = contexts.get(key);
      const headers: Record<string, string> = { "Content-Type": "application/octet-stream" };
      if (context) headers["X-Ringforge-Context"] = context;
      const reply = await send("PUT", `/kv/${encodeURIComponent(key)}`, headers, value);
      if (reply.status < 200 || reply.status > 299) throw failure(`PUT ${key}`, reply);
      contexts.set(key, reply.context ?? "");
    },
  };
}

/** etcd's JSON gateway: keys and values in base64; reads are etcd's default, linearizable. */
function etcdProtocol(send: Send): KvClient {
  const headers = { "Content-Type": "application/json" };
  const post = async (path: string, body: Record<string, string>): Promise<unknown> => {
    const reply = await send("POST", path, headers, Buffer.from(JSON.stringify(body)));
    if (reply.status !== 200) throw failure(`POST ${path} ${body.key}`, reply);
    return JSON.parse(new TextDecoder().decode(reply.body));
  };
  const base64 = (bytes: string | Uint8Array) => Buffer.from(bytes).toString("base64");
  return {
    async read(key) {
      const answer = (await post("/v3/kv/range", { key: base64(key) })) as { kvs?: { value?: string }[] };
      const value = answer.kvs?.[0]?.value;
      if (value === undefined || Buffer.from(value, "base64").length === 0) {
        throw new Error(`range ${key}: no value, but every key was loaded`);
      }
    },
    async write(key, value) {
      await post("/v3/kv/put", { key: base64(key), value: base64(value) });
    },
  };
}

async function runLoad(): Promise<void> {
  const protocol = option("--protocol") as Protocol;
  const urls = option("--urls")!.split(",");
  const records = number("--records", 10_000);
  const warmup = number("--warmup", 5);
  const duration = number("--duration", 20);
  const concurrency = number("--concurrency", 32);
  const valueBytes = number("--value-bytes", 100);
  const pids = (option("--pids") ?? "").split(",").filter(Boolean).map(Number);
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const contexts = new Map<string, string>();
  const clients = urls.map((url) => {
    const send = option("--client") === "fetch" ? fetchSend(url) : nodeHttpSend(url, agent);
    return protocol === "etcd" ? etcdProtocol(send) : ringforgeProtocol(send, contexts);
  });
  const key = (i: number) => `user${String(i).padStart(8, "0")}`;
  const value = (random: SeededRandom) => {
    const bytes = new Uint8Array(valueBytes);
    for (let i = 0; i < valueBytes; i++) bytes[i] = 97 + Math.floor(random.next() * 26);
    return bytes;
  };

  // Load phase: every record once.
  const loadRandom = new SeededRandom(1);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      for (let i = next++; i < records; i = next++) await clients[(i + w) % clients.length]!.write(key(i), value(loadRandom));
    }),
  );

  // Run phase: warm-up, then measure.
  const started = performance.now();
  const measureFrom = started + warmup * 1000;
  const end = measureFrom + duration * 1000;
  const latencies = { read: [] as number[], update: [] as number[] };
  let errors = 0;
  const failures: Record<string, number> = {};
  let cpuFrom: number | undefined;
  let cpuTo: number | undefined;
  let syscalls: Promise<Record<string, number> | null> = Promise.resolve(null);
  const cpuTimers = [
    setTimeout(() => {
      cpuFrom = cpuSeconds(pids);
      if (args.includes("--syscalls")) syscalls = countSyscalls(pids, duration);
    }, measureFrom - started),
    setTimeout(() => (cpuTo = cpuSeconds(pids)), end - started),
  ];
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      const random = new SeededRandom(100 + w);
      const zipf = new ScrambledZipfian(records, random);
      let turn = w;
      for (;;) {
        const t0 = performance.now();
        if (t0 >= end) return;
        const k = key(zipf.next());
        const client = clients[turn++ % clients.length]!;
        const isRead = random.next() < 0.5;
        try {
          if (isRead) await client.read(k);
          else await client.write(k, value(random));
        } catch (error) {
          if (t0 >= measureFrom) {
            errors++;
            const kind = String(error).replace(/\b\d+\b/g, "#").slice(0, 200);
            failures[kind] = (failures[kind] ?? 0) + 1;
          }
          continue;
        }
        if (t0 >= measureFrom) (isRead ? latencies.read : latencies.update).push(performance.now() - t0);
      }
    }),
  );
  const summary = (list: number[]): Latency => {
    const sorted = Float64Array.from(list).sort();
    const at = (q: number) => Number((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0).toFixed(2));
    return { p50: at(0.5), p99: at(0.99), p999: at(0.999), count: sorted.length };
  };
  for (const timer of cpuTimers) clearTimeout(timer);
  // The workers stop on their own clock reading; the end timer may not have fired yet.
  cpuTo ??= cpuSeconds(pids);
  const ops = latencies.read.length + latencies.update.length;
  const cpu = cpuFrom !== undefined && cpuTo !== undefined && !Number.isNaN(cpuFrom - cpuTo) ? cpuTo - cpuFrom : undefined;
  const result: LoadResult = {
    seconds: duration,
    ops,
    errors,
    failures,
    opsPerSecond: Math.round(ops / duration),
    latencyMs: { read: summary(latencies.read), update: summary(latencies.update), all: summary([...latencies.read, ...latencies.update]) },
    cpuUsPerOp: cpu === undefined || ops === 0 ? null : Math.round((cpu * 1e6) / ops),
    syscallsPerOp: await syscalls.then((counts) =>
      counts === null || ops === 0
        ? null
        : Object.fromEntries(Object.entries(counts).map(([name, count]) => [name, Number((count / ops).toFixed(2))]))
    ),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** The system calls `--syscalls` counts: socket and file writes, reads, and thread hand-offs. */
const SYSCALLS = ["write", "writev", "read", "futex"] as const;

/**
 * Counts the system calls of `pids` (every thread) for `seconds` with `perf stat` on the
 * kernel's `syscalls:sys_enter_*` tracepoints; null when perf is missing or may not count them
 * (it needs root or a low `perf_event_paranoid`). Linux only.
 */
function countSyscalls(pids: readonly number[], seconds: number): Promise<Record<string, number> | null> {
  if (pids.length === 0) return Promise.resolve(null);
  const events = SYSCALLS.map((name) => `syscalls:sys_enter_${name}`).join(",");
  return new Promise((resolve) => {
    let output = "";
    const perf = spawn("perf", ["stat", "-x", ",", "-e", events, "-p", pids.join(","), "--", "sleep", String(seconds)], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    perf.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    perf.once("error", () => resolve(null));
    perf.once("close", (code) => {
      // CSV lines: count,unit,event,... ("<not supported>" or "<not counted>" where it cannot).
      const counts: Record<string, number> = {};
      for (const line of output.split("\n")) {
        const [count, , event] = line.split(",");
        const name = event?.replace("syscalls:sys_enter_", "");
        if (name && (SYSCALLS as readonly string[]).includes(name) && /^\d+$/.test(count ?? "")) counts[name] = Number(count);
      }
      resolve(code === 0 && Object.keys(counts).length === SYSCALLS.length ? counts : null);
    });
  });
}

/**
 * User + system CPU seconds of `pids` so far, from /proc/PID/stat (fields 14 and 15, in clock
 * ticks of 1/100 s, Linux's USER_HZ); NaN when a process has no /proc entry (not Linux, or it
 * exited).
 */
function cpuSeconds(pids: readonly number[]): number {
  if (pids.length === 0) return Number.NaN;
  let ticks = 0;
  for (const pid of pids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch {
      return Number.NaN;
    }
    // The command name (field 2) is in parentheses and may hold spaces: split after it.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / 100;
}

// ---- the parent: targets, load process, report -----------------------------------------------

/** Newest modification time (ms) of the files `dist/` is built from. */
function newestBuildInput(): number {
  let newest = 0;
  for (const input of BUILD_INPUTS) {
    const path = join(ROOT, input);
    const stat = statSync(path, { throwIfNoEntry: false });
    if (!stat) continue;
    if (!stat.isDirectory()) newest = Math.max(newest, stat.mtimeMs);
    else {
      for (const file of readdirSync(path, { recursive: true, encoding: "utf8" })) {
        if (file.endsWith(".ts")) newest = Math.max(newest, statSync(join(path, file)).mtimeMs);
      }
    }
  }
  return newest;
}

/**
 * Builds `dist/` when `dist/cli/main.js` is missing or older than its sources, as `npm start`
 * and `npm install` do (`npm run prepare`: JavaScript only, the nodes need no declarations).
 */
function ensureBuilt(): void {
  const builtAt = statSync(BUILT_MAIN, { throwIfNoEntry: false })?.mtimeMs;
  if (builtAt !== undefined && builtAt >= newestBuildInput()) return;
  process.stderr.write(
    `${builtAt === undefined ? "dist/ is missing" : "dist/ is older than the sources"}: building it (npm run prepare)...\n`,
  );
  const built = spawnSync("npm", ["run", "--silent", "prepare"], { cwd: ROOT, stdio: ["ignore", 2, 2] });
  if (built.status !== 0) throw new Error(`building dist/ failed (npm run prepare: exit ${built.status ?? built.signal})`);
}

/** Three ringforge node processes from `dist/`, ready once each sees all three members up. */
async function startRingforge(processes: ChildProcesses, sync: string, profileDir: string | undefined): Promise<Target> {
  const dir = processes.tempDir("ringforge-bench-cluster-");
  const store = defaultClusterStore(3);
  const replication = { n: 3, r: 2, w: 2, ...store.replication };
  const ids = ["n1", "n2", "n3"];
  const peers: string[] = [];
  const clients: string[] = [];
  for (let i = 0; i < ids.length; i++) {
    peers.push(`127.0.0.1:${await freePort()}`);
    clients.push(`127.0.0.1:${await freePort()}`);
  }
  if (profileDir) await mkdir(profileDir, { recursive: true });
  const nodes: Started[] = [];
  for (const [i, id] of ids.entries()) {
    const file = join(dir, `${id}.json`);
    const config = {
      id,
      peer: { listen: peers[i] },
      client: { listen: clients[i] },
      seeds: peers.filter((_, j) => j !== i),
      dataDir: join(dir, "data"),
      logLevel: "warn",
      store: { ...store, engine: { name: "lsm", options: { sync } } },
    };
    await writeFile(file, JSON.stringify(config));
    const flags = profileDir ? ["--cpu-prof", "--cpu-prof-dir", profileDir, "--cpu-prof-name", `${id}.cpuprofile`] : [];
    nodes.push(
      processes.start(process.execPath, [...flags, BUILT_MAIN, "start", "--config", file], {
        cwd: ROOT,
        env: { ...process.env, RINGFORGE_SECRET: "bench-cluster-secret-0123456789" },
      }),
    );
  }
  const stop = async () => {
    // SIGTERM: a clean stop, which also writes the CPU profiles.
    await Promise.all(nodes.map((n) => processes.stop(n.child)));
    await processes.removeDir(dir);
  };
  const allUp = async (response: Response) =>
    response.ok && ((await response.json()) as NodeStatus).members.filter((m) => m.status === "up").length >= ids.length;
  try {
    await Promise.all(clients.map((c, i) => waitForHttp(nodes[i]!, `http://${c}/status`, allUp)));
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    name: "ringforge",
    description: `3 node processes from dist/ (N=${replication.n} R=${replication.r} W=${replication.w}, LSM commit log sync ${sync})`,
    protocol: "ringforge",
    urls: clients.map((c) => `http://${c}`),
    pids: nodes.map((n) => n.child.pid!),
    stop,
  };
}

/** Runs the load process against `target` and returns what it measured. */
async function runLoadProcess(processes: ChildProcesses, target: Target): Promise<LoadResult> {
  const passThrough = ["--records", "--warmup", "--duration", "--concurrency", "--value-bytes", "--client"].flatMap((name) => {
    const value = option(name);
    return value === undefined ? [] : [name, value];
  });
  if (args.includes("--syscalls")) passThrough.push("--syscalls");
  const load = processes.start(
    process.execPath,
    [
      ...["--import", "tsx", HERE, "--load", "--protocol", target.protocol, "--urls", target.urls.join(",")],
      ...["--pids", target.pids.join(","), ...passThrough],
    ],
    { cwd: ROOT },
  );
  let out = "";
  load.child.stdout!.on("data", (chunk: Buffer) => (out += chunk.toString()));
  // "close", not "exit": the result line may still be in the pipe when the process exits.
  const code = await new Promise<number | null>((resolve) => load.child.once("close", resolve));
  if (code !== 0) throw new Error(`the load process against ${target.name} failed (exit ${code}):\n${load.log()}`);
  return JSON.parse(out.trim().split("\n").pop()!) as LoadResult;
}

/** A target's figures over its runs: each the median of the runs' values. */
interface TargetSummary {
  readonly description: string;
  readonly opsPerSecond: number;
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly p999: number };
  readonly byOperation: Record<"read" | "update", Latency>;
  /** Failed requests, summed over the runs. */
  readonly errors: number;
  /** The same by error message. */
  readonly failures: Record<string, number>;
  readonly runs: { readonly opsPerSecond: readonly number[]; readonly spread: number };
  /** CPU µs of the target's processes per operation (median of the runs; null without /proc). */
  readonly cpuUsPerOp: number | null;
  /** With `--syscalls`, system calls per operation by name (medians of the runs; null where perf could not count). */
  readonly syscallsPerOp: Record<string, number> | null;
}

function summarizeTarget(description: string, loads: readonly LoadResult[]): TargetSummary {
  // Rounded: with an even number of runs a median is the mean of two.
  const median = (pick: (load: LoadResult) => number) => Number(summarize("", "", loads.map(pick)).median.toFixed(2));
  const latency = (op: "read" | "update" | "all"): Latency => ({
    p50: median((l) => l.latencyMs[op].p50),
    p99: median((l) => l.latencyMs[op].p99),
    p999: median((l) => l.latencyMs[op].p999),
    count: median((l) => l.latencyMs[op].count),
  });
  const rate = summarize(description, "ops/s", loads.map((l) => l.opsPerSecond));
  const all = latency("all");
  return {
    description,
    opsPerSecond: Math.round(rate.median),
    latencyMs: { p50: all.p50, p99: all.p99, p999: all.p999 },
    byOperation: { read: latency("read"), update: latency("update") },
    errors: loads.reduce((sum, l) => sum + l.errors, 0),
    failures: loads.reduce<Record<string, number>>((byKind, l) => {
      for (const [kind, count] of Object.entries(l.failures)) byKind[kind] = (byKind[kind] ?? 0) + count;
      return byKind;
    }, {}),
    runs: { opsPerSecond: rate.values, spread: Number(rate.spread.toFixed(3)) },
    cpuUsPerOp: loads.every((l) => l.cpuUsPerOp !== null) ? Math.round(median((l) => l.cpuUsPerOp!)) : null,
    syscallsPerOp: loads.every((l) => l.syscallsPerOp !== null)
      ? Object.fromEntries(SYSCALLS.map((name) => [name, median((l) => l.syscallsPerOp![name] ?? 0)]))
      : null,
  };
}

async function runParent(): Promise<void> {
  const json = args.includes("--json");
  const withPeers = args.includes("--peers");
  const profile = args.includes("--profile");
  const sync = option("--sync") ?? "always";
  if (!["always", "interval", "never"].includes(sync)) throw new Error("--sync is always, interval or never");
  const client = option("--client") ?? "http";
  if (!["http", "fetch"].includes(client)) throw new Error("--client is http or fetch");
  // This bench's own `--warmup` is seconds of load before measuring, not the harness's warm-up runs.
  const { runs } = benchOptions(args.filter((a, i) => a !== "--warmup" && args[i - 1] !== "--warmup"), { runs: 1, warmup: 0 });
  const say = (line: string) => json || process.stderr.write(`${line}\n`);

  const processes = new ChildProcesses();
  try {
    ensureBuilt();
    const profileRoot = profile ? (option("--keep-profiles") ?? processes.tempDir("ringforge-bench-profiles-")) : undefined;
    const notes: string[] = [];
    const starters: { name: TargetName; start: (run: number) => Promise<Target> }[] = [
      { name: "ringforge", start: (run) => startRingforge(processes, sync, profileRoot && join(profileRoot, `run-${run}`)) },
    ];
    if (withPeers) {
      const etcd = etcdBinary();
      if (etcd) starters.push({ name: "etcd", start: () => startEtcd(processes, etcd) });
      else notes.push("etcd is not on the PATH, so it was skipped (Debian: apt-get install etcd-server)");
      starters.push({ name: "floor", start: () => startFloor(processes) });
    }
    // On standard error even with --json: a skipped peer should not go unnoticed.
    for (const note of notes) process.stderr.write(`note: ${note}\n`);

    const loads = new Map<TargetName, LoadResult[]>(starters.map((s) => [s.name, []]));
    const descriptions = new Map<TargetName, string>();
    for (let run = 1; run <= runs; run++) {
      for (const { name, start } of starters) {
        say(`run ${run} of ${runs}: ${name} (starting, loading, then the workload)...`);
        const target = await start(run);
        descriptions.set(name, target.description);
        try {
          const load = await runLoadProcess(processes, target);
          // On standard error even with --json: failures say what the figures leave out.
          for (const [kind, count] of Object.entries(load.failures)) process.stderr.write(`  ${name}: ${count} failed: ${kind}\n`);
          loads.get(name)!.push(load);
        } finally {
          await target.stop();
        }
      }
    }

    const targets = Object.fromEntries(
      starters.map(({ name }) => [name, summarizeTarget(descriptions.get(name)!, loads.get(name)!)]),
    ) as Partial<Record<TargetName, TargetSummary>>;
    const ours = targets.ringforge!;
    const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || !b ? null : Number((a / b).toFixed(3)));
    const ratios = {
      vsEtcd: ratio(ours.opsPerSecond, targets.etcd?.opsPerSecond),
      p99VsEtcd: ratio(ours.latencyMs.p99, targets.etcd?.latencyMs.p99),
      vsFloor: ratio(ours.opsPerSecond, targets.floor?.opsPerSecond),
    };

    let shares: Record<string, ProfileShares> | undefined;
    let top: { fn: string; share: number }[] | undefined;
    if (profileRoot) {
      // The profiles of ringforge's median run.
      const rates = loads.get("ringforge")!.map((l) => l.opsPerSecond);
      const medianRun = rates.indexOf([...rates].sort((a, b) => a - b)[Math.floor((rates.length - 1) / 2)]!) + 1;
      const dir = join(profileRoot, `run-${medianRun}`);
      shares = {};
      for (const file of (await readdir(dir)).filter((f) => f.endsWith(".cpuprofile")).sort()) {
        const parsed = sourceMappedProfile(JSON.parse(await readFile(join(dir, file), "utf8")) as CpuProfile);
        shares[file.replace(/\.cpuprofile$/, "")] = profileShares(parsed);
        top ??= topFunctions(parsed, 15);
      }
    }

    const workload = {
      name: "YCSB-A",
      reads: 0.5,
      updates: 0.5,
      zipfian: 0.99,
      records: number("--records", 10_000),
      valueBytes: number("--value-bytes", 100),
      concurrency: number("--concurrency", 32),
      client: client === "http" ? "node:http, keep-alive agent" : "web fetch (undici)",
      warmupSeconds: number("--warmup", 5),
      seconds: number("--duration", 20),
    };
    const machine = { cores: availableParallelism(), cpu: cpus()[0]?.model ?? "unknown", runtime: runtimeName() };
    if (json) {
      const report = {
        benchmark: "cluster",
        workload,
        machine,
        sync,
        runs,
        targets: { ringforge: ours, etcd: targets.etcd ?? null, floor: targets.floor ?? null },
        ratios,
        notes,
        ...(shares ? { profile: shares, topFunctionsN1: top } : {}),
      };
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      return;
    }

    const rows = Object.entries(targets) as [TargetName, TargetSummary][];
    const out: string[] = [
      `${workload.name}: 50% reads, 50% updates, zipfian 0.99 over ${figure(workload.records)} keys, ${workload.valueBytes}-byte values, ` +
      `${workload.concurrency} in flight over keep-alive (${workload.client}); ${workload.warmupSeconds} s warm-up, ` +
      `${workload.seconds} s measured` +
      (runs > 1 ? `; each figure the median of ${runs} runs` : "") +
      ` (${machine.cores} cores, ${machine.cpu}, ${machine.runtime})`,
      "",
      ...rows.map(([name, t]) => `- ${name}: ${t.description}`),
      ...notes.map((note) => `- ${note}`),
      "",
      "| target | ops/s | p50 ms | p99 ms | p999 ms | errors | ops/s of each run | spread | CPU µs/op |",
      "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
      ...rows.map(([name, t]) =>
        `| ${name} | ${figure(t.opsPerSecond)} | ${t.latencyMs.p50} | ${t.latencyMs.p99} | ${t.latencyMs.p999} | ${t.errors} | ` +
        `${t.runs.opsPerSecond.map(figure).join(", ")} | ${(t.runs.spread * 100).toFixed(0)}% | ${
          t.cpuUsPerOp === null ? "n/a" : figure(t.cpuUsPerOp)
        } |`
      ),
      "",
      "| target | operation | count | p50 ms | p99 ms | p999 ms |",
      "| --- | --- | --- | --- | --- | --- |",
      ...rows.flatMap(([name, t]) =>
        (["read", "update"] as const).map((op) => {
          const l = t.byOperation[op];
          return `| ${name} | ${op} | ${figure(l.count)} | ${l.p50} | ${l.p99} | ${l.p999} |`;
        })
      ),
    ];
    if (args.includes("--syscalls")) {
      out.push(
        "",
        "System calls per operation of each target's server processes, every thread (perf stat):",
        "",
        `| target | ${SYSCALLS.join(" | ")} |`,
        `| --- | ${SYSCALLS.map(() => "---").join(" | ")} |`,
        ...rows.map(([name, t]) =>
          `| ${name} | ${SYSCALLS.map((c) => (t.syscallsPerOp === null ? "n/a" : t.syscallsPerOp[c]!.toFixed(2))).join(" | ")} |`
        ),
      );
    }
    if (withPeers) {
      out.push(
        "",
        `ringforge over etcd: ops/s ${ratios.vsEtcd ?? "n/a"}, p99 ${ratios.p99VsEtcd ?? "n/a"}; ` +
          `ringforge over the floor: ops/s ${ratios.vsFloor ?? "n/a"}`,
      );
    }
    if (shares) {
      const names = Object.keys(shares).sort();
      const categories = [...new Set(Object.values(shares).flatMap((s) => Object.keys(s)))];
      out.push(
        "",
        "CPU time of each ringforge node process in its median run (share of non-idle samples):",
        "",
        `| where | ${names.join(" | ")} |`,
        `| --- | ${names.map(() => "---").join(" | ")} |`,
        ...categories.map((c) => `| ${c} | ${names.map((n) => `${((shares![n]![c] ?? 0) * 100).toFixed(1)}%`).join(" | ")} |`),
        "",
        "Most self time on n1:",
        "",
        "| function | share |",
        "| --- | --- |",
        ...(top ?? []).map(({ fn, share }) => `| ${fn} | ${(share * 100).toFixed(1)}% |`),
      );
    }
    process.stdout.write(`${out.join("\n")}\n`);
  } finally {
    processes.dispose();
  }
}

if (args.includes("--load")) await runLoad();
else await runParent();
