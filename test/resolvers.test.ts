import { describe, it } from "@std/testing/bdd";
import { assertEquals } from "@std/assert";
import { globalContainer as container } from "../core/build/di.ts";
import { CONFLICT_RESOLVER, type ConflictResolver } from "../core/interfaces/conflict-resolver.ts";
import { resolverPlugins } from "../plugins/resolvers/index.ts";
import { compareClocks, formatClock, mergeClocks } from "../plugins/resolvers/vector-clock.ts";
import { conflictResolverSuite } from "./conformance/conflict-resolver.ts";

for (const plugin of resolverPlugins) {
  conflictResolverSuite({
    name: plugin.name,
    create: () => {
      const c = container.createChildContainer();
      plugin.register(c, plugin.parseOptions(undefined));
      return c.resolve<ConflictResolver>(CONFLICT_RESOLVER);
    },
  });
}

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
