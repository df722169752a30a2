import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// The shared tests import `@std/assert` and `@std/testing/bdd` (Deno's standard library
// names) so one file runs under vitest and `deno test`. deno.json maps the same names;
// to use the real JSR packages later, change the two lines below and the two in deno.json.
const local = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^@std\/assert$/, replacement: local("./test/support/std-assert.ts") },
      { find: /^@std\/testing\/bdd$/, replacement: local("./test/support/bdd-vitest.ts") },
    ],
  },
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/dist/**"],
    environment: "node",
    // Simulations run many virtual seconds; a test that needs more than this is stuck,
    // not slow (speed is a benchmark's business, never a test's).
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // "After" hooks in reverse order of declaration: the order bdd-deno.ts implements.
    sequence: { hooks: "stack" },
  },
});
