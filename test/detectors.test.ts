/**
 * Runs the FailureDetector conformance suite for every bundled detector plugin (each inside a
 * whole simulated cluster that runs it on every node), plus static-membership specifics.
 */
import { standaloneContext } from "../core/build/standalone-context.ts";
import { virtualRuntime } from "../core/runtime/runtime.ts";
import { describe, it } from "@std/testing/bdd";
import { assert, assertEquals, assertInstanceOf, assertThrows } from "@std/assert";
import type { Plugin } from "../core/build/plugin.ts";
import { InvalidConfigError } from "../core/errors.ts";
import type { FailureDetector } from "../core/interfaces/failure-detector.ts";
import type { MemberInfo } from "../core/interfaces/partitioner.ts";
import type { NodeId } from "../core/model/sibling.ts";
import type { VirtualScheduler } from "../core/runtime/virtual-scheduler.ts";
import { detectorPlugins, StaticMembership, staticMembership, staticMembershipPlugin } from "../plugins/detectors/index.ts";
import { failureDetectorSuite } from "../plugin-kit/testing/index.ts";

/** A detector as its plugin creates it for node `self`, on a scheduler driven by hand. */
// deno-lint-ignore no-explicit-any
function createDetector(plugin: Plugin<any, "detector", any>, self: NodeId, members: readonly MemberInfo[]): {
  detector: FailureDetector;
  scheduler: VirtualScheduler;
} {
  const runtime = virtualRuntime(7);
  const detector = plugin.create(standaloneContext({ id: self, members, runtime }), plugin.parseOptions(undefined));
  return { detector, scheduler: runtime.scheduler };
}

for (const plugin of detectorPlugins) failureDetectorSuite({ plugin, settleMs: 10_000 });

// Static membership on its own too, through the factory form: a detector that does nothing over
// time needs no cluster and no `advance`.
failureDetectorSuite({
  name: "static (on its own)",
  create: (self, members) => createDetector(staticMembershipPlugin, self, members),
});

describe("static membership", () => {
  const members: readonly MemberInfo[] = [{ id: "a", zone: "z1" }, { id: "b", weight: 2 }, { id: "c" }];

  function build(self: NodeId, configured: readonly MemberInfo[] = members) {
    return createDetector(staticMembershipPlugin, self, configured);
  }

  it("is what the plugin creates, one instance per node", () => {
    const { detector } = build("a");
    assertInstanceOf(detector, StaticMembership);
    assert(build("a").detector !== detector);
  });

  it("reports the configured members, with their details, all up", () => {
    const { detector } = build("b");
    assertEquals(detector.members(), [
      { id: "a", zone: "z1", status: "up" },
      { id: "b", weight: 2, status: "up" },
      { id: "c", status: "up" },
    ]);
  });

  it("nodes of one member list share one list of states, and a list changed in place is read again", () => {
    const list: MemberInfo[] = [{ id: "a" }, { id: "b" }];
    const a = new StaticMembership("a", list);
    assert(new StaticMembership("b", list).members() === a.members(), "shared, not copied per node");
    list[1] = { id: "z" };
    list.push({ id: "c" });
    assertEquals(new StaticMembership("c", list).members().map((m) => m.id), ["a", "z", "c"]);
    assertEquals(a.members().map((m) => m.id), ["a", "b"], "an earlier detector keeps what it was given");
  });

  it("adds this node, up, when the configured members lack it", () => {
    const { detector } = build("d");
    assertEquals(
      detector.members().map((m) => [m.id, m.status]),
      [["a", "up"], ["b", "up"], ["c", "up"], ["d", "up"]],
    );
    assert(detector.isAlive("d"));
    assertEquals(new StaticMembership("x", []).members(), [{ id: "x", status: "up" }]);
  });

  it("keeps every configured member up forever and never fires an event", async () => {
    const { detector, scheduler } = build("a");
    const events: unknown[] = [];
    const unsubscribe = detector.onChange((event) => events.push(event));
    await detector.start();
    await scheduler.runFor(24 * 3600_000);
    await detector.stop();
    await detector.start();
    await scheduler.runFor(3600_000);
    for (const id of ["a", "b", "c"]) assert(detector.isAlive(id), id);
    assert(!detector.isAlive("d"));
    assert(detector.members().every((m) => m.status === "up"));
    assertEquals(events, []);
    assertEquals(scheduler.pending, 0, "static membership schedules no work");
    unsubscribe();
    await detector.stop();
  });

  it("is not changed by later changes to the configured array", () => {
    const configured: MemberInfo[] = [{ id: "a" }, { id: "b" }];
    const detector = new StaticMembership("a", configured);
    configured.push({ id: "c" });
    configured[1] = { id: "z" };
    assertEquals(
      detector.members().map((m) => m.id),
      ["a", "b"],
    );
    assert(!detector.isAlive("z") && !detector.isAlive("c"));
  });

  it("has no options: the typed factory and config data agree; unknown options are rejected", () => {
    assertEquals(staticMembership(), { plugin: staticMembershipPlugin, options: {} });
    assertEquals(staticMembershipPlugin.parseOptions(undefined), {});
    const error = assertThrows(() => staticMembershipPlugin.parseOptions({ probeMs: 100 }), InvalidConfigError);
    assertEquals(error.code, "RINGFORGE_INVALID_CONFIG");
  });
});
