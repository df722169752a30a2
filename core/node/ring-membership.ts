/**
 * Ring membership: which nodes own key ranges, changed only by explicit join and leave.
 *
 * @module
 */
import { InvalidMessageError, RingforgeError } from "../errors.ts";
import { decode, encode } from "../codec/msgpack.ts";
import { murmur3 } from "../hash/murmur3.ts";
import type { Logger } from "../interfaces/logger.ts";
import type { MemberInfo, Partitioner } from "../interfaces/partitioner.ts";
import type { Random } from "../interfaces/random.ts";
import type { Keyspace } from "../model/keyspace.ts";
import type { Message, Transport } from "../interfaces/transport.ts";
import type { NodeId } from "../model/sibling.ts";

/**
 * Ask for the sender's ring. Reply: {@link RING_VIEW}. A request may carry the asker's own
 * `epoch` and `digest`: a node whose view has both answers with them alone, without its members
 * (a periodic poll of a cluster that agrees on its ring then costs two small messages, where a
 * view of 512 members was encoded, decoded, checked and digested on every poll). Nodes that do
 * not know these fields ignore them and send the whole view, which the asker reads as before.
 */
export const RING_GET = "ring.get";
/** A ring a node should adopt if it is newer than its own. Reply: {@link RING_VIEW}. */
export const RING_SET = "ring.set";
/** A node's ring. */
export const RING_VIEW = "ring.view";

/** Key of the persisted ring in the node's `meta` keyspace. */
const RING_META_KEY = new TextEncoder().encode("meta/ring");

/**
 * The owners of the ring at one version. Every membership change makes a new view with a higher
 * epoch; a node adopts any view newer than its own (epoch first, then a digest of the members,
 * so two concurrent changes resolve the same way everywhere).
 */
export interface RingView {
  /** Version; the configured members are epoch 0. */
  readonly epoch: number;
  /** The members that own ranges. */
  readonly members: readonly MemberInfo[];
  /** The partitioner's layout for these members, if it keeps one ({@link Partitioner.nextLayout}). */
  readonly layout?: unknown;
}

/** True if `a` supersedes `b`. */
export function newerView(a: RingView, b: RingView): boolean {
  if (a.epoch !== b.epoch) return a.epoch > b.epoch;
  return viewDigest(a) > viewDigest(b);
}

/** Digests of views already compared: a node compares its own view with every view it is sent. */
const digests = new WeakMap<RingView, number>();

function viewDigest(view: RingView): number {
  let digest = digests.get(view);
  if (digest === undefined) {
    digest = computeViewDigest(view);
    digests.set(view, digest);
  }
  return digest;
}

function computeViewDigest(view: RingView): number {
  const canonical = [...view.members].sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
  return murmur3(
    JSON.stringify([canonical.map((m) => [m.id, m.weight ?? 1, m.zone ?? "", m.datacenter ?? ""]), view.layout ?? null]),
  );
}

/**
 * The view before any change, one per configured member list: the nodes of a store share it,
 * and with it the digest computed for it (512 digests of the same 512 members were a twentieth
 * of a 512-node simulation's set-up).
 */
const initialViews = new WeakMap<readonly MemberInfo[], RingView>();

function initialView(configured: readonly MemberInfo[]): RingView {
  let view = initialViews.get(configured);
  if (view === undefined) initialViews.set(configured, view = { epoch: 0, members: configured });
  return view;
}

/** What {@link RingMembership} needs from its node. */
export interface RingMembershipDeps {
  /** This node. */
  readonly id: NodeId;
  /** The node's `meta` keyspace (the ring is persisted so a restart keeps it). */
  readonly meta: Keyspace;
  /** The partitioner, whose members this class sets. */
  readonly partitioner: Partitioner;
  /** Messages to peers. */
  readonly transport: Transport;
  /** Peer choice. */
  readonly random: Random;
  /** Logging. */
  readonly logger: Logger;
  /** The configured members: the ring before any change. */
  readonly configured: readonly MemberInfo[];
}

/**
 * Keeps a node's ring view. Failure detectors say who is *up*; this says who *owns ranges*:
 * a crashed node keeps its ranges (its data waits on other replicas and hints), and only an
 * operator's join or leave moves them (Dynamo §4.8.1). Views spread by broadcast when a change
 * is made and by each node asking a random peer for its view every handoff interval, so a node
 * that was down during a change catches up.
 */
export class RingMembership {
  readonly #d: RingMembershipDeps;
  #view: RingView;
  /** Adoptions run one at a time, so a slower older view can never replace a newer one. */
  #adopting: Promise<unknown> = Promise.resolve();
  readonly #listeners: ((before: RingView, after: RingView) => void)[] = [];

  constructor(deps: RingMembershipDeps) {
    this.#d = deps;
    this.#view = initialView(deps.configured);
  }

  /** Calls `listener` after each new view took effect in the partitioner. */
  onChange(listener: (before: RingView, after: RingView) => void): void {
    this.#listeners.push(listener);
  }

  /** The current view. */
  get view(): RingView {
    return this.#view;
  }

  /** Loads the persisted view (or the configured members) into the partitioner. */
  async load(): Promise<void> {
    const stored = await this.#d.meta.get(RING_META_KEY);
    if (stored !== undefined) this.#view = parseView(decode(stored, "persisted ring"));
    this.#d.partitioner.setMembers(this.#view.members, this.#view.layout);
  }

  /** Adopts `view` if it is newer than the current one; returns whether it did. */
  adopt(view: RingView): Promise<boolean> {
    const run = this.#adopting.then(() => this.#adopt(view));
    this.#adopting = run.catch(() => undefined);
    return run;
  }

  async #adopt(view: RingView): Promise<boolean> {
    if (!newerView(view, this.#view)) return false;
    const before = this.#view;
    // The partitioner checks the view (members, layout) before it is persisted: a view it
    // refuses changes nothing.
    this.#d.partitioner.setMembers(view.members, view.layout);
    try {
      await this.#d.meta.put(RING_META_KEY, encode(viewToWire(view)));
    } catch (error) {
      this.#d.partitioner.setMembers(before.members, before.layout);
      throw error;
    }
    this.#view = view;
    this.#d.logger.info("ring changed", { epoch: view.epoch, members: view.members.map((m) => m.id).join(",") });
    for (const listener of this.#listeners) listener(before, view);
    return true;
  }

  /** Sends `view` to every member of it and of the current view; returns who confirmed. */
  async broadcast(view: RingView, timeoutMs: number): Promise<NodeId[]> {
    const targets = new Set([...view.members, ...this.#view.members].map((m) => m.id));
    targets.delete(this.#d.id);
    const confirmed: NodeId[] = [];
    await Promise.all(
      [...targets].map(async (peer) => {
        try {
          await this.#d.transport.request(peer, { type: RING_SET, view: viewToWire(view) }, { timeoutMs });
          confirmed.push(peer);
        } catch (error) {
          if (!(error instanceof RingforgeError)) throw error;
          this.#d.logger.debug("ring broadcast failed", { peer, error: error.message });
        }
      }),
    );
    return confirmed.sort();
  }

  /** Asks `peer` for its view and adopts it if newer. */
  async pull(peer: NodeId, timeoutMs: number): Promise<RingView> {
    const reply = await this.#d.transport.request(peer, { type: RING_GET }, { timeoutMs });
    const view = parseView(reply.view);
    await this.adopt(view);
    return view;
  }

  /**
   * {@link pull}, sending this node's epoch and digest: a peer with the same view answers
   * without its members. Resolves true if the peer sent its members (its view differed, or it
   * is of a version that always sends them); they were adopted if newer.
   */
  async #pullChanged(peer: NodeId, timeoutMs: number): Promise<boolean> {
    const own = this.#view;
    const reply = await this.#d.transport.request(peer, { type: RING_GET, epoch: own.epoch, digest: viewDigest(own) }, { timeoutMs });
    if (reply.view === undefined) {
      // "Same as yours": only ever sent back with the epoch and digest that were asked about.
      if (reply.epoch !== own.epoch || reply.digest !== viewDigest(own)) {
        throw new InvalidMessageError(`ring view from ${peer}: neither members nor the asker's epoch and digest`);
      }
      return false;
    }
    await this.adopt(parseView(reply.view));
    return true;
  }

  /** Asks one random other member for its view (catch-up after downtime); failures are quiet. */
  async poll(timeoutMs: number): Promise<void> {
    const peers = this.#view.members.filter((m) => m.id !== this.#d.id);
    if (peers.length === 0) return;
    const peer = peers[this.#d.random.int(peers.length)]!.id;
    try {
      await this.#pullChanged(peer, timeoutMs);
    } catch (error) {
      if (!(error instanceof RingforgeError)) throw error;
    }
  }

  /** Serves `ring.` messages. */
  async serve(message: Message): Promise<Message> {
    if (message.type === RING_SET) await this.adopt(parseView(message.view));
    else if (message.type !== RING_GET) throw new InvalidMessageError(`unknown ring message "${message.type}"`);
    else if (message.epoch === this.#view.epoch && message.digest === viewDigest(this.#view)) {
      return { type: RING_VIEW, epoch: message.epoch, digest: message.digest };
    }
    return { type: RING_VIEW, view: viewToWire(this.#view) };
  }
}

function viewToWire(view: RingView): unknown {
  return { epoch: view.epoch, members: view.members.map((m) => ({ ...m })), ...(view.layout === undefined ? {} : { layout: view.layout }) };
}

function parseView(data: unknown): RingView {
  const v = data as { epoch?: unknown; members?: unknown };
  if (
    typeof v !== "object" || v === null || typeof v.epoch !== "number" || !Number.isSafeInteger(v.epoch) || v.epoch < 0 ||
    v.epoch >= Number.MAX_SAFE_INTEGER
  ) {
    throw new InvalidMessageError("ring view: epoch must be a non-negative safe integer");
  }
  if (!Array.isArray(v.members) || v.members.length === 0) throw new InvalidMessageError("ring view: members must be a non-empty list");
  const members = v.members.map((m: unknown) => {
    const info = m as Partial<MemberInfo>;
    if (typeof info !== "object" || info === null || typeof info.id !== "string" || info.id.length === 0) {
      throw new InvalidMessageError("ring view: malformed member");
    }
    const out: { id: string; weight?: number; zone?: string; datacenter?: string } = { id: info.id };
    if (info.weight !== undefined) {
      if (typeof info.weight !== "number" || !(info.weight > 0) || !Number.isFinite(info.weight)) {
        throw new InvalidMessageError("ring view: bad weight");
      }
      out.weight = info.weight;
    }
    if (typeof info.zone === "string") out.zone = info.zone;
    if (typeof info.datacenter === "string") out.datacenter = info.datacenter;
    return out;
  });
  if (new Set(members.map((m) => m.id)).size !== members.length) throw new InvalidMessageError("ring view: duplicate member");
  // The layout is the partitioner's to check (setMembers refuses one that does not fit).
  const layout = (data as { layout?: unknown }).layout;
  return { epoch: v.epoch, members, ...(layout === undefined ? {} : { layout }) };
}
