/**
 * The lab's workloads (set, CRDT, YCSB closed and open loop, register): the clients, what they
 * send and what they record in the {@link History}. They run in a {@link WorkloadWorld}: the
 * simulator's in-process cluster on virtual time, or real node processes over HTTP on wall-clock
 * time. One driver for both worlds is what makes their histories comparable: the same seed makes
 * the same choices of operation, key, node and think time in each.
 *
 * @module
 */
import { decodeText, encodeText } from "../core/codec/bytes.ts";
import { NotRunningError, PreconditionFailedError, RetriesExhaustedError } from "../core/errors.ts";
import { type KeyValueStore, type ReadOptions, StoreClient, type WriteOptions } from "../core/client/store-client.ts";
import { Counters } from "../core/client/datatypes/pn-counter.ts";
import { Sets } from "../core/client/datatypes/or-set.ts";
import { Session } from "../core/client/session.ts";
import type { Random } from "../core/interfaces/random.ts";
import type { CausalContext } from "../core/model/causal-context.ts";
import type { Consistency } from "../core/model/settings.ts";
import type { History, OperationKind } from "./history.ts";
import { ScrambledZipfian } from "./zipfian.ts";
import type { CrdtWorkload, MsRange, RatePoint, RegisterWorkload, Scenario, SetWorkload, YcsbWorkload } from "./scenario.ts";
import { crdtReadIds, obsoleteSiblings, parseSetValues, setCodec, unionOfSets, ycsbId, ycsbKey, ycsbValue } from "./workload-values.ts";

/** Read options a workload sends: the store's, with a consistency level. */
export interface WorkloadReadOptions extends ReadOptions {
  /** The consistency of the read (the register workload). */
  readonly consistency?: Consistency;
}

/** Write options a workload sends: the store's, with a consistency level and a condition. */
export interface WorkloadWriteOptions extends WriteOptions {
  /** The consistency of the write (the register workload). */
  readonly consistency?: Consistency;
  /** Write only if the key's version is still this one (the register workload's compare-and-set). */
  readonly ifMatch?: CausalContext;
}

/** What a client asks of one node: an in-process node, or an HTTP client of a node process. */
export interface WorkloadRequests extends KeyValueStore {
  /** Reads the live values of a key and its context. */
  get(key: string, options?: WorkloadReadOptions): ReturnType<KeyValueStore["get"]>;
  /** Writes a value, superseding what `context` read. */
  put(key: string, value: Uint8Array, options?: WorkloadWriteOptions): ReturnType<KeyValueStore["put"]>;
  /** Writes a tombstone, superseding what `context` read. */
  delete(key: string, options?: WorkloadWriteOptions): ReturnType<KeyValueStore["delete"]>;
}

/** Progress of a run, for a live line on a terminal. */
export interface RunProgress {
  /** Client operations finished. */
  readonly done: number;
  /** Client operations planned. */
  readonly total: number;
  /** Time now (virtual in a simulation, since the clients started in a real run), ms. */
  readonly virtualMs: number;
}

/** Where a workload runs: its time, its nodes and how a client reaches them. */
export interface WorkloadWorld {
  /** Where operations are recorded. */
  readonly history: History;
  /** The workload's random stream (every choice of operation, key, node and think time). */
  readonly random: Random;
  /** The store's default consistency (the register workload sends it with every request). */
  readonly consistency: Consistency;
  /** The scenario's time limit per request, if it sets one. */
  readonly timeoutMs: number | undefined;
  /** Time now, ms. */
  now(): number;
  /** Waits `ms` of this world's time. */
  sleep(ms: number): Promise<void>;
  /** The node a client sends its next request to (a random running one), or undefined if none runs. */
  pickNode(): string | undefined;
  /** `node` as a client reaches it. */
  requests(node: string): WorkloadRequests;
  /** The nodes, in order: the YCSB load phase writes record k through node k mod their count. */
  loadNodes(): readonly string[];
  /** `node` for the lab's own requests (the load phase, the final reads). */
  direct(node: string): WorkloadRequests;
  /** True once the run must stop early (a real run's time limit): clients stop at their next step. */
  stopped(): boolean;
  /** A failure's error code; throws what is not a store failure, or records it, as the world decides. */
  codeOf(error: unknown): string;
  /** Called as each client request arrives (the autoscaler's demand). */
  readonly onArrival?: (ms: number) => void;
  /** Called after each client operation. */
  readonly onProgress?: (progress: RunProgress) => void;
}

/** A YCSB operation. */
type YcsbOperation = "read" | "update" | "insert" | "delete";

/** Loads in flight at once in the YCSB load phase. */
const LOAD_PARALLELISM = 32;

/** How long a failed final read waits before it tries again, ms. */
const FINAL_READ_RETRY_MS = 200;

/**
 * Runs a scenario's workload in a {@link WorkloadWorld} and records it: {@link load} (YCSB's
 * load phase), {@link run} (the clients), {@link finalReads}. Keys it touched are in
 * {@link touched}, for the convergence check.
 *
 * @example
 * ```ts
 * const driver = new WorkloadDriver(world, scenario);
 * await driver.load();
 * await driver.run(Infinity);
 * await driver.finalReads("n1", 3);
 * ```
 */
export class WorkloadDriver {
  /** Every key a client or the load phase sent a request for. */
  readonly touched = new Set<string>();
  /** Client operations planned. */
  readonly total: number;
  readonly #world: WorkloadWorld;
  readonly #scenario: Scenario;
  #done = 0;

  constructor(world: WorkloadWorld, scenario: Scenario) {
    this.#world = world;
    this.#scenario = scenario;
    const w = scenario.workload;
    this.total = w.type === "set" ? w.adds : w.type === "ycsb" || w.type === "crdt" || w.type === "register" ? w.operations : 0;
  }

  /** Client operations finished so far. */
  get done(): number {
    return this.#done;
  }

  get #now(): number {
    return this.#world.now();
  }

  /** YCSB's load phase (nothing for the other workloads): every record written once, 32 at a time. */
  async load(): Promise<void> {
    const w = this.#scenario.workload;
    if (w.type !== "ycsb") return;
    // The initial records are written through the store (acknowledged writes like any other),
    // before the clock the faults are scheduled against starts.
    const world = this.#world;
    const nodes = world.loadNodes();
    let next = 0;
    const loader = async (_: unknown, i: number) => {
      // Loaders start a microsecond apart: tasks started in the same instant interleave by
      // microtask depth, which differs between V8 versions (Node and Deno would diverge).
      if (i > 0) await world.sleep(i / 1000);
      while (next < w.records && !world.stopped()) {
        const k = next++;
        const key = ycsbKey(k);
        const id = `load.${k}`;
        const node = nodes[k % nodes.length]!;
        const start = this.#now;
        this.touched.add(key);
        try {
          await world.direct(node).put(key, ycsbValue(id, w.valueBytes));
          world.history.record({ client: -1, kind: "write", key, node, value: id, start, end: this.#now, ok: true });
        } catch (error) {
          this.#fail(-1, "write", key, node, start, world.codeOf(error), id);
        }
      }
    };
    await Promise.all(Array.from({ length: LOAD_PARALLELISM }, loader));
  }

  /**
   * Runs the clients until their operations are done, `deadline` (in the world's time) has
   * passed, or the world stops.
   */
  async run(deadline: number): Promise<void> {
    const w = this.#scenario.workload;
    if (w.type === "membership") return;
    if (w.type === "ycsb" && w.rate) return await this.#ycsbOpenLoop(w, w.rate, deadline);
    await Promise.all(
      split(this.total, w.clients).map((ops, client) =>
        w.type === "set"
          ? this.#setClient(w, client, ops, deadline)
          : w.type === "crdt"
          ? this.#crdtClient(w, client, ops, deadline)
          : w.type === "register"
          ? this.#registerClient(w, client, ops, deadline)
          : this.#ycsbClient(w, client, ops, deadline)
      ),
    );
  }

  /**
   * Reads every touched key with `r` replies (R = N: every replica answers, so read repair
   * reaches each) through `node`, in key order. A failed read tries again every 200 ms until
   * `retryMs` after the first read began (a real run: a redialled peer comes back after its
   * back-off); 0 records the first failure.
   */
  async finalReads(node: string, r: number, retryMs = 0): Promise<void> {
    const w = this.#scenario.workload;
    const world = this.#world;
    // One budget for all the keys: a replica that stays away costs it once, not once per key.
    const giveUp = this.#now + retryMs;
    for (const key of [...this.touched].sort()) {
      if (world.stopped()) return;
      const start = this.#now;
      for (;;) {
        try {
          const read = await world.direct(node).get(key, { r });
          const ids = w.type === "set"
            ? parseSetValues(read.values)
            : w.type === "crdt"
            ? crdtReadIds(w, read.values)
            : w.type === "register"
            ? read.values.map(decodeText)
            : read.values.map(ycsbId);
          const obsolete = w.type === "set" ? obsoleteSiblings(read.values.map((v) => setCodec("").decode(v))) : undefined;
          this.#recordRead(-1, "final-read", key, node, start, read.values.length, ids, obsolete);
        } catch (error) {
          if (this.#now < giveUp && !world.stopped()) {
            await world.sleep(FINAL_READ_RETRY_MS);
            continue;
          }
          this.#fail(-1, "final-read", key, node, start, world.codeOf(error));
        }
        break;
      }
    }
  }

  // ---- clients ----------------------------------------------------------------------------

  async #think(range: MsRange): Promise<void> {
    const ms = range.min + this.#world.random.next() * (range.max - range.min);
    if (ms > 0) await this.#world.sleep(ms);
  }

  #progress(): void {
    this.#done++;
    this.#world.onProgress?.({ done: this.#done, total: this.total, virtualMs: this.#now });
  }

  #timeout(): { timeoutMs?: number } {
    const ms = this.#world.timeoutMs;
    return ms === undefined ? {} : { timeoutMs: ms };
  }

  /** True while a client should go on: before `deadline`, and the world not stopped. */
  #going(deadline: number): boolean {
    return this.#now < deadline && !this.#world.stopped();
  }

  async #setClient(w: SetWorkload, client: number, adds: number, deadline: number): Promise<void> {
    const world = this.#world;
    for (let i = 0; i < adds && this.#going(deadline); i++) {
      await this.#think(w.thinkMs);
      if (world.stopped()) break;
      const element = `${client}.${i}`;
      const node = world.pickNode();
      const start = this.#now;
      if (!node) {
        this.#fail(client, "add", w.key, "-", start, "RINGFORGE_NOT_RUNNING", element);
        continue;
      }
      this.touched.add(w.key);
      // One try: a failed add is recorded as failed (it may still be stored), not retried.
      const set = new StoreClient(world.requests(node), { codec: setCodec(element), merge: unionOfSets, maxTries: 1 });
      let putStart: number | undefined;
      try {
        await set.update(
          w.key,
          (current, read) => {
            const values = read.siblings;
            this.#recordRead(client, "read", w.key, node, start, values.length, [...(current?.elements ?? [])], obsoleteSiblings(values));
            putStart = this.#now;
            return { by: element, elements: [...(current?.elements ?? []), element] };
          },
          this.#timeout(),
        );
        world.history.record({ client, kind: "add", key: w.key, node, value: element, start: putStart!, end: this.#now, ok: true });
      } catch (error) {
        const cause = error instanceof RetriesExhaustedError ? error.cause : error;
        if (putStart === undefined) this.#fail(client, "read", w.key, node, start, world.codeOf(cause));
        this.#fail(client, "add", w.key, node, putStart ?? start, world.codeOf(cause), element);
      }
      this.#progress();
    }
  }

  /** A client of the CRDT workload: its own actor, each update through a random running node. */
  async #crdtClient(w: CrdtWorkload, client: number, operations: number, deadline: number): Promise<void> {
    const world = this.#world;
    let last = "-";
    const pick = (): WorkloadRequests => {
      const node = world.pickNode();
      if (!node) throw new NotRunningError("every node");
      last = node;
      return world.requests(node);
    };
    // Each request (every read and write of every try) goes to a node picked then.
    const store: KeyValueStore = {
      get: (key, options) => pick().get(key, options),
      put: (key, value, options) => pick().put(key, value, options),
      delete: (key, options) => pick().delete(key, options),
    };
    const actor = { actor: `c${client}` };
    const counters = new Counters(store, actor);
    const sets = new Sets(store, actor);
    const mine: string[] = [];
    this.touched.add(w.key);
    for (let i = 0; i < operations && this.#going(deadline); i++) {
      await this.#think(w.thinkMs);
      if (world.stopped()) break;
      const start = this.#now;
      const removing = world.random.int(5) === 0;
      let kind: OperationKind;
      let value: string;
      let run: () => Promise<unknown>;
      if (w.datatype === "counter") {
        const amount = 1 + world.random.int(5);
        kind = removing ? "decrement" : "increment";
        value = String(amount);
        run = () => (removing ? counters.decrement(w.key, amount) : counters.increment(w.key, amount));
      } else if (removing && mine.length > 0) {
        kind = "remove";
        value = mine.splice(world.random.int(mine.length), 1)[0]!;
        run = () => sets.remove(w.key, value);
      } else {
        kind = "add";
        value = `${client}.${i}`;
        run = () => sets.add(w.key, value);
      }
      try {
        await run();
        world.history.record({ client, kind, key: w.key, node: last, value, start, end: this.#now, ok: true });
        if (kind === "add") mine.push(value);
      } catch (error) {
        const cause = error instanceof RetriesExhaustedError ? error.cause : error;
        this.#fail(client, kind, w.key, last, start, world.codeOf(cause), value);
      }
      this.#progress();
    }
  }

  async #ycsbClient(w: YcsbWorkload, client: number, operations: number, deadline: number): Promise<void> {
    const picker = this.#ycsbPicker(w);
    const session = w.sessions ? { session: new Session() } : {};
    const inserted = { count: 0 };
    for (let i = 0; i < operations && this.#going(deadline); i++) {
      await this.#think(w.thinkMs);
      if (this.#world.stopped()) break;
      const { op, key } = picker(client, inserted);
      this.#world.onArrival?.(this.#now);
      await this.#ycsbOperation(w, client, `c${client}.${i}`, op, key, session, this.#now);
    }
  }

  /** Picks a YCSB operation by the mix and its key by the distribution (in that order: one draw each). */
  #ycsbPicker(w: YcsbWorkload): (client: number, inserted: { count: number }) => { op: YcsbOperation; key: string } {
    const random = this.#world.random;
    const deletes = w.mix.delete ?? 0;
    const total = w.mix.read + w.mix.update + w.mix.insert + deletes;
    const chooser = w.distribution === "zipfian" ? new ScrambledZipfian(w.records, random) : undefined;
    return (client, inserted) => {
      const roll = random.next() * total;
      const op: YcsbOperation = roll < w.mix.read
        ? "read"
        : roll < w.mix.read + w.mix.update
        ? "update"
        : roll < w.mix.read + w.mix.update + w.mix.insert
        ? "insert"
        : "delete";
      const key = op === "insert" ? `c${client}.i${inserted.count++}` : ycsbKey(chooser ? chooser.next() : random.int(w.records));
      return { op, key };
    };
  }

  /**
   * One YCSB operation through a random running node: a read, a read-modify-write update, a
   * blind insert, or a read-then-delete. `start` is when it was issued (its arrival, in an open
   * loop, which may be before a client was free).
   */
  async #ycsbOperation(
    w: YcsbWorkload,
    client: number,
    id: string,
    op: YcsbOperation,
    key: string,
    session: { session?: Session },
    start: number,
  ): Promise<void> {
    const world = this.#world;
    const writeKind = op === "delete" ? "delete" : "write";
    const node = world.pickNode();
    if (!node) {
      this.#fail(client, op === "read" ? "read" : writeKind, key, "-", start, "RINGFORGE_NOT_RUNNING", op === "read" ? undefined : id);
      this.#progress();
      return;
    }
    this.touched.add(key);
    const requests = world.requests(node);
    let context: CausalContext | undefined;
    if (op !== "insert") {
      try {
        const read = await requests.get(key, { ...this.#timeout(), ...session });
        context = read.context;
        this.#recordRead(client, "read", key, node, start, read.values.length, read.values.map(ycsbId));
      } catch (error) {
        this.#fail(client, "read", key, node, start, world.codeOf(error));
        if (op !== "read") this.#fail(client, writeKind, key, node, start, world.codeOf(error), id);
        this.#progress();
        return;
      }
    }
    if (op !== "read") {
      const putStart = op === "insert" ? start : this.#now;
      try {
        if (op === "delete") await requests.delete(key, { context, ...this.#timeout(), ...session });
        else await requests.put(key, ycsbValue(id, w.valueBytes), { context, ...this.#timeout(), ...session });
        world.history.record({ client, kind: writeKind, key, node, value: id, start: putStart, end: this.#now, ok: true });
      } catch (error) {
        this.#fail(client, writeKind, key, node, putStart, world.codeOf(error), id);
      }
    }
    this.#progress();
  }

  /**
   * The open-loop YCSB workload: arrivals at the schedule's rate (evenly spaced at the rate of
   * the moment), each run by the next idle client; an arrival with no idle client waits for one.
   */
  async #ycsbOpenLoop(w: YcsbWorkload, rate: readonly RatePoint[], deadline: number): Promise<void> {
    const world = this.#world;
    const t0 = this.#now;
    const end = Math.min(deadline, t0 + rate[rate.length - 1]!.atMs);
    const picker = this.#ycsbPicker(w);
    const sessions = Array.from({ length: w.clients }, () => (w.sessions ? { session: new Session() } : {}));
    const inserted = Array.from({ length: w.clients }, () => ({ count: 0 }));
    const idle = Array.from({ length: w.clients }, (_, i) => i);
    const waiting: ((client: number) => void)[] = [];
    const acquire = (): Promise<number> =>
      idle.length > 0 ? Promise.resolve(idle.shift()!) : new Promise((resolve) => waiting.push(resolve));
    const release = (client: number) => {
      const next = waiting.shift();
      if (next) next(client);
      else idle.push(client);
    };
    const running: Promise<void>[] = [];
    for (let i = 0; i < w.operations && this.#now < end && !world.stopped();) {
      const perSecond = rateAt(rate, this.#now - t0);
      if (perSecond <= 0) {
        await world.sleep(10);
        continue;
      }
      const arrival = this.#now;
      world.onArrival?.(arrival);
      const n = i++;
      running.push((async () => {
        const client = await acquire();
        try {
          const { op, key } = picker(client, inserted[client]!);
          await this.#ycsbOperation(w, client, `c${client}.${n}`, op, key, sessions[client]!, arrival);
        } finally {
          release(client);
        }
      })());
      await world.sleep(1000 / perSecond);
    }
    await Promise.all(running);
  }

  /**
   * A client of the register workload: each operation on a random register through a random
   * running node, at the store's default consistency (see {@link RegisterWorkload}).
   */
  async #registerClient(w: RegisterWorkload, client: number, operations: number, deadline: number): Promise<void> {
    const world = this.#world;
    const total = w.mix.read + w.mix.write + w.mix.cas;
    const consistency = world.consistency;
    for (let i = 0; i < operations && this.#going(deadline); i++) {
      await this.#think(w.thinkMs);
      if (world.stopped()) break;
      const roll = world.random.next() * total;
      const op = roll < w.mix.read ? "read" : roll < w.mix.read + w.mix.write ? "write" : "cas";
      const key = `r${world.random.int(w.keys)}`;
      const node = world.pickNode();
      const start = this.#now;
      const id = `c${client}.${i}`;
      if (!node) {
        this.#fail(client, op === "cas" ? "read" : op, key, "-", start, "RINGFORGE_NOT_RUNNING", op === "read" ? undefined : id);
        this.#progress();
        continue;
      }
      this.touched.add(key);
      const requests = world.requests(node);
      if (op === "write") {
        try {
          await requests.put(key, encodeText(id), { consistency, ...this.#timeout() });
          world.history.record({ client, kind: "write", key, node, value: id, start, end: this.#now, ok: true });
        } catch (error) {
          this.#fail(client, "write", key, node, start, world.codeOf(error), id);
        }
        this.#progress();
        continue;
      }
      let read;
      try {
        read = await requests.get(key, { consistency, ...this.#timeout() });
        this.#recordRead(client, "read", key, node, start, read.values.length, read.values.map(decodeText));
      } catch (error) {
        this.#fail(client, "read", key, node, start, world.codeOf(error));
        this.#progress();
        continue;
      }
      // Compare-and-set from what was read: a register with siblings has no one value to compare.
      if (op === "cas" && read.values.length <= 1) {
        const expected = read.values.length === 0 ? null : decodeText(read.values[0]!);
        const casStart = this.#now;
        const cas = { client, kind: "cas" as const, key, node, value: id, expected, start: casStart };
        try {
          await requests.put(key, encodeText(id), { consistency, ifMatch: read.context, ...this.#timeout() });
          world.history.record({ ...cas, end: this.#now, ok: true, applied: true });
        } catch (error) {
          if (error instanceof PreconditionFailedError) world.history.record({ ...cas, end: this.#now, ok: true, applied: false });
          else world.history.record({ ...cas, end: this.#now, ok: false, error: world.codeOf(error) });
        }
      }
      this.#progress();
    }
  }

  // ---- recording --------------------------------------------------------------------------

  #recordRead(
    client: number,
    kind: OperationKind,
    key: string,
    node: string,
    start: number,
    count: number,
    ids: string[],
    obsolete?: number,
  ): void {
    this.#world.history.record({
      client,
      kind,
      key,
      node,
      start,
      end: this.#now,
      ok: true,
      read: ids,
      siblings: count,
      ...(obsolete ? { obsolete } : {}),
    });
  }

  #fail(client: number, kind: OperationKind, key: string, node: string, start: number, error: string, value?: string): void {
    this.#world.history.record({
      client,
      kind,
      key,
      node,
      ...(value === undefined ? {} : { value }),
      start,
      end: this.#now,
      ok: false,
      error,
    });
  }
}

/** The rate of a schedule at `ms` (linear between points; the first point's before, the last's after). */
export function rateAt(rate: readonly RatePoint[], ms: number): number {
  if (ms <= rate[0]!.atMs) return rate[0]!.perSecond;
  for (let i = 1; i < rate.length; i++) {
    const a = rate[i - 1]!;
    const b = rate[i]!;
    if (ms <= b.atMs) return a.perSecond + ((b.perSecond - a.perSecond) * (ms - a.atMs)) / (b.atMs - a.atMs);
  }
  return rate[rate.length - 1]!.perSecond;
}

/** Splits `total` into `parts` near-equal whole shares. */
function split(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}
