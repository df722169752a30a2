/**
 * Conflict resolvers: how versions are stamped, compared and merged. Bundled: last-write-wins,
 * vector clocks (optionally pruned) and dotted version vectors.
 *
 * @module
 */
import type { Plugin } from "../../core/build/plugin.ts";
import { dottedVersionVectorPlugin } from "./dotted-version-vector.ts";
import { lastWriteWinsPlugin } from "./last-write-wins.ts";
import { vectorClockPlugin } from "./vector-clock.ts";

export * from "./dotted-version-vector.ts";
export * from "./last-write-wins.ts";
export * from "./vector-clock.ts";

/** Every bundled conflict resolver; the conformance suite runs each. */
export const resolverPlugins: readonly Plugin<any, "resolver", any>[] = [lastWriteWinsPlugin, vectorClockPlugin, dottedVersionVectorPlugin];
