/**
 * Vector clocks with one entry per coordinating node (Dynamo §4.4, the chapter's
 * `D([Sx, 1], [Sy, 1])`), keeping concurrent writes as siblings.
 *
 * @module
 */
import { instanceCachingFactory } from "../../core/build/di.ts";
import { z } from "zod";
import { InvalidContextError } from "../../core/errors.ts";
import { type Plugin, type PluginChoice, choose, definePlugin } from "../../core/build/plugin.ts";
import {
  CONFLICT_RESOLVER,
  type ConflictResolver,
  type Ordering,
  type WriteStamp,
} from "../../core/interfaces/conflict-resolver.ts";
import type { NodeId, Sibling, SiblingSet } from "../../core/model/sibling.ts";
import { canonicalSiblings } from "./sibling-order.ts";

/** A vector clock: `[node, counter]` entries sorted by node id, counters >= 1. */
export type VectorClock = readonly (readonly [node: NodeId, counter: number])[];

/** The counter of `node` in `clock` (0 if absent). */
export function clockEntry(clock: VectorClock, node: NodeId): number {
  for (const [n, c] of clock) if (n === node) return c;
  return 0;
}

/** Pointwise maximum of two clocks. */
export function mergeClocks(a: VectorClock, b: VectorClock): VectorClock {
  const out: [NodeId, number][] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    if (y === undefined || (x !== undefined && x[0] < y[0])) {
      out.push([x![0], x![1]]);
      i++;
    } else if (x === undefined || y[0] < x[0]) {
      out.push([y[0], y[1]]);
      j++;
    } else {
      out.push([x[0], Math.max(x[1], y[1])]);
      i++;
      j++;
    }
  }
  return out;
}

/** `clock` with `node`'s counter set to `counter`. */
export function setClockEntry(clock: VectorClock, node: NodeId, counter: number): VectorClock {
  return mergeClocks(
    clock.filter(([n]) => n !== node),
    [[node, counter]],
  );
}

/** Causal order of two clocks. */
export function compareClocks(a: VectorClock, b: VectorClock): Ordering {
  let aBigger = false;
  let bBigger = false;
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    if (y === undefined || (x !== undefined && x[0] < y[0])) {
      aBigger = true;
      i++;
    } else if (x === undefined || y[0] < x[0]) {
      bBigger = true;
      j++;
    } else {
      if (x[1] > y[1]) aBigger = true;
      else if (x[1] < y[1]) bBigger = true;
      i++;
      j++;
    }
    if (aBigger && bBigger) return "concurrent";
  }
  return aBigger ? "after" : bBigger ? "before" : "equal";
}

/** True if every entry of `a` is <= the same entry of `b` (a happened before or equals b). */
export function clockLeq(a: VectorClock, b: VectorClock): boolean {
  const o = compareClocks(a, b);
  return o === "before" || o === "equal";
}

/** A total order on clocks used only to sort siblings canonically (not causality). */
export function clockSortOrder(a: VectorClock, b: VectorClock): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const [an, ac] = a[i]!;
    const [bn, bc] = b[i]!;
    if (an !== bn) return an < bn ? -1 : 1;
    if (ac !== bc) return ac - bc;
  }
  return a.length - b.length;
}

/** Human-readable form, as the chapter writes it: `[Sx:3, Sy:1]`. */
export function formatClock(clock: VectorClock): string {
  return `[${clock.map(([n, c]) => `${n}:${c}`).join(", ")}]`;
}

/**
 * Vector-clock conflict resolution. Writes that did not see each other survive as siblings;
 * a write carrying a read's context supersedes every sibling that read returned.
 *
 * Entries are per coordinating node, as in Dynamo and the chapter, which bounds a clock by the
 * number of replicas. The known cost of server-side clocks (the reason Riak 2.0 moved to dotted
 * version vectors): when two clients write one key through the same coordinator and the second
 * did not read the first, a plain clock cannot show the two are concurrent. Rather than lose the
 * first write, the coordinator keeps it: every sibling the client's context does not cover is
 * re-stamped with the new clock next to the new value. Nothing acknowledged is lost, but
 * siblings accumulate under such interleavings (Riak's "sibling explosion"), which the
 * `dotted-version-vector` resolver avoids.
 */
export class VectorClockResolver implements ConflictResolver<VectorClock, VectorClock> {
  readonly name = "vector-clock";
  readonly keepsConcurrentWrites = true;

  write(local: SiblingSet<VectorClock>, stamp: WriteStamp<VectorClock>): Sibling<VectorClock>[] {
    const context = stamp.context ?? [];
    const uncovered = local.filter((s) => !clockLeq(s.version, context));
    // The new counter is above every counter this coordinator ever issued for the key (they are
    // all in its local record), so no two writes share a clock.
    let counter = clockEntry(context, stamp.node);
    for (const s of local) counter = Math.max(counter, clockEntry(s.version, stamp.node));
    let clock = context;
    for (const s of uncovered) clock = mergeClocks(clock, s.version);
    clock = setClockEntry(clock, stamp.node, counter + 1);
    const next: Sibling<VectorClock>[] = [{ value: stamp.value, version: clock }];
    for (const s of uncovered) next.push({ value: s.value, version: clock });
    return canonicalSiblings(next, clockSortOrder);
  }

  merge(a: SiblingSet<VectorClock>, b: SiblingSet<VectorClock>): Sibling<VectorClock>[] {
    const all = [...a, ...b];
    const kept = all.filter((s) => !all.some((t) => compareClocks(s.version, t.version) === "before"));
    return canonicalSiblings(kept, clockSortOrder);
  }

  compare(a: VectorClock, b: VectorClock): Ordering {
    return compareClocks(a, b);
  }

  context(siblings: SiblingSet<VectorClock>): VectorClock {
    let clock: VectorClock = [];
    for (const s of siblings) clock = mergeClocks(clock, s.version);
    return clock;
  }

  parseContext(data: unknown): VectorClock {
    if (!isVectorClock(data)) {
      throw new InvalidContextError("expected a vector clock: [node, counter] pairs sorted by node");
    }
    return data;
  }
}

/** Largest clock accepted from a client (entries are per coordinator, so this is generous). */
const MAX_ENTRIES = 4096;

function isVectorClock(v: unknown): v is VectorClock {
  if (!Array.isArray(v) || v.length > MAX_ENTRIES) return false;
  let previous: string | undefined;
  for (const entry of v) {
    if (!Array.isArray(entry) || entry.length !== 2) return false;
    const [node, counter] = entry as unknown[];
    if (typeof node !== "string" || node.length === 0) return false;
    if (typeof counter !== "number" || !Number.isSafeInteger(counter) || counter < 1) return false;
    if (previous !== undefined && !(previous < node)) return false;
    previous = node;
  }
  return true;
}

/** Options of {@link VectorClockResolver} (none yet). */
export type VectorClockOptions = Record<string, never>;

/** The vector-clock plugin. */
export const vectorClockPlugin: Plugin<VectorClockOptions> = definePlugin({
  family: "resolver",
  name: "vector-clock",
  description: "Per-coordinator vector clocks; concurrent writes kept as siblings for the reader to merge.",
  options: z.object({}).strict() as z.ZodType<VectorClockOptions, unknown>,
  register(container) {
    container.register(CONFLICT_RESOLVER, { useFactory: instanceCachingFactory(() => new VectorClockResolver()) });
  },
});

/**
 * Chooses vector-clock conflict resolution (the default).
 *
 * @example
 * ```ts
 * const cluster = await store().use(vectorClock()).cluster();
 * ```
 */
export function vectorClock(): PluginChoice<VectorClockOptions> {
  return choose(vectorClockPlugin) as PluginChoice<VectorClockOptions>;
}
