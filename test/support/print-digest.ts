/**
 * Prints the history digests of the fixture's seeds as JSON (seed -> digest), so a test on one
 * runtime can compare them with the digests the other runtime computes (`tsx` under Node,
 * `deno run` under Deno).
 *
 * With `--pin`, runs everything test/support/digests.json pins (the fixture's seeds and the lab's
 * 20-seed partition-set comparison) and rewrites the file. Do it only for a change meant to
 * change histories, then run test/sim.test.ts under both runtimes: both must reproduce the file.
 *
 * Usage: npx tsx test/support/print-digest.ts [--pin]
 */
import { writeFileSync } from "node:fs";
import process from "node:process";
import { computeDigests, fixtureDigests, PINNED_DIGESTS_FILE, repositoryPath } from "./digest-fixture.ts";

if (process.argv.includes("--pin")) {
  writeFileSync(repositoryPath(PINNED_DIGESTS_FILE), `${JSON.stringify(await computeDigests(), null, 2)}\n`);
  console.log(`wrote ${PINNED_DIGESTS_FILE}`);
} else {
  console.log(JSON.stringify(await fixtureDigests()));
}
