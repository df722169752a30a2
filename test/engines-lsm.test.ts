/**
 * The LSM engine: the StorageEngine conformance suite (for both compaction strategies), a
 * fast-check comparison with a Map model across flushes, compactions and reopens, recovery
 * from a torn log tail, and corrupt table bytes.
 */
import { afterAll, describe, it } from "@std/testing/bdd";
import { assert, assertEquals, assertRejects } from "@std/assert";
import fc from "fast-check";
import { mkdtempSync, rmSync } from "node:fs";
import { appendFile, readFile, readdir, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CorruptDataError } from "../core/errors.ts";
import type { StorageEngine } from "../core/interfaces/storage-engine.ts";
import { LsmEngine, type LsmEngineOptions, lsmEnginePlugin } from "../plugins/engines/lsm/index.ts";
import { crc32c } from "../plugins/engines/lsm/crc32c.ts";
import { storageEngineSuite } from "./conformance/storage-engine.ts";
import { globalContainer } from "../core/build/di.ts";
import { STORAGE_ENGINE } from "../core/interfaces/storage-engine.ts";
import { NODE_SETTINGS, nodeSettings } from "../core/node/settings.ts";

const root = mkdtempSync(join(tmpdir(), "ringforge-lsm-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;
const freshDirectory = () => join(root, `db${counter++}`);

/** Small sizes, so a few hundred writes go through flushes and compactions. */
const SMALL: Partial<LsmEngineOptions> = {
  memtableBytes: 8192,
  blockBytes: 512,
  tableBytes: 8192,
  levelBaseBytes: 32 * 1024,
  blockCacheBytes: 16 * 1024,
  compactionTrigger: 2,
};

const directoryOf = new WeakMap<StorageEngine, { directory: string; options: Partial<LsmEngineOptions> }>();
function engine(options: Partial<LsmEngineOptions>, directory = freshDirectory()): LsmEngine {
  const e = new LsmEngine({ ...options, directory });
  directoryOf.set(e, { directory, options });
  return e;
}

// Through the plugin, the way a node builds its engine: node `id` keeps its files in
// `<directory>/<id>`, and a restarted node with the same id reopens them.
const pluginDirectory = freshDirectory();
let nodes = 0;
const nodeOf = new WeakMap<StorageEngine, string>();
function nodeEngine(id = `n${++nodes}`): StorageEngine {
  const child = globalContainer.createChildContainer();
  child.register(NODE_SETTINGS, { useValue: nodeSettings(id) });
  lsmEnginePlugin.register(child, lsmEnginePlugin.parseOptions({ directory: pluginDirectory }));
  const e = child.resolve<StorageEngine>(STORAGE_ENGINE);
  nodeOf.set(e, id);
  return e;
}
storageEngineSuite({
  name: "lsm (through its plugin)",
  create: () => nodeEngine(),
  capabilities: { persistent: true },
  reopen: (closed) => nodeEngine(nodeOf.get(closed)),
});

for (const [name, options] of [
  ["lsm (small tables, leveled)", SMALL],
  ["lsm (small tables, size-tiered)", { ...SMALL, compaction: "size-tiered" as const }],
  ["lsm (small tables, deflate blocks)", { ...SMALL, compression: "deflate" as const }],
  ["lsm (small tables, async block reads)", { ...SMALL, blockReads: "async" as const }],
  ["lsm (sync always)", { sync: "always" as const }],
] as const) {
  storageEngineSuite({
    name,
    create: () => engine(options),
    capabilities: { persistent: true },
    reopen: (closed) => {
      const { directory, options } = directoryOf.get(closed)!;
      return engine(options, directory);
    },
  });
}

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

describe("lsm engine", () => {
  it("the plugin keeps each node's files under its own directory and needs a directory", async () => {
    const e = nodeEngine("node-x") as LsmEngine;
    await e.open();
    await e.put(new Uint8Array([1]), new Uint8Array([2]));
    await e.close();
    assert((await readdir(join(pluginDirectory, "node-x"))).includes("MANIFEST"));
    let code = "";
    try {
      lsmEnginePlugin.parseOptions({});
    } catch (error) {
      code = (error as { code?: string }).code ?? "";
    }
    assertEquals(code, "RINGFORGE_INVALID_CONFIG");
  });

  it("crc32c is CRC-32C", () => {
    assertEquals(crc32c(new TextEncoder().encode("123456789")), 0xe3069283);
  });

  for (const compaction of ["leveled", "size-tiered"] as const) {
    it(`matches a Map model across flushes, compactions and reopens (${compaction})`, async () => {
      const op = fc.oneof(
        fc.record({ type: fc.constant("put" as const), key: fc.integer({ min: 0, max: 300 }), size: fc.integer({ min: 0, max: 120 }) }),
        fc.record({ type: fc.constant("delete" as const), key: fc.integer({ min: 0, max: 300 }) }),
        fc.record({ type: fc.constant("reopen" as const) }),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 400 }), async (ops) => {
          const directory = freshDirectory();
          let e = new LsmEngine({ ...SMALL, compaction, directory });
          await e.open();
          const model = new Map<string, string>();
          const keyOf = (k: number) => new TextEncoder().encode(`key${String(k).padStart(4, "0")}`);
          try {
            let n = 0;
            for (const o of ops) {
              if (o.type === "put") {
                const value = new Uint8Array(o.size).fill(n++ % 251);
                await e.put(keyOf(o.key), value);
                model.set(hex(keyOf(o.key)), hex(value));
              } else if (o.type === "delete") {
                await e.delete(keyOf(o.key));
                model.delete(hex(keyOf(o.key)));
              } else {
                await e.close();
                e = new LsmEngine({ ...SMALL, compaction, directory });
                await e.open();
              }
            }
            await e.settle();
            const scanned: [string, string][] = [];
            for await (const [k, v] of e.scan()) scanned.push([hex(k), hex(v)]);
            assertEquals(scanned, [...model.entries()].sort(([a], [b]) => (a < b ? -1 : 1)));
            for (let k = 0; k <= 300; k += 7) {
              const got = await e.get(keyOf(k));
              assertEquals(got === undefined ? undefined : hex(got), model.get(hex(keyOf(k))));
            }
          } finally {
            await e.close();
          }
        }),
        { numRuns: 15 },
      );
    });
  }

  it("flushes and compacts: data ends up in tables and the logs are gone", async () => {
    const e = engine(SMALL);
    await e.open();
    for (let i = 0; i < 2000; i++) await e.put(new TextEncoder().encode(`k${i}`), new Uint8Array(50).fill(i % 256));
    await e.settle();
    assert(e.stats.flushes > 5, `flushes ${e.stats.flushes}`);
    assert(e.stats.compactions > 0, `compactions ${e.stats.compactions}`);
    const files = await readdir(e.options.directory);
    assertEquals(files.filter((f) => f.endsWith(".log")).length, 1);
    await e.close();
  });

  it("recovers everything before a torn log tail, and reports the cut", async () => {
    const directory = freshDirectory();
    const e = new LsmEngine({ directory, sync: "always" });
    await e.open();
    for (let i = 0; i < 10; i++) await e.put(new Uint8Array([i]), new Uint8Array([i, i]));
    // A crash mid-append: simulate by not closing (no fsync-on-close needed under "always") and
    // tearing the log's last record.
    const log = (await readdir(directory)).find((f) => f.endsWith(".log"))!;
    const bytes = await readFile(join(directory, log));
    await writeFile(join(directory, log), bytes.subarray(0, bytes.length - 3));
    await appendFile(join(directory, log), new Uint8Array([1, 2]));
    const reopened = new LsmEngine({ directory, sync: "always" });
    await reopened.open();
    assertEquals(reopened.stats.recoveredWrites, 9);
    assert(reopened.stats.lostLogBytes > 0);
    for (let i = 0; i < 9; i++) assertEquals([...(await reopened.get(new Uint8Array([i])))!], [i, i]);
    assertEquals(await reopened.get(new Uint8Array([9])), undefined);
    await reopened.close();
    await e.close().catch(() => {});
  });

  it("a flipped bit in a table block is a CorruptDataError naming the file and offset, never wrong data", async () => {
    const directory = freshDirectory();
    const e = new LsmEngine({ ...SMALL, directory, blockCacheBytes: 0 });
    await e.open();
    for (let i = 0; i < 300; i++) await e.put(new TextEncoder().encode(`k${String(i).padStart(3, "0")}`), new Uint8Array(30).fill(7));
    await e.settle();
    await e.close();
    const tables = (await readdir(directory)).filter((f) => f.endsWith(".sst")).sort();
    assert(tables.length > 0);
    const path = join(directory, tables[0]!);
    const bytes = new Uint8Array(await readFile(path));
    bytes[10]! ^= 0x40; // inside the first data block
    await writeFile(path, bytes);
    const reopened = new LsmEngine({ ...SMALL, directory, blockCacheBytes: 0 });
    await reopened.open();
    let failed: CorruptDataError | undefined;
    for (let i = 0; i < 300; i++) {
      try {
        const value = await reopened.get(new TextEncoder().encode(`k${String(i).padStart(3, "0")}`));
        if (value !== undefined) assertEquals([...value], new Array(30).fill(7));
      } catch (error) {
        assert(error instanceof CorruptDataError, String(error));
        failed = error;
      }
    }
    assert(failed, "some read hit the corrupt block");
    assert(failed.location.includes(tables[0]!) && /offset \d+/.test(failed.location), failed.location);
    await reopened.close();
  });

  it("a corrupt table footer makes open fail with a CorruptDataError", async () => {
    const directory = freshDirectory();
    const e = new LsmEngine({ ...SMALL, directory });
    await e.open();
    for (let i = 0; i < 200; i++) await e.put(new TextEncoder().encode(`k${i}`), new Uint8Array(40));
    await e.settle();
    await e.close();
    const table = (await readdir(directory)).find((f) => f.endsWith(".sst"))!;
    const path = join(directory, table);
    const { size } = await stat(path);
    const bytes = new Uint8Array(await readFile(path));
    bytes[size - 5]! ^= 0xff;
    await writeFile(path, bytes);
    await assertRejects(() => new LsmEngine({ ...SMALL, directory }).open(), CorruptDataError);
  });
});
