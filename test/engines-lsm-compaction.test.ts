/**
 * The LSM engine's merge as a pure function of bytes (plugins/engines/lsm/compaction.ts),
 * against a model: runs of random keys, values and tombstones merged newest-first must give,
 * in key order, each key's newest entry (tombstones dropped only at the bottom), split into
 * tables near the size asked, every table readable back; a flipped bit in an input block is a
 * CorruptDataError naming the file; and the worker thread (compaction-runner.ts) gives the same
 * tables, byte for byte, as the engine's thread.
 */
import { describe, it } from "@std/testing/bdd";
import { assert, assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { CorruptDataError } from "../core/errors.ts";
import { BlockCache } from "../plugins/engines/lsm/block-cache.ts";
import {
  type BuiltTable,
  type CompactionJob,
  type CompactionResult,
  type CompactionSource,
  runCompaction,
} from "../plugins/engines/lsm/compaction.ts";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inlineRunner, sharedRunner, stopCompactionWorkers } from "../plugins/engines/lsm/compaction-runner.ts";
import { systemScheduler } from "../core/runtime/system-runtime.ts";
import { type Block, FOOTER_BYTES, parseFooter, TableBuilder, type TableEntry, TableReader } from "../plugins/engines/lsm/sstable.ts";
import type { FileHandle, FileSystem } from "../core/interfaces/file-system.ts";
import { Memtable } from "../plugins/engines/lsm/memtable.ts";
import { SortedKeys } from "../plugins/engines/lsm/sorted-keys.ts";
import { compareBytes } from "../core/codec/bytes.ts";
import { lowerBound } from "../core/model/sorted.ts";

const TABLE = { blockBytes: 256, bloomBitsPerKey: 10, compression: "none" as const };
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/** A run: distinct keys (as hex, so the model sorts them like bytes), each a value or a tombstone. */
const runArb = fc
  .uniqueArray(fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 6 }), fc.option(fc.uint8Array({ maxLength: 40 }), { freq: 4 })), {
    selector: ([k]) => hex(k),
    maxLength: 120,
  })
  .map((entries) =>
    entries.sort(([a], [b]) => (hex(a) < hex(b) ? -1 : hex(a) > hex(b) ? 1 : 0)).map(([key, value]): TableEntry => ({ key, value }))
  );

/**
 * A sorted run as one table file or as a memtable's entries (put in reversed order, which the
 * merge must sort), the two kinds of source.
 */
function source(run: readonly TableEntry[], asTable: boolean, name: string): CompactionSource | undefined {
  if (run.length === 0) return undefined;
  if (!asTable) {
    const mem = new Memtable();
    for (const e of [...run].reverse()) mem.set(e.key, e.value);
    return { kind: "entries", ...mem.entries() };
  }
  const builder = new TableBuilder(TABLE);
  for (const e of run) builder.add(e.key, e.value);
  const bytes = builder.finish().bytes.slice();
  return { kind: "tables", files: [{ name, size: bytes.length, bytes }] };
}

/** A read-only in-memory file, so a built table can be opened with TableReader. */
function memoryFile(bytes: Uint8Array): FileSystem {
  const handle: FileHandle = {
    path: "t.sst",
    write: () => Promise.reject(new Error("read only")),
    read: (into, offset, length, position) => Promise.resolve(readInto(into, offset, length, position)),
    readSync: (into, offset, length, position) => readInto(into, offset, length, position),
    sync: () => Promise.resolve(),
    size: () => Promise.resolve(bytes.length),
    close: () => Promise.resolve(),
  };
  function readInto(into: Uint8Array, offset: number, length: number, position: number): number {
    const part = bytes.subarray(position, position + length);
    into.set(part, offset);
    return part.length;
  }
  return { open: () => Promise.resolve(handle) } as unknown as FileSystem;
}

async function entriesOf(bytes: Uint8Array): Promise<TableEntry[]> {
  const reader = await TableReader.open(memoryFile(bytes), 1, "t.sst", new BlockCache<Block>(1 << 20));
  const out: TableEntry[] = [];
  for await (const e of reader.range(undefined, undefined, false)) out.push({ key: e.key.slice(), value: e.value && e.value.slice() });
  return out;
}

describe("lsm compaction: the merge against a model", () => {
  it("gives each key's newest entry, in order, split near maxBytes, dropping tombstones only at the bottom", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(runArb, { minLength: 1, maxLength: 5 }),
        fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
        fc.boolean(),
        fc.constantFrom(512, 4096, Infinity),
        async (runs, asTable, bottom, maxBytes) => {
          const model = new Map<string, TableEntry>();
          // Oldest first into the model, so the newest (first) run wins.
          for (let i = runs.length - 1; i >= 0; i--) for (const e of runs[i]!) model.set(hex(e.key), e);
          const expected = [...model.keys()].sort().map((k) => model.get(k)!).filter((e) => !(bottom && e.value === null));
          const sources = runs.map((r, i) => source(r, asTable[i]!, `r${i}.sst`)).filter((s) => s !== undefined);
          const job: CompactionJob = { sources, bottom, maxBytes, table: TABLE };
          const result = runCompaction(job);
          const got: TableEntry[] = [];
          for (const t of result.tables) {
            const entries = await entriesOf(t.bytes);
            assertEquals(t.info.count, entries.length);
            assertEquals(hex(t.info.smallest), hex(entries[0]!.key));
            assertEquals(hex(t.info.largest), hex(entries[entries.length - 1]!.key));
            // Split near the size asked: a table ends at the first entry past it.
            if (maxBytes !== Infinity) assert(t.bytes.length < maxBytes + 1024, `table of ${t.bytes.length} bytes for ${maxBytes}`);
            got.push(...entries);
          }
          assertEquals(got.map((e) => [hex(e.key), e.value && hex(e.value)]), expected.map((e) => [hex(e.key), e.value && hex(e.value)]));
          const dropped = bottom ? [...model.values()].filter((e) => e.value === null).length : 0;
          assertEquals(result.tombstonesDropped, dropped);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("a merge told the prefix all keys share builds the same tables, byte for byte, as one comparing whole keys", () => {
    // Tails over a few byte values and lengths either side of the six bytes abbreviated, so
    // abbreviations tie, zero bytes meet zero pads, and one key is a prefix of another.
    const tail = fc.uint8Array({ maxLength: 9 }).map((b) => b.map((x) => [0, 1, 0xff][x % 3]!));
    const run = fc
      .uniqueArray(fc.tuple(tail, fc.option(fc.uint8Array({ maxLength: 12 }), { freq: 4 })), { selector: ([t]) => hex(t), maxLength: 80 });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4 }), fc.array(run, { minLength: 2, maxLength: 5 }), fc.boolean(), (head, runs, bottom) => {
        const sources = runs
          .map((r) =>
            r.map(([t, value]): TableEntry => ({ key: Uint8Array.from([...head, ...t]), value }))
              .sort((a, b) => compareBytes(a.key, b.key))
          )
          .map((r, i) => source(r, true, `r${i}.sst`))
          .filter((s) => s !== undefined);
        const job: CompactionJob = { sources, bottom, maxBytes: 2048, table: TABLE };
        const plain = runCompaction(job);
        const abbreviated = runCompaction({ ...job, sharedPrefix: head });
        assertEquals(abbreviated.tables.map((t) => hex(t.bytes)), plain.tables.map((t) => hex(t.bytes)));
        assertEquals(abbreviated.tombstonesDropped, plain.tombstonesDropped);
      }),
      { numRuns: 200 },
    );
  });

  it("a key without the prefix a merge was told all keys share is a CorruptDataError, not a misordered table", () => {
    const run = (from: number) =>
      Array.from({ length: 100 }, (_, i): TableEntry => ({ key: new TextEncoder().encode(`key-${from + i}`), value: new Uint8Array(8) }));
    const sources = [source(run(1000), true, "000008.sst")!, source(run(2000), true, "000009.sst")!];
    const error = assertThrows(
      () => runCompaction({ sources, bottom: false, maxBytes: Infinity, table: TABLE, sharedPrefix: new TextEncoder().encode("key-1") }),
      CorruptDataError,
    );
    assert(error.location.startsWith("000009.sst at offset"), error.location);
  });

  it("a flipped bit in an input table is a CorruptDataError naming the file, never a wrong table", () => {
    const run = Array.from(
      { length: 300 },
      (_, i): TableEntry => ({ key: new TextEncoder().encode(`key-${1000 + i}`), value: new Uint8Array(20).fill(i) }),
    );
    const table = source(run, true, "000007.sst")! as Extract<CompactionSource, { kind: "tables" }>;
    const bytes = table.files[0]!.bytes!;
    // Data blocks, the index and the footer; not the Bloom filter, which a merge does not read
    // (the new table gets a filter of its own; a reader checks the old one when it opens it).
    const footer = parseFooter(bytes.subarray(bytes.length - FOOTER_BYTES), bytes.length, "000007.sst");
    const places = [0, 100, 700, Math.floor(footer.indexOffset / 2), footer.indexOffset + 5, footer.bloomOffset - 2, bytes.length - 3];
    for (const at of places) {
      const flipped = bytes.slice();
      flipped[at]! ^= 0x10;
      const error = assertThrows(
        () =>
          runCompaction({
            sources: [{ kind: "tables", files: [{ name: "000007.sst", size: flipped.length, bytes: flipped }] }],
            bottom: false,
            maxBytes: Infinity,
            table: TABLE,
          }),
        CorruptDataError,
      );
      assert(error.location.startsWith("000007.sst at offset"), error.location);
    }
  });

  it("the worker thread and the engine's thread build the same tables, byte for byte", async () => {
    const runs = [0, 1, 2].map((r) =>
      Array.from({ length: 2000 }, (_, i): TableEntry => ({
        key: new TextEncoder().encode(`k${String(i * 3 + r).padStart(6, "0")}`),
        value: i % 17 === 0 ? null : new TextEncoder().encode(`value ${r} ${i}`),
      }))
    );
    const job = (): CompactionJob => ({
      sources: runs.map((r, i) => source(r, i > 0, `${i}.sst`)!),
      bottom: true,
      maxBytes: 16 * 1024,
      table: TABLE,
    });
    // The tables as the runner hands them over, one by one.
    const collect = async (run: (onTable: (t: BuiltTable) => void) => Promise<CompactionResult>) => {
      const tables: BuiltTable[] = [];
      const result = await run((t) => tables.push(t));
      assertEquals(result.tables.length, 0, "every table went to onTable");
      return { tables, dropped: result.tombstonesDropped };
    };
    const runner = await sharedRunner("compaction");
    assert(runner !== undefined, "a worker thread starts here");
    assertEquals(runner.mode, "worker");
    const inWorker = await collect((onTable) => runner.run(job(), onTable));
    const inline = await collect((onTable) => inlineRunner(systemScheduler).run(job(), onTable));
    assertEquals(inWorker.tables.length, inline.tables.length);
    assert(inline.tables.length > 1);
    inWorker.tables.forEach((t, i) => assertEquals(hex(t.bytes), hex(inline.tables[i]!.bytes)));
    assertEquals(inWorker.dropped, inline.dropped);

    // Input files given by path only: the worker reads them itself.
    const dir = mkdtempSync(join(tmpdir(), "ringforge-compaction-"));
    try {
      job().sources.forEach((s, i) => s.kind === "tables" && writeFileSync(join(dir, `${i}.sst`), s.files[0]!.bytes!));
      // Fresh each time: a run's buffer moves to the worker with the job.
      const byPath = () =>
        job().sources.map((s, i): CompactionSource =>
          s.kind !== "tables" ? s : { kind: "tables", files: [{ name: join(dir, `${i}.sst`), size: s.files[0]!.size }] }
        );
      const fromFiles = await collect((onTable) => runner.run({ ...job(), sources: byPath() }, onTable));
      assertEquals(fromFiles.tables.length, inline.tables.length);
      fromFiles.tables.forEach((t, i) => assertEquals(hex(t.bytes), hex(inline.tables[i]!.bytes)));

      // A failure in the worker crosses back typed, naming the file.
      const bad = readFileSync(join(dir, "1.sst"));
      bad[10]! ^= 1;
      writeFileSync(join(dir, "1.sst"), bad);
      let caught: unknown;
      try {
        await runner.run({ ...job(), sources: byPath() }, () => {});
      } catch (error) {
        caught = error;
      }
      assert(caught instanceof CorruptDataError, `a CorruptDataError, got ${caught}`);
      assert(caught.location.startsWith(`${join(dir, "1.sst")} at offset`), caught.location);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      // Under Deno a started worker keeps the process alive until stopped.
      await stopCompactionWorkers();
    }
  });
});

describe("lsm memtable and block reads", () => {
  it("a memtable holds entries where they were written, counts what replaced ones still hold, and gives them back in key order", async () => {
    const mem = new Memtable();
    const bytes = (text: string) => new TextEncoder().encode(text);
    const put = (key: string, value: string | null) => mem.set(bytes(key), value === null ? null : bytes(value));
    put("b", "1");
    put("a", "22");
    const [bytesBefore, writtenBefore] = [mem.bytes, mem.written];
    put("b", "333");
    // The replaced "b" no longer counts as held (3 value bytes in place of 1), but its entry's
    // bytes stay in the memtable's chunk, and count as written (8 + 1 + 3 more).
    assertEquals(mem.bytes, bytesBefore + 2);
    assertEquals(mem.written, writtenBefore + 12);
    put("c", null);
    assertEquals(mem.size, 3);
    const text = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));
    assertEquals(text(mem.get(bytes("b"))!.value), "333");
    assertEquals(mem.get(bytes("c"))!.value, null);
    assertEquals(mem.get(bytes("d")), undefined);
    assertEquals([...mem.range(undefined, undefined, false)].map((e) => [text(e.key), text(e.value)]), [["a", "22"], ["b", "333"], [
      "c",
      null,
    ]]);
    // A flush gets each key once, newest value, sorted by the merge.
    const { tables } = runCompaction({ sources: [{ kind: "entries", ...mem.entries() }], bottom: false, maxBytes: Infinity, table: TABLE });
    const flushed = await entriesOf(tables[0]!.bytes);
    assertEquals(flushed.map((e) => [text(e.key), text(e.value)]), [["a", "22"], ["b", "333"], ["c", null]]);
  });

  it("a memtable matches a Map model for gets, ranges and what a flush writes, across its hash table's growth", async () => {
    const hexOf = (b: Uint8Array) => hex(b);
    // Keys under a shared prefix, with few distinct bytes after it, so many agree on the bytes
    // a flush's radix sort looks at and only whole-key comparisons tell them apart.
    const keyArb = fc.oneof(
      fc.uint8Array({ maxLength: 5 }),
      fc.uint8Array({ min: 0, max: 2, maxLength: 12 }).map((tail) => new Uint8Array([...new TextEncoder().encode("tenant-42/"), ...tail])),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(keyArb, fc.option(fc.uint8Array({ maxLength: 8 }), { freq: 5 })), { maxLength: 3000, size: "max" }),
        fc.uint8Array({ maxLength: 3 }),
        fc.uint8Array({ maxLength: 3 }),
        async (writes, a, b) => {
          const mem = new Memtable();
          const model = new Map<string, string | null>();
          for (const [key, value] of writes) {
            mem.set(key, value);
            model.set(hexOf(key), value === null ? null : hexOf(value));
          }
          assertEquals(mem.size, model.size);
          for (const [key] of writes.slice(0, 200)) {
            const got = mem.get(key)!;
            assertEquals(got.value === null ? null : hexOf(got.value), model.get(hexOf(key)));
          }
          assertEquals(mem.get(new Uint8Array([1, 2, 3, 4, 5, 6])), undefined);
          const sorted = [...model.entries()].sort(([x], [y]) => (x < y ? -1 : 1));
          const [gte, lt] = hexOf(a) <= hexOf(b) ? [a, b] : [b, a];
          const inRange = sorted.filter(([k]) => k >= hexOf(gte) && k < hexOf(lt));
          const forward = [...mem.range(gte, lt, false)].map((e) => [hexOf(e.key), e.value === null ? null : hexOf(e.value)]);
          assertEquals(forward, inRange);
          assertEquals([...mem.range(gte, lt, true)].map((e) => hexOf(e.key)), inRange.map(([k]) => k).reverse());
          if (model.size === 0) return;
          const flush = runCompaction({
            sources: [{ kind: "entries", ...mem.entries() }],
            bottom: false,
            maxBytes: Infinity,
            table: TABLE,
          });
          const written = await entriesOf(flush.tables[0]!.bytes);
          assertEquals(written.map((e) => [hexOf(e.key), e.value === null ? null : hexOf(e.value)]), sorted);
        },
      ),
      { numRuns: 40 },
    );
  });

  it("a table index searched by abbreviated keys finds what a whole-key binary search finds", () => {
    // Keys drawn over a few bytes and a shared head, so prefixes, zero bytes, keys that end
    // inside another's six abbreviated bytes and long runs of equal abbreviations all occur.
    const byte = fc.constantFrom(0, 1, 0x30, 0x31, 0xff);
    const tail = fc.uint8Array({ maxLength: 10 }).map((b) => b.map((x) => [0, 1, 0x30, 0x31, 0xff][x % 5]!));
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 12 }).map((h) => h.map((x) => x % 3)),
        fc.array(tail, { maxLength: 60 }),
        fc.array(fc.tuple(fc.boolean(), tail, byte), { minLength: 1, maxLength: 30 }),
        (head, tails, probes) => {
          const keys = tails.map((t) => Uint8Array.from([...head, ...t])).sort(compareBytes);
          const index = new SortedKeys(keys);
          for (const [withHead, t, b] of probes) {
            const probe = Uint8Array.from([...(withHead ? head : head.subarray(0, b % (head.length + 1))), ...t]);
            assertEquals(index.lowerBound(probe), lowerBound(keys, probe, compareBytes), `probe ${hex(probe)}`);
          }
          for (const key of keys) assertEquals(index.lowerBound(key), lowerBound(keys, key, compareBytes));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("a block a scan read into a shared chunk gets bytes of its own when it is found in the cache again", async () => {
    const { reader, cache, key } = await smallTable(1 << 20);
    for await (const entry of reader.range(undefined, key(2), false)) void entry;
    // The first table a cache sees holds keys from 0: block 0 is key 0.
    const first = cache.get(0)!;
    assert(first.shared, "read by a scan: a slice of the cache's arena");
    // Found again: the cache now holds a copy that keeps no chunk alive, with the same bytes.
    assertEquals(await reader.get(key(4)), new Uint8Array(20).fill(4));
    const again = cache.get(0)!;
    assert(!again.shared);
    assert(again.data.buffer !== first.data.buffer && again.data.byteLength === again.data.buffer.byteLength);
    assertEquals(again.data, first.data);
  });

  it("a point read reuses an evicted block's buffer, and the values it returned stay as they were", async () => {
    // Room for one block (a pooled 1 KiB buffer and its overhead): each read evicts the last.
    const { reader, cache, key } = await smallTable(1100);
    const kept = await reader.get(key(3));
    assertEquals(kept, new Uint8Array(20).fill(3));
    // The one block the cache holds (looking it up only refreshes it).
    const cached = () => [...Array(40).keys()].map((b) => cache.get(b)).find((b) => b !== undefined)!;
    const buffers = new Set([cached().pooled]);
    assert(!buffers.has(undefined), "a point read's block lies in a pooled buffer");
    const values: Uint8Array[] = [];
    for (let i = 10; i < 200; i += 10) {
      values.push((await reader.get(key(i)))!);
      buffers.add(cached().pooled);
    }
    // Nineteen more blocks read, each evicting the one before: two buffers take turns (the one
    // read into while the last block still holds the other), and the values are intact copies.
    assertEquals(buffers.size, 2);
    assertEquals(kept, new Uint8Array(20).fill(3));
    values.forEach((v, n) => assertEquals(v, new Uint8Array(20).fill(10 + 10 * n)));
  });

  it("a scan never holds a pooled buffer that point reads evict and reuse under it", async () => {
    const { reader, key } = await smallTable(1100);
    await reader.get(key(3)); // block 0 cached, in a pooled buffer
    const seen: number[] = [];
    let n = 0;
    for await (const entry of reader.range(undefined, undefined, false)) {
      seen.push(entry.value![0]!);
      assertEquals(entry.key, key(n));
      // Two reads of blocks not read just before: the first evicts the block the scan's came
      // from (its buffer goes to the pool), the second reads into that buffer.
      await reader.get(key(70 + 7 * ((2 * n) % 18)));
      await reader.get(key(70 + 7 * ((2 * n + 1) % 18)));
      n++;
    }
    assertEquals(seen, [...Array(200).keys()]);
  });
});

/** A table of keys key0000..key0199 with 20-byte values filled with their number, and a reader on it. */
async function smallTable(cacheBytes: number) {
  const builder = new TableBuilder(TABLE);
  const key = (i: number) => new TextEncoder().encode(`key${String(i).padStart(4, "0")}`);
  for (let i = 0; i < 200; i++) builder.add(key(i), new Uint8Array(20).fill(i));
  const bytes = builder.finish().bytes.slice();
  const cache = new BlockCache<Block>(cacheBytes);
  const reader = await TableReader.open(memoryFile(bytes), 7, "t.sst", cache, true);
  return { reader, cache, key };
}
