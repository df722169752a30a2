/**
 * Dotted version vectors (Preguiça, Baquero, Almeida, Fonte, Gonçalves: "Dotted Version
 * Vectors: Logical Clocks for Optimistic Replication", 2010; Riak KV 2.0's `dvv_enabled`).
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
import { clockEntry, clockLeq, clockSortOrder, isVectorClock, mergeClocks, setClockEntry, type VectorClock } from "./vector-clock.ts";

/**
 * The version of one sibling: its dot — the single event that wrote it, `counter` at `node` —
 * and its causal past, the vector clock of what the client had read when it wrote.
 */
export type DottedVersion = readonly [node: NodeId, counter: number, past: VectorClock];

/** True if the write `dot` names is in `clock`'s past. */
function dotIn(node: NodeId, counter: number, clock: VectorClock): boolean {
  return clockEntry(clock, node) >= counter;
}

/** A sibling whose dot is in another's past was read by that other's writer: it is superseded. */
function dotDominated(s: Sibling<DottedVersion>, by: Sibling<DottedVersion>): boolean {
  return dotIn(s.version[0], s.version[1], by.version[2]);
}

/** Canonical order: by dot (dots are unique per key), then by past. */
function versionOrder(a: DottedVersion, b: DottedVersion): number {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  if (a[1] !== b[1]) return a[1] - b[1];
  return clockSortOrder(a[2], b[2]);
}

/**
 * Dotted version vector conflict resolution: like vector clocks, concurrent writes survive as
 * siblings, but each sibling keeps the one event (the dot) that wrote it apart from its causal
 * past. A write removes exactly the siblings whose dots its client had read, so siblings are
 * bounded by the writes that were truly concurrent.
 *
 * Why it matters (DDIA ch. 5, Riak's "sibling explosion"): with per-coordinator vector clocks,
 * two clients writing one key through the same coordinator cannot be told apart; the
 * `vector-clock` resolver keeps the write the second client did not read by re-stamping it
 * with the new clock, and from then on no client's context can remove it, since every
 * re-stamped sibling carries the newest clock. Under many clients and retries the siblings
 * grow with every interleaving. Here a client that read a sibling removes it however many
 * writes came through the same coordinator since.
 *
 * The context handed to clients is the vector clock of everything a read saw (dots and pasts),
 * as in the paper's client-side version vectors.
 *
 * @example
 * ```ts
 * const dvv = new DottedVersionVectorResolver();
 * const a = dvv.write([], { value: encodeText("a"), context: undefined, node: "n1", timestamp: 0 });
 * const b = dvv.write(a, { value: encodeText("b"), context: undefined, node: "n1", timestamp: 1 });
 * b.length; // 2: b did not read a
 * ```
 */
export class DottedVersionVectorResolver implements ConflictResolver<DottedVersion, VectorClock> {
  readonly name = "dotted-version-vector";
  readonly keepsConcurrentWrites = true;

  write(local: SiblingSet<DottedVersion>, stamp: WriteStamp<VectorClock>): Sibling<DottedVersion>[] {
    const context = stamp.context === undefined ? [] : admitContext(stamp.context, this.context(local), stamp.isMember);
    // The new dot's counter is above every counter this coordinator issued for the key: each
    // of its dots is in its local record, or in the past of a sibling that superseded it.
    let counter = clockEntry(context, stamp.node);
    for (const s of local) {
      const [node, c, past] = s.version;
      if (node === stamp.node) counter = Math.max(counter, c);
      counter = Math.max(counter, clockEntry(past, stamp.node));
    }
    const next: Sibling<DottedVersion>[] = [{ value: stamp.value, version: [stamp.node, counter + 1, context] }];
    for (const s of local) if (!dotIn(s.version[0], s.version[1], context)) next.push(s);
    return canonicalSiblings(next, versionOrder);
  }

  merge(a: SiblingSet<DottedVersion>, b: SiblingSet<DottedVersion>): Sibling<DottedVersion>[] {
    return mergeSiblings(a, b, dotDominated, versionOrder);
  }

  compare(a: DottedVersion, b: DottedVersion): Ordering {
    if (a[0] === b[0] && a[1] === b[1]) return "equal";
    if (dotIn(a[0], a[1], b[2])) return "before";
    if (dotIn(b[0], b[1], a[2])) return "after";
    return "concurrent";
  }

  context(siblings: SiblingSet<DottedVersion>): VectorClock {
    let clock: VectorClock = [];
    for (const { version: [node, counter, past] } of siblings) {
      clock = mergeClocks(clock, past);
      if (clockEntry(clock, node) < counter) clock = setClockEntry(clock, node, counter);
    }
    return clock;
  }

  covers(context: VectorClock, seen: VectorClock): boolean {
    return clockLeq(seen, context);
  }

  parseContext(data: unknown): VectorClock {
    // Contexts are plain version vectors; per-entry times belong to pruned vector clocks only.
    if (!isVectorClock(data) || data.some((entry) => entry.length !== 2)) {
      throw new InvalidContextError("expected a version vector: [node, counter] pairs sorted by node");
    }
    return data;
  }
}

/** Options of {@link DottedVersionVectorResolver} (none yet). */
export type DottedVersionVectorOptions = Record<string, never>;

/** The dotted-version-vector plugin. */
export const dottedVersionVectorPlugin: Plugin<DottedVersionVectorOptions, "resolver", undefined> = definePlugin({
  family: "resolver",
  name: "dotted-version-vector",
  description: "Siblings kept per write event (dot) with their causal past; bounded by truly concurrent writes, not by interleavings.",
  options: z.object({}).strict() as z.ZodType<DottedVersionVectorOptions, unknown>,
  create: () => new DottedVersionVectorResolver(),
});

/**
 * Chooses dotted-version-vector conflict resolution.
 *
 * @example
 * ```ts
 * const cluster = await store().use(dottedVersionVector()).cluster();
 * ```
 */
export function dottedVersionVector(): PluginChoice<DottedVersionVectorOptions> {
  return choose(dottedVersionVectorPlugin) as PluginChoice<DottedVersionVectorOptions>;
}
