/**
 * The FailureDetector conformance suite: every detector plugin runs it. It checks the contract
 * written on {@link FailureDetector} that holds for any detector in a healthy cluster: this
 * node is a member and up in its own view, `isAlive` agrees with the reported statuses, a
 * listener's events are visible through `members()` when they arrive, `start`/`stop` are
 * idempotent and a stopped detector keeps its last view.
 *
 * Detectors that work over time (gossip, phi accrual, SWIM) need peers and a clock. Given a
 * plugin, the suite builds a whole healthy in-process cluster for each test (every member
 * running the plugin, on the simulated network and virtual time) and lets rounds happen by
 * driving its scheduler. Given a factory, `create` builds that world and returns `advance`;
 * detectors that do nothing over time (static membership) may omit it.
 *
 * @example
 * ```ts
 * failureDetectorSuite({ plugin: swimPlugin });
 * failureDetectorSuite({
 *   name: "static",
 *   create: (self, members) => ({ detector: new StaticMembership(self, members) }),
 * });
 * ```
 *
 * @module
 */
import { afterEach, describe, it } from "./bdd.ts";
import { assert, assertEquals, assertStrictEquals } from "./assert.ts";
import type { FailureDetector, MembershipEvent, MemberState, MemberStatus } from "../../core/interfaces/failure-detector.ts";
import type { MemberInfo } from "../../core/interfaces/partitioner.ts";
import type { NodeId } from "../../core/model/sibling.ts";
import { createCluster } from "../../index.ts";
import { builtinPlugins } from "../../plugins/index.ts";
import { checkPlugin, type PluginSuiteOptions } from "./plugin-under-test.ts";

/** The detector under test and what drives its world. */
export interface DetectorUnderTest {
  /** The detector of node `self`, not started. */
  readonly detector: FailureDetector;
  /**
   * Runs `ms` of virtual time for the whole cluster (every member's detector, the network),
   * letting gossip rounds, probes and timeouts happen. Omit for detectors that do nothing over
   * time.
   */
  readonly advance?: (ms: number) => Promise<void>;
  /** Stops the rest of the cluster and releases everything; called after each test. */
  readonly dispose?: () => void | Promise<void>;
}

/**
 * The plugin form of {@link failureDetectorSuite}: for each test the suite starts an in-process
 * cluster of the suite's members on virtual time, every node's detector made by the plugin (the
 * other strategies are the bundled defaults), and checks one node's detector.
 */
export interface FailureDetectorPluginSuiteOptions extends PluginSuiteOptions<"detector"> {
  /** As {@link FailureDetectorSuiteOptions.settleMs}. */
  readonly settleMs?: number;
}

/** The factory form of {@link failureDetectorSuite}, for a detector made in code. */
export interface FailureDetectorSuiteOptions {
  /** Shown in test names. */
  readonly name: string;
  /**
   * Builds the detector of `self` in a healthy cluster of `members` (which include `self`):
   * every member is running and reachable. Called once per test.
   */
  readonly create: (self: NodeId, members: readonly MemberInfo[]) => DetectorUnderTest | Promise<DetectorUnderTest>;
  /**
   * Virtual time after which a healthy cluster has converged, i.e. this node believes every
   * member up (default 10 000 ms). Used only with `advance`.
   */
  readonly settleMs?: number;
}

const STATUSES: readonly MemberStatus[] = ["up", "suspect", "down", "left"];

/** The cluster every detector under test belongs to. */
const MEMBERS: readonly MemberInfo[] = Object.freeze([
  { id: "n1" },
  { id: "n2", zone: "b" },
  { id: "n3", weight: 2 },
  { id: "n4" },
  { id: "n5" },
]);
const SELF: NodeId = "n2";

/** A copy of a view that later changes cannot touch, sorted by id. */
/**
 * The view the contract speaks of: each member's id, placement and status. `incarnation` and
 * `lastHeardAt` are what the detector last learned, for operators to read; they are checked to
 * be numbers when present, and may move while a stopped detector still hears its peers.
 */
function snapshot(detector: FailureDetector): MemberState[] {
  return detector
    .members()
    .map(({ incarnation, lastHeardAt, ...m }) => {
      for (const [name, value] of [["incarnation", incarnation], ["lastHeardAt", lastHeardAt]] as const) {
        if (value !== undefined && !Number.isFinite(value)) throw new Error(`member ${m.id}: ${name} is ${value}, not a number`);
      }
      return m;
    })
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Checks the invariants that hold at every moment. */
function checkView(detector: FailureDetector, self: NodeId, when: string): void {
  const members = detector.members();
  const ids = members.map((m) => m.id);
  assertEquals(new Set(ids).size, ids.length, `${when}: duplicate members ${ids.join(",")}`);
  const me = members.find((m) => m.id === self);
  assert(me !== undefined, `${when}: members() lacks this node (${self})`);
  assertEquals(me.status, "up", `${when}: this node's own status`);
  assert(detector.isAlive(self), `${when}: isAlive(self)`);
  for (const m of members) {
    assert(STATUSES.includes(m.status), `${when}: ${m.id} has status ${String(m.status)}`);
    assertEquals(detector.isAlive(m.id), m.status === "up", `${when}: isAlive(${m.id}) with status ${m.status}`);
  }
  for (const stranger of ["n9", "", "N1", "n1 "]) {
    assertEquals(detector.isAlive(stranger), false, `${when}: isAlive(${JSON.stringify(stranger)})`);
  }
}

/** The factory form of a plugin: its detector on one node of a cluster that runs it everywhere. */
function fromPlugin(given: FailureDetectorPluginSuiteOptions): FailureDetectorSuiteOptions {
  const { plugin, name } = checkPlugin("failureDetectorSuite", "detector", given, { virtualTime: true });
  const registry = builtinPlugins.with(plugin);
  return {
    name,
    settleMs: given.settleMs,
    async create(self, members) {
      const cluster = await createCluster(
        {
          nodes: members.map((m) => ({ ...m })),
          replication: { n: 1, r: 1, w: 1 },
          detector: { name: plugin.name, options: given.options ?? {} },
        },
        { registry, autoAdvance: false },
      );
      const scheduler = cluster.scheduler!;
      return {
        detector: cluster.node(self).services.detector,
        advance: (ms: number) => scheduler.runFor(ms),
        dispose: () => cluster.stop(),
      };
    },
  };
}

/**
 * Registers the conformance tests for one failure detector: a plugin, or a factory.
 *
 * @example
 * ```ts
 * failureDetectorSuite({ plugin: gossipPlugin, options: { intervalMs: 500 } });
 * ```
 */
export function failureDetectorSuite(suite: FailureDetectorPluginSuiteOptions | FailureDetectorSuiteOptions): void {
  const options = "plugin" in suite ? fromPlugin(suite) : suite;
  const settleMs = options.settleMs ?? 10_000;

  describe(`FailureDetector conformance: ${options.name}`, () => {
    let created: DetectorUnderTest[] = [];

    async function create(self: NodeId = SELF, members: readonly MemberInfo[] = MEMBERS): Promise<DetectorUnderTest> {
      const subject = await options.create(self, members);
      created.push(subject);
      return subject;
    }

    /** Lets time pass, if the detector lives in time. */
    async function advance(subject: DetectorUnderTest, ms: number): Promise<void> {
      if (subject.advance) await subject.advance(ms);
    }

    afterEach(async () => {
      const toDispose = created;
      created = [];
      for (const subject of toDispose) {
        await subject.detector.stop();
        await subject.dispose?.();
      }
    });

    it("before start, lists this node as up and answers isAlive consistently", async () => {
      const { detector } = await create();
      checkView(detector, SELF, "before start");
    });

    it('once started, keeps this node up and isAlive equal to status === "up" throughout', async () => {
      const subject = await create();
      await subject.detector.start();
      checkView(subject.detector, SELF, "after start");
      for (let t = 0; t < 5; t++) {
        await advance(subject, settleMs / 5);
        checkView(subject.detector, SELF, `after ${((t + 1) * settleMs) / 5} ms`);
      }
    });

    it("in a healthy cluster, comes to believe every configured member up", async () => {
      const subject = await create();
      await subject.detector.start();
      await advance(subject, settleMs);
      const view = snapshot(subject.detector);
      assertEquals(
        view.map((m) => [m.id, m.status]),
        MEMBERS.map((m) => [m.id, "up"]),
      );
      for (const m of MEMBERS) assert(subject.detector.isAlive(m.id), `isAlive(${m.id})`);
      assertEquals(
        view.map(({ status: _status, ...info }) => info),
        [...MEMBERS],
        "members keep their configured details (zone, weight)",
      );
    });

    it("works the same for whichever member it runs on", async () => {
      for (const { id } of MEMBERS) {
        const subject = await create(id);
        await subject.detector.start();
        await advance(subject, settleMs);
        checkView(subject.detector, id, `on ${id}`);
      }
    });

    it("start and stop are idempotent; a stopped detector keeps its last view", async () => {
      const subject = await create();
      const { detector } = subject;
      await detector.start();
      await detector.start();
      await advance(subject, settleMs);
      const before = snapshot(detector);
      await detector.stop();
      await detector.stop();
      assertEquals(snapshot(detector), before, "the view right after stop");
      checkView(detector, SELF, "after stop");
      await advance(subject, settleMs);
      assertEquals(snapshot(detector), before, "a stopped detector's view does not move");
      checkView(detector, SELF, "long after stop");
    });

    it("stop before start is harmless", async () => {
      const { detector } = await create();
      await detector.stop();
      checkView(detector, SELF, "after stop without start");
    });

    it("onChange returns an unsubscribe function; each event is already visible when it arrives", async () => {
      const subject = await create();
      const { detector } = subject;
      const problems: string[] = [];
      const events: MembershipEvent[] = [];
      const unsubscribe = detector.onChange((event) => {
        events.push(event);
        const now = detector.members().find((m) => m.id === event.member.id);
        if (now?.status !== event.member.status) {
          problems.push(`event for ${event.member.id} says ${event.member.status}, members() says ${now?.status}`);
        }
        if (event.previous === event.member.status) problems.push(`event for ${event.member.id} changes nothing`);
      });
      const dropped: MembershipEvent[] = [];
      const unsubscribeDropped = detector.onChange((event) => dropped.push(event));
      assertStrictEquals(typeof unsubscribe, "function");
      assertStrictEquals(typeof unsubscribeDropped, "function");
      unsubscribeDropped();
      unsubscribeDropped(); // twice is harmless
      await detector.start();
      await advance(subject, settleMs);
      await detector.stop();
      unsubscribe();
      assertEquals(problems, []);
      assertEquals(dropped, [], "an unsubscribed listener hears nothing");
      for (const event of events) assert(event.member.id !== SELF || event.member.status === "up");
    });
  });
}
