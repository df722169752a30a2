/**
 * Ring views between nodes: a node that missed a change catches up at its next poll, and a poll
 * between nodes that agree carries no members (the asker sends its epoch and digest, the peer
 * answers "same" with them), while a request without them still gets the whole view.
 */
import { describe, it } from "@std/testing/bdd";
import { assert, assertEquals } from "@std/assert";
import { createCluster } from "../index.ts";
import type { Message } from "../core/interfaces/transport.ts";
import { RING_GET, RING_VIEW } from "../core/node/ring-membership.ts";
import { sleep } from "../core/interfaces/clock.ts";

const store = {
  nodes: 4,
  replication: { n: 3, r: 2, w: 2 },
  engine: { name: "memory", options: { durable: true } },
  antiEntropy: "none",
  handoff: { intervalMs: 500 },
} as const;

/** The ring replies `node` receives while `run` runs. */
async function ringReplies(transport: { request: (...args: never[]) => Promise<Message> }, run: () => Promise<unknown>) {
  const original = transport.request;
  const replies: Message[] = [];
  transport.request = (async (...args: never[]) => {
    const reply = await original.apply(transport, args);
    if (reply.type === RING_VIEW) replies.push(reply);
    return reply;
  }) as typeof original;
  try {
    await run();
  } finally {
    transport.request = original;
  }
  return replies;
}

describe("ring views", () => {
  it("a poll between nodes that agree carries no members; a node that missed a change gets the whole view and adopts it", async () => {
    await using cluster = await createCluster(store);
    const n1 = cluster.node("n1");
    const timeout = 1000;

    const agreeing = await ringReplies(n1.services.transport as never, () => n1.ring.poll(timeout));
    assertEquals(agreeing.length, 1);
    assertEquals(agreeing[0]!.view, undefined, "no members when the views agree");
    assertEquals(agreeing[0]!.epoch, n1.ring.view.epoch);

    // n4 is down while n5 joins, so it misses the broadcast of the new view.
    await cluster.crash("n4");
    await cluster.join("n5");
    const epoch = n1.ring.view.epoch;
    assert(epoch > 0);
    const n4 = await cluster.restart("n4");
    assertEquals(n4.ring.view.epoch, 0, "n4 restarted with the view it had");
    const stale = await ringReplies(n4.services.transport as never, () => n4.ring.poll(timeout));
    assertEquals(stale.length, 1);
    assert(stale[0]!.view !== undefined, "a node whose view differs gets the members");
    assertEquals(n4.ring.view.epoch, epoch, "and adopts the newer view");
    assertEquals(n4.ring.view.members.map((m) => m.id).sort(), ["n1", "n2", "n3", "n4", "n5"]);

    // A request without epoch and digest (a node of an earlier version) gets the whole view.
    const old = await n1.ring.serve({ type: RING_GET });
    assertEquals((old.view as { epoch: number }).epoch, epoch);
    // One with another digest too.
    const other = await n1.ring.serve({ type: RING_GET, epoch, digest: -1 });
    assert(other.view !== undefined);
  });

  it("a restarted node that missed a change catches up by itself, within a few handoff intervals", async () => {
    await using cluster = await createCluster(store);
    await cluster.crash("n4");
    await cluster.join("n5");
    const n4 = await cluster.restart("n4");
    await sleep(cluster.runtime.scheduler, 5 * store.handoff.intervalMs);
    assertEquals(n4.ring.view.epoch, cluster.node("n1").ring.view.epoch);
  });
});
