/**
 * Prints the digests of test/support/fault-fixture.ts as JSON (`name/seed -> digest`), so a test
 * on one runtime can compare them with what the other computes.
 *
 * Usage: npx tsx test/support/print-fault-digests.ts (or deno run -A ...)
 */
import { faultFixtureDigests } from "./fault-fixture.ts";

console.log(JSON.stringify(await faultFixtureDigests()));
