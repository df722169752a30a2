/**
 * The host event loop's turn, for code that does real I/O and batches it: the one place
 * outside the runtime adapters that waits on the host's loop (an LSM commit log's group
 * commit). Never a delay and never a clock: it only orders work after the events already due.
 *
 * @module
 */
import { setImmediate } from "node:timers";

/**
 * Resolves once the host event loop's current turn is over: after the I/O events it is
 * handling now (and every promise continuation they start) have run. `setImmediate` (from
 * node:timers, which Node and Deno both provide) runs in the check phase, right after the
 * loop's poll for I/O, so a caller that waits here sees what every event of this turn did.
 */
export function afterThisTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
