/**
 * `@std/testing/bdd` for vitest: the shared tests import their suite functions from
 * `@std/testing/bdd`, and vitest.config.ts aliases that name to this file, so the
 * same test file runs under vitest (Node) and `deno test` (see bdd-deno.ts).
 *
 * Only the common subset is promised to tests: `describe(name, fn)`, `it(name, fn)`,
 * `describe.skip`, `it.skip` and the four hooks. Anything vitest-only (test context
 * argument, `it.each`, `vi`) would not run under Deno.
 *
 * @module
 */
export { afterAll, afterEach, beforeAll, beforeEach, describe, it } from "vitest";
