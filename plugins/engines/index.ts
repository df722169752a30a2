/**
 * Storage engine plugins: where a node keeps its records. Every engine listed in
 * {@link enginePlugins} runs the shared StorageEngine conformance suite, so adding an engine is
 * one file plus one line here.
 *
 * @module
 */
import type { Plugin } from "../../core/build/plugin.ts";
import { memoryEnginePlugin } from "./memory.ts";

export * from "./memory.ts";

/** Every bundled engine plugin. */
// deno-lint-ignore no-explicit-any -- engines have different option types
export const enginePlugins: readonly Plugin<any>[] = [memoryEnginePlugin];
