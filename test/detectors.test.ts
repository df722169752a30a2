/**
 * Runs the FailureDetector conformance suite for every bundled detector plugin (each created by
 * its plugin from a plugin context, or inside a whole simulated cluster for those that talk to
 * peers), plus static-membership specifics.
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
import {
  detectorPlugins,
  StaticMembership,
  staticMembership,
  staticMembershipPlugin,
} from "../plugins/detectors/index.ts";
import { failureDetectorSuite } from "./conformance/failure-detector.ts";
import { createCluster } from "../index.ts";

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

/** Detectors that talk to peers run inside a whole simulated cluster of the given members. */
const NEEDS_PEERS = new Set(["gossip", "phi-accrual", "swim"]);

for (const plugin of detectorPlugins) {
  failureDetectorSuite({
    name: plugin.name,
    create: NEEDS_PEERS.has(plugin.name)
      ? async (self, members) => {
          const cluster = await createCluster(
            { nodes: members.map((m) => ({ ...m })), replication: { n: 1, r: 1, w: 1 }, detector: plugin.name },
            { autoAdvance: false },
          );
          const scheduler = cluster.scheduler!;
          return {
            detector: cluster.node(self).services.detector,
            advance: (ms: number) => scheduler.runFor(ms),
            dispose: () => cluster.stop(),
          };
        }
      : (self, members) => {
          const { detector } = createDetector(plugin, self, members);
          return { detector, dispose: () => detector.stop() };
        },
    settleMs: 10_000,
  });
}

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
