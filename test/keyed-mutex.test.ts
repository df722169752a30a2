/**
 * KeyedMutex (core/node/keyed-mutex.ts): one holder per key, first come first served, other
 * keys never wait, and a failing holder (rejecting or throwing) always lets the next one in.
 */
import { describe, it } from "@std/testing/bdd";
import { assert, assertEquals, assertRejects } from "@std/assert";
import fc from "fast-check";
import { KeyedMutex } from "../core/node/keyed-mutex.ts";

const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

describe("KeyedMutex", () => {
  it("runs the holders of one key one at a time, in the order they asked", async () => {
    const mutex = new KeyedMutex();
    const events: string[] = [];
    const holder = (name: string) =>
      mutex.run("k", async () => {
        events.push(`${name} in`);
        await tick();
        events.push(`${name} out`);
        return name;
      });
    const results = await Promise.all([holder("a"), holder("b"), holder("c")]);
    assertEquals(results, ["a", "b", "c"]);
    assertEquals(events, ["a in", "a out", "b in", "b out", "c in", "c out"]);
    assertEquals(mutex.size, 0);
  });

  it("never makes one key wait for another", async () => {
    const mutex = new KeyedMutex();
    let release!: () => void;
    const blocked = mutex.run("a", () => new Promise<void>((resolve) => (release = resolve)));
    assertEquals(await mutex.run("b", async () => "b ran"), "b ran");
    assertEquals(mutex.size, 1);
    release();
    await blocked;
    assertEquals(mutex.size, 0);
  });

  it("passes the key on after a holder rejects or throws before returning a promise", async () => {
    const mutex = new KeyedMutex();
    const rejecting = mutex.run("k", () => Promise.reject(new Error("rejected")));
    const throwing = mutex.run("k", () => {
      throw new Error("thrown");
    });
    const next = mutex.run("k", async () => "next ran");
    await assertRejects(() => rejecting, Error, "rejected");
    await assertRejects(() => throwing, Error, "thrown");
    assertEquals(await next, "next ran");
    assertEquals(mutex.size, 0);
    await assertRejects(
      () =>
        mutex.run("k", () => {
          throw new Error("alone");
        }),
      Error,
      "alone",
    );
    assertEquals(mutex.size, 0);
  });

  it("random schedules: never two holders of a key at once, and every key's order kept", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ key: fc.constantFrom("a", "b", "c"), waits: fc.nat(3), fails: fc.boolean() }), { maxLength: 40 }),
        async (jobs) => {
          const mutex = new KeyedMutex();
          const inside = new Map<string, number>();
          const order = new Map<string, number[]>();
          await Promise.allSettled(jobs.map((job, i) =>
            mutex.run(job.key, async () => {
              inside.set(job.key, (inside.get(job.key) ?? 0) + 1);
              assert(inside.get(job.key) === 1, `two holders of ${job.key}`);
              order.set(job.key, [...(order.get(job.key) ?? []), i]);
              for (let w = 0; w < job.waits; w++) await Promise.resolve();
              inside.set(job.key, inside.get(job.key)! - 1);
              if (job.fails) throw new Error("fails");
            })
          ));
          for (const [key, seen] of order) {
            assertEquals(seen, jobs.flatMap((j, i) => (j.key === key ? [i] : [])), `order of ${key}`);
          }
          assertEquals(mutex.size, 0);
        },
      ),
      { numRuns: 200 },
    );
  });
});
