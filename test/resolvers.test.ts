import { describe, it } from "@std/testing/bdd";
import { assert, assertEquals } from "@std/assert";
import fc from "fast-check";
import type { Sibling } from "../core/model/sibling.ts";
import { canonicalSiblings } from "../plugins/resolvers/sibling-order.ts";
import type { ConflictResolver } from "../core/interfaces/conflict-resolver.ts";
import { resolverPlugins } from "../plugins/resolvers/index.ts";
import {
  clockSortOrder,
  compareClocks,
  formatClock,
  mergeClocks,
  type VectorClock,
  VectorClockResolver,
} from "../plugins/resolvers/vector-clock.ts";
import { type DottedVersion, DottedVersionVectorResolver } from "../plugins/resolvers/dotted-version-vector.ts";
import { encodeText } from "../core/codec/bytes.ts";
import { conflictResolverSuite } from "../plugin-kit/testing/index.ts";

for (const plugin of resolverPlugins) conflictResolverSuite({ plugin });

describe("vector clock arithmetic", () => {
  it("compares as the chapter does", () => {
    assertEquals(compareClocks([["Sx", 1]], [["Sx", 2]]), "before");
    assertEquals(compareClocks([["Sx", 2], ["Sy", 1]], [["Sx", 2], ["Sz", 1]]), "concurrent");
    assertEquals(compareClocks([["Sx", 3], ["Sy", 1], ["Sz", 1]], [["Sx", 2], ["Sy", 1]]), "after");
    assertEquals(compareClocks([], []), "equal");
  });

  it("merges pointwise and formats like the chapter", () => {
    const merged = mergeClocks([["Sx", 2], ["Sy", 1]], [["Sx", 2], ["Sz", 1]]);
    assertEquals(formatClock(merged), "[Sx:2, Sy:1, Sz:1]");
  });
});

describe("many clients writing one key through one coordinator", () => {
  // Clients take turns through the one coordinator; each writes with the context it read right
  // after its own previous write, so it misses the other clients' writes since: at any time
  // the latest write of each client is concurrent with the others'.
  function interleaved(resolver: ConflictResolver, clients: number, steps: number): number {
    let record: readonly import("../core/model/sibling.ts").Sibling[] = [];
    const contexts: unknown[] = new Array(clients).fill(undefined);
    let most = 0;
    for (let step = 0; step < steps; step++) {
      const c = step % clients;
      record = resolver.write(record, { value: encodeText(`c${c}s${step}`), context: contexts[c], node: "n1", timestamp: step });
      contexts[c] = resolver.context(record);
      most = Math.max(most, record.filter((s) => s.value !== null).length);
    }
    return most;
  }

  it("dotted version vectors keep only the truly concurrent writes; vector clocks pile up", () => {
    const dvv = interleaved(new DottedVersionVectorResolver(), 5, 50);
    const vc = interleaved(new VectorClockResolver(), 5, 50);
    // Each client's latest write is concurrent with the other four: at most 5 siblings.
    assertEquals(dvv, 5);
    // Vector clocks re-stamp what a client did not read, so its next context cannot remove it.
    assertEquals(vc, 50);
  });
});

describe("vector-clock pruning", () => {
  it("drops the least recently advanced entries past maxEntries, never the writer's own", () => {
    const resolver = new VectorClockResolver({ prune: { maxEntries: 2 } });
    let record = resolver.write([], { value: encodeText("a"), context: undefined, node: "a", timestamp: 1 });
    record = resolver.write(record, { value: encodeText("b"), context: resolver.context(record), node: "b", timestamp: 2 });
    record = resolver.write(record, { value: encodeText("c"), context: resolver.context(record), node: "c", timestamp: 3 });
    assertEquals(record.length, 1);
    assertEquals(record[0]!.version, [["b", 1, 2], ["c", 1, 3]]);
  });

  it("keeps entries younger than minAgeMs even past maxEntries", () => {
    const resolver = new VectorClockResolver({ prune: { maxEntries: 1, minAgeMs: 100 } });
    let record = resolver.write([], { value: encodeText("a"), context: undefined, node: "a", timestamp: 1 });
    record = resolver.write(record, { value: encodeText("b"), context: resolver.context(record), node: "b", timestamp: 50 });
    assertEquals(record[0]!.version.length, 2);
    record = resolver.write(record, { value: encodeText("c"), context: resolver.context(record), node: "b", timestamp: 200 });
    assertEquals(record[0]!.version, [["b", 2, 200]]);
  });

  it("costs a false conflict: a write that saw x, pruned of x's entry, no longer supersedes x", () => {
    const run = (resolver: VectorClockResolver) => {
      const x = resolver.write([], { value: encodeText("x"), context: undefined, node: "a", timestamp: 1 });
      const y = resolver.write(x, { value: encodeText("y"), context: resolver.context(x), node: "b", timestamp: 2 });
      const z = resolver.write(y, { value: encodeText("z"), context: resolver.context(y), node: "c", timestamp: 3 });
      // A replica that still holds only x receives z.
      return resolver.merge(x, z).map((s) => new TextDecoder().decode(s.value!));
    };
    assertEquals(run(new VectorClockResolver()), ["z"]);
    // Pruned to 2 entries, z forgot a:1 (the oldest), so x looks concurrent and comes back.
    assertEquals(run(new VectorClockResolver({ prune: { maxEntries: 2 } })).sort(), ["x", "z"]);
  });
});

describe("merge of small sibling sets", () => {
  // The merge as written before its fast path: every sibling no sibling of either set
  // supersedes, in canonical order without duplicates.
  const reference = <V>(
    a: readonly Sibling<V>[],
    b: readonly Sibling<V>[],
    dominated: (s: Sibling<V>, by: Sibling<V>) => boolean,
    order: (x: V, y: V) => number,
  ) => {
    const all = [...a, ...b];
    return canonicalSiblings(all.filter((s) => !all.some((t) => dominated(s, t))), order);
  };
  const node = fc.constantFrom("a", "b", "c");
  const clock = fc.uniqueArray(fc.tuple(node, fc.integer({ min: 1, max: 3 })), { selector: ([n]) => n, maxLength: 3 })
    .map((entries) => entries.sort(([x], [y]) => (x < y ? -1 : 1)) as VectorClock);
  const value = fc.option(fc.constantFrom("x", "y").map(encodeText), { nil: null });
  const sets = <V>(version: fc.Arbitrary<V>) => fc.array(fc.record({ value, version }), { maxLength: 2 });

  /** `merge` gives the reference's siblings, the same objects in the same order, for any two sets. */
  const agrees = <V>(
    merge: (a: Sibling<V>[], b: Sibling<V>[]) => Sibling<V>[],
    set: fc.Arbitrary<Sibling<V>[]>,
    dominated: (s: Sibling<V>, by: Sibling<V>) => boolean,
    order: (x: V, y: V) => number,
  ) =>
    fc.assert(
      fc.property(set, set, (a, b) => {
        const got = merge(a, b);
        const want = reference(a, b, dominated, order);
        assertEquals(got.length, want.length);
        got.forEach((s, i) => assert(s === want[i], "the same sibling objects, in the same order"));
      }),
      { numRuns: 2000 },
    );

  it("equals the general merge for vector clocks, siblings for siblings", () => {
    const vc = new VectorClockResolver();
    const dominated = (s: Sibling<VectorClock>, by: Sibling<VectorClock>) => compareClocks(s.version, by.version) === "before";
    agrees(vc.merge.bind(vc), sets(clock), dominated, clockSortOrder);
  });

  it("equals the general merge for dotted version vectors, siblings for siblings", () => {
    const dvv = new DottedVersionVectorResolver();
    const version = fc.tuple(node, fc.integer({ min: 1, max: 3 }), clock) as fc.Arbitrary<DottedVersion>;
    const dominated = (
      s: Sibling<DottedVersion>,
      by: Sibling<DottedVersion>,
    ) => (clockEntryOf(by.version[2], s.version[0]) >= s.version[1]);
    const order = (x: DottedVersion, y: DottedVersion) =>
      x[0] !== y[0] ? (x[0] < y[0] ? -1 : 1) : x[1] !== y[1] ? x[1] - y[1] : clockSortOrder(x[2], y[2]);
    agrees(dvv.merge.bind(dvv), sets(version), dominated, order);
  });
});

function clockEntryOf(clock: VectorClock, node: string): number {
  return clock.find(([n]) => n === node)?.[1] ?? 0;
}
