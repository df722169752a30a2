/**
 * Sloppy quorum with hinted handoff (Dynamo §4.6): writes and reads go to the first N healthy
 * nodes of the preference list; a write meant for a node that is down (or that fails) is kept
 * by the next healthy node with a hint naming the owner, and handed off when the owner is back.
 *
 * @module
 */
import { instanceCachingFactory } from "../../core/build/di.ts";
import { z } from "zod";
import { type Plugin, type PluginChoice, choose, definePlugin } from "../../core/build/plugin.ts";
import { decode, encode } from "../../core/codec/msgpack.ts";
import { InvalidMessageError, RingforgeError } from "../../core/errors.ts";
import { CLOCK, type Clock, SCHEDULER, type Scheduler, type Timer, every } from "../../core/interfaces/clock.ts";
import { CONFLICT_RESOLVER, type ConflictResolver } from "../../core/interfaces/conflict-resolver.ts";
import { FAILURE_DETECTOR, type FailureDetector } from "../../core/interfaces/failure-detector.ts";
import { LOGGER, type Logger } from "../../core/interfaces/logger.ts";
import { PARTITIONER, type Partitioner } from "../../core/interfaces/partitioner.ts";
import {
  REPLICATOR,
  REPLICA_CLIENT,
  type ReplicaClient,
  type ReplicatedWrite,
} from "../../core/interfaces/replicator.ts";
import { STORAGE_ENGINE, type StorageEngine } from "../../core/interfaces/storage-engine.ts";
import { type Message, TRANSPORT, type Transport } from "../../core/interfaces/transport.ts";
import type { NodeId, SiblingSet } from "../../core/model/sibling.ts";
import { isRecordBoundError } from "../../core/model/limits.ts";
import { parseSiblings, siblingsToWire } from "../../core/codec/record-codec.ts";
import { MESSAGE_ROUTER, type MessageRouter } from "../../core/node/message-router.ts";
import { NODE_SETTINGS, type NodeSettings } from "../../core/node/settings.ts";
import { type QuorumOptions, QuorumReplicator, type WriteRoute } from "./quorum.ts";

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
}

/** Hint counters, for tests, the lab and metrics. */
export interface HintStats {
  /** Hints stored on this node. */
  stored: number;
  /** Hints handed off to their owner. */
  delivered: number;
  /**
   * Hints dropped: over `maxHints`, older than `maxHintAgeMs`, or refused by their owner
   * because the merged record would pass its bounds (`maxSiblings`, `maxRecordBytes`; it would
   * be refused at every delivery). What a dropped hint carried is left to anti-entropy and to
   * the client that resolves the key's siblings.
   */
  dropped: number;
  /** Writes this node coordinated that went to a fallback with a hint. */
  hintedWrites: number;
}

/** Engine key prefix of hints (0x01 holds records, 0x00 metadata). */
const HINT_PREFIX = 0x02;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** `0x02 owner 0x00 key`: hints sort by owner, so delivery to one owner is one scan. */
function hintKey(owner: NodeId, key: string): Uint8Array {
  const o = encoder.encode(owner);
  const k = encoder.encode(key);
  const out = new Uint8Array(2 + o.length + k.length);
  out[0] = HINT_PREFIX;
  out.set(o, 1);
  out[1 + o.length] = 0;
  out.set(k, 2 + o.length);
  return out;
}

function parseHintKey(bytes: Uint8Array): { owner: NodeId; key: string } | undefined {
  const zero = bytes.indexOf(0, 1);
  if (bytes[0] !== HINT_PREFIX || zero < 0) return undefined;
  return { owner: decoder.decode(bytes.subarray(1, zero)), key: decoder.decode(bytes.subarray(zero + 1)) };
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
  #timer: Timer | undefined;
  #delivering = false;
  /** Hints in the engine now (counted at start, kept up to date), the bound `maxHints` applies to. */
  #pending = 0;

  constructor(
    protected readonly sloppy: SloppyQuorumOptions,
    partitioner: Partitioner,
    client: ReplicaClient,
    resolver: ConflictResolver,
    logger: Logger,
    private readonly self: NodeId,
    private readonly n: number,
    private readonly detector: FailureDetector,
    private readonly engine: StorageEngine,
    private readonly transport: Transport,
    private readonly clock: Clock,
    private readonly scheduler: Scheduler,
    router: MessageRouter,
  ) {
    super(sloppy, partitioner, client, resolver, logger);
    router.on("hint.", (message, from) => this.#receive(message, from));
  }

  override targets(key: string, n: number): NodeId[] {
    const walk = this.partitioner.preferenceList(key, this.partitioner.members.length);
    const healthy = walk.filter((id) => this.detector.isAlive(id));
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
    for await (const _ of this.engine.scan({ gte: Uint8Array.of(HINT_PREFIX), lt: Uint8Array.of(HINT_PREFIX + 1) })) pending++;
    this.#pending = pending;
    this.#timer = every(this.scheduler, this.sloppy.deliveryIntervalMs, () => void this.#deliver());
  }

  /** Stops hint delivery (hints stay in the engine for the next start). */
  async stop(): Promise<void> {
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  /**
   * A target that is not an owner stands in for an owner that is down: it takes the write with
   * a hint naming that owner (Dynamo §4.6), paired in walk order. Healthy nodes beyond the
   * targets are the spares that take over when a write to a target fails.
   */
  protected override route(request: ReplicatedWrite): WriteRoute {
    const { key, targets } = request;
    const walk = this.partitioner.preferenceList(key, this.partitioner.members.length);
    const owners = walk.slice(0, this.n);
    const missing = owners.filter((id) => !targets.includes(id));
    const standIns = new Map<NodeId, NodeId>();
    for (const t of targets) if (!owners.includes(t) && missing.length) standIns.set(t, missing.shift()!);
    const spares = walk.filter((id) => !targets.includes(id) && this.detector.isAlive(id));
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
    if (fallback === this.self) {
      await this.#storeHinted(owner, key, siblings);
      return;
    }
    await this.transport.request(fallback, { type: HINT_WRITE, owner, key, siblings: siblingsToWire(siblings) }, { timeoutMs });
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
    await this.client.write(this.self, key, siblings, 0);
    const hint = hintKey(owner, key);
    // A newer write for the same owner and key refreshes its hint; only a new hint counts.
    const fresh = (await this.engine.get(hint)) === undefined;
    if (fresh && this.#pending >= this.sloppy.maxHints) {
      this.hints.dropped++;
      this.logger.warn("hint dropped: too many hints", { owner, key, maxHints: this.sloppy.maxHints });
      return;
    }
    await this.engine.put(hint, encode([this.clock.now()]));
    if (fresh) this.#pending++;
    this.hints.stored++;
  }

  /** One delivery round: up to `deliveryBatch` hints whose owner is up. */
  async #deliver(): Promise<void> {
    if (this.#delivering) return;
    this.#delivering = true;
    try {
      let budget = this.sloppy.deliveryBatch;
      const now = this.clock.now();
      const due: { hint: Uint8Array; owner: NodeId; key: string }[] = [];
      for await (const [hint, meta] of this.engine.scan({ gte: Uint8Array.of(HINT_PREFIX), lt: Uint8Array.of(HINT_PREFIX + 1) })) {
        const parsed = parseHintKey(hint);
        if (!parsed) continue;
        const created = (decode(meta, "hint") as [number])[0];
        if (now - created > this.sloppy.maxHintAgeMs) {
          await this.engine.delete(hint);
          this.#pending--;
          this.hints.dropped++;
          continue;
        }
        if (!this.detector.isAlive(parsed.owner)) continue;
        due.push({ hint: new Uint8Array(hint), ...parsed });
        if (--budget <= 0) break;
      }
      for (const { hint, owner, key } of due) {
        try {
          const siblings = await this.client.read(this.self, key, 0);
          await this.client.write(owner, key, siblings, 5000);
          await this.engine.delete(hint);
          this.#pending--;
          this.hints.delivered++;
          // The stand-in keeps its copy: dropping it here could race a newer hinted write to
          // the same key. Copies on nodes that do not own a range are left to range handoff.
        } catch (error) {
          if (!(error instanceof RingforgeError)) throw error;
          if (isRecordBoundError(error)) {
            // The owner's record merged with this one would pass the bounds: it will be refused
            // at every delivery, so keeping the hint only costs a message per round.
            await this.engine.delete(hint);
            this.#pending--;
            this.hints.dropped++;
            this.logger.warn("hint dropped: the owner refused it for the record bounds", { owner, key, error: error.message });
          } else this.logger.debug("hint delivery failed", { owner, key, error: error.message });
        }
      }
    } catch (error) {
      this.logger.warn("hint delivery round failed", { error: String(error) });
    } finally {
      this.#delivering = false;
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
  })
  .strict();

/** The sloppy quorum plugin. */
export const sloppyQuorumPlugin: Plugin<SloppyQuorumOptions> = definePlugin({
  family: "replicator",
  name: "sloppy-quorum",
  description: "First N healthy nodes; writes for a down owner go to the next node with a hint, handed off on return. Available over consistent.",
  options: optionsSchema,
  register(container, options) {
    container.register(REPLICATOR, {
      useFactory: instanceCachingFactory((c) => {
        const settings = c.resolve<NodeSettings>(NODE_SETTINGS);
        return new SloppyQuorumReplicator(
          options,
          c.resolve(PARTITIONER),
          c.resolve(REPLICA_CLIENT),
          c.resolve(CONFLICT_RESOLVER),
          c.resolve(LOGGER),
          settings.id,
          settings.replication.n,
          c.resolve(FAILURE_DETECTOR),
          c.resolve(STORAGE_ENGINE),
          c.resolve(TRANSPORT),
          c.resolve(CLOCK),
          c.resolve(SCHEDULER),
          c.resolve(MESSAGE_ROUTER),
        );
      }),
    });
  },
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
