/**
 * Anti-entropy, join and leave with handoff, and tombstone GC, on in-process clusters on
 * virtual time.
 */
import { simulatedNetwork } from "../sim/network.ts";
import { describe, it } from "@std/testing/bdd";
import { assert, assertEquals, assertRejects } from "@std/assert";
import fc from "fast-check";
import { type Cluster, createCluster, decodeText, encodeText, sleep, type StoreConfig } from "../index.ts";
import { MemoryEngine } from "../plugins/engines/memory.ts";
import { RecordStore } from "../core/node/record-store.ts";
import { VirtualScheduler } from "../core/runtime/virtual-scheduler.ts";
import { bytesEqual } from "../core/codec/bytes.ts";
import { encodeRecord, RECORD_HEADER_BYTES, RECORD_HEADER_MARK, recordKey } from "../core/codec/record-codec.ts";
import { murmur3 } from "../core/hash/murmur3.ts";
import { CorruptDataError } from "../core/errors.ts";
import type { StorageEngine } from "../core/interfaces/storage-engine.ts";
import { LsmEngine } from "../plugins/engines/lsm/index.ts";
import { systemScheduler } from "../core/runtime/system-runtime.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const network = (cluster: Cluster) => simulatedNetwork(cluster);
const text = (values: Uint8Array[]) => values.map(decodeText).sort();

/** Writes `count` keys through the cluster, `parallel` at a time; values padded to `bytes`. */
async function load(cluster: Cluster, count: number, prefix = "k", parallel = 64, bytes = 0): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        const i = next++;
        await cluster.any().put(`${prefix}${i}`, encodeText(`value ${i}`.padEnd(bytes, ".")));
      }
    }),
  );
}

/** Keys whose replicas (by the ring) do not hold byte-identical records. */
async function divergent(cluster: Cluster, keys: readonly string[]): Promise<string[]> {
  const n = cluster.store.replication.n;
  const first = cluster.nodes.find((x) => x.running)!;
  const out: string[] = [];
  for (const key of keys) {
    const owners = first.services.partitioner.preferenceList(key, n);
    const records = await Promise.all(owners.map(async (id) => encodeRecord(await cluster.node(id).localRecord(key))));
    if (records.some((r) => !bytesEqual(r, records[0]!))) out.push(key);
  }
  return out;
}

describe("record store: the stored format", () => {
  const legacyKey = (prefix: number, key: string, token?: number): Uint8Array => {
    const body = encodeText(key);
    const head = token === undefined ? Uint8Array.of(prefix) : Uint8Array.of(prefix, token >>> 24, token >>> 16, token >>> 8, token);
    const out = new Uint8Array(head.length + body.length);
    out.set(head);
    out.set(body, head.length);
    return out;
  };
  const prefixed = async (engine: MemoryEngine, prefix: number) => {
    let n = 0;
    for await (const _ of engine.scan({ gte: Uint8Array.of(prefix), lt: Uint8Array.of(prefix + 1) })) n++;
    return n;
  };
  const fill = async (store: RecordStore, keys: readonly string[]) => {
    for (const key of keys) await store.update(key, () => [{ value: encodeText(`v of ${key}`), version: 1 }]);
    // Two tombstone-only records: their tombstone time must survive the move.
    for (const key of keys.slice(0, 2)) await store.update(key, () => [{ value: null, version: 2 }]);
  };

  /** An open store over a fresh memory engine, tokens from MurmurHash3. */
  const freshStore = async () => {
    const engine = new MemoryEngine();
    await engine.open();
    const scheduler = new VirtualScheduler();
    const store = new RecordStore(engine, (key) => murmur3(key), scheduler, { bucketBits: 8 });
    await store.open();
    return { engine, store, scheduler };
  };

  it("stores one engine entry per record, under its token, with the header before the record", async () => {
    const { engine, store } = await freshStore();
    await store.update("k", () => [{ value: encodeText("v"), version: 1 }]);
    const stored = (await engine.get(recordKey(murmur3("k"), "k")))!;
    assertEquals(stored[0], RECORD_HEADER_MARK);
    assertEquals(stored.subarray(1 + RECORD_HEADER_BYTES), encodeRecord(await store.get("k")));
    // The record alone: no index entry of the earlier layout.
    assertEquals([await prefixed(engine, 0x01), await prefixed(engine, 0x03), await prefixed(engine, 0x05)], [0, 0, 1]);
  });

  it("moves records of earlier versions (by key, with or without a header, and their token index) at open", async () => {
    const scheduler = new VirtualScheduler();
    const keys = Array.from({ length: 40 }, (_, i) => `key${i}`);
    // What this version stores for the keys: the reference.
    const reference = new MemoryEngine();
    await reference.open();
    const expected = new RecordStore(reference, (key) => murmur3(key), scheduler, { bucketBits: 8 });
    await expected.open();
    await fill(expected, keys);

    // The same records as the two earlier layouts stored them: `0x01 key` with a header (half
    // the keys) or without (the other half), and a `0x03 token key` index entry each.
    const engine = new MemoryEngine();
    await engine.open();
    for (const [i, key] of keys.entries()) {
      const token = murmur3(key);
      const stored = (await reference.get(recordKey(token, key)))!;
      const header = stored.slice(1, 1 + RECORD_HEADER_BYTES);
      await engine.put(legacyKey(0x01, key), i % 2 === 0 ? stored : stored.slice(1 + RECORD_HEADER_BYTES));
      await engine.put(legacyKey(0x03, key, token), header);
    }
    for await (const [k, v] of reference.scan({ gte: Uint8Array.of(0x04), lt: Uint8Array.of(0x05) })) await engine.put(k, v);
    // An index entry whose record is gone: removed too.
    await engine.put(legacyKey(0x03, "gone", 7), new Uint8Array(RECORD_HEADER_BYTES));

    const store = new RecordStore(engine, (key) => murmur3(key), scheduler, { bucketBits: 8 });
    await store.open();
    assertEquals([await prefixed(engine, 0x01), await prefixed(engine, 0x03)], [0, 0]);
    assertEquals(await store.intervalHash({ start: 0, end: 0 }), await expected.intervalHash({ start: 0, end: 0 }));
    assertEquals([store.stats.keys, store.stats.bytes], [expected.stats.keys, expected.stats.bytes]);
    for (const key of keys) {
      assertEquals(await store.get(key), await expected.get(key));
      assertEquals(await store.entry(key), await expected.entry(key));
    }
    assertEquals(await store.tombstonesUntil(Infinity, 10), await expected.tombstonesUntil(Infinity, 10));
    // Engine for engine: the moved data is what this version writes.
    const dump = async (e: MemoryEngine) => {
      const out: [Uint8Array, Uint8Array][] = [];
      for await (const [k, v] of e.scan()) out.push([k.slice(), v.slice()]);
      return out;
    };
    assertEquals(await dump(engine), await dump(reference));

    // Updates and removals of moved records keep the tree and the sizes exact.
    for (const key of keys.slice(2, 10)) {
      await store.update(key, () => [{ value: encodeText(`w of ${key}`), version: 2 }]);
      await expected.update(key, () => [{ value: encodeText(`w of ${key}`), version: 2 }]);
    }
    for (const s of [store, expected]) assert(await s.removeIf(keys[20]!, (await s.entry(keys[20]!))!.hash));
    assertEquals(await store.intervalHash({ start: 0, end: 0 }), await expected.intervalHash({ start: 0, end: 0 }));
    assertEquals([store.stats.keys, store.stats.bytes], [expected.stats.keys, expected.stats.bytes]);
  });

  it("moves earlier versions' records on an LSM engine, and the move survives a restart", async () => {
    const directory = mkdtempSync(join(tmpdir(), "ringforge-migrate-"));
    try {
      const scheduler = new VirtualScheduler();
      const keys = Array.from({ length: 600 }, (_, i) => `key${i}`);
      const record = (key: string) => encodeRecord([{ value: encodeText(`v of ${key}`), version: 1 }]);
      let engine = new LsmEngine({ directory, sync: "never" }, systemScheduler);
      await engine.open();
      for (const key of keys) {
        const hash = RecordStore.hashOf(key, record(key));
        const index = new Uint8Array(RECORD_HEADER_BYTES);
        index.set([hash >>> 24, hash >>> 16, hash >>> 8, hash, 0, 0, 0, record(key).length + key.length]);
        await engine.batch([
          { type: "put", key: legacyKey(0x01, key), value: record(key) },
          { type: "put", key: legacyKey(0x03, key, murmur3(key)), value: index },
        ]);
      }
      await engine.close();
      for (let start = 0; start < 2; start++) {
        engine = new LsmEngine({ directory, sync: "never" }, systemScheduler);
        await engine.open();
        const store = new RecordStore(engine, (key) => murmur3(key), scheduler, { bucketBits: 8 });
        await store.open();
        let legacy = 0;
        for await (const _ of engine.scan({ gte: Uint8Array.of(0x01), lt: Uint8Array.of(0x04) })) legacy++;
        assertEquals([legacy, store.stats.keys], [0, keys.length]);
        for (const key of keys) assertEquals(text((await store.get(key)).map((s) => s.value!)), [`v of ${key}`]);
        await engine.close();
      }
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  /** `engine`, whose `failAt`-th batch fails, as a full disk would. */
  const failingAt = (engine: MemoryEngine, failAt: number): StorageEngine => {
    let batches = 0;
    return {
      capabilities: engine.capabilities,
      open: () => engine.open(),
      close: () => engine.close(),
      get: (key) => engine.get(key),
      put: (key, value) => engine.put(key, value),
      delete: (key) => engine.delete(key),
      batch: (ops) => (++batches === failAt ? Promise.reject(new Error("disk full")) : engine.batch(ops)),
      scan: (options) => engine.scan(options),
    };
  };
  /** Stores `keys` as the layout before headers stored them: record alone by key, index entry by token. */
  const storeLegacy = async (engine: MemoryEngine, keys: readonly string[]) => {
    for (const key of keys) {
      const record = encodeRecord([{ value: encodeText(`v of ${key}`), version: 1 }]);
      await engine.put(legacyKey(0x01, key), record);
      const index = new Uint8Array(RECORD_HEADER_BYTES);
      const hash = RecordStore.hashOf(key, record);
      index.set([hash >>> 24, hash >>> 16, hash >>> 8, hash, 0, 0, 0, record.length + key.length]);
      await engine.put(legacyKey(0x03, key, murmur3(key)), index);
    }
  };

  it("a move interrupted by a failing engine goes on at the next open, losing nothing", async () => {
    const scheduler = new VirtualScheduler();
    const keys = Array.from({ length: 600 }, (_, i) => `key${i}`);
    const engine = new MemoryEngine();
    await engine.open();
    await storeLegacy(engine, keys);
    await assertRejects(
      () => new RecordStore(failingAt(engine, 2), (key) => murmur3(key), scheduler, { bucketBits: 8 }).open(),
      Error,
      "disk full",
    );
    assert((await prefixed(engine, 0x01)) > 0 && (await prefixed(engine, 0x05)) > 0, "the move stopped midway");
    assertEquals((await prefixed(engine, 0x01)) + (await prefixed(engine, 0x05)), keys.length);

    const store = new RecordStore(engine, (key) => murmur3(key), scheduler, { bucketBits: 8 });
    await store.open();
    assertEquals([await prefixed(engine, 0x01), await prefixed(engine, 0x03), store.stats.keys], [0, 0, keys.length]);
    for (const key of keys) assertEquals(text((await store.get(key)).map((s) => s.value!)), [`v of ${key}`]);
  });

  it("moves a record that does not decode as it is: reading it fails as before, and the node opens", async () => {
    const engine = new MemoryEngine();
    await engine.open();
    await storeLegacy(engine, ["good"]);
    await engine.put(legacyKey(0x01, "bad"), Uint8Array.of(0x92, 0x01));
    // A header-less, index-less tombstone-only record: its grace period starts at the move.
    await engine.put(legacyKey(0x01, "gone"), encodeRecord([{ value: null, version: 1 }]));
    const scheduler = new VirtualScheduler();
    const store = new RecordStore(engine, (key) => murmur3(key), scheduler, { bucketBits: 8 });
    await store.open();
    assertEquals([await prefixed(engine, 0x01), store.stats.keys], [0, 3]);
    assertEquals(text((await store.get("good")).map((s) => s.value!)), ["v of good"]);
    await assertRejects(() => store.get("bad"), CorruptDataError);
    assertEquals((await store.entry("gone"))!.tombstoneSince, scheduler.now());
    assertEquals(await store.tombstonesUntil(Infinity, 10), [{ since: scheduler.now(), key: "gone" }]);
  });

  it("refuses to open over a key held in both layouts, changing neither copy", async () => {
    const { engine, store } = await freshStore();
    await store.update("k", () => [{ value: encodeText("new"), version: 2 }]);
    await storeLegacy(engine, ["k"]);
    await assertRejects(() => store.open(), CorruptDataError, "both");
    assertEquals([await prefixed(engine, 0x01), await prefixed(engine, 0x03), await prefixed(engine, 0x05)], [1, 1, 1]);
  });

  it("moves every record to its new token when the partitioner's token function changed, also after an interrupted move", async () => {
    const scheduler = new VirtualScheduler();
    const keys = Array.from({ length: 600 }, (_, i) => `key${i}`);
    const original = (key: string) => murmur3(key);
    const other = (key: string) => murmur3(key, 42);
    const expectedFor = async (tokenOf: (key: string) => number) => {
      const reference = new MemoryEngine();
      await reference.open();
      const expected = new RecordStore(reference, tokenOf, scheduler, { bucketBits: 8 });
      await expected.open();
      await fill(expected, keys);
      return expected;
    };
    const same = async (store: RecordStore, expected: RecordStore, tokenOf: (key: string) => number) => {
      assertEquals(await store.intervalHash({ start: 0, end: 0 }), await expected.intervalHash({ start: 0, end: 0 }));
      assertEquals([store.stats.keys, store.stats.bytes], [expected.stats.keys, expected.stats.bytes]);
      assertEquals(await store.tombstonesUntil(Infinity, 10), await expected.tombstonesUntil(Infinity, 10));
      for (const key of keys) {
        assertEquals(await store.get(key), await expected.get(key));
        assertEquals((await store.entry(key))!.token, tokenOf(key));
      }
      const found: string[] = [];
      for await (const entry of store.entries({ start: 0, end: 0 })) found.push(entry.key);
      assertEquals(found.sort(), [...keys].sort());
    };
    const engine = new MemoryEngine();
    await engine.open();
    const before = new RecordStore(engine, original, scheduler, { bucketBits: 8 });
    await before.open();
    await fill(before, keys);

    // The move to the other tokens stops midway; the node comes back with the original
    // partitioner, then with the other one.
    await assertRejects(() => new RecordStore(failingAt(engine, 2), other, scheduler, { bucketBits: 8 }).open(), Error, "disk full");
    const back = new RecordStore(engine, original, scheduler, { bucketBits: 8 });
    await back.open();
    await same(back, await expectedFor(original), original);
    const store = new RecordStore(engine, other, scheduler, { bucketBits: 8 });
    await store.open();
    await same(store, await expectedFor(other), other);
    assertEquals(await prefixed(engine, 0x05), keys.length);
  });

  it("refuses to open over a key stored under two tokens, changing neither copy", async () => {
    const { engine, store } = await freshStore();
    await store.update("k", () => [{ value: encodeText("v"), version: 1 }]);
    const stored = (await engine.get(recordKey(murmur3("k"), "k")))!.slice();
    await engine.put(recordKey(murmur3("k", 42), "k"), stored);
    await assertRejects(() => store.open(), CorruptDataError, "two tokens");
    assertEquals(await prefixed(engine, 0x05), 2);
    assertEquals(await engine.get(recordKey(murmur3("k", 42), "k")), stored);
  });

  it("reads, updates and removes records stored without a header, keeping the tree and sizes exact", async () => {
    const { engine, store, scheduler } = await freshStore();
    const keys = Array.from({ length: 40 }, (_, i) => `key${i}`);
    for (const key of keys) await store.update(key, () => [{ value: encodeText(`v of ${key}`), version: 1 }]);
    const fresh = { hash: await store.intervalHash({ start: 0, end: 0 }), stats: { ...store.stats } };
    // Written into the engine directly, without the header the store puts before a record.
    for (const key of keys) await engine.put(recordKey(murmur3(key), key), encodeRecord(await store.get(key)));
    await store.open();
    assertEquals(await store.intervalHash({ start: 0, end: 0 }), fresh.hash);
    assertEquals([store.stats.keys, store.stats.bytes], [fresh.stats.keys, fresh.stats.bytes]);
    for (const key of keys) assertEquals(text((await store.get(key)).map((s) => s.value!)), [`v of ${key}`]);

    for (const key of keys.slice(0, 10)) await store.update(key, () => [{ value: encodeText(`w of ${key}`), version: 2 }]);
    for (const key of keys.slice(10, 20)) await store.update(key, () => []);
    assert(await store.removeIf(keys[20]!, (await store.entry(keys[20]!))!.hash));
    const engine2 = new MemoryEngine();
    await engine2.open();
    const expected = new RecordStore(engine2, (key) => murmur3(key), scheduler, { bucketBits: 8 });
    await expected.open();
    for (const key of keys.slice(0, 10)) await expected.update(key, () => [{ value: encodeText(`w of ${key}`), version: 2 }]);
    for (const key of keys.slice(21)) await expected.update(key, () => [{ value: encodeText(`v of ${key}`), version: 1 }]);
    assertEquals(await store.intervalHash({ start: 0, end: 0 }), await expected.intervalHash({ start: 0, end: 0 }));
    assertEquals([store.stats.keys, store.stats.bytes], [expected.stats.keys, expected.stats.bytes]);
  });

  it("drops a tombstone-index entry its record does not match, and keeps the one that does", async () => {
    const { engine, store } = await freshStore();
    await store.update("k", () => [{ value: null, version: 1 }]);
    const since = (await store.entry("k"))!.tombstoneSince!;
    assertEquals(await store.dropStaleTombstone({ key: "k", since }), false);
    // An entry left by damaged data, older than the record's own.
    const stale = new Uint8Array(9 + 1);
    stale[0] = 0x04;
    new DataView(stale.buffer).setFloat64(1, since - 1000);
    stale[9] = "k".charCodeAt(0);
    await engine.put(stale, new Uint8Array(0));
    assertEquals((await store.tombstonesUntil(Infinity, 10)).length, 2);
    assertEquals(await store.dropStaleTombstone({ key: "k", since: since - 1000 }), true);
    assertEquals(await store.tombstonesUntil(Infinity, 10), [{ since, key: "k" }]);
  });
});

describe("record store: the immediate path and the lock", () => {
  it("an update of a key that removeIf holds waits for it, over an engine that answers at once, and both paths keep the tree and sizes exact", async () => {
    const scheduler = new VirtualScheduler();
    const make = async () => {
      const engine = new MemoryEngine();
      await engine.open();
      const store = new RecordStore(engine, (key) => murmur3(key), scheduler, { bucketBits: 8 });
      await store.open();
      return store;
    };
    const store = await make();
    const stored: string[] = [];
    store.onStored((key) => stored.push(key));
    await store.update("k", () => [{ value: encodeText("old"), version: 1 }]);
    await store.update("other", () => [{ value: encodeText("x"), version: 1 }]);
    const { hash } = (await store.entry("k"))!;
    // removeIf takes the key's lock and waits on the engine; the update, issued while it does,
    // must go after it (through the lock), not write at once and then be removed.
    const removal = store.removeIf("k", hash);
    const update = store.update("k", (current) => [...current, { value: encodeText("new"), version: 2 }]);
    assertEquals(await removal, true);
    assertEquals(text((await update).map((s) => s.value!)), ["new"]);
    assertEquals(text((await store.get("k")).map((s) => s.value!)), ["new"]);
    assertEquals(stored, ["k", "other", "k"]);

    // The same records written one by one on a fresh store give the same tree and sizes.
    const expected = await make();
    await expected.update("other", () => [{ value: encodeText("x"), version: 1 }]);
    await expected.update("k", () => [{ value: encodeText("new"), version: 2 }]);
    assertEquals(await store.intervalHash({ start: 0, end: 0 }), await expected.intervalHash({ start: 0, end: 0 }));
    assertEquals([store.stats.keys, store.stats.bytes], [expected.stats.keys, expected.stats.bytes]);
  });
});

describe("record store: the hash tree", () => {
  // Few keys keep the tree a map of its non-zero buckets; more than 1,024 of those make it a
  // Fenwick tree over all of them: both must hash alike, and so must the change of form.
  for (const { form, bits, count } of [{ form: "sparse", bits: 8, count: 300 }, { form: "dense", bits: 14, count: 2_500 }]) {
    it(`hashes any token interval as the XOR of its keys' record hashes (${form})`, async () => {
      const engine = new MemoryEngine();
      await engine.open();
      const scheduler = new VirtualScheduler();
      const store = new RecordStore(engine, (key) => murmur3(key), scheduler, { bucketBits: bits });
      await store.open();
      const keys = Array.from({ length: count }, (_, i) => `key${i}`);
      for (const key of keys) await store.update(key, () => [{ value: encodeText(key), version: 1 }]);
      for (const key of keys.slice(0, 50)) await store.update(key, () => []); // removals
      for (const key of keys.slice(50, 80)) await store.update(key, () => [{ value: null, version: 2 }]);
      const hashes = new Map<string, number>();
      for (const key of keys) {
        const e = await store.entry(key);
        if (e) hashes.set(key, e.hash);
      }
      const expected = (start: number, end: number) => {
        let x = 0;
        for (const [key, hash] of hashes) {
          const t = murmur3(key);
          const inside = start === end ? true : start < end ? t > start && t <= end : t > start || t <= end;
          if (inside) x ^= hash;
        }
        return x >>> 0;
      };
      await fc.assert(
        fc.asyncProperty(fc.nat(2 ** 32 - 1), fc.nat(2 ** 32 - 1), async (start, end) => {
          assertEquals(await store.intervalHash({ start, end }), expected(start, end));
        }),
        { numRuns: 200 },
      );
      assertEquals(store.stats.keys, count - 50);
      // Reopening rebuilds the same tree from the index alone.
      const before = await store.intervalHash({ start: 0, end: 0 });
      await store.open();
      assertEquals(await store.intervalHash({ start: 0, end: 0 }), before);
      assertEquals((await store.tombstonesUntil(scheduler.now(), 100)).length, 30);
    });
  }
});

const merkleStore = (extra: Partial<StoreConfig> = {}): StoreConfig => ({
  nodes: 3,
  replication: { n: 3, r: 2, w: 2 },
  replicator: { name: "quorum", options: { readRepair: false } },
  engine: { name: "memory", options: { durable: true } },
  antiEntropy: { name: "merkle", options: { intervalMs: 2000 } },
  ...extra,
});

describe("merkle anti-entropy", () => {
  it("converges keys that are never read, moving a small fraction of the data", async () => {
    await using cluster = await createCluster(merkleStore());
    // 100-byte values, as in examples/scenarios/anti-entropy.json.
    await load(cluster, 5000, "k", 64, 100);
    await sleep(cluster.runtime.scheduler, 100);
    // n3 misses 5 writes (0.1%): W=2 succeeds without it, and read repair is off.
    await cluster.crash("n3");
    for (let i = 0; i < 5; i++) await cluster.node("n1").put(`k${i * 997}`, encodeText("changed"));
    await cluster.restart("n3");
    const keys = Array.from({ length: 5000 }, (_, i) => `k${i}`);
    assertEquals((await divergent(cluster, keys)).length, 5);
    const bytesBefore = network(cluster).stats.bytes;
    // What the exchanges cost from the moment the replicas differ until they agree.
    const aeBytes = () => cluster.nodes.reduce((a, n) => a + n.services.antiEntropy.stats.bytes, 0);
    const aeBefore = aeBytes();
    await sleep(cluster.runtime.scheduler, 10_000);
    assertEquals(await divergent(cluster, keys), []);
    const fullCopy = Math.max(...cluster.nodes.map((n) => n.services.store.stats.bytes));
    const exchanged = aeBytes() - aeBefore;
    const repaired = cluster.nodes.reduce((a, n) => a + n.services.antiEntropy.stats.repaired, 0);
    assert(repaired >= 5, `repaired ${repaired}`);
    assert(exchanged < fullCopy * 0.05, `exchanged ${exchanged} bytes of a ${fullCopy}-byte copy`);
    // Everything on the wire in that window, detector and ring polls included, is small too.
    assert(network(cluster).stats.bytes - bytesBefore < fullCopy * 0.1);
  });

  it("without anti-entropy the same keys stay divergent", async () => {
    await using cluster = await createCluster(merkleStore({ antiEntropy: "none" }));
    await load(cluster, 500);
    await cluster.crash("n3");
    for (let i = 0; i < 5; i++) await cluster.node("n1").put(`k${i * 97}`, encodeText("changed"));
    await cluster.restart("n3");
    await sleep(cluster.runtime.scheduler, 10_000);
    assertEquals((await divergent(cluster, Array.from({ length: 500 }, (_, i) => `k${i}`))).length, 5);
  });
});

describe("join and leave with handoff", () => {
  it("a joining node streams about its share, and no acknowledged write is lost while clients write", async () => {
    await using cluster = await createCluster(merkleStore({ nodes: 5, antiEntropy: "none" }));
    const K = 3000;
    await load(cluster, K);
    const acked = new Map<string, string>();
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        const key = `k${(i * 7919) % K}`;
        const value = `during ${i}`;
        try {
          const node = cluster.nodes.filter((x) => x.running)[i % 5]!;
          const { context } = await node.get(key);
          await node.put(key, encodeText(value), { context });
          acked.set(key, value);
        } catch {
          // a failed write is not acknowledged
        }
        await sleep(cluster.runtime.scheduler, 2);
      }
    })();
    const { node: joined, streamed } = await cluster.join("n6");
    await sleep(cluster.runtime.scheduler, 6000); // handoff sweeps of the old owners
    writing = false;
    await writer;
    const held = joined.services.store.stats.keys;
    const ideal = (K * 3) / 6; // N copies of K keys spread over 6 nodes
    assert(Math.abs(held - ideal) / ideal < 0.15, `n6 holds ${held} keys, ideal ${ideal}`);
    assert(Math.abs(streamed - ideal) / ideal < 0.15, `n6 streamed ${streamed} keys, ideal ${ideal}`);
    assert(acked.size > 100);
    for (const [key, value] of acked) assertEquals(text((await cluster.node("n1").get(key, { r: 3 })).values), [value], key);
    // Old owners dropped what they no longer replicate.
    for (const node of cluster.nodes) {
      const partitioner = node.services.partitioner;
      for (let i = 0; i < K; i += 50) {
        const key = `k${i}`;
        const owns = partitioner.preferenceList(key, 3).includes(node.id);
        assertEquals((await node.localRecord(key)).length > 0, owns, `${node.id} ${key}`);
      }
    }
  });

  it("a decommissioned node hands everything off before it stops", async () => {
    await using cluster = await createCluster(merkleStore({ nodes: 5, antiEntropy: "none" }));
    const K = 2000;
    await load(cluster, K);
    const leaving = cluster.node("n2");
    const writes = (async () => {
      for (let i = 0; i < 200; i++) await cluster.node("n1").put(`late${i}`, encodeText(`late ${i}`));
    })();
    await cluster.leave("n2");
    await writes;
    assert(!leaving.running);
    assertEquals(leaving.services.store.stats.keys, 0);
    assertEquals(cluster.ids, ["n1", "n3", "n4", "n5"]);
    for (let i = 0; i < K; i += 7) assertEquals(text((await cluster.node("n3").get(`k${i}`)).values), [`value ${i}`]);
    for (let i = 0; i < 200; i++) assertEquals(text((await cluster.node("n4").get(`late${i}`)).values), [`late ${i}`]);
  });
});

describe("tombstone GC", () => {
  it("a key deleted while a replica is partitioned stays deleted, and tombstones go once every replica has them", async () => {
    await using cluster = await createCluster(
      merkleStore({ tombstones: { graceMs: 5000, intervalMs: 1000 }, requestTimeoutMs: 300 }),
    );
    await load(cluster, 100);
    network(cluster).partition([["n1", "n2"], ["n3"]]);
    for (let i = 0; i < 10; i++) {
      const { context } = await cluster.node("n1").get(`k${i}`);
      await cluster.node("n1").delete(`k${i}`, { context });
    }
    // Past the grace period, but n3 cannot confirm: nothing is collected.
    await sleep(cluster.runtime.scheduler, 20_000);
    assertEquals((await cluster.node("n1").localRecord("k0")).length, 1);
    assertEquals(text((await cluster.node("n3").localRecord("k0")).map((s) => s.value!)), ["value 0"]);
    network(cluster).heal();
    await sleep(cluster.runtime.scheduler, 30_000); // anti-entropy carries the tombstones, then GC
    for (let i = 0; i < 10; i++) {
      assertEquals((await cluster.node("n1").get(`k${i}`, { r: 3 })).values, [], `k${i} stays deleted`);
      for (const node of cluster.nodes) assertEquals(await node.localRecord(`k${i}`), [], `${node.id} reaped k${i}`);
    }
    assertEquals(text((await cluster.node("n2").get("k50")).values), ["value 50"]);
    assert(cluster.nodes.reduce((a, n) => a + n.tombstones.stats.reaped, 0) >= 30);
  });
});

describe("bad sync, ring and gc messages", () => {
  it("are refused with typed errors and change nothing", async () => {
    await using cluster = await createCluster(merkleStore({ handoff: { intervalMs: 3_600_000 } }));
    await load(cluster, 50);
    const n1 = cluster.node("n1");
    const n2 = cluster.node("n2");
    const keysBefore = n2.services.store.stats.keys;
    const epochBefore = n2.ring.view.epoch;
    const bad = [
      { type: "sync.hashes", intervals: [1, 2, 3] },
      { type: "sync.hashes", intervals: [-1, 5] },
      { type: "sync.keys", intervals: "all" },
      { type: "sync.fetch", keys: [42] },
      { type: "sync.merge", records: [["k1", "not rows"]] },
      { type: "sync.merge", records: [["", []]] },
      { type: "sync.nope" },
      { type: "ring.set", view: { epoch: 9, members: [] } },
      { type: "ring.set", view: { epoch: 9, members: [{ id: "a" }, { id: "a" }] } },
      { type: "ring.set", view: { epoch: -1, members: [{ id: "a" }] } },
      { type: "gc.reap", keys: ["k1"], hashes: [] },
      { type: "gc.check", keys: [1], hashes: [1] },
    ];
    for (const message of bad) {
      let code = "";
      try {
        await n1.services.transport.request("n2", message, { timeoutMs: 500 });
      } catch (error) {
        code = (error as { code?: string }).code ?? String(error);
      }
      assert(
        code === "RINGFORGE_INVALID_MESSAGE" || code === "RINGFORGE_INVALID_KEY" || code === "RINGFORGE_CORRUPT_DATA",
        `${JSON.stringify(message)} → ${code}`,
      );
    }
    assertEquals(n2.services.store.stats.keys, keysBefore);
    assertEquals(n2.ring.view.epoch, epochBefore);
  });

  it("a leave that would leave fewer members than N is refused", async () => {
    await using cluster = await createCluster(merkleStore());
    let code = "";
    try {
      await cluster.leave("n1");
    } catch (error) {
      code = (error as { code?: string }).code ?? "";
    }
    assertEquals(code, "RINGFORGE_INVALID_REQUEST");
    assert(cluster.node("n1").running);
    assertEquals(cluster.node("n1").ring.view.members.length, 3);
  });
});

describe("races the review found", () => {
  it("push mode never settles a record that changed after the tree was read", async () => {
    await using cluster = await createCluster(
      merkleStore({ nodes: 2, replication: { n: 2, r: 1, w: 2 }, handoff: { intervalMs: 3_600_000 } }),
    );
    await cluster.node("n1").put("x", encodeText("v1"));
    const n1 = cluster.node("n1").services;
    const original = n1.store.intervalHash.bind(n1.store);
    let slipped = false;
    n1.store.intervalHash = async (interval) => {
      const hash = await original(interval);
      if (!slipped) {
        slipped = true; // a write lands on n1 alone right after its tree was read
        await n1.store.update(
          "x",
          (mine) => n1.resolver.write(mine, { value: encodeText("v2"), context: undefined, node: "n1", timestamp: n1.clock.now() }),
        );
      }
      return hash;
    };
    const result = await n1.sync.run("n2", [{ start: 0, end: 0 }], { mode: "push", timeoutMs: 1000 });
    const mine = await n1.store.entry("x");
    if (result.settled.get("x") === mine!.hash) {
      // Settled at the new hash only if it was pushed: n2 must hold v2 now.
      const n2 = (await cluster.node("n2").localRecord("x")).map((s) => decodeText(s.value!));
      assert(n2.includes("v2"), `settled but n2 holds ${n2}`);
    }
    assertEquals(result.settled.get("x") === undefined || result.pushed > 0, true);
  });

  it("ring views adopted concurrently never go backwards", async () => {
    await using cluster = await createCluster(merkleStore({ handoff: { intervalMs: 3_600_000 } }));
    const ring = cluster.node("n1").ring;
    const members = ring.view.members;
    await Promise.all([ring.adopt({ epoch: 2, members }), ring.adopt({ epoch: 1, members })]);
    assertEquals(ring.view.epoch, 2);
  });

  it("a tombstone-index entry older than its record's own never reaps the record early", async () => {
    await using cluster = await createCluster({
      nodes: 1,
      replication: { n: 1, r: 1, w: 1 },
      tombstones: { graceMs: 10_000, intervalMs: 3_600_000 },
    });
    const n1 = cluster.node("n1");
    // Times are f64 in the index key: positive ones only, so the order is the byte order.
    await sleep(cluster.runtime.scheduler, 30_000);
    await n1.put("k", encodeText("v"));
    await n1.delete("k", { context: (await n1.get("k")).context });
    const since = (await n1.services.store.entry("k"))!.tombstoneSince!;
    // An entry left by damaged data, 20 s older than the record's: past its grace already.
    const stale = new Uint8Array(10);
    stale[0] = 0x04;
    new DataView(stale.buffer).setFloat64(1, since - 20_000);
    stale[9] = "k".charCodeAt(0);
    await n1.services.engine.put(stale, new Uint8Array(0));
    await sleep(cluster.runtime.scheduler, 1000);
    assertEquals(await n1.tombstones.collect(), 0);
    assertEquals((await n1.localRecord("k")).length, 1);
    assertEquals(await n1.services.store.tombstonesUntil(Infinity, 10), [{ since, key: "k" }]);
    // Its own grace period over, it goes.
    await sleep(cluster.runtime.scheduler, 10_000);
    assertEquals(await n1.tombstones.collect(), 1);
    assertEquals(await n1.localRecord("k"), []);
  });

  it("a tombstone's grace period runs from its latest delete", async () => {
    await using cluster = await createCluster(merkleStore({ handoff: { intervalMs: 3_600_000 } }));
    const n1 = cluster.node("n1");
    await n1.put("k", encodeText("v"));
    await n1.delete("k", { context: (await n1.get("k")).context });
    const first = (await n1.services.store.entry("k"))!.tombstoneSince!;
    await sleep(cluster.runtime.scheduler, 5000);
    await n1.put("k", encodeText("again"));
    await n1.delete("k", { context: (await n1.get("k")).context });
    const second = (await n1.services.store.entry("k"))!.tombstoneSince!;
    assert(second >= first + 5000, `since ${first} then ${second}`);
  });
});
