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

// The end of a turn, in order: first what flushes the turn's output (sockets), then what waits
// for the turn to be over (the commit log, whose durable write may block the thread): frames a
// turn wrote leave before its log write, not after the device's flush.
const flushes: (() => void)[] = [];
const waiters: (() => void)[] = [];
let ending = false;

function endTurn(): void {
  ending = false;
  let failure: { error: unknown } | undefined;
  for (const callback of [...flushes.splice(0), ...waiters.splice(0)]) {
    try {
      callback();
    } catch (error) {
      failure ??= { error };
    }
  }
  // One failed callback must not leave the others' sockets corked: it surfaces afterwards.
  if (failure) {
    queueMicrotask(() => {
      throw failure.error;
    });
  }
}

function endThisTurn(): void {
  if (ending) return;
  ending = true;
  setImmediate(endTurn);
}

/**
 * Runs `callback` once the host event loop's current turn is over (see {@link afterThisTurn}),
 * before {@link afterThisTurnsFlushes} resolves: for code that flushes what the turn's events
 * wrote (a socket's frames). Callbacks added while the turn ends (by the microtasks that follow
 * a log write, say) run at the end of the next turn. Where turns are not cheap (Deno, see
 * {@link cheapTurns}) it runs once the microtasks queued before it have run instead.
 */
export const atTurnEnd: (callback: () => void) => void = cheapTurns
  ? (callback) => {
    flushes.push(callback);
    endThisTurn();
  }
  : queueMicrotask;

/**
 * Resolves once the host event loop's current turn is over, after every {@link atTurnEnd}
 * callback of the turn ran: what a log that writes per turn waits for, so that a write which
 * blocks the thread does not hold up the frames the turn wrote.
 */
export function afterThisTurnsFlushes(): Promise<void> {
  return new Promise((resolve) => {
    waiters.push(resolve);
    endThisTurn();
  });
}
