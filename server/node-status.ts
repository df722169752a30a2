/**
 * What a running node reports about itself: the `GET /status` document, and the counters
 * `GET /metrics` exports. Read from the node's services; nothing here changes the node.
 *
 * @module
 */
import type { ResolvedStore } from "../core/build/config.ts";
import { PLUGIN_FAMILIES } from "../core/build/plugin.ts";
import type { NodeId } from "../core/model/sibling.ts";
import type { ReplicationSettings } from "../core/model/settings.ts";
import type { RingforgeNode } from "../core/node/ringforge-node.ts";

/** One member as the node sees it. */
export interface MemberStatusRow {
  /** Node id. */
  readonly id: NodeId;
  /** Liveness according to this node's failure detector (`"unknown"` if it has not heard of it). */
  readonly status: string;
  /** True if the member owns ranges in this node's ring view. */
  readonly inRing: boolean;
  /** Share of the token space it is the primary replica of (0..1). */
  readonly ownership: number;
  /** Peer address, when the transport knows one. */
  readonly address?: string;
}

/** The records a node holds. */
export interface RecordsStatus {
  /** Keys stored (live or tombstones). */
  readonly keys: number;
  /** Bytes of their encoded records. */
  readonly bytes: number;
  /** XOR hash of every record: equal on two replicas of the same key set means equal data. */
  readonly treeHash: number;
}

/** Hinted handoff on a node. */
export interface HintsStatus {
  /** Hints waiting here for their owner. */
  readonly pending: number;
  /** Hints stored since start. */
  readonly stored: number;
  /** Hints handed to their owner since start. */
  readonly delivered: number;
  /** Hints dropped (over the bound, or too old) since start. */
  readonly dropped: number;
}

/** The `GET /status` document. */
export interface NodeStatus {
  /** This node's id. */
  readonly node: NodeId;
  /** The process's run id, if it was started with one (`ringforge cluster` gives each run its own). */
  readonly runId?: string;
  /** Whether it takes requests. */
  readonly running: boolean;
  /** Replication factors. */
  readonly replication: ReplicationSettings;
  /** The strategies it was built with, by family. */
  readonly plugins: Readonly<Record<string, string>>;
  /** Ring view epoch (bumped by every join and leave). */
  readonly ringEpoch: number;
  /** Members: the ring's, and any other the detector knows. */
  readonly members: readonly MemberStatusRow[];
  /** Records on this node. */
  readonly records: RecordsStatus;
  /** Hinted handoff: hints waiting here, and counters since start. */
  readonly hints: HintsStatus;
  /** Anti-entropy counters since start. */
  readonly antiEntropy: Readonly<Record<string, number>>;
  /** Range handoff counters since start. */
  readonly handoff: Readonly<Record<string, number>>;
  /** Tombstone collection counters since start. */
  readonly tombstones: Readonly<Record<string, number>>;
  /** The engine's own counters, if it keeps any. */
  readonly engine: Readonly<Record<string, number>>;
  /** The transport's counters, if it keeps any. */
  readonly transport: Readonly<Record<string, number>>;
}

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

interface AddressSource {
  addressBook?(): ReadonlyMap<NodeId, string>;
  readonly address?: string;
}

/** Reads a node's status; `store` (the resolved config it was built from) names its plugins. */
export async function nodeStatus(node: RingforgeNode, store?: ResolvedStore, runId?: string): Promise<NodeStatus> {
  const s = node.services;
  const view = node.ring.view;
  const ringIds = new Set(view.members.map((m) => m.id));
  const share = new Map<NodeId, number>();
  for (const range of s.partitioner.ranges(1)) {
    const width = range.end >= range.start ? range.end - range.start : 2 ** 32 - range.start + range.end;
    const primary = range.replicas[0];
    if (primary !== undefined) share.set(primary, (share.get(primary) ?? 0) + width / 2 ** 32);
  }
  const detected = new Map(s.detector.members().map((m) => [m.id, m.status] as const));
  const transport = s.transport as unknown as AddressSource;
  const book = transport.addressBook?.();
  const ids = [...new Set([...view.members.map((m) => m.id), ...detected.keys()])].sort();
  const members = ids.map((id): MemberStatusRow => {
    const address = id === node.id ? transport.address : book?.get(id);
    return {
      id,
      status: detected.get(id) ?? (id === node.id ? "up" : "unknown"),
      inRing: ringIds.has(id),
      ownership: Number((share.get(id) ?? 0).toFixed(4)),
      ...(address ? { address } : {}),
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
    engine: numericFields((s.engine as { stats?: unknown }).stats),
    transport: numericFields((s.transport as { stats?: unknown }).stats),
  };
}
