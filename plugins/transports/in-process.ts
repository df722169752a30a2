/**
 * The in-process transport: nodes of one process exchange encoded messages through a shared
 * network on the runtime's scheduler, with seeded latency. On a virtual runtime the whole
 * exchange is deterministic.
 *
 * @module
 */
import { z } from "zod";
import {
  errorFromWire,
  errorToWire,
  InvalidMessageError,
  NotRunningError,
  TimeoutError,
  UnreachableNodeError,
  type WireError,
} from "../../core/errors.ts";
import { choose, definePlugin, type Plugin, type PluginChoice } from "../../core/build/plugin.ts";
import { decode, encode } from "../../core/codec/msgpack.ts";
import { type Scheduler, type Timer } from "../../core/interfaces/clock.ts";
import type { Random } from "../../core/interfaces/random.ts";
import { type Message, type MessageHandler, type RequestOptions, type Transport } from "../../core/interfaces/transport.ts";
import type { NodeId } from "../../core/model/sibling.ts";
import { type LatencyDistribution, latencySchema, type LinkBehaviour } from "../../core/model/latency.ts";
import * as exactMath from "../../core/model/exact-math.ts";
import type { NetworkStats, SimulatedNetwork } from "../../core/interfaces/simulated-network.ts";

export type { LatencyDistribution, LinkBehaviour } from "../../core/model/latency.ts";
export type { NetworkStats } from "../../core/interfaces/simulated-network.ts";

/** Options of the in-process network: the behaviour of every link unless overridden. */
export interface InProcessOptions {
  /**
   * One-way delay. `{ min, max }` is shorthand for a uniform distribution. Default uniform
   * 1..5 ms.
   */
  readonly latency: LatencyDistribution;
  /** Probability that a message is lost. Default 0. */
  readonly loss: number;
  /** Probability that a message is delivered twice. Default 0. */
  readonly duplicate: number;
  /**
   * Time a node's processor spends on each message it receives, ms of virtual time. Messages
   * that arrive while it is busy wait in a FIFO queue, so a node's latency grows with its load
   * (one processor per node, an M/G/1 queue). Default 0: nodes are infinitely fast, as the lab
   * always assumed; the autoscaling scenarios set it, so that load per node matters.
   */
  readonly serviceMs: number;
}

const probability = z.number().min(0).max(1);

const optionsSchema: z.ZodType<InProcessOptions, unknown> = z
  .object({
    latency: latencySchema.default({ kind: "uniform", min: 1, max: 5 }),
    loss: probability.default(0),
    duplicate: probability.default(0),
    serviceMs: z.number().min(0).max(10_000).finite().default(0),
  })
  .strict();

/** A frame on the simulated wire. */
type Frame =
  | { readonly kind: "request"; readonly id: number; readonly body: Message }
  | { readonly kind: "reply"; readonly id: number; readonly body: Message }
  | { readonly kind: "error"; readonly id: number; readonly error: WireError }
  | { readonly kind: "oneway"; readonly body: Message };

/**
 * The shared medium of in-process transports: routes encoded frames between endpoints after a
 * seeded delay. Every frame is MessagePack-encoded on send and decoded on delivery, so nodes
 * never share objects and byte counts are real.
 *
 * @example
 * ```ts
 * const network = simulatedNetwork(cluster); // ringforge/sim
 * network.partition([["n1", "n2"], ["n3", "n4", "n5"]]);
 * network.heal();
 * ```
 */
export class InProcessNetwork implements SimulatedNetwork {
  /** Traffic so far. */
  readonly stats: NetworkStats = { messages: 0, bytes: 0, dropped: 0, duplicated: 0 };
  readonly #endpoints = new Map<NodeId, InProcessTransport>();
  /** Messages waiting for each node's processor (with a service time), the one in service first. */
  readonly #waiting = new Map<NodeId, (() => void)[]>();

  /** The scheduler deliveries and timeouts run on. */
  readonly scheduler: Scheduler;
  /** The network's options. */
  readonly options: InProcessOptions;
  readonly #random: Random;
  readonly #defaults: LinkBehaviour;
  readonly #links = new Map<string, Partial<LinkBehaviour>>();
  /** Each link's behaviour as {@link #link} resolves it, until the next change of the links. */
  readonly #resolved = new Map<string, LinkBehaviour>();
  readonly #blocked = new Set<string>();
  #groupOf: Map<NodeId, number> | undefined;

  constructor(scheduler: Scheduler, random: Random, options: InProcessOptions) {
    this.scheduler = scheduler;
    this.#random = random;
    this.options = options;
    this.#defaults = { latency: options.latency, loss: options.loss, duplicate: options.duplicate };
  }

  /**
   * The endpoint of `id` (created on first use). `scheduler` is the node's own (its lane of the
   * virtual scheduler in a simulation): the endpoint's request timeouts and the deliveries of
   * the frames sent to it run there, so a paused node neither times out nor receives until it
   * resumes, and then receives what was sent to it in order. Default: the network's.
   */
  endpoint(id: NodeId, scheduler?: Scheduler): InProcessTransport {
    let endpoint = this.#endpoints.get(id);
    if (!endpoint) this.#endpoints.set(id, endpoint = new InProcessTransport(id, this));
    if (scheduler) endpoint.scheduler = scheduler;
    return endpoint;
  }

  // ---- faults: what the simulator's nemesis drives -------------------------------------

  /**
   * Overrides the behaviour of the links from `from` to `to` (`"*"` for any node). The most
   * specific override wins: (from, to), then (from, *), then (*, to), then (*, *), then the
   * options.
   */
  setLink(from: NodeId | "*", to: NodeId | "*", behaviour: Partial<LinkBehaviour>): void {
    const key = linkKey(from, to);
    this.#links.set(key, { ...this.#links.get(key), ...behaviour });
    this.#resolved.clear();
  }

  /** Removes every link override. */
  resetLinks(): void {
    this.#links.clear();
    this.#resolved.clear();
  }

  /**
   * Splits the network: nodes in different groups cannot exchange messages in either
   * direction (messages in flight when it starts are lost on arrival). Nodes in no group form
   * one more group together. Replaces any earlier partition.
   */
  partition(groups: readonly (readonly NodeId[])[]): void {
    const groupOf = new Map<NodeId, number>();
    groups.forEach((group, i) => {
      for (const id of group) groupOf.set(id, i);
    });
    this.#groupOf = groupOf;
  }

  /** Drops every message from `from` to `to` (one direction only: an asymmetric partition). */
  block(from: NodeId, to: NodeId): void {
    this.#blocked.add(linkKey(from, to));
  }

  /** Ends partitions and blocks (link overrides stay). */
  heal(): void {
    this.#groupOf = undefined;
    this.#blocked.clear();
  }

  /** True if a message from `from` to `to` would cross no partition or block right now. */
  canReach(from: NodeId, to: NodeId): boolean {
    if (from === to) return true;
    if (this.#blocked.has(linkKey(from, to))) return false;
    const groups = this.#groupOf;
    if (!groups) return true;
    return (groups.get(from) ?? -1) === (groups.get(to) ?? -1);
  }

  /** @internal encodes, counts and schedules delivery of a frame. */
  deliver(from: NodeId, to: NodeId, frame: Frame): void {
    const bytes = encode(frame);
    const link = this.#link(from, to);
    this.#send(from, to, frame, bytes, link);
    if (link.duplicate > 0 && this.#random.next() < link.duplicate) {
      this.stats.duplicated++;
      this.#send(from, to, frame, bytes, link);
    }
  }

  #send(from: NodeId, to: NodeId, frame: Frame, bytes: Uint8Array, link: LinkBehaviour): void {
    this.stats.messages++;
    this.stats.bytes += bytes.length;
    if (link.loss > 0 && this.#random.next() < link.loss) {
      this.stats.dropped++;
      return;
    }
    // On the receiver's scheduler: a paused receiver gets the frame when it resumes.
    const receiver = this.#endpoints.get(to)?.scheduler ?? this.scheduler;
    receiver.schedule(this.#delay(link.latency), () => {
      if (!this.canReach(from, to)) {
        this.stats.dropped++;
        return;
      }
      const target = this.#endpoints.get(to);
      if (!target || !target.started) {
        this.stats.dropped++;
        // A stopped process on a reachable host refuses the connection: the requester learns
        // at once (one more trip) instead of waiting for its timeout.
        if (frame.kind === "request") {
          this.deliver(to, from, {
            kind: "error",
            id: frame.id,
            error: errorToWire(new UnreachableNodeError(to, "not running")),
          });
        }
        return;
      }
      if (this.options.serviceMs > 0) {
        this.#process(to, receiver, () => {
          // Still up when its processor gets to it (a crash in between empties the queue).
          const now = this.#endpoints.get(to);
          if (now?.started && this.canReach(from, to)) now.receive(from, decodeFrame(bytes));
          else this.stats.dropped++;
        });
        return;
      }
      target.receive(from, decodeFrame(bytes));
    });
  }

  /** Runs `work` when `node`'s processor is free, holding it for `serviceMs` (FIFO). */
  #process(node: NodeId, scheduler: Scheduler, work: () => void): void {
    let queue = this.#waiting.get(node);
    if (!queue) this.#waiting.set(node, queue = []);
    queue.push(work);
    if (queue.length === 1) this.#serve(node, scheduler, queue);
  }

  #serve(node: NodeId, scheduler: Scheduler, queue: (() => void)[]): void {
    scheduler.schedule(this.options.serviceMs, () => {
      const work = queue.shift()!;
      work();
      if (queue.length > 0) this.#serve(node, scheduler, queue);
    });
  }

  /** Messages waiting for `node`'s processor. */
  queued(node: NodeId): number {
    return this.#waiting.get(node)?.length ?? 0;
  }

  #link(from: NodeId, to: NodeId): LinkBehaviour {
    if (this.#links.size === 0) return this.#defaults;
    const key = linkKey(from, to);
    let behaviour = this.#resolved.get(key);
    if (behaviour === undefined) {
      const l = this.#links;
      behaviour = {
        ...this.#defaults,
        ...l.get(linkKey("*", "*")),
        ...l.get(linkKey("*", to)),
        ...l.get(linkKey(from, "*")),
        ...l.get(key),
      };
      this.#resolved.set(key, behaviour);
    }
    return behaviour;
  }

  #delay(latency: LatencyDistribution): number {
    const r = this.#random;
    switch (latency.kind) {
      case "constant":
        return latency.ms;
      case "uniform":
        return latency.min + r.next() * (latency.max - latency.min);
      case "normal": {
        // Marsaglia's polar method (Box-Muller without the cosine), with one logarithm. Math.log's
        // last bit differs between V8 builds (Node 20 and Deno 2 disagree on about 7% of draws),
        // so one seed could give two histories; exactMath.log gives the same bits everywhere.
        // Math.sqrt is correctly rounded (IEEE 754 requires it), so it is the same everywhere too.
        let u: number;
        let v: number;
        let s: number;
        do {
          u = 2 * r.next() - 1;
          v = 2 * r.next() - 1;
          s = u * u + v * v;
        } while (s >= 1 || s === 0);
        const z = u * Math.sqrt((-2 * exactMath.log(s)) / s);
        return Math.max(0, latency.mean + z * latency.stddev);
      }
      case "exponential":
        return -exactMath.log(1 - r.next()) * latency.mean;
    }
  }

  /** True if `id` has an endpoint on this network. */
  has(id: NodeId): boolean {
    return this.#endpoints.has(id);
  }
}

function linkKey(from: string, to: string): string {
  return `${from}\u0000${to}`;
}

function decodeFrame(bytes: Uint8Array): Frame {
  const frame = decode(bytes, "in-process frame") as Frame;
  if (typeof frame !== "object" || frame === null || typeof (frame as { kind?: unknown }).kind !== "string") {
    throw new InvalidMessageError("frame without a kind");
  }
  return frame;
}

function isMessage(v: unknown): v is Message {
  return typeof v === "object" && v !== null && typeof (v as { type?: unknown }).type === "string";
}

interface Pending {
  readonly to: NodeId;
  readonly resolve: (message: Message) => void;
  readonly reject: (error: unknown) => void;
  readonly timer: Timer;
}

/** One node's endpoint on an {@link InProcessNetwork}. */
export class InProcessTransport implements Transport {
  #handler: MessageHandler | undefined;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();
  /**
   * @internal the node's timers: request timeouts, and deliveries to this endpoint (set by
   * {@link InProcessNetwork.endpoint})
   */
  scheduler: Scheduler;

  /** @internal use {@link InProcessNetwork.endpoint} */
  constructor(
    readonly self: NodeId,
    private readonly network: InProcessNetwork,
  ) {
    this.scheduler = network.scheduler;
  }

  /** True between `start()` and `stop()`. */
  get started(): boolean {
    return this.#handler !== undefined;
  }

  async start(handler: MessageHandler): Promise<void> {
    this.#handler = handler;
  }

  request(to: NodeId, message: Message, options: RequestOptions): Promise<Message> {
    if (!this.started) return Promise.reject(new NotRunningError(`transport of ${this.self}`));
    if (!this.network.has(to)) return Promise.reject(new UnreachableNodeError(to, "unknown node"));
    const id = this.#nextId++;
    return new Promise<Message>((resolve, reject) => {
      const timer = this.scheduler.schedule(options.timeoutMs, () => {
        if (this.#pending.delete(id)) {
          reject(new TimeoutError(`${message.type} to ${to}`, options.timeoutMs, { node: to }));
        }
      });
      this.#pending.set(id, { to, resolve, reject, timer });
      this.network.deliver(this.self, to, { kind: "request", id, body: message });
    });
  }

  send(to: NodeId, message: Message): void {
    if (!this.started || !this.network.has(to)) return;
    this.network.deliver(this.self, to, { kind: "oneway", body: message });
  }

  async stop(): Promise<void> {
    this.#handler = undefined;
    for (const [id, pending] of this.#pending) {
      this.#pending.delete(id);
      pending.timer.cancel();
      pending.reject(new NotRunningError(`transport of ${this.self}`));
    }
  }

  /** @internal a frame arriving from `from`. */
  receive(from: NodeId, frame: Frame): void {
    switch (frame.kind) {
      case "request":
        this.#serve(from, frame.id, frame.body);
        return;
      case "oneway":
        if (this.#handler && isMessage(frame.body)) {
          Promise.resolve()
            .then(() => this.#handler?.(frame.body, from))
            .catch(() => {});
        }
        return;
      case "reply":
      case "error": {
        const pending = this.#pending.get(frame.id);
        if (!pending) return; // timed out already, or a duplicate
        this.#pending.delete(frame.id);
        pending.timer.cancel();
        if (frame.kind === "reply") pending.resolve(frame.body);
        else pending.reject(errorFromWire(frame.error, pending.to));
      }
    }
  }

  #serve(from: NodeId, id: number, body: unknown): void {
    const handler = this.#handler;
    if (!handler) return;
    Promise.resolve()
      .then(() => {
        if (!isMessage(body)) throw new InvalidMessageError("request without a type");
        return handler(body, from);
      })
      .then(
        (reply) => {
          const out: Message = reply ?? { type: "ack" };
          this.network.deliver(this.self, from, { kind: "reply", id, body: out });
        },
        (error: unknown) => {
          const wire = errorToWire(error);
          this.network.deliver(this.self, from, { kind: "error", id, error: wire });
        },
      );
  }
}

/** The in-process transport plugin. */
export const inProcessPlugin: Plugin<InProcessOptions, "transport", InProcessNetwork> = definePlugin({
  family: "transport",
  name: "in-process",
  description: "Nodes in one process exchange encoded messages with seeded latency; deterministic on virtual time.",
  // Its shared service is the network the simulator schedules and injects faults into.
  capabilities: { simulatedNetwork: true },
  options: optionsSchema,
  createShared: ({ scheduler, random }, options) => new InProcessNetwork(scheduler, random.fork("network"), options),
  create: ({ settings, scheduler, shared: network }) => network.endpoint(settings.id, scheduler),
});

/**
 * Chooses the in-process transport (the default for in-process clusters).
 *
 * @example
 * ```ts
 * const cluster = await store().use(inProcess({ latency: { kind: "normal", mean: 10, stddev: 4 }, loss: 0.01 })).cluster();
 * ```
 */
export function inProcess(
  options: Partial<Omit<InProcessOptions, "latency">> & { latency?: LatencyDistribution | { min: number; max: number } } = {},
): PluginChoice<InProcessOptions> {
  return choose(inProcessPlugin, options);
}
