/**
 * Transports: messages between nodes. Bundled: the in-process (simulated) network, and TCP
 * between processes.
 *
 * @module
 */
import type { Plugin } from "../../core/build/plugin.ts";
import { inProcessPlugin } from "./in-process.ts";
import { tcpPlugin } from "./tcp/index.ts";

export * from "./in-process.ts";
export * from "./tcp/index.ts";

/** Every bundled transport. */
export const transportPlugins: readonly Plugin<any, "transport", any>[] = [inProcessPlugin, tcpPlugin];
