/**
 * The autoscaler's safety rules, on virtual time with a fake node provider: limits, one change at
 * a time, the cool-down, retries after a failed change, and the per-datacenter minimum.
 */
import { describe, it } from "@std/testing/bdd";
import { assert, assertEquals, assertThrows } from "@std/assert";
import { Autoscaler, type AutoscalerOptions, InvalidConfigError, silentLogger } from "../index.ts";
import type { ClusterLoad, NodeProvider, Scaler, ScalingDecision } from "../core/interfaces/scaler.ts";
import { VirtualScheduler } from "../core/runtime/virtual-scheduler.ts";

/** A cluster of `members` and a provider that changes it after `takesMs`, failing when told to. */
function world(members: string[], takesMs: number) {
  const scheduler = new VirtualScheduler();
  const calls: string[] = [];
  let inFlight = 0;
  let mostInFlight = 0;
  let failNext = 0;
  let next = members.length + 1;
  const dc = new Map<string, string>();
  const provider: NodeProvider = {
    name: "fake",
    add: async () => {
      inFlight++;
      mostInFlight = Math.max(mostInFlight, inFlight);
      calls.push(`add@${scheduler.now()}`);
      await new Promise<void>((resolve) => scheduler.schedule(takesMs, resolve));
      inFlight--;
      if (failNext > 0) {
        failNext--;
        throw new Error("the cloud said no");
      }
      const id = `n${next++}`;
      members.push(id);
      return id;
    },
    remove: async (id) => {
      inFlight++;
      mostInFlight = Math.max(mostInFlight, inFlight);
      calls.push(`remove ${id}@${scheduler.now()}`);
      await new Promise<void>((resolve) => scheduler.schedule(takesMs, resolve));
      inFlight--;
      members.splice(members.indexOf(id), 1);
    },
  };
  const load = (): Promise<ClusterLoad> =>
    Promise.resolve({
      at: scheduler.now(),
      nodes: members.map((id) => ({
        id,
        requestsPerSecond: 100,
        p99Ms: 5,
        bytes: 0,
        queueDepth: 0,
        ...(dc.has(id) ? { datacenter: dc.get(id)! } : {}),
      })),
    });
  const autoscaler = (scaler: Scaler, options: Partial<AutoscalerOptions> = {}) =>
    new Autoscaler(
      { scaler, provider, load, n: 3, clock: scheduler, scheduler, logger: silentLogger },
      { limits: { min: 3, max: 6 }, intervalMs: 1_000, cooldownMs: 5_000, retryMs: 3_000, ...options },
    );
  return {
    scheduler,
    calls,
    members,
    dc,
    autoscaler,
    failNext: (n: number) => (failNext = n),
    get mostInFlight() {
      return mostInFlight;
    },
  };
}

const always = (decide: (load: ClusterLoad) => ScalingDecision): Scaler => ({ name: "test", decide });

describe("autoscaler", () => {
  it("makes one change at a time, waits the cool-down after each, and stops at max", async () => {
    const w = world(["n1", "n2", "n3"], 4_000);
    const a = w.autoscaler(always(() => ({ action: "add", reason: "more" })));
    a.start();
    await w.scheduler.runFor(60_000);
    await a.stop();
    assertEquals(w.mostInFlight, 1, "never two changes at once");
    assertEquals(w.members.length, 6, "grew to max and no further");
    assertEquals(a.stats.added, 3);
    assert(a.stats.refused > 0, "adds at max are refused");
    const times = w.calls.map((c) => Number(c.split("@")[1]));
    for (let i = 1; i < times.length; i++) {
      assert(times[i]! - times[i - 1]! >= 4_000 + 5_000, `the change at ${times[i]} waited for the one before and the cool-down`);
    }
    assert(a.decisions.some((d) => d.outcome === "cooling-down"));
    assertEquals(a.last?.outcome, "refused");
    assert(a.last?.detail?.includes("max 6"), a.last?.detail);
  });

  it("never goes below N, even when the limits' min is lower", async () => {
    const w = world(["n1", "n2", "n3", "n4"], 1_000);
    const a = w.autoscaler(always((load) => ({ action: "remove", node: load.nodes[0]!.id, reason: "less" })), {
      limits: { min: 1, max: 6 },
    });
    assertEquals(a.limits.min, 3, "min raised to N");
    a.start();
    await w.scheduler.runFor(30_000);
    await a.stop();
    assertEquals(w.members, ["n2", "n3", "n4"]);
    assertEquals(a.stats.removed, 1);
    assert(a.last?.outcome === "refused" && a.last.detail!.includes("N 3"), a.last?.detail);
  });

  it("refuses to remove a non-member or the last members of a datacenter", async () => {
    const w = world(["n1", "n2", "n3", "n4", "n5"], 1_000);
    w.dc.set("n1", "dc1").set("n2", "dc1").set("n3", "dc2").set("n4", "dc2").set("n5", "dc2");
    const stranger = w.autoscaler(always(() => ({ action: "remove", node: "x9", reason: "less" })));
    assertEquals((await stranger.round())?.outcome, "refused");
    const dcBound = w.autoscaler(always(() => ({ action: "remove", node: "n1", reason: "less" })), { minPerDatacenter: 2 });
    const refused = await dcBound.round();
    assert(refused?.outcome === "refused" && refused.detail!.includes("dc1"), refused?.detail);
    assertEquals(w.calls, []);
  });

  it("reports a failed change, waits retryMs, and decides again", async () => {
    const w = world(["n1", "n2", "n3"], 2_000);
    w.failNext(1);
    let wanted = true;
    const a = w.autoscaler(always(() => wanted ? { action: "add", reason: "more" } : { action: "none", reason: "enough" }), {
      cooldownMs: 0,
    });
    a.start();
    await w.scheduler.runFor(4_000);
    assertEquals(a.stats.failed, 1);
    const failed = a.decisions.find((d) => d.outcome === "failed");
    assert(failed?.detail?.includes("the cloud said no"), "the failure is reported with its cause");
    assertEquals(w.members.length, 3, "a failed add changed nothing");
    await w.scheduler.runFor(3_000); // the retry starts at 6 s (and completes at 8 s)
    wanted = false;
    await w.scheduler.runFor(10_000);
    await a.stop();
    assertEquals(a.stats.added, 1, "tried again after retryMs, once");
    const [first, second] = w.calls.map((c) => Number(c.split("@")[1]));
    assert(second! - first! >= 2_000 + 3_000, "the retry waited retryMs after the failure");
    assertEquals(w.members.length, 4);
  });

  it("refuses limits that cannot hold", () => {
    const w = world(["n1", "n2", "n3"], 1);
    assertThrows(() => w.autoscaler(always(() => ({ action: "none", reason: "" })), { limits: { min: 2, max: 2 } }), InvalidConfigError);
  });
});
