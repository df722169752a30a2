/**
 * periodic(): a background round every period, timed as every() times it, skipping a round
 * while the previous one is still running, with rejected rounds reported.
 */
import { describe, it } from "@std/testing/bdd";
import { assert, assertEquals } from "@std/assert";
import { every, periodic, sleep } from "../core/interfaces/clock.ts";
import { VirtualScheduler } from "../core/runtime/virtual-scheduler.ts";

describe("periodic", () => {
  it("runs nothing until started, then every period from start(), as every() does", async () => {
    const scheduler = new VirtualScheduler();
    const rounds: number[] = [];
    const ticks: number[] = [];
    const task = periodic(scheduler, 30, () => void rounds.push(scheduler.now()));
    await scheduler.runFor(50);
    assertEquals(rounds, []);
    assert(!task.started);
    task.start();
    task.start(); // a no-op while started
    const reference = every(scheduler, 30, () => ticks.push(scheduler.now()));
    await scheduler.runFor(100);
    assertEquals(rounds, [80, 110, 140]);
    assertEquals(rounds, ticks);
    task.stop();
    reference.cancel();
    assert(!task.started);
    await scheduler.runFor(100);
    assertEquals(rounds.length, 3);
  });

  it("skips a round due while the previous one runs, and runs the next one due after it ends", async () => {
    const scheduler = new VirtualScheduler();
    const started: number[] = [];
    const task = periodic(scheduler, 10, async () => {
      started.push(scheduler.now());
      await sleep(scheduler, 25); // spans the rounds due at 20 and 30
    });
    task.start();
    await scheduler.runFor(60);
    // 10: runs until 35; 20, 30: skipped; 40: runs until 65; 50, 60: skipped.
    assertEquals(started, [10, 40]);
    task.stop();
  });

  it("reports a rejected round to onError and keeps its period", async () => {
    const scheduler = new VirtualScheduler();
    const errors: unknown[] = [];
    let round = 0;
    const task = periodic(
      scheduler,
      10,
      async () => {
        if (++round === 1) throw new Error("first round fails");
      },
      (error) => errors.push(error),
    );
    task.start();
    await scheduler.runFor(30);
    assertEquals(round, 3);
    assertEquals(errors.map(String), ["Error: first round fails"]);
    task.stop();
  });

  it("lets a round in progress finish after stop(), and starts again one period after start()", async () => {
    const scheduler = new VirtualScheduler();
    const ended: number[] = [];
    const task = periodic(scheduler, 10, async () => {
      await sleep(scheduler, 5);
      ended.push(scheduler.now());
    });
    task.start();
    await scheduler.runFor(12);
    task.stop();
    await scheduler.runFor(20);
    assertEquals(ended, [15]);
    task.start();
    await scheduler.runFor(10);
    assertEquals(scheduler.now(), 42);
    assertEquals(ended, [15]);
    await scheduler.runFor(5);
    assertEquals(ended, [15, 47]);
    task.stop();
  });
});
