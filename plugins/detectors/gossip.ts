/**
 * Gossip membership with heartbeat counters (Dynamo §4.8, Cassandra), judged either by a fixed
 * timeout (the textbook design) or by the phi-accrual detector (Hayashibara et al. 2004).
 *
 * @module
 */
import { z } from "zod";
import { choose, definePlugin, type Plugin, type PluginChoice } from "../../core/build/plugin.ts";
import { InvalidMessageError } from "../../core/errors.ts";
import { type Clock, periodic, type PeriodicTask } from "../../core/interfaces/clock.ts";
import { type FailureDetector, type MembershipEvent, type MemberState, type MemberStatus } from "../../core/interfaces/failure-detector.ts";
import type { Logger } from "../../core/interfaces/logger.ts";
import type { MemberInfo } from "../../core/interfaces/partitioner.ts";
import type { Random } from "../../core/interfaces/random.ts";
import type { Message, Transport } from "../../core/interfaces/transport.ts";
import type { NodeId } from "../../core/model/sibling.ts";
import {
  isPlacement,
  memberFrom,
  type PeerDetectorDeps,
  peerDetectorDeps,
  type Placement,
  placementOf,
  sampleDistinct,
} from "./member-wire.ts";
import { PhiAccrual } from "./phi-accrual.ts";

/** How heartbeats are gossiped (both gossip detectors). */
export interface GossipDissemination {
  /** Gossip round period, ms: each round a node bumps its heartbeat and gossips. Default 1000. */
  readonly intervalMs: number;
  /** Live peers gossiped to per round. Default 3. */
  readonly fanout: number;
}

/** Options of the gossip detector (heartbeat gossip, down after a fixed silence). */
export interface GossipOptions extends GossipDissemination {
  /** A member whose heartbeat has not advanced for this long is marked down. Default 8000. */
  readonly failAfterMs: number;
}

/** Options of the phi-accrual detector (gossip dissemination, phi-accrual judgement). */
export interface PhiAccrualOptions extends GossipDissemination {
  /** Phi above which a member is marked down. Default 8 (Cassandra's `phi_convict_threshold`). */
  readonly threshold: number;
  /** Heartbeat inter-arrival times remembered per member. Default 200. */
  readonly windowSize: number;
  /**
   * Floor of the standard deviation of inter-arrival times, ms, so a very regular history does
   * not make the detector hair-triggered. Default 1000: gossiped heartbeats arrive after a
   * varying number of hops, and in the crash-detection lab (64 nodes, 5% loss) a floor of 500
   * marked live nodes down hundreds of times per minute where 1000 marked none.
   */
  readonly minStdDevMs: number;
  /**
   * Delay tolerated beyond the mean interval before suspicion grows, ms: gossip reaches a node
   * after a variable number of hops. Default 2000 (two rounds).
   */
  readonly acceptablePauseMs: number;
}

/** How a gossip detector decides a member is down: a fixed timeout, or phi accrual. */
export type Judge = TimeoutJudge | PhiJudge;

/** Down after a fixed silence. */
export interface TimeoutJudge {
  /** Discriminant. */
  readonly kind: "timeout";
  /** Silence after which a member is down, ms. */
  readonly failAfterMs: number;
}

/** Down when phi exceeds the threshold. */
export interface PhiJudge {
  /** Discriminant. */
  readonly kind: "phi";
  /** The phi-accrual options. */
  readonly options: PhiAccrualOptions;
}

/** What this node knows of a member. */
interface Entry {
  info: MemberInfo;
  /** Start time of the member's current incarnation: a restarted node's counter restarts. */
  generation: number;
  heartbeat: number;
  /** Local time the heartbeat last advanced. */
  updatedAt: number;
  status: MemberStatus;
  phi?: PhiAccrual;
}

/** One row of a gossip digest on the wire: id, generation, heartbeat, placement. */
type Row = [id: NodeId, generation: number, heartbeat: number, weight: number | null, zone: string | null, datacenter: string | null];

const GOSSIP_DIGEST = "gossip.digest";

/**
 * Gossip-based membership and failure detection. Every round a node bumps its own heartbeat
 * counter and sends its whole membership list (id, generation, heartbeat) to `fanout` random
 * live peers, and now and then to a member it believes down, so a recovered node is noticed.
 * Lists merge by taking the higher (generation, heartbeat) per member, so news spreads
 * epidemically in O(log n) rounds. A member whose heartbeat stops advancing is marked down, by
 * a fixed timeout or by phi accrual; an advancing heartbeat marks it up again.
 *
 * Members come from the configured nodes (the seeds) and from any digest naming a node this one
 * has not heard of (a join).
 *
 * @example
 * ```ts
 * const cluster = await store().nodes(8).use(gossip({ intervalMs: 1000, failAfterMs: 10_000 })).cluster();
 * cluster.node("n1").services.detector.isAlive("n5"); // true
 * ```
 */
export class GossipDetector implements FailureDetector {
  readonly #self: NodeId;
  readonly #entries = new Map<NodeId, Entry>();
  readonly #listeners = new Set<(event: MembershipEvent) => void>();
  /** Gossip rounds, every `intervalMs` while started. */
  readonly #rounds: PeriodicTask;

  readonly #clock: Clock;
  readonly #random: Random;
  readonly #transport: Transport;
  readonly #logger: Logger;

  /**
   * @param deps this node, the seeds and the runtime (see {@link peerDetectorDeps})
   * @param options how heartbeats are gossiped
   * @param judge when a silent member is down
   */
  constructor(
    deps: PeerDetectorDeps,
    private readonly options: GossipDissemination,
    private readonly judge: Judge,
  ) {
    const { self, seeds, clock, router } = deps;
    this.#clock = clock;
    this.#rounds = periodic(deps.scheduler, options.intervalMs, () => this.#round());
    this.#random = deps.random;
    this.#transport = deps.transport;
    this.#logger = deps.logger;
    this.#self = self.id;
    const now = clock.now();
    for (const info of [self, ...seeds.filter((m) => m.id !== self.id)]) {
      // Seeds start as up, as if just heard from: a node that never answers is marked down
      // after the usual delay rather than at once.
      const phi = this.#newPhi();
      phi?.heartbeat(now);
      this.#entries.set(info.id, { info, generation: 0, heartbeat: 0, updatedAt: now, status: "up", phi });
    }
    router.on("gossip.", (message, from) => this.#receive(message, from));
  }

  /** The gossip round, `intervalMs`. */
  get periodMs(): number {
    return this.options.intervalMs;
  }

  async start(): Promise<void> {
    if (this.#rounds.started) return;
    const me = this.#entries.get(this.#self)!;
    me.generation = this.#clock.now() + 1; // > 0, and later for every restart
    me.updatedAt = this.#clock.now();
    this.#rounds.start();
  }

  async stop(): Promise<void> {
    this.#rounds.stop();
  }

  members(): readonly MemberState[] {
    return [...this.#entries.values()].map((e) => ({ ...e.info, status: e.status, incarnation: e.heartbeat, lastHeardAt: e.updatedAt }));
  }

  isAlive(node: NodeId): boolean {
    return this.#entries.get(node)?.status === "up";
  }

  onChange(listener: (event: MembershipEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The current phi of `node` (phi-accrual only; undefined otherwise or when unknown). */
  phi(node: NodeId): number | undefined {
    const e = this.#entries.get(node);
    return e?.phi?.phi(this.#clock.now());
  }

  // ---- protocol ---------------------------------------------------------------------------

  #round(): void {
    const me = this.#entries.get(this.#self)!;
    me.heartbeat++;
    me.updatedAt = this.#clock.now();
    this.#judgeAll();
    const live: NodeId[] = [];
    const down: NodeId[] = [];
    for (const [id, e] of this.#entries) {
      if (id === this.#self) continue;
      (e.status === "up" ? live : down).push(id);
    }
    const digest: Message = { type: GOSSIP_DIGEST, rows: this.#rows() };
    for (const peer of sampleDistinct(this.#random, live, this.options.fanout)) this.#transport.send(peer, digest);
    // Dynamo and Cassandra also gossip to an unreachable member now and then, so a node that
    // comes back is noticed without waiting for it to gossip first.
    if (down.length > 0 && this.#random.next() < down.length / (live.length + 1)) {
      this.#transport.send(down[this.#random.int(down.length)]!, digest);
    }
  }

  #receive(message: Message, from: NodeId): void {
    if (message.type !== GOSSIP_DIGEST || !Array.isArray(message.rows)) {
      throw new InvalidMessageError(`unexpected gossip message from ${from}`);
    }
    const now = this.#clock.now();
    for (const raw of message.rows as unknown[]) {
      const row = parseRow(raw);
      if (!row || row[0] === this.#self) continue;
      const [id, generation, heartbeat, weight, zone, datacenter] = row;
      const known = this.#entries.get(id);
      if (!known) {
        const info = memberFrom(id, [weight, zone, datacenter]);
        const phi = this.#newPhi();
        phi?.heartbeat(now);
        const entry: Entry = { info, generation, heartbeat, updatedAt: now, status: "up", phi };
        this.#entries.set(id, entry);
        this.#logger.info("member joined", { id });
        this.#emit(entry, undefined);
        continue;
      }
      if (generation > known.generation || (generation === known.generation && heartbeat > known.heartbeat)) {
        if (generation > known.generation && known.generation > 0) known.phi = this.#newPhi(); // a restart: old intervals say nothing
        known.generation = generation;
        known.heartbeat = heartbeat;
        known.phi?.heartbeat(now);
        known.updatedAt = now;
        if (known.status !== "up") this.#set(known, "up");
      }
    }
  }

  #judgeAll(): void {
    const now = this.#clock.now();
    for (const [id, e] of this.#entries) {
      if (id === this.#self || e.status !== "up") continue;
      const failed = this.judge.kind === "timeout"
        ? now - e.updatedAt > this.judge.failAfterMs
        : (e.phi?.phi(now) ?? 0) > this.judge.options.threshold;
      if (failed) this.#set(e, "down");
    }
  }

  #set(entry: Entry, status: MemberStatus): void {
    const previous = entry.status;
    entry.status = status;
    this.#logger.info(`member ${status}`, { id: entry.info.id });
    this.#emit(entry, previous);
  }

  #emit(entry: Entry, previous: MemberStatus | undefined): void {
    const event: MembershipEvent = { member: { ...entry.info, status: entry.status }, previous };
    for (const listener of this.#listeners) listener(event);
  }

  #rows(): Row[] {
    const rows: Row[] = [];
    for (const [id, e] of this.#entries) {
      // A member this node believes down is still gossiped with its last known heartbeat:
      // peers that heard more recently keep theirs (higher wins), newcomers learn it exists.
      rows.push([id, e.generation, e.heartbeat, ...placementOf(e.info)]);
    }
    return rows;
  }

  #newPhi(): PhiAccrual | undefined {
    if (this.judge.kind !== "phi") return undefined;
    const o = this.judge.options;
    return new PhiAccrual({
      windowSize: o.windowSize,
      minStdDevMs: o.minStdDevMs,
      firstIntervalMs: o.intervalMs,
      acceptablePauseMs: o.acceptablePauseMs,
    });
  }
}

function parseRow(raw: unknown): Row | undefined {
  if (!Array.isArray(raw) || raw.length !== 6) return undefined;
  const [id, generation, heartbeat, weight, zone, datacenter] = raw as unknown[];
  if (typeof id !== "string" || !id) return undefined;
  if (typeof generation !== "number" || typeof heartbeat !== "number") return undefined;
  if (!isPlacement(weight, zone, datacenter)) return undefined;
  return [id, generation, heartbeat, ...([weight, zone, datacenter] as Placement)];
}

const gossipSchema = {
  intervalMs: z.number().positive().finite().default(1000),
  fanout: z.number().int().min(1).max(64).default(3),
};

const gossipOptions: z.ZodType<GossipOptions, unknown> = z
  .object({ ...gossipSchema, failAfterMs: z.number().positive().finite().default(8000) })
  .strict();

const phiOptions: z.ZodType<PhiAccrualOptions, unknown> = z
  .object({
    ...gossipSchema,
    threshold: z.number().positive().finite().default(8),
    windowSize: z.number().int().min(2).max(100_000).default(200),
    minStdDevMs: z.number().positive().finite().default(1000),
    acceptablePauseMs: z.number().min(0).finite().default(2000),
  })
  .strict();

/** The gossip plugin: heartbeat gossip, down after a fixed silence (the textbook design). */
export const gossipPlugin: Plugin<GossipOptions, "detector", undefined> = definePlugin({
  family: "detector",
  name: "gossip",
  description:
    "Heartbeat-counter gossip; a member silent for failAfterMs is down. Simple; the timeout trades detection time for false positives.",
  options: gossipOptions,
  create: (context, options) =>
    new GossipDetector(peerDetectorDeps(context, "gossip"), options, { kind: "timeout", failAfterMs: options.failAfterMs }),
});

/** The phi-accrual plugin: heartbeat gossip judged by phi accrual. */
export const phiAccrualPlugin: Plugin<PhiAccrualOptions, "detector", undefined> = definePlugin({
  family: "detector",
  name: "phi-accrual",
  description: "Heartbeat gossip judged by phi accrual: suspicion adapts to observed heartbeat timing (Cassandra's detector).",
  options: phiOptions,
  create: (context, options) => new GossipDetector(peerDetectorDeps(context, "gossip"), options, { kind: "phi", options }),
});

/**
 * Chooses gossip membership with a timeout.
 *
 * @example
 * ```ts
 * const cluster = await store().use(gossip({ intervalMs: 500, failAfterMs: 4000 })).cluster();
 * ```
 */
export function gossip(options: Partial<GossipOptions> = {}): PluginChoice<GossipOptions> {
  return choose(gossipPlugin, options);
}

/**
 * Chooses gossip membership judged by phi accrual.
 *
 * @example
 * ```ts
 * const cluster = await store().use(phiAccrual({ threshold: 8 })).cluster();
 * ```
 */
export function phiAccrual(options: Partial<PhiAccrualOptions> = {}): PluginChoice<PhiAccrualOptions> {
  return choose(phiAccrualPlugin, options);
}
