/**
 * The writer of the LSM crash test (test/engines-lsm-crash.test.ts), run as a child process
 * so the test can kill it with SIGKILL at any point:
 *
 *     node --import tsx test/support/lsm-crash-writer.ts DIR SEED [HOLD]
 *     deno run -A test/support/lsm-crash-writer.ts DIR SEED [HOLD]
 *
 * It opens an {@link LsmEngine} in DIR with `sync: "always"` and sizes small enough that
 * flushes and compactions run all the time, then runs the operations of
 * {@link crashOperations}(SEED) in order, a few at once (so group commit has something to
 * group). On stdout it prints `issue <n>` just before it starts operation `n` and
 * `ack <n> <flushes> <compactions> <where they ran: worker, inline or ->` once the operation has resolved. It exits after the last
 * operation (printing `done`), which a test run never waits for.
 *
 * With HOLD, it runs only the first HOLD operations, waits for them and for the flushes and
 * compactions they started, prints `holding <pid>` and keeps the engine open (and its directory locked) until killed:
 * the multi-process test of the directory lock.
 *
 * The module also exports the operation sequence and the engine options, so the test checks
 * the recovered store against exactly what the writer did.
 *
 * @module
 */
import { systemScheduler } from "../../core/runtime/system-runtime.ts";
import { resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { LsmEngine, type LsmEngineOptions } from "../../plugins/engines/lsm/lsm-engine.ts";
import { SeededRandom } from "../../core/runtime/seeded-random.ts";

/** One write of an operation: a put of `value` under `key`, or a delete (`value: null`). */
export interface CrashWrite {
  /** The key, as text. */
  readonly key: string;
  /** The value, as text, or `null` for a delete. */
  readonly value: string | null;
}

/** One operation the writer runs: a put, a delete, or a batch of several writes. */
export interface CrashOperation {
  /** Its place in the sequence (from 0). */
  readonly index: number;
  /** `put` and `delete` have one write; `batch` has two to four, on distinct keys. */
  readonly type: "put" | "delete" | "batch";
  /** Its writes. */
  readonly writes: readonly CrashWrite[];
}

/** Keys the writer touches: `k000` to `k299`. */
export const CRASH_KEYS = 300;
/** Operations in a sequence; a test kills the writer long before the end. */
export const CRASH_OPERATIONS = 4000;
/** Operations the writer keeps in flight at once (never two on the same key). */
export const CRASH_IN_FLIGHT = 4;

/**
 * Engine options of the writer for `seed` (the rest default): small sizes; leveled for even
 * seeds, size-tiered for odd; flushes and compactions in the worker threads for seeds 1, 2, 5,
 * 6, on the writer's own thread for 3, 4, 7, 8 (so each kind of compaction is killed both ways).
 */
export function crashOptions(directory: string, seed: number): Partial<LsmEngineOptions> & { directory: string } {
  return {
    directory,
    sync: "always",
    memtableBytes: 8192,
    blockBytes: 512,
    blockCacheBytes: 16 * 1024,
    compaction: seed % 2 === 0 ? "leveled" : "size-tiered",
    compactionTrigger: 2,
    tableBytes: 8192,
    levelBaseBytes: 32 * 1024,
    compactionThread: (seed - 1) % 4 < 2 ? "worker" : "inline",
  };
}

/** The key with number `n`. */
export function crashKey(n: number): string {
  return `k${String(n).padStart(3, "0")}`;
}

/**
 * The value operation `index` writes under `key`: it names both, so a value read back tells
 * exactly which operation wrote it (and a value no operation wrote is garbage).
 */
export function crashValue(index: number, key: string, length: number): string {
  const head = `${index}:${key}:`;
  return head + "x".repeat(Math.max(0, length - head.length));
}

/** The seeded operation sequence (the same seed gives the same sequence on every runtime). */
export function crashOperations(seed: number, count = CRASH_OPERATIONS): CrashOperation[] {
  const random = seeded(seed);
  const int = (n: number) => Math.floor(random() * n);
  const write = (index: number, key: string, deleting: boolean): CrashWrite => ({
    key,
    value: deleting ? null : crashValue(index, key, 8 + int(150)),
  });
  const ops: CrashOperation[] = [];
  for (let index = 0; index < count; index++) {
    const roll = random();
    if (roll < 0.7) ops.push({ index, type: "put", writes: [write(index, crashKey(int(CRASH_KEYS)), false)] });
    else if (roll < 0.85) ops.push({ index, type: "delete", writes: [write(index, crashKey(int(CRASH_KEYS)), true)] });
    else {
      const keys = new Set<string>();
      const size = 2 + int(3);
      while (keys.size < size) keys.add(crashKey(int(CRASH_KEYS)));
      ops.push({ index, type: "batch", writes: [...keys].map((key) => write(index, key, random() < 0.25)) });
    }
  }
  return ops;
}

const encoder = new TextEncoder();

async function run(directory: string, seed: number, hold?: number): Promise<void> {
  const engine = new LsmEngine(crashOptions(directory, seed), systemScheduler);
  await engine.open();
  const ops = crashOperations(seed, hold);
  const busyKeys = new Set<string>();
  const inFlight = new Set<Promise<void>>();
  for (const op of ops) {
    // Never two operations on one key in flight: their order in the log would be up to the
    // engine, and the test could not say which value must win.
    while (inFlight.size >= CRASH_IN_FLIGHT || op.writes.some((w) => busyKeys.has(w.key))) await Promise.race(inFlight);
    for (const w of op.writes) busyKeys.add(w.key);
    process.stdout.write(`issue ${op.index}\n`);
    const started = apply(engine, op).then(() => {
      process.stdout.write(`ack ${op.index} ${engine.stats.flushes} ${engine.stats.compactions} ${engine.compactionMode ?? "-"}\n`);
      for (const w of op.writes) busyKeys.delete(w.key);
      inFlight.delete(started);
    }, fail);
    inFlight.add(started);
  }
  await Promise.all(inFlight);
  if (hold !== undefined) {
    // No flush or compaction left to run: the directory stays as it is while held.
    await engine.settle();
    process.stdout.write(`holding ${process.pid}\n`);
    // Open until killed: a timer keeps the process alive.
    setInterval(() => {}, 60_000);
    return;
  }
  await engine.close();
  process.stdout.write("done\n");
}

/** A failed write is a failed run: say why on stderr (the test shows it) and stop at once. */
function fail(error: unknown): never {
  process.stderr.write(`writer failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
}

function apply(engine: LsmEngine, op: CrashOperation): Promise<void> {
  const [first] = op.writes;
  if (op.type === "put") return engine.put(encoder.encode(first!.key), encoder.encode(first!.value!));
  if (op.type === "delete") return engine.delete(encoder.encode(first!.key));
  return engine.batch(
    op.writes.map((w) =>
      w.value === null
        ? { type: "delete" as const, key: encoder.encode(w.key) }
        : { type: "put" as const, key: encoder.encode(w.key), value: encoder.encode(w.value) }
    ),
  );
}

// Run only as a script, not when the test imports the sequence from here.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [directory, seed, hold] = process.argv.slice(2);
  if (
    directory === undefined || seed === undefined || !Number.isInteger(Number(seed)) ||
    (hold !== undefined && !Number.isInteger(Number(hold)))
  ) {
    process.stderr.write("usage: lsm-crash-writer.ts DIR SEED [HOLD]\n");
    process.exit(2);
  }
  run(directory, Number(seed), hold === undefined ? undefined : Number(hold)).catch(fail);
}

/** A seeded generator of numbers in [0, 1) (the project's xoshiro128**), the same on every runtime. */
function seeded(seed: number): () => number {
  const random = new SeededRandom(seed);
  return () => random.next();
}
