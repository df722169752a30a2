/**
 * Failure detectors: membership and liveness. Bundled: static membership, gossip with a
 * timeout, gossip with phi accrual, and SWIM.
 *
 * @module
 */
import type { Plugin } from "../../core/build/plugin.ts";
import { gossipPlugin, phiAccrualPlugin } from "./gossip.ts";
import { staticMembershipPlugin } from "./static-membership.ts";
import { swimPlugin } from "./swim.ts";

export * from "./static-membership.ts";
export * from "./gossip.ts";
export * from "./phi-accrual.ts";
export * from "./swim.ts";
export * from "./member-wire.ts";

/** Every bundled failure detector; the conformance suite runs each. */
export const detectorPlugins: readonly Plugin<any, "detector", any>[] = [
  staticMembershipPlugin,
  gossipPlugin,
  phiAccrualPlugin,
  swimPlugin,
];
