import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// The shared tests import `@std/assert` and `@std/testing/bdd` (Deno's standard library
// names) so one file runs under vitest and `deno test`. Both names map to the conformance
// suites' own modules in plugin-kit/testing/, so a test file and the suites it runs share one
// runner and one set of assertions; deno.json and tsconfig.json map the same names. To use the
// real JSR packages later, change the two lines below and the two in deno.json.
const local = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^@std\/assert$/, replacement: local("./plugin-kit/testing/assert.ts") },
      { find: /^@std\/testing\/bdd$/, replacement: local("./plugin-kit/testing/bdd.ts") },
      // The package's own names, for code written as a user writes it (examples/plugin-kit/):
      // the source, as deno.json `imports` and tsconfig.json `paths` (which tsx reads) map them,
      // so a plugin and the code that loads it share one copy of core (errors are `instanceof`).
      { find: /^ringforge$/, replacement: local("./index.ts") },
      { find: /^ringforge\/plugin-kit$/, replacement: local("./plugin-kit/index.ts") },
      { find: /^ringforge\/plugin-kit\/testing$/, replacement: local("./plugin-kit/testing/index.ts") },
    ],
  },
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/dist/**"],
    environment: "node",
    // describe/it/hooks on globalThis: plugin-kit/testing/bdd.ts registers the suites' tests,
    // and this repository's, with them (as it would in a plugin author's project).
    globals: true,
    // Simulations run many virtual seconds; a test that needs more than this is stuck,
    // not slow (speed is a benchmark's business, never a test's).
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // "After" hooks in reverse order of declaration: the order bdd-deno.ts implements.
    sequence: { hooks: "stack" },
  },
});
