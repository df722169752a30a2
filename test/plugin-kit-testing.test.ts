/**
 * plugin-kit/testing itself, as a plugin author relies on it: the suites register with the
 * runner given to `useTestRunner` (or found), the plugin form checks a plugin as soon as its
 * suite is registered, and what a plugin declares in `capabilities` decides what is checked, so
 * a plugin that promises more than it does fails its suite.
 *
 * The suites' own tests are registered here with a runner that only records them, and the few
 * this file needs are run by hand.
 */
import { describe, it } from "@std/testing/bdd";
import { assert, assertEquals, assertInstanceOf, assertRejects, assertStringIncludes, assertThrows } from "@std/assert";
import { InvalidConfigError } from "../core/errors.ts";
import { memoryEnginePlugin } from "../plugins/engines/index.ts";
import { consistentHashPlugin } from "../plugins/partitioners/index.ts";
import { quorumPlugin } from "../plugins/replicators/index.ts";
import { tcpPlugin } from "../plugins/transports/index.ts";
import {
  partitionerSuite,
  replicatorSuite,
  storageEngineSuite,
  type TestFn,
  type TestRunner,
  TestRunnerNotFoundError,
  transportSuite,
  useTestRunner,
} from "../plugin-kit/testing/index.ts";

/** A describe block as the recording runner saw it. */
interface Block {
  readonly name: string;
  readonly beforeEach: TestFn[];
  readonly afterEach: TestFn[];
}

/** A runner that records blocks, tests and their hooks; `run` runs one test with its hooks. */
function recordingRunner() {
  const root: Block = { name: "", beforeEach: [], afterEach: [] };
  const stack: Block[] = [root];
  const tests = new Map<string, { fn: TestFn; chain: Block[] }>();
  const top = () => stack[stack.length - 1]!;
  const group = (name: string, fn: () => void) => {
    stack.push({ name, beforeEach: [], afterEach: [] });
    try {
      fn();
    } finally {
      stack.pop();
    }
  };
  const test = (name: string, fn: TestFn) => {
    const path = [...stack.map((b) => b.name).filter((n) => n !== ""), name].join(" > ");
    tests.set(path, { fn, chain: [...stack] });
  };
  const runner: TestRunner = {
    describe: Object.assign(group, { skip: () => {} }),
    it: Object.assign(test, { skip: () => {} }),
    beforeEach: (fn) => void top().beforeEach.push(fn),
    afterEach: (fn) => void top().afterEach.push(fn),
    beforeAll: () => {},
    afterAll: () => {},
  };
  return {
    runner,
    /** Every test registered, by its full name ("block > block > test"). */
    names: () => [...tests.keys()],
    /** Runs a test between its blocks' beforeEach and afterEach hooks; rejects as it failed. */
    async run(name: string): Promise<void> {
      const test = tests.get(name);
      assert(test, `no test named ${JSON.stringify(name)} among ${tests.size}`);
      try {
        for (const block of test.chain) for (const hook of block.beforeEach) await hook();
        await test.fn();
      } finally {
        for (const block of [...test.chain].reverse()) for (const hook of [...block.afterEach].reverse()) await hook();
      }
    },
  };
}

/** Registers with `runner` while `register` runs, then goes back to the automatic choice. */
function registerWith(runner: TestRunner, register: () => void): void {
  useTestRunner(runner);
  try {
    register();
  } finally {
    useTestRunner();
  }
}

describe("plugin-kit/testing", () => {
  it("registers a suite with the runner given to useTestRunner, under the plugin's name", () => {
    const recorded = recordingRunner();
    registerWith(recorded.runner, () => partitionerSuite({ plugin: consistentHashPlugin }));
    const names = recorded.names();
    assert(names.length > 5, `only ${names.length} tests`);
    assert(names.every((n) => n.startsWith("Partitioner conformance: consistent-hash > ")), names[0]);
  });

  it("checks what the plugin declares: a capability it does not declare is not tested", () => {
    const claimed = recordingRunner();
    registerWith(claimed.runner, () => partitionerSuite({ plugin: consistentHashPlugin }));
    const modest = recordingRunner();
    const undeclared = { ...consistentHashPlugin, capabilities: {} };
    registerWith(modest.runner, () => partitionerSuite({ plugin: undeclared }));
    const only = claimed.names().filter((n) => !modest.names().includes(n));
    assertEquals(only.map((n) => n.replace(/^.* > /, "")), [
      "on a join, only inserts the newcomer into each key's order (and a leave only removes it)",
      "rangeMoves on a join names only the newcomer as gaining, on a leave only the leaver as losing",
      "places the configured number of replicas in each datacenter",
      "moves about the ideal share of keys when a node joins or leaves, wherever its id sorts",
    ]);
  });

  it("fails a plugin that promises more than it does", async () => {
    // The memory engine keeps nothing across a reopen unless its options say durable.
    const engine = recordingRunner();
    registerWith(engine.runner, () => storageEngineSuite({ plugin: { ...memoryEnginePlugin, capabilities: { durable: true } } }));
    await assertRejects(() => engine.run("StorageEngine conformance: memory > persistence > data survives close and reopen"));
    await assertRejects(() => engine.run("StorageEngine conformance: memory > lifecycle > declares the capabilities the suite was given"));

    // The quorum replicator repairs on reads, so it cannot claim reads never write.
    const replicator = recordingRunner();
    const noRepairClaimed = { ...quorumPlugin, capabilities: { ...quorumPlugin.capabilities, readRepair: false } };
    registerWith(replicator.runner, () => replicatorSuite({ plugin: noRepairClaimed }));
    await assertRejects(() =>
      replicator.run("Replicator conformance: quorum > no read repair > reads write nothing, however stale the replicas")
    );

    // The same tests pass for the plugins as they are.
    const honest = recordingRunner();
    registerWith(honest.runner, () => storageEngineSuite({ plugin: memoryEnginePlugin }));
    await honest.run("StorageEngine conformance: memory > lifecycle > declares the capabilities the suite was given");
  });

  it("refuses, as the suite is registered, another family's plugin, bad options and a real-time transport", () => {
    const recorded = recordingRunner();
    registerWith(recorded.runner, () => {
      const family = assertThrows(() => partitionerSuite({ plugin: quorumPlugin as never }), InvalidConfigError);
      assertStringIncludes(family.message, `"quorum" is a replicator plugin; partitionerSuite tests partitioner plugins`);
      const options = assertThrows(() => partitionerSuite({ plugin: consistentHashPlugin, options: { vnodes: 0 } }), InvalidConfigError);
      assert(options.issues.some((i) => i.path === "partitioner.options.vnodes"), options.message);
      const realTime = assertThrows(() => transportSuite({ plugin: tcpPlugin }), InvalidConfigError);
      assertStringIncludes(realTime.message, "realTimeOnly");
    });
    assertEquals(recorded.names(), []);
  });

  it("useTestRunner refuses a runner without the functions the suites use", () => {
    const { runner } = recordingRunner();
    const error = assertThrows(() => useTestRunner({ ...runner, afterAll: undefined } as never), TypeError);
    assertStringIncludes(error.message, "afterAll");
  });

  // Under Deno the suites always have a runner: their own, over Deno.test.
  const underDeno = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";
  (underDeno ? it.skip : it)("without a runner given, global or built in, registering a suite says what to do", () => {
    const globals = globalThis as Record<string, unknown>;
    const saved = { describe: globals.describe, it: globals.it };
    delete globals.describe;
    delete globals.it;
    try {
      const error = assertThrows(() => partitionerSuite({ plugin: consistentHashPlugin }));
      assertInstanceOf(error, TestRunnerNotFoundError);
      assertEquals(error.code, "RINGFORGE_NO_TEST_RUNNER");
      assertStringIncludes(error.message, "useTestRunner");
      assertStringIncludes(error.message, "globals: true");
    } finally {
      Object.assign(globals, saved);
    }
  });
});
