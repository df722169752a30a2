/**
 * The conformance suite every {@link Partitioner} must pass: the contract written on the
 * interface, checked as fast-check properties over random member sets (ids, weights, zones,
 * datacenters) and keys. Every bundled partitioner plugin runs it (test/partitioners.test.ts).
 *
 * @example
 * ```ts
 * partitionerSuite({ plugin: jumpHashPlugin }); // what the plugin declares decides what is checked
 * partitionerSuite({ name: "my-ring", create: () => new MyRing(), supports: { minimalMovement: false } });
 * ```
 *
 * @module
 */
import { describe, it } from "./bdd.ts";
import { assert, assertEquals, assertInstanceOf, assertThrows } from "./assert.ts";
import fc from "fast-check";
import { InvalidConfigError } from "../../core/errors.ts";
import { rangeContains, rangeMoves } from "../../core/interfaces/partitioner.ts";
import type { MemberInfo, Partitioner, TokenRange } from "../../core/interfaces/partitioner.ts";
import { virtualRuntime } from "../../core/runtime/runtime.ts";
import type { TopologyOptions } from "../../core/model/placement.ts";
import { checkPlugin, createShared, createStandalone, type PluginSuiteOptions, rawObject } from "./plugin-under-test.ts";

/** Size of the token space. */
const RING_SIZE = 2 ** 32;

/** What a partitioner under test claims, so the suite skips what it does not promise. */
export interface PartitionerCapabilities {
  /**
   * Consistent hashing's minimal movement (Dynamo §4.2): when a node joins, every key's order
   * of the *other* nodes stays the same; the newcomer is only inserted into it. So a key's
   * primary either stays or becomes the newcomer, and only the newcomer gains ranges. True for
   * hash rings and rendezvous hashing; a fixed-partition ring whose claim algorithm reshuffles
   * partitions between old members would say `false`. Default `true`.
   */
  readonly minimalMovement?: boolean;
  /**
   * A join or a leave moves about the ideal share of keys (the newcomer's, or the leaver's),
   * wherever the member sorts among the others: true for hash rings, rendezvous hashing and a
   * fixed-partition ring that claims from its previous table; a positional scheme (jump
   * consistent hash over members in id order) moves many more when a member in the middle
   * joins or leaves, and says `false`. Default `true`.
   */
  readonly boundedMovement?: boolean;
}

/**
 * The plugin form of {@link partitionerSuite}: the suite creates each partitioner with
 * `plugin.create` from a standalone context, and reads `capabilities.minimalMovement` and
 * `capabilities.datacenterReplicas` (then it passes `topology: { replicasPerDatacenter }` in
 * the options).
 */
export type PartitionerPluginSuiteOptions = PluginSuiteOptions<"partitioner">;

/** The factory form of {@link partitionerSuite}, for a partitioner made in code. */
export interface PartitionerSuiteOptions {
  /** Name shown in the test report. */
  readonly name: string;
  /** A fresh partitioner with no members (the options under test baked in). */
  readonly create: () => Partitioner;
  /** A fresh partitioner with these topology options (per-datacenter replicas). */
  readonly createWithTopology?: (topology: TopologyOptions) => Partitioner;
  /** What the partitioner claims beyond the interface's contract. */
  readonly supports?: PartitionerCapabilities;
}

// ---- arbitraries -------------------------------------------------------------------------

const nodeId = fc.string({ minLength: 1, maxLength: 6 });
/** A weight, or none (counts as 1). Tiny weights exercise "at least one share" rounding. */
const weight = fc.option(fc.double({ min: 0.01, max: 2, noNaN: true, noDefaultInfinity: true }), { nil: undefined });
/** Some members carry a rack and a datacenter, so every property also holds with placement on. */
const zone = fc.option(fc.constantFrom("r1", "r2", "r3"), { nil: undefined });
const datacenter = fc.option(fc.constantFrom("dc1", "dc2"), { nil: undefined });
const member = fc.record({ id: nodeId, weight, zone, datacenter }, { requiredKeys: ["id"] }).map(
  // Drop undefined fields: a member reads back exactly as given.
  (m) => Object.fromEntries(Object.entries(m).filter(([, v]) => v !== undefined)) as unknown as MemberInfo,
);
/** 1 to 6 members with distinct ids. */
const members = fc.uniqueArray(member, { selector: (m) => m.id, minLength: 1, maxLength: 6 });
/** Members without zones or datacenters (placement off): where movement is exactly minimal. */
const unlabelled = (ms: readonly MemberInfo[]): MemberInfo[] =>
  ms.map((m) => (m.weight === undefined ? { id: m.id } : { id: m.id, weight: m.weight }));
const key = fc.string({ minLength: 1, maxLength: 16, unit: "grapheme" });
const keys = fc.array(key, { minLength: 1, maxLength: 30 });
/** Members plus the same members in another order. */
const membersTwice = members.chain((ms) =>
  fc.tuple(fc.constant(ms), fc.shuffledSubarray(ms, { minLength: ms.length, maxLength: ms.length }))
);
/** Members plus one more member whose id is not among them. */
const membersAndNewcomer = members.chain((ms) =>
  fc.tuple(
    fc.constant(ms),
    fc.record({ id: nodeId.filter((id) => !ms.some((m) => m.id === id)), weight }, { requiredKeys: ["id"] }),
  )
);

// ---- helpers -----------------------------------------------------------------------------

function withMembers(create: () => Partitioner, ms: readonly MemberInfo[]): Partitioner {
  const p = create();
  p.setMembers(ms);
  return p;
}

/** Clockwise length of `(start, end]`; `start === end` is the whole ring. */
function arc(range: TokenRange): number {
  return range.start === range.end ? RING_SIZE : (range.end - range.start + RING_SIZE) % RING_SIZE;
}

function isPrefix<T>(prefix: readonly T[], of: readonly T[]): boolean {
  return prefix.length <= of.length && prefix.every((x, i) => x === of[i]);
}

function holding(ranges: readonly TokenRange[], token: number): TokenRange[] {
  return ranges.filter((r) => rangeContains(r, token));
}

/** Sorted copy, for comparing replica *sets*. */
function sorted(ids: readonly string[]): string[] {
  return [...ids].sort();
}

/** The factory form of a plugin: partitioners its plugin creates, and what it declares. */
function fromPlugin(given: PartitionerPluginSuiteOptions): PartitionerSuiteOptions {
  const checked = checkPlugin("partitionerSuite", "partitioner", given);
  const { plugin } = checked;
  const runtime = virtualRuntime(1);
  const build = (options: unknown) => {
    const withOptions = { ...checked, options };
    return createStandalone(withOptions, { runtime, shared: createShared(withOptions, runtime, []) });
  };
  return {
    name: checked.name,
    create: () => build(checked.options),
    createWithTopology: plugin.capabilities.datacenterReplicas
      ? (topology) => build(plugin.parseOptions({ ...rawObject(given.options), topology }))
      : undefined,
    supports: {
      minimalMovement: plugin.capabilities.minimalMovement ?? false,
      boundedMovement: plugin.capabilities.boundedMovement ?? false,
    },
  };
}

/**
 * Registers the partitioner conformance suite for one implementation: a plugin (what it
 * declares in `capabilities` decides what is checked), or a factory with what it claims.
 *
 * @example
 * ```ts
 * partitionerSuite({ plugin: consistentHashPlugin });
 * partitionerSuite({ plugin: consistentHashPlugin, options: { vnodes: 8 } });
 * ```
 */
export function partitionerSuite(suite: PartitionerPluginSuiteOptions | PartitionerSuiteOptions): void {
  const options = "plugin" in suite ? fromPlugin(suite) : suite;
  const { name, create } = options;
  const minimalMovement = options.supports?.minimalMovement ?? true;
  const boundedMovement = options.supports?.boundedMovement ?? true;

  describe(`Partitioner conformance: ${name}`, () => {
    it("has empty preference lists and no ranges without members", () => {
      const p = create();
      assertEquals(p.members, []);
      assertEquals(p.preferenceList("k", 3), []);
      assertEquals(p.ranges(3), []);
      p.setMembers([{ id: "a" }, { id: "b" }]);
      p.setMembers([]);
      assertEquals(p.members, []);
      assertEquals(p.preferenceList("k", 3), []);
      assertEquals(p.ranges(1), []);
    });

    it("maps a key to the same 32-bit token on every instance", () => {
      const a = create();
      const b = withMembers(create, [{ id: "a" }]);
      fc.assert(
        fc.property(key, (k) => {
          const t = a.token(k);
          assert(Number.isInteger(t) && t >= 0 && t < RING_SIZE, `token ${t} out of range`);
          assertEquals(b.token(k), t);
        }),
      );
    });

    it("reports members in the order given", () => {
      fc.assert(
        fc.property(members, (ms) => {
          assertEquals(withMembers(create, ms).members, ms);
        }),
        { numRuns: 20 },
      );
    });

    it("places keys the same on every instance, whatever the order or history of membership", () => {
      fc.assert(
        fc.property(membersTwice, members, keys, ([ms, shuffled], other, ks) => {
          const a = withMembers(create, ms);
          const b = withMembers(create, shuffled);
          // History must not matter either: only the last membership counts.
          const c = withMembers(create, other);
          c.setMembers(ms);
          for (const k of ks) {
            const list = a.preferenceList(k, ms.length);
            assertEquals(b.preferenceList(k, ms.length), list, `order changed placement of ${JSON.stringify(k)}`);
            assertEquals(c.preferenceList(k, ms.length), list, `history changed placement of ${JSON.stringify(k)}`);
          }
          const ranges = a.ranges(2);
          assertEquals(b.ranges(2), ranges);
          assertEquals(c.ranges(2), ranges);
        }),
        { numRuns: 30 },
      );
    });

    it("gives distinct members, min(count, members) of them, a longer list extending a shorter one", () => {
      fc.assert(
        fc.property(members, keys, (ms, ks) => {
          const p = withMembers(create, ms);
          const ids = new Set(ms.map((m) => m.id));
          for (const k of ks) {
            const full = p.preferenceList(k, ms.length + 2);
            assertEquals(full.length, ms.length);
            assertEquals(new Set(full).size, full.length, `duplicate node in ${JSON.stringify(full)}`);
            assert(full.every((id) => ids.has(id)), `non-member in ${JSON.stringify(full)}`);
            for (let count = 0; count <= ms.length; count++) {
              const list = p.preferenceList(k, count);
              assertEquals(list.length, count);
              assert(isPrefix(list, full), `list of ${count} ${JSON.stringify(list)} is not a prefix of ${JSON.stringify(full)}`);
            }
          }
        }),
        { numRuns: 50 },
      );
    });

    it("divides the ring into ranges covering every token exactly once, in ascending order", () => {
      fc.assert(
        fc.property(members, fc.integer({ min: 1, max: 7 }), (ms, n) => {
          const ranges = withMembers(create, ms).ranges(n);
          assert(ranges.length > 0, "no ranges with members");
          let total = 0;
          for (let i = 0; i < ranges.length; i++) {
            const r = ranges[i]!;
            const previous = ranges[(i + ranges.length - 1) % ranges.length]!;
            assert(Number.isInteger(r.end) && r.end >= 0 && r.end < RING_SIZE, `end ${r.end} out of range`);
            if (i > 0) assert(r.end > previous.end, `ends not ascending at ${i}`);
            // Each range starts where the one before it (counter-clockwise) ends: no gap, no overlap.
            assertEquals(r.start, previous.end, `range ${i} does not start at the previous end`);
            assertEquals(r.replicas.length, Math.min(n, ms.length));
            assertEquals(new Set(r.replicas).size, r.replicas.length);
            total += arc(r);
          }
          assertEquals(total, RING_SIZE);
          // Boundaries belong to exactly one range: an end to its own range, the token after it
          // to the next one. (A sample: the arithmetic above already proves the cover.)
          const step = Math.max(1, Math.floor(ranges.length / 16));
          for (let i = 0; i < ranges.length; i += step) {
            const r = ranges[i]!;
            assertEquals(holding(ranges, r.end), [r]);
            assertEquals(holding(ranges, (r.end + 1) % RING_SIZE).length, 1);
          }
        }),
        { numRuns: 40 },
      );
    });

    it("gives a key the replicas of the range holding its token", () => {
      fc.assert(
        fc.property(members, keys, fc.integer({ min: 1, max: 7 }), (ms, ks, n) => {
          const p = withMembers(create, ms);
          const ranges = p.ranges(n);
          for (const k of ks) {
            const containing = holding(ranges, p.token(k));
            assertEquals(containing.length, 1, `token of ${JSON.stringify(k)} in ${containing.length} ranges`);
            assertEquals(p.preferenceList(k, n), containing[0]!.replicas);
          }
        }),
        { numRuns: 40 },
      );
    });

    it("rejects duplicate ids and bad weights, leaving the membership unchanged", () => {
      const bad = fc.constantFrom(0, -1, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY);
      fc.assert(
        fc.property(members, bad, keys, fc.boolean(), (ms, w, ks, duplicate) => {
          const p = withMembers(create, ms);
          const before = ks.map((k) => p.preferenceList(k, 3));
          const invalid: MemberInfo[] = duplicate ? [...ms, { id: ms[0]!.id }] : [...ms.slice(1), { id: ms[0]!.id, weight: w }];
          const error = assertThrows(() => p.setMembers(invalid));
          assertInstanceOf(error, InvalidConfigError);
          assertEquals(error.code, "RINGFORGE_INVALID_CONFIG");
          assert(
            error.issues.some((i) => i.path.includes(ms[0]!.id)),
            `no issue names node ${ms[0]!.id}: ${error.message}`,
          );
          assertEquals(p.members, ms);
          assertEquals(ks.map((k) => p.preferenceList(k, 3)), before);
        }),
        { numRuns: 30 },
      );
    });

    if (minimalMovement) {
      it("on a join, only inserts the newcomer into each key's order (and a leave only removes it)", () => {
        fc.assert(
          fc.property(membersAndNewcomer, keys, ([labelled, newcomerLabelled], ks) => {
            const [ms, [newcomer]] = [unlabelled(labelled), unlabelled([newcomerLabelled])] as const;
            const before = withMembers(create, ms);
            const after = withMembers(create, [...ms, newcomer!]);
            for (const k of ks) {
              const was = before.preferenceList(k, ms.length);
              const now = after.preferenceList(k, ms.length + 1);
              // The simplest consequence first: the primary stays or becomes the newcomer.
              assert(now[0] === was[0] || now[0] === newcomer!.id, `primary of ${JSON.stringify(k)} moved to ${now[0]}`);
              assertEquals(now.filter((id) => id !== newcomer!.id), was);
            }
          }),
          { numRuns: 50 },
        );
      });

      it("rangeMoves on a join names only the newcomer as gaining, on a leave only the leaver as losing", () => {
        fc.assert(
          fc.property(membersAndNewcomer, keys, fc.integer({ min: 1, max: 3 }), ([labelled, newcomerLabelled], ks, n) => {
            const [ms, [newcomer]] = [unlabelled(labelled), unlabelled([newcomerLabelled])] as const as [MemberInfo[], MemberInfo[]];
            const small = withMembers(create, ms);
            const large = withMembers(create, [...ms, newcomer!]);
            const before = small.ranges(n);
            const after = large.ranges(n);
            const joins = rangeMoves(before, after);
            assert(joins.length > 0, "the newcomer gained nothing");
            for (const move of joins) {
              assertEquals(move.gained, [newcomer!.id]);
              // It displaces the n-th replica, if there were n already.
              assertEquals(move.lost.length, ms.length >= n ? 1 : 0);
            }
            for (const move of rangeMoves(after, before)) {
              assertEquals(move.lost, [newcomer!.id]);
              assertEquals(move.gained.length, ms.length >= n ? 1 : 0);
            }
            // The moves are exactly the keys whose replica set changed.
            for (const k of ks) {
              const was = small.preferenceList(k, n);
              const now = large.preferenceList(k, n);
              const moved = joins.filter((m) => rangeContains(m, small.token(k)));
              if (sorted(was).join("\0") === sorted(now).join("\0")) {
                assertEquals(moved.length, 0, `${JSON.stringify(k)} kept its replicas but is in a move`);
              } else {
                assertEquals(moved.length, 1, `${JSON.stringify(k)} changed replicas but is in ${moved.length} moves`);
                assertEquals(sorted(moved[0]!.gained), sorted(now.filter((id) => !was.includes(id))));
                assertEquals(sorted(moved[0]!.lost), sorted(was.filter((id) => !now.includes(id))));
              }
            }
          }),
          { numRuns: 15 },
        );
      });
    }

    it("spreads a key's replicas over as many zones as there are", () => {
      const zoned = fc.uniqueArray(
        fc.record({ id: nodeId, weight, zone: fc.constantFrom("r1", "r2", "r3") }, { requiredKeys: ["id", "zone"] }),
        {
          selector: (m) => m.id,
          minLength: 3,
          maxLength: 9,
        },
      );
      fc.assert(
        fc.property(zoned, keys, fc.integer({ min: 1, max: 4 }), (ms, ks, n) => {
          const p = withMembers(create, ms);
          const zones = new Set(ms.map((m) => m.zone)).size;
          const zoneOf = new Map(ms.map((m) => [m.id, m.zone]));
          for (const k of ks) {
            const list = p.preferenceList(k, n);
            assertEquals(
              new Set(list.map((id) => zoneOf.get(id))).size,
              Math.min(n, zones),
              `${JSON.stringify(list)} for ${JSON.stringify(k)}`,
            );
          }
          for (const r of p.ranges(n)) assertEquals(new Set(r.replicas.map((id) => zoneOf.get(id))).size, Math.min(n, zones));
        }),
        { numRuns: 40 },
      );
    });

    if (options.createWithTopology) {
      const createWithTopology = options.createWithTopology;
      it("places the configured number of replicas in each datacenter", () => {
        const dcMembers = fc
          .tuple(fc.integer({ min: 3, max: 6 }), fc.integer({ min: 2, max: 5 }), fc.integer({ min: 0, max: 2 }))
          .map(([one, two, other]) => [
            ...Array.from({ length: one }, (_, i) => ({ id: `a${i}`, datacenter: "dc1", zone: `r${i % 3}` })),
            ...Array.from({ length: two }, (_, i) => ({ id: `b${i}`, datacenter: "dc2", zone: `r${i % 2}` })),
            ...Array.from({ length: other }, (_, i) => ({ id: `c${i}`, datacenter: "dc3", zone: "r0" })),
          ]);
        fc.assert(
          fc.property(dcMembers, keys, (ms, ks) => {
            const p = createWithTopology({ replicasPerDatacenter: { dc1: 3, dc2: 2 } });
            p.setMembers(ms);
            const dcOf = new Map(ms.map((m) => [m.id, m.datacenter]));
            const count = (list: readonly string[], dc: string) => list.filter((id) => dcOf.get(id) === dc).length;
            for (const k of ks) {
              const list = p.preferenceList(k, 5);
              assertEquals([count(list, "dc1"), count(list, "dc2")], [3, 2], JSON.stringify(list));
              // dc1's three replicas sit on its three racks.
              const racks = new Set(list.filter((id) => dcOf.get(id) === "dc1").map((id) => ms.find((m) => m.id === id)!.zone));
              assertEquals(racks.size, 3);
              // Walking further (sloppy quorum) extends the same list.
              assert(isPrefix(list, p.preferenceList(k, ms.length)));
            }
            for (const r of p.ranges(5)) assertEquals([count(r.replicas, "dc1"), count(r.replicas, "dc2")], [3, 2]);
          }),
          { numRuns: 30 },
        );
      });
    }

    it("honours weights: each member's share of keys follows its weight", () => {
      const ms: MemberInfo[] = ["a", "b", "c", "d", "e", "f"].map((id, i) => ({ id, weight: 1 + (i % 3) }));
      const p = withMembers(create, ms);
      const counts = new Map<string, number>();
      const keyCount = 30_000;
      for (let i = 0; i < keyCount; i++) {
        const [primary] = p.preferenceList(`key-${i}`, 1);
        counts.set(primary!, (counts.get(primary!) ?? 0) + 1);
      }
      const total = ms.reduce((sum, m) => sum + m.weight!, 0);
      for (const m of ms) {
        const share = (counts.get(m.id) ?? 0) / keyCount / (m.weight! / total);
        assert(share > 0.7 && share < 1.3, `${m.id} (weight ${m.weight}) holds ${share.toFixed(2)}x its weighted share`);
      }
    });

    if (create().nextLayout) {
      it("with a layout from nextLayout, a join or leave moves about the ideal share, the same on every instance", () => {
        const ten: MemberInfo[] = Array.from({ length: 10 }, (_, i) => ({ id: `node-${i}`, weight: 1 + (i % 3) }));
        const current = withMembers(create, ten);
        const grown = [...ten, { id: "node-new", weight: 2 }];
        const layout = current.nextLayout!(grown);
        const a = create();
        a.setMembers(grown, structuredClone(layout));
        const b = create();
        b.setMembers([...grown].reverse(), structuredClone(layout));
        const total = 20_000;
        let moved = 0;
        for (let i = 0; i < total; i++) {
          const k = `key-${i}`;
          assertEquals(a.preferenceList(k, 3), b.preferenceList(k, 3));
          if (current.preferenceList(k, 1)[0] !== a.preferenceList(k, 1)[0]) moved++;
        }
        const ideal = 2 / (ten.reduce((s, m) => s + m.weight!, 0) + 2);
        assert(moved / total < 1.15 * ideal, `a join moved ${(moved / total).toFixed(4)} of primaries; ideal ${ideal.toFixed(4)}`);
        // A leave hands over only the leaver's keys.
        const shrunk = ten.slice(1);
        const after = create();
        after.setMembers(shrunk, current.nextLayout!(shrunk));
        for (let i = 0; i < total; i++) {
          const was = current.preferenceList(`key-${i}`, 1)[0];
          if (was !== "node-0") assertEquals(after.preferenceList(`key-${i}`, 1)[0], was);
        }
      });

      it("refuses a layout that does not fit the members, changing nothing", () => {
        const ms: MemberInfo[] = [{ id: "a" }, { id: "b" }, { id: "c" }];
        const p = withMembers(create, ms);
        const before = p.preferenceList("k", 3);
        const layout = p.nextLayout!([...ms, { id: "d" }]);
        assertThrows(() => p.setMembers(ms, layout), InvalidConfigError);
        assertThrows(() => p.setMembers(ms, { nonsense: true }), InvalidConfigError);
        assertEquals(p.preferenceList("k", 3), before);
        assertEquals(p.members, ms);
      });
    }

    if (boundedMovement) {
      it("moves about the ideal share of keys when a node joins or leaves, wherever its id sorts", () => {
        const ten: MemberInfo[] = Array.from({ length: 10 }, (_, i) => ({ id: `node-${i}` }));
        const total = 20_000;
        const movedShare = (from: readonly MemberInfo[], to: readonly MemberInfo[]): number => {
          const before = withMembers(create, from);
          const after = withMembers(create, to);
          let moved = 0;
          for (let i = 0; i < total; i++) {
            if (before.preferenceList(`key-${i}`, 1)[0] !== after.preferenceList(`key-${i}`, 1)[0]) moved++;
          }
          return moved / total;
        };
        // Ideal: the newcomer's share, 1/11 of the keys (a join), or the leaver's, 1/10 (a leave),
        // for a member whose id sorts last, first or in the middle.
        for (const id of ["node-new", "node-00", "node-4a"]) {
          const ratio = movedShare(ten, [...ten, { id }]) / (1 / 11);
          assert(ratio < 1.25, `a join of ${id} moved ${ratio.toFixed(2)}x the ideal 9.1% of primaries`);
        }
        for (const leaver of ["node-9", "node-0", "node-4"]) {
          const ratio = movedShare(ten, ten.filter((m) => m.id !== leaver)) / (1 / 10);
          assert(ratio < 1.25, `a leave of ${leaver} moved ${ratio.toFixed(2)}x the ideal 10% of primaries`);
        }
      });
    }
  });
}
