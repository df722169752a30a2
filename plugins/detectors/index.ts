/**
 * Failure detectors: membership and liveness. Bundled: static membership.
 *
 * @module
 */
import type { Plugin } from "../../core/build/plugin.ts";
import { staticMembershipPlugin } from "./static-membership.ts";

export * from "./static-membership.ts";

/** Every bundled failure detector; the conformance suite runs each. */
export const detectorPlugins: readonly Plugin<any>[] = [staticMembershipPlugin];
