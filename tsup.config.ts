import { defineConfig } from "tsup";

// One entry per public module; scripts/check-entrypoints.ts checks that package.json exports,
// deno.json exports and typedoc.json entry points name the same ones.
export default defineConfig({
  entry: {
    index: "index.ts",
    "plugin-kit/index": "plugin-kit/index.ts",
    "plugin-kit/testing/index": "plugin-kit/testing/index.ts",
    "plugins/index": "plugins/index.ts",
    "sim/index": "sim/index.ts",
    "server/index": "server/index.ts",
    "client/index": "client/index.ts",
    "cli/program": "cli/program.ts",
    "cli/main": "cli/main.ts",
    // Not a module to import: the LSM engine starts it as a worker thread by its file URL.
    "plugins/engines/lsm/compaction-worker": "plugins/engines/lsm/compaction-worker.ts",
  },
  format: ["esm"],
  target: "node20",
  platform: "node",
  // tsup 8's declaration build sets `baseUrl`, which TypeScript 6 deprecates; acknowledge it
  // here only, so the project's own tsconfig stays free of deprecated options.
  dts: { compilerOptions: { ignoreDeprecations: "6.0" } },
  // tsup leaves dependencies and peerDependencies external, not optionalDependencies: bundled,
  // classic-level (the level engine's LevelDB) could not find its native addon, and would
  // load for everyone instead of only for users of the level engine.
  external: ["classic-level"],
  sourcemap: true,
  clean: true,
  splitting: true,
  outDir: "dist",
});
