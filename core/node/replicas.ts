/**
 * How a replicator reaches a key's replicas: this node's own records directly, any other node
 * over the transport (`kv.write`, `kv.read`). Core gives it to the replicator through the
 * plugin context; the node's coordinator uses the same one.
 *
 * @module
 */
import { parseSiblings, siblingsToWire } from "../codec/record-codec.ts";
import { RingforgeError } from "../errors.ts";
import type { ConflictResolver } from "../interfaces/conflict-resolver.ts";
import type { ReplicaClient } from "../interfaces/replicator.ts";
import type { Transport } from "../interfaces/transport.ts";
import { type NodeId, sameSiblings, type Sibling, type SiblingSet } from "../model/sibling.ts";
import { KV_READ, KV_RECORD, KV_WRITE } from "./protocol.ts";
import type { RecordStore } from "./record-store.ts";

/** What {@link Replicas} needs. */
export interface ReplicasDeps {
  /** This node. */
  readonly id: NodeId;
  /** Its records. */
  readonly store: RecordStore;
  /** Its resolver (a replica merges what it is sent). */
  readonly resolver: ConflictResolver;
  /** Its transport. */
  readonly transport: Transport;
}

/**
 * The {@link ReplicaClient} of one node. A write to this node merges into its record (stored
 * only if something changed, and refused past the record bounds); a write to another node
 * asks it to do the same.
 */
export class Replicas implements ReplicaClient {
  readonly #d: ReplicasDeps;

  constructor(deps: ReplicasDeps) {
    this.#d = deps;
  }

  // Not async: a local write or read returns the store's own promise, without the extra
  // promise and turns an async function would add (the store answers at once over an engine
  // that never waits).
  write(node: NodeId, key: string, siblings: SiblingSet, timeoutMs: number): Promise<void> {
    if (node === this.#d.id) return this.mergeLocal(key, siblings).then(ignore);
    return this.#writeRemote(node, key, siblings, timeoutMs);
  }

  async #writeRemote(node: NodeId, key: string, siblings: SiblingSet, timeoutMs: number): Promise<void> {
    await this.#d.transport.request(node, { type: KV_WRITE, key, siblings: siblingsToWire(siblings) }, { timeoutMs });
  }

  read(node: NodeId, key: string, timeoutMs: number): Promise<SiblingSet> {
    if (node === this.#d.id) return this.#d.store.get(key);
    return this.#readRemote(node, key, timeoutMs);
  }

  async #readRemote(node: NodeId, key: string, timeoutMs: number): Promise<SiblingSet> {
    const reply = await this.#d.transport.request(node, { type: KV_READ, key }, { timeoutMs });
    if (reply.type !== KV_RECORD) throw new RingforgeError("RINGFORGE_INVALID_MESSAGE", `expected ${KV_RECORD} from ${node}`);
    return parseSiblings(reply.siblings, `reply from ${node}`);
  }

  /**
   * Merges incoming siblings into this node's record; stores only if something changed. A merge
   * that would pass the record bounds is refused by the store (`SiblingLimitError`,
   * `RecordTooLargeError`) and stores nothing: the error goes back to the coordinator, whose
   * replicator counts it as a failed acknowledgement.
   */
  mergeLocal(key: string, incoming: SiblingSet): Promise<Sibling[] | SiblingSet> {
    return this.#d.store.update(key, (local) => {
      const merged = this.#d.resolver.merge(local, incoming);
      return sameSiblings(merged, local) ? undefined : merged;
    });
  }
}

function ignore(): void {}
