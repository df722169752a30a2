/**
 * Network faults as iptables rules. Each namespace has one chain, {@link FAULT_CHAIN}, jumped to
 * from its INPUT chain; every fault is a DROP rule in that chain, and healing empties it. The
 * whole chain is replaced in one `iptables-restore --noflush` transaction per namespace, so a
 * node never sees half a fault.
 *
 * Packets are dropped where they arrive (INPUT of the receiver), as Jepsen does, and never where
 * they leave: a packet dropped in the sender's OUTPUT chain fails the send at once (a UDP send
 * gets EPERM), which no real network does; dropped on arrival, the sender hears nothing and times
 * out, as across a cut cable. Rules match source addresses of nodes only, so the host (the load
 * generator, on the bridge) always reaches every node and hears its answers: faults are between
 * nodes, as in Jepsen, where the clients' links are never cut.
 *
 * @module
 */

/** The chain holding a namespace's fault rules. */
export const FAULT_CHAIN = "RINGFORGE";

/** A one-way block: packets from `from` to `to` are dropped; `to`'s packets to `from` are not. */
export interface OneWayBlock {
  /** The node whose packets are dropped. */
  readonly from: string;
  /** The node they no longer reach. */
  readonly to: string;
}

/** The faults in force on a network. */
export interface NetworkFaults {
  /**
   * The partition: groups of nodes, every node in exactly one (nodes the caller did not name
   * form one more group); nodes in different groups exchange nothing. Empty: no partition.
   */
  readonly partition: readonly (readonly string[])[];
  /** One-way blocks, in the order they were added. */
  readonly blocks: readonly OneWayBlock[];
  /** The fraction of packets dropped, at random, in each direction of every node↔node link (0: none). */
  readonly loss: number;
}

/** No fault at all. */
export const NO_FAULTS: NetworkFaults = Object.freeze({ partition: Object.freeze([]), blocks: Object.freeze([]), loss: 0 });

/**
 * The rules of {@link FAULT_CHAIN} in the namespace of `receiver` (iptables-restore lines), given
 * every node's address. Deterministic: the same faults give the same lines, so an unchanged
 * namespace need not be touched.
 */
export function faultRules(
  faults: NetworkFaults,
  nodes: readonly string[],
  addressOf: (node: string) => string,
  receiver: string,
): string[] {
  const groupOf = new Map<string, number>();
  faults.partition.forEach((group, i) => group.forEach((node) => groupOf.set(node, i)));
  const cut = new Set<string>();
  if (groupOf.size > 0) {
    for (const node of nodes) if (node !== receiver && groupOf.get(node) !== groupOf.get(receiver)) cut.add(node);
  }
  const blocked = new Set(faults.blocks.filter((b) => b.to === receiver).map((b) => b.from));
  const lines: string[] = [];
  for (const node of nodes) {
    if (node === receiver) continue;
    const source = `-A ${FAULT_CHAIN} -s ${addressOf(node)}/32`;
    if (cut.has(node)) lines.push(`${source} -m comment --comment partition -j DROP`);
    else if (blocked.has(node)) lines.push(`${source} -m comment --comment block -j DROP`);
    else if (faults.loss > 0) {
      // The statistic match draws per packet; its probability has 31 bits of resolution.
      lines.push(`${source} -m statistic --mode random --probability ${faults.loss.toFixed(8)} -m comment --comment loss -j DROP`);
    }
  }
  return lines;
}

/**
 * iptables-restore input that creates the empty fault chain and jumps to it from INPUT. For a
 * fresh namespace only: without `--noflush` it replaces the whole filter table.
 */
export function chainSetupInput(): string {
  return `*filter\n:${FAULT_CHAIN} - [0:0]\n-A INPUT -j ${FAULT_CHAIN}\nCOMMIT\n`;
}

/**
 * iptables-restore input (for `--noflush`) that replaces the fault chain's rules with `rules`:
 * declaring an existing chain empties it, in the same transaction that adds the new rules.
 */
export function chainReplaceInput(rules: readonly string[]): string {
  return `*filter\n:${FAULT_CHAIN} - [0:0]\n${rules.map((r) => `${r}\n`).join("")}COMMIT\n`;
}
