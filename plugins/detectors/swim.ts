/**
 * SWIM (Das, Gupta, Motivala, "SWIM: Scalable Weakly-consistent Infection-style Process Group
 * Membership Protocol", 2002), with the suspicion mechanism of §4.2 and the time-bounded
 * round-robin probing of §4.3.
 *
 * @module
 */
import { z } from "zod";
import { choose, definePlugin, type Plugin, type PluginChoice } from "../../core/build/plugin.ts";
import { InvalidMessageError, RingforgeError } from "../../core/errors.ts";
import { type Clock, every, type Scheduler, type Timer } from "../../core/interfaces/clock.ts";
import { type FailureDetector, type MembershipEvent, type MemberState, type MemberStatus } from "../../core/interfaces/failure-detector.ts";
import type { Logger } from "../../core/interfaces/logger.ts";
import type { MemberInfo } from "../../core/interfaces/partitioner.ts";
import type { Random } from "../../core/interfaces/random.ts";
import type { Message, Transport } from "../../core/interfaces/transport.ts";
import type { NodeId } from "../../core/model/sibling.ts";
import * as exactMath from "../../core/model/exact-math.ts";
import {
  isPlacement,
  memberFrom,
  type PeerDetectorDeps,
  peerDetectorDeps,
  type Placement,
  placementOf,
  sampleDistinct,
} from "./member-wire.ts";

/** Options of {@link SwimDetector}. */
export interface SwimOptions {
  /** Protocol period, ms: one member is probed per period. Default 1000. */
  readonly periodMs: number;
  /** How long a direct ping waits for its ack before asking others, ms. Default 300. */
  readonly pingTimeoutMs: number;
  /** Members asked to ping a silent member on our behalf (SWIM's k). Default 3. */
  readonly indirectProbes: number;
  /**
   * Suspicion timeout as a multiple of `log10(members) * periodMs` (memberlist's
   * SuspicionMult): a suspect not refuted in that time is declared dead. Default 4.
   */
  readonly suspicionMultiplier: number;
  /**
   * How many times each membership update is piggy-backed, as a multiple of
   * `log10(members + 1)` (SWIM's λ log n). Default 4.
   */
  readonly retransmitMultiplier: number;
  /** Most updates piggy-backed on one message. Default 8. */
  readonly maxPiggyback: number;
  /**
   * Every this many ms a node exchanges its whole member table with one random live member
   * (memberlist's push-pull), 0 to never. Piggy-backed updates stop after their retransmit
   * budget, so a node that missed a refutation would otherwise keep a live member dead until it
   * happens to ping it. Default 10,000.
   */
  readonly syncIntervalMs: number;
}

/** SWIM's member states, mapped onto ringforge's: alive = up, suspect, dead = down. */
type SwimState = "alive" | "suspect" | "dead";

interface Member {
  info: MemberInfo;
  state: SwimState;
  incarnation: number;
  /** Local time of its last ack or message to this node (what the live view shows as last contact). */
  heardAt?: number;
  suspicionTimer?: Timer;
}

/** A membership update as it is piggy-backed. */
type Update = [id: NodeId, state: SwimState, incarnation: number, weight: number | null, zone: string | null, datacenter: string | null];

const STATUS: Record<SwimState, MemberStatus> = { alive: "up", suspect: "suspect", dead: "down" };

/**
 * SWIM failure detection and membership. Each period a node pings the next member of a shuffled
 * round-robin list; without an ack within `pingTimeoutMs` it asks `indirectProbes` others to
 * ping it (ping-req); still nothing by the end of the period, the member becomes suspect. A
 * suspect that does not refute the suspicion (by gossiping itself alive with a higher
 * incarnation) within the suspicion timeout is declared dead. Every state change spreads by
 * piggy-backing on pings and acks, so dissemination costs no extra messages, and detection time
 * and per-node load do not grow with the cluster (SWIM §3–4).
 *
 * @example
 * ```ts
 * const cluster = await store().nodes(64).use(swim()).cluster();
 * cluster.node("n1").services.detector.onChange((e) => console.log(e.member.id, e.member.status));
 * ```
 */
export class SwimDetector implements FailureDetector {
  readonly #self: NodeId;
  readonly #members = new Map<NodeId, Member>();
  readonly #listeners = new Set<(event: MembershipEvent) => void>();
  /** Updates to piggy-back, with how often each was sent. */
  readonly #updates = new Map<NodeId, { update: Update; sent: number }>();
  #order: NodeId[] = [];
  #next = 0;
  #timer: Timer | undefined;
  #syncTimer: Timer | undefined;
  #running = false;

  readonly #clock: Clock;
  readonly #scheduler: Scheduler;
  readonly #random: Random;
  readonly #transport: Transport;
  readonly #logger: Logger;

  /**
   * @param deps this node, the seeds and the runtime (see {@link peerDetectorDeps})
   * @param options the protocol's knobs
   */
  constructor(
    deps: PeerDetectorDeps,
    private readonly options: SwimOptions,
  ) {
    const { self, seeds, router } = deps;
    this.#clock = deps.clock;
    this.#scheduler = deps.scheduler;
    this.#random = deps.random;
    this.#transport = deps.transport;
    this.#logger = deps.logger;
    this.#self = self.id;
    for (const info of [self, ...seeds.filter((m) => m.id !== self.id)]) {
      this.#members.set(info.id, { info, state: "alive", incarnation: 0 });
    }
    router.on("swim.", (message, from) => this.#receive(message, from));
  }

  /** The probe period, `periodMs`. */
  get periodMs(): number {
    return this.options.periodMs;
  }

  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    // A restarted node must outrank what others remember of its previous life (possibly
    // "dead" at some incarnation): incarnations start at the clock, which only moves forward.
    const me = this.#members.get(this.#self)!;
    me.incarnation = Math.max(me.incarnation + 1, Math.floor(this.#clock.now()));
    this.#queue(me);
    this.#timer = every(this.#scheduler, this.options.periodMs, () => void this.#probe());
    if (this.options.syncIntervalMs > 0) this.#syncTimer = every(this.#scheduler, this.options.syncIntervalMs, () => void this.#sync());
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#syncTimer?.cancel();
    this.#syncTimer = undefined;
    for (const m of this.#members.values()) m.suspicionTimer?.cancel();
  }

  members(): readonly MemberState[] {
    return [...this.#members.values()].map((m) => ({
      ...m.info,
      status: STATUS[m.state],
      incarnation: m.incarnation,
      ...(m.heardAt === undefined ? {} : { lastHeardAt: m.heardAt }),
    }));
  }

  isAlive(node: NodeId): boolean {
    return this.#members.get(node)?.state === "alive";
  }

  onChange(listener: (event: MembershipEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  // ---- probing (SWIM §3.1, §4.3) -----------------------------------------------------------

  async #probe(): Promise<void> {
    // Now and then ping a member believed dead (as gossip does): the ping carries the verdict,
    // so a member buried by mistake learns it and refutes; a truly dead one just stays silent.
    const dead = [...this.#members.values()].filter((m) => m.state === "dead").map((m) => m.info.id);
    if (dead.length > 0 && this.#random.next() < dead.length / this.#members.size) {
      void this.#ping(dead[this.#random.int(dead.length)]!, this.options.pingTimeoutMs);
    }
    const target = this.#nextTarget();
    if (!target) return;
    const period = this.options.periodMs;
    if (await this.#ping(target, this.options.pingTimeoutMs)) return;
    // No direct ack: ask k others to probe it, and wait until the end of the period.
    const helpers = sampleDistinct(
      this.#random,
      [...this.#members.values()].filter((m) => m.state === "alive" && m.info.id !== this.#self && m.info.id !== target).map((m) =>
        m.info.id
      ),
      this.options.indirectProbes,
    );
    const remaining = Math.max(1, period - this.options.pingTimeoutMs);
    const acks = await Promise.all(
      helpers.map((helper) =>
        this.#transport
          .request(helper, { type: "swim.ping-req", target, updates: this.#piggyback() }, { timeoutMs: remaining })
          .then(
            (reply) => {
              this.#absorb(reply.updates);
              return reply.type === "swim.ack";
            },
            () => false,
          )
      ),
    );
    if (!this.#running || acks.some(Boolean)) return;
    const member = this.#members.get(target);
    if (member && member.state === "alive") this.#suspect(member, member.incarnation);
  }

  /** Pings `target`; true if it acked in time. */
  async #ping(target: NodeId, timeoutMs: number): Promise<boolean> {
    try {
      const reply = await this.#transport.request(target, { type: "swim.ping", updates: this.#piggyback(target) }, { timeoutMs });
      this.#absorb(reply.updates);
      if (reply.type === "swim.ack") this.#heard(target);
      return reply.type === "swim.ack";
    } catch (error) {
      if (!(error instanceof RingforgeError)) throw error;
      return false;
    }
  }

  #nextTarget(): NodeId | undefined {
    if (this.#next >= this.#order.length) {
      // A new random permutation each pass: every member is probed once per pass, so a failure
      // is detected within a bounded number of periods (SWIM §4.3).
      this.#order = sampleDistinct(this.#random, [...this.#members.keys()].filter((id) => id !== this.#self), Infinity);
      this.#next = 0;
    }
    while (this.#next < this.#order.length) {
      const id = this.#order[this.#next++]!;
      const m = this.#members.get(id);
      if (m && m.state !== "dead") return id;
    }
    return undefined;
  }

  /** Push-pull: send the whole table to one random live member and take its table back. */
  async #sync(): Promise<void> {
    const peers = [...this.#members.values()].filter((m) => m.state === "alive" && m.info.id !== this.#self).map((m) => m.info.id);
    if (peers.length === 0) return;
    const peer = peers[this.#random.int(peers.length)]!;
    try {
      const reply = await this.#transport.request(peer, { type: "swim.sync", updates: this.#table() }, {
        timeoutMs: this.options.periodMs,
      });
      this.#absorb(reply.updates);
    } catch (error) {
      if (!(error instanceof RingforgeError)) throw error;
    }
  }

  #heard(id: NodeId): void {
    const member = this.#members.get(id);
    if (member) member.heardAt = this.#clock.now();
  }

  /** Every member as an update (what push-pull sends). */
  #table(): Update[] {
    return [...this.#members.values()].map((m) => [m.info.id, m.state, m.incarnation, ...placementOf(m.info)]);
  }

  // ---- messages ----------------------------------------------------------------------------

  async #receive(message: Message, from: NodeId): Promise<Message> {
    this.#absorb(message.updates);
    this.#heard(from);
    switch (message.type) {
      case "swim.ping":
        return { type: "swim.ack", updates: this.#piggyback(from) };
      case "swim.sync":
        return { type: "swim.sync", updates: this.#table() };
      case "swim.ping-req": {
        const target = message.target;
        if (typeof target !== "string") throw new InvalidMessageError("swim.ping-req without a target");
        const ok = await this.#ping(target, Math.max(1, this.options.periodMs - this.options.pingTimeoutMs) / 2);
        return { type: ok ? "swim.ack" : "swim.nack", updates: this.#piggyback(from) };
      }
      default:
        throw new InvalidMessageError(`unexpected SWIM message ${message.type} from ${from}`);
    }
  }

  /** Applies piggy-backed updates (SWIM §4.2's precedence rules). */
  #absorb(raw: unknown): void {
    if (!Array.isArray(raw)) return;
    for (const item of raw) {
      const update = parseUpdate(item);
      if (!update) continue;
      const [id, state, incarnation, weight, zone, datacenter] = update;
      if (id === this.#self) {
        // Someone suspects or buried us: refute with a higher incarnation (§4.2). If we refuted
        // that incarnation already, the sender missed it: spread the refutation again (it also
        // goes first on our reply to the sender).
        const me = this.#members.get(this.#self)!;
        if (state !== "alive" && this.#running) {
          if (incarnation >= me.incarnation) me.incarnation = incarnation + 1;
          this.#queue(me);
        }
        continue;
      }
      let member = this.#members.get(id);
      if (!member) {
        const info = memberFrom(id, [weight, zone, datacenter]);
        member = { info, state, incarnation };
        this.#members.set(id, member);
        this.#queue(member);
        this.#emit(member, undefined);
        if (state === "suspect") this.#startSuspicion(member);
        continue;
      }
      if (overrides(state, incarnation, member)) {
        if (state === "suspect") this.#suspect(member, incarnation);
        else this.#transition(member, state, incarnation);
      }
    }
  }

  #suspect(member: Member, incarnation: number): void {
    this.#transition(member, "suspect", incarnation);
    this.#startSuspicion(member);
  }

  #startSuspicion(member: Member): void {
    member.suspicionTimer?.cancel();
    const n = Math.max(2, this.#members.size);
    // exactMath.log10: Math.log10's last bit differs between runtimes, and this is a timer's delay.
    const timeout = Math.max(1, this.options.suspicionMultiplier * exactMath.log10(n)) * this.options.periodMs;
    const incarnation = member.incarnation;
    member.suspicionTimer = this.#scheduler.schedule(timeout, () => {
      if (member.state === "suspect" && member.incarnation === incarnation && this.#running) {
        this.#transition(member, "dead", incarnation);
      }
    });
  }

  #transition(member: Member, state: SwimState, incarnation: number): void {
    const previous = member.state;
    member.incarnation = incarnation;
    if (state !== "suspect") member.suspicionTimer?.cancel();
    this.#queue(member, state);
    if (previous === state) return;
    member.state = state;
    this.#logger.info(`member ${STATUS[state]}`, { id: member.info.id, incarnation });
    this.#emit(member, STATUS[previous]);
  }

  // ---- dissemination (SWIM §4.1) -------------------------------------------------------------

  #queue(member: Member, state: SwimState = member.state): void {
    const { info } = member;
    this.#updates.set(info.id, {
      update: [info.id, state, member.incarnation, ...placementOf(info)],
      sent: 0,
    });
  }

  /**
   * Updates to piggy-back on a message to or from `peer`. If this node believes `peer` suspect
   * or dead, that belief goes first, whatever the retransmit budget: it is the one update the
   * peer must see to refute it. Without this, a false suspicion whose update ran out of
   * retransmissions before reaching its subject would never be refuted.
   */
  #piggyback(peer?: NodeId): Update[] {
    const limit = Math.ceil(this.options.retransmitMultiplier * exactMath.log10(this.#members.size + 1));
    const chosen = [...this.#updates.values()].sort((a, b) => a.sent - b.sent).slice(0, this.options.maxPiggyback);
    for (const entry of chosen) {
      entry.sent++;
      if (entry.sent >= limit) this.#updates.delete(entry.update[0]);
    }
    const updates = chosen.map((e) => e.update);
    const member = peer === undefined ? undefined : this.#members.get(peer);
    if (member && member.state !== "alive" && !updates.some((u) => u[0] === peer)) {
      updates.unshift([peer!, member.state, member.incarnation, ...placementOf(member.info)]);
    }
    return updates;
  }

  #emit(member: Member, previous: MemberStatus | undefined): void {
    const event: MembershipEvent = { member: { ...member.info, status: STATUS[member.state] }, previous };
    for (const listener of this.#listeners) listener(event);
  }
}

/** SWIM §4.2: which update wins over what a member knows. */
function overrides(state: SwimState, incarnation: number, member: Member): boolean {
  switch (state) {
    case "alive":
      return incarnation > member.incarnation;
    case "suspect":
      return member.state === "alive" ? incarnation >= member.incarnation : incarnation > member.incarnation && member.state !== "dead";
    case "dead":
      return member.state !== "dead" ? incarnation >= member.incarnation : false;
  }
}

function parseUpdate(raw: unknown): Update | undefined {
  if (!Array.isArray(raw) || raw.length !== 6) return undefined;
  const [id, state, incarnation, weight, zone, datacenter] = raw as unknown[];
  if (typeof id !== "string" || !id) return undefined;
  if (state !== "alive" && state !== "suspect" && state !== "dead") return undefined;
  if (typeof incarnation !== "number" || !Number.isFinite(incarnation)) return undefined;
  if (!isPlacement(weight, zone, datacenter)) return undefined;
  return [id, state, incarnation, ...([weight, zone, datacenter] as Placement)];
}

const optionsSchema: z.ZodType<SwimOptions, unknown> = z
  .object({
    periodMs: z.number().positive().finite().default(1000),
    pingTimeoutMs: z.number().positive().finite().default(300),
    indirectProbes: z.number().int().min(0).max(16).default(3),
    suspicionMultiplier: z.number().positive().finite().default(4),
    retransmitMultiplier: z.number().positive().finite().default(4),
    maxPiggyback: z.number().int().min(1).max(256).default(8),
    syncIntervalMs: z.number().min(0).finite().default(10_000),
  })
  .strict()
  .refine((o) => o.pingTimeoutMs < o.periodMs, { message: "pingTimeoutMs must be shorter than periodMs", path: ["pingTimeoutMs"] });

/** The SWIM plugin. */
export const swimPlugin: Plugin<SwimOptions, "detector", undefined> = definePlugin({
  family: "detector",
  name: "swim",
  description:
    "SWIM: random probes with indirect ping-req, suspicion refuted by incarnation, updates piggy-backed; constant load per node.",
  options: optionsSchema,
  create: (context, options) => new SwimDetector(peerDetectorDeps(context, "swim"), options),
});

/**
 * Chooses SWIM failure detection.
 *
 * @example
 * ```ts
 * const cluster = await store().use(swim({ periodMs: 500 })).cluster();
 * ```
 */
export function swim(options: Partial<SwimOptions> = {}): PluginChoice<SwimOptions> {
  return choose(swimPlugin, options);
}
