/**
 * The shopping cart of Designing Data-Intensive Applications (ch. 5, "Merging concurrently
 * written values"), on a three-node store with vector clocks.
 *
 * Two clients change one cart at the same moment through two different nodes. The store keeps
 * both writes as siblings, and a {@link StoreClient} with a merge function gives readers one
 * cart. The merge decides what the cart means:
 *
 * - a plain union of items never loses an add, but an item one client removed while the other
 *   added something comes back, because the union cannot tell "removed" from "never seen";
 * - with removal markers inside the value (tombstones: the cart keeps the items added and the
 *   items removed, and the merge unions both), the removal survives the merge.
 *
 * The cluster runs on virtual time with a fixed seed, so every run prints the same lines,
 * under Node and under Deno:
 *
 *   npx tsx examples/shopping-cart.ts
 *   npx deno run -A examples/shopping-cart.ts
 */
import { createCluster, jsonCodec, StoreClient } from "../index.ts";

/** A cart where removing an item is just leaving it out. */
type PlainCart = string[];

/** A cart with removal markers: an item is in it if it was added and never removed. */
interface MarkedCart {
  readonly added: string[];
  readonly removed: string[];
}

const union = (lists: readonly (readonly string[])[]) => [...new Set(lists.flat())].sort();
const itemsOf = (cart: MarkedCart) => cart.added.filter((item) => !cart.removed.includes(item));

await using cluster = await createCluster({ nodes: 3, replication: { n: 3, r: 2, w: 2 }, resolver: "vector-clock", seed: 7 });

/** One way to keep a cart: two clients and what adding, removing and listing mean. */
interface Story<C> {
  readonly name: string;
  readonly alice: StoreClient<C>;
  readonly bob: StoreClient<C>;
  add(cart: C | undefined, item: string): C;
  remove(cart: C | undefined, item: string): C;
  items(cart: C | undefined): string[];
}

const plain: Story<PlainCart> = {
  name: "plain union",
  // Through n1 and n2: two clients, two coordinators.
  alice: new StoreClient(cluster.node("n1"), { codec: jsonCodec<PlainCart>(), merge: (carts) => union(carts) }),
  bob: new StoreClient(cluster.node("n2"), { codec: jsonCodec<PlainCart>(), merge: (carts) => union(carts) }),
  add: (cart: PlainCart | undefined, item: string): PlainCart => union([cart ?? [], [item]]),
  remove: (cart: PlainCart | undefined, item: string): PlainCart => (cart ?? []).filter((i) => i !== item),
  items: (cart: PlainCart | undefined) => cart ?? [],
};

const mergeMarked = (carts: readonly MarkedCart[]): MarkedCart => ({
  added: union(carts.map((c) => c.added)),
  removed: union(carts.map((c) => c.removed)),
});
const marked: Story<MarkedCart> = {
  name: "with removal markers",
  alice: new StoreClient(cluster.node("n1"), { codec: jsonCodec<MarkedCart>(), merge: mergeMarked }),
  bob: new StoreClient(cluster.node("n2"), { codec: jsonCodec<MarkedCart>(), merge: mergeMarked }),
  add: (cart: MarkedCart | undefined, item: string): MarkedCart => ({
    added: union([cart?.added ?? [], [item]]),
    removed: cart?.removed ?? [],
  }),
  remove: (cart: MarkedCart | undefined, item: string): MarkedCart => ({
    added: cart?.added ?? [],
    removed: union([cart?.removed ?? [], [item]]),
  }),
  items: (cart: MarkedCart | undefined) => (cart ? itemsOf(cart) : []),
};

async function tell<C>(key: string, s: Story<C>): Promise<void> {
  console.log(`--- ${s.name} ---`);

  // Both read the empty cart, then both add at once: two concurrent writes.
  const [a0, b0] = await Promise.all([s.alice.get(key), s.bob.get(key)]);
  await Promise.all([
    s.alice.put(key, s.add(a0.value, "milk"), { context: a0.context }),
    s.bob.put(key, s.add(b0.value, "eggs"), { context: b0.context }),
  ]);
  const both = await s.alice.get(key);
  console.log(`concurrent adds left ${both.siblings.length} siblings; merged: ${s.items(both.value).join(", ")}`);

  // Alice settles the cart by writing the merge back (update reads, merges, writes with the context).
  await s.alice.update(key, (cart) => cart);

  // Now Alice removes milk while Bob, who read the same cart, adds flour.
  const [a1, b1] = await Promise.all([s.alice.get(key), s.bob.get(key)]);
  await Promise.all([
    s.alice.put(key, s.remove(a1.value, "milk"), { context: a1.context }),
    s.bob.put(key, s.add(b1.value, "flour"), { context: b1.context }),
  ]);
  const after = await s.bob.get(key);
  const items = s.items(after.value);
  console.log(`alice removed milk while bob added flour; merged: ${items.join(", ")}`);
  console.log(
    items.includes("milk")
      ? "milk came back: the union cannot tell a removal from an item not yet seen"
      : "milk stays removed: the marker outlives the merge",
  );
}

await tell("cart-1", plain);
await tell("cart-2", marked);
