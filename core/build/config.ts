/**
 * Store configuration as plain data: the form a JSON file, the CLI and the compare lab use.
 *
 * @module
 */
import { z } from "zod";
import { InvalidConfigError } from "../errors.ts";
import type { MemberInfo } from "../interfaces/partitioner.ts";
import { DEFAULT_LIMITS, type Limits } from "../model/limits.ts";
import type { HandoffSettings, ReplicationSettings } from "../model/settings.ts";
import { DEFAULT_TOMBSTONES, type TombstoneSettings } from "../model/settings.ts";
import { parseWith, PLUGIN_FAMILIES, type PluginChoice, type PluginFamily } from "./plugin.ts";
import type { PluginRegistry } from "./registry.ts";

/** A plugin named with options in a config. */
export interface PluginSpec {
  /** The plugin's name in its family. */
  readonly name: string;
  /** Its options as plain data (validated by the plugin). */
  readonly options?: Record<string, unknown>;
}

/** A plugin named in a config: its name, or its name with options. */
export type PluginRef = string | PluginSpec;

/** A member in a config: its id, or its id with placement and weight. */
export type MemberConfig = string | MemberInfo;

/**
 * A store described as data. Every field is optional; leaving out a plugin family picks the
 * registry's default (consistent-hash, quorum, vector-clock, static, memory, in-process, and no
 * anti-entropy).
 *
 * @example
 * ```json
 * {
 *   "name": "vector-clock",
 *   "nodes": 5,
 *   "replication": { "n": 3, "r": 2, "w": 2 },
 *   "partitioner": { "name": "consistent-hash", "options": { "vnodes": 64 } },
 *   "resolver": "vector-clock",
 *   "seed": 7
 * }
 * ```
 */
export interface StoreConfig {
  /** A label for reports (the compare lab names rows by it). */
  readonly name?: string;
  /** Members: a count (ids n1..nK), or a list of ids or member descriptions. Default 3. */
  readonly nodes?: number | readonly MemberConfig[];
  /** Replication factors; defaults n 3, r 2, w 2. */
  readonly replication?: Partial<ReplicationSettings>;
  /** Size limits; defaults in {@link DEFAULT_LIMITS}. */
  readonly limits?: Partial<Limits>;
  /** Default time limit of a client request in ms. Default 1000. */
  readonly requestTimeoutMs?: number;
  /** Seed of the simulated runtime (randomness, network latency). Default 1. */
  readonly seed?: number;
  /** Partitioner plugin. */
  readonly partitioner?: PluginRef;
  /** Replicator plugin. */
  readonly replicator?: PluginRef;
  /** Conflict resolver plugin. */
  readonly resolver?: PluginRef;
  /** Failure detector plugin. */
  readonly detector?: PluginRef;
  /** Storage engine plugin. */
  readonly engine?: PluginRef;
  /** Transport plugin. */
  readonly transport?: PluginRef;
  /** Anti-entropy plugin (`"merkle"`, or `"none"`). */
  readonly antiEntropy?: PluginRef;
  /** Consensus plugin for linearizable requests (`"paxos"`, or `"none"`). */
  readonly consensus?: PluginRef;
  /** Scaling policy an autoscaler uses (`"none"`, `"thresholds"`, `"target-tracking"`). */
  readonly scaler?: PluginRef;
  /** Tombstone garbage collection; defaults in {@link DEFAULT_TOMBSTONES}. */
  readonly tombstones?: Partial<TombstoneSettings>;
  /** Handoff and ring catch-up; default `{ intervalMs: 5000 }`. */
  readonly handoff?: Partial<HandoffSettings>;
}

/** A config with defaults applied and every plugin resolved and its options validated. */
export interface ResolvedStore {
  /** Label for reports. */
  readonly name: string;
  /** The members. */
  readonly members: readonly MemberInfo[];
  /** Replication factors. */
  readonly replication: ReplicationSettings;
  /** Size limits. */
  readonly limits: Limits;
  /** Default request time limit (ms). */
  readonly requestTimeoutMs: number;
  /** Runtime seed. */
  readonly seed: number;
  /** Tombstone garbage collection. */
  readonly tombstones: TombstoneSettings;
  /** Handoff and ring catch-up. */
  readonly handoff: HandoffSettings;
  /** The chosen plugin of each family. */
  readonly plugins: Readonly<Record<PluginFamily, PluginChoice>>;
}

const nodeId = z
  .string()
  .min(1, "a node id must not be empty")
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, "a node id is letters, digits and . _ : - (starting with a letter or digit)");

const memberSchema = z.union([
  nodeId,
  z
    .object({
      id: nodeId,
      weight: z.number().positive().finite().optional(),
      zone: z.string().min(1).optional(),
      datacenter: z.string().min(1).optional(),
    })
    .strict(),
]);

const pluginRef = z.union([
  z.string().min(1),
  z.object({ name: z.string().min(1), options: z.record(z.string(), z.unknown()).optional() }).strict(),
]);

const count = z.number().int().positive();

const storeSchema = z
  .object({
    name: z.string().optional(),
    nodes: z.union([count.max(4096), z.array(memberSchema).min(1).max(4096)]).optional(),
    replication: z
      .object({
        n: count.max(64).optional(),
        r: count.optional(),
        w: count.optional(),
        consistency: z.enum(["count", "local-quorum", "each-quorum", "linearizable"]).optional(),
      })
      .strict()
      .optional(),
    limits: z
      .object({
        maxKeyBytes: count.max(65535).optional(),
        maxValueBytes: count.max(64 * 1024 * 1024).optional(),
        warnSiblings: count.optional(),
        maxSiblings: count.optional(),
        // A record's header keeps its size in 32 bits; beyond 1 GiB a record is not data.
        maxRecordBytes: count.max(1024 * 1024 * 1024).optional(),
        maxTimeoutMs: count.max(2 ** 31 - 1).optional(),
      })
      .strict()
      .optional(),
    requestTimeoutMs: z.number().positive().finite().optional(),
    seed: z.number().int().min(0).max(0xffffffff).optional(),
    partitioner: pluginRef.optional(),
    replicator: pluginRef.optional(),
    resolver: pluginRef.optional(),
    detector: pluginRef.optional(),
    engine: pluginRef.optional(),
    transport: pluginRef.optional(),
    antiEntropy: pluginRef.optional(),
    consensus: pluginRef.optional(),
    scaler: pluginRef.optional(),
    tombstones: z
      .object({
        graceMs: z.number().min(0).finite().optional(),
        intervalMs: z.number().positive().finite().optional(),
        batch: count.max(100_000).optional(),
        mode: z.enum(["all-replicas", "grace-only"]).optional(),
      })
      .strict()
      .optional(),
    handoff: z.object({ intervalMs: z.number().positive().finite().optional() }).strict().optional(),
  })
  .strict();

/**
 * Validates a config (from code or a parsed JSON file), applies defaults and resolves every
 * plugin through `registry`.
 *
 * @throws {InvalidConfigError} listing every problem with its path
 * @throws {UnknownPluginError} for a plugin name the registry does not have
 *
 * @example
 * ```ts
 * const store = resolveStoreConfig({ nodes: 3, replication: { n: 3, r: 2, w: 2 } }, builtinPlugins);
 * store.replication.w; // 2
 * ```
 */
export function resolveStoreConfig(config: unknown, registry: PluginRegistry): ResolvedStore {
  const raw = parseWith(storeSchema, config ?? {});
  const members = normaliseMembers(raw.nodes ?? 3);
  const replication: ReplicationSettings = {
    n: raw.replication?.n ?? 3,
    r: raw.replication?.r ?? 2,
    w: raw.replication?.w ?? 2,
    ...(raw.replication?.consistency === undefined ? {} : { consistency: raw.replication.consistency }),
  };
  const problems: { path: string; message: string }[] = [];
  if (replication.r > replication.n) problems.push({ path: "replication.r", message: `must be at most n (${replication.n})` });
  if (replication.w > replication.n) problems.push({ path: "replication.w", message: `must be at most n (${replication.n})` });
  if (replication.n > members.length) {
    problems.push({ path: "replication.n", message: `is ${replication.n} but the store has ${members.length} node(s)` });
  }
  const ids = new Set<string>();
  for (const m of members) {
    if (ids.has(m.id)) problems.push({ path: "nodes", message: `duplicate node id "${m.id}"` });
    ids.add(m.id);
  }
  const limits: Limits = { ...DEFAULT_LIMITS, ...raw.limits };
  if (limits.warnSiblings > limits.maxSiblings) {
    problems.push({ path: "limits.warnSiblings", message: "must not exceed limits.maxSiblings" });
  }
  if (limits.maxRecordBytes <= limits.maxValueBytes + limits.maxKeyBytes) {
    problems.push({
      path: "limits.maxRecordBytes",
      message: `must exceed limits.maxValueBytes + limits.maxKeyBytes (${
        limits.maxValueBytes + limits.maxKeyBytes
      }), or a largest value could not be stored`,
    });
  }
  if (raw.requestTimeoutMs !== undefined && raw.requestTimeoutMs > limits.maxTimeoutMs) {
    problems.push({ path: "requestTimeoutMs", message: `must not exceed limits.maxTimeoutMs (${limits.maxTimeoutMs})` });
  }
  if (problems.length) throw new InvalidConfigError(problems);

  const plugins = {} as Record<PluginFamily, PluginChoice>;
  for (const family of PLUGIN_FAMILIES) {
    const ref = raw[family] ?? registry.defaultName(family);
    if (ref === undefined) throw new InvalidConfigError([{ path: family, message: "no plugin chosen and no default" }]);
    const name = typeof ref === "string" ? ref : ref.name;
    const plugin = registry.get(family, name);
    plugins[family] = { plugin, options: plugin.parseOptions(typeof ref === "string" ? undefined : ref.options) };
  }
  return {
    name: raw.name ?? "store",
    members,
    replication,
    limits,
    requestTimeoutMs: raw.requestTimeoutMs ?? 1000,
    seed: raw.seed ?? 1,
    tombstones: { ...DEFAULT_TOMBSTONES, ...raw.tombstones },
    handoff: { intervalMs: raw.handoff?.intervalMs ?? 5000 },
    plugins,
  };
}

function normaliseMembers(nodes: number | readonly MemberConfig[]): MemberInfo[] {
  if (typeof nodes === "number") return Array.from({ length: nodes }, (_, i) => ({ id: `n${i + 1}` }));
  return nodes.map((m) => (typeof m === "string" ? { id: m } : { ...m }));
}

/** The plain-data form of a resolved store (plugin names and options), e.g. to print or save. */
export function storeToConfig(store: ResolvedStore): StoreConfig {
  const refs = {} as Record<PluginFamily, PluginRef>;
  for (const family of PLUGIN_FAMILIES) {
    const choice = store.plugins[family];
    refs[family] = { name: choice.plugin.name, options: choice.options as Record<string, unknown> };
  }
  return {
    name: store.name,
    nodes: store.members.map((m) => (Object.keys(m).length === 1 ? m.id : m)),
    replication: store.replication,
    limits: store.limits,
    requestTimeoutMs: store.requestTimeoutMs,
    seed: store.seed,
    tombstones: store.tombstones,
    handoff: store.handoff,
    ...refs,
  };
}
