/**
 * Runs the Replicator conformance suite for every bundled replicator plugin, created the way a
 * node creates it (from a plugin context), checked for what each plugin declares it promises,
 * plus quorum-specific tests.
 */
import { afterEach, describe, it } from "@std/testing/bdd";
import { assert, assertEquals, assertInstanceOf, assertThrows } from "@std/assert";
import { InvalidConfigError } from "../core/errors.ts";
import type { SiblingSet } from "../core/model/sibling.ts";
import { quorum, quorumPlugin, QuorumReplicator, replicatorPlugins } from "../plugins/replicators/index.ts";
import {
  createReplicatorHarness,
  type ReplicatorHarness,
  replicatorSuite,
  REQUEST_TIMEOUT_MS,
  unreachable,
} from "../plugin-kit/testing/index.ts";

for (const plugin of replicatorPlugins) replicatorSuite({ plugin });

// Options that switch off a promise the plugin declares (read repair) are not the plugin's
// declared behaviour: the factory form says what holds.
replicatorSuite({
  name: "quorum { readRepair: false }",
  create: ({ context }) => quorumPlugin.create(context, quorumPlugin.parseOptions({ readRepair: false })),
  supports: { preferenceListTargets: true, readRepair: false },
});

describe("quorum replicator", () => {
  const harnesses: ReplicatorHarness[] = [];
  afterEach(async () => {
    for (const h of harnesses.splice(0)) await h.dispose();
  });

  async function setup(rawOptions?: unknown): Promise<ReplicatorHarness & { replicator: QuorumReplicator }> {
    const h = await createReplicatorHarness({ plugin: quorumPlugin, options: rawOptions }, "n1");
    harnesses.push(h);
    assertInstanceOf(h.replicator, QuorumReplicator);
    return h as ReplicatorHarness & { replicator: QuorumReplicator };
  }

  /** A key with n1 among its 3 replicas, and the other two. */
  function keyOf(h: ReplicatorHarness): { key: string; others: string[] } {
    for (let i = 0;; i++) {
      const key = `k${i}`;
      const targets = h.replicator.targets(key, 3);
      if (targets.includes("n1")) return { key, others: targets.filter((t) => t !== "n1") };
    }
  }

  const value = (s: string): SiblingSet => [{ value: new TextEncoder().encode(s), version: [["n1", 1]] }];

  it("is what the plugin creates", async () => {
    const h = await setup();
    assertEquals(h.replicator.name, "quorum");
  });

  it("counts read repairs and failed read repairs", async () => {
    const h = await setup();
    const { key, others } = keyOf(h);
    const [x, y] = others;
    h.client.seed("n1", key, value("new")).seed(x!, key, []).seed(y!, key, []);
    h.client.behave(y!, unreachable(), "write");
    for (const r of [2, 3]) {
      const pending = h.replicator.read({ key, targets: ["n1", x!, y!], r, timeoutMs: REQUEST_TIMEOUT_MS });
      // Settling runs the read to the end and lets the repair writes land or fail.
      await h.settle();
      assertEquals((await pending).siblings, value("new"));
    }
    // First read: x and y empty -> 2 repairs, y's fails. Second read: x repaired, y still empty.
    assertEquals(h.replicator.stats, { readRepairs: 3, readRepairFailures: 2 });
    assertEquals(h.client.record(x!, key), value("new"));
    assertEquals(h.client.record(y!, key), []);
  });

  it("with readRepair: false keeps its counters at zero", async () => {
    const h = await setup({ readRepair: false });
    const { key, others } = keyOf(h);
    h.client.seed("n1", key, value("new"));
    const pending = h.replicator.read({ key, targets: ["n1", ...others], r: 1, timeoutMs: REQUEST_TIMEOUT_MS });
    await h.settle();
    assertEquals((await pending).siblings, value("new"));
    assertEquals(h.replicator.stats, { readRepairs: 0, readRepairFailures: 0 });
    assertEquals(h.client.writes(), []);
  });

  describe("options", () => {
    it("default to read repair on; the typed factory and config data agree", () => {
      assertEquals(quorumPlugin.parseOptions(undefined), { readRepair: true });
      assertEquals(quorumPlugin.parseOptions({}), { readRepair: true });
      assertEquals(quorumPlugin.parseOptions({ readRepair: false }), { readRepair: false });
      assertEquals(quorum({ readRepair: false }), { plugin: quorumPlugin, options: { readRepair: false } });
      assertEquals(quorum(), { plugin: quorumPlugin, options: { readRepair: true } });
    });

    it("rejects an unknown option with InvalidConfigError", () => {
      const error = assertThrows(() => quorumPlugin.parseOptions({ readRepairs: false }), InvalidConfigError);
      assertEquals(error.code, "RINGFORGE_INVALID_CONFIG");
      assert(error.message.includes("readRepairs"), error.message);
      assert(error.issues.every((i) => i.path.startsWith("replicator.options")), JSON.stringify(error.issues));
    });

    it("rejects a mistyped option with InvalidConfigError naming its path", () => {
      const error = assertThrows(() => quorumPlugin.parseOptions({ readRepair: "yes" }), InvalidConfigError);
      assertEquals(
        error.issues.map((i) => i.path),
        ["replicator.options.readRepair"],
      );
      assertThrows(() => quorumPlugin.parseOptions(42), InvalidConfigError);
      assertThrows(() => quorum({ sloppy: true } as never), InvalidConfigError);
    });
  });

  it("is created per node: two nodes share no replicator", async () => {
    const a = await setup();
    const b = await setup();
    assert(a.replicator !== b.replicator);
  });
});
