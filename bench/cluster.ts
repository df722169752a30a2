/**
 * A real cluster under load: YCSB workload A (50% reads, 50% updates, zipfian keys) from a
 * separate load process against three `ringforge start` processes (N=3 R=2 W=2) over loopback
 * HTTP with keep-alive. Prints ops/s and p50/p99/p999 latency per operation; with `--profile`
 * the nodes run under the V8 CPU profiler and the summary splits their CPU time by where it
 * went (framing and codec, HTTP, request handling, storage engine, ...).
 *
 *   npm run bench -- cluster [--records 10000] [--warmup 5] [--duration 20] [--concurrency 32]
 *                            [--value-bytes 100] [--sync always|interval|never] [--profile]
 *                            [--keep-profiles DIR] [--runs N] [--json]
 *
 * The nodes run the `ringforge cluster` default build (vector clocks, consistent hashing,
 * sloppy quorum, SWIM, LSM engine, Merkle anti-entropy), with the LSM commit log synced as
 * `--sync` says (default `always`, as `npm start` runs). An update writes back with the
 * context of the load process's last read or write of the key, as a Riak client does, so
 * concurrent updates to a hot key leave siblings that the next update resolves.
 *
 * `--runs N` (the shared harness's option, default 1) runs the load process N times against the
 * same cluster and reports the run with the median rate, and the spread of the rates.
 *
 * Node only (processes are started through tsx). Prints figures; never passes or fails on speed.
 *
 * @module
 */
import { type CpuProfile, type ProfileShares, profileShares, topFunctions } from "./profile.ts";
import { benchOptions, summarize } from "./harness.ts";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { RingforgeClient } from "../client/ringforge-client.ts";
import type { CausalContext } from "../core/model/causal-context.ts";
import { SeededRandom } from "../core/runtime/seeded-random.ts";
import { defaultClusterStore } from "../cli/local-cluster.ts";
import { ScrambledZipfian } from "../sim/zipfian.ts";
import { freePort } from "./free-port.ts";

const HERE = fileURLToPath(import.meta.url);
const ROOT = dirname(dirname(HERE));
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

/** What the load process reports. */
interface LoadResult {
  readonly seconds: number;
  readonly ops: number;
  readonly errors: number;
  readonly opsPerSecond: number;
  readonly latencyMs: Record<"read" | "update" | "all", { p50: number; p99: number; p999: number; count: number }>;
}

// ---- the load process ------------------------------------------------------------------------

async function runLoad(): Promise<void> {
  const urls = option("--urls")!.split(",");
  const records = number("--records", 10_000);
  const warmup = number("--warmup", 5);
  const duration = number("--duration", 20);
  const concurrency = number("--concurrency", 32);
  const valueBytes = number("--value-bytes", 100);
  const clients = urls.map((url) => new RingforgeClient(url));
  const contexts = new Map<string, CausalContext>();
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
      for (let i = next++; i < records; i = next++) {
        const result = await clients[(i + w) % clients.length]!.put(key(i), value(loadRandom));
        contexts.set(key(i), result.context);
      }
    }),
  );

  // Run phase: warm-up, then measure.
  const started = performance.now();
  const measureFrom = started + warmup * 1000;
  const end = measureFrom + duration * 1000;
  const latencies = { read: [] as number[], update: [] as number[] };
  let errors = 0;
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
          if (isRead) contexts.set(k, (await client.get(k)).context);
          else {
            const context = contexts.get(k);
            contexts.set(k, (await client.put(k, value(random), context ? { context } : {})).context);
          }
        } catch {
          if (t0 >= measureFrom) errors++;
          continue;
        }
        if (t0 >= measureFrom) (isRead ? latencies.read : latencies.update).push(performance.now() - t0);
      }
    }),
  );
  const summary = (list: number[]) => {
    const sorted = Float64Array.from(list).sort();
    const at = (q: number) => Number((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0).toFixed(2));
    return { p50: at(0.5), p99: at(0.99), p999: at(0.999), count: sorted.length };
  };
  const ops = latencies.read.length + latencies.update.length;
  const result: LoadResult = {
    seconds: duration,
    ops,
    errors,
    opsPerSecond: Math.round(ops / duration),
    latencyMs: { read: summary(latencies.read), update: summary(latencies.update), all: summary([...latencies.read, ...latencies.update]) },
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

// ---- the parent: cluster, load process, profile --------------------------------------------

async function waitReady(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`a node exited before it was ready:\n${log()}`);
    try {
      const response = await fetch(`${url}/status`);
      await response.body?.cancel();
      if (response.ok) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`node at ${url} not ready:\n${log()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function runParent(): Promise<void> {
  const json = args.includes("--json");
  const profile = args.includes("--profile");
  const sync = option("--sync") ?? "always";
  if (!["always", "interval", "never"].includes(sync)) throw new Error("--sync is always, interval or never");
  const dir = await mkdtemp(join(tmpdir(), "ringforge-bench-cluster-"));
  // --keep-profiles DIR leaves the .cpuprofile files there (open them in Chrome DevTools).
  const profileDir = option("--keep-profiles") ?? join(dir, "profiles");
  const store = defaultClusterStore(3);
  const children: ChildProcess[] = [];
  try {
    const ids = ["n1", "n2", "n3"];
    const peers = [] as string[];
    const clients = [] as string[];
    for (let i = 0; i < 3; i++) {
      peers.push(`127.0.0.1:${await freePort()}`);
      clients.push(`127.0.0.1:${await freePort()}`);
    }
    let log = "";
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
      const flags = profile ? ["--cpu-prof", "--cpu-prof-dir", profileDir, "--cpu-prof-name", `${id}.cpuprofile`] : [];
      const child = spawn(process.execPath, [...flags, "--import", "tsx", join(ROOT, "cli/main.ts"), "start", "--config", file], {
        cwd: ROOT,
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, RINGFORGE_SECRET: "bench-cluster-secret-0123456789" },
      });
      child.stdout!.on("data", (d) => (log += d));
      child.stderr!.on("data", (d) => (log += d));
      children.push(child);
    }
    await Promise.all(clients.map((c, i) => waitReady(`http://${c}`, children[i]!, () => log)));
    if (!json) process.stderr.write(`cluster up (sync ${sync}); loading and running YCSB-A from a separate process...\n`);
    const passThrough = ["--records", "--warmup", "--duration", "--concurrency", "--value-bytes"].flatMap((name) => {
      const value = option(name);
      return value === undefined ? [] : [name, value];
    });
    // `--runs N` (the shared harness's option) runs the load process N times against the same
    // cluster; the figures are the run with the median rate, and the rates' spread.
    // (This bench's own `--warmup` is seconds of load before measuring, not warm-up runs.)
    const { runs } = benchOptions(args.filter((a, i) => a !== "--warmup" && args[i - 1] !== "--warmup"), { runs: 1, warmup: 0 });
    const loads: LoadResult[] = [];
    for (let run = 1; run <= runs; run++) {
      if (!json && runs > 1) process.stderr.write(`load run ${run} of ${runs}...\n`);
      const load = spawn(process.execPath, [
        "--import",
        "tsx",
        HERE,
        "--load",
        "--urls",
        clients.map((c) => `http://${c}`).join(","),
        ...passThrough,
      ], {
        cwd: ROOT,
        stdio: ["ignore", "pipe", "inherit"],
      });
      let out = "";
      load.stdout!.on("data", (d) => (out += d));
      const code = await new Promise<number | null>((resolve) => load.once("exit", resolve));
      if (code !== 0) throw new Error(`the load process failed (exit ${code})\n${log}`);
      loads.push(JSON.parse(out.trim().split("\n").pop()!) as LoadResult);
    }
    const rate = summarize("YCSB-A", "ops/s", loads.map((l) => l.opsPerSecond));
    const result = [...loads].sort((a, b) => a.opsPerSecond - b.opsPerSecond)[Math.floor((loads.length - 1) / 2)]!;

    for (const child of children) child.kill("SIGTERM");
    await Promise.all(children.map((c) => new Promise((resolve) => (c.exitCode !== null ? resolve(null) : c.once("exit", resolve)))));
    let shares: Record<string, ProfileShares> | undefined;
    let top: { fn: string; share: number }[] | undefined;
    if (profile) {
      shares = {};
      for (const file of (await readdir(profileDir)).filter((f) => f.endsWith(".cpuprofile")).sort()) {
        const parsed = JSON.parse(await readFile(join(profileDir, file), "utf8")) as CpuProfile;
        shares[file.replace(/\.cpuprofile$/, "")] = profileShares(parsed);
        top ??= topFunctions(parsed, 15);
      }
    }
    const report = {
      benchmark: "cluster",
      workload: "YCSB-A",
      nodes: 3,
      replication: store.replication,
      sync,
      ...result,
      runs: { count: runs, opsPerSecond: rate.values, medianOpsPerSecond: rate.median, spread: rate.spread },
      ...(shares ? { profile: shares, topFunctionsN1: top } : {}),
    };
    if (json) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      return;
    }
    const l = result.latencyMs;
    process.stdout.write(
      `YCSB-A (50% read, 50% update, zipfian) against 3 node processes, N=3 R=2 W=2, LSM sync ${sync}\n` +
        `${result.opsPerSecond} ops/s over ${result.seconds} s (${result.ops} ops, ${result.errors} errors)` +
        (runs > 1 ? `; the median of ${runs} runs, whose rates spread ${(rate.spread * 100).toFixed(0)}%` : "") +
        `\n\n` +
        `| operation | count | p50 ms | p99 ms | p999 ms |\n| --- | --- | --- | --- | --- |\n` +
        (["read", "update", "all"] as const).map((op) => `| ${op} | ${l[op].count} | ${l[op].p50} | ${l[op].p99} | ${l[op].p999} |\n`).join(
          "",
        ),
    );
    if (shares) {
      process.stdout.write("\nCPU time of each node process (share of non-idle samples):\n\n");
      const categories = [...new Set(Object.values(shares).flatMap((s) => Object.keys(s)))];
      const names = Object.keys(shares).sort();
      process.stdout.write(`| where | ${names.join(" | ")} |\n| --- | ${names.map(() => "---").join(" | ")} |\n`);
      for (const c of categories) {
        process.stdout.write(`| ${c} | ${names.map((n) => `${((shares![n]![c] ?? 0) * 100).toFixed(1)}%`).join(" | ")} |\n`);
      }
      process.stdout.write("\nMost self time on n1:\n\n| function | share |\n| --- | --- |\n");
      for (const { fn, share } of top ?? []) process.stdout.write(`| ${fn} | ${(share * 100).toFixed(1)}% |\n`);
    }
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
    await rm(dir, { recursive: true, force: true });
  }
}

if (args.includes("--load")) await runLoad();
else await runParent();
