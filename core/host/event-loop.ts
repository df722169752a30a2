/**
 * The host event loop's turn: what code that batches real I/O waits for (an LSM commit log's
 * group commit), and what the virtual scheduler yields to between simulated events
 * (core/runtime/macrotask.ts). Never a delay and never a clock: it only orders work after the
 * events already due.
 *
 * @module
 */
import { setImmediate } from "node:timers";

/**
 * Whether {@link afterThisTurn} costs only the turn. On Node `setImmediate` runs in the check
 * phase, right after the loop's poll for I/O. Deno (2.x) runs it as a zero-delay timer instead,
 * about a millisecond later, and some versions waited for every active timer: there a durable
 * write waiting for it would wait that long, so the host file system offers no turn on Deno
 * and its logs write at once, as before.
 */
export const cheapTurns: boolean = !("Deno" in globalThis);

/**
 * Resolves once the host event loop's current turn is over: after the I/O events it is
 * handling now (and every promise continuation they start) have run. Node runs `setImmediate`
 * (from node:timers) in the check phase, right after the loop's poll for I/O, so a caller that
 * waits here sees what every event of this turn did. See {@link cheapTurns} for Deno.
 */
export function afterThisTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Runs `callback` once the host event loop's current turn is over (see {@link afterThisTurn}),
 * without a promise: for code that flushes what the turn's events wrote (a socket's frames).
 * Where turns are not cheap (Deno, see {@link cheapTurns}) it runs once the microtasks queued
 * before it have run instead.
 */
export const atTurnEnd: (callback: () => void) => void = cheapTurns ? (callback) => void setImmediate(callback) : queueMicrotask;
