/**
 * Runs the Consensus conformance suite for every bundled consensus plugin.
 */
import { consensusPlugins } from "../plugins/consensus/index.ts";
import { consensusSuite } from "../plugin-kit/testing/index.ts";

for (const plugin of consensusPlugins) consensusSuite({ plugin });
