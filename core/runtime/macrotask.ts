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

/** Resolves after every microtask queued before the call has run. */
export function drainMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
