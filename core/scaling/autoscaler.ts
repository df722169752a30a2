/**
 * The autoscaler: every round it measures the cluster's load, asks the scaling policy for a
 * decision, checks it against the limits, and has the node provider carry it out, one change at
 * a time.
 *
 * @module
 */
import { type Clock, periodic, type PeriodicTask, type Scheduler } from "../interfaces/clock.ts";
import type { Logger } from "../interfaces/logger.ts";
import type { ClusterLoad, NodeProvider, Scaler, ScalingDecision, ScalingLimits } from "../interfaces/scaler.ts";
import type { NodeId } from "../model/sibling.ts";
import { InvalidConfigError } from "../errors.ts";

/** What the controller did with one decision. */
export type DecisionOutcome = "applied" | "none" | "refused" | "failed" | "cooling-down";

/** One round's decision and what came of it (the last ones are kept for status pages). */
export interface DecisionRecord {
  /** When the round measured the load, ms. */
  readonly at: number;
  /** Ring members then. */
  readonly nodes: number;
  /** Mean requests per second per member then. */
  readonly requestsPerNode: number;
  /** What the policy decided, and why. */
  readonly decision: ScalingDecision;
  /** What the controller did: carried it out, nothing to do, refused it (a limit), failed, or waited. */
  readonly outcome: DecisionOutcome;
  /** Why it was refused or failed; the node added for an applied `add`. */
  readonly detail?: string;
  /** When the change completed or failed, ms. */
  readonly completedAt?: number;
}

/** Options of the {@link Autoscaler}. */
export interface AutoscalerOptions {
  /** Time between rounds, ms. Default 5,000. */
  readonly intervalMs?: number;
  /** Fewest and most ring members. `min` is raised to the replication factor N. */
  readonly limits: ScalingLimits;
  /**
   * Time after a change completes before the next may start, ms, whatever the policy says: it
   * bounds flapping to one change per cool-down. Default 30,000.
   */
  readonly cooldownMs?: number;
  /** After a failed change, time before another is tried, ms. Default 10,000. */
  readonly retryMs?: number;
  /** Never remove the last `minPerDatacenter` members of a datacenter. Default 0. */
  readonly minPerDatacenter?: number;
}

/** What the {@link Autoscaler} works with. */
export interface AutoscalerDeps {
  /** The policy. */
  readonly scaler: Scaler;
  /** Starts and stops nodes. */
  readonly provider: NodeProvider;
  /** The cluster's load now (every ring member). */
  readonly load: () => Promise<ClusterLoad>;
  /** The store's replication factor N: the cluster never goes below it. */
  readonly n: number;
  /** The controller's clock. */
  readonly clock: Clock;
  /** Its rounds. */
  readonly scheduler: Scheduler;
  /** Where decisions and failures are logged. */
  readonly logger: Logger;
}

/** Counts of what the autoscaler did. */
export interface AutoscalerStats {
  /** Nodes added. */
  added: number;
  /** Nodes removed. */
  removed: number;
  /** Changes that failed (and were tried again later if still wanted). */
  failed: number;
  /** Decisions refused for a limit. */
  refused: number;
}

/** Decisions kept for status. */
const KEPT = 100;

/**
 * Runs a {@link Scaler} against a {@link NodeProvider}, safely:
 * - one membership change at a time (a round during a change does nothing);
 * - never fewer than max(`limits.min`, N) members nor more than `limits.max`, and never the last
 *   `minPerDatacenter` of a datacenter;
 * - a node is removed by a leave, which hands its data off before the node stops;
 * - after a change, nothing for `cooldownMs`; after a failure, nothing for `retryMs`, then the
 *   policy decides again with the load then (a failed join or leave changes nothing, so a retry
 *   is a new attempt, never half of one).
 *
 * @example
 * ```ts
 * const autoscaler = new Autoscaler({ scaler, provider, load, n: 3, clock, scheduler, logger },
 *   { limits: { min: 3, max: 8 }, intervalMs: 5000, cooldownMs: 30_000 });
 * autoscaler.start();
 * ```
 */
export class Autoscaler {
  /** What it did so far. */
  readonly stats: AutoscalerStats = { added: 0, removed: 0, failed: 0, refused: 0 };
  readonly #d: AutoscalerDeps;
  readonly #intervalMs: number;
  readonly #limits: ScalingLimits;
  readonly #cooldownMs: number;
  readonly #retryMs: number;
  readonly #minPerDc: number;
  readonly #rounds: PeriodicTask;
  readonly #decisions: DecisionRecord[] = [];
  #lastChangeAt: number | undefined;
  #lastFailureAt: number | undefined;
  #changing: Promise<void> | undefined;

  /** @throws {InvalidConfigError} for limits that cannot hold (max below min or below N) */
  constructor(deps: AutoscalerDeps, options: AutoscalerOptions) {
    this.#d = deps;
    this.#intervalMs = options.intervalMs ?? 5_000;
    const min = Math.max(options.limits.min, deps.n);
    if (!(Number.isInteger(options.limits.max) && options.limits.max >= min)) {
      throw new InvalidConfigError([{
        path: "autoscale.max",
        message:
          `must be an integer of at least ${min} (min ${options.limits.min}, replication factor ${deps.n}), got ${options.limits.max}`,
      }]);
    }
    this.#limits = { min, max: options.limits.max };
    this.#cooldownMs = options.cooldownMs ?? 30_000;
    this.#retryMs = options.retryMs ?? 10_000;
    this.#minPerDc = options.minPerDatacenter ?? 0;
    this.#rounds = periodic(deps.scheduler, this.#intervalMs, () => this.round(), (error) => {
      deps.logger.warn("autoscaler round failed", { error: String(error) });
    });
  }

  /** The limits it keeps (min raised to N). */
  get limits(): ScalingLimits {
    return this.#limits;
  }

  /** The last decisions, oldest first (at most 100). */
  get decisions(): readonly DecisionRecord[] {
    return this.#decisions;
  }

  /** The last decision, if any round ran. */
  get last(): DecisionRecord | undefined {
    return this.#decisions[this.#decisions.length - 1];
  }

  /** True while a node is being added or removed. */
  get changing(): boolean {
    return this.#changing !== undefined;
  }

  /** Starts the rounds. */
  start(): void {
    this.#rounds.start();
  }

  /** Stops the rounds and waits for a change in progress to end. */
  async stop(): Promise<void> {
    this.#rounds.stop();
    await this.#changing;
  }

  /**
   * One round: measure, decide, check, act. Resolves once the decision is recorded; a change it
   * starts runs on (see {@link settled}). During a change it does nothing and returns undefined.
   */
  async round(): Promise<DecisionRecord | undefined> {
    if (this.#changing) return undefined;
    const { scaler, clock } = this.#d;
    const load = await this.#d.load();
    if (this.#changing) return undefined;
    const nodes = load.nodes.length;
    const requestsPerNode = nodes === 0 ? 0 : load.nodes.reduce((sum, n) => sum + n.requestsPerSecond, 0) / nodes;
    const base = { at: load.at, nodes, requestsPerNode: Math.round(requestsPerNode * 10) / 10 };
    const decision = scaler.decide(load, this.#limits, this.#lastChangeAt);
    if (decision.action === "none") return this.#record({ ...base, decision, outcome: "none" });
    const now = clock.now();
    const waitUntil = Math.max(
      this.#lastChangeAt === undefined ? -Infinity : this.#lastChangeAt + this.#cooldownMs,
      this.#lastFailureAt === undefined ? -Infinity : this.#lastFailureAt + this.#retryMs,
    );
    if (now < waitUntil) {
      return this.#record({ ...base, decision, outcome: "cooling-down", detail: `until ${Math.round(waitUntil)} ms` });
    }
    const refusal = this.#refusal(decision, load);
    if (refusal) {
      this.stats.refused++;
      return this.#record({ ...base, decision, outcome: "refused", detail: refusal });
    }
    const record = this.#record({ ...base, decision, outcome: "applied" });
    this.#d.logger.info("autoscaler: scaling", { action: decision.action, reason: decision.reason });
    this.#changing = this.#apply(decision, record).finally(() => (this.#changing = undefined));
    return record;
  }

  /** Resolves when the change in progress (if any) has ended. */
  async settled(): Promise<void> {
    await this.#changing;
  }

  /** Why the decision breaks a limit, or undefined if it may be carried out. */
  #refusal(decision: ScalingDecision, load: ClusterLoad): string | undefined {
    const count = load.nodes.length;
    if (decision.action === "add") {
      return count >= this.#limits.max ? `the cluster has ${count} members, the most allowed (max ${this.#limits.max})` : undefined;
    }
    if (decision.action !== "remove") return undefined;
    if (count <= this.#limits.min) {
      return `the cluster has ${count} members, the fewest allowed (min ${this.#limits.min}, N ${this.#d.n})`;
    }
    const target = load.nodes.find((n) => n.id === decision.node);
    if (!target) return `${decision.node} is not a member`;
    if (this.#minPerDc > 0 && target.datacenter !== undefined) {
      const left = load.nodes.filter((n) => n.datacenter === target.datacenter).length - 1;
      if (left < this.#minPerDc) {
        return `datacenter ${target.datacenter} would keep ${left} members (min ${this.#minPerDc} per datacenter)`;
      }
    }
    return undefined;
  }

  async #apply(decision: ScalingDecision, record: DecisionRecord): Promise<void> {
    const { provider, clock, logger } = this.#d;
    try {
      let detail: NodeId | undefined;
      if (decision.action === "add") {
        detail = await provider.add();
        this.stats.added++;
      } else if (decision.action === "remove") {
        await provider.remove(decision.node);
        detail = decision.node;
        this.stats.removed++;
      }
      this.#lastChangeAt = clock.now();
      this.#replace(record, { ...record, ...(detail ? { detail } : {}), completedAt: this.#lastChangeAt });
      logger.info("autoscaler: scaled", { action: decision.action, node: detail });
    } catch (error) {
      this.stats.failed++;
      this.#lastFailureAt = clock.now();
      const detail = error instanceof Error ? error.message : String(error);
      this.#replace(record, { ...record, outcome: "failed", detail, completedAt: this.#lastFailureAt });
      logger.warn("autoscaler: change failed; the next round decides again", { action: decision.action, error: detail });
    }
  }

  #record(record: DecisionRecord): DecisionRecord {
    this.#decisions.push(record);
    if (this.#decisions.length > KEPT) this.#decisions.splice(0, this.#decisions.length - KEPT);
    return record;
  }

  #replace(old: DecisionRecord, next: DecisionRecord): void {
    const i = this.#decisions.lastIndexOf(old);
    if (i >= 0) this.#decisions[i] = next;
  }
}
