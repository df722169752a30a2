/**
 * Merkle-tree anti-entropy: periodic hash-tree exchanges between the replicas of each range.
 *
 * @module
 */
import { z } from "zod";
import { choose, definePlugin, type Plugin, type PluginChoice } from "../../core/build/plugin.ts";
import { RingforgeError } from "../../core/errors.ts";
import { type AntiEntropy, type AntiEntropyStats } from "../../core/interfaces/anti-entropy.ts";
import { periodic, type PeriodicTask, type Scheduler } from "../../core/interfaces/clock.ts";
import { believedDown, type FailureDetector } from "../../core/interfaces/failure-detector.ts";
import { type Logger } from "../../core/interfaces/logger.ts";
import { type Partitioner } from "../../core/interfaces/partitioner.ts";
import { type Random } from "../../core/interfaces/random.ts";
import type { NodeId } from "../../core/model/sibling.ts";
import type { RangeSync, TokenInterval } from "../../core/interfaces/records.ts";
import { type NodeSettings } from "../../core/model/settings.ts";

/** Options of Merkle anti-entropy. */
export interface MerkleAntiEntropyOptions {
  /** Time between two exchanges started by one node, ms. Default 10,000. */
  readonly intervalMs: number;
  /**
   * Most keys one exchange repairs; the rest waits for the next. With `intervalMs` this caps
   * repair traffic per node (default 1,000 keys per 10 s), so repair never starves clients.
   */
  readonly maxKeysPerExchange: number;
  /** Time limit of each request of an exchange, ms. Default 2,000. */
  readonly timeoutMs: number;
}

/** What a {@link MerkleAntiEntropy} needs. */
export interface MerkleAntiEntropyDeps {
  /** This node's settings (id, N). */
  readonly settings: NodeSettings;
  /** Hash-tree sync with a peer. */
  readonly sync: RangeSync;
  /** The ring: which ranges this node shares with whom. */
  readonly partitioner: Partitioner;
  /** Liveness: only peers believed up are chosen. */
  readonly detector: FailureDetector;
  /** Timers. */
  readonly scheduler: Scheduler;
  /** Where the round-robin over peers starts. */
  readonly random: Random;
  /** Logging. */
  readonly logger: Logger;
}

/**
 * Anti-entropy by hash-tree exchange (Dynamo §4.7; Riak's Tictac AAE for the incremental,
 * XOR-combined trees). Every `intervalMs` the node picks the next peer (round-robin over the
 * live members it shares ranges with), and runs a {@link RangeSync} in both directions over
 * every range both replicate: equal ranges cost one hash each, differing ranges are walked
 * down to the keys that differ, and only those records move. Each side ends with the merge,
 * so no version is lost. One exchange at a time per node, at most `maxKeysPerExchange` keys.
 *
 * @example
 * ```ts
 * const cluster = await createCluster({ nodes: 5, antiEntropy: { name: "merkle", options: { intervalMs: 10_000 } } });
 * ```
 */
export class MerkleAntiEntropy implements AntiEntropy {
  readonly name = "merkle";
  readonly stats: AntiEntropyStats = { exchanges: 0, failures: 0, differing: 0, repaired: 0, bytes: 0 };
  readonly #d: MerkleAntiEntropyDeps;
  readonly #options: MerkleAntiEntropyOptions;
  /** Exchanges on the timer (`exchange()` has its own guard too: anyone may call it). */
  readonly #rounds: PeriodicTask;
  #busy = false;
  #next: number;

  constructor(deps: MerkleAntiEntropyDeps, options: MerkleAntiEntropyOptions) {
    this.#d = deps;
    this.#options = options;
    this.#next = deps.random.int(1 << 30);
    this.#rounds = periodic(deps.scheduler, options.intervalMs, () => this.exchange());
  }

  async start(): Promise<void> {
    this.#rounds.start();
  }

  async stop(): Promise<void> {
    this.#rounds.stop();
  }

  /**
   * Runs one exchange with the next peer now (the timer calls this); resolves when it is done.
   * Returns the peer, or `undefined` if there was none or an exchange was already running.
   */
  async exchange(): Promise<NodeId | undefined> {
    if (this.#busy) return undefined;
    const { settings, partitioner, detector } = this.#d;
    const self = settings.id;
    const shared = new Map<NodeId, TokenInterval[]>();
    for (const range of partitioner.ranges(settings.replication.n)) {
      if (!range.replicas.includes(self)) continue;
      for (const peer of range.replicas) {
        if (peer === self) continue;
        if (!shared.has(peer)) shared.set(peer, []);
        shared.get(peer)!.push(range);
      }
    }
    const peers = [...shared.keys()].filter((p) => !believedDown(detector, p)).sort();
    if (peers.length === 0) return undefined;
    const peer = peers[this.#next++ % peers.length]!;
    this.#busy = true;
    try {
      const result = await this.#d.sync.run(peer, coalesce(shared.get(peer)!), {
        mode: "both",
        maxKeys: this.#options.maxKeysPerExchange,
        timeoutMs: this.#options.timeoutMs,
      });
      this.stats.exchanges++;
      this.stats.differing += result.differing;
      this.stats.repaired += result.pulled + result.pushed;
      this.stats.bytes += result.bytes;
    } catch (error) {
      if (!(error instanceof RingforgeError)) throw error;
      this.stats.failures++;
      this.#d.logger.debug("anti-entropy exchange failed", { peer, error: error.message });
    } finally {
      this.#busy = false;
    }
    return peer;
  }
}

/** Joins ranges that touch (sorted by end, as {@link Partitioner.ranges} returns them). */
function coalesce(ranges: readonly TokenInterval[]): TokenInterval[] {
  const out: { start: number; end: number }[] = [];
  for (const r of ranges) {
    const last = out[out.length - 1];
    if (last && last.end === r.start) last.end = r.end;
    else out.push({ start: r.start, end: r.end });
  }
  // The last may run into the first across the wrap.
  if (out.length > 1 && out[out.length - 1]!.end === out[0]!.start) {
    out[0]!.start = out.pop()!.start;
  }
  return out;
}

const optionsSchema: z.ZodType<MerkleAntiEntropyOptions, unknown> = z
  .object({
    intervalMs: z.number().positive().finite().default(10_000),
    maxKeysPerExchange: z.number().int().positive().default(1000),
    timeoutMs: z.number().positive().finite().default(2000),
  })
  .strict();

/** The "merkle" anti-entropy plugin. */
export const merkleAntiEntropyPlugin: Plugin<MerkleAntiEntropyOptions, "antiEntropy", undefined> = definePlugin({
  family: "antiEntropy",
  name: "merkle",
  description: "Periodic hash-tree exchanges between replicas; only differing keys move, rate-limited.",
  capabilities: { repairs: true },
  options: optionsSchema,
  create: (context, options) =>
    new MerkleAntiEntropy(
      {
        settings: context.settings,
        sync: context.sync,
        partitioner: context.partitioner,
        detector: context.detector,
        scheduler: context.scheduler,
        random: context.random.fork("anti-entropy"),
        logger: context.logger,
      },
      options,
    ),
});

/**
 * Chooses Merkle anti-entropy.
 *
 * @example
 * ```ts
 * const cluster = await store().use(merkleAntiEntropy({ intervalMs: 5000 })).cluster();
 * ```
 */
export function merkleAntiEntropy(options: Partial<MerkleAntiEntropyOptions> = {}): PluginChoice<MerkleAntiEntropyOptions> {
  return choose(merkleAntiEntropyPlugin, options);
}
