/**
 * Last-write-wins: one value per key, the one with the highest timestamp (Cassandra's model).
 *
 * @module
 */
import { z } from "zod";
import { InvalidContextError } from "../../core/errors.ts";
import { choose, definePlugin, type Plugin, type PluginChoice } from "../../core/build/plugin.ts";
import { type ConflictResolver, type Ordering, type WriteStamp } from "../../core/interfaces/conflict-resolver.ts";
import type { Sibling, SiblingSet } from "../../core/model/sibling.ts";
import { compareValues } from "./sibling-order.ts";

/**
 * A last-write-wins version: the coordinator's timestamp (ms) and its node id. Ordered by
 * timestamp, then node id, so every replica picks the same winner.
 */
export type LwwVersion = readonly [timestamp: number, node: string];

/** The context of a last-write-wins read: the winning version, or null if nothing was read. */
export type LwwContext = LwwVersion | null;

/** Total order of two versions: timestamp, then node id. */
export function compareLww(a: LwwVersion, b: LwwVersion): number {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  return a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0;
}

/**
 * Last-write-wins conflict resolution: of two concurrent writes exactly one survives, the
 * same on every replica; the other is silently discarded. Simple and compact (one value, a
 * 2-field version), and the reason Jepsen found Cassandra and Riak-with-LWW losing acknowledged
 * writes under partitions.
 *
 * Better than a bare wall-clock timestamp: a write stamps `max(clock, context + 1, local + 1)`,
 * so a read-modify-write always supersedes what it read and a coordinator's successive writes
 * always increase, even when its clock lags the writer it read from.
 *
 * @example
 * ```ts
 * const lww = new LastWriteWins();
 * const x = lww.write([], { value: encodeText("x"), context: undefined, node: "n1", timestamp: 5 });
 * lww.merge(x, lww.write([], { value: encodeText("y"), context: undefined, node: "n2", timestamp: 5 })).length; // 1
 * ```
 */
export class LastWriteWins implements ConflictResolver<LwwVersion, LwwContext> {
  readonly name = "last-write-wins";
  readonly keepsConcurrentWrites = false;

  write(local: SiblingSet<LwwVersion>, stamp: WriteStamp<LwwContext>): Sibling<LwwVersion>[] {
    const now = Math.floor(stamp.timestamp);
    let stored = -Infinity;
    for (const s of local) stored = Math.max(stored, s.version[0]);
    let timestamp = Math.max(now, stored + 1);
    if (stamp.context) {
      const read = stamp.context[0];
      // A context is untrusted: one from far in the future (a forged 2^53, say) would pin the
      // key's timestamp where later writes can no longer pass it. Stored versions are trusted.
      if (read > stored && read > now + MAX_FUTURE_MS) {
        throw new InvalidContextError(`timestamp ${read} is more than ${MAX_FUTURE_MS} ms ahead of this node's clock`);
      }
      timestamp = Math.max(timestamp, read + 1);
    }
    return [{ value: stamp.value, version: [timestamp, stamp.node] }];
  }

  merge(a: SiblingSet<LwwVersion>, b: SiblingSet<LwwVersion>): Sibling<LwwVersion>[] {
    let winner: Sibling<LwwVersion> | undefined;
    for (const s of a) if (!winner || beats(s, winner)) winner = s;
    for (const s of b) if (!winner || beats(s, winner)) winner = s;
    return winner ? [winner] : [];
  }

  compare(a: LwwVersion, b: LwwVersion): Ordering {
    const c = compareLww(a, b);
    return c < 0 ? "before" : c > 0 ? "after" : "equal";
  }

  context(siblings: SiblingSet<LwwVersion>): LwwContext {
    let best: LwwVersion | null = null;
    for (const s of siblings) if (best === null || compareLww(s.version, best) > 0) best = s.version;
    return best;
  }

  covers(context: LwwContext, seen: LwwContext): boolean {
    if (seen === null) return true;
    return context !== null && compareLww(context, seen) >= 0;
  }

  parseContext(data: unknown): LwwContext {
    if (data === null) return null;
    if (isLwwVersion(data)) return data;
    throw new InvalidContextError("expected a last-write-wins version [timestamp, node]");
  }
}

/** `a` wins over `b`: higher version; on an (impossible in practice) tie, the larger value. */
function beats(a: Sibling<LwwVersion>, b: Sibling<LwwVersion>): boolean {
  const c = compareLww(a.version, b.version);
  if (c !== 0) return c > 0;
  // Equal versions mean the same write; compare values anyway so the winner never depends on
  // argument order.
  return compareValues(a.value, b.value) > 0;
}

function isLwwVersion(v: unknown): v is LwwVersion {
  // Timestamps are whole milliseconds (stamps are floored), so a safe integer: past 2^53, +1 no longer advances.
  return Array.isArray(v) && v.length === 2 && Number.isSafeInteger(v[0]) && typeof v[1] === "string";
}

/**
 * How far ahead of the coordinator's clock a context's timestamp may be, unless the key's
 * stored version already holds it: one day, far beyond any clock skew a cluster should run with.
 */
const MAX_FUTURE_MS = 24 * 60 * 60 * 1000;

/** Options of {@link LastWriteWins} (none yet). */
export type LastWriteWinsOptions = Record<string, never>;

/** The last-write-wins plugin. */
export const lastWriteWinsPlugin: Plugin<LastWriteWinsOptions, "resolver", undefined> = definePlugin({
  family: "resolver",
  name: "last-write-wins",
  description: "One value per key, highest timestamp wins; concurrent writes are silently dropped.",
  options: z.object({}).strict() as z.ZodType<LastWriteWinsOptions, unknown>,
  create: () => new LastWriteWins(),
});

/**
 * Chooses last-write-wins conflict resolution.
 *
 * @example
 * ```ts
 * const cluster = await store().use(lastWriteWins()).cluster();
 * ```
 */
export function lastWriteWins(): PluginChoice<LastWriteWinsOptions> {
  return choose(lastWriteWinsPlugin) as PluginChoice<LastWriteWinsOptions>;
}
