/**
 * The in-process transport: nodes of one process exchange encoded messages through a shared
 * network on the runtime's scheduler, with seeded latency. On a virtual runtime the whole
 * exchange is deterministic.
 *
 * @module
 */
import { instanceCachingFactory } from "../../core/build/di.ts";
import { z } from "zod";
import {
  InvalidMessageError,
  NotRunningError,
  TimeoutError,
  UnreachableNodeError,
  type WireError,
  errorFromWire,
  errorToWire,
} from "../../core/errors.ts";
import { type Plugin, type PluginChoice, choose, definePlugin } from "../../core/build/plugin.ts";
import { RUNTIME } from "../../core/build/tokens.ts";
import { decode, encode } from "../../core/codec/msgpack.ts";
import { SCHEDULER, type Scheduler, type Timer } from "../../core/interfaces/clock.ts";
import type { Random } from "../../core/interfaces/random.ts";
import {
  type Message,
  type MessageHandler,
  type RequestOptions,
  TRANSPORT,
  type Transport,
} from "../../core/interfaces/transport.ts";
import type { NodeId } from "../../core/model/sibling.ts";
import { NODE_SETTINGS, type NodeSettings } from "../../core/node/settings.ts";
import type { Runtime } from "../../core/runtime/runtime.ts";

/** Options of the in-process network. */
export interface InProcessOptions {
  /** One-way delay of every message, uniform in [min, max] ms. Default 1..5. */
  readonly latency: LatencyRange;
}

/** A range of one-way message delays. */
export interface LatencyRange {
  /** Shortest delay, ms (>= 0). */
  readonly min: number;
  /** Longest delay, ms (>= min). */
  readonly max: number;
}

const optionsSchema: z.ZodType<InProcessOptions, unknown> = z
  .object({
    latency: z
      .object({ min: z.number().min(0).finite(), max: z.number().min(0).finite() })
      .strict()
      .refine((l) => l.min <= l.max, "latency.min must not exceed latency.max")
      .default({ min: 1, max: 5 }),
  })
  .strict();

/** Traffic counters of an {@link InProcessNetwork}. */
export interface NetworkStats {
  /** Messages sent (requests, replies and one-way). */
  messages: number;
  /** Encoded bytes sent. */
  bytes: number;
  /** Messages dropped because the destination was stopped or unknown. */
  dropped: number;
}

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
 */
export class InProcessNetwork {
  /** Traffic so far. */
  readonly stats: NetworkStats = { messages: 0, bytes: 0, dropped: 0 };
  readonly #endpoints = new Map<NodeId, InProcessTransport>();

  /** The scheduler deliveries and timeouts run on. */
  readonly scheduler: Scheduler;
  /** The network's options. */
  readonly options: InProcessOptions;
  readonly #random: Random;

  constructor(scheduler: Scheduler, random: Random, options: InProcessOptions) {
    this.scheduler = scheduler;
    this.#random = random;
    this.options = options;
  }

  /** The endpoint of `id` (created on first use). */
  endpoint(id: NodeId): InProcessTransport {
    let endpoint = this.#endpoints.get(id);
    if (!endpoint) this.#endpoints.set(id, (endpoint = new InProcessTransport(id, this)));
    return endpoint;
  }

  /** @internal encodes, counts and schedules delivery of a frame. */
  deliver(from: NodeId, to: NodeId, frame: Frame): void {
    const bytes = encode(frame);
    this.stats.messages++;
    this.stats.bytes += bytes.length;
    const { min, max } = this.options.latency;
    const delay = min + this.#random.next() * (max - min);
    this.scheduler.schedule(delay, () => {
      const target = this.#endpoints.get(to);
      if (!target || !target.started) {
        this.stats.dropped++;
        // A stopped process refuses connections: tell a waiting requester at once.
        if (frame.kind === "request") {
          this.endpoint(from).receive(to, {
            kind: "error",
            id: frame.id,
            error: errorToWire(new UnreachableNodeError(to, "not running")),
          });
        }
        return;
      }
      target.receive(from, decodeFrame(bytes));
    });
  }

  /** True if `id` has an endpoint on this network. */
  has(id: NodeId): boolean {
    return this.#endpoints.has(id);
  }
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

  /** @internal use {@link InProcessNetwork.endpoint} */
  constructor(
    readonly self: NodeId,
    private readonly network: InProcessNetwork,
  ) {}

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
      const timer = this.network.scheduler.schedule(options.timeoutMs, () => {
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

/** Injection token of the shared {@link InProcessNetwork} (registered on the root container). */
export const IN_PROCESS_NETWORK: unique symbol = Symbol.for("ringforge.InProcessNetwork");

/** The in-process transport plugin. */
export const inProcessPlugin: Plugin<InProcessOptions> = definePlugin({
  family: "transport",
  name: "in-process",
  description: "Nodes in one process exchange encoded messages with seeded latency; deterministic on virtual time.",
  options: optionsSchema,
  registerShared(root, options) {
    root.register(IN_PROCESS_NETWORK, {
      useFactory: instanceCachingFactory(
        (c) => new InProcessNetwork(c.resolve<Scheduler>(SCHEDULER), c.resolve<Runtime>(RUNTIME).random.fork("network"), options),
      ),
    });
  },
  register(container) {
    container.register(TRANSPORT, {
      useFactory: instanceCachingFactory((c) =>
        c.resolve<InProcessNetwork>(IN_PROCESS_NETWORK).endpoint(c.resolve<NodeSettings>(NODE_SETTINGS).id),
      ),
    });
  },
});

/**
 * Chooses the in-process transport (the default for in-process clusters).
 *
 * @example
 * ```ts
 * const cluster = await store().use(inProcess({ latency: { min: 5, max: 50 } })).cluster();
 * ```
 */
export function inProcess(options: Partial<InProcessOptions> = {}): PluginChoice<InProcessOptions> {
  return choose(inProcessPlugin, options);
}
