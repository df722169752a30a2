/**
 * Vector clocks with one entry per coordinating node (Dynamo §4.4, the chapter's
 * `D([Sx, 1], [Sy, 1])`), keeping concurrent writes as siblings.
 *
 * @module
 */
import { z } from "zod";
import { InvalidContextError } from "../../core/errors.ts";
import { choose, definePlugin, type Plugin, type PluginChoice } from "../../core/build/plugin.ts";
import { type ConflictResolver, type Ordering, type WriteStamp } from "../../core/interfaces/conflict-resolver.ts";
import type { NodeId, Sibling, SiblingSet } from "../../core/model/sibling.ts";
import { canonicalSiblings, mergeSiblings } from "./sibling-order.ts";
import { admitContext } from "./context-guard.ts";

/**
 * A vector clock: `[node, counter]` entries sorted by node id, counters >= 1. With pruning on,
 * an entry also carries the coordinator's clock reading when it last advanced the entry
 * (`[node, counter, at]`), so the oldest entry can be found (Dynamo §4.4).
 */
export type VectorClock = readonly ClockEntry[];

/** One entry of a {@link VectorClock}. */
export type ClockEntry = readonly [node: NodeId, counter: number, at?: number];

/** The counter of `node` in `clock` (0 if absent). */
export function clockEntry(clock: VectorClock, node: NodeId): number {
  for (const [n, c] of clock) if (n === node) return c;
  return 0;
}

/** Pointwise maximum of two clocks (an entry keeps the time stamped with its larger counter). */
export function mergeClocks(a: VectorClock, b: VectorClock): VectorClock {
  const out: ClockEntry[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    if (y === undefined || (x !== undefined && x[0] < y[0])) {
      out.push(x!);
      i++;
    } else if (x === undefined || y[0] < x[0]) {
      out.push(y);
      j++;
    } else {
      out.push(x[1] > y[1] ? x : y[1] > x[1] ? y : laterStamped(x, y));
      i++;
      j++;
    }
  }
  return out;
}

/** Of two entries with equal counters, the one with the later time (so merge is commutative). */
function laterStamped(x: ClockEntry, y: ClockEntry): ClockEntry {
  return (y[2] ?? -Infinity) > (x[2] ?? -Infinity) ? y : x;
}

/** `clock` with `node`'s counter set to `counter` (and its time to `at`, if given). */
export function setClockEntry(clock: VectorClock, node: NodeId, counter: number, at?: number): VectorClock {
  const entry: ClockEntry = at === undefined ? [node, counter] : [node, counter, at];
  return mergeClocks(
    clock.filter(([n]) => n !== node),
    [entry],
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

/** A sibling whose clock happened before another's is superseded by it. */
function clockDominated(s: Sibling<VectorClock>, by: Sibling<VectorClock>): boolean {
  return compareClocks(s.version, by.version) === "before";
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
 *
 * @example
 * ```ts
 * const vc = new VectorClockResolver({ prune: { maxEntries: 10 } });
 * const siblings = vc.write([], { value: encodeText("v"), context: undefined, node: "n1", timestamp: 0 });
 * vc.context(siblings); // [["n1", 1, 0]]
 * ```
 */
export class VectorClockResolver implements ConflictResolver<VectorClock, VectorClock> {
  readonly name = "vector-clock";
  readonly keepsConcurrentWrites = true;
  readonly #prune: Required<VectorClockPruning> | undefined;

  /** @param options pruning; without it clocks are never pruned */
  constructor(options: VectorClockOptions = {}) {
    this.#prune = options.prune && { minAgeMs: 0, ...options.prune };
  }

  write(local: SiblingSet<VectorClock>, stamp: WriteStamp<VectorClock>): Sibling<VectorClock>[] {
    const context = stamp.context === undefined ? [] : admitContext(stamp.context, this.context(local), stamp.isMember);
    const uncovered = local.filter((s) => !clockLeq(s.version, context));
    // The new counter is above every counter this coordinator ever issued for the key (they are
    // all in its local record), so no two writes share a clock.
    let counter = clockEntry(context, stamp.node);
    for (const s of local) counter = Math.max(counter, clockEntry(s.version, stamp.node));
    let clock = context;
    for (const s of uncovered) clock = mergeClocks(clock, s.version);
    if (this.#prune) {
      clock = setClockEntry(clock, stamp.node, counter + 1, Math.floor(stamp.timestamp));
      clock = pruneClock(clock, stamp.node, stamp.timestamp, this.#prune);
    } else {
      clock = setClockEntry(clock, stamp.node, counter + 1);
    }
    const next: Sibling<VectorClock>[] = [{ value: stamp.value, version: clock }];
    for (const s of uncovered) next.push({ value: s.value, version: clock });
    return canonicalSiblings(next, clockSortOrder);
  }

  merge(a: SiblingSet<VectorClock>, b: SiblingSet<VectorClock>): Sibling<VectorClock>[] {
    return mergeSiblings(a, b, clockDominated, clockSortOrder);
  }

  compare(a: VectorClock, b: VectorClock): Ordering {
    return compareClocks(a, b);
  }

  context(siblings: SiblingSet<VectorClock>): VectorClock {
    let clock: VectorClock = [];
    for (const s of siblings) clock = mergeClocks(clock, s.version);
    return clock;
  }

  covers(context: VectorClock, seen: VectorClock): boolean {
    return clockLeq(seen, context);
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

/** True if `v` is a well-formed vector clock (entries sorted by node, counters >= 1). */
export function isVectorClock(v: unknown): v is VectorClock {
  if (!Array.isArray(v) || v.length > MAX_ENTRIES) return false;
  let previous: string | undefined;
  for (const entry of v) {
    if (!Array.isArray(entry) || entry.length < 2 || entry.length > 3) return false;
    const [node, counter, at] = entry as unknown[];
    if (typeof node !== "string" || node.length === 0) return false;
    if (typeof counter !== "number" || !Number.isSafeInteger(counter) || counter < 1) return false;
    if (entry.length === 3 && !(typeof at === "number" && Number.isFinite(at))) return false;
    if (previous !== undefined && !(previous < node)) return false;
    previous = node;
  }
  return true;
}

/**
 * Drops the least recently advanced entries of `clock` until it has at most `maxEntries`,
 * never `self` (the entry just advanced) and never an entry younger than `minAgeMs`.
 * Entries without a time (written before pruning was turned on) count as oldest.
 *
 * This is Dynamo's truncation, and its cost is real: a clock that forgot an entry no longer
 * shows that it descends from the write that entry counted, so that write looks concurrent (a
 * false conflict: a sibling that should have gone). Dynamo's truncation can also drop a truly
 * concurrent sibling that now looks older (a lost update); keeping the writer's own entry means
 * a pruned clock can only look older than a write whose context covered that entry, one whose
 * writer had read this write or a successor.
 */
export function pruneClock(clock: VectorClock, self: NodeId, now: number, options: Required<VectorClockPruning>): VectorClock {
  if (clock.length <= options.maxEntries) return clock;
  const candidates = clock
    .filter(([node, , at]) => node !== self && now - (at ?? -Infinity) >= options.minAgeMs)
    .sort((x, y) => (x[2] ?? -Infinity) - (y[2] ?? -Infinity) || (x[0] < y[0] ? -1 : 1));
  const drop = new Set(candidates.slice(0, clock.length - options.maxEntries).map(([node]) => node));
  return clock.filter(([node]) => !drop.has(node));
}

/** When to prune vector clocks (Dynamo §4.4; Riak's `small_vclock`/`young_vclock`). */
export interface VectorClockPruning {
  /** Entries a clock may keep; past this, the least recently advanced entries are dropped. */
  readonly maxEntries: number;
  /** Entries advanced more recently than this (ms) are never dropped. Default 0. */
  readonly minAgeMs?: number;
}

/** Options of {@link VectorClockResolver}. */
export interface VectorClockOptions {
  /** Prune clocks past a size; default: never prune. */
  readonly prune?: VectorClockPruning;
}

/** The vector-clock plugin. */
export const vectorClockPlugin: Plugin<VectorClockOptions, "resolver", undefined> = definePlugin({
  family: "resolver",
  name: "vector-clock",
  description: "Per-coordinator vector clocks; concurrent writes kept as siblings for the reader to merge.",
  options: z
    .object({
      prune: z
        .object({ maxEntries: z.number().int().min(1).max(MAX_ENTRIES), minAgeMs: z.number().min(0).finite().optional() })
        .strict()
        .optional(),
    })
    .strict() as z.ZodType<VectorClockOptions, unknown>,
  create: (_context, options) => new VectorClockResolver(options),
});

/**
 * Chooses vector-clock conflict resolution (the default).
 *
 * @example
 * ```ts
 * const cluster = await store().use(vectorClock()).cluster();
 * // Dynamo's truncation: at most 10 entries, dropping the least recently advanced.
 * const pruned = await store().use(vectorClock({ prune: { maxEntries: 10 } })).cluster();
 * ```
 */
export function vectorClock(options: VectorClockOptions = {}): PluginChoice<VectorClockOptions> {
  return choose(vectorClockPlugin, options);
}
