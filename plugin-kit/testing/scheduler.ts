/**
 * The conformance suite of a {@link Scheduler} and its {@link Clock}: the contract written on
 * the interface (never early, same-time callbacks in scheduling order, cancellation, errors do
 * not stop the scheduler) and the `sleep` / `every` helpers built on it.
 *
 * It runs on virtual time or real time alike: the fixture says how to let time pass, and every
 * timing assertion is "no earlier than", read from the fixture's clock, never an upper bound —
 * a loaded machine may run a real timer late, never early. Delays stay within a few ms, so a
 * real-time run takes well under a second.
 *
 * @example
 * ```ts
 * schedulerSuite({
 *   name: "VirtualScheduler",
 *   supports: { reportsErrors: true },
 *   create() {
 *     const errors: unknown[] = [];
 *     const scheduler = new VirtualScheduler({ onError: (e) => errors.push(e) });
 *     return { scheduler, clock: scheduler, advance: (ms) => scheduler.runFor(ms), errors };
 *   },
 * });
 * ```
 *
 * @module
 */
import { afterEach, beforeEach, describe, it } from "./bdd.ts";
import { assert, assertEquals, assertGreaterOrEqual } from "./assert.ts";
import { type Clock, every, type Scheduler, sleep } from "../../core/interfaces/clock.ts";

/** One scheduler under test, fresh for each test. */
export interface SchedulerFixture {
  /** The scheduler under test. */
  readonly scheduler: Scheduler;
  /** The clock its delays are measured on. */
  readonly clock: Clock;
  /**
   * Lets at least `ms` of the scheduler's time pass, running every callback that falls due
   * (virtual time: `runFor(ms)`; real time: sleep on the scheduler itself, whose own callback
   * then runs after every earlier deadline).
   */
  advance(ms: number): Promise<void>;
  /**
   * Errors thrown by callbacks, as the scheduler reported them (required when
   * `supports.reportsErrors`).
   */
  readonly errors?: readonly unknown[];
  /**
   * How much earlier than its deadline, by `clock`, a callback may appear to run because the
   * timer and the clock are read at different resolutions (host timers: about 1 ms). Default 0.
   */
  readonly toleranceMs?: number;
  /** Tidies up after a test (for example stops an auto-advancing scheduler). */
  dispose?(): void | Promise<void>;
}

/** What a scheduler under test claims beyond the basics. */
export interface SchedulerCapabilities {
  /**
   * True if a throwing callback is reported to `errors` instead of escaping to the host,
   * so the suite can throw on purpose. Default false (those tests are skipped).
   */
  readonly reportsErrors?: boolean;
}

/** Options of {@link schedulerSuite}. */
export interface SchedulerSuiteOptions {
  /** Name shown in the test report. */
  readonly name: string;
  /** A fresh scheduler, clock and way to let time pass; called once per test. */
  readonly create: () => SchedulerFixture | Promise<SchedulerFixture>;
  /** What the scheduler claims. */
  readonly supports?: SchedulerCapabilities;
}

/** Registers the {@link Scheduler} conformance tests for one implementation. */
export function schedulerSuite(options: SchedulerSuiteOptions): void {
  const reportsErrors = options.supports?.reportsErrors ?? false;

  describe(`Scheduler conformance: ${options.name}`, () => {
    let fixture: SchedulerFixture;
    let scheduler: Scheduler;
    let clock: Clock;
    let tolerance: number;

    beforeEach(async () => {
      fixture = await options.create();
      ({ scheduler, clock } = fixture);
      tolerance = fixture.toleranceMs ?? 0;
    });
    afterEach(async () => {
      await fixture.dispose?.();
    });

    /**
     * Lets time pass in 1 ms steps until `done()` holds (at most `limitMs`): for chains of
     * callbacks, each scheduled by the previous one, whose end a loaded machine may push back
     * arbitrarily on real time.
     */
    async function advanceUntil(done: () => boolean, limitMs = 1_000): Promise<void> {
      for (let waited = 0; !done() && waited < limitMs; waited++) await fixture.advance(1);
    }

    /** Asserts that `elapsed` ms is no less than `delay`, within the fixture's tolerance. */
    function assertNotEarly(elapsed: number, delay: number, what: string): void {
      assertGreaterOrEqual(elapsed, delay - tolerance, `${what} ran after ${elapsed} ms, before its ${delay} ms`);
    }

    describe("schedule", () => {
      it("never runs a callback inside schedule(), even with delay 0", async () => {
        let ran = 0;
        scheduler.schedule(0, () => ran++);
        assertEquals(ran, 0);
        await fixture.advance(2);
        assertEquals(ran, 1);
      });

      it("runs each callback once, no earlier than its delay", async () => {
        const delays = [0, 1, 3, 7, 12];
        const elapsed = new Map<number, number[]>();
        const start = clock.now();
        for (const delay of delays) {
          scheduler.schedule(delay, () => {
            const seen = elapsed.get(delay) ?? [];
            seen.push(clock.now() - start);
            elapsed.set(delay, seen);
          });
        }
        await fixture.advance(15);
        for (const delay of delays) {
          const seen = elapsed.get(delay);
          assertEquals(seen?.length, 1, `callback with delay ${delay} ran ${seen?.length ?? 0} times`);
          assertNotEarly(seen![0]!, delay, `callback with delay ${delay}`);
        }
      });

      it("runs callbacks due at the same time in the order they were scheduled", async () => {
        const order: string[] = [];
        for (let i = 0; i < 10; i++) scheduler.schedule(5, () => order.push(`five-${i}`));
        for (let i = 0; i < 5; i++) scheduler.schedule(0, () => order.push(`zero-${i}`));
        await fixture.advance(8);
        assertEquals(order, [
          ...Array.from({ length: 5 }, (_, i) => `zero-${i}`),
          ...Array.from({ length: 10 }, (_, i) => `five-${i}`),
        ]);
      });

      it("runs an earlier deadline first, whatever the order of scheduling", async () => {
        const order: string[] = [];
        scheduler.schedule(8, () => order.push("late"));
        scheduler.schedule(2, () => order.push("early"));
        scheduler.schedule(5, () => order.push("middle"));
        await fixture.advance(10);
        assertEquals(order, ["early", "middle", "late"]);
      });

      it("runs a callback scheduled by a callback after it, no earlier than its own delay", async () => {
        const order: string[] = [];
        let outerAt = 0;
        let innerAt = 0;
        const start = clock.now();
        scheduler.schedule(2, () => {
          outerAt = clock.now();
          scheduler.schedule(0, () => {
            innerAt = clock.now();
            order.push("inner");
          });
          scheduler.schedule(3, () => order.push("inner-later"));
          order.push("outer-end");
        });
        await advanceUntil(() => order.length === 3);
        assertEquals(order, ["outer-end", "inner", "inner-later"]);
        assertNotEarly(outerAt - start, 2, "outer callback");
        assertGreaterOrEqual(innerAt, outerAt);
      });
    });

    describe("cancel", () => {
      it("prevents a callback that has not run yet", async () => {
        const ran: string[] = [];
        const timer = scheduler.schedule(3, () => ran.push("cancelled"));
        scheduler.schedule(3, () => ran.push("kept"));
        timer.cancel();
        await fixture.advance(6);
        assertEquals(ran, ["kept"]);
      });

      it("is a no-op when called twice or after the callback ran", async () => {
        const ran: string[] = [];
        const first = scheduler.schedule(1, () => ran.push("first"));
        const second = scheduler.schedule(4, () => ran.push("second"));
        const third = scheduler.schedule(4, () => ran.push("third"));
        second.cancel();
        second.cancel();
        await fixture.advance(6);
        first.cancel();
        first.cancel();
        third.cancel();
        await fixture.advance(2);
        assertEquals(ran, ["first", "third"]);
      });

      it("from an earlier callback due at the same time, prevents the later one", async () => {
        const ran: string[] = [];
        scheduler.schedule(3, () => {
          ran.push("canceller");
          victim.cancel();
        });
        const victim = scheduler.schedule(3, () => ran.push("victim"));
        scheduler.schedule(3, () => ran.push("bystander"));
        await fixture.advance(5);
        assertEquals(ran, ["canceller", "bystander"]);
      });
    });

    (reportsErrors ? describe : describe.skip)("errors", () => {
      it("a throwing callback does not stop the callbacks after it, and is reported", async () => {
        const ran: string[] = [];
        const first = new Error("first");
        const second = new Error("second");
        scheduler.schedule(1, () => {
          throw first;
        });
        scheduler.schedule(1, () => ran.push("same time"));
        scheduler.schedule(3, () => {
          throw second;
        });
        scheduler.schedule(4, () => ran.push("later"));
        await fixture.advance(6);
        assertEquals(ran, ["same time", "later"]);
        assertEquals(fixture.errors, [first, second]);
      });

      it("a throwing every() callback keeps running on its period", async () => {
        let runs = 0;
        const timer = every(scheduler, 2, () => {
          runs++;
          throw new Error(`run ${runs}`);
        });
        await advanceUntil(() => runs >= 2);
        timer.cancel();
        assertEquals(runs, 2);
        assertEquals(fixture.errors?.length, runs);
      });
    });

    describe("sleep()", () => {
      it("resolves no earlier than its delay", async () => {
        const start = clock.now();
        let resolvedAt: number | undefined;
        const done = sleep(scheduler, 5).then(() => (resolvedAt = clock.now()));
        assertEquals(resolvedAt, undefined);
        await fixture.advance(8);
        await done;
        assertNotEarly(resolvedAt! - start, 5, "sleep(5)");
      });

      it("resolves in deadline order with other callbacks", async () => {
        const order: string[] = [];
        scheduler.schedule(4, () => order.push("timer"));
        const done = sleep(scheduler, 2).then(() => order.push("sleep"));
        await fixture.advance(6);
        await done;
        assertEquals(order, ["sleep", "timer"]);
      });
    });

    describe("every()", () => {
      it("runs on its period, each run no earlier than the previous one's period, until cancelled", async () => {
        const runs: number[] = [];
        const start = clock.now();
        const timer = every(scheduler, 3, () => runs.push(clock.now()));
        assertEquals(runs, []);
        await fixture.advance(10);
        timer.cancel();
        assertGreaterOrEqual(runs.length, 1);
        assertNotEarly(runs[0]! - start, 3, "first run");
        for (let i = 1; i < runs.length; i++) assertNotEarly(runs[i]! - runs[i - 1]!, 3, `run ${i + 1}`);
        const count = runs.length;
        await fixture.advance(8);
        assertEquals(runs.length, count, "runs after cancel()");
      });

      it("schedules the next run only after the callback returns, so runs never overlap", async () => {
        const log: string[] = [];
        const spy: Scheduler = {
          schedule(delayMs, callback) {
            log.push(`schedule ${delayMs}`);
            return scheduler.schedule(delayMs, callback);
          },
        };
        let runs = 0;
        let inside = false;
        const timer = every(spy, 2, () => {
          assert(!inside, "every() re-entered its callback");
          inside = true;
          log.push("start");
          runs++;
          log.push("end");
          inside = false;
          if (runs === 2) timer.cancel();
        });
        await advanceUntil(() => runs === 2);
        await fixture.advance(5);
        assertEquals(log, ["schedule 2", "start", "end", "schedule 2", "start", "end"]);
      });

      it("stops when cancelled from inside its own callback", async () => {
        let runs = 0;
        const timer = every(scheduler, 2, () => {
          runs++;
          timer.cancel();
        });
        await fixture.advance(9);
        assertEquals(runs, 1);
      });

      it("never runs if cancelled before its first period", async () => {
        let runs = 0;
        const timer = every(scheduler, 2, () => runs++);
        timer.cancel();
        timer.cancel();
        await fixture.advance(5);
        assertEquals(runs, 0);
      });
    });
  });
}
