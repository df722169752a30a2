/**
 * The random nemesis (after Jepsen's): a fault schedule drawn from the run's seed instead of
 * written out, `"faults": { "random": { "every": "2s", "until": "20s", ... } }`. What it draws
 * becomes ordinary fault events (sim/nemesis.ts), applied and recorded like any others.
 *
 * @module
 */
import { z } from "zod";
import { InvalidConfigError } from "../core/errors.ts";
import type { Random } from "../core/interfaces/random.ts";
import type { NodeId } from "../core/model/sibling.ts";
import type { FaultEvent } from "./nemesis.ts";

/** The kinds of fault the random nemesis draws from. */
export const RANDOM_FAULT_KINDS = ["partition", "crash", "pause", "skew", "drift", "loss", "slow-disk", "disk-fail"] as const;

/**
 * The kinds a random nemesis draws from when it names none: all but the disk faults, which only
 * matter to an engine on the node's simulated disk (`lsm`) and are asked for by name.
 */
export const DEFAULT_RANDOM_FAULT_KINDS: readonly RandomFaultKind[] = ["partition", "crash", "pause", "skew", "drift", "loss"];

/** One of {@link RANDOM_FAULT_KINDS}. */
export type RandomFaultKind = (typeof RANDOM_FAULT_KINDS)[number];

/**
 * A fault schedule drawn from the run's seed (Jepsen's "random nemesis"). From `from` to `until`,
 * a fault starts every `every` ms, of a kind drawn from `kinds` among those it may start then,
 * and lasts a time drawn from `lasting`, cut short at `until`: whatever it starts, it also ends,
 * so the cluster is whole again by `until`. Faults overlap when they last longer than `every`.
 *
 * What each kind does, and how it ends:
 * - `partition`: the nodes split in two groups at a random point of a random order (`heal`).
 *   One partition at a time.
 * - `crash`, `pause`: a node that is up (`restart`, `resume`). At most `maxDown` nodes are
 *   crashed or paused at once, and a node that came back is not taken down again in the same slot.
 * - `skew`: a node's clock steps 50 ms to 1 s ahead or behind (`skew NODE 0ms`).
 * - `drift`: a node's clock runs 1% to 10% fast or slow (`drift NODE 0`, then `skew NODE 0ms`,
 *   which steps it back to virtual time). One clock fault per node at a time.
 * - `loss`: every link loses 5% to 30% of its messages (`loss 0`). One at a time.
 * - `slow-disk`: a node's fsyncs take 5 to 50 times as long (`disk-repair NODE`);
 * - `disk-fail`: a node's disk fails every write and fsync with `EIO` (`disk-repair NODE`; the
 *   `lsm` engine then refuses writes until the node restarts, so pair it with `crash`). One disk
 *   fault per node at a time; neither is drawn unless named in `kinds`.
 */
export interface RandomNemesis {
  /** Time from the start of one fault to the start of the next, ms. */
  readonly every: number;
  /** When the first fault starts, ms from the moment the clients start. Default: `every`. */
  readonly from: number;
  /** Every fault has ended by then, ms; none starts at or after it. */
  readonly until: number;
  /** How long each fault lasts, drawn uniformly, ms. Default `every / 2` to `2 × every`. */
  readonly lasting: {
    /** Shortest, ms. */
    readonly min: number;
    /** Longest, ms. */
    readonly max: number;
  };
  /** The kinds to draw from, each as likely as the others. Default: {@link DEFAULT_RANDOM_FAULT_KINDS}. */
  readonly kinds: readonly RandomFaultKind[];
  /** Most nodes crashed or paused at the same time (partitions do not count). Default 1. */
  readonly maxDown: number;
}

/** A scenario's `faults` that asks for the random nemesis: `{ "random": { ... } }`. */
export interface RandomSchedule {
  /** The nemesis. */
  readonly random: RandomNemesis;
}

/** The label of the random stream the nemesis forks from the run's Random. */
export const NEMESIS_STREAM = "nemesis";

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s)$/;

/** Ms as a number, or a string such as `"2s"` or `"500ms"`. */
const duration = z.unknown().transform((raw, ctx) => {
  const m = typeof raw === "string" ? DURATION.exec(raw.trim()) : null;
  const ms = typeof raw === "number" ? raw : m ? Number(m[1]) * (m[2] === "s" ? 1000 : 1) : NaN;
  if (Number.isFinite(ms) && ms >= 0) return ms;
  ctx.addIssue({ code: "custom", message: `expected ms (a number) or a duration such as "2s" or "500ms", got ${JSON.stringify(raw)}` });
  return z.NEVER;
});

/** Validates a {@link RandomNemesis} (durations as ms or `"2s"`), filling in its defaults. */
export const randomNemesisSchema: z.ZodType<RandomNemesis, unknown> = z
  .object({
    every: duration,
    from: duration.optional(),
    until: duration,
    lasting: z.union([z.object({ min: duration, max: duration }).strict(), duration]).optional(),
    kinds: z
      .array(z.enum(RANDOM_FAULT_KINDS))
      .min(1)
      .refine((kinds) => new Set(kinds).size === kinds.length, "each kind once")
      .optional(),
    maxDown: z.number().int().min(0).default(1),
  })
  .strict()
  .transform((spec, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: "custom", path: [path], message });
    const every = spec.every;
    const from = spec.from ?? every;
    const lasting = spec.lasting === undefined
      ? { min: every / 2, max: every * 2 }
      : typeof spec.lasting === "number"
      ? { min: spec.lasting, max: spec.lasting }
      : spec.lasting;
    if (!(every > 0)) {
      issue("every", "must be above 0");
      return z.NEVER;
    }
    if (!(spec.until > from)) issue("until", `must come after the first fault (${from} ms)`);
    if (!(lasting.min >= 1)) issue("lasting", "a fault must last at least 1 ms");
    if (!(lasting.min <= lasting.max)) issue("lasting", "min must not exceed max");
    const kinds = spec.kinds ?? DEFAULT_RANDOM_FAULT_KINDS;
    if (spec.maxDown === 0 && kinds.every((k) => k === "crash" || k === "pause")) {
      issue("maxDown", "with maxDown 0 no crash or pause may start, and those are the only kinds");
    }
    return { every, from, until: spec.until, lasting, kinds, maxDown: spec.maxDown };
  });

/** Validates a scenario's `{ "random": ... }` faults. */
export const randomScheduleSchema: z.ZodType<RandomSchedule, unknown> = z.object({ random: randomNemesisSchema }).strict();

/**
 * Draws the random nemesis's events for `nodes` (see {@link RandomNemesis}) from its own stream,
 * forked from `random` with the label {@link NEMESIS_STREAM}: the same seed gives the same faults
 * to every config of a comparison that has the same nodes, and no other draw of the run moves.
 *
 * @param random the run's randomness (`runtime.random`)
 * @throws {InvalidConfigError} if `maxDown` would let every node be down at once
 *
 * @example
 * ```ts
 * const spec = randomNemesisSchema.parse({ every: "2s", until: "20s", kinds: ["crash", "pause"] });
 * const events = randomFaults(spec, ["n1", "n2", "n3", "n4", "n5"], virtualRuntime(7).random);
 * ```
 */
export function randomFaults(spec: RandomNemesis, nodes: readonly NodeId[], random: Random): FaultEvent[] {
  const takesDown = spec.kinds.some((k) => k === "crash" || k === "pause");
  if (nodes.length === 0) {
    throw new InvalidConfigError([{ path: "faults.random", message: "the random nemesis needs the cluster's nodes" }]);
  }
  if (takesDown && spec.maxDown >= nodes.length) {
    throw new InvalidConfigError([{
      path: "faults.random.maxDown",
      message: `${spec.maxDown} would let all ${nodes.length} nodes be down at once; at most ${nodes.length - 1}`,
    }]);
  }
  const r = random.fork(NEMESIS_STREAM);
  const events: FaultEvent[] = [];
  const never = -Infinity;
  /** When each node's last crash or pause ends, and its last clock fault. */
  const downUntil = new Map<NodeId, number>();
  const clockUntil = new Map<NodeId, number>();
  const diskUntil = new Map<NodeId, number>();
  let networkUntil = never;
  let lossUntil = never;
  const pick = <T>(list: readonly T[]): T => list[r.int(list.length)]!;
  const sign = () => (r.int(2) === 0 ? 1 : -1);
  for (let start = spec.from; start < spec.until; start += spec.every) {
    const down = nodes.filter((n) => (downUntil.get(n) ?? never) > start).length;
    // A node that came back at `start` is still starting; it is not taken down again then.
    const up = nodes.filter((n) => (downUntil.get(n) ?? never) < start);
    const clockFree = nodes.filter((n) => (clockUntil.get(n) ?? never) <= start);
    const diskFree = nodes.filter((n) => (diskUntil.get(n) ?? never) <= start);
    const possible = spec.kinds.filter((kind) => {
      switch (kind) {
        case "partition":
          return nodes.length >= 2 && networkUntil <= start;
        case "loss":
          return lossUntil <= start;
        case "crash":
        case "pause":
          return down < spec.maxDown && up.length > 0;
        case "skew":
        case "drift":
          return clockFree.length > 0;
        case "slow-disk":
        case "disk-fail":
          return diskFree.length > 0;
      }
    });
    if (possible.length === 0) continue;
    const kind = pick(possible);
    const end = Math.min(spec.until, start + Math.round(spec.lasting.min + r.next() * (spec.lasting.max - spec.lasting.min)));
    switch (kind) {
      case "partition": {
        const order = [...nodes];
        for (let i = order.length - 1; i > 0; i--) {
          const j = r.int(i + 1);
          [order[i], order[j]] = [order[j]!, order[i]!];
        }
        const cut = 1 + r.int(nodes.length - 1);
        const side = new Set(order.slice(0, cut));
        events.push({
          at: start,
          action: "partition",
          groups: [nodes.filter((n) => side.has(n)), nodes.filter((n) => !side.has(n))],
        });
        events.push({ at: end, action: "heal" });
        networkUntil = end;
        break;
      }
      case "loss":
        events.push({ at: start, action: "loss", probability: (5 + r.int(26)) / 100 });
        events.push({ at: end, action: "loss", probability: 0 });
        lossUntil = end;
        break;
      case "crash":
      case "pause": {
        const node = pick(up);
        events.push({ at: start, action: kind, node });
        events.push({ at: end, action: kind === "crash" ? "restart" : "resume", node });
        downUntil.set(node, end);
        break;
      }
      case "skew": {
        const node = pick(clockFree);
        events.push({ at: start, action: "skew", node, offsetMs: sign() * (50 + r.int(951)) });
        events.push({ at: end, action: "skew", node, offsetMs: 0 });
        clockUntil.set(node, end);
        break;
      }
      case "drift": {
        const node = pick(clockFree);
        events.push({ at: start, action: "drift", node, rate: (sign() * (1 + r.int(10))) / 100 });
        events.push({ at: end, action: "drift", node, rate: 0 });
        events.push({ at: end, action: "skew", node, offsetMs: 0 });
        clockUntil.set(node, end);
        break;
      }
      case "slow-disk":
      case "disk-fail": {
        const node = pick(diskFree);
        events.push(kind === "slow-disk" ? { at: start, action: kind, node, factor: 5 + r.int(46) } : { at: start, action: kind, node });
        events.push({ at: end, action: "disk-repair", node });
        diskUntil.set(node, end);
        break;
      }
    }
  }
  return events;
}
