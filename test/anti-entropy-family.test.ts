/**
 * Runs the AntiEntropy conformance suite for every bundled anti-entropy plugin, with its
 * default options, checked for what it declares (`capabilities.repairs`).
 */
import { antiEntropyPlugins } from "../plugins/anti-entropy/index.ts";
import { antiEntropySuite } from "../plugin-kit/testing/index.ts";

for (const plugin of antiEntropyPlugins) antiEntropySuite({ plugin });
