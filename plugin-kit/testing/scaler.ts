/**
 * The Scaler conformance suite: any scaling policy runs it. A policy is driven with loads built
 * from three levels of its watched figure (requests per second per node), given with the
 * plugin: one it must answer by removing a node (`low`), one it must leave alone (`steady`), one
 * it must answer by adding a node (`high`). Whatever the load, its decisions keep the limits.
 * A plugin that does not declare `capabilities.scales` must never decide anything.
 *
 * @example
 * ```ts
 * scalerSuite({ plugin: targetTrackingScalerPlugin, options: { target: 100 }, levels: { low: 20, steady: 100, high: 400 } });
 * ```
 *
 * @module
 */
import fc from "fast-check";
import { describe, it } from "./bdd.ts";
import { assert, assertEquals } from "./assert.ts";
import type { ClusterLoad, Scaler, ScalingLimits } from "../../core/interfaces/scaler.ts";
import { standaloneContext } from "../../core/build/standalone-context.ts";
import { checkPlugin, type PluginSuiteOptions } from "./plugin-under-test.ts";

/** Options of {@link scalerSuite}: the plugin, its options, and the load levels that should move it. */
export interface ScalerSuiteOptions extends PluginSuiteOptions<"scaler"> {
  /**
   * Requests per second per node: `low` must lead to a removal, `steady` to nothing, `high` to
   * an addition, each held for a few minutes of rounds. Default 10 / 100 / 1,000.
   */
  readonly levels?: ScalerLevels;
}

/** Load levels (requests per second per node) for {@link scalerSuite}. */
export interface ScalerLevels {
  /** A load the policy must answer by removing a node. */
  readonly low: number;
  /** A load it must leave alone. */
  readonly steady: number;
  /** A load it must answer by adding a node. */
  readonly high: number;
}

/** A load of `count` nodes each at `perNode` requests per second, at `at` ms. */
function loadOf(count: number, perNode: number, at: number): ClusterLoad {
  return {
    at,
    nodes: Array.from({ length: count }, (_, i) => ({
      id: `n${i + 1}`,
      requestsPerSecond: perNode,
      p99Ms: 5,
      bytes: 1000 * (i + 1),
      queueDepth: 0,
    })),
  };
}

const ROUND_MS = 5_000;
const ROUNDS = 60;

/**
 * Registers the conformance tests of a scaler plugin.
 *
 * @example
 * ```ts
 * for (const plugin of scalerPlugins) scalerSuite({ plugin });
 * ```
 */
export function scalerSuite(o: ScalerSuiteOptions): void {
  const { name, plugin, options } = checkPlugin("scalerSuite", "scaler", o);
  const levels = o.levels ?? { low: 10, steady: 100, high: 1_000 };
  const make = (): Scaler => plugin.create(standaloneContext(), options) as Scaler;
  const limits: ScalingLimits = { min: 3, max: 8 };
  /** The decisions over ROUNDS rounds of a constant load (no change is ever carried out). */
  const run = (count: number, perNode: number, bounds: ScalingLimits = limits) => {
    const scaler = make();
    return Array.from({ length: ROUNDS }, (_, i) => scaler.decide(loadOf(count, perNode, i * ROUND_MS), bounds, undefined));
  };
  describe(`Scaler conformance: ${name}`, () => {
    it("names itself as its plugin, and gives a reason for every decision", () => {
      const scaler = make();
      assertEquals(scaler.name, plugin.name);
      for (const d of run(5, levels.high)) assert(typeof d.reason === "string" && d.reason.length > 0, "a reason");
    });

    if (!plugin.capabilities.scales) {
      it("never adds or removes a node, whatever the load", () => {
        for (const perNode of [0, levels.low, levels.steady, levels.high, 1e9]) {
          assert(run(5, perNode).every((d) => d.action === "none"));
        }
      });
      return;
    }

    it("leaves a cluster at the steady load alone", () => {
      for (const count of [3, 5, 8]) assert(run(count, levels.steady).every((d) => d.action === "none"), `${count} nodes`);
    });

    it("adds a node under a sustained high load, and removes none", () => {
      const decisions = run(4, levels.high);
      assert(decisions.some((d) => d.action === "add"), "an add within five minutes");
      assert(decisions.every((d) => d.action !== "remove"));
    });

    it("removes a member under a sustained low load, and adds none", () => {
      const decisions = run(6, levels.low);
      const removal = decisions.find((d) => d.action === "remove");
      assert(removal && removal.action === "remove" && /^n[1-6]$/.test(removal.node), "removes one of the members");
      assert(decisions.every((d) => d.action !== "add"));
    });

    it("keeps the limits: no add at max, no remove at min", () => {
      assert(run(8, levels.high).every((d) => d.action !== "add"), "at max");
      assert(run(3, levels.low).every((d) => d.action !== "remove"), "at min");
    });

    it("for any loads and limits, decides only what the limits allow and removes only members", () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 6 }),
          fc.integer({ min: 0, max: 6 }),
          fc.array(fc.tuple(fc.integer({ min: 1, max: 12 }), fc.double({ min: 0, max: 10 * levels.high, noNaN: true })), {
            minLength: 1,
            maxLength: 30,
          }),
          (min, extra, loads) => {
            const bounds = { min, max: min + extra };
            const scaler = make();
            let at = 0;
            for (const [count, perNode] of loads) {
              at += ROUND_MS;
              const load = loadOf(count, perNode, at);
              const d = scaler.decide(load, bounds, undefined);
              if (d.action === "add" && count >= bounds.max) return false;
              if (d.action === "remove" && (count <= bounds.min || !load.nodes.some((n) => n.id === d.node))) return false;
            }
            return true;
          },
        ),
        { numRuns: 200 },
      );
    });
  });
}
