/**
 * Where the LSM engine's flushes and compactions run: in a worker thread beside the engine's
 * thread (so no request waits behind a merge, and a second core does the work), or on the
 * engine's thread in slices (when no worker can start, under Deno unless asked for, or when
 * the engine runs on a simulated disk whose time is virtual).
 *
 * Two workers serve every engine of the process, one for flushes and one for compactions; jobs
 * queue in each. They do not keep the process alive while idle. If one fails (it cannot load,
 * or it dies), its pending jobs and every later one fail with {@link WorkerLostError}, and the
 * engine reruns them inline: a job is never lost with the worker.
 *
 * @module
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Worker as NodeWorker } from "node:worker_threads";
import { CorruptDataError } from "../../../core/errors.ts";
import { type Scheduler, sleep } from "../../../core/interfaces/clock.ts";
import { type BuiltTable, Compaction, type CompactionJob, type CompactionResult } from "./compaction.ts";

/** Runs compaction jobs. */
export interface CompactionRunner {
  /** Where jobs run now. */
  readonly mode: "worker" | "inline";
  /**
   * Runs one job, giving each new table to `onTable` as soon as it is built, in key order (the
   * result's `tables` is then empty). The input buffers may be transferred away (detached).
   * In a worker, input files given without their bytes are read there.
   */
  run(job: CompactionJob, onTable: (table: BuiltTable) => void): Promise<CompactionResult>;
}

/** Entries merged per slice on the engine's thread, between which other work runs (about a millisecond). */
const SLICE = 4096;

/**
 * A runner for jobs on this thread, a slice at a time, yielding to I/O and timers between slices
 * through `scheduler` (the engine's: the host's, or a simulation's on a simulated disk).
 */
export function inlineRunner(scheduler: Scheduler): CompactionRunner {
  return {
    mode: "inline",
    async run(job, onTable) {
      const compaction = new Compaction(job, { onTable });
      while (!compaction.step(SLICE)) await sleep(scheduler, 0);
      return compaction.result;
    },
  };
}

/** A job's failure as the worker reports it. */
type WireError =
  | { kind: "corrupt"; location: string; reason: string }
  | { kind: "error"; name: string; message: string; code?: string; stack?: string };

/** What the worker sends: each table as it is built, then the end of the job or its failure. */
export type WorkerReply =
  | { id: number; table: BuiltTable }
  | { id: number; result: CompactionResult }
  | { id: number; error: WireError };

/** A job's failure as it crosses from the worker. */
export function toWireError(error: unknown): WireError {
  if (error instanceof CorruptDataError) {
    const reason = String(error.details.reason ?? error.message);
    return { kind: "corrupt", location: error.location, reason };
  }
  if (!(error instanceof Error)) return { kind: "error", name: "Error", message: String(error) };
  const code = (error as { code?: unknown }).code;
  return {
    kind: "error",
    name: error.name,
    message: error.message,
    ...(typeof code === "string" && { code }),
    ...(error.stack !== undefined && { stack: error.stack }),
  };
}

/** The failure again on this side: a CorruptDataError as one; anything else with its name, code and the worker's stack. */
function fromWireError(error: WireError): Error {
  if (error.kind === "corrupt") return new CorruptDataError(error.location, error.reason);
  const rebuilt = new Error(`compaction worker: ${error.message}`) as Error & { code?: string };
  rebuilt.name = error.name;
  if (error.code !== undefined) rebuilt.code = error.code;
  if (error.stack !== undefined) rebuilt.stack = error.stack;
  return rebuilt;
}

/** The ArrayBuffers of a job's inputs that can move to the worker without a copy (each wholly one input's). */
function transferable(job: CompactionJob): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  const add = (b: Uint8Array) => {
    if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer) out.add(b.buffer);
  };
  for (const s of job.sources) {
    if (s.kind === "entries") {
      // The memtable's own buffers stay (it answers reads until the flush ends): only the
      // order arrays, copied for the job, move.
      add(new Uint8Array(s.bufferOf.buffer));
      add(new Uint8Array(s.offsetOf.buffer));
    } else for (const f of s.files) if (f.bytes) add(f.bytes);
  }
  return [...out];
}

/**
 * Where the worker's module is: beside this one when running from source (`.ts`), or as the
 * build's own entry (`dist/plugins/engines/lsm/compaction-worker.js`) when this code is bundled
 * into a chunk at the root of `dist/` or into an entry one or two levels below it.
 */
function workerUrl(): URL | undefined {
  const here = import.meta.url;
  const candidates = here.endsWith(".ts") ? ["./compaction-worker.ts"] : [
    "./compaction-worker.js",
    "./plugins/engines/lsm/compaction-worker.js",
    "../plugins/engines/lsm/compaction-worker.js",
    "../../plugins/engines/lsm/compaction-worker.js",
  ];
  for (const c of candidates) {
    const url = new URL(c, here);
    try {
      if (url.protocol === "file:" && existsSync(fileURLToPath(url))) return url;
    } catch {
      // Not a path this runtime can check: try the next.
    }
  }
  return undefined;
}

/**
 * Under Deno (2.x) a worker's `ref()` after `unref()` does not reliably keep the event loop
 * alive: a job sent to an idle worker could be left pending while the loop ended. So there a
 * worker stays referenced, and keeps its process alive until {@link stopCompactionWorkers};
 * which is why engines under Deno compact on their own thread unless told `"worker"`. Under
 * Node an idle worker is unreferenced and never needs stopping.
 */
export const UNDER_DENO = "Deno" in globalThis;

class WorkerRunner implements CompactionRunner {
  #worker: NodeWorker | undefined;
  #broken = false;
  #next = 0;
  readonly #pending = new Map<
    number,
    { onTable: (t: BuiltTable) => void; resolve: (r: CompactionResult) => void; reject: (e: Error) => void }
  >();

  readonly #lane: CompactionLane;

  constructor(worker: NodeWorker, lane: CompactionLane) {
    this.#lane = lane;
    this.#worker = worker;
    worker.on("message", (reply: WorkerReply) => this.#settle(reply));
    worker.on("error", (error: unknown) => this.#fail(error));
    worker.on("exit", (code: number) => this.#fail(new Error(`the compaction worker exited with code ${code}`)));
    // A job or a reply that could not be read is a job nobody will answer: give the worker up.
    worker.on("messageerror", (error: unknown) => this.#fail(error));
    if (!UNDER_DENO) worker.unref();
  }

  get mode(): "worker" | "inline" {
    return this.#broken ? "inline" : "worker";
  }

  run(job: CompactionJob, onTable: (table: BuiltTable) => void): Promise<CompactionResult> {
    if (this.#broken || this.#worker === undefined) return Promise.reject(new WorkerLostError("it had stopped before"));
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { onTable, resolve, reject });
      if (this.#pending.size === 1 && !UNDER_DENO) this.#worker!.ref();
      try {
        this.#worker!.postMessage({ id, job }, transferable(job));
      } catch (error) {
        // Not sent (a buffer that cannot be cloned or moved): the job fails here, the worker is fine.
        this.#pending.delete(id);
        if (this.#pending.size === 0 && !UNDER_DENO) this.#worker?.unref();
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  }

  #settle(reply: WorkerReply): void {
    const waiter = this.#pending.get(reply.id);
    if (!waiter) return;
    if ("table" in reply) {
      waiter.onTable(reply.table);
      return;
    }
    this.#pending.delete(reply.id);
    if (this.#pending.size === 0 && !UNDER_DENO) this.#worker?.unref();
    if ("result" in reply) waiter.resolve(reply.result);
    else waiter.reject(fromWireError(reply.error));
  }

  /** Stops the worker; its pending jobs fail with {@link WorkerLostError}. */
  async stop(): Promise<void> {
    const worker = this.#worker;
    this.#fail(new Error("stopped by stopCompactionWorkers()"));
    await worker?.terminate().catch(() => {});
  }

  /** The worker is gone: pending and later jobs fail with WorkerLostError, and the engine reruns them inline. */
  #fail(cause: unknown): void {
    if (this.#broken) return;
    this.#broken = true;
    // Only if this is still the lane's worker: a newer one may have replaced it.
    if (current.get(this.#lane) === this) stopped.add(this.#lane);
    const worker = this.#worker;
    this.#worker = undefined;
    void worker?.terminate().catch(() => {});
    for (const [id, waiter] of this.#pending) {
      this.#pending.delete(id);
      waiter.reject(new WorkerLostError(cause));
    }
  }
}

/**
 * The worker stopped before answering. The job's input buffers went with it, so the engine
 * reads its inputs again and reruns the job (inline from then on); nothing it owned is lost, as
 * a flush or compaction changes no state until its result is installed.
 */
export class WorkerLostError extends Error {
  /** Why the worker stopped (its error, its exit, or a stop), as far as known. */
  readonly reason: string;

  constructor(cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`the compaction worker stopped before answering: ${reason}`);
    this.name = "WorkerLostError";
    this.reason = reason;
  }
}

/**
 * Which queue a job joins: flushes have a worker of their own, so a flush (which frees a
 * memtable that writes may be waiting for) never queues behind a long compaction.
 */
export type CompactionLane = "flush" | "compaction";

const shared = new Map<CompactionLane, Promise<CompactionRunner | undefined>>();
/** Lanes whose worker was stopped (by {@link stopCompactionWorkers}, or because it died). */
const stopped = new Set<CompactionLane>();
/** Each lane's worker once started (to tell whether a failing worker is still the lane's). */
const current = new Map<CompactionLane, WorkerRunner>();

/** The part of esbuild's API used to run the worker from source under Node. */
interface Esbuild {
  build(options: Record<string, unknown>): Promise<{ outputFiles: { text: string }[] }>;
}

/**
 * Starts the worker. Built JavaScript, and TypeScript under Deno, start as they are. From source
 * under Node (the tests and benchmarks) the worker's modules are bundled to JavaScript first
 * with esbuild, a development dependency: Node 20 cannot load TypeScript in a worker, as loader
 * hooks such as tsx's do not reach worker threads there.
 */
async function startWorker(url: URL): Promise<NodeWorker> {
  const { Worker } = await import("node:worker_threads");
  if ("Deno" in globalThis || !url.pathname.endsWith(".ts")) return new Worker(url, { resourceLimits: WORKER_LIMITS });
  bundled ??= bundle(url);
  return new Worker(new URL(`data:text/javascript;base64,${Buffer.from(await bundled).toString("base64")}`), {
    resourceLimits: WORKER_LIMITS,
  });
}

/**
 * A small young generation: a job's buffers live outside the heap, and their memory is freed
 * only when the small objects holding them are collected, which a small nursery does sooner.
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 4 };

/** The worker's module graph as one JavaScript module (built once per process). */
let bundled: Promise<string> | undefined;

async function bundle(url: URL): Promise<string> {
  const specifier = "esbuild"; // not a literal: the build must not try to bundle esbuild itself
  const esbuild = (await import(specifier)) as Esbuild;
  const built = await esbuild.build({
    entryPoints: [fileURLToPath(url)],
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    write: false,
    logLevel: "silent",
  });
  return built.outputFiles[0]!.text;
}

/**
 * The process's worker for a lane, started on first use; the inline runner if no worker can
 * start here (no `node:worker_threads`, no worker module found): then `undefined`, and the
 * engine runs its jobs inline.
 */
export function sharedRunner(lane: CompactionLane): Promise<CompactionRunner | undefined> {
  let runner = shared.get(lane);
  // A stopped worker is replaced for whoever asks next (engines that held it run inline).
  if (runner !== undefined && stopped.has(lane)) {
    stopped.delete(lane);
    runner = undefined;
  }
  if (runner === undefined) {
    runner = (async () => {
      const url = workerUrl();
      if (url === undefined) return undefined;
      try {
        const runner = new WorkerRunner(await startWorker(url), lane);
        current.set(lane, runner);
        return runner;
      } catch {
        return undefined;
      }
    })();
    shared.set(lane, runner);
  }
  return runner;
}

/**
 * Stops the process's compaction workers (they never keep a process alive, so nothing needs to
 * call this to exit). Their pending and later jobs fail with `WorkerLostError`: the
 * engines that hold them rerun those jobs on their own threads and run every job there from
 * then on. An engine opened later starts new workers.
 */
export async function stopCompactionWorkers(): Promise<void> {
  const taken = [...shared];
  for (const [lane] of taken) stopped.add(lane);
  for (const [, runner] of taken) {
    const r = await runner;
    if (r instanceof WorkerRunner) await r.stop();
  }
}
