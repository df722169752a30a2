/**
 * Runs the AntiEntropy conformance suite for every bundled anti-entropy plugin.
 */
import { antiEntropyPlugins } from "../plugins/anti-entropy/index.ts";
import { type AntiEntropyCapabilities, antiEntropySuite } from "./conformance/anti-entropy.ts";

/** What each bundled plugin claims. A new plugin must add itself here. */
const CLAIMS: Readonly<Record<string, { supports: AntiEntropyCapabilities; options?: Record<string, unknown> }>> = {
  none: { supports: { repairs: false } },
  merkle: { supports: { repairs: true }, options: { intervalMs: 1000 } },
};

for (const plugin of antiEntropyPlugins) {
  const claim = CLAIMS[plugin.name];
  if (claim === undefined) throw new Error(`anti-entropy plugin "${plugin.name}" declares no claims in test/anti-entropy-family.test.ts`);
  antiEntropySuite({ plugin, ...claim });
}
