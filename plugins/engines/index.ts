/**
 * Storage engine plugins: where a node keeps its records: `memory` (in the heap), `lsm` (a
 * log-structured merge tree on disk, in TypeScript) and `level` (LevelDB through classic-level,
 * an optional dependency). Every engine listed in
 * {@link enginePlugins} runs the shared StorageEngine conformance suite, so adding an engine is
 * one file plus one line here.
 *
 * @module
 */
import type { Plugin } from "../../core/build/plugin.ts";
import { levelEnginePlugin } from "./level.ts";
import { lsmEnginePlugin } from "./lsm/index.ts";
import { memoryEnginePlugin } from "./memory.ts";

export * from "./memory.ts";
export * from "./lsm/index.ts";
export * from "./level.ts";

/** Every bundled engine plugin. */
// deno-lint-ignore no-explicit-any -- engines have different option types
export const enginePlugins: readonly Plugin<any, "engine", any>[] = [memoryEnginePlugin, lsmEnginePlugin, levelEnginePlugin];
