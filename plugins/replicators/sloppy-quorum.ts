/**
 * Sloppy quorum with hinted handoff (Dynamo §4.6): writes and reads go to the first N healthy
 * nodes of the preference list; a write meant for a node that is down (or that fails) is kept
 * by the next healthy node with a hint naming the owner, and handed off when the owner is back.
 *
 * @module
 */
import { z } from "zod";
import { choose, definePlugin, type Plugin, type PluginChoice } from "../../core/build/plugin.ts";
import { decode, encode } from "../../core/codec/msgpack.ts";
import { InvalidMessageError, RingforgeError } from "../../core/errors.ts";
import { type Clock, periodic, type PeriodicTask, type Scheduler } from "../../core/interfaces/clock.ts";
import { type FailureDetector } from "../../core/interfaces/failure-detector.ts";
import { type HintStats, type ReplicatedWrite } from "../../core/interfaces/replicator.ts";
import { type Message, type Transport } from "../../core/interfaces/transport.ts";
import type { NodeId, SiblingSet } from "../../core/model/sibling.ts";
import { isRecordBoundError } from "../../core/model/limits.ts";
import { parseSiblings, siblingsToWire } from "../../core/codec/record-codec.ts";
import { type NodeSettings } from "../../core/model/settings.ts";
export type { HintStats } from "../../core/interfaces/replicator.ts";
import { type QuorumDeps, type QuorumOptions, QuorumReplicator, type WriteRoute } from "./quorum.ts";
import type { Keyspace } from "../../core/model/keyspace.ts";
import type { MessageRouter } from "../../core/interfaces/message-router.ts";

/** Options of the {@link SloppyQuorumReplicator}. */
export interface SloppyQuorumOptions extends QuorumOptions {
  /** Most hints a node keeps; a hinted write beyond it is stored but not handed off (counted, left to anti-entropy). Default 100000. */
  readonly maxHints: number;
  /** Hints older than this are dropped undelivered (counted), ms. Default 3 hours, as Dynamo and Cassandra. */
  readonly maxHintAgeMs: number;
  /** How often a node tries to deliver its hints, ms. Default 1000. */
  readonly deliveryIntervalMs: number;
  /** Most hints delivered per interval, so a returning node is not flooded. Default 100. */
  readonly deliveryBatch: number;
  /** Time limit of one hint's delivery to its owner, ms. Default 5000. */
  readonly deliveryTimeoutMs: number;
}

/** What a {@link SloppyQuorumReplicator} uses of its node (a plugin context has it all). */
export interface SloppyQuorumDeps extends QuorumDeps {
  /** This node's id and N. */
  readonly settings: NodeSettings;
  /** Who is up: targets are the first N healthy nodes. */
  readonly detector: FailureDetector;
  /** The node's keyspaces; hints live in `hints`. */
  keyspace(name: string): Keyspace;
  /** Sends hinted writes to fallbacks. */
  readonly transport: Transport;
  /** Hint ages. */
  readonly clock: Clock;
  /** Delivery rounds. */
  readonly scheduler: Scheduler;
  /** Serves `hint.` messages. */
  readonly router: MessageRouter;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * `owner 0x00 key` in the node's `hints` keyspace (`0x02` on disk): hints sort by owner, so
 * delivery to one owner is one scan.
 */
function hintKey(owner: NodeId, key: string): Uint8Array {
  const o = encoder.encode(owner);
  const k = encoder.encode(key);
  const out = new Uint8Array(1 + o.length + k.length);
  out.set(o, 0);
  out[o.length] = 0;
  out.set(k, 1 + o.length);
  return out;
}

function parseHintKey(bytes: Uint8Array): { owner: NodeId; key: string } | undefined {
  const zero = bytes.indexOf(0);
  if (zero < 1) return undefined;
  return { owner: decoder.decode(bytes.subarray(0, zero)), key: decoder.decode(bytes.subarray(zero + 1)) };
}

const HINT_WRITE = "hint.write";

/**
 * Sloppy quorum: a key's targets are the first N nodes of its preference list that the failure
 * detector believes up. When an owner (one of the first N overall) is down, or a write to it
 * fails, the next healthy node beyond the targets takes the write with a hint naming the owner
 * and counts towards W: writes stay available as long as W nodes anywhere on the walk answer
 * (Dynamo §4.6). Hints live in the fallback's engine, bounded by count and age, and are
 * delivered in throttled batches once the owner is up again.
 *
 * Reads use the same first N healthy nodes, so a read during the outage sees hinted writes.
 *
 * @example
 * ```ts
 * const cluster = await store().nodes(5).use(sloppyQuorum({ maxHints: 10_000 })).cluster();
 * ```
 */
export class SloppyQuorumReplicator extends QuorumReplicator {
  override readonly name = "sloppy-quorum";
  /** Hint counters since the node started. */
  readonly hints: HintStats = { stored: 0, delivered: 0, dropped: 0, hintedWrites: 0 };
  /** Hints in the engine now (counted at start, kept up to date), the bound `maxHints` applies to. */
  #pending = 0;

  readonly #self: NodeId;
  readonly #n: number;
  readonly #detector: FailureDetector;
  /** The node's `hints` keyspace: `owner 0x00 key` → when the hint was stored. */
  readonly #hints: Keyspace;
  readonly #transport: Transport;
  readonly #clock: Clock;
  /** Delivery rounds, one at a time. */
  readonly #deliveries: PeriodicTask;

  /**
   * @param sloppy hint bounds and delivery pace
   * @param deps the node: what a strict quorum uses, and its settings, detector, hints
   *   keyspace, transport, time and message routing (a plugin context has them all)
   */
  constructor(
    protected readonly sloppy: SloppyQuorumOptions,
    deps: SloppyQuorumDeps,
  ) {
    super(sloppy, deps);
    this.#self = deps.settings.id;
    this.#n = deps.settings.replication.n;
    this.#detector = deps.detector;
    this.#hints = deps.keyspace("hints");
    this.#transport = deps.transport;
    this.#clock = deps.clock;
    this.#deliveries = periodic(deps.scheduler, sloppy.deliveryIntervalMs, () => this.#deliver(), (error) => {
      this.logger.warn("hint delivery round failed", { error: String(error) });
    });
    deps.router.on("hint.", (message, from) => this.#receive(message, from));
  }

  override targets(key: string, n: number): NodeId[] {
    const walk = this.partitioner.preferenceList(key, this.partitioner.members.length);
    const healthy = walk.filter((id) => this.#detector.isAlive(id));
    // With fewer than N healthy nodes, fill with the first unhealthy owners: their writes fail
    // and fall back to hints, which is the best that can be done.
    return healthy.length >= n ? healthy.slice(0, n) : [...healthy, ...walk.filter((id) => !healthy.includes(id))].slice(0, n);
  }

  /** Hints waiting in this node's engine for their owner. */
  get pendingHints(): number {
    return this.#pending;
  }

  /** Counts the hints a previous run left, then starts hint delivery rounds. */
  async start(): Promise<void> {
    let pending = 0;
    for await (const _ of this.#hints.scan()) pending++;
    this.#pending = pending;
    this.#deliveries.start();
  }

  /** Stops hint delivery (hints stay in the engine for the next start). */
  async stop(): Promise<void> {
    this.#deliveries.stop();
  }

  /**
   * A target that is not an owner stands in for an owner that is down: it takes the write with
   * a hint naming that owner (Dynamo §4.6), paired in walk order. Healthy nodes beyond the
   * targets are the spares that take over when a write to a target fails.
   */
  protected override route(request: ReplicatedWrite): WriteRoute {
    const { key, targets } = request;
    const walk = this.partitioner.preferenceList(key, this.partitioner.members.length);
    const owners = walk.slice(0, this.#n);
    const missing = owners.filter((id) => !targets.includes(id));
    const standIns = new Map<NodeId, NodeId>();
    for (const t of targets) if (!owners.includes(t) && missing.length) standIns.set(t, missing.shift()!);
    const spares = walk.filter((id) => !targets.includes(id) && this.#detector.isAlive(id));
    return { standIns, spares };
  }

  // ---- the fallback's side -----------------------------------------------------------------

  /** Sends a write that `fallback` keeps, with a hint, for `owner`. */
  protected override async sendHinted(
    fallback: NodeId,
    owner: NodeId,
    key: string,
    siblings: SiblingSet,
    timeoutMs: number,
  ): Promise<void> {
    this.hints.hintedWrites++;
    if (fallback === this.#self) {
      await this.#storeHinted(owner, key, siblings);
      return;
    }
    await this.#transport.request(fallback, { type: HINT_WRITE, owner, key, siblings: siblingsToWire(siblings) }, { timeoutMs });
  }

  async #receive(message: Message, from: NodeId): Promise<Message> {
    if (message.type !== HINT_WRITE || typeof message.owner !== "string" || typeof message.key !== "string") {
      throw new InvalidMessageError(`unexpected hint message from ${from}`);
    }
    await this.#storeHinted(message.owner, message.key, parseSiblings(message.siblings, `${HINT_WRITE} from ${from}`));
    return { type: "hint.ack" };
  }

  /**
   * Keeps the write (readable here) and, capacity allowing, a hint to hand it off. A write this
   * node refuses for the record bounds keeps no hint either: the error goes back to the
   * coordinator.
   */
  async #storeHinted(owner: NodeId, key: string, siblings: SiblingSet): Promise<void> {
    await this.client.write(this.#self, key, siblings, 0);
    const hint = hintKey(owner, key);
    // A newer write for the same owner and key refreshes its hint; only a new hint counts.
    const fresh = (await this.#hints.get(hint)) === undefined;
    if (fresh && this.#pending >= this.sloppy.maxHints) {
      this.hints.dropped++;
      this.logger.warn("hint dropped: too many hints", { owner, key, maxHints: this.sloppy.maxHints });
      return;
    }
    await this.#hints.put(hint, encode([this.#clock.now()]));
    if (fresh) this.#pending++;
    this.hints.stored++;
  }

  /** One delivery round: up to `deliveryBatch` hints whose owner is up. */
  async #deliver(): Promise<void> {
    let budget = this.sloppy.deliveryBatch;
    const now = this.#clock.now();
    const due: { hint: Uint8Array; owner: NodeId; key: string }[] = [];
    for await (const [hint, meta] of this.#hints.scan()) {
      const parsed = parseHintKey(hint);
      if (!parsed) continue;
      const created = (decode(meta, "hint") as [number])[0];
      if (now - created > this.sloppy.maxHintAgeMs) {
        await this.#hints.delete(hint);
        this.#pending--;
        this.hints.dropped++;
        continue;
      }
      if (!this.#detector.isAlive(parsed.owner)) continue;
      due.push({ hint: new Uint8Array(hint), ...parsed });
      if (--budget <= 0) break;
    }
    for (const { hint, owner, key } of due) {
      try {
        const siblings = await this.client.read(this.#self, key, 0);
        await this.client.write(owner, key, siblings, this.sloppy.deliveryTimeoutMs);
        await this.#hints.delete(hint);
        this.#pending--;
        this.hints.delivered++;
        // The stand-in keeps its copy: dropping it here could race a newer hinted write to
        // the same key. Copies on nodes that do not own a range are left to range handoff.
      } catch (error) {
        if (!(error instanceof RingforgeError)) throw error;
        if (isRecordBoundError(error)) {
          // The owner's record merged with this one would pass the bounds: it will be refused
          // at every delivery, so keeping the hint only costs a message per round.
          await this.#hints.delete(hint);
          this.#pending--;
          this.hints.dropped++;
          this.logger.warn("hint dropped: the owner refused it for the record bounds", { owner, key, error: error.message });
        } else this.logger.debug("hint delivery failed", { owner, key, error: error.message });
      }
    }
  }
}

const optionsSchema: z.ZodType<SloppyQuorumOptions, unknown> = z
  .object({
    readRepair: z.boolean().default(true),
    maxHints: z.number().int().min(0).default(100_000),
    maxHintAgeMs: z.number().positive().finite().default(3 * 60 * 60 * 1000),
    deliveryIntervalMs: z.number().positive().finite().default(1000),
    deliveryBatch: z.number().int().positive().default(100),
    deliveryTimeoutMs: z.number().positive().finite().default(5000),
  })
  .strict();

/** The sloppy quorum plugin. */
export const sloppyQuorumPlugin: Plugin<SloppyQuorumOptions, "replicator", undefined> = definePlugin({
  family: "replicator",
  name: "sloppy-quorum",
  description:
    "First N healthy nodes; writes for a down owner go to the next node with a hint, handed off on return. Available over consistent.",
  capabilities: { preferenceListTargets: true, readRepair: true, fallsBackOnFailure: true },
  options: optionsSchema,
  create: (context, options) => new SloppyQuorumReplicator(options, context),
});

/**
 * Chooses sloppy quorum with hinted handoff.
 *
 * @example
 * ```ts
 * const cluster = await store().use(sloppyQuorum({ maxHints: 10_000 })).use(swim()).cluster();
 * ```
 */
export function sloppyQuorum(options: Partial<SloppyQuorumOptions> = {}): PluginChoice<SloppyQuorumOptions> {
  return choose(sloppyQuorumPlugin, options);
}
