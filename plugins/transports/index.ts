/**
 * Transports: messages between nodes. Bundled: the in-process (simulated) network.
 *
 * @module
 */
import type { Plugin } from "../../core/build/plugin.ts";
import { inProcessPlugin } from "./in-process.ts";

export * from "./in-process.ts";

/** Every bundled transport; the conformance suite runs each. */
export const transportPlugins: readonly Plugin<any>[] = [inProcessPlugin];
