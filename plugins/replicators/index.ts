/**
 * Replicators: the coordinator's fan-out to a key's replicas. Bundled: strict quorum, and
 * sloppy quorum with hinted handoff.
 *
 * @module
 */
import type { Plugin } from "../../core/build/plugin.ts";
import { quorumPlugin } from "./quorum.ts";
import { sloppyQuorumPlugin } from "./sloppy-quorum.ts";

export * from "./quorum.ts";
export * from "./sloppy-quorum.ts";

/** Every bundled replicator; the conformance suite runs each. */
export const replicatorPlugins: readonly Plugin<any, "replicator", any>[] = [quorumPlugin, sloppyQuorumPlugin];
