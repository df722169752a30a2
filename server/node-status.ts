/**
 * What a running node reports about itself: the `GET /status` document (its types are the wire
 * format in client/node-status.ts), and the counters `GET /metrics` exports. Read from the
 * node's services; nothing here changes the node.
 *
 * @module
 */
import { z } from "zod";
import type { ResolvedStore } from "../core/build/config.ts";
import { PLUGIN_FAMILIES } from "../core/build/plugin.ts";
import { InvalidRequestError } from "../core/errors.ts";
import type { NodeId } from "../core/model/sibling.ts";
import type { RingforgeNode } from "../core/node/ringforge-node.ts";
import type { ClockStatus, MemberStatusRow, NodeStatus, ScalerDecisionStatus, ScalerStatus, TrafficStatus } from "../client/node-status.ts";

export type {
  ClockSetting,
  ClockStatus,
  ClusterMemberStatus,
  ClusterStatus,
  HintsStatus,
  MemberStatusRow,
  NodeStatus,
  OperationTraffic,
  RecordsStatus,
  ScalerDecisionStatus,
  ScalerStatus,
  TrafficStatus,
} from "../client/node-status.ts";

/** The numeric fields of a stats object (what a plugin exposes as `stats`). */
export function numericFields(value: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (typeof value !== "object" || value === null) return out;
  for (const [k, v] of Object.entries(value)) if (typeof v === "number" && Number.isFinite(v)) out[k] = v;
  return out;
}

interface HintSource {
  readonly hints?: { stored: number; delivered: number; dropped: number };
  readonly pendingHints?: number;
}

/** What an engine may expose: counters since start, and figures of the moment (the LSM engine's levels). */
interface EngineFigures {
  readonly stats?: unknown;
  readonly gauges?: unknown;
}

interface AddressSource {
  addressBook?(): ReadonlyMap<NodeId, string>;
  readonly address?: string;
}

/**
 * Reads a node's status; `store` (the resolved config it was built from) names its plugins,
 * `traffic` (measured by the HTTP API) and `scaler` (the autoscaler's last decision) are
 * included when given, and `clock` (the node's clock against the machine's) when it is given
 * and not zero.
 */
export async function nodeStatus(
  node: RingforgeNode,
  store?: ResolvedStore,
  runId?: string,
  traffic?: TrafficStatus,
  scaler?: ScalerStatus,
  clock?: ClockStatus,
): Promise<NodeStatus> {
  const s = node.services;
  const view = node.ring.view;
  const ringIds = new Set(view.members.map((m) => m.id));
  const share = new Map<NodeId, number>();
  for (const range of s.partitioner.ranges(1)) {
    const width = range.end >= range.start ? range.end - range.start : 2 ** 32 - range.start + range.end;
    const primary = range.replicas[0];
    if (primary !== undefined) share.set(primary, (share.get(primary) ?? 0) + width / 2 ** 32);
  }
  const detected = new Map(s.detector.members().map((m) => [m.id, m] as const));
  const placement = new Map(s.partitioner.members.map((m) => [m.id, m] as const));
  const now = s.clock.now();
  const transport = s.transport as unknown as AddressSource;
  const book = transport.addressBook?.();
  const ids = [...new Set([...view.members.map((m) => m.id), ...detected.keys()])].sort();
  const members = ids.map((id): MemberStatusRow => {
    const address = id === node.id ? transport.address : book?.get(id);
    const seen = detected.get(id);
    const info = placement.get(id) ?? seen;
    return {
      id,
      status: seen?.status ?? (id === node.id ? "up" : "unknown"),
      inRing: ringIds.has(id),
      ownership: Number((share.get(id) ?? 0).toFixed(4)),
      ...(address ? { address } : {}),
      ...(info?.zone === undefined ? {} : { zone: info.zone }),
      ...(info?.datacenter === undefined ? {} : { datacenter: info.datacenter }),
      ...(seen?.incarnation === undefined ? {} : { incarnation: seen.incarnation }),
      ...(seen?.lastHeardAt === undefined || id === node.id ? {} : { lastContactMs: Math.max(0, Math.round(now - seen.lastHeardAt)) }),
    };
  });
  const replicator = s.replicator as unknown as HintSource;
  const plugins: Record<string, string> = store
    ? Object.fromEntries(PLUGIN_FAMILIES.map((f) => [f, store.plugins[f].plugin.name]))
    : { partitioner: s.partitioner.name, replicator: s.replicator.name, resolver: s.resolver.name };
  return {
    node: node.id,
    ...(runId === undefined ? {} : { runId }),
    running: node.running,
    replication: s.settings.replication,
    plugins,
    ringEpoch: view.epoch,
    members,
    records: { ...s.store.stats, treeHash: await s.store.intervalHash({ start: 0, end: 0 }) },
    hints: {
      pending: replicator.pendingHints ?? 0,
      stored: replicator.hints?.stored ?? 0,
      delivered: replicator.hints?.delivered ?? 0,
      dropped: replicator.hints?.dropped ?? 0,
    },
    antiEntropy: numericFields(s.antiEntropy.stats),
    handoff: numericFields(node.handoff.stats),
    tombstones: numericFields(node.tombstones.stats),
    engine: numericFields({ ...(s.engine as EngineFigures).stats as object, ...(s.engine as EngineFigures).gauges as object }),
    transport: numericFields((s.transport as { stats?: unknown }).stats),
    ...(traffic === undefined ? {} : { traffic }),
    ...(scaler === undefined ? {} : { scaler }),
    ...(clock === undefined || (clock.offsetMs === 0 && clock.driftRate === 0) ? {} : { clock }),
  };
}

const text = (max: number) => z.string().max(max);
const figure = z.number().finite().min(0);
const decisionSchema = z
  .object({
    at: figure,
    nodes: z.number().int().min(0),
    requestsPerNode: figure,
    action: z.enum(["none", "add", "remove"]),
    node: text(128).optional(),
    reason: text(2000),
    outcome: z.enum(["applied", "none", "refused", "failed", "cooling-down"]),
    detail: text(2000).optional(),
    completedAt: figure.optional(),
    ageMs: figure,
  })
  .strict();
const scalerSchema = z
  .object({
    policy: text(128).min(1),
    provider: text(64).min(1),
    limits: z.object({ min: z.number().int().min(1), max: z.number().int().min(1) }).strict(),
    last: decisionSchema,
    lastChange: decisionSchema.optional(),
  })
  .strict();

/**
 * The autoscaler's last decision as a node keeps it (in memory: a restarted node shows none
 * until the next round). The autoscaler that runs the cluster sends it with
 * `POST /admin/scaler` after each round; `GET /status` serves it as `scaler`, aged by the time
 * since it arrived.
 */
export class LastScalerDecision {
  #last: { readonly status: ScalerStatus; readonly receivedAt: number } | undefined;

  /** @param now a monotonic clock, ms (default `performance.now()`; tests pass their own) */
  constructor(private readonly now: () => number = () => performance.now()) {}

  /**
   * Keeps `body` (a parsed JSON {@link ScalerStatus}) as the last decision.
   *
   * @throws {InvalidRequestError} for anything else (nothing is kept)
   */
  set(body: unknown): void {
    const parsed = scalerSchema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new InvalidRequestError(
        `not an autoscaler decision: ${issue ? `${issue.path.join(".") || "body"}: ${issue.message}` : "invalid"}`,
      );
    }
    this.#last = { status: parsed.data as ScalerStatus, receivedAt: this.now() };
  }

  /** The last decision, its ages counted up to now; undefined if none arrived. */
  get(): ScalerStatus | undefined {
    const kept = this.#last;
    if (kept === undefined) return undefined;
    const since = Math.max(0, this.now() - kept.receivedAt);
    const aged = (d: ScalerDecisionStatus): ScalerDecisionStatus => ({ ...d, ageMs: Math.round(d.ageMs + since) });
    const { last, lastChange } = kept.status;
    return { ...kept.status, last: aged(last), ...(lastChange ? { lastChange: aged(lastChange) } : {}) };
  }
}
