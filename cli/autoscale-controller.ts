/**
 * The autoscaler of `ringforge cluster --autoscale`: the core `Autoscaler` on the system clock,
 * reading the load from the running nodes, and telling every node its last decision
 * (`POST /admin/scaler`) so `ringforge status` and the live view show what it did and why.
 *
 * @module
 */
import type { ScalerDecisionStatus, ScalerStatus } from "../client/node-status.ts";
import type { LogFields, Logger } from "../core/interfaces/logger.ts";
import type { NodeProvider, Scaler } from "../core/interfaces/scaler.ts";
import { systemClock, systemScheduler } from "../core/runtime/system-runtime.ts";
import { Autoscaler, type DecisionRecord } from "../core/scaling/autoscaler.ts";
import { clusterLoadOf, fetchClusterStatus } from "./autoscale-load.ts";
import { decisionLine } from "./autoscale-status-line.ts";
import type { AutoscaleSpec } from "./flag-parsers.ts";

/** What {@link startClusterAutoscaler} runs with. */
export interface ClusterAutoscalerOptions {
  /** The limits and times of `--autoscale`. */
  readonly spec: AutoscaleSpec;
  /** The policy (the store's `scaler` plugin). */
  readonly scaler: Scaler;
  /** Starts and stops nodes. */
  readonly provider: NodeProvider;
  /** The store's replication factor N (the cluster never goes below it). */
  readonly n: number;
  /**
   * The client URLs of the running nodes: the load is read from the first that answers, and
   * every one is told each decision.
   */
  readonly urls: () => readonly string[];
  /** The nodes' bearer token, if they need one. */
  readonly token?: string;
  /** Where the decisions that change something, and failures, are printed. */
  readonly io: { readonly out: (text: string) => void; readonly err: (text: string) => void };
}

/** A running {@link startClusterAutoscaler}. */
export interface ClusterAutoscaler {
  /** The controller (its `decisions`, `last`, `stats`). */
  readonly autoscaler: Autoscaler;
  /**
   * Stops the rounds and the reports at once; resolves when a change in progress has ended
   * (stop the nodes meanwhile to end it sooner: an add then fails, as its process exits).
   */
  stop(): Promise<void>;
}

/** How often the last decision is checked for news to print and send. */
const WATCH_MS = 200;
/** How long a node may take to accept a decision. */
const REPORT_TIMEOUT_MS = 2000;
/** The same warning is printed at most once per this. */
const WARNING_REPEAT_MS = 30_000;

/**
 * Starts the autoscaler: a round every `spec.intervalMs`, one change at a time, within
 * `spec.min`..`spec.max` (min raised to N).
 *
 * @throws {InvalidConfigError} for limits that cannot hold (max below N)
 *
 * @example
 * ```ts
 * const running = startClusterAutoscaler({ spec, scaler, provider, n: 3, urls: () => nodes.urls(), io });
 * // on Ctrl-C:
 * const stopped = running.stop();
 * await nodes.stopAll();
 * await stopped;
 * ```
 */
export function startClusterAutoscaler(options: ClusterAutoscalerOptions): ClusterAutoscaler {
  const { spec, scaler, provider, io, token } = options;
  const autoscaler = new Autoscaler(
    {
      scaler,
      provider,
      load: async () => clusterLoadOf(await fetchClusterStatus(options.urls(), token), systemClock.now()),
      n: options.n,
      clock: systemClock,
      scheduler: systemScheduler,
      logger: warningsTo(io.err),
    },
    { limits: { min: spec.min, max: spec.max }, intervalMs: spec.intervalMs, cooldownMs: spec.cooldownMs, retryMs: spec.retryMs },
  );
  const limits = autoscaler.limits;
  let seen: DecisionRecord | undefined;
  let printed = "";
  let sending: Promise<void> | undefined;
  let pending = false;

  const send = (): void => {
    if (sending) {
      pending = true;
      return;
    }
    const status = scalerStatusOf(autoscaler.decisions, scaler.name, provider.name, limits, systemClock.now());
    if (!status) return;
    const body = JSON.stringify(status);
    sending = Promise.all(options.urls().map((url) => report(url, body, token))).then(() => {
      sending = undefined;
      if (pending) {
        pending = false;
        send();
      }
    });
  };

  const watch = setInterval(() => {
    const last = autoscaler.last;
    if (!last || last === seen) return;
    seen = last;
    // Say what changes something, once: not every quiet round, nor the same refusal each round.
    if (last.outcome !== "none" && last.outcome !== "cooling-down") {
      const line = `scaler: ${decisionLine(decisionStatusOf(last, systemClock.now()), false)}`;
      if (line !== printed) io.out(`ringforge: ${line}\n`);
      printed = line;
    }
    send();
  }, WATCH_MS);
  (watch as { unref?: () => void }).unref?.();
  autoscaler.start();

  return {
    autoscaler,
    async stop() {
      clearInterval(watch);
      await autoscaler.stop();
      await sending;
    },
  };
}

/**
 * The autoscaler's state as the wire carries it (`POST /admin/scaler`, `GET /status` `scaler`):
 * the last of `decisions` and, if it is not that one, the last change (applied or failed), aged
 * as of `now` (the autoscaler's clock).
 */
export function scalerStatusOf(
  decisions: readonly DecisionRecord[],
  policy: string,
  provider: string,
  limits: { readonly min: number; readonly max: number },
  now: number,
): ScalerStatus | undefined {
  const last = decisions[decisions.length - 1];
  if (!last) return undefined;
  let change: DecisionRecord | undefined;
  for (let i = decisions.length - 1; i >= 0 && !change; i--) {
    if (decisions[i]!.outcome === "applied" || decisions[i]!.outcome === "failed") change = decisions[i];
  }
  return {
    policy,
    provider,
    limits: { min: limits.min, max: limits.max },
    last: decisionStatusOf(last, now),
    ...(change && change !== last ? { lastChange: decisionStatusOf(change, now) } : {}),
  };
}

/** One decision as the wire carries it, aged as of `now`. */
function decisionStatusOf(record: DecisionRecord, now: number): ScalerDecisionStatus {
  const { decision } = record;
  return {
    at: record.at,
    nodes: record.nodes,
    requestsPerNode: record.requestsPerNode,
    action: decision.action,
    ...(decision.action === "remove" ? { node: decision.node } : {}),
    reason: decision.reason.slice(0, 2000),
    outcome: record.outcome,
    ...(record.detail === undefined ? {} : { detail: record.detail.slice(0, 2000) }),
    ...(record.completedAt === undefined ? {} : { completedAt: record.completedAt }),
    ageMs: Math.max(0, now - (record.completedAt ?? record.at)),
  };
}

/** Sends one node the decision; a node that does not take it is told at the next one. */
async function report(url: string, body: string, token: string | undefined): Promise<void> {
  try {
    const response = await fetch(`${url}/admin/scaler`, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      body,
      signal: AbortSignal.timeout(REPORT_TIMEOUT_MS),
    });
    await response.body?.cancel();
  } catch {
    // a node stopping or leaving; the status line is a convenience, never worth a failure
  }
}

/** A logger printing the autoscaler's warnings and errors (each text at most every 30 s); info is left to the decision lines. */
function warningsTo(err: (text: string) => void): Logger {
  const lastPrinted = new Map<string, number>();
  const line = (message: string, fields?: LogFields) => {
    const text = `ringforge: ${message}${fields ? ` (${Object.values(fields).map(String).join("; ")})` : ""}`;
    const now = systemClock.now();
    if ((lastPrinted.get(text) ?? -Infinity) > now - WARNING_REPEAT_MS) return;
    if (lastPrinted.size >= 100) { for (const [t, at] of lastPrinted) if (at <= now - WARNING_REPEAT_MS) lastPrinted.delete(t); }
    lastPrinted.set(text, now);
    err(`${text}\n`);
  };
  return { debug() {}, info() {}, warn: line, error: line };
}
