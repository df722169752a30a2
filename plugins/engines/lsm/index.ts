/**
 * The LSM storage engine plugin: a log-structured merge tree on disk (commit log, memtable,
 * SSTables with Bloom filters, leveled or size-tiered compaction, crash recovery).
 *
 * @module
 */
import { join } from "node:path";
import { z } from "zod";
import { choose, definePlugin, type Plugin, type PluginChoice } from "../../../core/build/plugin.ts";
import { DEFAULT_LSM_OPTIONS, LsmEngine, type LsmEngineOptions } from "./lsm-engine.ts";

export * from "./lsm-engine.ts";
export { type LogWrites, type SyncPolicy } from "./commit-log.ts";
export { crc32c } from "./crc32c.ts";
export { stopCompactionWorkers } from "./compaction-runner.ts";

/** Options of the LSM engine plugin: every {@link LsmEngineOptions} field, per store. */
export interface LsmPluginOptions extends Omit<LsmEngineOptions, "directory"> {
  /** Data directory of the store; each node keeps its files in `<directory>/<node id>`. */
  readonly directory: string;
}

const d = DEFAULT_LSM_OPTIONS;
const optionsSchema: z.ZodType<LsmPluginOptions, unknown> = z
  .object({
    directory: z.string().min(1, "the lsm engine needs a data directory"),
    sync: z.enum(["always", "interval", "never"]).default(d.sync),
    syncIntervalMs: z.number().positive().finite().default(d.syncIntervalMs),
    memtableBytes: z.number().int().min(4096).default(d.memtableBytes),
    blockBytes: z.number().int().min(256).max(1024 * 1024).default(d.blockBytes),
    blockCacheBytes: z.number().int().min(0).default(d.blockCacheBytes),
    bloomBitsPerKey: z.number().int().min(1).max(32).default(d.bloomBitsPerKey),
    compression: z.enum(["none", "deflate"]).default(d.compression),
    blockReads: z.enum(["sync", "async"]).default(d.blockReads),
    logWrites: z.enum(["sync", "async"]).default(d.logWrites),
    compaction: z.enum(["leveled", "size-tiered"]).default(d.compaction),
    compactionTrigger: z.number().int().min(2).max(64).default(d.compactionTrigger),
    tableBytes: z.number().int().min(4096).default(d.tableBytes),
    levelBaseBytes: z.number().int().min(4096).default(d.levelBaseBytes),
    level0StopTrigger: z.number().int().min(2).max(1024).default(d.level0StopTrigger),
    compactionThread: z.enum(["auto", "worker", "inline"]).default(d.compactionThread),
  })
  .strict();

/** The "lsm" engine plugin. */
export const lsmEnginePlugin: Plugin<LsmPluginOptions, "engine", undefined> = definePlugin({
  family: "engine",
  name: "lsm",
  description: "Log-structured merge tree on disk: commit log, memtable, SSTables with Bloom filters, compaction.",
  capabilities: { durable: true },
  options: optionsSchema,
  // The node's files and timers: the host's disk and clock in a node process; in the lab, the
  // node's simulated disk on virtual time, where the log's fsync period is virtual too and a
  // crash loses what the sync policy did not make durable.
  create: ({ settings, scheduler, logger, fs, random }, options) =>
    new LsmEngine({ ...options, directory: join(options.directory, settings.id) }, scheduler, logger, fs, random),
});

/**
 * Chooses the LSM engine.
 *
 * @example
 * ```ts
 * const cluster = await store().use(lsmEngine({ directory: "./data", sync: "always" })).cluster();
 * ```
 */
export function lsmEngine(options: Partial<LsmPluginOptions> & { directory: string }): PluginChoice<LsmPluginOptions> {
  return choose(lsmEnginePlugin, options);
}
