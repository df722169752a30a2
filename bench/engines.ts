/**
 * Storage-engine speed: the memory engine, the LSM engine and LevelDB (classic-level, through
 * the level engine) under LevelDB's db_bench workloads — 16-byte keys, 100-byte values,
 * 1,000,000 keys by default — in ops/s, with each engine's peak RSS while loading.
 *
 *   npm run bench -- engines [--keys 1000000] [--reads 50000] [--awaited-writes 100000]
 *                            [--engines memory,lsm,level,lsm-never] [--max-heap MiB] [--no-settle]
 *                            [--runs N] [--json]
 *
 * Workloads, in order, per engine:
 * - fillseq / fillrandom, each into a fresh database, as `batch` calls of 1,000 puts (every
 *   key) and awaited one put at a time, as an application writes (the first `--awaited-writes`
 *   keys of the same order); the last fill (fillrandom, batched) is the dataset the reads use,
 *   reopened first so reads go to the engine's files; the LSM engine first finishes the
 *   compaction the load left owed (`settle`, timed and printed apart, so the reads measure the
 *   finished shape of the tree; LevelDB is read while its thread compacts; `--no-settle` reads
 *   during the LSM engine's backlog too);
 * - readrandom hot: keys from a window of consecutive keys whose data is half the block cache,
 *   read once untimed to fill the cache, then timed; cold: keys across the whole dataset (far
 *   larger than 10x the memtable); readmissing: absent keys that sort between present ones, so
 *   only Bloom filters (or block reads) rule them out; all awaited one at a time;
 * - scan: one full ordered scan, entries/s;
 * - ycsb-a (during compaction): YCSB's workload A against the engine alone, right after the
 *   dataset is reopened and before `settle`, so the LSM engine serves it while it compacts what
 *   the load left owed (as LevelDB does in its thread): `--reads` operations, half gets and half
 *   puts of a new value, keys zipfian (0.99, scrambled) over the dataset, awaited one at a time;
 *   ops/s and each operation's latency (p50, p99, max).
 *
 * Memory, besides peak RSS: what the loaded dataset holds. Before the last fill (fillrandom,
 * batched), right after it, and after the scan, the child runs a full garbage collection
 * (`--expose-gc`) and reads `process.memoryUsage()`. The growth of `heapUsed + external` (V8's
 * heap plus the ArrayBuffers and other memory V8 knows is held outside it) is what the engine
 * holds for the dataset, printed per raw key+value byte (16 + 100 bytes a key). That is the
 * whole story for the memory engine. classic-level's memtable and cache live in LevelDB's own
 * allocations, which only RSS shows, so RSS after the load over RSS before the first fill is
 * printed beside it (an upper bound: V8 keeps some pages of the earlier fills).
 *
 * Each engine runs in its own child process (this file with `--engine NAME --child`) so its
 * RSS is its own and one engine's garbage never slows the next; the parent runs them one after
 * another (never two at once on a 2-core machine) and collects their JSON. Each child warms up
 * on a scratch database first and works in its own temp directory, deleted afterwards. With
 * `--runs N` (the shared harness's option; default 1, each run is minutes of disk I/O) every
 * engine runs N times and each figure is the median, with its spread. Node only (children are
 * spawned through tsx). Prints figures; never passes or fails on speed.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import process from "node:process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { BatchOperation, StorageEngine } from "../core/interfaces/storage-engine.ts";
import { SeededRandom } from "../core/runtime/seeded-random.ts";
import { ScrambledZipfian } from "../sim/zipfian.ts";
import { benchOptions, summarize } from "./harness.ts";

const KEY_BYTES = 16;
/** The name of the YCSB-A workload. */
const YCSB = "ycsb-a (during compaction)";
const VALUE_BYTES = 100;
const BATCH_SIZE = 1000;
const WARMUP_OPS = 5000;
const MIB = 1024 * 1024;
const HERE = fileURLToPath(import.meta.url);
const ROOT = dirname(dirname(HERE));

// ---- options ---------------------------------------------------------------------------------

const args = process.argv.slice(2);

function option(name: string): string | undefined {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
}

function count(name: string, fallback: number): number {
  const text = option(name);
  if (text === undefined) return fallback;
  const n = Number(text.replaceAll("_", ""));
  if (!Number.isSafeInteger(n) || n < 1) {
    console.error(`${name} must be a positive integer, got ${JSON.stringify(text)}`);
    process.exit(2);
  }
  return n;
}

const keys = count("--keys", 1_000_000);
// Awaited writes and reads cost a round trip each (a thread-pool hop for classic-level): at
// these counts the default run (1M keys, three engines) stays under 3 minutes on 2 cores.
const reads = count("--reads", 50_000);
const awaitedWrites = Math.min(keys, count("--awaited-writes", 100_000));
const { json, runs } = benchOptions(args, { runs: 1, warmup: 0 });
// With --max-heap MiB each child runs with V8's old space capped (and 2 MiB semi-spaces), which
// shows how much of the RSS is the engine and how much V8's headroom for garbage.
const maxHeap = option("--max-heap") === undefined ? undefined : count("--max-heap", 0);

// ---- engines -----------------------------------------------------------------------------------

/** An engine under test, with the memory it is configured to use, for the RSS report. */
interface EngineSpec {
  /** Column heading. */
  readonly label: string;
  /** Configuration in a few words. */
  readonly config: string;
  /** Configured memtable (write buffer) bytes, if the engine has one. */
  readonly memtableBytes?: number;
  /** Configured block cache bytes, if the engine has one. */
  readonly cacheBytes?: number;
  /** Creates an engine keeping its files in `directory`. Engine code loads only in the child. */
  create(directory: string): Promise<StorageEngine>;
}

// Defaults of both persistent engines: 4 MiB memtable / write buffer, 8 MiB block cache.
const ENGINES: Record<string, EngineSpec> = {
  memory: {
    label: "memory",
    config: "in-heap ordered map",
    async create() {
      const { MemoryEngine } = await import("../plugins/engines/memory.ts");
      return new MemoryEngine();
    },
  },
  lsm: {
    label: "lsm",
    config: 'sync "interval" (1 s), defaults',
    memtableBytes: 4 * MIB,
    cacheBytes: 8 * MIB,
    async create(directory) {
      const { LsmEngine } = await import("../plugins/engines/lsm/index.ts");
      const { systemScheduler } = await import("../core/runtime/system-runtime.ts");
      return new LsmEngine({ directory, sync: "interval" }, systemScheduler);
    },
  },
  "lsm-never": {
    label: "lsm (sync never)",
    config: 'sync "never", defaults',
    memtableBytes: 4 * MIB,
    cacheBytes: 8 * MIB,
    async create(directory) {
      const { LsmEngine } = await import("../plugins/engines/lsm/index.ts");
      const { systemScheduler } = await import("../core/runtime/system-runtime.ts");
      return new LsmEngine({ directory, sync: "never" }, systemScheduler);
    },
  },
  level: {
    label: "classic-level",
    config: "LevelDB defaults (sync: false, snappy)",
    memtableBytes: 4 * MIB, // classic-level's writeBufferSize default
    cacheBytes: 8 * MIB, // classic-level's cacheSize default
    async create(directory) {
      const { LevelEngine } = await import("../plugins/engines/level.ts");
      return new LevelEngine({ location: directory });
    },
  },
};

// lsm-never (no fsync at all) is optional: `--engines memory,lsm,level,lsm-never`.
const engineNames = (option("--engines") ?? "memory,lsm,level").split(",").filter(Boolean);
for (const name of engineNames) {
  if (!(name in ENGINES)) {
    console.error(`unknown engine "${name}"; known: ${Object.keys(ENGINES).join(", ")}`);
    process.exit(2);
  }
}

// ---- data --------------------------------------------------------------------------------------

/**
 * Key `i` as 16 ASCII bytes: 15 decimal digits and a suffix. Present keys end in "+", missing
 * ones in "." — which sorts after "+" — so a missing key falls between two present ones and no
 * key-range check can rule it out. A fresh array per call, as an application's would be.
 */
function makeKey(i: number, missing = false): Uint8Array {
  const key = new Uint8Array(KEY_BYTES);
  key[KEY_BYTES - 1] = missing ? 0x2e : 0x2b;
  for (let at = KEY_BYTES - 2; at >= 0; at--) {
    key[at] = 0x30 + (i % 10);
    i = Math.floor(i / 10);
  }
  return key;
}

function shuffled(n: number, seed: number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const random = seeded(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

// Incompressible values (LevelDB compresses with snappy; random bytes give it no advantage).
const VALUE_POOL = (() => {
  const random = seeded(7);
  const pool = new Uint8Array(MIB + VALUE_BYTES);
  for (let i = 0; i < pool.length; i++) pool[i] = Math.floor(random() * 256);
  return pool;
})();

function makeValue(i: number): Uint8Array {
  const at = (i * 7919) % MIB;
  return VALUE_POOL.subarray(at, at + VALUE_BYTES);
}

// ---- child: run one engine -------------------------------------------------------------------

/** Figures of one timed workload. */
interface Measurement {
  readonly ops: number;
  readonly ms: number;
  readonly opsPerSecond: number;
  /** Latency per operation, µs (workloads that time each operation). */
  readonly latencyUs?: LatencyUs;
}

/** Latency percentiles of one workload's operations, µs. */
interface LatencyUs {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/** What a child reports about its engine. */
interface EngineResult {
  readonly engine: string;
  readonly workloads: Record<string, Measurement>;
  /** Peak RSS while running the four fills, bytes. */
  readonly peakLoadRss: number;
  /** RSS after the warm-up, before the first fill, bytes. */
  readonly baselineRss: number;
  /** Growth, after a full GC, of what the process holds over the last fill (the dataset). */
  readonly held: {
    /** `heapUsed + external` growth right after the fill, bytes. */
    readonly afterLoad: number;
    /** The same after the reads and the full scan (which builds the memory engine's key order). */
    readonly afterScan: number;
    /** RSS right after the fill over RSS before the first fill (pages freed since may still count), bytes. */
    readonly rssAfterLoad: number;
  };
  /** Peak RSS over the whole child, bytes. */
  readonly peakRss: number;
  /** Time to close each filled database (flushing what the engine still buffers), ms. */
  readonly closeMs: Record<string, number>;
  /** Engine counters, where the engine keeps them (LSM). */
  readonly stats?: unknown;
  /**
   * Time the reopened dataset took to finish the compaction the load left owed, before the
   * reads, ms (engines that can say when they are done: LSM). LevelDB is read while it compacts.
   */
  readonly settleMs?: number;
  /** Whether a flush or compaction ran when YCSB-A started and when it ended (engines that say: LSM). */
  readonly compactingDuringYcsb?: { readonly atStart: boolean; readonly atEnd: boolean };
  /** Where the engine's flushes and compactions ran: "worker" threads or "inline" (LSM). */
  readonly compactionMode?: string;
}

function send(message: unknown): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

let peak = 0;
function sampleRss(): void {
  const rss = process.memoryUsage.rss();
  if (rss > peak) peak = rss;
}

let progressAt = 0;
/** Called every 4,096 ops: samples RSS (timers starve under awaited in-memory ops) and reports progress. */
function checkpoint(workload: string, done: number, total: number): void {
  sampleRss();
  const now = performance.now();
  if (now - progressAt >= 250) {
    progressAt = now;
    send({ type: "progress", workload, done, total });
  }
}

const collectGarbage = (globalThis as { gc?: () => void }).gc ?? (() => {});

/** What the process holds after a full garbage collection (two: finalizers may free more). */
function heldNow(): { held: number; rss: number } {
  collectGarbage();
  collectGarbage();
  const usage = process.memoryUsage();
  return { held: usage.heapUsed + usage.external, rss: usage.rss };
}

function measure(ops: number, started: number): Measurement {
  const ms = performance.now() - started;
  return { ops, ms: Math.round(ms), opsPerSecond: Math.round((ops / ms) * 1000) };
}

/** Puts the first `ops` keys of `order` (or of key order) into a fresh database. */
async function fill(
  engine: StorageEngine,
  name: string,
  order: Uint32Array | undefined,
  batched: boolean,
  ops: number,
): Promise<Measurement> {
  send({ type: "progress", workload: name, done: 0, total: ops });
  const started = performance.now();
  if (batched) {
    for (let from = 0; from < ops; from += BATCH_SIZE) {
      const to = Math.min(ops, from + BATCH_SIZE);
      const batch: BatchOperation[] = [];
      for (let n = from; n < to; n++) {
        const i = order ? order[n]! : n;
        batch.push({ type: "put", key: makeKey(i), value: makeValue(i) });
      }
      await engine.batch(batch);
      if ((from / BATCH_SIZE) % 4 === 0) checkpoint(name, to, ops);
    }
  } else {
    for (let n = 0; n < ops; n++) {
      const i = order ? order[n]! : n;
      await engine.put(makeKey(i), makeValue(i));
      if ((n & 4095) === 0) checkpoint(name, n, ops);
    }
  }
  return measure(ops, started);
}

/** Awaited gets of `pick(n)` for n < ops; counts how many were found. */
async function readMany(
  engine: StorageEngine,
  name: string,
  ops: number,
  key: (n: number) => Uint8Array,
): Promise<{ measurement: Measurement; found: number }> {
  send({ type: "progress", workload: name, done: 0, total: ops });
  let found = 0;
  const started = performance.now();
  for (let n = 0; n < ops; n++) {
    if ((await engine.get(key(n))) !== undefined) found++;
    if ((n & 4095) === 0) checkpoint(name, n, ops);
  }
  return { measurement: measure(ops, started), found };
}

/**
 * YCSB-A against the engine: `ops` operations, half gets and half puts (a new value each), keys
 * zipfian (0.99, scrambled) over the `keys` loaded, awaited one at a time, each timed.
 */
async function ycsbA(engine: StorageEngine, name: string, ops: number): Promise<Measurement> {
  send({ type: "progress", workload: name, done: 0, total: ops });
  const random = new SeededRandom(13);
  const zipf = new ScrambledZipfian(keys, random);
  const times = new Float64Array(ops);
  const started = performance.now();
  for (let n = 0; n < ops; n++) {
    const i = zipf.next();
    const read = random.next() < 0.5;
    const t = performance.now();
    if (read) await engine.get(makeKey(i));
    else await engine.put(makeKey(i), makeValue(i + n + 1));
    times[n] = performance.now() - t;
    if ((n & 4095) === 0) checkpoint(name, n, ops);
  }
  const measurement = measure(ops, started);
  times.sort();
  const at = (q: number) => Math.round(times[Math.min(ops - 1, Math.floor(q * ops))]! * 1000);
  return { ...measurement, latencyUs: { p50: at(0.5), p99: at(0.99), max: Math.round(times[ops - 1]! * 1000) } };
}

async function warmUp(spec: EngineSpec, directory: string): Promise<void> {
  const engine = await spec.create(directory);
  await engine.open();
  const order = shuffled(WARMUP_OPS, 3);
  for (let n = 0; n < WARMUP_OPS; n++) await engine.put(makeKey(order[n]!), makeValue(n));
  for (let from = 0; from < WARMUP_OPS; from += 500) {
    const ops: BatchOperation[] = [];
    for (let n = from; n < from + 500; n++) ops.push({ type: "put", key: makeKey(n), value: makeValue(n) });
    await engine.batch(ops);
  }
  for (let n = 0; n < WARMUP_OPS; n++) await engine.get(makeKey(order[n]!, n % 2 === 1));
  for await (const _ of engine.scan()) void _;
  await engine.close();
  await rm(directory, { recursive: true, force: true });
}

async function runChild(name: string, root: string): Promise<EngineResult> {
  const spec = ENGINES[name]!;
  const timer = setInterval(sampleRss, 100);
  try {
    await warmUp(spec, join(root, "warmup"));
    collectGarbage();
    const baselineRss = process.memoryUsage.rss();
    peak = baselineRss;

    const workloads: Record<string, Measurement> = {};
    const closeMs: Record<string, number> = {};
    const random = shuffled(keys, 1);
    const fills = [
      { workload: "fillseq (awaited)", order: undefined, batched: false },
      { workload: "fillseq (batch 1000)", order: undefined, batched: true },
      { workload: "fillrandom (awaited)", order: random, batched: false },
      { workload: "fillrandom (batch 1000)", order: random, batched: true },
    ];
    let engine: StorageEngine | undefined;
    let dataset = "";
    let before = { held: 0, rss: 0 };
    let afterLoad = { held: 0, rss: 0 };
    for (const [index, f] of fills.entries()) {
      const last = index === fills.length - 1;
      if (last) before = heldNow();
      const directory = join(root, `db${index}`);
      engine = await spec.create(directory);
      await engine.open();
      workloads[f.workload] = await fill(engine, f.workload, f.order, f.batched, f.batched ? keys : awaitedWrites);
      if (last) afterLoad = heldNow();
      // The memory engine releases its data on close: keep the last one open for the reads.
      if (last && !engine.capabilities.persistent) break;
      const started = performance.now();
      await engine.close();
      closeMs[f.workload] = Math.round(performance.now() - started);
      if (last) dataset = directory;
      else {
        engine = undefined;
        await rm(directory, { recursive: true, force: true });
        collectGarbage();
      }
    }
    const peakLoadRss = peak;

    if (dataset !== "") {
      engine = await spec.create(dataset);
      await engine.open();
    }
    const db = engine!;
    // YCSB-A first, while the LSM engine still owes the load's compaction (LevelDB compacts in
    // its own thread meanwhile): the p99 shows what a request waits behind compaction.
    // Whether the engine's compaction ran during the workload (LSM: in its worker thread, or on
    // this one with compactionThread "inline"; the workload's own puts fill less than a
    // memtable, so none of it is theirs).
    const busy = () => (db as { busy?: boolean }).busy;
    const busyBefore = busy();
    workloads[YCSB] = await ycsbA(db, YCSB, reads);
    const compactingDuringYcsb = busyBefore === undefined ? undefined : { atStart: busyBefore, atEnd: busy()! };
    // The LSM engine compacts on this thread: let it finish what the load left owed, so the
    // reads measure the read path, not reads competing with a compaction backlog (timed apart).
    let settleMs: number | undefined;
    const settle = (db as { settle?: () => Promise<void> }).settle;
    if (settle && !args.includes("--no-settle")) {
      const started = performance.now();
      await settle.call(db);
      settleMs = Math.round(performance.now() - started);
    }

    // Hot: a window of consecutive keys holding half the block cache's worth of data (or
    // 10,000 keys where there is no cache), read once to fill the cache, then timed.
    const perEntry = KEY_BYTES + VALUE_BYTES + 8;
    const window = Math.min(keys, spec.cacheBytes ? Math.floor(spec.cacheBytes / 2 / perEntry) : 10_000);
    const windowStart = Math.floor(seeded(11)() * (keys - window + 1));
    const hotRandom = seeded(5);
    const hot = new Uint32Array(reads);
    for (let n = 0; n < reads; n++) hot[n] = windowStart + Math.floor(hotRandom() * window);
    for (let i = windowStart; i < windowStart + window; i++) await db.get(makeKey(i));
    const coldRandom = seeded(9);
    const cold = new Uint32Array(reads);
    for (let n = 0; n < reads; n++) cold[n] = Math.floor(coldRandom() * keys);

    const checks: [string, number, number][] = [];
    const hotRun = await readMany(db, "readrandom hot", reads, (n) => makeKey(hot[n]!));
    workloads["readrandom hot"] = hotRun.measurement;
    checks.push(["readrandom hot", hotRun.found, reads]);
    const coldRun = await readMany(db, "readrandom cold", reads, (n) => makeKey(cold[n]!));
    workloads["readrandom cold"] = coldRun.measurement;
    checks.push(["readrandom cold", coldRun.found, reads]);
    const missingRun = await readMany(db, "readmissing", reads, (n) => makeKey(cold[n]!, true));
    workloads["readmissing"] = missingRun.measurement;
    checks.push(["readmissing", missingRun.found, 0]);

    send({ type: "progress", workload: "scan", done: 0, total: keys });
    let scanned = 0;
    const started = performance.now();
    for await (const _ of db.scan()) {
      void _;
      if ((++scanned & 4095) === 0) checkpoint("scan", scanned, keys);
    }
    workloads["scan"] = measure(scanned, started);
    checks.push(["scan", scanned, keys]);

    const afterScan = heldNow();
    const stats = (db as { stats?: unknown }).stats;
    await db.close();
    for (const [workload, got, expected] of checks) {
      if (got !== expected) throw new Error(`${name}: ${workload} found ${got} keys, expected ${expected}`);
    }
    return {
      engine: name,
      workloads,
      peakLoadRss,
      baselineRss,
      held: { afterLoad: afterLoad.held - before.held, afterScan: afterScan.held - before.held, rssAfterLoad: afterLoad.rss - baselineRss },
      peakRss: peak,
      closeMs,
      ...(settleMs !== undefined && { settleMs }),
      ...(compactingDuringYcsb !== undefined && { compactingDuringYcsb }),
      ...((db as { compactionMode?: string }).compactionMode !== undefined && {
        compactionMode: (db as { compactionMode?: string }).compactionMode,
      }),
      ...(stats !== undefined && { stats: JSON.parse(JSON.stringify(stats)) }),
    };
  } finally {
    clearInterval(timer);
  }
}

// ---- parent: run every engine in its own process, then report --------------------------------

function runInChild(name: string, root: string, onProgress: (message: Progress) => void): Promise<EngineResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        "--expose-gc",
        ...(maxHeap === undefined ? [] : [`--max-old-space-size=${maxHeap}`, "--max-semi-space-size=2"]),
        "--import",
        "tsx",
        HERE,
        "--child",
        "--engine",
        name,
        "--dir",
        root,
        "--keys",
        String(keys),
        "--reads",
        String(reads),
        "--awaited-writes",
        String(awaitedWrites),
        ...(args.includes("--no-settle") ? ["--no-settle"] : []),
      ],
      { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] },
    );
    let result: EngineResult | undefined;
    let failure: string | undefined;
    createInterface({ input: child.stdout }).on("line", (line) => {
      let message: { type?: string } & Record<string, unknown>;
      try {
        message = JSON.parse(line);
      } catch {
        process.stderr.write(`${line}\n`);
        return;
      }
      if (message.type === "progress") onProgress(message as unknown as Progress);
      else if (message.type === "result") result = message.result as EngineResult;
      else if (message.type === "error") failure = String(message.error);
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (result) resolve(result);
      else reject(new Error(`engine ${name}: ${failure ?? `child exited with code ${code}`}`));
    });
  });
}

interface Progress {
  readonly workload: string;
  readonly done: number;
  readonly total: number;
}

const WORKLOADS = [
  "fillseq (awaited)",
  "fillseq (batch 1000)",
  "fillrandom (awaited)",
  "fillrandom (batch 1000)",
  "readrandom hot",
  "readrandom cold",
  "readmissing",
  "scan",
  YCSB,
];

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const mib = (bytes: number) => `${(bytes / MIB).toFixed(0)} MiB`;

function table(results: Record<string, EngineResult>): string {
  const names = engineNames.filter((n) => results[n]);
  const ratio = results.lsm && results.level;
  const head = ["workload", "ops", ...names.map((n) => `${ENGINES[n]!.label} ops/s`), ...(ratio ? ["lsm ÷ level"] : [])];
  const rows = WORKLOADS.map((w) => {
    const ops = results[names[0]!]!.workloads[w]!.ops;
    const cells = names.map((n) => {
      const spread = (results[n] as { spread?: Record<string, number> }).spread?.[w];
      return int(results[n]!.workloads[w]!.opsPerSecond) +
        (runs > 1 && spread !== undefined ? ` (±${((spread * 100) / 2).toFixed(0)}%)` : "");
    });
    const extra = ratio ? [`${(results.lsm!.workloads[w]!.opsPerSecond / results.level!.workloads[w]!.opsPerSecond).toFixed(2)}x`] : [];
    return [w, int(ops), ...cells, ...extra];
  });
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  const rule = line(head.map((_, i) => (i < 1 ? "---" : "---:")));
  return [line(head), rule, ...rows.map(line)].join("\n");
}

/** Each engine's latency per YCSB-A operation (medians of the runs' percentiles with `--runs`). */
function latencyTable(results: Record<string, EngineResult>): string {
  const lines = [
    `| engine | ${YCSB} ops/s | p50 µs | p99 µs | max µs |`,
    "| --- | ---: | ---: | ---: | ---: |",
  ];
  for (const n of engineNames.filter((name) => results[name])) {
    const w = results[n]!.workloads[YCSB]!;
    const l = w.latencyUs!;
    lines.push(`| ${ENGINES[n]!.label} | ${int(w.opsPerSecond)} | ${int(l.p50)} | ${int(l.p99)} | ${int(l.max)} |`);
  }
  return lines.join("\n");
}

/** Whether compaction ran through YCSB-A, in words. */
function compacting(during: EngineResult["compactingDuringYcsb"]): string {
  if (!during) return "not reported";
  return during.atStart && during.atEnd
    ? "ran from start to end"
    : during.atStart
    ? "ran at the start"
    : during.atEnd
    ? "ran at the end"
    : "did not run";
}

/** Raw bytes of the dataset: every key and value. */
const rawBytes = keys * (KEY_BYTES + VALUE_BYTES);
const perRawByte = (bytes: number) => (bytes / rawBytes).toFixed(2);

function memoryTable(results: Record<string, EngineResult>): string {
  const lines = [
    "| engine | peak RSS while loading | RSS before loading | configured memtable + block cache | held after load (heap + external) | per raw byte | after scan, per raw byte | RSS after load over before, per raw byte |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const n of engineNames.filter((name) => results[name])) {
    const spec = ENGINES[n]!;
    const r = results[n]!;
    const configured = spec.memtableBytes === undefined
      ? "n/a (all data in heap)"
      : `${mib(spec.memtableBytes)} + ${mib(spec.cacheBytes ?? 0)}`;
    lines.push(
      `| ${spec.label} | ${mib(r.peakLoadRss)} | ${mib(r.baselineRss)} | ${configured} | ${mib(r.held.afterLoad)} | ` +
        `${perRawByte(r.held.afterLoad)} | ${perRawByte(r.held.afterScan)} | ${perRawByte(r.held.rssAfterLoad)} |`,
    );
  }
  return lines.join("\n");
}

/**
 * One result per engine from several runs (`--runs`): each workload's rate is the median of the
 * runs (its spread kept beside it), memory the largest seen, the rest from the first run.
 */
function combine(runsOf: readonly EngineResult[]): EngineResult & { readonly spread: Record<string, number> } {
  const first = runsOf[0]!;
  const workloads: Record<string, Measurement> = {};
  const spread: Record<string, number> = {};
  for (const w of Object.keys(first.workloads)) {
    const s = summarize(w, "ops/s", runsOf.map((r) => r.workloads[w]!.opsPerSecond));
    const latencies = runsOf.map((r) => r.workloads[w]!.latencyUs).filter((l) => l !== undefined);
    const median = (pick: (l: LatencyUs) => number) => summarize(w, "µs", latencies.map(pick)).median;
    workloads[w] = {
      ...first.workloads[w]!,
      opsPerSecond: s.median,
      ...(latencies.length > 0 ? { latencyUs: { p50: median((l) => l.p50), p99: median((l) => l.p99), max: median((l) => l.max) } } : {}),
    };
    spread[w] = s.spread;
  }
  return {
    ...first,
    workloads,
    spread,
    peakLoadRss: Math.max(...runsOf.map((r) => r.peakLoadRss)),
    held: {
      afterLoad: Math.max(...runsOf.map((r) => r.held.afterLoad)),
      afterScan: Math.max(...runsOf.map((r) => r.held.afterScan)),
      rssAfterLoad: Math.max(...runsOf.map((r) => r.held.rssAfterLoad)),
    },
    peakRss: Math.max(...runsOf.map((r) => r.peakRss)),
  };
}

async function runParent(): Promise<void> {
  const started = performance.now();
  const tty = process.stderr.isTTY && !json;
  const results: Record<string, EngineResult & { readonly spread: Record<string, number> }> = {};
  for (const name of engineNames) {
    const engineStarted = performance.now();
    const runsOf: EngineResult[] = [];
    for (let run = 1; run <= runs; run++) {
      const root = await mkdtemp(join(tmpdir(), `ringforge-bench-${name}-`));
      try {
        runsOf.push(
          await runInChild(name, root, (p) => {
            if (!tty) return;
            const percent = p.total > 0 ? Math.floor((p.done / p.total) * 100) : 0;
            const of = runs > 1 ? ` (run ${run} of ${runs})` : "";
            process.stderr.write(`\r\x1b[K${ENGINES[name]!.label}${of}: ${p.workload} ${percent}%`);
          }),
        );
      } finally {
        if (tty) process.stderr.write("\r\x1b[K");
        await rm(root, { recursive: true, force: true });
      }
    }
    results[name] = combine(runsOf);
    if (!json) {
      console.error(`${ENGINES[name]!.label}: done in ${((performance.now() - engineStarted) / 1000).toFixed(1)} s`);
    }
  }
  const wallMs = Math.round(performance.now() - started);
  const runtime = `node ${process.version}`;

  const report = {
    benchmark: "engines",
    runtime,
    keys,
    keyBytes: KEY_BYTES,
    valueBytes: VALUE_BYTES,
    batchSize: BATCH_SIZE,
    reads,
    awaitedWrites,
    runs,
    wallMs,
    rawBytes,
    engines: Object.fromEntries(engineNames.map((n) => [n, { config: ENGINES[n]!.config, ...results[n] }])),
  };
  const folder = join(ROOT, "bench", "results");
  await mkdir(folder, { recursive: true });
  // Results are per machine: keep the folder out of git without touching the root .gitignore.
  await writeFile(join(folder, ".gitignore"), "*\n");
  const file = join(folder, "engines-latest.json");
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);

  if (json) {
    console.log(JSON.stringify(report, null, 2));
    return;
  }
  const datasetMiB = (keys * (KEY_BYTES + VALUE_BYTES)) / MIB;
  console.log(
    `storage engines, ${int(keys)} keys of ${KEY_BYTES} B with ${VALUE_BYTES} B values ` +
      `(${datasetMiB.toFixed(0)} MiB of data; the memtable is 4 MiB), ${runtime}, one child process per engine`,
  );
  console.log(
    `fills: each into a fresh database, batched ones with every key, awaited ones with the first ` +
      `${int(awaitedWrites)}; reads: ${int(reads)} awaited gets each, on the database fillrandom (batch) left, reopened; ` +
      `hot: a window of consecutive keys holding half the 8 MiB block cache; cold: uniform over all keys; ` +
      `readmissing: absent keys between present ones; scan: one full ordered pass`,
  );
  for (const n of engineNames) console.log(`- ${ENGINES[n]!.label}: ${ENGINES[n]!.config}`);
  console.log("");
  console.log(table(results));
  console.log("");
  console.log(latencyTable(results));
  console.log("");
  console.log(memoryTable(results));
  if (results.memory) {
    const held = results.memory.held;
    const figures = [
      `${perRawByte(held.afterScan)} once a scan has built its key order`,
      `RSS after the load over RSS before the first fill: ${perRawByte(held.rssAfterLoad)}`,
    ];
    console.log(
      `memory engine: holds ${perRawByte(held.afterLoad)} bytes per raw key+value byte at ${int(keys)} keys ` +
        `(${figures.join("; ")}): growth of heapUsed + external over the last fill, each after a full GC`,
    );
  }
  for (const n of engineNames) {
    const settled = results[n]?.settleMs;
    if (settled !== undefined) {
      console.log(
        `${ENGINES[n]!.label}: compaction (${results[n]!.compactionMode ?? "thread not reported"}) ` +
          `${compacting(results[n]!.compactingDuringYcsb)} during YCSB-A; finishing the rest ` +
          `of what the load left owed took ${(settled / 1000).toFixed(1)} s before the reads`,
      );
    }
  }
  console.log("");
  console.log(`total wall time ${(wallMs / 1000).toFixed(1)} s; figures in ${relative(process.cwd(), file)}`);
}

if (args.includes("--child")) {
  const name = option("--engine") ?? "";
  const root = option("--dir") ?? "";
  if (!(name in ENGINES) || root === "") {
    console.error("--child needs --engine NAME and --dir DIRECTORY");
    process.exit(2);
  }
  try {
    send({ type: "result", result: await runChild(name, root) });
  } catch (error) {
    send({ type: "error", error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    process.exitCode = 1;
  }
} else {
  await runParent();
}

/** A seeded generator of numbers in [0, 1) (the project's xoshiro128**), the same on every runtime. */
function seeded(seed: number): () => number {
  const random = new SeededRandom(seed);
  return () => random.next();
}
