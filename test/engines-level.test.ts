/**
 * Runs the StorageEngine conformance suite against the level engine over classic-level
 * (LevelDB) in a temporary directory — built by its plugin the way a node builds it, and over a
 * database given in code — plus level-specific tests, among them the directory lock (in this
 * process and against a holder in another, test/support/level-holder.ts). classic-level is an
 * optional dependency: without it (or where its native addon cannot load) these tests are
 * skipped, saying why.
 */
import { standaloneContext } from "../core/build/standalone-context.ts";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, describe, it } from "@std/testing/bdd";
import { assert, assertEquals, assertInstanceOf, assertRejects, assertThrows } from "@std/assert";
import { DirectoryLockedError, RingforgeError } from "../core/errors.ts";
import type { StorageEngine } from "../core/interfaces/storage-engine.ts";
import { LevelEngine, levelEngine, levelEnginePlugin } from "../plugins/engines/level.ts";
import type { LevelDatabase, LevelEngineOptions } from "../plugins/engines/level.ts";
import { storageEngineSuite } from "../plugin-kit/testing/index.ts";

const classicLevel: typeof import("classic-level") | string = await import("classic-level").catch(
  (error: unknown) => `classic-level cannot be loaded (${error instanceof Error ? error.message : String(error)})`,
);
const available = typeof classicLevel !== "string";
const describeLevel = available ? describe : describe.skip;
const title = available ? "level engine over classic-level" : `level engine (skipped: ${classicLevel})`;
if (!available) console.warn(`test/engines-level.test.ts: skipped: ${classicLevel}`);

function ClassicLevel(): typeof import("classic-level").ClassicLevel {
  if (typeof classicLevel === "string") throw new Error(classicLevel);
  return classicLevel.ClassicLevel;
}

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);

const repository = fileURLToPath(new URL("..", import.meta.url));
const holderScript = fileURLToPath(new URL("./support/level-holder.ts", import.meta.url));
const underDeno = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";

/**
 * Runs test/support/level-holder.ts on `location` under this runtime; resolves with its first
 * line (`holding <pid>` or `refused <code>`) and a function that kills it with SIGKILL.
 */
function startHolder(location: string): Promise<{ line: string; kill(): Promise<void> }> {
  const args = underDeno ? ["run", "-A", holderScript, location] : ["--import", "tsx", holderScript, location];
  const child = spawn(process.execPath, args, { cwd: repository, stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<void>((resolve) => child.on("close", () => resolve()));
  const kill = async () => {
    child.kill("SIGKILL");
    await exited;
  };
  let out = "";
  let err = "";
  return new Promise((resolve, reject) => {
    const watchdog = setTimeout(() => void kill().then(() => reject(new Error(`the holder said nothing: ${err}`))), 20_000);
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (chunk: string) => (err += chunk));
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (chunk: string) => {
      out += chunk;
      const newline = out.indexOf("\n");
      if (newline < 0) return;
      clearTimeout(watchdog);
      resolve({ line: out.slice(0, newline), kill });
    });
    child.on("error", reject);
    void exited.then(() => reject(new Error(`the holder exited without a word: ${err}`)));
  });
}

describeLevel(title, () => {
  // Made when the tests are registered (the plugin's suite takes its options then), only if
  // they will run.
  const directory = available ? mkdtempSync(join(tmpdir(), "ringforge-level-")) : "";
  let nodes = 0;

  // Databases given in code open themselves when created (abstract-level's deferred open), so
  // the ones an engine never opened, and so never closes, are closed here.
  const givenDatabases: LevelDatabase[] = [];

  afterAll(async () => {
    for (const db of givenDatabases.splice(0)) await db.close();
    rmSync(directory, { recursive: true, force: true });
  });

  /** The engine the plugin registers for node `id`: a restarted node with the same id reopens it. */
  function nodeEngine(id = `n${++nodes}`, options: LevelEngineOptions = { directory }): StorageEngine {
    return levelEnginePlugin.create(standaloneContext({ id }), levelEnginePlugin.parseOptions(options));
  }

  // The suite's nodes keep their databases apart from this file's own.
  storageEngineSuite({
    plugin: levelEnginePlugin,
    options: { directory: join(directory, "suite") },
    name: "level (plugin, classic-level)",
  });

  // A database given in code, with string default encodings: the engine asks for bytes per call.
  const databaseOf = new WeakMap<StorageEngine, LevelDatabase>();
  function givenEngine(db?: LevelDatabase): LevelEngine {
    if (db === undefined) {
      db = new (ClassicLevel())(join(directory, `given-${++nodes}`));
      givenDatabases.push(db);
    }
    const engine = new LevelEngine(db);
    databaseOf.set(engine, db);
    return engine;
  }
  storageEngineSuite({
    name: "level (a ClassicLevel instance given in code)",
    create: () => givenEngine(),
    capabilities: { persistent: true },
    reopen: (closed) => givenEngine(databaseOf.get(closed)),
  });

  describe("level engine", () => {
    const engines: StorageEngine[] = [];
    afterEach(async () => {
      for (const engine of engines.splice(0)) await engine.close();
    });

    it("the plugin creates one engine per node, each node in its own database", async () => {
      const engine = nodeEngine("a1");
      assertInstanceOf(engine, LevelEngine);
      const other = nodeEngine("a2");
      engines.push(engine, other);
      await engine.open();
      await other.open();
      await engine.put(bytes(1), bytes(1));
      assertEquals(await other.get(bytes(1)), undefined);
      // A second engine over the same node's database cannot open while the first holds it.
      const twin = nodeEngine("a1");
      const error = await assertRejects(() => twin.open(), DirectoryLockedError);
      assertEquals([error.code, error.directory, error.pid, error.host], [
        "RINGFORGE_DIRECTORY_LOCKED",
        join(directory, "a1"),
        process.pid,
        hostname(),
      ]);
      assertEquals(error.message.includes("\n"), false);
    });

    it("a second engine of this process is refused before LevelDB sees the directory, so other processes stay locked out", async () => {
      const location = join(directory, "in-process");
      const first = new LevelEngine({ location });
      engines.push(first);
      await first.open();
      await assertRejects(() => new LevelEngine({ location }).open(), DirectoryLockedError);
      // Had LevelDB itself refused the twin, closing its LOCK file would have dropped this
      // process's lock on it (POSIX locks belong to the process), letting another process in.
      const other = await startHolder(location);
      try {
        assertEquals(other.line, "refused RINGFORGE_DIRECTORY_LOCKED");
      } finally {
        await other.kill();
      }
      await first.put(bytes(1), bytes(1));
      assertEquals(await first.get(bytes(1)), bytes(1));
    });

    it("a database another process holds is refused with a one-line DirectoryLockedError, and opens once it is gone", async () => {
      const location = join(directory, "held-elsewhere");
      const holder = await startHolder(location);
      let killed = false;
      try {
        assertEquals(holder.line.split(" ")[0], "holding");
        const engine = new LevelEngine({ location });
        const error = await assertRejects(() => engine.open(), DirectoryLockedError);
        assertEquals([error.code, error.directory, error.pid], ["RINGFORGE_DIRECTORY_LOCKED", location, undefined]);
        assertEquals(error.message.includes("\n"), false);
        assert(error.message.startsWith(`data directory ${location} is in use by another process`), error.message);
        await holder.kill();
        killed = true;
        // The refusal kept nothing: LevelDB's lock went with its holder, and the same engine opens.
        engines.push(engine);
        await engine.open();
        await engine.put(bytes(2), bytes(2));
        assertEquals(await engine.get(bytes(2)), bytes(2));
      } finally {
        if (!killed) await holder.kill();
      }
    });

    it("get and scan return plain Uint8Arrays, not Buffers", async () => {
      const engine = nodeEngine();
      engines.push(engine);
      await engine.open();
      await engine.put(bytes(1), bytes(2));
      assertEquals(await engine.get(bytes(1)), bytes(2));
      for await (const [key, value] of engine.scan()) {
        assertEquals([key, value], [bytes(1), bytes(2)]);
        assertEquals(Object.getPrototypeOf(key), Uint8Array.prototype);
        assertEquals(Object.getPrototypeOf(value), Uint8Array.prototype);
      }
    });

    it("copies what it writes into a database it did not open", async () => {
      // A database that keeps the arrays it is handed, as memory-level does.
      const stored = new Map<string, Uint8Array>();
      const done = Promise.resolve();
      const keeping: LevelDatabase = {
        open: () => done,
        close: () => done,
        get: (key) => Promise.resolve(stored.get(key.join())),
        put: (key, value) => {
          stored.set(key.join(), value);
          return done;
        },
        del: (key) => {
          stored.delete(key.join());
          return done;
        },
        batch: (ops) => {
          for (const op of ops) {
            if (op.type === "put") stored.set(op.key.join(), op.value);
            else stored.delete(op.key.join());
          }
          return done;
        },
        iterator: () => ({ next: () => Promise.resolve(undefined), close: () => done }),
      };
      const engine = new LevelEngine(keeping);
      engines.push(engine);
      await engine.open();
      const value = bytes(1);
      const batched = bytes(2);
      await engine.put(bytes(1), value);
      await engine.batch([{ type: "put", key: bytes(2), value: batched }]);
      value[0] = 9;
      batched[0] = 9;
      assertEquals(await engine.get(bytes(1)), bytes(1));
      assertEquals(await engine.get(bytes(2)), bytes(2));
    });

    it("the typed factory and config data choose the same plugin and options", () => {
      assertEquals(levelEngine({ directory: "/data" }), { plugin: levelEnginePlugin, options: { directory: "/data" } });
      assertEquals(levelEnginePlugin.parseOptions({ directory: "/data" }), { directory: "/data" });
    });

    it("rejects a missing directory or unknown options with RINGFORGE_INVALID_CONFIG", () => {
      for (const bad of [undefined, {}, { directory: "" }, { directory: 1 }, { directory: "/d", location: "/l" }]) {
        const error = assertThrows(() => levelEnginePlugin.parseOptions(bad), RingforgeError);
        assertEquals(error.code, "RINGFORGE_INVALID_CONFIG");
      }
    });

    it("rejects a node id that would leave the directory, with RINGFORGE_INVALID_CONFIG", () => {
      for (const id of ["..", "a/b"]) {
        const error = assertThrows(() => nodeEngine(id), RingforgeError);
        assertEquals(error.code, "RINGFORGE_INVALID_CONFIG");
      }
    });
  });
});
