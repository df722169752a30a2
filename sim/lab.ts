/**
 * The compare lab: one scenario, the same seeds, several store configs, one table.
 *
 * @module
 */
import type { StoreConfig } from "../core/build/config.ts";
import type { PluginRegistry } from "../core/build/registry.ts";
import { type RunOptions, type RunProgress, type RunReport, type RunResult, runScenario } from "./run.ts";
import type { Scenario } from "./scenario.ts";

/** A config to compare, with the name its row gets. */
export interface LabConfig {
  /** Row name (the config's `name`, else its file name). */
  readonly name: string;
  /** The store. */
  readonly config: StoreConfig;
  /**
   * What runs each case: {@link runScenario} (the simulator) by default; the real runner
   * (`runRealScenario` in lab-net/, node processes under real network faults) for a `--real`
   * row. A comparison may mix both, one row per world.
   */
  readonly runner?: ScenarioRunner;
}

/** Runs one scenario against one config with one seed: {@link runScenario}'s signature. */
export type ScenarioRunner = (config: StoreConfig, scenario: Scenario, seed: number, options: RunOptions) => Promise<RunResult>;

/** Progress of a whole comparison. */
export interface LabProgress extends RunProgress {
  /** The config being run. */
  readonly config: string;
  /** The seed being run. */
  readonly seed: number;
  /** Runs finished so far. */
  readonly runsDone: number;
  /** Runs in total. */
  readonly runs: number;
}

/** Options of {@link compare}. */
export interface CompareOptions {
  /** Where plugin names resolve. */
  readonly registry: PluginRegistry;
  /** The seeds to run each config with. */
  readonly seeds: readonly number[];
  /** Called as runs progress. */
  readonly onProgress?: (progress: LabProgress) => void;
}

/** Every run of a comparison, by config then seed. */
export interface Comparison {
  /** The scenario's name. */
  readonly scenario: string;
  /** The seeds used. */
  readonly seeds: readonly number[];
  /** Per config, one report per seed (in seed order). */
  readonly results: readonly ConfigResults[];
}

/** One config's runs. */
export interface ConfigResults {
  /** The config's name. */
  readonly config: string;
  /** One report per seed, in seed order. */
  readonly runs: readonly RunReport[];
}

/**
 * Runs `scenario` against every config with every seed. Runs are independent and
 * deterministic: the same seed gives a config the same workload and the same faults.
 *
 * @example
 * ```ts
 * const comparison = await compare(parseScenario(json), [
 *   { name: "lww", config: { resolver: "last-write-wins", nodes: 5 } },
 *   { name: "vc", config: { resolver: "vector-clock", nodes: 5 } },
 * ], { registry: builtinPlugins, seeds: [1, 2, 3] });
 * console.log(formatComparison(comparison));
 * ```
 */
export async function compare(scenario: Scenario, configs: readonly LabConfig[], options: CompareOptions): Promise<Comparison> {
  const results: { config: string; runs: RunReport[] }[] = [];
  const runs = configs.length * options.seeds.length;
  let runsDone = 0;
  for (const { name, config, runner = runScenario } of configs) {
    const reports: RunReport[] = [];
    for (const seed of options.seeds) {
      const { report } = await runner({ ...config, name }, scenario, seed, {
        registry: options.registry,
        onProgress: (p) => options.onProgress?.({ ...p, config: name, seed, runsDone, runs }),
      });
      reports.push(report);
      runsDone++;
    }
    results.push({ config: name, runs: reports });
  }
  return { scenario: scenario.name, seeds: [...options.seeds], results };
}

/** One row of the comparison table: a config's figures over all seeds. */
export interface ComparisonRow {
  /** Config name. */
  readonly config: string;
  /** Column values, by column name. */
  readonly cells: Readonly<Record<string, string>>;
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
const mean = (xs: readonly number[]) => (xs.length ? sum(xs) / xs.length : 0);
const fmt = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(1));

/** The autoscaling figures of a config's runs: members, changes, reaction, latency per phase, data moved. */
function scalingCells(runs: readonly RunReport[]): Record<string, string> {
  const reports = runs.map((r) => r.scaling).filter((x) => x !== undefined);
  const cells: Record<string, string> = {};
  cells["members min-max"] = `${Math.min(...reports.map((r) => r.minNodes))}-${Math.max(...reports.map((r) => r.maxNodes))}`;
  const applied = reports.flatMap((r) => r.changes.filter((c) => c.outcome === "applied"));
  cells["joins / leaves"] = `${applied.filter((c) => c.action === "add").length} / ${applied.filter((c) => c.action === "remove").length}`;
  const failed = reports.flatMap((r) => r.changes.filter((c) => c.outcome === "failed")).length;
  if (failed > 0) cells["changes failed"] = String(failed);
  cells["node-seconds per run"] = fmt(Math.round(mean(reports.map((r) => r.nodeSeconds))));
  const reacts = reports.map((r) => r.reactMs).filter((x): x is number => x !== null).sort((a, b) => a - b);
  cells["time to react s (median)"] = reacts.length === 0 ? "-" : (reacts[Math.floor(reacts.length / 2)]! / 1000).toFixed(1);
  const phases = reports[0]?.phases ?? [];
  if (phases.length > 0) {
    cells["p99 ms by phase"] = phases.map((_, i) => fmt(Math.round(mean(reports.map((r) => r.phases[i]?.p99Ms ?? 0))))).join(" / ");
    cells["members by phase"] = phases.map((_, i) => mean(reports.map((r) => r.phases[i]?.meanNodes ?? 0)).toFixed(1)).join(" / ");
  }
  const moved = sum(reports.map((r) => r.movedBytes));
  const ideal = sum(reports.map((r) => r.idealBytes));
  cells["data moved / ideal"] = ideal === 0 ? "-" : `${(moved / ideal).toFixed(2)}x (${Math.round(moved / 1024)} KiB)`;
  return cells;
}

/** The table's rows: per config, figures summed or averaged over the seeds. */
export function comparisonRows(comparison: Comparison): ComparisonRow[] {
  return comparison.results.map(({ config, runs }) => {
    const cells: Record<string, string> = {};
    if (runs.some((r) => r.detection)) return { config, cells: detectionCells(runs) };
    const attempted = sum(runs.map((r) => r.availability.attempted));
    const ok = sum(runs.map((r) => r.availability.ok));
    cells["ok / attempted"] = `${ok} / ${attempted}`;
    const failures: Record<string, number> = {};
    for (const r of runs) for (const [code, n] of Object.entries(r.availability.failedBy)) failures[code] = (failures[code] ?? 0) + n;
    cells["failed by error"] = Object.entries(failures)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([code, n]) => `${code.replace("RINGFORGE_", "").toLowerCase()} ${n}`)
      .join(", ") || "-";
    if (runs.some((r) => r.lostWrites)) {
      const lost = runs.map((r) => r.lostWrites?.lost ?? 0);
      const acked = runs.map((r) => r.lostWrites?.acknowledged ?? 0);
      cells["lost acked writes"] = `${sum(lost)} of ${sum(acked)}`;
      cells["seeds with loss"] = `${lost.filter((l) => l > 0).length}/${runs.length}`;
      cells["lost per seed min/max"] = `${Math.min(...lost)}/${Math.max(...lost)}`;
    }
    if (runs.some((r) => r.crdt)) {
      const lost = runs.map((r) => r.crdt?.lost ?? 0);
      const counter = runs.some((r) => r.latency.increment || r.latency.decrement);
      cells[counter ? "lost acked amount" : "lost acked updates"] = `${sum(lost)} of ${sum(runs.map((r) => r.crdt?.acknowledged ?? 0))}`;
      cells["seeds with loss"] = `${lost.filter((l) => l > 0).length}/${runs.length}`;
      cells["counted twice / removed back"] = String(sum(runs.map((r) => r.crdt?.excess ?? 0)));
      const unread = runs.filter((r) => r.crdt && !r.crdt.finalReadSucceeded).length;
      if (unread > 0) cells["final read failed"] = `${unread} seeds`;
    }
    if (runs.some((r) => r.linearizability)) {
      const checked = runs.map((r) => r.linearizability).filter((x) => x !== undefined);
      cells["seeds not linearizable"] = `${checked.filter((x) => x.verdict === "violation").length}/${runs.length}`;
      const undecided = checked.filter((x) => x.verdict === "unknown").length;
      if (undecided > 0) cells["seeds undecided"] = String(undecided);
      cells["ops checked"] = String(sum(checked.map((x) => x.operations)));
      cells["writes of unknown outcome"] = String(sum(checked.map((x) => x.unknown)));
    }
    if (runs.some((r) => r.scaling)) Object.assign(cells, scalingCells(runs));
    if (runs.some((r) => r.staleReads)) {
      const stale = runs.map((r) => r.staleReads?.stale ?? 0);
      const reads = runs.map((r) => r.staleReads?.reads ?? 0);
      cells["stale reads"] = `${sum(stale)} of ${sum(reads)}`;
      const sessions = runs.map((r) => r.sessions).filter((x) => x !== undefined);
      cells["RYW / monotonic violations"] = `${sum(sessions.map((x) => x.readYourWrites))} / ${sum(sessions.map((x) => x.monotonicReads))}`;
      const finals = sum(runs.map((r) => r.staleReads?.finalReads ?? 0));
      if (finals > 0) {
        cells["lost acked writes"] = `${sum(runs.map((r) => r.staleReads?.lost ?? 0))} of ${finals} keys`;
        const deletes = sum(runs.map((r) => r.staleReads?.deletes ?? 0));
        const back = sum(runs.map((r) => r.staleReads?.resurrected ?? 0));
        if (deletes > 0) cells["deleted keys back"] = `${back} (of ${deletes} deletes)`;
      }
    }
    cells["max siblings"] = String(Math.max(...runs.map((r) => r.siblings.max)));
    // Shown only when replicas refused a record change for the bounds (a read's merge may
    // hold more siblings than any replica stores: that is "max siblings" above).
    const refusedStores = sum(runs.map((r) => r.repair?.stored.refused ?? 0));
    if (refusedStores > 0) {
      cells["most siblings stored"] = String(Math.max(...runs.map((r) => r.repair?.stored.mostSiblings ?? 0)));
      cells["record changes refused"] = String(refusedStores);
    }
    if (runs.some((r) => r.lostWrites)) cells["obsolete siblings read"] = String(sum(runs.map((r) => r.siblings.obsolete)));
    const largest = runs.map((r) => r.repair?.largestRecordBytes ?? 0);
    if (Math.max(...largest) > 0) cells["largest record KiB"] = (Math.max(...largest) / 1024).toFixed(1);
    const limited = runs.map((r) => r.siblingLimit).filter((l) => l !== undefined);
    if (limited.length > 0) {
      const first = limited.map((l) => l.firstAtMs).sort((a, b) => a - b);
      cells["sibling limit hit"] = `${limited.length}/${runs.length} seeds, first at ${
        fmt(first[Math.floor(first.length / 2)]! / 1000)
      } s (median)`;
    }
    const unchecked = runs.filter((r) => r.convergence.unchecked).length;
    cells["divergent keys"] = `${sum(runs.map((r) => r.convergence.divergent))} of ${sum(runs.map((r) => r.convergence.keys))}` +
      (unchecked > 0 ? ` (${unchecked} run(s) cut short: not checked)` : "");
    const p = (kind: "read" | "write" | "add" | "increment", q: "p50" | "p99") =>
      mean(runs.map((r) => r.latency[kind]?.[q]).filter((x): x is number => x !== undefined));
    const writeKind = runs.some((r) => r.latency.add) ? "add" : runs.some((r) => r.latency.increment) ? "increment" : "write";
    if (runs.some((r) => r.latency.read)) cells["read p50/p99 ms"] = `${fmt(p("read", "p50"))}/${fmt(p("read", "p99"))}`;
    cells[`${writeKind} p50/p99 ms`] = `${fmt(p(writeKind, "p50"))}/${fmt(p(writeKind, "p99"))}`;
    // A real run does not count node-to-node traffic (yet): "-", not a misleading 0.
    const unmeasured = runs.every((r) => r.world === "real");
    cells["messages/run"] = unmeasured ? "-" : fmt(Math.round(mean(runs.map((r) => r.network.messages))));
    cells["KiB/run"] = unmeasured ? "-" : fmt(Math.round(mean(runs.map((r) => r.network.bytes)) / 1024));
    Object.assign(cells, repairCells(runs));
    return { config, cells };
  });
}

/** Columns of background repair, shown when a run did any: anti-entropy, join streaming, handoff, GC. */
function repairCells(runs: readonly RunReport[]): Record<string, string> {
  const cells: Record<string, string> = {};
  const repairs = runs.map((r) => r.repair).filter((r) => r !== undefined);
  if (repairs.length === 0) return cells;
  const ae = repairs.map((r) => r.antiEntropy);
  if (sum(ae.map((a) => a.exchanges + a.failures)) > 0) {
    cells["AE keys repaired"] = String(sum(ae.map((a) => a.repaired)));
    const data = mean(repairs.map((r) => r.dataBytes));
    const bytes = mean(ae.map((a) => a.bytes));
    cells["AE KiB/run (% of a copy)"] = `${fmt(Math.round(bytes / 1024))} (${data ? ((100 * bytes) / data).toFixed(2) : "-"}%)`;
  }
  const streamed = sum(repairs.map((r) => r.streamed));
  if (streamed > 0) cells["join streamed"] = String(streamed);
  if (sum(repairs.map((r) => r.handoff.pushed + r.handoff.dropped)) > 0) {
    cells["handoff pushed/dropped"] = `${sum(repairs.map((r) => r.handoff.pushed))}/${sum(repairs.map((r) => r.handoff.dropped))}`;
  }
  const hints = repairs.map((r) => r.hints).filter((h) => h !== undefined);
  if (hints.length > 0) {
    cells["hints stored/delivered/dropped"] = `${sum(hints.map((h) => h.stored))}/${sum(hints.map((h) => h.delivered))}/${
      sum(hints.map((h) => h.dropped))
    }`;
  }
  const reaped = sum(repairs.map((r) => r.tombstonesReaped));
  if (reaped > 0) cells["tombstones reaped"] = String(reaped);
  return cells;
}

/** Columns of the membership workload: detection time, false positives, final views. */
function detectionCells(runs: readonly RunReport[]): Record<string, string> {
  const cells: Record<string, string> = {};
  const d = runs.map((r) => r.detection!);
  const first = d[0]!;
  cells["detector knobs"] = `${first.detector} ${Object.entries(first.knobs).map(([k, v]) => `${k}=${v}`).join(" ")}`;
  const crashes = d.flatMap((x) => x.crashes);
  const all = crashes.filter((c) => c.detectedBy === c.observers).length;
  cells["crashes detected everywhere"] = `${all}/${crashes.length}`;
  const medians = crashes.map((c) => c.medianMs).sort((a, b) => a - b);
  const median = medians.length ? medians[Math.floor(medians.length / 2)]! : 0;
  const max = Math.max(0, ...crashes.map((c) => c.maxMs));
  const period = first.periodMs;
  const inPeriods = (ms: number) => (period ? ` (${(ms / period).toFixed(1)} p)` : "");
  cells["time to down median"] = `${(median / 1000).toFixed(2)} s${inPeriods(median)}`;
  cells["time to down max"] = `${(max / 1000).toFixed(2)} s${inPeriods(max)}`;
  cells["false positives"] = String(sum(d.map((x) => x.falsePositives)));
  cells["live down at end"] = String(sum(d.map((x) => x.liveDownAtEnd)));
  cells["live suspect at end"] = String(sum(d.map((x) => x.liveSuspectAtEnd)));
  cells["crashed not down at end"] = String(sum(d.map((x) => x.crashedNotDownAtEnd)));
  cells["messages/run"] = fmt(Math.round(mean(runs.map((r) => r.network.messages))));
  cells["KiB/run"] = fmt(Math.round(mean(runs.map((r) => r.network.bytes)) / 1024));
  return cells;
}

/** The comparison as a plain-text table, one row per config. */
export function formatComparison(comparison: Comparison): string {
  const rows = comparisonRows(comparison);
  const columns = ["config", ...new Set(rows.flatMap((r) => Object.keys(r.cells)))];
  const table = [columns, ...rows.map((r) => [r.config, ...columns.slice(1).map((c) => r.cells[c] ?? "")])];
  const widths = columns.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  const line = (row: string[]) => row.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd();
  const seeds = comparison.seeds;
  const seedText = seeds.length > 3 ? `${seeds[0]}..${seeds[seeds.length - 1]}` : seeds.join(", ");
  return [
    `scenario ${comparison.scenario}, ${seeds.length} seed(s) (${seedText}); figures summed over seeds, latencies averaged`,
    line(table[0]!),
    line(widths.map((w) => "-".repeat(w))),
    ...table.slice(1).map(line),
  ].join("\n");
}
