/**
 * Virtual time: a deterministic event loop for simulations and tests.
 *
 * @module
 */
import type { Clock, Scheduler, Timer } from "../interfaces/clock.ts";
import { drainMicrotasks, runSteps } from "./macrotask.ts";

/** Events run per batch of host macrotasks (see {@link runSteps}). */
const BATCH = 128;

interface ScheduledEvent {
  readonly time: number;
  readonly seq: number;
  callback: (() => void) | undefined;
}

/**
 * A {@link Scheduler} and {@link Clock} on virtual time. Events run in (time, insertion order);
 * time jumps straight to the next event, so a simulated minute takes as long as its events
 * take to compute. Between two events every promise continuation runs, so async code behaves
 * as it would on a real event loop — and, given the same seed and inputs, identically every run.
 *
 * Drive it by hand (`runFor`, `runUntil`, `runUntilIdle`) in tests, or `start()` it to advance
 * on its own whenever events are pending, which is how an in-process cluster serves `await`ed
 * requests from ordinary code.
 *
 * @example
 * ```ts
 * const scheduler = new VirtualScheduler();
 * scheduler.schedule(1000, () => console.log("one virtual second later", scheduler.now()));
 * await scheduler.runFor(5000); // returns at once; now() === 5000
 * ```
 */
export class VirtualScheduler implements Scheduler, Clock {
  #now: number;
  #seq = 0;
  #heap: ScheduledEvent[] = [];
  #running = false;
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  #eventsRun = 0;
  readonly #onError: (error: unknown) => void;

  /**
   * @param options.start virtual time to start at (ms), default 0
   * @param options.onError receives errors thrown by callbacks (default: rethrown on the host
   *   event loop, which fails a test loudly)
   */
  constructor(options: { start?: number; onError?: (error: unknown) => void } = {}) {
    this.#now = options.start ?? 0;
    this.#onError = options.onError ??
      ((error) => {
        queueMicrotask(() => {
          throw error;
        });
      });
  }

  /** Current virtual time in ms. */
  now(): number {
    return this.#now;
  }

  /** Number of events waiting to run. */
  get pending(): number {
    return this.#heap.length;
  }

  /** Number of events run so far (a measure of simulation work). */
  get eventsRun(): number {
    return this.#eventsRun;
  }

  schedule(delayMs: number, callback: () => void): Timer {
    if (!(delayMs >= 0)) delayMs = 0; // NaN and negatives run as soon as possible
    const event: ScheduledEvent = { time: this.#now + delayMs, seq: this.#seq++, callback };
    push(this.#heap, event);
    const wake = this.#wake;
    if (wake) {
      this.#wake = undefined;
      wake();
    }
    return {
      cancel() {
        event.callback = undefined;
      },
    };
  }

  /** Runs every event due up to and including `time`, then sets the clock to `time`. */
  async runUntil(time: number): Promise<void> {
    this.#assertManual();
    const due = () => this.#heap.length > 0 && this.#heap[0]!.time <= time;
    while (due()) await runSteps(BATCH, () => due() && this.#step());
    if (time > this.#now) this.#now = time;
  }

  /** Runs `ms` of virtual time. */
  runFor(ms: number): Promise<void> {
    return this.runUntil(this.#now + ms);
  }

  /**
   * Runs until no event is pending. Periodic timers never let a queue empty, so `maxTime` bounds
   * the run (default: unbounded); returns the number of events run.
   */
  async runUntilIdle(maxTime = Infinity): Promise<number> {
    this.#assertManual();
    const before = this.#eventsRun;
    await drainMicrotasks();
    const due = () => this.#heap.length > 0 && this.#heap[0]!.time <= maxTime;
    while (due()) await runSteps(BATCH, () => due() && this.#step());
    return this.#eventsRun - before;
  }

  /**
   * Advances on its own: whenever events are pending, runs the next one. Idempotent. Awaited
   * operations on an in-process cluster complete while it runs.
   */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  /** Stops advancing after the current event. Pending events stay queued. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
    await this.#loop;
  }

  /** True while started. */
  get running(): boolean {
    return this.#running;
  }

  async #run(): Promise<void> {
    // Never run an event inside start() itself: the caller's synchronous code comes first.
    await drainMicrotasks();
    while (this.#running) {
      if (this.#heap.length === 0) {
        await new Promise<void>((resolve) => (this.#wake = resolve));
        continue;
      }
      await runSteps(BATCH, () => this.#running && this.#heap.length > 0 && this.#step());
    }
  }

  /**
   * Runs the next event (the caller checked there is one); true to go on. The caller runs each
   * step in its own macrotask, so every promise continuation of one event runs before the next.
   */
  #step(): boolean {
    const event = pop(this.#heap)!;
    if (event.time > this.#now) this.#now = event.time;
    const callback = event.callback;
    if (callback === undefined) return true; // cancelled
    event.callback = undefined;
    this.#eventsRun++;
    try {
      callback();
    } catch (error) {
      this.#onError(error);
    }
    return true;
  }

  #assertManual(): void {
    if (this.#running) throw new Error("VirtualScheduler is started; stop() it before driving it by hand");
  }
}

function before(a: ScheduledEvent, b: ScheduledEvent): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}

function push(heap: ScheduledEvent[], event: ScheduledEvent): void {
  heap.push(event);
  let i = heap.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!before(heap[i]!, heap[parent]!)) break;
    [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
    i = parent;
  }
}

function pop(heap: ScheduledEvent[]): ScheduledEvent | undefined {
  const top = heap[0];
  const last = heap.pop();
  if (heap.length > 0 && last) {
    heap[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && before(heap[l]!, heap[m]!)) m = l;
      if (r < heap.length && before(heap[r]!, heap[m]!)) m = r;
      if (m === i) break;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  }
  return top;
}
