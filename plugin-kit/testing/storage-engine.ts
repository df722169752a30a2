/**
 * The StorageEngine conformance suite: every engine runs it (abstract-level's compliance suite
 * is the model). It checks the contract documented on {@link StorageEngine}, including a
 * fast-check comparison against a Map model, and skips what the engine's capabilities do not
 * claim.
 *
 * @example
 * ```ts
 * storageEngineSuite({ plugin: lsmEnginePlugin, options: { directory: await Deno.makeTempDir() } });
 * storageEngineSuite({ name: "memory", create: () => new MemoryEngine() });
 * ```
 *
 * @module
 */
import { afterEach, beforeEach, describe, it } from "./bdd.ts";
import { assert, assertEquals, assertRejects } from "./assert.ts";
import fc from "fast-check";
import { RingforgeError } from "../../core/errors.ts";
import type { RingforgeErrorCode } from "../../core/errors.ts";
import type { BatchOperation, EngineCapabilities, ScanOptions, StorageEngine } from "../../core/interfaces/storage-engine.ts";
import type { NodeId } from "../../core/model/sibling.ts";
import { systemRuntime } from "../../core/runtime/runtime.ts";
import { checkPlugin, createShared, createStandalone, type PluginSuiteOptions } from "./plugin-under-test.ts";

/**
 * The plugin form of {@link storageEngineSuite}: each engine is the one `plugin.create` makes
 * for a new node (`n1`, `n2`, ...; what `plugin.createShared` makes is shared by all of them),
 * and a reopen creates the engine of the same node again, as a restarted node would. The engine
 * must be persistent exactly when the plugin declares `capabilities.durable`. An engine on disk
 * needs its directory in `options`: a fresh temporary one, each node under it.
 */
export type StorageEnginePluginSuiteOptions = PluginSuiteOptions<"engine">;

/** The factory form of {@link storageEngineSuite}: how the suite creates and reopens an engine. */
export interface StorageEngineSuiteOptions {
  /** Shown in test names. */
  readonly name: string;
  /** A new, unopened engine over empty storage; called once per test (and per property run). */
  readonly create: () => StorageEngine | Promise<StorageEngine>;
  /**
   * What the engine claims (default: not persistent). Needed up front because it decides which
   * tests are registered; the suite checks that `engine.capabilities` says the same.
   */
  readonly capabilities?: EngineCapabilities;
  /**
   * For persistent engines: an unopened engine over the same storage as `closed`, which the
   * suite has just closed — a new instance created with the same options, as a restarted
   * process would. Default: `closed` itself, so the test reopens the same instance.
   */
  readonly reopen?: (closed: StorageEngine) => StorageEngine | Promise<StorageEngine>;
}

type Pair = [key: string, value: string];

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);

/** Fixed-width lowercase hex: its string order is unsigned byte order, and it reads well in diffs. */
function hex(value: Uint8Array): string {
  let text = "";
  for (const byte of value) text += byte.toString(16).padStart(2, "0");
  return text;
}

function hexOrUndefined(value: Uint8Array | undefined): string | undefined {
  return value === undefined ? undefined : hex(value);
}

async function collect(iterable: AsyncIterable<readonly [Uint8Array, Uint8Array]>): Promise<Pair[]> {
  const pairs: Pair[] = [];
  for await (const [key, value] of iterable) pairs.push([hex(key), hex(value)]);
  return pairs;
}

async function assertRejectsWithCode(fn: () => Promise<unknown>, code: RingforgeErrorCode): Promise<void> {
  const error = await assertRejects(fn, RingforgeError);
  assertEquals(error.code, code);
}

/** A scan over sorted model pairs (keys in hex), as the contract defines it. */
function modelScan(sorted: readonly Pair[], options: ScanOptions): Pair[] {
  const gte = options.gte && hex(options.gte);
  const lt = options.lt && hex(options.lt);
  const inRange = sorted.filter(([key]) => (gte === undefined || key >= gte) && (lt === undefined || key < lt));
  if (options.reverse) inRange.reverse();
  return options.limit === undefined ? inRange : inRange.slice(0, options.limit);
}

/** Map model of an engine: hex key -> hex value. */
class Model {
  readonly #entries = new Map<string, string>();
  put(key: Uint8Array, value: Uint8Array): void {
    this.#entries.set(hex(key), hex(value));
  }
  delete(key: Uint8Array): void {
    this.#entries.delete(hex(key));
  }
  get(key: Uint8Array): string | undefined {
    return this.#entries.get(hex(key));
  }
  scan(options: ScanOptions = {}): Pair[] {
    const sorted = [...this.#entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return modelScan(sorted, options);
  }
}

function describeOptions(options: ScanOptions): string {
  const parts: string[] = [];
  if (options.gte) parts.push(`gte=${hex(options.gte)}`);
  if (options.lt) parts.push(`lt=${hex(options.lt)}`);
  if (options.limit !== undefined) parts.push(`limit=${options.limit}`);
  if (options.reverse) parts.push("reverse");
  return `{${parts.join(" ")}}`;
}

// A small byte alphabet makes keys collide (overwrites, deletes of present keys) and still
// crosses the signed/unsigned boundary at 0x7f/0x80.
const modelByte = fc.constantFrom(0x00, 0x01, 0x02, 0x7f, 0x80, 0xfe, 0xff);
const modelKey = fc.array(modelByte, { minLength: 1, maxLength: 3 }).map((a) => Uint8Array.from(a));
const modelBound = fc.option(
  fc.array(modelByte, { maxLength: 3 }).map((a) => Uint8Array.from(a)),
  { nil: undefined },
);
const modelValue = fc.uint8Array({ maxLength: 4 });
const modelBatchOp: fc.Arbitrary<BatchOperation> = fc.oneof(
  fc.record({ type: fc.constant("put" as const), key: modelKey, value: modelValue }),
  fc.record({ type: fc.constant("delete" as const), key: modelKey }),
);
const modelScanOptions: fc.Arbitrary<ScanOptions> = fc
  .record({ gte: modelBound, lt: modelBound, limit: fc.nat(6), reverse: fc.boolean() }, { requiredKeys: [] })
  .map((o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as ScanOptions);

/** One step of a model run: a write to apply to both, or a read to compare. */
type ModelStep =
  | { readonly kind: "put"; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly kind: "delete"; readonly key: Uint8Array }
  | { readonly kind: "batch"; readonly ops: readonly BatchOperation[] }
  | { readonly kind: "get"; readonly key: Uint8Array }
  | { readonly kind: "scan"; readonly options: ScanOptions };

const modelStep: fc.Arbitrary<ModelStep> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant("put" as const), key: modelKey, value: modelValue }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant("delete" as const), key: modelKey }), weight: 2 },
  {
    arbitrary: fc.record({ kind: fc.constant("batch" as const), ops: fc.array(modelBatchOp, { maxLength: 5 }) }),
    weight: 2,
  },
  { arbitrary: fc.record({ kind: fc.constant("get" as const), key: modelKey }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant("scan" as const), options: modelScanOptions }), weight: 2 },
);

function copyOperation(op: BatchOperation): BatchOperation {
  return op.type === "put" ? { type: "put", key: op.key.slice(), value: op.value.slice() } : { type: "delete", key: op.key.slice() };
}

/**
 * Applies a step to the engine and the model, or compares a read. The engine gets copies
 * (fast-check reuses generated values while shrinking), and put's copies are scribbled over
 * afterwards so an engine that keeps the caller's arrays diverges from the model.
 */
async function runStep(subject: StorageEngine, model: Model, step: ModelStep): Promise<void> {
  switch (step.kind) {
    case "put": {
      const key = step.key.slice();
      const value = step.value.slice();
      await subject.put(key, value);
      key.fill(0xee);
      value.fill(0xee);
      model.put(step.key, step.value);
      return;
    }
    case "delete":
      await subject.delete(step.key.slice());
      model.delete(step.key);
      return;
    case "batch":
      await subject.batch(step.ops.map(copyOperation));
      for (const op of step.ops) {
        if (op.type === "put") model.put(op.key, op.value);
        else model.delete(op.key);
      }
      return;
    case "get": {
      const actual = hexOrUndefined(await subject.get(step.key));
      assertEquals(actual, model.get(step.key), `get ${hex(step.key)}`);
      return;
    }
    case "scan": {
      const actual = await collect(subject.scan(step.options));
      assertEquals(actual, model.scan(step.options), `scan ${describeOptions(step.options)}`);
      return;
    }
  }
}

/** Asserts `run` throws (synchronously) a RingforgeError with `code`. */
function assertThrowsCode(run: () => unknown, code: RingforgeErrorCode): void {
  let thrown: unknown;
  try {
    run();
  } catch (error) {
    thrown = error;
  }
  assert(thrown instanceof RingforgeError && thrown.code === code, `expected a ${code} error, got ${String(thrown)}`);
}

// Keys that exercise unsigned order (0x7f < 0x80 < 0xff) and prefixes ([1] < [1,0] < [1,ff] < [2]).
const ORDER_KEYS_SORTED: readonly Uint8Array[] = [
  bytes(0x00),
  bytes(0x01),
  bytes(0x01, 0x00),
  bytes(0x01, 0x00, 0x00),
  bytes(0x01, 0xff),
  bytes(0x02),
  bytes(0x7f),
  bytes(0x7f, 0xff),
  bytes(0x80),
  bytes(0x80, 0x00),
  bytes(0xfe, 0xff),
  bytes(0xff),
  bytes(0xff, 0x00),
  bytes(0xff, 0xff, 0xff),
];

// A fixed permutation, so insertion order differs from key order in every engine run.
const ORDER_KEYS_INSERTED = [8, 2, 13, 0, 11, 5, 1, 9, 12, 3, 7, 10, 4, 6].map((i) => ORDER_KEYS_SORTED[i]!);

/** Value stored under an order key in the scan tests: the key's bytes reversed plus a marker. */
function valueFor(key: Uint8Array): Uint8Array {
  return Uint8Array.from([0xaa, ...key].reverse());
}

/**
 * The factory form of a plugin: each engine is a new node's, and a reopen the same node's again.
 * The nodes run on the host's runtime: an engine's contract is about what it stores, and the
 * host's disk and timers are what a node process gives it (the lab's simulated disk runs on
 * virtual time, which nothing here would advance).
 */
function fromPlugin(given: StorageEnginePluginSuiteOptions): StorageEngineSuiteOptions {
  const checked = checkPlugin("storageEngineSuite", "engine", given);
  const runtime = systemRuntime();
  const shared = createShared(checked, runtime, []);
  const nodeOf = new WeakMap<StorageEngine, NodeId>();
  let nodes = 0;
  const engineOf = (id: NodeId): StorageEngine => {
    const engine = createStandalone(checked, { id, runtime, shared });
    nodeOf.set(engine, id);
    return engine;
  };
  return {
    name: checked.name,
    create: () => engineOf(`n${++nodes}`),
    capabilities: { persistent: checked.plugin.capabilities.durable ?? false },
    reopen: (closed) => {
      const id = nodeOf.get(closed);
      if (id === undefined) throw new Error("storageEngineSuite: reopen of an engine the suite did not create");
      return engineOf(id);
    },
  };
}

/**
 * Registers the conformance tests for one engine: a plugin (`capabilities.durable` says whether
 * data must survive a reopen), or a factory with what the engine claims.
 *
 * @example
 * ```ts
 * storageEngineSuite({ plugin: memoryEnginePlugin });
 * storageEngineSuite({ name: "memory", create: () => new MemoryEngine() });
 * ```
 */
export function storageEngineSuite(suite: StorageEnginePluginSuiteOptions | StorageEngineSuiteOptions): void {
  const options = "plugin" in suite ? fromPlugin(suite) : suite;
  const capabilities: EngineCapabilities = options.capabilities ?? { persistent: false };
  const reopen = options.reopen ?? ((closed: StorageEngine) => closed);

  describe(`StorageEngine conformance: ${options.name}`, () => {
    let created: StorageEngine[] = [];
    let engine: StorageEngine;

    /** A new engine, closed by afterEach however the test ends. */
    async function create(): Promise<StorageEngine> {
      const fresh = await options.create();
      created.push(fresh);
      return fresh;
    }

    beforeEach(async () => {
      engine = await create();
      await engine.open();
    });

    afterEach(async () => {
      const toClose = created;
      created = [];
      for (const each of toClose) await each.close();
    });

    describe("lifecycle", () => {
      it("declares the capabilities the suite was given", () => {
        assertEquals({ ...engine.capabilities }, { ...capabilities });
      });

      it("open and close are idempotent", async () => {
        await engine.open();
        await engine.put(bytes(1), bytes(2));
        assertEquals(hexOrUndefined(await engine.get(bytes(1))), "02");
        await engine.close();
        await engine.close();
        await assertRejectsWithCode(() => engine.get(bytes(1)), "RINGFORGE_ENGINE_NOT_OPEN");
      });

      it("rejects every operation before open with RINGFORGE_ENGINE_NOT_OPEN", async () => {
        const unopened = await create();
        await assertNotOpen(unopened);
      });

      it("rejects every operation after close with RINGFORGE_ENGINE_NOT_OPEN", async () => {
        await engine.put(bytes(1), bytes(2));
        await engine.close();
        await assertNotOpen(engine);
      });

      async function assertNotOpen(target: StorageEngine): Promise<void> {
        const code = "RINGFORGE_ENGINE_NOT_OPEN";
        await assertRejectsWithCode(() => target.get(bytes(1)), code);
        await assertRejectsWithCode(() => target.put(bytes(1), bytes(2)), code);
        await assertRejectsWithCode(() => target.delete(bytes(1)), code);
        await assertRejectsWithCode(() => target.batch([{ type: "put", key: bytes(1), value: bytes(2) }]), code);
        await assertRejectsWithCode(() => collect(target.scan()), code);
      }
    });

    describe("get, put, delete", () => {
      it("get of a missing key resolves to undefined", async () => {
        assertEquals(await engine.get(bytes(1, 2, 3)), undefined);
      });

      it("get returns what put stored", async () => {
        await engine.put(bytes(1), bytes(10, 11));
        await engine.put(bytes(2), bytes(20));
        assertEquals(hexOrUndefined(await engine.get(bytes(1))), "0a0b");
        assertEquals(hexOrUndefined(await engine.get(bytes(2))), "14");
      });

      it("an empty value is stored, not mistaken for a missing key", async () => {
        await engine.put(bytes(1), new Uint8Array(0));
        assertEquals(hexOrUndefined(await engine.get(bytes(1))), "");
        assertEquals(await collect(engine.scan()), [["01", ""]]);
      });

      it("put replaces the previous value", async () => {
        await engine.put(bytes(1), bytes(1, 1, 1));
        await engine.put(bytes(1), bytes(2));
        assertEquals(hexOrUndefined(await engine.get(bytes(1))), "02");
        assertEquals(await collect(engine.scan()), [["01", "02"]]);
      });

      it("delete removes the key and leaves others", async () => {
        await engine.put(bytes(1), bytes(1));
        await engine.put(bytes(2), bytes(2));
        await engine.delete(bytes(1));
        assertEquals(await engine.get(bytes(1)), undefined);
        assertEquals(await collect(engine.scan()), [["02", "02"]]);
      });

      it("delete of a missing key succeeds and changes nothing", async () => {
        await engine.put(bytes(1), bytes(1));
        await engine.delete(bytes(9));
        await engine.delete(bytes(9));
        assertEquals(await collect(engine.scan()), [["01", "01"]]);
      });

      it("a deleted key can be written again", async () => {
        await engine.put(bytes(1), bytes(1));
        await engine.delete(bytes(1));
        await engine.put(bytes(1), bytes(3));
        assertEquals(hexOrUndefined(await engine.get(bytes(1))), "03");
      });

      it("rejects a key or value that is not a Uint8Array and changes nothing", async () => {
        await engine.put(bytes(1), bytes(1));
        const code = "RINGFORGE_INVALID_REQUEST";
        await assertRejectsWithCode(() => engine.put("k" as unknown as Uint8Array, bytes(1)), code);
        await assertRejectsWithCode(() => engine.put(bytes(2), "v" as unknown as Uint8Array), code);
        await assertRejectsWithCode(() => engine.put(bytes(1), [9] as unknown as Uint8Array), code);
        await assertRejectsWithCode(() => engine.get(undefined as unknown as Uint8Array), code);
        await assertRejectsWithCode(() => engine.delete(null as unknown as Uint8Array), code);
        assertEquals(await collect(engine.scan()), [["01", "01"]]);
      });
    });

    describe("batch", () => {
      it("applies its operations in order: a later operation on the same key wins", async () => {
        await engine.put(bytes(3), bytes(3));
        await engine.batch([
          { type: "put", key: bytes(1), value: bytes(1) },
          { type: "put", key: bytes(1), value: bytes(2) },
          { type: "put", key: bytes(2), value: bytes(2) },
          { type: "delete", key: bytes(2) },
          { type: "delete", key: bytes(3) },
          { type: "put", key: bytes(3), value: bytes(4) },
          { type: "delete", key: bytes(5) },
        ]);
        assertEquals(await collect(engine.scan()), [
          ["01", "02"],
          ["03", "04"],
        ]);
      });

      it("an empty batch succeeds and changes nothing", async () => {
        await engine.put(bytes(1), bytes(1));
        await engine.batch([]);
        assertEquals(await collect(engine.scan()), [["01", "01"]]);
      });

      it("a batch with one invalid operation rejects and applies none of them", async () => {
        await engine.put(bytes(1), bytes(1));
        await engine.put(bytes(2), bytes(2));
        const valid: BatchOperation[] = [
          { type: "put", key: bytes(1), value: bytes(9) },
          { type: "delete", key: bytes(2) },
          { type: "put", key: bytes(3), value: bytes(3) },
        ];
        const invalid: unknown[] = [
          { type: "put", key: "4", value: bytes(4) },
          { type: "put", key: bytes(4), value: "4" },
          { type: "delete", key: 4 },
          { type: "merge", key: bytes(4), value: bytes(4) },
          null,
        ];
        for (const bad of invalid) {
          const operations = [...valid, bad] as BatchOperation[];
          await assertRejectsWithCode(() => engine.batch(operations), "RINGFORGE_INVALID_REQUEST");
          assertEquals(await collect(engine.scan()), [
            ["01", "01"],
            ["02", "02"],
          ]);
        }
      });
    });

    describe("scan", () => {
      async function fill(): Promise<Pair[]> {
        await engine.batch(ORDER_KEYS_INSERTED.map((key) => ({ type: "put", key, value: valueFor(key) })));
        return ORDER_KEYS_SORTED.map((key) => [hex(key), hex(valueFor(key))]);
      }

      it("yields nothing from an empty engine", async () => {
        assertEquals(await collect(engine.scan()), []);
        assertEquals(await collect(engine.scan({ reverse: true })), []);
      });

      it("yields every entry in unsigned byte order, shorter prefix first", async () => {
        const expected = await fill();
        assertEquals(await collect(engine.scan()), expected);
        assertEquals(await collect(engine.scan({})), expected);
      });

      it("reverse yields descending order", async () => {
        const expected = await fill();
        assertEquals(await collect(engine.scan({ reverse: true })), expected.reverse());
      });

      it("gte is inclusive and lt exclusive", async () => {
        await fill();
        const keys = async (o: ScanOptions) => (await collect(engine.scan(o))).map(([key]) => key);
        assertEquals(await keys({ gte: bytes(0x01, 0x00), lt: bytes(0x02) }), ["0100", "010000", "01ff"]);
        assertEquals(await keys({ gte: bytes(0x01), lt: bytes(0x01, 0x00) }), ["01"]);
        assertEquals(await keys({ gte: bytes(0x7f, 0x00), lt: bytes(0x80, 0x00) }), ["7fff", "80"]);
        assertEquals(await keys({ gte: bytes(0xff) }), ["ff", "ff00", "ffffff"]);
        assertEquals(await keys({ lt: bytes(0x01) }), ["00"]);
        assertEquals(await keys({ gte: bytes(0x80), lt: bytes(0x80) }), []);
        assertEquals(await keys({ gte: bytes(0x80), lt: bytes(0x01) }), []);
        assertEquals(await keys({ gte: new Uint8Array(0) }), ORDER_KEYS_SORTED.map(hex));
      });

      it("limit caps the entries from the start of the direction", async () => {
        const expected = await fill();
        assertEquals(await collect(engine.scan({ limit: 0 })), []);
        assertEquals(await collect(engine.scan({ limit: 2 })), expected.slice(0, 2));
        assertEquals(await collect(engine.scan({ limit: 2, reverse: true })), expected.reverse().slice(0, 2));
        assertEquals(await collect(engine.scan({ limit: 1000 })).then((p) => p.length), ORDER_KEYS_SORTED.length);
      });

      it("combines gte, lt, limit and reverse", async () => {
        const sorted = await fill();
        const bounds: (Uint8Array | undefined)[] = [
          undefined,
          bytes(0x01),
          bytes(0x01, 0x00),
          bytes(0x01, 0x80),
          bytes(0x7f, 0xff),
          bytes(0x80),
          bytes(0xff, 0x00, 0x00),
        ];
        for (const gte of bounds) {
          for (const lt of bounds) {
            for (const limit of [undefined, 0, 1, 3, 100]) {
              for (const reverse of [false, true]) {
                const scanOptions: ScanOptions = {
                  ...(gte && { gte }),
                  ...(lt && { lt }),
                  ...(limit !== undefined && { limit }),
                  ...(reverse && { reverse }),
                };
                const actual = await collect(engine.scan(scanOptions));
                assertEquals(actual, modelScan(sorted, scanOptions), describeOptions(scanOptions));
              }
            }
          }
        }
      });

      it("sees writes completed before it started and stays ordered under concurrent writes", async () => {
        for (let i = 0; i < 10; i++) await engine.put(bytes(i * 2), bytes(i));
        const seen: string[] = [];
        let first = true;
        for await (const [key] of engine.scan()) {
          seen.push(hex(key));
          if (first) {
            first = false;
            await engine.delete(bytes(8));
            await engine.put(bytes(9), bytes(9));
            await engine.put(bytes(12), bytes(99));
            await engine.put(bytes(30), bytes(30));
          }
        }
        for (let i = 1; i < seen.length; i++) assert(seen[i - 1]! < seen[i]!, `out of order: ${seen.join(",")}`);
        // Keys present throughout the scan must all appear; added or deleted ones may or may not.
        for (const present of [0, 2, 4, 6, 10, 12, 14, 16, 18]) {
          assert(seen.includes(hex(bytes(present))), `missing ${present}: ${seen.join(",")}`);
        }
        assertEquals(await collect(engine.scan({ gte: bytes(8), lt: bytes(13) })), [
          ["09", "09"],
          ["0a", "05"],
          ["0c", "63"],
        ]);
      });

      it("can be abandoned early, leaving the engine usable", async () => {
        await fill();
        for await (const _ of engine.scan()) break;
        await engine.put(bytes(0x03), bytes(3));
        assertEquals(hexOrUndefined(await engine.get(bytes(0x03))), "03");
        assertEquals((await collect(engine.scan())).length, ORDER_KEYS_SORTED.length + 1);
      });
    });

    describe("copies", () => {
      it("caller mutations after put do not change what is stored", async () => {
        const key = bytes(1, 2);
        const value = bytes(3, 4);
        await engine.put(key, value);
        key[1] = 9;
        value.fill(0);
        assertEquals(hexOrUndefined(await engine.get(bytes(1, 2))), "0304");
        assertEquals(await engine.get(bytes(1, 9)), undefined);
        assertEquals(await collect(engine.scan()), [["0102", "0304"]]);
      });

      it("caller mutations after batch do not change what is stored", async () => {
        const key = bytes(5);
        const value = bytes(6);
        const operations: BatchOperation[] = [{ type: "put", key, value }];
        await engine.batch(operations);
        key[0] = 7;
        value[0] = 8;
        assertEquals(await collect(engine.scan()), [["05", "06"]]);
      });

      it("a key that is a view into a larger buffer is stored as the view's bytes", async () => {
        const buffer = bytes(0xee, 1, 2, 0xee);
        await engine.put(buffer.subarray(1, 3), buffer.subarray(2, 4));
        assertEquals(hexOrUndefined(await engine.get(bytes(1, 2))), "02ee");
        assertEquals(await collect(engine.scan()), [["0102", "02ee"]]);
      });
    });

    if (capabilities.persistent) {
      describe("persistence", () => {
        it("data survives close and reopen", async () => {
          await engine.put(bytes(1), bytes(1));
          await engine.put(bytes(2), bytes(2));
          await engine.batch([
            { type: "put", key: bytes(0x80), value: bytes(0x80) },
            { type: "delete", key: bytes(2) },
            { type: "put", key: bytes(1), value: bytes(9) },
          ]);
          await engine.delete(bytes(0x80));
          await engine.put(bytes(0xff), bytes(0xff));
          const before = await collect(engine.scan());
          await engine.close();
          const reopened = await reopen(engine);
          if (!created.includes(reopened)) created.push(reopened);
          await reopened.open();
          assertEquals(before, [
            ["01", "09"],
            ["ff", "ff"],
          ]);
          assertEquals(await collect(reopened.scan()), before);
          assertEquals(hexOrUndefined(await reopened.get(bytes(1))), "09");
          assertEquals(await reopened.get(bytes(2)), undefined);
        });
      });
    }

    describe("immediate get and batch (engines that offer them)", () => {
      // Engines without `immediate` pass these at once: there is nothing of theirs to check.
      it("throw RINGFORGE_ENGINE_NOT_OPEN before open and after close", async () => {
        const unopened = await create();
        if (unopened.immediate === undefined) return;
        assertThrowsCode(() => unopened.immediate!.get(bytes(1)), "RINGFORGE_ENGINE_NOT_OPEN");
        assertThrowsCode(() => unopened.immediate!.batch([]), "RINGFORGE_ENGINE_NOT_OPEN");
        await engine.close();
        assertThrowsCode(() => engine.immediate!.get(bytes(1)), "RINGFORGE_ENGINE_NOT_OPEN");
        assertThrowsCode(() => engine.immediate!.batch([{ type: "put", key: bytes(1), value: bytes(2) }]), "RINGFORGE_ENGINE_NOT_OPEN");
      });

      it("a batch with one invalid operation throws and applies none of them", async () => {
        const now = engine.immediate;
        if (now === undefined) return;
        await engine.put(bytes(1), bytes(1));
        const bad = [{ type: "put", key: bytes(1), value: bytes(9) }, { type: "put", key: bytes(2), value: "no" }];
        assertThrowsCode(() => now.batch(bad as unknown as BatchOperation[]), "RINGFORGE_INVALID_REQUEST");
        assertEquals(hexOrUndefined(now.get(bytes(1))), "01");
        assertEquals(now.get(bytes(2)), undefined);
      });

      it("agree with a Map model, mixed with the promise-returning calls", async () => {
        await fc.assert(
          fc.asyncProperty(fc.array(fc.tuple(modelStep, fc.boolean()), { maxLength: 40, size: "max" }), async (steps) => {
            const subject = await create();
            await subject.open();
            const now = subject.immediate;
            if (now === undefined) return await subject.close();
            const model = new Model();
            try {
              for (const [step, immediate] of steps) {
                if (immediate && step.kind === "get") {
                  assertEquals(hexOrUndefined(now.get(step.key)), model.get(step.key), `immediate get ${hex(step.key)}`);
                } else if (immediate && step.kind === "batch") {
                  const ops = step.ops.map(copyOperation);
                  now.batch(ops);
                  // The engine copies what it is given: changing the caller's bytes changes nothing.
                  for (const op of ops) {
                    op.key.fill(0xee);
                    if (op.type === "put") op.value.fill(0xee);
                  }
                  for (const op of step.ops) {
                    if (op.type === "put") model.put(op.key, op.value);
                    else model.delete(op.key);
                  }
                } else await runStep(subject, model, step);
              }
              assertEquals(await collect(subject.scan()), model.scan(), "final full scan");
              // Every key any step named, read at once.
              for (const [step] of steps) {
                const keys = step.kind === "batch" ? step.ops.map((op) => op.key) : "key" in step ? [step.key] : [];
                for (const key of keys) assertEquals(hexOrUndefined(now.get(key)), model.get(key), `final immediate get ${hex(key)}`);
              }
            } finally {
              await subject.close();
            }
          }),
          { numRuns: 100 },
        );
      });
    });

    describe("model", () => {
      it("matches a Map model over random operation sequences", async () => {
        await fc.assert(
          fc.asyncProperty(fc.array(modelStep, { maxLength: 40 }), async (steps) => {
            const subject = await create();
            await subject.open();
            const model = new Model();
            try {
              for (const step of steps) await runStep(subject, model, step);
              assertEquals(await collect(subject.scan()), model.scan(), "final full scan");
            } finally {
              await subject.close();
            }
          }),
          { numRuns: 100 },
        );
      });
    });
  });
}
