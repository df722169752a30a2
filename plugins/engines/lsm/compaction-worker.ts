/**
 * The LSM engine's compaction worker (`node:worker_threads`, which Deno provides too): runs each
 * job it is sent to the end, reading input files it was given by path, and sends back each new
 * table as it is built, moving its buffer rather than copying it. Started by `compaction-runner.ts`; not a module to import.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { parentPort } from "node:worker_threads";
import { type CompactionJob, runCompaction } from "./compaction.ts";
import { toWireError, type WorkerReply } from "./compaction-runner.ts";

parentPort?.on("message", ({ id, job }: { id: number; job: CompactionJob }) => {
  const send = (reply: WorkerReply, transfer: ArrayBuffer[] = []) => parentPort!.postMessage(reply, transfer);
  try {
    const result = runCompaction(job, {
      // Each input file when the merge reaches it, so a job holds one file per run at a time.
      readFile: (path) => {
        const bytes = readFileSync(path);
        return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      },
      // Each table as soon as it is built: the engine writes it while the merge goes on.
      onTable: (table) => send({ id, table }, [table.bytes.buffer as ArrayBuffer]),
    });
    send({ id, result });
  } catch (error) {
    send({ id, error: toWireError(error) });
  }
});
