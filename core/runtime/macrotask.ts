/**
 * The one place the virtual-time scheduler touches the host event loop.
 *
 * Between two simulated events every pending promise continuation must run, or an event could
 * observe a half-finished state (a reply delivered before the code awaiting the previous one
 * resumed). JavaScript cannot drain the microtask queue synchronously, but every runtime drains
 * it completely before the next macrotask, so the scheduler yields one macrotask per event.
 * `setImmediate` (from node:timers, which Node and Deno both provide) is that macrotask; it is
 * not used to measure or wait for time, so virtual time stays deterministic.
 *
 * @module
 */
import { setImmediate } from "node:timers";
import { afterThisTurn } from "../host/event-loop.ts";

/** Resolves after every microtask queued before the call has run: the host loop's next turn. */
export const drainMicrotasks: () => Promise<void> = afterThisTurn;

/**
 * Runs `step` up to `count` times, one macrotask each, and resolves once the last one and every
 * promise continuation it started have run. `step` returns false to stop early (the macrotasks
 * left do nothing).
 *
 * The macrotasks are queued together: the host runs them one after another, draining every
 * microtask between two of them as after any macrotask, without a whole turn of its event loop
 * (timers, I/O polling) per step — the cost that bounded a simulation's events per second.
 * Between two steps the host's own I/O waits, for at most `count` steps.
 */
export function runSteps(count: number, step: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    let stopped = false;
    const next = () => {
      if (!stopped && !step()) stopped = true;
    };
    for (let i = 0; i < count; i++) setImmediate(next);
    // Queued after the steps: runs once the last step's microtasks have drained.
    setImmediate(resolve);
  });
}
