/**
 * The Replicator conformance suite: every replicator plugin runs it. The replicator is created
 * the way a node creates it, from a plugin context holding its dependencies: a real
 * consistent-hash ring over n1..n5, the vector-clock resolver, a silent logger, a virtual
 * scheduler and seeded randomness — and, instead of the network, a {@link FakeReplicaClient}
 * the test scripts per node (answer after a virtual delay, fail with a typed error, time out,
 * hang) and that records every call. Time is virtual and driven by hand, so every test and
 * every fast-check run is deterministic.
 *
 * It checks the contract written on {@link Replicator}: targets, when a write or read may
 * resolve and must reject (as properties over random per-replica outcomes), the numbers the
 * outcome and the errors report, and read repair where the replicator claims it.
 *
 * @example
 * ```ts
 * replicatorSuite({ plugin: sloppyQuorumPlugin }); // checks what its capabilities declare
 * replicatorSuite({
 *   name: "quorum without read repair",
 *   create: ({ context }) => quorumPlugin.create(context, quorumPlugin.parseOptions({ readRepair: false })),
 *   supports: { preferenceListTargets: true, readRepair: false },
 * });
 * ```
 *
 * @module
 */
import { afterEach, describe, it } from "./bdd.ts";
import { assert, assertEquals, assertInstanceOf, equal } from "./assert.ts";
import fc from "fast-check";
import { QuorumNotReachedError, RemoteError, RingforgeError, TimeoutError, UnreachableNodeError } from "../../core/errors.ts";
import type { ConflictResolver } from "../../core/interfaces/conflict-resolver.ts";
import { silentLogger } from "../../core/interfaces/logger.ts";
import type { MemberInfo } from "../../core/interfaces/partitioner.ts";
import { type ReadOutcome, type ReplicaClient, type Replicator, type WriteOutcome } from "../../core/interfaces/replicator.ts";
import type { NodeId, SiblingSet } from "../../core/model/sibling.ts";
import { VirtualScheduler } from "../../core/runtime/virtual-scheduler.ts";
import { StaticMembership } from "../../plugins/detectors/static-membership.ts";
import { MemoryEngine } from "../../plugins/engines/memory.ts";
import type { Transport } from "../../core/interfaces/transport.ts";
import type { PluginContext } from "../../core/build/plugin.ts";
import { standaloneContext } from "../../core/build/standalone-context.ts";
import { virtualRuntime } from "../../core/runtime/runtime.ts";
import { ConsistentHashRing } from "../../plugins/partitioners/consistent-hash.ts";
import { VectorClockResolver } from "../../plugins/resolvers/vector-clock.ts";
import { checkPlugin, createShared, type PluginSuiteOptions } from "./plugin-under-test.ts";

// ---- the fake replica client ---------------------------------------------------------------

/**
 * How one replica answers a call (made by {@link ok}, {@link fail}, {@link unreachable},
 * {@link remoteError}, {@link timeout} and {@link hang}). Delays are virtual milliseconds.
 */
export type ReplicaBehaviour =
  | {
    /** Answers: a write is stored, a read returns the replica's record. */
    readonly kind: "ok";
    /** When it answers. */
    readonly delayMs: number;
  }
  | {
    /** Rejects. */
    readonly kind: "fail";
    /** When it rejects. */
    readonly delayMs: number;
    /** The error it rejects with, for the replica it stands for. */
    readonly error: (node: NodeId) => Error;
  }
  | {
    /** Never settles. */
    readonly kind: "hang";
  };

/**
 * Succeeds after `delayMs`. A delay beyond the call's time limit (e.g. `Infinity`) makes the
 * call reject with a {@link TimeoutError} at the limit, as the transport does.
 */
export function ok(delayMs = 10): ReplicaBehaviour {
  return { kind: "ok", delayMs };
}

/** Rejects with `error(node)` after `delayMs`. */
export function fail(error: (node: NodeId) => Error, delayMs = 10): ReplicaBehaviour {
  return { kind: "fail", delayMs, error };
}

/** Rejects with {@link UnreachableNodeError} after `delayMs`. */
export function unreachable(delayMs = 10): ReplicaBehaviour {
  return fail((node) => new UnreachableNodeError(node, "connection refused"), delayMs);
}

/** Rejects with a {@link RemoteError} (the replica failed) after `delayMs`. */
export function remoteError(delayMs = 10): ReplicaBehaviour {
  return fail((node) => new RemoteError(node, "disk full"), delayMs);
}

/** Never answers in time: rejects with {@link TimeoutError} when the call's time limit expires. */
export function timeout(): ReplicaBehaviour {
  return ok(Infinity);
}

/** Never settles at all (a client breaking its contract, or a request still in flight). */
export function hang(): ReplicaBehaviour {
  return { kind: "hang" };
}

/** One call a replicator made. */
export interface ReplicaCall {
  /** Which {@link ReplicaClient} method was called. */
  readonly op: "read" | "write";
  /** The replica called. */
  readonly node: NodeId;
  /** The key. */
  readonly key: string;
  /** What a write sent (undefined for reads). */
  readonly siblings: SiblingSet | undefined;
  /** The call's time limit, in virtual ms. */
  readonly timeoutMs: number;
  /** Virtual time of the call. */
  readonly at: number;
}

/** A replica's answer to a call, in the order answers were delivered. */
export interface ReplicaAnswer {
  /** The call answered. */
  readonly call: ReplicaCall;
  /** True if the call resolved. */
  readonly ok: boolean;
  /** True if it rejected with a {@link TimeoutError}. */
  readonly timedOut: boolean;
  /** What a successful read returned. */
  readonly reply: SiblingSet | undefined;
  /** Virtual time of the answer. */
  readonly at: number;
}

/**
 * A {@link ReplicaClient} over per-node records, answering on virtual time as each node's
 * scripted behaviour says, recording every call and answer. A successful write merges into
 * the node's record with the resolver, as a replica does; a successful read returns the
 * node's record at the time it answers.
 */
export class FakeReplicaClient implements ReplicaClient {
  /** Every call, in call order. */
  readonly calls: ReplicaCall[] = [];
  /** Every answer, in delivery order. */
  readonly answers: ReplicaAnswer[] = [];
  readonly #records = new Map<string, SiblingSet>();
  readonly #behaviours = new Map<string, ReplicaBehaviour>();

  constructor(
    private readonly scheduler: VirtualScheduler,
    private readonly resolver: ConflictResolver,
    /** Behaviour of a node and operation with none set. */
    private readonly defaultBehaviour: ReplicaBehaviour = ok(10),
  ) {}

  /** Scripts how `node` answers `op` (both operations when omitted). */
  behave(node: NodeId, behaviour: ReplicaBehaviour, op?: "read" | "write"): this {
    if (op !== "write") this.#behaviours.set(`read ${node}`, behaviour);
    if (op !== "read") this.#behaviours.set(`write ${node}`, behaviour);
    return this;
  }

  /** Sets the record `node` holds for `key`. */
  seed(node: NodeId, key: string, siblings: SiblingSet): this {
    this.#records.set(`${node} ${key}`, siblings);
    return this;
  }

  /** The record `node` holds for `key` (empty if none). */
  record(node: NodeId, key: string): SiblingSet {
    return this.#records.get(`${node} ${key}`) ?? [];
  }

  /** The write calls made so far. */
  writes(): ReplicaCall[] {
    return this.calls.filter((c) => c.op === "write");
  }

  write(node: NodeId, key: string, siblings: SiblingSet, timeoutMs: number): Promise<void> {
    const call: ReplicaCall = { op: "write", node, key, siblings, timeoutMs, at: this.scheduler.now() };
    return this.#answer(call, () => {
      this.#records.set(`${node} ${key}`, this.resolver.merge(this.record(node, key), siblings));
      return undefined;
    });
  }

  read(node: NodeId, key: string, timeoutMs: number): Promise<SiblingSet> {
    const call: ReplicaCall = { op: "read", node, key, siblings: undefined, timeoutMs, at: this.scheduler.now() };
    return this.#answer(call, () => this.record(node, key));
  }

  #answer<T extends SiblingSet | undefined>(call: ReplicaCall, serve: () => T): Promise<T> {
    this.calls.push(call);
    const behaviour = this.#behaviours.get(`${call.op} ${call.node}`) ?? this.defaultBehaviour;
    if (behaviour.kind === "hang") return new Promise<T>(() => {});
    const late = !(behaviour.delayMs <= call.timeoutMs);
    return new Promise<T>((resolve, reject) => {
      this.scheduler.schedule(late ? call.timeoutMs : behaviour.delayMs, () => {
        const at = this.scheduler.now();
        if (late) {
          this.answers.push({ call, ok: false, timedOut: true, reply: undefined, at });
          reject(new TimeoutError(`kv.${call.op} to ${call.node}`, call.timeoutMs, { node: call.node }));
        } else if (behaviour.kind === "fail") {
          const error = behaviour.error(call.node);
          this.answers.push({ call, ok: false, timedOut: error instanceof TimeoutError, reply: undefined, at });
          reject(error);
        } else {
          const value = serve();
          this.answers.push({ call, ok: true, timedOut: false, reply: call.op === "read" ? value : undefined, at });
          resolve(value);
        }
      });
    });
  }
}

// ---- the suite's harness -------------------------------------------------------------------

/** The cluster every replicator under test belongs to. */
export const SUITE_MEMBERS: readonly MemberInfo[] = Object.freeze(
  ["n1", "n2", "n3", "n4", "n5"].map((id) => Object.freeze({ id })),
);

/** Time limit of the suite's requests, in virtual ms. */
export const REQUEST_TIMEOUT_MS = 1_000;

/** What the suite hands to `create`: a plugin context with every dependency. */
export interface ReplicatorDeps {
  /**
   * A plugin context for node `self` holding every dependency: the partitioner (the ring), the
   * replicas (the fake client), the resolver, the detector (static: every member up), an
   * engine, a transport that reaches no one, the virtual scheduler as clock and timers, seeded
   * randomness and a silent logger; `shared` is what the plugin's `createShared` made (plugin
   * form), else `undefined`.
   */
  // deno-lint-ignore no-explicit-any -- whatever the replicator under test shares
  readonly context: PluginContext<any>;
  /** The node the replicator runs on: `storedOn` of its writes. */
  readonly self: NodeId;
  /** The ring over {@link SUITE_MEMBERS}. */
  readonly partitioner: ConsistentHashRing;
  /** The scripted replicas. */
  readonly client: FakeReplicaClient;
  /** The conflict resolver (vector clocks). */
  readonly resolver: ConflictResolver;
  /** Virtual time, driven by the tests. */
  readonly scheduler: VirtualScheduler;
}

/** What a replicator claims beyond the interface, so the suite tests exactly that. */
export interface ReplicatorCapabilities {
  /**
   * `targets(key, n)` is the partitioner's preference list: true for a strict quorum. A sloppy
   * quorum picks healthy stand-ins and says false (the suite then checks only that the targets
   * are `n` distinct members).
   */
  readonly preferenceListTargets: boolean;
  /**
   * True: once every replica of a read has answered, each one whose reply differs from the
   * merge (missing included) is sent the merged record, and no one else is. False: reads never
   * write.
   */
  readonly readRepair: boolean;
  /**
   * True for a sloppy quorum: a write whose target fails is handed to a healthy node beyond
   * the targets (with a hint), so the strict accounting of the write-failure tests does not
   * apply; the suite then checks writes only where every target answers.
   */
  readonly fallsBackOnFailure?: boolean;
}

/**
 * The plugin form of {@link replicatorSuite}: the suite creates each replicator with
 * `plugin.create` from the harness's context (and what `plugin.createShared` makes, once per
 * test), and reads `capabilities.preferenceListTargets`, `readRepair` and `fallsBackOnFailure`.
 */
export type ReplicatorPluginSuiteOptions = PluginSuiteOptions<"replicator">;

/** The factory form of {@link replicatorSuite}, for a replicator made in code. */
export interface ReplicatorSuiteOptions {
  /** Shown in test names. */
  readonly name: string;
  /** Builds the replicator from `deps.context`; called once per test. */
  readonly create: (deps: ReplicatorDeps) => Replicator | Promise<Replicator>;
  /** What the replicator claims. */
  readonly supports: ReplicatorCapabilities;
}

/** A replicator under test with its dependencies. */
export interface ReplicatorHarness extends ReplicatorDeps {
  /** The replicator under test, created from `context`. */
  readonly replicator: Replicator;
  /** Runs virtual time until nothing is pending (bounded, in case of periodic timers). */
  settle(): Promise<void>;
  /** Stops the replicator and closes the engine. */
  dispose(): Promise<void>;
}

/** How far {@link ReplicatorHarness.settle} runs at most: well past every time limit. */
const SETTLE_HORIZON_MS = 120_000;

/**
 * Builds a replicator on node `self` with fresh dependencies (`seed` seeds RANDOM), from its
 * plugin (and options) or a factory. For plugin-specific tests that want the suite's fake
 * replicas and virtual time.
 *
 * @example
 * ```ts
 * const h = await createReplicatorHarness({ plugin: quorumPlugin, options: { readRepair: false } });
 * const pending = h.replicator.read({ key: "k", targets: h.replicator.targets("k", 3), r: 2, timeoutMs: 1000 });
 * await h.settle();
 * await h.dispose();
 * ```
 */
export async function createReplicatorHarness(
  subject: ReplicatorPluginSuiteOptions | ReplicatorSuiteOptions["create"],
  self: NodeId = "n1",
  seed = 1,
): Promise<ReplicatorHarness> {
  const checked = typeof subject === "function"
    ? undefined
    : checkPlugin("createReplicatorHarness", "replicator", subject, { virtualTime: true });
  const create: ReplicatorSuiteOptions["create"] = checked
    ? ({ context }) => checked.plugin.create(context, checked.options)
    : (subject as ReplicatorSuiteOptions["create"]);
  const scheduler = new VirtualScheduler();
  const resolver: ConflictResolver = new VectorClockResolver();
  const partitioner = new ConsistentHashRing();
  partitioner.setMembers(SUITE_MEMBERS);
  const client = new FakeReplicaClient(scheduler, resolver);
  // What replicators that keep state of their own (hints) need: an engine, the node's message
  // router, and a transport (this one reaches no one: the fake client stands for the replicas).
  const engine = new MemoryEngine();
  void engine.open();
  const transport: Transport = {
    self,
    start: async () => {},
    stop: async () => {},
    send: () => {},
    request: (to: string) => Promise.reject(new UnreachableNodeError(to, "the suite's transport reaches no one")),
  };
  const runtime = {
    ...virtualRuntime(seed),
    scheduler,
    clockFor: () => scheduler,
    schedulerFor: () => scheduler,
    loggerFor: () => silentLogger,
  };
  const context = standaloneContext({
    id: self,
    runtime,
    members: SUITE_MEMBERS,
    shared: checked && createShared(checked, runtime, SUITE_MEMBERS),
    settings: { requestTimeoutMs: REQUEST_TIMEOUT_MS },
    services: {
      partitioner,
      resolver,
      replicas: client,
      detector: new StaticMembership(self, SUITE_MEMBERS),
      engine,
      transport,
    },
  });
  const deps: ReplicatorDeps = { context, self, partitioner, client, resolver, scheduler };
  const replicator = await create(deps);
  return {
    ...deps,
    replicator,
    settle: async () => {
      await scheduler.runUntilIdle(scheduler.now() + SETTLE_HORIZON_MS);
    },
    dispose: async () => {
      await replicator.stop?.();
      await engine.close();
    },
  };
}

/** What {@link track} returns: the request's fate so far. */
export interface Tracker<T> {
  /** Where the request stands, updated as it settles. */
  readonly state: Settlement<T>;
}

/** A request's fate, observed as it happens. */
export type Settlement<T> =
  | {
    /** Not settled yet. */
    readonly status: "pending";
  }
  | {
    /** Resolved. */
    readonly status: "resolved";
    /** What it resolved with. */
    readonly value: T;
    /** Virtual time it resolved at. */
    readonly at: number;
    /** How many replica answers had been delivered by then. */
    readonly answersSeen: number;
  }
  | {
    /** Rejected. */
    readonly status: "rejected";
    /** What it rejected with. */
    readonly error: unknown;
    /** Virtual time it rejected at. */
    readonly at: number;
    /** How many replica answers had been delivered by then. */
    readonly answersSeen: number;
  };

/**
 * Watches `promise`: when it settles, notes the virtual time and how many replica answers had
 * been delivered. Call it right after starting the request, before driving time.
 */
export function track<T>(h: ReplicatorHarness, promise: Promise<T>): Tracker<T> {
  const tracker: { state: Settlement<T> } = { state: { status: "pending" } };
  promise.then(
    (value) => {
      tracker.state = { status: "resolved", value, at: h.scheduler.now(), answersSeen: h.client.answers.length };
    },
    (error: unknown) => {
      tracker.state = { status: "rejected", error, at: h.scheduler.now(), answersSeen: h.client.answers.length };
    },
  );
  return tracker;
}

// ---- records and arbitraries ---------------------------------------------------------------

const text = (s: string) => new TextEncoder().encode(s);

/**
 * A small pool of records for one key, made by the resolver: `a`; `b` written over `a`; `c`
 * concurrent with both; `b` and `c` as siblings; a tombstone over `b`; and no record.
 */
function recordPool(resolver: ConflictResolver): readonly SiblingSet[] {
  const stamp = (value: string | null, node: NodeId, over: SiblingSet, timestamp: number) =>
    resolver.write(over, {
      value: value === null ? null : text(value),
      context: over.length ? resolver.context(over) : undefined,
      node,
      timestamp,
    });
  const a = stamp("a", "n1", [], 1);
  const b = stamp("b", "n2", a, 2);
  const c = stamp("c", "n3", [], 3);
  const bc = resolver.merge(b, c);
  const tomb = stamp(null, "n1", b, 4);
  return [[], a, b, c, bc, tomb];
}

const POOL = recordPool(new VectorClockResolver());

/** The records of the pool by name, for readable examples. */
const R = { none: POOL[0]!, a: POOL[1]!, b: POOL[2]!, c: POOL[3]!, bc: POOL[4]!, tomb: POOL[5]! };

/** A replica outcome for a property run (the fake's behaviours, as plain data for shrinking). */
type Outcome =
  | { readonly kind: "ok"; readonly delay: number }
  | { readonly kind: "unreachable"; readonly delay: number }
  | { readonly kind: "remote"; readonly delay: number }
  | { readonly kind: "crash"; readonly delay: number }
  | { readonly kind: "timeout" };

const delayArb = fc.integer({ min: 1, max: 50 });
const outcomeArb: fc.Arbitrary<Outcome> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant("ok" as const), delay: delayArb }), weight: 5 },
  { arbitrary: fc.record({ kind: fc.constant("unreachable" as const), delay: delayArb }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant("remote" as const), delay: delayArb }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant("crash" as const), delay: delayArb }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant("timeout" as const) }), weight: 2 },
);

function behaviourOf(outcome: Outcome): ReplicaBehaviour {
  switch (outcome.kind) {
    case "ok":
      return ok(outcome.delay);
    case "unreachable":
      return unreachable(outcome.delay);
    case "remote":
      return remoteError(outcome.delay);
    case "crash":
      // Not a RingforgeError: the replicator must still report a typed error.
      return fail((node) => new Error(`replica ${node} crashed`), outcome.delay);
    case "timeout":
      return timeout();
  }
}

/** A request scenario: n targets, the coordinator among them, the quorum and each outcome. */
interface Scenario {
  readonly n: number;
  readonly self: NodeId;
  readonly keyIndex: number;
  /** W or R, in 1..n. */
  readonly quorum: number;
  /** One outcome per target, in target order (a write ignores the coordinator's). */
  readonly outcomes: readonly Outcome[];
  /** For reads: index into the record pool, per target. */
  readonly records: readonly number[];
}

const scenarioArb: fc.Arbitrary<Scenario> = fc.integer({ min: 3, max: 5 }).chain((n) =>
  fc.record({
    n: fc.constant(n),
    self: fc.constantFrom(...SUITE_MEMBERS.map((m) => m.id)),
    keyIndex: fc.nat(1_000),
    quorum: fc.integer({ min: 1, max: n }),
    outcomes: fc.array(outcomeArb, { minLength: n, maxLength: n }),
    records: fc.array(fc.nat(POOL.length - 1), { minLength: n, maxLength: n }),
  })
);

const CANDIDATE_KEYS = Array.from({ length: 64 }, (_, i) => `key-${i}`);

/** A key whose `n` targets include `self` (a coordinator is always one of its key's replicas). */
function keyFor(replicator: Replicator, self: NodeId, n: number, index: number): string {
  const keys = CANDIDATE_KEYS.filter((k) => replicator.targets(k, n).includes(self));
  assert(keys.length > 0, `no candidate key has ${self} among its ${n} targets`);
  return keys[index % keys.length]!;
}

function merged(resolver: ConflictResolver, sets: readonly SiblingSet[]): SiblingSet {
  let result: SiblingSet = [];
  for (const s of sets) result = resolver.merge(result, s);
  return result;
}

/** The index of the answer that decides a request, or -1 if it is decided before any answer. */
function decidingAnswer(answers: readonly ReplicaAnswer[], succeedAt: number, failAt: number): number {
  let successes = 0;
  let failures = 0;
  if (succeedAt <= 0) return -1;
  for (let i = 0; i < answers.length; i++) {
    if (answers[i]!.ok) successes++;
    else failures++;
    if (successes >= succeedAt || failures >= failAt) return i;
  }
  return answers.length; // undecided
}

/**
 * Checks a rejected request's error: a typed error with the numbers that explain it; a
 * {@link TimeoutError} exactly when every failure seen was a timeout (the replicas may just be
 * slow), otherwise a {@link QuorumNotReachedError} naming each failed replica.
 */
function checkFailure(
  error: unknown,
  operation: "get" | "put" | "delete",
  required: number,
  acknowledged: number,
  targets: number,
  seen: readonly ReplicaAnswer[],
): void {
  const failures = seen.filter((a) => !a.ok);
  const onlyTimeouts = failures.length > 0 && failures.every((a) => a.timedOut);
  assertInstanceOf(error, RingforgeError);
  if (onlyTimeouts) {
    assertInstanceOf(error, TimeoutError, `only timeouts stood in the way, got ${error.name}: ${error.message}`);
    assertEquals(error.code, "RINGFORGE_TIMEOUT");
    assertEquals(error.timeoutMs, REQUEST_TIMEOUT_MS);
    assertEquals(
      { required: error.details.required, acknowledged: error.details.acknowledged, targets: error.details.targets },
      { required, acknowledged, targets },
      "TimeoutError details",
    );
  } else {
    assertInstanceOf(error, QuorumNotReachedError, `a replica failed outright, got ${error.name}: ${error.message}`);
    assertEquals(error.code, "RINGFORGE_QUORUM_NOT_REACHED");
    assertEquals(
      { operation: error.operation, required: error.required, acknowledged: error.acknowledged, targets: error.targets },
      { operation, required, acknowledged, targets },
      "QuorumNotReachedError numbers",
    );
    for (const failure of failures) {
      assert(
        error.failures.some((line) => line.includes(failure.call.node)),
        `failures ${JSON.stringify(error.failures)} do not name ${failure.call.node}`,
      );
    }
  }
}

// ---- the suite -----------------------------------------------------------------------------

/** What the suite runs: a name, what the harness builds the replicator from, and the claims. */
interface Subject {
  readonly name: string;
  readonly from: Parameters<typeof createReplicatorHarness>[0];
  readonly supports: ReplicatorCapabilities;
}

/** A plugin's claims are what its capabilities declare. */
function subjectOf(given: ReplicatorPluginSuiteOptions | ReplicatorSuiteOptions): Subject {
  if (!("plugin" in given)) return { name: given.name, from: given.create, supports: given.supports };
  const { name, plugin } = checkPlugin("replicatorSuite", "replicator", given, { virtualTime: true });
  const declared = plugin.capabilities;
  return {
    name,
    from: given,
    supports: {
      preferenceListTargets: declared.preferenceListTargets ?? false,
      readRepair: declared.readRepair ?? false,
      fallsBackOnFailure: declared.fallsBackOnFailure ?? false,
    },
  };
}

/**
 * Registers the conformance tests for one replicator: a plugin (what it declares in
 * `capabilities` decides what is checked), or a factory with what it claims.
 *
 * @example
 * ```ts
 * replicatorSuite({ plugin: quorumPlugin });
 * replicatorSuite({ plugin: sloppyQuorumPlugin, options: { maxHints: 100 } });
 * ```
 */
export function replicatorSuite(suite: ReplicatorPluginSuiteOptions | ReplicatorSuiteOptions): void {
  const options = subjectOf(suite);
  const { supports } = options;

  describe(`Replicator conformance: ${options.name}`, () => {
    let harnesses: ReplicatorHarness[] = [];

    async function setup(self: NodeId = "n1"): Promise<ReplicatorHarness> {
      const h = await createReplicatorHarness(options.from, self);
      harnesses.push(h);
      return h;
    }

    afterEach(async () => {
      const toDispose = harnesses;
      harnesses = [];
      for (const h of toDispose) await h.dispose();
    });

    /** A write of record `b` from `h.self` to `key`'s targets. */
    function write(h: ReplicatorHarness, key: string, n: number, w: number, siblings: SiblingSet = R.b) {
      const targets = h.replicator.targets(key, n);
      const request = { key, siblings, targets, storedOn: h.self, w, timeoutMs: REQUEST_TIMEOUT_MS, operation: "put" as const };
      return { targets, request, tracker: track<WriteOutcome>(h, h.replicator.write(request)) };
    }

    function read(h: ReplicatorHarness, key: string, n: number, r: number) {
      const targets = h.replicator.targets(key, n);
      const request = { key, targets, r, timeoutMs: REQUEST_TIMEOUT_MS };
      return { targets, request, tracker: track<ReadOutcome>(h, h.replicator.read(request)) };
    }

    describe("targets", () => {
      it("are n distinct members, the same every time", async () => {
        const h = await setup();
        const ids = new Set(SUITE_MEMBERS.map((m) => m.id));
        fc.assert(
          fc.property(fc.string({ minLength: 1, maxLength: 12 }), fc.integer({ min: 1, max: 5 }), (key, n) => {
            const targets = h.replicator.targets(key, n);
            assertEquals(targets.length, n);
            assertEquals(new Set(targets).size, n, `duplicates in ${targets.join(",")}`);
            for (const t of targets) assert(ids.has(t), `${t} is not a member`);
            assertEquals(h.replicator.targets(key, n), targets);
          }),
          { numRuns: 200 },
        );
      });

      if (supports.preferenceListTargets) {
        it("are the partitioner's preference list, in order", async () => {
          const h = await setup();
          fc.assert(
            fc.property(fc.string({ minLength: 1, maxLength: 12 }), fc.integer({ min: 1, max: 5 }), (key, n) => {
              assertEquals(h.replicator.targets(key, n), h.partitioner.preferenceList(key, n));
            }),
            { numRuns: 200 },
          );
        });
      }
    });

    describe("write", () => {
      it("resolves once w acknowledgements arrived, counting storedOn, without waiting for the rest", async () => {
        const h = await setup("n1");
        const key = keyFor(h.replicator, "n1", 3, 0);
        const [x, y] = h.replicator.targets(key, 3).filter((t) => t !== "n1");
        h.client.behave(x!, ok(30)).behave(y!, hang());
        const { tracker } = write(h, key, 3, 2);
        await h.settle();
        assertEquals(tracker.state.status, "resolved");
        if (tracker.state.status !== "resolved") return;
        assertEquals(tracker.state.value.acknowledged, 2);
        assertEquals(tracker.state.at, 30);
      });

      it("with w = 1 resolves from storedOn alone, and still sends the write to every other target", async () => {
        const h = await setup("n2");
        const key = keyFor(h.replicator, "n2", 3, 1);
        h.client.behave("n1", hang()).behave("n3", hang()).behave("n4", hang()).behave("n5", hang());
        const { targets, tracker } = write(h, key, 3, 1);
        await h.settle();
        assertEquals(tracker.state.status, "resolved");
        if (tracker.state.status !== "resolved") return;
        assertEquals(tracker.state.value.acknowledged, 1);
        assertEquals(tracker.state.at, 0);
        const sent = h.client.writes().map((c) => c.node).sort();
        assertEquals(sent, targets.filter((t) => t !== "n2").sort());
      });

      it("never writes to storedOn again, and sends every other target exactly the siblings", async () => {
        const h = await setup("n3");
        const key = keyFor(h.replicator, "n3", 5, 2);
        const { tracker } = write(h, key, 5, 5, R.bc);
        await h.settle();
        assertEquals(tracker.state.status, "resolved");
        const writes = h.client.writes();
        assertEquals(writes.map((c) => c.node).sort(), ["n1", "n2", "n4", "n5"]);
        for (const c of writes) {
          assertEquals(c.key, key);
          assertEquals(c.siblings, R.bc);
        }
      });

      if (!supports.fallsBackOnFailure) {
        it("rejects with QuorumNotReachedError once too many targets failed", async () => {
          const h = await setup("n1");
          const key = keyFor(h.replicator, "n1", 3, 3);
          const [x, y] = h.replicator.targets(key, 3).filter((t) => t !== "n1");
          h.client.behave(x!, unreachable(5)).behave(y!, ok(40));
          const { tracker } = write(h, key, 3, 3);
          await h.settle();
          assertEquals(tracker.state.status, "rejected");
          if (tracker.state.status !== "rejected") return;
          assertEquals(tracker.state.at, 5, "rejects as soon as the quorum is out of reach");
          const error = tracker.state.error;
          assertInstanceOf(error, QuorumNotReachedError);
          assertEquals([error.required, error.acknowledged, error.targets], [3, 1, 3]);
          assertEquals(error.operation, "put");
          assert(error.failures.some((f) => f.includes(x!)), error.message);
        });
      }

      if (!supports.fallsBackOnFailure) {
        it("rejects with TimeoutError when only timeouts stood in the way", async () => {
          const h = await setup("n1");
          const key = keyFor(h.replicator, "n1", 3, 4);
          const [x, y] = h.replicator.targets(key, 3).filter((t) => t !== "n1");
          h.client.behave(x!, timeout()).behave(y!, ok(10));
          const { tracker } = write(h, key, 3, 3);
          await h.settle();
          assertEquals(tracker.state.status, "rejected");
          if (tracker.state.status !== "rejected") return;
          assertEquals(tracker.state.at, REQUEST_TIMEOUT_MS);
          const error = tracker.state.error;
          assertInstanceOf(error, TimeoutError);
          assertEquals(error.details.required, 3);
          assertEquals(error.details.acknowledged, 2);
          assertEquals(error.details.targets, 3);
        });
      }

      if (!supports.fallsBackOnFailure) {
        it("rejects with QuorumNotReachedError when a failure and a timeout together stood in the way", async () => {
          const h = await setup("n1");
          const key = keyFor(h.replicator, "n1", 3, 13);
          const [x, y] = h.replicator.targets(key, 3).filter((t) => t !== "n1");
          h.client.behave(x!, unreachable(10)).behave(y!, timeout());
          const { tracker } = write(h, key, 3, 2);
          await h.settle();
          assertEquals(tracker.state.status, "rejected");
          if (tracker.state.status !== "rejected") return;
          assertEquals(tracker.state.at, REQUEST_TIMEOUT_MS);
          const error = tracker.state.error;
          assertInstanceOf(error, QuorumNotReachedError);
          assertEquals([error.required, error.acknowledged, error.targets], [2, 1, 3]);
          assert(error.failures.some((f) => f.includes(x!)) && error.failures.some((f) => f.includes(y!)), error.message);
        });
      }

      if (!supports.fallsBackOnFailure) {
        it("reports a replica's untyped failure as a typed error", async () => {
          const h = await setup("n1");
          const key = keyFor(h.replicator, "n1", 3, 5);
          const [x, y] = h.replicator.targets(key, 3).filter((t) => t !== "n1");
          h.client.behave(x!, fail(() => new Error("boom"))).behave(y!, fail(() => new TypeError("bad")));
          const { tracker } = write(h, key, 3, 2);
          await h.settle();
          assertEquals(tracker.state.status, "rejected");
          if (tracker.state.status !== "rejected") return;
          assertInstanceOf(tracker.state.error, QuorumNotReachedError);
          assertEquals(tracker.state.error.acknowledged, 1);
        });
      }

      if (!supports.fallsBackOnFailure) {
        it("resolves iff w-1 other targets succeed, at the deciding answer, with consistent numbers (property)", async () => {
          await fc.assert(
            fc.asyncProperty(scenarioArb, async (s) => {
              const h = await createReplicatorHarness(options.from, s.self);
              try {
                const key = keyFor(h.replicator, s.self, s.n, s.keyIndex);
                const targets = h.replicator.targets(key, s.n);
                targets.forEach((t, i) => h.client.behave(t, behaviourOf(s.outcomes[i]!)));
                const w = s.quorum;
                const { tracker } = write(h, key, s.n, w);
                await h.settle();

                const others = targets.filter((t) => t !== s.self);
                const writes = h.client.writes();
                assertEquals(writes.map((c) => c.node).sort(), [...others].sort(), "one write to each other target");
                const successes = h.client.answers.filter((a) => a.ok).length;
                const state = tracker.state;
                assert(state.status !== "pending", "a write with every replica answered must settle");
                const seen = h.client.answers.slice(0, state.answersSeen);
                const acked = 1 + seen.filter((a) => a.ok).length;
                const decider = decidingAnswer(h.client.answers, w - 1, others.length - (w - 1) + 1);
                assertEquals(state.answersSeen, decider + 1, "settles at the answer that decides it");
                if (successes >= w - 1) {
                  assertEquals(state.status, "resolved", `${successes + 1} acks for w=${w}`);
                  if (state.status !== "resolved") return;
                  assertEquals(state.value.acknowledged, acked);
                  assert(state.value.acknowledged >= w, `acknowledged ${state.value.acknowledged} < w ${w}`);
                } else {
                  assertEquals(state.status, "rejected", `${successes + 1} acks for w=${w}`);
                  if (state.status !== "rejected") return;
                  checkFailure(state.error, "put", w, acked, s.n, seen);
                }
              } finally {
                await h.dispose();
              }
            }),
            { numRuns: 150 },
          );
        });
      }
    });

    describe("read", () => {
      it("resolves with the merge of the first r replies, without waiting for the rest", async () => {
        const h = await setup("n1");
        const key = keyFor(h.replicator, "n1", 3, 6);
        const [x, y, z] = h.replicator.targets(key, 3);
        h.client.seed(x!, key, R.a).behave(x!, ok(10));
        h.client.seed(y!, key, R.c).behave(y!, ok(20));
        h.client.seed(z!, key, R.b).behave(z!, hang());
        const { tracker } = read(h, key, 3, 2);
        await h.settle();
        assertEquals(tracker.state.status, "resolved");
        if (tracker.state.status !== "resolved") return;
        assertEquals(tracker.state.at, 20);
        assertEquals(tracker.state.value.replied, 2);
        assertEquals(tracker.state.value.siblings, h.resolver.merge(R.a, R.c));
      });

      it("resolves with an empty set when the replies hold no record", async () => {
        const h = await setup("n1");
        const key = keyFor(h.replicator, "n1", 3, 7);
        const { tracker } = read(h, key, 3, 3);
        await h.settle();
        assertEquals(tracker.state.status, "resolved");
        if (tracker.state.status !== "resolved") return;
        assertEquals(tracker.state.value, { siblings: [], replied: 3 });
        assertEquals(h.client.writes(), [], "nothing to repair");
      });

      it("rejects with QuorumNotReachedError once too many targets failed", async () => {
        const h = await setup("n1");
        const key = keyFor(h.replicator, "n1", 3, 8);
        const [x, y, z] = h.replicator.targets(key, 3);
        h.client.behave(x!, remoteError(5)).behave(y!, unreachable(7)).behave(z!, ok(3));
        const { tracker } = read(h, key, 3, 2);
        await h.settle();
        assertEquals(tracker.state.status, "rejected");
        if (tracker.state.status !== "rejected") return;
        assertEquals(tracker.state.at, 7);
        const error = tracker.state.error;
        assertInstanceOf(error, QuorumNotReachedError);
        assertEquals([error.operation, error.required, error.acknowledged, error.targets], ["get", 2, 1, 3]);
      });

      it("rejects with TimeoutError when only timeouts stood in the way", async () => {
        const h = await setup("n1");
        const key = keyFor(h.replicator, "n1", 3, 9);
        const [x, y] = h.replicator.targets(key, 3);
        h.client.behave(x!, timeout()).behave(y!, timeout());
        const { tracker } = read(h, key, 3, 2);
        await h.settle();
        assertEquals(tracker.state.status, "rejected");
        if (tracker.state.status !== "rejected") return;
        assertInstanceOf(tracker.state.error, TimeoutError);
        assertEquals(tracker.state.at, REQUEST_TIMEOUT_MS);
      });

      it("resolves iff r replies arrive, with their merge; repairs as claimed (property)", async () => {
        await fc.assert(
          fc.asyncProperty(scenarioArb, async (s) => {
            const h = await createReplicatorHarness(options.from, s.self);
            try {
              const key = keyFor(h.replicator, s.self, s.n, s.keyIndex);
              const targets = h.replicator.targets(key, s.n);
              targets.forEach((t, i) => {
                h.client.seed(t, key, POOL[s.records[i]!]!);
                h.client.behave(t, behaviourOf(s.outcomes[i]!), "read");
              });
              const r = s.quorum;
              const { tracker } = read(h, key, s.n, r);
              await h.settle();

              const readAnswers = h.client.answers.filter((a) => a.call.op === "read");
              assertEquals(
                readAnswers.map((a) => a.call.node).sort(),
                [...targets].sort(),
                "one read to each target",
              );
              const state = tracker.state;
              assert(state.status !== "pending", "a read with every replica answered must settle");
              const seen = h.client.answers.slice(0, state.answersSeen).filter((a) => a.call.op === "read");
              const replies = seen.filter((a) => a.ok);
              const successes = readAnswers.filter((a) => a.ok).length;
              const decider = decidingAnswer(readAnswers, r, s.n - r + 1);
              assertEquals(seen.length, decider + 1, "settles at the answer that decides it");
              if (successes >= r) {
                assertEquals(state.status, "resolved", `${successes} replies for r=${r}`);
                if (state.status !== "resolved") return;
                assertEquals(state.value.replied, replies.length);
                assert(state.value.replied >= r);
                assertEquals(
                  state.value.siblings,
                  merged(h.resolver, replies.map((a) => a.reply!)),
                  "the merge of the replies",
                );
              } else {
                assertEquals(state.status, "rejected", `${successes} replies for r=${r}`);
                if (state.status !== "rejected") return;
                checkFailure(state.error, "get", r, replies.length, s.n, seen);
              }
              checkRepair(h, key, readAnswers);
            } finally {
              await h.dispose();
            }
          }),
          { numRuns: 150 },
        );
      });
    });

    /** After every replica of a read answered: the writes read repair made, or none. */
    function checkRepair(h: ReplicatorHarness, key: string, readAnswers: readonly ReplicaAnswer[]): void {
      const writes = h.client.writes();
      if (!supports.readRepair) {
        assertEquals(writes, [], "a replicator without read repair never writes on a read");
        return;
      }
      const replies = readAnswers.filter((a) => a.ok);
      const all = merged(h.resolver, replies.map((a) => a.reply!));
      const stale = all.length === 0 ? [] : replies.filter((a) => !equal(a.reply, all)).map((a) => a.call.node);
      assertEquals(writes.map((c) => c.node).sort(), stale.sort(), "repairs exactly the stale replicas");
      const lastAnswer = Math.max(...readAnswers.map((a) => a.at));
      for (const c of writes) {
        assertEquals(c.key, key);
        assertEquals(c.siblings, all, `repair of ${c.node} sends the merge of every reply`);
        assert(c.at >= lastAnswer, "repairs only once every replica answered");
      }
    }

    if (supports.readRepair) {
      describe("read repair", () => {
        it("sends the merged record to stale and empty replicas, nothing to up-to-date ones", async () => {
          const h = await setup("n1");
          const key = keyFor(h.replicator, "n1", 5, 10);
          const [p, q, x, y, z] = h.replicator.targets(key, 5);
          h.client.seed(p!, key, R.a).seed(q!, key, R.b).seed(x!, key, R.c).seed(y!, key, R.bc);
          // z has no record
          const { tracker } = read(h, key, 5, 2);
          await h.settle();
          assertEquals(tracker.state.status, "resolved");
          const writes = h.client.writes();
          assertEquals(writes.map((c) => c.node).sort(), [p!, q!, x!, z!].sort());
          for (const c of writes) assertEquals(c.siblings, R.bc);
          for (const t of [p, q, x, y, z]) assertEquals(h.client.record(t!, key), R.bc);
        });

        it("waits for the slowest replica, then repairs with everything learned", async () => {
          const h = await setup("n1");
          const key = keyFor(h.replicator, "n1", 3, 11);
          const [x, y, z] = h.replicator.targets(key, 3);
          h.client.seed(x!, key, R.a).behave(x!, ok(1), "read");
          h.client.seed(y!, key, R.a).behave(y!, ok(2), "read");
          h.client.seed(z!, key, R.tomb).behave(z!, ok(500), "read");
          const { tracker } = read(h, key, 3, 2);
          await h.scheduler.runFor(499);
          assertEquals(tracker.state.status, "resolved");
          if (tracker.state.status !== "resolved") return;
          assertEquals(tracker.state.value.siblings, R.a);
          assertEquals(h.client.writes(), [], "no repair before every replica answered");
          await h.settle();
          assertEquals(h.client.writes().map((c) => c.node).sort(), [x!, y!].sort());
          for (const c of h.client.writes()) assertEquals(c.siblings, R.tomb);
        });

        it("leaves replicas that failed the read alone", async () => {
          const h = await setup("n1");
          const key = keyFor(h.replicator, "n1", 3, 12);
          const [x, y, z] = h.replicator.targets(key, 3);
          h.client.seed(x!, key, R.b).seed(y!, key, R.a).behave(z!, unreachable(), "read");
          read(h, key, 3, 2);
          await h.settle();
          assertEquals(h.client.writes().map((c) => c.node), [y!]);
        });
      });
    } else {
      describe("no read repair", () => {
        it("reads write nothing, however stale the replicas", async () => {
          const h = await setup("n1");
          const key = keyFor(h.replicator, "n1", 3, 10);
          const [x, y] = h.replicator.targets(key, 3);
          h.client.seed(x!, key, R.a).seed(y!, key, R.bc);
          const { tracker } = read(h, key, 3, 3);
          await h.settle();
          assertEquals(tracker.state.status, "resolved");
          assertEquals(h.client.writes(), []);
        });
      });
    }
  });
}
