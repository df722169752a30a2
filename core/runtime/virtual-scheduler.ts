/**
 * Virtual time: a deterministic event loop for simulations and tests.
 *
 * @module
 */
import type { Clock, Scheduler, Timer } from "../interfaces/clock.ts";
import { drainMicrotasks, runSteps } from "./macrotask.ts";

/** Events run per batch of host macrotasks (see {@link runSteps}). */
const BATCH = 128;
/** Cancelled events the heap may hold before a sweep is considered (see `#cancelled`). */
const SWEEP_AFTER = 64;

interface ScheduledEvent {
  /** Due time; a held event gets its resume time. */
  time: number;
  seq: number;
  callback: (() => void) | undefined;
  /** The lane it was scheduled on, if any (events of the shared scheduler have none). */
  readonly lane: SchedulerLane | undefined;
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
  /**
   * Events cancelled while queued (about: one cancelled while held by a paused lane counts
   * too). A cancelled event stays in the heap until it comes up, so request timeouts, nearly
   * all cancelled long before they fall due, would pile up there; past half the heap they are
   * swept out at once.
   */
  #cancelled = 0;
  #running = false;
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  #eventsRun = 0;
  readonly #onError: (error: unknown) => void;
  /** Events of paused lanes, held in the order they fell due. */
  readonly #held = new Map<SchedulerLane, ScheduledEvent[]>();

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
    laneHooks.set(this, {
      enqueue: (delayMs, callback, lane) => this.#enqueue(delayMs, callback, lane),
      release: (lane) => this.#release(lane),
      held: (lane) => this.#held.get(lane)?.length ?? 0,
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
    return this.#enqueue(delayMs, callback, undefined);
  }

  /**
   * A new {@link SchedulerLane}: a view of this scheduler whose events can be held back as a
   * group (the timers and incoming messages of one simulated node, which the lab pauses).
   */
  lane(): SchedulerLane {
    return new SchedulerLane(this);
  }

  #enqueue(delayMs: number, callback: () => void, lane: SchedulerLane | undefined): Timer {
    if (!(delayMs >= 0)) delayMs = 0; // NaN and negatives run as soon as possible
    const event: ScheduledEvent = { time: this.#now + delayMs, seq: this.#seq++, callback, lane };
    push(this.#heap, event);
    this.#wakeUp();
    const cancelled = this.#onCancel;
    return {
      cancel() {
        if (event.callback === undefined) return; // ran or cancelled already
        event.callback = undefined;
        cancelled();
      },
    };
  }

  /** Counts a queued event cancelled, and sweeps when they are half the heap. */
  readonly #onCancel = (): void => {
    if (++this.#cancelled > SWEEP_AFTER && this.#cancelled * 2 > this.#heap.length) this.#sweep();
  };

  /** Drops the cancelled events from the heap (their order among the rest does not change). */
  #sweep(): void {
    const heap = this.#heap.filter((event) => event.callback !== undefined);
    for (let i = (heap.length >> 1) - 1; i >= 0; i--) siftDown(heap, i);
    this.#heap = heap;
    this.#cancelled = 0;
  }

  /** Puts `lane`'s held events back, due now, in the order they fell due (cancelled ones dropped). */
  #release(lane: SchedulerLane): void {
    const events = this.#held.get(lane);
    if (events === undefined) return;
    this.#held.delete(lane);
    for (const event of events) {
      if (event.callback === undefined) continue;
      event.time = this.#now;
      event.seq = this.#seq++;
      push(this.#heap, event);
    }
    this.#wakeUp();
  }

  #wakeUp(): void {
    const wake = this.#wake;
    if (wake) {
      this.#wake = undefined;
      wake();
    }
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
    if (callback === undefined) {
      if (this.#cancelled > 0) this.#cancelled--;
      return true; // cancelled
    }
    // A paused lane keeps its events until it resumes (they run late, as a stopped process's).
    const lane = event.lane;
    if (lane !== undefined && lane.paused) {
      let held = this.#held.get(lane);
      if (!held) this.#held.set(lane, held = []);
      held.push(event);
      return true;
    }
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
  // Moves the hole up from the end instead of swapping: one write per level.
  let i = heap.length;
  heap.push(event);
  while (i > 0) {
    const parent = (i - 1) >> 1;
    const above = heap[parent]!;
    if (!before(event, above)) break;
    heap[i] = above;
    i = parent;
  }
  heap[i] = event;
}

function pop(heap: ScheduledEvent[]): ScheduledEvent | undefined {
  const top = heap[0];
  const last = heap.pop();
  if (heap.length > 0 && last) {
    heap[0] = last;
    siftDown(heap, 0);
  }
  return top;
}

/** Restores the heap order below `i`, whose event may be later than its children. */
function siftDown(heap: ScheduledEvent[], i: number): void {
  const event = heap[i]!;
  const n = heap.length;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= n) break;
    const r = l + 1;
    const child = r < n && before(heap[r]!, heap[l]!) ? r : l;
    const next = heap[child]!;
    if (!before(next, event)) break;
    heap[i] = next;
    i = child;
  }
  heap[i] = event;
}

/** How a lane reaches into its scheduler's queue (kept out of either class's public surface). */
interface LaneHooks {
  enqueue(delayMs: number, callback: () => void, lane: SchedulerLane): Timer;
  release(lane: SchedulerLane): void;
  held(lane: SchedulerLane): number;
}

const laneHooks = new WeakMap<VirtualScheduler, LaneHooks>();

/**
 * One node's share of a {@link VirtualScheduler}: a {@link Scheduler} and {@link Clock} whose
 * events run on the shared queue, in the shared (time, insertion) order, until the lane is
 * paused. While paused, every event of the lane that falls due is held instead of run; on
 * `resume()` the held events run at once, in the order they fell due, before anything scheduled
 * after the resume. That is a stopped process (SIGSTOP/SIGCONT): its timers fire late, at the
 * resume, and nothing is lost. Time itself never stops; only the lane's events wait.
 *
 * A lane that is never paused behaves exactly as the shared scheduler: same events, same order.
 *
 * @example
 * ```ts
 * const scheduler = new VirtualScheduler();
 * const n3 = scheduler.lane();
 * n3.schedule(100, () => console.log("fires at", scheduler.now())); // 500, not 100
 * n3.pause();
 * scheduler.schedule(500, () => n3.resume());
 * await scheduler.runFor(1000);
 * ```
 */
export class SchedulerLane implements Scheduler, Clock {
  readonly #scheduler: VirtualScheduler;
  readonly #hooks: LaneHooks;
  #paused = false;
  #waiters: (() => void)[] = [];

  /** @internal use {@link VirtualScheduler.lane} */
  constructor(scheduler: VirtualScheduler) {
    this.#scheduler = scheduler;
    this.#hooks = laneHooks.get(scheduler)!;
  }

  /** Current virtual time in ms (the shared scheduler's: time does not stop for a lane). */
  now(): number {
    return this.#scheduler.now();
  }

  schedule(delayMs: number, callback: () => void): Timer {
    return this.#hooks.enqueue(delayMs, callback, this);
  }

  /** True between {@link pause} and {@link resume}. */
  get paused(): boolean {
    return this.#paused;
  }

  /** Events that fell due during the current pause and wait for the resume. */
  get held(): number {
    return this.#hooks.held(this);
  }

  /**
   * Holds the lane's events from now on. Idempotent. Resume the lane before waiting on
   * anything that needs its events (a node's `stop()` drains its requests on its timers).
   */
  pause(): void {
    this.#paused = true;
  }

  /**
   * Runs the held events (due now, in the order they fell due) and lets the lane's later events
   * run on time again; then settles {@link whenResumed}. A no-op unless paused.
   */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#hooks.release(this);
    for (const wake of this.#waiters.splice(0)) wake();
  }

  /** Resolves when the lane next runs: at once if it is not paused, else at its resume. */
  whenResumed(): Promise<void> {
    if (!this.#paused) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}
