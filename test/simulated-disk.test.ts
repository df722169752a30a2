/**
 * The simulated disk: what survives a crash (synced bytes, synced directory entries, a torn
 * prefix of the rest), that a crashed process can no longer touch it, its faults (EIO, ENOSPC,
 * slow fsync, a flipped bit), and the real LSM engine on it in the lab: a power loss costs
 * acknowledged writes under `sync: "never"` and `"interval"`, none under `"always"`.
 */
import { describe, it } from "@std/testing/bdd";
import { assert, assertEquals, assertRejects } from "@std/assert";
import { DirectoryLockedError } from "../core/errors.ts";
import { SeededRandom } from "../core/runtime/seeded-random.ts";
import { SimulatedDisk } from "../core/runtime/simulated-disk.ts";
import { VirtualScheduler } from "../core/runtime/virtual-scheduler.ts";
import { virtualRuntime } from "../core/runtime/runtime.ts";
import { LsmEngine } from "../plugins/engines/lsm/lsm-engine.ts";
import { encodeRecord, LogWriter, readLog } from "../plugins/engines/lsm/commit-log.ts";
import type { FileSystem } from "../core/interfaces/file-system.ts";
import { builtinPlugins } from "../plugins/index.ts";
import { compare, parseScenario } from "../sim/index.ts";

const text = (s: string) => new TextEncoder().encode(s);
const decode = (b: Uint8Array) => new TextDecoder().decode(b);

function disk(options: { tearWrites?: boolean; fsyncMs?: number } = {}) {
  const scheduler = new VirtualScheduler();
  scheduler.start();
  return { scheduler, disk: new SimulatedDisk(scheduler, new SeededRandom(7), { tearWrites: false, ...options }) };
}

const record = (k: string) => encodeRecord([{ key: text(k), value: text(k) }]);

/**
 * A view of `d` whose turn (FileSystem.afterTurn) the test ends by hand, with its file writes
 * counted; /data exists.
 */
function turnedDisk(d: SimulatedDisk): { fs: FileSystem; endTurn: () => void; readonly writes: number } {
  const waiting: (() => void)[] = [];
  const state = {
    writes: 0,
    endTurn: () => waiting.splice(0).forEach((resolve) => resolve()),
    fs: undefined as unknown as FileSystem,
  };
  const view = d.view();
  void view.mkdir("/data");
  state.fs = new Proxy(view, {
    get(target, name) {
      if (name === "afterTurn") return () => new Promise<void>((resolve) => waiting.push(resolve));
      if (name === "open") {
        return async (path: string, mode: "read" | "write" | "write-synced") => {
          const handle = await target.open(path, mode);
          const write = handle.write.bind(handle);
          handle.write = (bytes: Uint8Array) => (state.writes++, write(bytes));
          return handle;
        };
      }
      const value = Reflect.get(target, name);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return state;
}

describe("SimulatedDisk", () => {
  it("the commit log under sync always stays durable on a file system that does not know write-synced", async () => {
    const { disk: d, scheduler } = disk();
    await d.view().mkdir("/data");
    // A file system written before the mode existed: anything but "read" opens a plain file.
    const older = (): FileSystem => {
      const fs = d.view();
      return new Proxy(fs, {
        get(target, name) {
          if (name === "open") return (path: string, mode: string) => target.open(path, mode === "read" ? "read" : "write");
          const value = Reflect.get(target, name);
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
    };
    const log = await LogWriter.create(older(), "/data/1.log", "always");
    await d.view().syncDirectory("/data");
    await log.append(encodeRecord([{ key: text("k"), value: text("v") }]));
    d.crash();
    const replay = await readLog(d.view(), "/data/1.log");
    assertEquals(replay.records.length, 1, "the acknowledged record survived the crash");
    await scheduler.stop();
  });

  it("under sync always on a file system with afterTurn, the appends of one turn share one durable write, made after the turn", async () => {
    const { disk: d, scheduler } = disk();
    const t = turnedDisk(d);
    const log = await LogWriter.create(t.fs, "/data/1.log", "always");
    await d.view().syncDirectory("/data");
    let acknowledged = 0;
    const appends = ["a", "b", "c"].map((k) => log.append(record(k)).then(() => acknowledged++));
    await Promise.resolve();
    await Promise.resolve();
    assertEquals([t.writes, acknowledged], [0, 0], "nothing is written, or acknowledged, before the turn ends");
    t.endTurn();
    await Promise.all(appends);
    assertEquals([t.writes, acknowledged], [1, 3], "one write for the three appends");
    d.crash();
    assertEquals((await readLog(d.view(), "/data/1.log")).records.length, 3);
    await scheduler.stop();
  });

  it("appends queued while the log waits for the log before it are rejected, and never written, when that log fails", async () => {
    const { disk: d, scheduler } = disk();
    await d.view().mkdir("/data");
    const log = await LogWriter.create(d.view(), "/data/1.log", "always");
    await d.view().syncDirectory("/data");
    let fail!: (error: unknown) => void;
    log.after(new Promise<void>((_, reject) => (fail = reject)));
    const outcome = (append: Promise<void>) => append.then(() => "acknowledged", (error: unknown) => error);
    const first = outcome(log.append(record("a")));
    await Promise.resolve(); // the first write now waits for the log before
    const second = outcome(log.append(record("b"))); // queued behind it
    const failure = new Error("the log before failed");
    fail(failure);
    assertEquals([await first, await second], [failure, failure]);
    await assertRejects(() => log.append(record("c")), Error, "the log before failed");
    d.crash();
    assertEquals((await readLog(d.view(), "/data/1.log")).records.length, 0, "nothing written after the gap");
    await scheduler.stop();
  });

  it("a log abandoned while its write waits for the turn writes nothing and rejects its appends; one closed then writes them all", async () => {
    const { disk: d, scheduler } = disk();
    const t = turnedDisk(d);
    const abandoned = await LogWriter.create(t.fs, "/data/1.log", "always");
    const crash = new Error("killed");
    const lost = abandoned.append(record("a")).then(() => "acknowledged", (error: unknown) => error);
    // abandon() waits for the write in flight, here one waiting for the turn to end.
    const abandoning = abandoned.abandon(crash);
    assertEquals(await lost, crash, "the append is rejected at once");
    t.endTurn();
    await abandoning;
    await Promise.resolve();
    assertEquals(t.writes, 0, "nothing written after the abandon");
    await assertRejects(() => abandoned.append(record("b")), Error, "killed");

    const closed = await LogWriter.create(t.fs, "/data/2.log", "always");
    await d.view().syncDirectory("/data");
    const kept = [closed.append(record("a")), closed.append(record("b"))];
    const closing = closed.close();
    t.endTurn();
    await Promise.all([...kept, closing]);
    assertEquals(t.writes, 1);
    d.crash();
    assertEquals((await readLog(d.view(), "/data/2.log")).records.length, 2);
    await scheduler.stop();
  });

  it("a file opened write-synced keeps every write across a crash, and each takes an fsync's time", async () => {
    const { disk: d, scheduler } = disk({ fsyncMs: 2 });
    const fs = d.view();
    await fs.mkdir("/data");
    const log = await fs.open("/data/a.log", "write-synced");
    await fs.syncDirectory("/data");
    const before = scheduler.now();
    await log.write(text("one;"));
    await log.write(text("two"));
    assert(scheduler.now() - before >= 4, `two writes took ${scheduler.now() - before} ms of virtual time`);
    d.crash();
    assertEquals(decode(await d.view().readFile("/data/a.log")), "one;two");
    assertEquals(d.stats.lostBytes, 0);
    await scheduler.stop();
  });

  it("a crash keeps synced bytes and synced directory entries, and drops the rest", async () => {
    const { disk: d, scheduler } = disk();
    const fs = d.view();
    await fs.mkdir("/data");
    const log = await fs.open("/data/a.log", "write");
    await log.write(text("synced;"));
    await log.sync();
    await fs.syncDirectory("/data");
    await log.write(text("in the page cache"));
    assertEquals(decode(await fs.readFile("/data/a.log")), "synced;in the page cache", "readable before a sync");
    const loose = await fs.open("/data/b.log", "write");
    await loose.write(text("synced, but its name was never"));
    await loose.sync();
    d.crash();
    const after = d.view();
    assertEquals(decode(await after.readFile("/data/a.log")), "synced;");
    assertEquals(await after.readdir("/data"), ["a.log"], "a file whose directory was not synced is gone");
    assertEquals(
      d.stats.lostBytes,
      "in the page cache".length,
      "unsynced bytes discarded (b.log's were synced: its name is what was lost)",
    );
    await scheduler.stop();
  });

  it("a rename survives only once its directory is synced; before, the old name comes back", async () => {
    const { disk: d, scheduler } = disk();
    const fs = d.view();
    await fs.mkdir("/d");
    const f = await fs.open("/d/MANIFEST.tmp", "write");
    await f.write(text("v1"));
    await f.sync();
    await fs.syncDirectory("/d");
    await fs.rename("/d/MANIFEST.tmp", "/d/MANIFEST");
    d.crash();
    assertEquals(await d.view().readdir("/d"), ["MANIFEST.tmp"]);
    const fs2 = d.view();
    await fs2.rename("/d/MANIFEST.tmp", "/d/MANIFEST");
    await fs2.syncDirectory("/d");
    d.crash();
    assertEquals(await d.view().readdir("/d"), ["MANIFEST"]);
    await scheduler.stop();
  });

  it("with tearWrites a crash keeps a seeded random prefix of the unsynced bytes, the same for the same seed", async () => {
    const kept: string[] = [];
    for (let run = 0; run < 2; run++) {
      const { disk: d, scheduler } = disk({ tearWrites: true });
      const fs = d.view();
      const f = await fs.open("/f", "write");
      await f.write(text("0123456789"));
      await fs.syncDirectory("/");
      d.crash();
      const bytes = decode(await d.view().readFile("/f"));
      assert("0123456789".startsWith(bytes), `a prefix, got "${bytes}"`);
      kept.push(bytes);
      await scheduler.stop();
    }
    assertEquals(kept[0], kept[1]);
  });

  it("a crashed process's handles and views fail with EBADF; the new process's do not", async () => {
    const { disk: d, scheduler } = disk();
    const fs = d.view();
    const f = await fs.open("/f", "write");
    d.crash();
    await assertRejects(() => f.write(text("late")), Error, "EBADF");
    await assertRejects(() => fs.unlink("/f"), Error, "EBADF");
    await d.view().mkdir("/ok");
    await scheduler.stop();
  });

  it("fsync takes virtual time, slow() multiplies it; EIO and ENOSPC faults fail writes and change nothing", async () => {
    const { disk: d, scheduler } = disk({ fsyncMs: 3 });
    const fs = d.view();
    const f = await fs.open("/f", "write");
    await f.write(text("abc"));
    const t0 = scheduler.now();
    await f.sync();
    assertEquals(scheduler.now() - t0, 3);
    d.slow(10);
    const t1 = scheduler.now();
    await f.sync();
    assertEquals(scheduler.now() - t1, 30);
    d.repair();
    d.fail();
    await assertRejects(() => f.write(text("x")), Error, "EIO");
    await assertRejects(() => f.sync(), Error, "EIO");
    d.repair();
    d.setCapacity(5);
    await assertRejects(() => f.write(text("too long")), Error, "ENOSPC");
    await f.write(text("de"));
    assertEquals(decode(await fs.readFile("/f")), "abcde");
    assertEquals(d.stats.failedOperations, 3);
    await scheduler.stop();
  });

  it("corrupt() flips one durable bit, and the LSM engine's checksums catch it", async () => {
    const { disk: d, scheduler } = disk();
    const engine = new LsmEngine({ directory: "/n1", memtableBytes: 4096 }, scheduler, undefined, d.view());
    await engine.open();
    for (let i = 0; i < 400; i++) await engine.put(text(`key-${i}`), text(`value-${i}`.repeat(4)));
    await engine.close();
    const flipped = d.corrupt(/\.sst$/);
    assert(flipped, "a table to corrupt");
    const reopened = new LsmEngine({ directory: "/n1", memtableBytes: 4096 }, scheduler, undefined, d.view());
    let caught: unknown;
    try {
      await reopened.open();
      for (let i = 0; i < 400; i++) {
        const value = await reopened.get(text(`key-${i}`));
        assertEquals(value && decode(value), `value-${i}`.repeat(4), "a value read is never a wrong one");
      }
    } catch (error) {
      caught = error;
    }
    assert(
      caught instanceof Error && /CORRUPT|checksum|corrupt/i.test(`${(caught as { code?: string }).code} ${caught.message}`),
      String(caught),
    );
    await scheduler.stop();
  });

  it("one engine per directory; a crash frees it for the restarted process", async () => {
    const { disk: d, scheduler } = disk();
    const fs = d.view();
    await fs.mkdir("/n1");
    await fs.lockDirectory("/n1");
    await assertRejects(() => d.view().lockDirectory("/n1"), DirectoryLockedError);
    d.crash();
    const held = await d.view().lockDirectory("/n1");
    await held.release();
    await scheduler.stop();
  });

  it("the virtual runtime gives each node its own disk, which outlives its instances", async () => {
    const runtime = virtualRuntime(3);
    const fs = runtime.fileSystemFor("n1");
    await fs.mkdir("/x");
    assertEquals(await runtime.fileSystemFor("n1").readdir("/"), ["x"]);
    assertEquals(await runtime.fileSystemFor("n2").readdir("/"), []);
    assert(runtime.diskOf("n1") === runtime.diskOf("n1"));
  });
});

describe("the LSM engine on simulated disks in the lab", () => {
  it("a power loss costs acknowledged writes with sync never and interval, none with always, on every seed", async () => {
    const scenario = parseScenario({
      name: "power-loss-small",
      workload: {
        type: "ycsb",
        clients: 6,
        operations: 1500,
        records: 300,
        mix: { read: 0.5, update: 0.25, insert: 0.25 },
        distribution: "uniform",
        valueBytes: 50,
        thinkMs: { min: 0, max: 10 },
      },
      faults:
        "crash n1 at 1500ms, crash n2 at 1500ms, crash n3 at 1500ms, restart n1 at 1700ms, restart n2 at 1700ms, restart n3 at 1700ms",
      quiesceMs: 500,
    });
    const store = (sync: string) => ({
      nodes: 3,
      replication: { n: 3, r: 2, w: 2 },
      requestTimeoutMs: 500,
      detector: "static",
      engine: { name: "lsm", options: { directory: "data", sync, syncIntervalMs: 1000 } },
    });
    const comparison = await compare(
      scenario,
      ["always", "interval", "never"].map((sync) => ({ name: sync, config: store(sync) })),
      { registry: builtinPlugins, seeds: [1, 2, 3] },
    );
    const lost = Object.fromEntries(comparison.results.map((r) => [r.config, r.runs.map((run) => run.staleReads?.lost ?? -1)]));
    assertEquals(lost.always, [0, 0, 0], "fsync on every write: nothing acknowledged is lost");
    for (const sync of ["interval", "never"]) {
      for (const [i, n] of lost[sync]!.entries()) assert(n > 0, `sync ${sync}, seed ${i + 1}: the power loss cost acknowledged writes`);
    }
    const again = await compare(scenario, [{ name: "never", config: store("never") }], { registry: builtinPlugins, seeds: [2] });
    assertEquals(again.results[0]!.runs[0]!.digest, comparison.results[2]!.runs[1]!.digest, "same seed, same history");
  });
});

describe("disk faults in the fault language", () => {
  it("parses disk-fail, disk-full, slow-disk, corrupt and disk-repair, and refuses a bad factor", async () => {
    const { parseFaults } = await import("../sim/index.ts");
    const events = parseFaults("disk-fail n1 at 1s, disk-repair at 2s; slow-disk n2 10x at 1s; disk-full n3 at 3s; corrupt n1 at 4s", [
      "n1",
      "n2",
      "n3",
    ]);
    assertEquals(events.map((e) => [e.at, e.action, "node" in e ? e.node : undefined, "factor" in e ? e.factor : undefined]), [
      [1000, "disk-fail", "n1", undefined],
      [1000, "slow-disk", "n2", 10],
      [2000, "disk-repair", "n1", undefined],
      [3000, "disk-full", "n3", undefined],
      [4000, "corrupt", "n1", undefined],
    ]);
    let message = "";
    try {
      parseFaults("slow-disk n2 0.5x at 1s", ["n2"]);
    } catch (error) {
      message = String(error);
    }
    assert(message.includes("slow-disk looks like"), message);
  });

  it("a failing, slow, corrupted disk on one replica costs no acknowledged write with sync always; the history says what happened", async () => {
    const scenario = parseScenario({
      name: "bad-disk",
      workload: {
        type: "ycsb",
        clients: 6,
        operations: 1500,
        records: 300,
        mix: { read: 0.5, update: 0.25, insert: 0.25 },
        distribution: "uniform",
        valueBytes: 50,
        thinkMs: { min: 0, max: 10 },
      },
      faults: "slow-disk n1 20x at 300ms, disk-fail n2 at 600ms, corrupt n3 at 900ms, disk-repair n2 at 1500ms, disk-repair n1 at 2s",
      quiesceMs: 500,
    });
    const store = {
      nodes: 3,
      replication: { n: 3, r: 2, w: 2 },
      requestTimeoutMs: 500,
      detector: "static",
      engine: { name: "lsm", options: { directory: "data", sync: "always", memtableBytes: 8192 } },
    };
    const { runScenario } = await import("../sim/index.ts");
    const { report, history } = await runScenario(store, scenario, 1, { registry: builtinPlugins });
    assertEquals(report.staleReads?.lost, 0, "the other replicas hold every acknowledged write");
    const faults = history.faults.map((f) => f.fault.split(" ").slice(0, 2).join(" "));
    for (const f of ["slow-disk n1", "disk-fail n2", "corrupt n3", "disk-repair n2", "disk-repair n1"]) assert(faults.includes(f), f);
    assert(report.availability.ok > 0);
  });
});

describe("disk faults from the random nemesis", () => {
  it("are drawn only when named, each ended by disk-repair before until, one per node at a time", async () => {
    const { randomFaults, randomNemesisSchema } = await import("../sim/index.ts");
    const nodes = ["n1", "n2", "n3"];
    const plain = randomFaults(randomNemesisSchema.parse({ every: "1s", until: "30s" }), nodes, new SeededRandom(5));
    assert(!plain.some((e) => e.action.includes("disk")), "not unless named");
    const spec = randomNemesisSchema.parse({ every: "500ms", until: "20s", kinds: ["slow-disk", "disk-fail"] });
    for (let seed = 1; seed <= 20; seed++) {
      const events = randomFaults(spec, nodes, new SeededRandom(seed));
      assert(events.length > 0);
      const open = new Map<string, number>();
      for (const e of events) {
        assert(e.at <= 20_000, `within until: ${JSON.stringify(e)}`);
        if (!("node" in e)) continue;
        if (e.action === "disk-repair") {
          assert(open.has(e.node), `a repair ends a fault: ${JSON.stringify(e)}`);
          open.delete(e.node);
        } else {
          assert(!open.has(e.node), `one disk fault per node at a time (seed ${seed})`);
          open.set(e.node, e.at);
          if (e.action === "slow-disk") assert(e.factor! >= 5 && e.factor! <= 50);
        }
      }
      assertEquals(open.size, 0, "every disk fault is repaired");
    }
  });
});
