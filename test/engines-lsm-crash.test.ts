/**
 * Crash tests of the LSM engine:
 *
 * - a writer in a child process (test/support/lsm-crash-writer.ts, `sync: "always"`, sizes small
 *   enough that it flushes and compacts all the time) is killed with SIGKILL after a random
 *   number of acknowledged writes; the directory must then open, keep every acknowledged write
 *   (a key may show a later, unacknowledged write, never an older one), apply batches whole,
 *   and hold nothing no operation wrote;
 * - a writer child that holds the directory (open, not closing) makes an open here fail with a
 *   DirectoryLockedError naming its pid; once it is killed, the open takes the stale lock over
 *   and finds every write the child acknowledged;
 * - a flipped byte in the commit log loses that record and everything after it, nothing before;
 * - a flipped byte in a table's index or Bloom block makes open fail with a CorruptDataError
 *   naming the file; one in a data block fails the reads that need it, never returning wrong data.
 *
 * Both runtimes run all of it (node:child_process's kill("SIGKILL") works under Deno too): the
 * Deno run spawns the writer with `deno run`, the Node run with `node --import tsx` (not the `tsx`
 * binary, which runs the script in a grandchild that a SIGKILL of its parent would leave running).
 */
import { systemScheduler } from "../core/runtime/system-runtime.ts";
import { afterAll, describe, it } from "@std/testing/bdd";
import { assert, assertEquals, assertRejects } from "@std/assert";
import { spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { CorruptDataError, DirectoryLockedError } from "../core/errors.ts";
import { silentLogger } from "../core/interfaces/logger.ts";
import { compareBytes } from "../core/codec/bytes.ts";
import { encodeRecord, type LogOperation } from "../plugins/engines/lsm/commit-log.ts";
import { LsmEngine, type LsmEngineOptions } from "../plugins/engines/lsm/lsm-engine.ts";
import { writeManifest } from "../plugins/engines/lsm/manifest.ts";
import { hostFileSystem } from "../core/host/host-file-system.ts";
import { CRASH_KEYS, crashKey, type CrashOperation, crashOperations, crashOptions } from "./support/lsm-crash-writer.ts";
import { SeededRandom } from "../core/runtime/seeded-random.ts";

const root = mkdtempSync(join(tmpdir(), "ringforge-lsm-crash-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;
const freshDirectory = () => join(root, `db${counter++}`);

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const bytes = (text: string) => encoder.encode(text);
const text = (value: Uint8Array | undefined) => (value === undefined ? undefined : decoder.decode(value));

/** Copies a directory of plain files (an engine's) to a new directory. */
function copyDirectory(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from)) copyFileSync(join(from, name), join(to, name));
}

/** Flips every bit of one byte of a file. */
async function flipByte(path: string, at: number): Promise<void> {
  const content = new Uint8Array(await readFile(path));
  assert(at >= 0 && at < content.length, `offset ${at} is outside ${path} (${content.length} bytes)`);
  content[at]! ^= 0xff;
  await writeFile(path, content);
}

/** Every live entry, in scan order, as text; checks the order on the way. */
async function scanAll(engine: LsmEngine): Promise<[string, string][]> {
  const out: [string, string][] = [];
  let previous: Uint8Array | undefined;
  for await (const [key, value] of engine.scan()) {
    assert(previous === undefined || compareBytes(previous, key) < 0, `scan out of order: ${text(previous)} then ${text(key)}`);
    previous = key;
    out.push([decoder.decode(key), decoder.decode(value)]);
  }
  return out;
}

// ---- the writer in a child process -------------------------------------------------------

const repository = fileURLToPath(new URL("..", import.meta.url));
const writerScript = fileURLToPath(new URL("./support/lsm-crash-writer.ts", import.meta.url));
const underDeno = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";

/** What the parent saw of one writer run. */
interface WriterRun {
  /** Operations the writer acknowledged (their write resolved). */
  readonly acked: ReadonlySet<number>;
  /** Highest operation index it started (-1 if none): nothing after it can be in the store. */
  readonly issued: number;
  /** Flushes and compactions the writer's engine had done at its last acknowledgement. */
  readonly flushes: number;
  readonly compactions: number;
  /** Where the writer's flushes and compactions ran ("worker", "inline"), once one had. */
  readonly mode: string | undefined;
  /** How it ended. */
  readonly signal: string | null;
  readonly code: number | null;
  readonly stderr: string;
}

/** Runs the writer on `directory` and kills it with SIGKILL once it has acknowledged `killAfter` operations. */
function runWriter(directory: string, seed: number, killAfter: number): Promise<WriterRun> {
  // Under Deno, process.execPath is the deno binary.
  const args = underDeno
    ? ["run", "-A", writerScript, directory, String(seed)]
    : ["--import", "tsx", writerScript, directory, String(seed)];
  const child = spawn(process.execPath, args, { cwd: repository, stdio: ["ignore", "pipe", "pipe"] });
  const acked = new Set<number>();
  let issued = -1;
  let flushes = 0;
  let compactions = 0;
  let mode: string | undefined;
  let pending = "";
  let stderr = "";
  let killed = false;
  const kill = () => {
    if (!killed) killed = child.kill("SIGKILL");
  };
  // A writer that stops acknowledging is stuck: end it rather than wait for the test timeout.
  let watchdog = setTimeout(kill, 15_000);
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (chunk: string) => {
    pending += chunk;
    let newline: number;
    // Only whole lines: a line cut by the kill was never fully written.
    while ((newline = pending.indexOf("\n")) >= 0) {
      const [word, n, f, c, m] = pending.slice(0, newline).split(" ");
      pending = pending.slice(newline + 1);
      if (word === "issue") issued = Math.max(issued, Number(n));
      else if (word === "ack") {
        acked.add(Number(n));
        flushes = Math.max(flushes, Number(f));
        compactions = Math.max(compactions, Number(c));
        if (m !== undefined && m !== "-") mode = m;
      }
    }
    clearTimeout(watchdog);
    watchdog = setTimeout(kill, 15_000);
    if (acked.size >= killAfter) kill();
  });
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    // "close": the process has exited and its output is read to the end.
    child.on("close", (code, signal) => {
      clearTimeout(watchdog);
      resolve({ acked, issued, flushes, compactions, mode, signal, code, stderr });
    });
  });
}

/** A writer child holding its directory open after its first `hold` operations. */
interface Holder {
  /** Its pid, as it printed it. */
  readonly pid: number;
  /** Operations it acknowledged; highest one it started. */
  readonly acked: ReadonlySet<number>;
  readonly issued: number;
  /** Kills it with SIGKILL and resolves once it has exited. */
  kill(): Promise<string | null>;
}

/** Starts the writer on `directory` in HOLD mode; resolves once it prints `holding`. */
function startHolder(directory: string, seed: number, hold: number): Promise<Holder> {
  const args = underDeno
    ? ["run", "-A", writerScript, directory, String(seed), String(hold)]
    : ["--import", "tsx", writerScript, directory, String(seed), String(hold)];
  const child = spawn(process.execPath, args, { cwd: repository, stdio: ["ignore", "pipe", "pipe"] });
  const acked = new Set<number>();
  let issued = -1;
  let pending = "";
  let stderr = "";
  const exited = new Promise<string | null>((resolve) => child.on("close", (_code, signal) => resolve(signal)));
  const kill = async () => {
    child.kill("SIGKILL");
    return await exited;
  };
  return new Promise((resolve, reject) => {
    // A holder that never gets to `holding` is broken: end it rather than wait for the test timeout.
    const watchdog = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the holder never held the directory: ${stderr}`));
    }, 20_000);
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (chunk: string) => {
      pending += chunk;
      let newline: number;
      while ((newline = pending.indexOf("\n")) >= 0) {
        const [word, n] = pending.slice(0, newline).split(" ");
        pending = pending.slice(newline + 1);
        if (word === "issue") issued = Math.max(issued, Number(n));
        else if (word === "ack") acked.add(Number(n));
        else if (word === "holding") {
          clearTimeout(watchdog);
          resolve({ pid: Number(n), acked, issued, kill });
        }
      }
    });
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (chunk: string) => (stderr += chunk));
    child.on("error", reject);
    void exited.then(() => {
      clearTimeout(watchdog);
      reject(new Error(`the holder exited before holding the directory: ${stderr}`));
    });
  });
}

/** The writes of `ops` per key, in sequence order. */
function historyByKey(ops: readonly CrashOperation[]): Map<string, { index: number; value: string | null }[]> {
  const history = new Map<string, { index: number; value: string | null }[]>();
  for (const op of ops) {
    for (const w of op.writes) {
      let list = history.get(w.key);
      if (!list) history.set(w.key, list = []);
      list.push({ index: op.index, value: w.value });
    }
  }
  return history;
}

/**
 * Checks a store recovered after the writer was killed, against the writes it started
 * (`ops`) and those it acknowledged.
 */
async function checkRecovered(
  engine: LsmEngine,
  ops: readonly CrashOperation[],
  acked: ReadonlySet<number>,
  label: string,
): Promise<Map<string, string>> {
  const history = historyByKey(ops);
  const writer = new Map<string, { index: number; key: string }>(); // value -> the write that wrote it
  for (const op of ops) for (const w of op.writes) if (w.value !== null) writer.set(w.value, { index: op.index, key: w.key });

  // (c) A full scan: keys in order (scanAll checks), and only values some operation wrote, under their key.
  const scanned = await scanAll(engine);
  for (const [key, value] of scanned) {
    const source = writer.get(value);
    assert(source !== undefined && source.key === key, `${label}: ${key} holds a value no operation wrote under it: ${value.slice(0, 40)}`);
  }
  const state = new Map(scanned);

  // (b) Per key: the last acknowledged write or a later one, never an older one; get agrees with scan.
  for (let n = 0; n < CRASH_KEYS; n++) {
    const key = crashKey(n);
    const got = text(await engine.get(bytes(key)));
    assertEquals(got, state.get(key), `${label}: get and scan disagree on ${key}`);
    const writes = history.get(key) ?? [];
    const lastAcked = writes.reduce((last, w) => (acked.has(w.index) ? w.index : last), -1);
    const allowed = writes.filter((w) => w.index >= lastAcked);
    const ok = got === undefined ? lastAcked < 0 || allowed.some((w) => w.value === null) : allowed.some((w) => w.value === got);
    const shown = got === undefined ? "nothing" : `the value of operation ${writer.get(got)!.index}`;
    assert(
      ok,
      `${label}: ${key} shows ${shown}, but operation ${lastAcked} was acknowledged; allowed: ${allowed.map((w) => w.index).join(", ")}`,
    );
  }

  // Batches apply whole: a batch visible on one of its keys is visible (or overwritten later) on all.
  for (const op of ops) {
    if (op.type !== "batch") continue;
    const applied = op.writes.map((w): boolean | undefined => {
      const got = state.get(w.key);
      if (got !== undefined) {
        const index = writer.get(got)!.index;
        return index === op.index ? true : index < op.index ? false : undefined;
      }
      // Absent: consistent with the batch if it deleted the key or a later operation did.
      if (w.value === null) return undefined;
      return history.get(w.key)!.some((h) => h.index > op.index && h.value === null) ? undefined : false;
    });
    assert(
      !(applied.includes(true) && applied.includes(false)),
      `${label}: batch ${op.index} applied to only some of its keys (${op.writes.map((w) => w.key).join(", ")})`,
    );
  }
  return state;
}

describe('lsm engine: SIGKILL of a writer with sync "always"', () => {
  // Eight runs, each killed after a random number of acknowledgements from its own stratum, so
  // the kills spread from just after open to well into the compactions.
  const random = seeded(20250511);
  const runs = Array.from({ length: 8 }, (_, i) => ({ seed: i + 1, killAfter: 1 + i * 150 + Math.floor(random() * 150) }));
  for (const { seed, killAfter } of runs) {
    it(`seed ${seed}: killed after ${killAfter} acknowledged writes, the store reopens with every acknowledged write`, async () => {
      const directory = freshDirectory();
      const run = await runWriter(directory, seed, killAfter);
      const label = `seed ${seed}, kill after ${killAfter} acks`;
      assert(!run.stderr.includes("writer failed"), `${label}: ${run.stderr}`);
      assertEquals(run.signal, "SIGKILL", `${label}: the writer was not killed (exit code ${run.code}): ${run.stderr}`);
      assert(run.acked.size >= killAfter, `${label}: only ${run.acked.size} acknowledgements`);
      if (killAfter >= 300) {
        // Else the test would not be testing a crash in the middle of background work.
        assert(run.flushes > 0 && run.compactions > 0, `${label}: ${run.flushes} flushes, ${run.compactions} compactions before the kill`);
        // And where the writer was asked to run them: its worker threads, or its own thread.
        assertEquals(run.mode, crashOptions(directory, seed).compactionThread, `${label}: where flushes and compactions ran`);
      }

      const ops = crashOperations(seed).slice(0, run.issued + 1);
      const options = crashOptions(directory, seed);
      const engine = new LsmEngine(options, systemScheduler);
      await engine.open(); // (a): nothing on disk is corrupt
      let state: Map<string, string>;
      try {
        state = await checkRecovered(engine, ops, run.acked, label);
      } finally {
        await engine.close();
      }

      // Recovery is written out: a second open replays nothing and sees the same store.
      const again = new LsmEngine(options, systemScheduler);
      await again.open();
      try {
        assertEquals(again.stats.recoveredWrites, 0, `${label}: writes replayed twice`);
        assertEquals(new Map(await scanAll(again)), state, `${label}: a second open sees another store`);
      } finally {
        await again.close();
      }
    });
  }

  // Regression: recovery used to name its new log with the manifest's nextFile, which a log
  // created by a rotation just before the crash already had; it then deleted the replayed logs,
  // the live one among them, so writes made after the recovery were lost at the next open.
  it("writes after a recovery survive the next reopen (a crash right after a memtable rotation)", async () => {
    // The state a SIGKILL leaves between a rotation (log 2 created, nextFile moved past it) and
    // the flush that would have saved the manifest: the manifest still says nextFile 2.
    const directory = freshDirectory();
    mkdirSync(directory, { recursive: true });
    await writeManifest(hostFileSystem, directory, { nextFile: 2, log: 1, levels: [[]] });
    await writeFile(join(directory, "000001.log"), encodeRecord([{ key: bytes("a"), value: bytes("1") }]));
    await writeFile(join(directory, "000002.log"), encodeRecord([{ key: bytes("b"), value: bytes("2") }]));
    const engine = new LsmEngine({ directory, sync: "always" }, systemScheduler);
    await engine.open();
    await engine.put(bytes("c"), bytes("3")); // acknowledged under sync "always"
    await engine.close();
    const reopened = new LsmEngine({ directory, sync: "always" }, systemScheduler);
    await reopened.open();
    try {
      assertEquals([text(await reopened.get(bytes("a"))), text(await reopened.get(bytes("b"))), text(await reopened.get(bytes("c")))], [
        "1",
        "2",
        "3",
      ]);
    } finally {
      await reopened.close();
    }
  });
});

describe("lsm engine: a directory held by another process", () => {
  it("is refused naming the holder's pid, and taken over with every acknowledged write once the holder is killed", async () => {
    const directory = freshDirectory();
    const seed = 7;
    const holder = await startHolder(directory, seed, 400);
    let killed = false;
    try {
      assertEquals(holder.acked.size, 400, "the holder acknowledged every operation before holding");
      const before = await snapshot(directory);

      const refused = await assertRejects(() => new LsmEngine(crashOptions(directory, seed), systemScheduler).open(), DirectoryLockedError);
      assertEquals(refused.code, "RINGFORGE_DIRECTORY_LOCKED");
      assertEquals(refused.pid, holder.pid);
      assertEquals(refused.directory, directory);
      assert(!refused.message.includes("\n"), `one line: ${refused.message}`);
      assert(refused.message.includes(`process ${holder.pid}`) && refused.message.includes(directory), refused.message);
      assertEquals(await snapshot(directory), before, "the refused open changed the directory");

      assertEquals(await holder.kill(), "SIGKILL");
      killed = true;
      const infos: { message: string; fields?: Record<string, unknown> }[] = [];
      const logger = { ...silentLogger, info: (message: string, fields?: Record<string, unknown>) => void infos.push({ message, fields }) };
      const engine = new LsmEngine(crashOptions(directory, seed), systemScheduler, logger);
      await engine.open();
      try {
        const takeovers = infos.filter((i) => i.message.includes("stale lock"));
        assertEquals(takeovers.length, 1, JSON.stringify(infos));
        assertEquals(takeovers[0]!.fields?.pid, holder.pid);
        await checkRecovered(engine, crashOperations(seed).slice(0, holder.issued + 1), holder.acked, "after the holder was killed");
        // Every operation was acknowledged, so the store is exactly the sequence applied in order.
        const model = new Map<string, string>();
        for (const op of crashOperations(seed, 400)) {
          for (const w of op.writes) {
            if (w.value === null) model.delete(w.key);
            else model.set(w.key, w.value);
          }
        }
        assertEquals(new Map(await scanAll(engine)), model);
      } finally {
        await engine.close();
      }
    } finally {
      if (!killed) await holder.kill();
    }
  });
});

/** Every file of a directory with its bytes (to show an operation changed nothing). */
async function snapshot(directory: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const name of (await readdir(directory)).sort()) files.set(name, hexOf(new Uint8Array(await readFile(join(directory, name)))));
  return files;
}

function hexOf(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

// ---- bit flips in the commit log ---------------------------------------------------------

/** Forty writes over seven keys (puts, deletes, batches), each value naming its record. */
function logRecords(): LogOperation[][] {
  const key = (n: number) => bytes(`key${n % 7}`);
  return Array.from({ length: 40 }, (_, i): LogOperation[] => {
    if (i % 6 === 5) return [{ key: key(i), value: bytes(`batch${i}`) }, { key: key(i + 3), value: null }];
    if (i % 4 === 3) return [{ key: key(i), value: null }];
    return [{ key: key(i), value: bytes(`value${i}`) }];
  });
}

/** The store after the first `count` records. */
function stateAfter(records: readonly LogOperation[][], count: number): [string, string][] {
  const model = new Map<string, string>();
  for (const record of records.slice(0, count)) {
    for (const op of record) {
      if (op.value === null) model.delete(decoder.decode(op.key));
      else model.set(decoder.decode(op.key), decoder.decode(op.value));
    }
  }
  return [...model.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

describe("lsm engine: a flipped byte in the commit log", () => {
  it("recovers every record before the corrupt one and nothing from it or after it", async () => {
    const records = logRecords();
    // Written by the engine (sync "always": each write is in the log when it resolves), copied
    // aside before close, so the copy is what a crash leaves: everything in the log, no table.
    const directory = freshDirectory();
    const engine = new LsmEngine({ directory, sync: "always" }, systemScheduler);
    await engine.open();
    for (const record of records) {
      if (record.length > 1) {
        await engine.batch(
          record.map((op) => (op.value === null ? { type: "delete", key: op.key } : { type: "put", key: op.key, value: op.value })),
        );
      } else if (record[0]!.value === null) await engine.delete(record[0]!.key);
      else await engine.put(record[0]!.key, record[0]!.value);
    }
    const crashed = `${directory}-crashed`;
    copyDirectory(directory, crashed);
    await engine.close();

    const logs = readdirSync(crashed).filter((f) => f.endsWith(".log"));
    assertEquals(logs.length, 1);
    const offsets = [0];
    for (const record of records) offsets.push(offsets[offsets.length - 1]! + encodeRecord(record).length);
    const total = offsets[records.length]!;
    assertEquals((await stat(join(crashed, logs[0]!))).size, total, "the log holds exactly the forty records");

    const corrupt = 23;
    const start = offsets[corrupt]!;
    const end = offsets[corrupt + 1]!;
    for (
      const [where, at] of [
        ["length", start + 3],
        ["checksum", start + 6],
        ["payload", Math.floor((start + 8 + end) / 2)],
        ["last byte", end - 1],
      ] as const
    ) {
      const copy = `${crashed}-${where.replace(" ", "-")}`;
      copyDirectory(crashed, copy);
      await flipByte(join(copy, logs[0]!), at);
      const reopened = new LsmEngine({ directory: copy, sync: "always" }, systemScheduler);
      await reopened.open();
      try {
        assertEquals(reopened.stats.recoveredWrites, corrupt, `flip in the ${where}`);
        assertEquals(reopened.stats.lostLogBytes, total - start, `flip in the ${where}`);
        assertEquals(await scanAll(reopened), stateAfter(records, corrupt), `flip in the ${where}`);
        for (let k = 0; k < 7; k++) {
          const expected = new Map(stateAfter(records, corrupt)).get(`key${k}`);
          assertEquals(text(await reopened.get(bytes(`key${k}`))), expected, `flip in the ${where}: key${k}`);
        }
      } finally {
        await reopened.close();
      }
    }
  });

  // Regression: open() used to replay each log independently, so a corrupt record in an older
  // log stopped only that log and the newer one was replayed on top — a state that never existed
  // (later writes present, earlier ones lost). Replay now stops at the first corrupt record.
  it("a corrupt record in an older log also drops the newer logs' records", async () => {
    const records = logRecords();
    const directory = freshDirectory();
    mkdirSync(directory, { recursive: true });
    // What a crash leaves while a frozen memtable's log (1) and the current log (2) both hold writes.
    await writeManifest(hostFileSystem, directory, { nextFile: 3, log: 1, levels: [[]] });
    const older = records.slice(0, 20).map((record) => encodeRecord(record));
    const newer = records.slice(20).map((record) => encodeRecord(record));
    await writeFile(join(directory, "000001.log"), concat(older));
    await writeFile(join(directory, "000002.log"), concat(newer));
    const corrupt = 11;
    await flipByte(join(directory, "000001.log"), concat(older.slice(0, corrupt)).length + 10);
    const engine = new LsmEngine({ directory, sync: "always" }, systemScheduler);
    await engine.open();
    try {
      assert(engine.stats.lostLogBytes > 0);
      assertEquals(await scanAll(engine), stateAfter(records, corrupt));
    } finally {
      await engine.close();
    }
  });
});

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// ---- bit flips in a table ----------------------------------------------------------------

const SMALL: Partial<LsmEngineOptions> = {
  memtableBytes: 8192,
  blockBytes: 512,
  tableBytes: 8192,
  levelBaseBytes: 32 * 1024,
  blockCacheBytes: 0, // every read goes to the file
  compactionTrigger: 2,
};

/** A closed store whose data is all in tables, the model of it, and its largest table. */
async function tables(): Promise<
  { directory: string; model: Map<string, string>; table: string; index: [number, number]; bloom: [number, number] }
> {
  const directory = freshDirectory();
  const engine = new LsmEngine({ ...SMALL, directory }, systemScheduler);
  await engine.open();
  const model = new Map<string, string>();
  for (let i = 0; i < 400; i++) {
    const key = `key${String((i * 37) % 400).padStart(3, "0")}`;
    const value = `value${i}-`.padEnd(40, "v");
    await engine.put(bytes(key), bytes(value));
    model.set(key, value);
  }
  await engine.settle();
  await engine.close();
  const sizes = await Promise.all(
    readdirSync(directory)
      .filter((f) => f.endsWith(".sst"))
      .map(async (f) => [f, (await stat(join(directory, f))).size] as const),
  );
  const [table] = sizes.reduce((a, b) => (b[1] > a[1] ? b : a));
  // Footer (sstable.ts): magic, version, indexOffset, indexLength, bloomOffset, bloomLength, count, crc.
  const file = new Uint8Array(await readFile(join(directory, table)));
  const footer = new DataView(file.buffer, file.byteOffset + file.length - 32, 32);
  return {
    directory,
    model,
    table,
    index: [footer.getUint32(8), footer.getUint32(12)],
    bloom: [footer.getUint32(16), footer.getUint32(20)],
  };
}

/** Every read of the store in `directory` returns the model's data or fails with a CorruptDataError naming `table`. */
async function neverWrongData(directory: string, model: ReadonlyMap<string, string>, table: string): Promise<CorruptDataError[]> {
  const errors: CorruptDataError[] = [];
  const caught = (error: unknown) => {
    assert(error instanceof CorruptDataError, `not a CorruptDataError: ${String(error)}`);
    assert(error.location.includes(table), `the error names ${error.location}, not ${table}`);
    errors.push(error);
  };
  const engine = new LsmEngine({ ...SMALL, directory }, systemScheduler);
  await engine.open();
  try {
    for (const [key, value] of model) {
      try {
        assertEquals(text(await engine.get(bytes(key))), value, key);
      } catch (error) {
        caught(error);
      }
    }
    try {
      assertEquals(await scanAll(engine), [...model.entries()].sort(([a], [b]) => (a < b ? -1 : 1)));
    } catch (error) {
      caught(error);
    }
  } finally {
    await engine.close();
  }
  return errors;
}

describe("lsm engine: a flipped byte in a table", () => {
  it("the untouched store reads back exactly (the control for the flips below)", async () => {
    const { directory, model, table } = await tables();
    assertEquals(await neverWrongData(directory, model, table), []);
  });

  for (const block of ["index", "bloom"] as const) {
    it(`a flip anywhere in the ${block} block makes open fail with a CorruptDataError naming the file`, async () => {
      const built = await tables();
      const [offset, length] = built[block];
      assert(length > 8, `${block} block of ${length} bytes`);
      for (const at of [offset, offset + Math.floor(length / 2), offset + length - 5, offset + length - 1]) {
        const copy = `${built.directory}-${block}-${at}`;
        copyDirectory(built.directory, copy);
        await flipByte(join(copy, built.table), at);
        const error = await assertRejects(() => new LsmEngine({ ...SMALL, directory: copy }, systemScheduler).open(), CorruptDataError);
        assert(error.location.includes(built.table), `flip at ${at}: the error names ${error.location}`);
      }
    });
  }

  it("a flip in a data block fails the reads that need it, and no read returns wrong data", async () => {
    const built = await tables();
    const copy = `${built.directory}-data`;
    copyDirectory(built.directory, copy);
    await flipByte(join(copy, built.table), Math.floor(built.index[0] / 2)); // a block in the middle
    const errors = await neverWrongData(copy, built.model, built.table);
    assert(errors.length > 0, "no read met the corrupt block");
  });
});

/** A seeded generator of numbers in [0, 1) (the project's xoshiro128**), the same on every runtime. */
function seeded(seed: number): () => number {
  const random = new SeededRandom(seed);
  return () => random.next();
}
