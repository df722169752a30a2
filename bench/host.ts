/**
 * What the host charges for the two things a node does per request besides computing: a
 * durable append (the LSM commit log under `sync: "always"`) and a round trip over a loopback
 * TCP connection (a peer request and its reply). They bound the cluster benchmark: a request
 * there costs a few of each, and on a small VM each costs more than the store's own work.
 *
 * - **durable append**: 600-byte appends to a file opened with `O_DSYNC` (as the commit log
 *   does), one at a time, against plain appends: wall time and the process's CPU time per
 *   append, and how long the call that hands the write to Node's thread pool holds the main
 *   thread;
 * - **loopback round trip**: 200-byte messages echoed by a child process, with 1 and with 32 in
 *   flight: round trips per second and the CPU time per round trip of each side (the child's
 *   read from Linux's `/proc`; null elsewhere). With 32 in flight, reads and writes carry
 *   several messages each: what batching buys.
 *
 *   npm run bench -- host [--runs 3] [--json] [--dir DIR]
 *
 * Node only (it forks a child with node:child_process and reads /proc). Prints figures; never
 * passes or fails on them.
 */
import { fork } from "node:child_process";
import { constants, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { open } from "node:fs/promises";
import { createConnection, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { benchOptions, figure, measure, type Measurement, Progress, runtimeName } from "./harness.ts";

// The echo side: a child process running this file with --echo.
if (process.argv.includes("--echo")) {
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    socket.on("data", (chunk) => socket.write(chunk));
  });
  server.listen(0, "127.0.0.1", () => process.send!((server.address() as { port: number }).port));
  process.on("disconnect", () => process.exit(0));
} else {
  await main();
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const options = benchOptions(args, { runs: 3, warmup: 1 });
  const dirAt = args.indexOf("--dir");
  const parent = dirAt >= 0 ? args[dirAt + 1]! : tmpdir();
  const APPENDS = 2000;
  const ROUND_TRIPS = 50_000;
  const progress = new Progress(4 * (options.runs + options.warmup));
  const results: Measurement[] = [];
  const extra: Record<string, number | null> = {};
  /** Per-run figures measured beside each run's own, reported as their medians. */
  const side = new Map<string, number[]>();
  const note = (name: string, value: number) => side.set(name, [...(side.get(name) ?? []), value]);

  const dir = mkdtempSync(join(parent, "ringforge-host-bench-"));
  try {
    for (const synced of [false, true]) {
      const name = synced ? "durable append (O_DSYNC)" : "plain append";
      results.push(
        await measure(`${name}: wall`, "µs", options, async () => {
          const file = await open(
            join(dir, "log"),
            constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_APPEND | (synced ? constants.O_DSYNC : 0),
          );
          const record = new Uint8Array(600).fill(1);
          let call = 0;
          const cpu0 = process.cpuUsage();
          const started = performance.now();
          try {
            for (let i = 0; i < APPENDS; i++) {
              const before = performance.now();
              const write = file.write(record);
              call += performance.now() - before;
              await write;
            }
          } finally {
            await file.close();
          }
          const used = process.cpuUsage(cpu0);
          note(`${synced ? "durable" : "plain"}CpuUs`, (used.user + used.system) / APPENDS);
          note(`${synced ? "durable" : "plain"}HandOverUs`, (call * 1000) / APPENDS);
          return ((performance.now() - started) * 1000) / APPENDS;
        }, progress),
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const child = fork(fileURLToPath(import.meta.url), ["--echo"], {
    execArgv: process.execArgv,
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  try {
    const port = await new Promise<number>((resolve) => child.once("message", (m) => resolve(m as number)));
    for (const inflight of [1, 32]) {
      results.push(
        await measure(`loopback round trip, ${inflight} in flight`, "round trips/s", options, async () => {
          const socket = createConnection(port, "127.0.0.1");
          socket.setNoDelay(true);
          await new Promise((resolve) => socket.once("connect", resolve));
          const server0 = childCpuUs(child.pid!);
          const cpu0 = process.cpuUsage();
          const started = performance.now();
          await echo(socket, inflight, ROUND_TRIPS);
          const seconds = (performance.now() - started) / 1000;
          const used = process.cpuUsage(cpu0);
          const server1 = childCpuUs(child.pid!);
          note(`roundTrip${inflight}ClientCpuUs`, (used.user + used.system) / ROUND_TRIPS);
          if (server0 !== null && server1 !== null) note(`roundTrip${inflight}ServerCpuUs`, (server1 - server0) / ROUND_TRIPS);
          socket.destroy();
          return ROUND_TRIPS / seconds;
        }, progress),
      );
    }
  } finally {
    child.kill();
  }
  progress.end();
  // The measured runs come after the warm-up ones: their figures are the last `runs` noted.
  for (
    const name of [
      "plainCpuUs",
      "plainHandOverUs",
      "durableCpuUs",
      "durableHandOverUs",
      "roundTrip1ClientCpuUs",
      "roundTrip1ServerCpuUs",
      "roundTrip32ClientCpuUs",
      "roundTrip32ServerCpuUs",
    ]
  ) {
    const values = (side.get(name) ?? []).slice(-options.runs).sort((a, b) => a - b);
    extra[name] = values.length === 0 ? null : round(values[(values.length - 1) >> 1]!);
  }

  const markdown = [
    `host costs, median of ${options.runs} runs, ${runtimeName()}`,
    "",
    "| what | median | spread |",
    "| --- | --- | --- |",
    ...results.map((r) => `| ${r.name} | ${figure(r.median)} ${r.unit} | ${(r.spread * 100).toFixed(0)}% |`),
    "",
    `CPU per append (medians): plain ${extra.plainCpuUs} µs, durable ${extra.durableCpuUs} µs; the call handing a write to the thread pool held the main thread ${extra.plainHandOverUs} and ${extra.durableHandOverUs} µs`,
    `CPU per loopback round trip (medians), client + echo side: 1 in flight ${extra.roundTrip1ClientCpuUs} + ${extra.roundTrip1ServerCpuUs} µs, 32 in flight ${extra.roundTrip32ClientCpuUs} + ${extra.roundTrip32ServerCpuUs} µs`,
  ].join("\n");
  if (options.json) console.log(JSON.stringify({ benchmark: "host", runtime: runtimeName(), results, ...extra, markdown }, null, 2));
  else console.log(markdown);
}

/** Sends `total` 200-byte messages, `inflight` at a time, each sent once the echo of one before came back. */
function echo(socket: Socket, inflight: number, total: number): Promise<void> {
  const SIZE = 200;
  const message = new Uint8Array(SIZE).fill(7);
  return new Promise((resolve, reject) => {
    let sent = 0;
    let received = 0;
    let pending = 0;
    socket.on("error", reject);
    socket.on("data", (chunk: Uint8Array) => {
      pending += chunk.length;
      while (pending >= SIZE) {
        pending -= SIZE;
        if (++received === total) return resolve();
        if (sent < total) {
          sent++;
          socket.write(message);
        }
      }
    });
    for (; sent < Math.min(inflight, total); sent++) socket.write(message);
  });
}

/** CPU time (user + system) of process `pid` so far, µs, from Linux's /proc; null elsewhere. */
function childCpuUs(pid: number): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    // utime and stime are fields 14 and 15 of the whole line (clock ticks, 100 per second on Linux).
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return null;
  }
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}
