/**
 * Prints the history digest of a small fixed simulation, so a test on one runtime can compare
 * it with the digest the other runtime computes (`tsx` under Node, `deno run` under Deno).
 */
import { digestFixture } from "./digest-fixture.ts";

console.log(await digestFixture());
