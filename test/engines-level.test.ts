/**
 * Runs the StorageEngine conformance suite against the level engine over classic-level
 * (LevelDB) in a temporary directory — built by its plugin the way a node builds it, and over a
 * database given in code — plus level-specific tests. classic-level is an optional dependency:
 * without it (or where its native addon cannot load) these tests are skipped, saying why.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { globalContainer as container } from "../core/build/di.ts";
import { afterAll, afterEach, beforeAll, describe, it } from "@std/testing/bdd";
import { assertEquals, assertInstanceOf, assertRejects, assertThrows } from "@std/assert";
import { RingforgeError } from "../core/errors.ts";
import { STORAGE_ENGINE } from "../core/interfaces/storage-engine.ts";
import type { StorageEngine } from "../core/interfaces/storage-engine.ts";
import { NODE_SETTINGS, nodeSettings } from "../core/node/settings.ts";
import { LevelEngine, levelEngine, levelEnginePlugin } from "../plugins/engines/level.ts";
import type { LevelDatabase, LevelEngineOptions } from "../plugins/engines/level.ts";
import { storageEngineSuite } from "./conformance/storage-engine.ts";

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

describeLevel(title, () => {
  let directory = "";
  let nodes = 0;
  const nodeOf = new WeakMap<StorageEngine, string>();

  beforeAll(() => {
    directory = mkdtempSync(join(tmpdir(), "ringforge-level-"));
  });

  // Databases given in code open themselves when created (abstract-level's deferred open), so
  // the ones an engine never opened, and so never closes, are closed here.
  const givenDatabases: LevelDatabase[] = [];

  afterAll(async () => {
    for (const db of givenDatabases.splice(0)) await db.close();
    rmSync(directory, { recursive: true, force: true });
  });

  /** The engine the plugin registers for node `id`: a restarted node with the same id reopens it. */
  function nodeEngine(id = `n${++nodes}`, options: LevelEngineOptions = { directory }): StorageEngine {
    const child = container.createChildContainer();
    child.register(NODE_SETTINGS, { useValue: nodeSettings(id) });
    levelEnginePlugin.register(child, levelEnginePlugin.parseOptions(options));
    const engine = child.resolve<StorageEngine>(STORAGE_ENGINE);
    nodeOf.set(engine, id);
    return engine;
  }

  storageEngineSuite({
    name: "level (plugin, classic-level)",
    create: () => nodeEngine(),
    capabilities: { persistent: true },
    reopen: (closed) => nodeEngine(nodeOf.get(closed)),
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

    it("the plugin registers one engine per container, each node in its own database", async () => {
      const child = container.createChildContainer();
      child.register(NODE_SETTINGS, { useValue: nodeSettings("a1") });
      levelEnginePlugin.register(child, levelEnginePlugin.parseOptions({ directory }));
      const engine = child.resolve<StorageEngine>(STORAGE_ENGINE);
      assertInstanceOf(engine, LevelEngine);
      assertEquals(child.resolve<StorageEngine>(STORAGE_ENGINE), engine);
      const other = nodeEngine("a2");
      engines.push(engine, other);
      await engine.open();
      await other.open();
      await engine.put(bytes(1), bytes(1));
      assertEquals(await other.get(bytes(1)), undefined);
      // A second engine over the same node's database cannot open while the first holds it.
      const twin = nodeEngine("a1");
      await assertRejects(() => twin.open());
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
