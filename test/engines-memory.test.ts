/**
 * The memory engine beyond the conformance suite (test/engines.test.ts runs that): its storage
 * is a log of segments (32 to 256 KiB) compacted as records die, and the suite's small values
 * never fill one. These tests use values large enough to fill, compact and drop segments, and check
 * against a Map model that reads stay right, scans stay ordered, values already read never
 * change, a volume reopened by a new engine sees the same, and memory stays bounded.
 */
import { describe, it } from "@std/testing/bdd";
import { assert, assertEquals } from "@std/assert";
import fc from "fast-check";
import type { BatchOperation } from "../core/interfaces/storage-engine.ts";
import { MemoryEngine, MemoryVolume } from "../plugins/engines/memory.ts";

const HEADER = 8;

/** `size` bytes that depend on `seed`, so values of the same size differ. */
function pattern(size: number, seed: number): Uint8Array {
  const value = new Uint8Array(size);
  for (let i = 0; i < size; i++) value[i] = (seed * 31 + i * 7) & 0xff;
  return value;
}

/** A value's length and FNV-1a hash: short enough to print when values of 20 KB differ. */
function digest(bytes: Uint8Array): string {
  let hash = 0x811c9dc5;
  for (const byte of bytes) hash = Math.imul(hash ^ byte, 0x01000193);
  return `${bytes.length} bytes, fnv ${(hash >>> 0).toString(16)}`;
}

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

/** Keys and values as a Map of hex strings (hex order is byte order), with the bytes they take. */
class Model {
  readonly entries = new Map<string, Uint8Array>();

  put(key: Uint8Array, value: Uint8Array): void {
    this.entries.set(hex(key), value.slice());
  }

  delete(key: Uint8Array): void {
    this.entries.delete(hex(key));
  }

  /** Entries in key order, each value as its {@link digest}. */
  sorted(): [string, string][] {
    return [...this.entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, value]) => [key, digest(value)]);
  }

  /** Bytes of the live records: each key and value plus its header. */
  liveBytes(): number {
    let bytes = 0;
    for (const [key, value] of this.entries) bytes += HEADER + key.length / 2 + value.length;
    return bytes;
  }
}

/**
 * What the log may hold: a segment no longer being filled is more than 7/8 full (it was sealed
 * when a record under 4 KiB did not fit in its 32 KiB or more) and less than half dead, so at
 * most 16/7 of its live bytes; the segment being filled is 32 KiB, or at most an eighth of the
 * live bytes.
 */
function assertBounded(volume: MemoryVolume, model: Model, when: string): void {
  const live = model.liveBytes();
  const bound = (16 / 7) * live + Math.max(32 * 1024, live / 8);
  assert(volume.bytes <= bound, `${when}: ${volume.bytes} bytes held for ${live} live bytes`);
}

async function scanAll(engine: MemoryEngine): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for await (const [key, value] of engine.scan()) out.push([hex(key), digest(value)]);
  return out;
}

// Few distinct keys, so writes overwrite and delete; sizes from empty to own-segment records
// (8 KiB and up), so a few dozen writes fill segments and leave them half dead. Values are
// drawn as a size and a seed, so a counterexample prints short.
const keyArb = fc.array(fc.constantFrom(0x00, 0x01, 0x7f, 0x80, 0xff), { minLength: 1, maxLength: 2 });
const sizeArb = fc.oneof(fc.nat(40), fc.integer({ min: 2000, max: 7000 }), fc.integer({ min: 8000, max: 20000 }));
type Op = { readonly type: "put"; readonly key: number[]; readonly size: number; readonly seed: number } | {
  readonly type: "delete";
  readonly key: number[];
};
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ type: fc.constant("put" as const), key: keyArb, size: sizeArb, seed: fc.nat(255) }), weight: 3 },
  { arbitrary: fc.record({ type: fc.constant("delete" as const), key: keyArb }), weight: 1 },
);
type Step =
  | { readonly kind: "write"; readonly op: Op }
  | { readonly kind: "batch"; readonly ops: readonly Op[] }
  | { readonly kind: "read"; readonly key: number[] }
  | { readonly kind: "scan" }
  | { readonly kind: "reopen" };
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant("write" as const), op: opArb }), weight: 8 },
  { arbitrary: fc.record({ kind: fc.constant("batch" as const), ops: fc.array(opArb, { maxLength: 12 }) }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant("read" as const), key: keyArb }), weight: 3 },
  { arbitrary: fc.constant({ kind: "scan" as const }), weight: 1 },
  { arbitrary: fc.constant({ kind: "reopen" as const }), weight: 1 },
);

/** A fresh batch operation for `op` (the engine may not keep the caller's arrays). */
function operation(op: Op): BatchOperation {
  const key = Uint8Array.from(op.key);
  return op.type === "put" ? { type: "put", key, value: pattern(op.size, op.seed) } : { type: "delete", key };
}

describe("memory engine storage", () => {
  it("matches a Map model while segments fill, compact and drop, over a volume reopened by new engines", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 20, maxLength: 250 }), async (steps) => {
        const volume = new MemoryVolume();
        let engine = new MemoryEngine(volume);
        await engine.open();
        const model = new Model();
        // Values read earlier, with what they were: later writes and compaction must not change them.
        const kept: [Uint8Array, string][] = [];
        const apply = (op: BatchOperation) => op.type === "put" ? model.put(op.key, op.value) : model.delete(op.key);
        try {
          for (const [n, step] of steps.entries()) {
            if (step.kind === "write") {
              const op = operation(step.op);
              if (op.type === "put") await engine.put(op.key, op.value);
              else await engine.delete(op.key);
              apply(operation(step.op));
              // Scribbled over: what the engine stored must not change.
              op.key.fill(0xee);
              if (op.type === "put") op.value.fill(0xee);
            } else if (step.kind === "batch") {
              const ops = step.ops.map(operation);
              await engine.batch(ops);
              step.ops.map(operation).forEach(apply);
              for (const op of ops) op.type === "put" ? op.value.fill(0xee) : op.key.fill(0xee);
            } else if (step.kind === "read") {
              const key = Uint8Array.from(step.key);
              const value = await engine.get(key);
              const expected = model.entries.get(hex(key));
              assertEquals(value && digest(value), expected && digest(expected));
              if (value) kept.push([value, digest(value)]);
            } else if (step.kind === "scan") {
              assertEquals(await scanAll(engine), model.sorted());
            } else {
              await engine.close();
              engine = new MemoryEngine(volume);
              await engine.open();
            }
            assertBounded(volume, model, `after step ${n}`);
          }
          assertEquals(await scanAll(engine), model.sorted());
          assertEquals(volume.size, model.entries.size);
          for (const [value, was] of kept) assertEquals(digest(value), was, "a value read earlier changed");
        } finally {
          await engine.close();
        }
      }),
      { numRuns: 60 },
    );
  });

  it("keeps every key while compaction moves records into a segment opened meanwhile", async () => {
    // Hot keys overwritten with values of 500 to 3,000 bytes leave segments half dead often,
    // so a compaction's moves seal the active segment and compact that one too: the segment
    // opened then must not reuse the id of the one still being emptied, or two index slots
    // name the same location (found by review; seeds 6, 15, 43 and 124 lost a key).
    await fc.assert(
      fc.asyncProperty(
        fc.nat(),
        fc.array(fc.tuple(fc.nat(99), fc.nat(43), fc.integer({ min: 500, max: 3000 })), { minLength: 400, maxLength: 1500 }),
        async (seed, writes) => {
          const engine = new MemoryEngine(undefined, seed);
          await engine.open();
          const model = new Map<number, number>();
          try {
            for (const [step, [heat, cold, size]] of writes.entries()) {
              const k = heat < 80 ? cold % 4 : 4 + cold;
              await engine.put(Uint8Array.of(k), new Uint8Array(size).fill(step & 0xff));
              model.set(k, step & 0xff);
              for (const [key, fill] of model) {
                const value = await engine.get(Uint8Array.of(key));
                assert(value !== undefined && value[0] === fill, `after write ${step}, key ${key} reads ${value?.[0]}, not ${fill}`);
              }
            }
          } finally {
            await engine.close();
          }
        },
      ),
      { numRuns: 30 },
    );
    for (const seed of [6, 15, 43, 124]) {
      const engine = new MemoryEngine(undefined, seed);
      await engine.open();
      let s = (seed * 2654435761) >>> 0;
      const rnd = (n: number) => {
        s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
        return s % n;
      };
      const model = new Map<number, number>();
      for (let step = 0; step < 600; step++) {
        const k = rnd(10) < 8 ? rnd(4) : 4 + rnd(40);
        await engine.put(Uint8Array.of(k), new Uint8Array(500 + rnd(2500)).fill(step & 0xff));
        model.set(k, step & 0xff);
        for (const [key, fill] of model) {
          assertEquals((await engine.get(Uint8Array.of(key)))?.[0], fill, `seed ${seed}, write ${step}, key ${key}`);
        }
      }
      await engine.close();
    }
  });

  it("a batch that deletes and then adds keys applies whole, with the index's room reserved before", async () => {
    // Deletes in a batch never shrink the index before its puts are applied: a shrink then a
    // growth that failed for memory applied part of the batch and left records no index knew.
    const engine = new MemoryEngine(undefined, 1);
    await engine.open();
    const key = (i: number) => Uint8Array.of(i);
    for (let i = 0; i < 40; i++) await engine.put(key(i), Uint8Array.of(i));
    const ops: BatchOperation[] = [
      ...Array.from({ length: 35 }, (_, i) => ({ type: "delete" as const, key: key(i) })),
      ...Array.from({ length: 20 }, (_, i) => ({ type: "put" as const, key: key(100 + i), value: Uint8Array.of(1) })),
    ];
    const Real = Float64Array;
    let tables = 0;
    // Count the index's table allocations while the batch runs: one at most (the reserve).
    (globalThis as { Float64Array: unknown }).Float64Array = class extends Real {
      constructor(length: number) {
        super(length);
        if (length >= 32) tables++;
      }
    };
    try {
      await engine.batch(ops);
    } finally {
      (globalThis as { Float64Array: unknown }).Float64Array = Real;
    }
    assert(tables <= 2, `${tables} index tables allocated during one batch`);
    for (let i = 0; i < 35; i++) assertEquals(await engine.get(key(i)), undefined);
    for (let i = 0; i < 20; i++) assertEquals(Array.from((await engine.get(key(100 + i)))!), [1]);
    await engine.close();
  });

  it("keeps 20,000 keys across hundreds of segments through overwrites and deletes", async () => {
    const volume = new MemoryVolume();
    const e = new MemoryEngine(volume);
    await e.open();
    const model = new Model();
    const key = (i: number) => Uint8Array.of(i >> 8 & 0xff, i & 0xff, 0x2b);
    const order = Array.from({ length: 20_000 }, (_, i) => (i * 7919) % 20_000);
    for (const round of [0, 1, 2]) {
      for (const i of order) {
        const value = pattern(100 + (i % 50), i + round);
        await e.put(key(i), value);
        model.put(key(i), value);
      }
      assertBounded(volume, model, `after round ${round}`);
    }
    // Delete every other key, in batches, then add some back with smaller values.
    for (let from = 0; from < 20_000; from += 1000) {
      const ops: BatchOperation[] = [];
      for (let i = from; i < from + 1000; i += 2) ops.push({ type: "delete", key: key(order[i]!) });
      await e.batch(ops);
      for (const op of ops) model.delete(op.key);
    }
    assertBounded(volume, model, "after deletes");
    assertEquals(await scanAll(e), model.sorted());
    for (const i of order.slice(0, 2000)) {
      const value = pattern(30, i);
      await e.put(key(i), value);
      model.put(key(i), value);
    }
    assertEquals(await scanAll(e), model.sorted());
    const reversed: string[] = [];
    for await (const [k] of e.scan({ reverse: true, gte: key(100), lt: key(200) })) reversed.push(hex(k));
    assertEquals(reversed, model.sorted().map(([k]) => k).filter((k) => k >= hex(key(100)) && k < hex(key(200))).reverse());
    assertEquals(volume.size, model.entries.size);
    await e.close();
  });

  it("a scan in progress keeps its order while keys are added, deleted and added again", async () => {
    const engine = new MemoryEngine();
    await engine.open();
    for (const k of [1, 3, 5, 7]) await engine.put(Uint8Array.of(k), Uint8Array.of(k));
    const seen: number[] = [];
    for await (const [key] of engine.scan()) {
      seen.push(key[0]!);
      if (key[0] === 3) {
        await engine.put(Uint8Array.of(4), Uint8Array.of(4)); // added during the scan: not seen
        await engine.delete(Uint8Array.of(5)); // deleted during the scan: skipped
        await engine.delete(Uint8Array.of(7));
        await engine.put(Uint8Array.of(7), Uint8Array.of(77)); // deleted and added again: seen
      }
    }
    assertEquals(seen, [1, 3, 7]);
    const after: number[][] = [];
    for await (const [key, value] of engine.scan()) after.push([key[0]!, value[0]!]);
    assertEquals(after, [[1, 1], [3, 3], [4, 4], [7, 77]]);
    await engine.close();
  });
});
