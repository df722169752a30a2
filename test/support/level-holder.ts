/**
 * A process that opens a level engine (classic-level) on DIR and holds it, for the lock test of
 * test/engines-level.test.ts:
 *
 *     node --import tsx test/support/level-holder.ts DIR
 *     deno run -A test/support/level-holder.ts DIR
 *
 * Prints `holding <pid>` once the engine is open and keeps it open until killed, or
 * `refused <code>` (and exits) if the open fails.
 *
 * @module
 */
import process from "node:process";
import { LevelEngine } from "../../plugins/engines/level.ts";

const [location] = process.argv.slice(2);
if (location === undefined) {
  process.stderr.write("usage: level-holder.ts DIR\n");
  process.exit(2);
}
const engine = new LevelEngine({ location });
try {
  await engine.open();
} catch (error) {
  process.stdout.write(`refused ${(error as { code?: string }).code ?? "?"}\n`);
  process.exit(0);
}
process.stdout.write(`holding ${process.pid}\n`);
// Open until killed: a timer keeps the process alive.
setInterval(() => {}, 60_000);
