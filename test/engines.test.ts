/**
 * Runs the StorageEngine conformance suite for every bundled engine plugin that needs no
 * directory, each created by its plugin from a plugin context as a node creates it, plus
 * memory-engine specifics.
 */
import { standaloneContext } from "../core/build/standalone-context.ts";
import { afterEach, describe, it } from "@std/testing/bdd";
import { assertEquals, assertInstanceOf, assertThrows } from "@std/assert";
import type { Plugin } from "../core/build/plugin.ts";
import { RingforgeError } from "../core/errors.ts";
import type { StorageEngine } from "../core/interfaces/storage-engine.ts";
import { enginePlugins, MemoryEngine, memoryEngine, memoryEnginePlugin, MemoryVolume } from "../plugins/engines/index.ts";
import { storageEngineSuite } from "../plugin-kit/testing/index.ts";

// deno-lint-ignore no-explicit-any
function createEngine(plugin: Plugin<any, "engine", any>): StorageEngine {
  const options = plugin.parseOptions(undefined);
  return plugin.create(standaloneContext({ shared: plugin.createShared?.({} as never, options) }), options);
}

// Engines on disk need a directory and run the suite through their plugin in their own files
// (test/engines-lsm.test.ts, test/engines-level.test.ts), with temporary directories.
for (const plugin of enginePlugins.filter((p) => !p.capabilities.durable)) storageEngineSuite({ plugin });

// A memory engine over a volume is persistent: a new engine over the same volume (a restarted
// node) sees everything.
const volumeOf = new WeakMap<StorageEngine, MemoryVolume>();
function durableEngine(volume = new MemoryVolume()): MemoryEngine {
  const engine = new MemoryEngine(volume);
  volumeOf.set(engine, volume);
  return engine;
}
storageEngineSuite({
  name: "memory over a durable volume",
  create: () => durableEngine(),
  capabilities: { persistent: true },
  reopen: (closed) => durableEngine(volumeOf.get(closed)),
});

describe("memory engine", () => {
  const engines: MemoryEngine[] = [];
  afterEach(async () => {
    for (const engine of engines.splice(0)) await engine.close();
  });

  it("is what the plugin creates, a new instance each time", () => {
    const engine = createEngine(memoryEnginePlugin);
    assertInstanceOf(engine, MemoryEngine);
    assertEquals(createEngine(memoryEnginePlugin) === engine, false);
  });

  it("the typed factory and config data choose the same plugin and options", () => {
    assertEquals(memoryEngine(), { plugin: memoryEnginePlugin, options: { durable: false } });
    assertEquals(memoryEnginePlugin.parseOptions({}), { durable: false });
    assertEquals(memoryEngine({ durable: true }).options, memoryEnginePlugin.parseOptions({ durable: true }));
  });

  it("rejects unknown options with RINGFORGE_INVALID_CONFIG", () => {
    const error = assertThrows(() => memoryEnginePlugin.parseOptions({ path: "/tmp/x" }), RingforgeError);
    assertEquals(error.code, "RINGFORGE_INVALID_CONFIG");
  });

  it("is empty after close and reopen (not persistent)", async () => {
    const engine = new MemoryEngine();
    engines.push(engine);
    await engine.open();
    await engine.put(Uint8Array.of(1), Uint8Array.of(1));
    await engine.close();
    await engine.open();
    assertEquals(await engine.get(Uint8Array.of(1)), undefined);
    assertEquals(engine.capabilities.persistent, false);
  });

  it("handles keys longer than one string-conversion chunk", async () => {
    const engine = new MemoryEngine();
    engines.push(engine);
    await engine.open();
    const long = new Uint8Array(100_000).map((_, i) => (i * 7) & 0xff);
    const longer = Uint8Array.from([...long, 0]);
    await engine.put(longer, Uint8Array.of(2));
    await engine.put(long, Uint8Array.of(1));
    assertEquals(await engine.get(long), Uint8Array.of(1));
    const keys: number[] = [];
    for await (const [key] of engine.scan()) keys.push(key.length);
    assertEquals(keys, [100_000, 100_001]);
  });
});
