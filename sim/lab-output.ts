/**
 * The compare lab's output forms besides the wide table ({@link formatComparison}): a compact
 * table that fits a terminal (figures as rows, configs as columns, long cells wrapped), Markdown,
 * CSV, and per-config aggregates for `--json`.
 *
 * @module
 */
import { type Comparison, comparisonRows } from "./lab.ts";
import type { RunReport } from "./run.ts";

/** Output forms of `ringforge compare --format`. */
export type LabFormat = "table" | "wide" | "md" | "csv" | "json";

/** The forms {@link LabFormat} names, for flag parsing. */
export const LAB_FORMATS: readonly LabFormat[] = ["table", "wide", "md", "csv", "json"];

/** Two latency percentiles, virtual ms. */
export interface LatencyPercentiles {
  /** Median. */
  readonly p50: number;
  /** 99th percentile. */
  readonly p99: number;
}

/** Acknowledged writes one run lost, of those it checked. */
export interface RunLoss {
  /** Lost. */
  readonly lost: number;
  /** Checked. */
  readonly of: number;
}

/** One config's figures over all seeds, as numbers (what `--json` adds as `summary`). */
export interface ConfigSummary {
  /** The config. */
  readonly config: string;
  /** Runs (seeds). */
  readonly runs: number;
  /** Client operations attempted and acknowledged, summed over seeds. */
  readonly attempted: number;
  /** Acknowledged. */
  readonly ok: number;
  /** Acknowledged writes (or CRDT updates) lost, summed; absent for workloads that do not check it. */
  readonly lostWrites?: number;
  /** Acknowledged writes (or updates) checked for loss, summed. */
  readonly acknowledgedWrites?: number;
  /** Seeds that lost at least one acknowledged write. */
  readonly seedsWithLoss?: number;
  /** Stale reads and reads checked, summed (YCSB workloads). */
  readonly staleReads?: number;
  /** Reads checked for staleness. */
  readonly reads?: number;
  /** Most live siblings any read returned. */
  readonly maxSiblings: number;
  /** Keys whose replicas still differ after healing, summed. */
  readonly divergentKeys: number;
  /** Mean over seeds of each operation kind's latency percentiles, virtual ms. */
  readonly latencyMs: Readonly<Record<string, LatencyPercentiles>>;
  /** Mean messages and bytes per run. */
  readonly messagesPerRun: number;
  /** Mean bytes sent per run. */
  readonly bytesPerRun: number;
  /** The compact table's cells for this config (the same text as the terminal shows). */
  readonly cells: Readonly<Record<string, string>>;
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
const mean = (xs: readonly number[]) => (xs.length ? sum(xs) / xs.length : 0);
const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** Per config, the figures over its seeds as numbers. */
export function comparisonSummary(comparison: Comparison): ConfigSummary[] {
  const cells = new Map(comparisonRows(comparison).map((r) => [r.config, r.cells] as const));
  return comparison.results.map(({ config, runs }) => {
    const lost = lossPerRun(runs);
    const latencyMs: Record<string, { p50: number; p99: number }> = {};
    const kinds = new Set(runs.flatMap((r) => Object.keys(r.latency)));
    for (const kind of kinds) {
      const summaries = runs.map((r) => r.latency[kind as keyof RunReport["latency"]]).filter((x) => x !== undefined);
      latencyMs[kind] = { p50: round3(mean(summaries.map((x) => x.p50))), p99: round3(mean(summaries.map((x) => x.p99))) };
    }
    const stale = runs.map((r) => r.staleReads).filter((x) => x !== undefined);
    return {
      config,
      runs: runs.length,
      attempted: sum(runs.map((r) => r.availability.attempted)),
      ok: sum(runs.map((r) => r.availability.ok)),
      ...(lost
        ? {
          lostWrites: sum(lost.map((l) => l.lost)),
          acknowledgedWrites: sum(lost.map((l) => l.of)),
          seedsWithLoss: lost.filter((l) => l.lost > 0).length,
        }
        : {}),
      ...(stale.length > 0 ? { staleReads: sum(stale.map((x) => x.stale)), reads: sum(stale.map((x) => x.reads)) } : {}),
      maxSiblings: Math.max(0, ...runs.map((r) => r.siblings.max)),
      divergentKeys: sum(runs.map((r) => r.convergence.divergent)),
      latencyMs,
      messagesPerRun: Math.round(mean(runs.map((r) => r.network.messages))),
      bytesPerRun: Math.round(mean(runs.map((r) => r.network.bytes))),
      cells: cells.get(config) ?? {},
    };
  });
}

/**
 * Acknowledged writes lost per run, from whichever checker the workload has (set adds, CRDT
 * updates, YCSB final reads); undefined when the workload checks none.
 */
export function lossPerRun(runs: readonly RunReport[]): RunLoss[] | undefined {
  if (runs.some((r) => r.lostWrites)) return runs.map((r) => ({ lost: r.lostWrites?.lost ?? 0, of: r.lostWrites?.acknowledged ?? 0 }));
  if (runs.some((r) => r.crdt)) return runs.map((r) => ({ lost: r.crdt?.lost ?? 0, of: r.crdt?.acknowledged ?? 0 }));
  if (runs.some((r) => (r.staleReads?.finalReads ?? 0) > 0)) {
    return runs.map((r) => ({ lost: r.staleReads?.lost ?? 0, of: r.staleReads?.finalReads ?? 0 }));
  }
  return undefined;
}

/** The comparison's figures transposed: one row per figure, one column per config. */
function figureRows(comparison: Comparison): { configs: string[]; rows: [string, ...string[]][] } {
  const rows = comparisonRows(comparison);
  const figures = [...new Set(rows.flatMap((r) => Object.keys(r.cells)))];
  return {
    configs: rows.map((r) => r.config),
    rows: figures.map((f) => [f, ...rows.map((r) => r.cells[f] ?? "")] as [string, ...string[]]),
  };
}

function heading(comparison: Comparison): string {
  const seeds = comparison.seeds;
  const seedText = seeds.length > 3 ? `${seeds[0]}..${seeds[seeds.length - 1]}` : seeds.join(", ");
  return `scenario ${comparison.scenario}, ${seeds.length} seed(s) (${seedText}); figures summed over seeds, latencies averaged`;
}

/**
 * The comparison as a table that fits `columns` (default 100): figures as rows, configs as
 * columns. Long cells wrap at spaces and commas; when the configs do not fit side by side, they
 * are shown in several blocks, each repeating the figure names.
 */
export function formatCompact(comparison: Comparison, columns = 100): string {
  const { configs, rows } = figureRows(comparison);
  return formatFigureTable(heading(comparison), configs, rows, columns);
}

/**
 * Figures as rows and configs as columns, in at most `columns`: the layout of
 * {@link formatCompact}, for figures that come from elsewhere (a saved comparison, a guide).
 * `rows` are `[figure, cell of config 1, cell of config 2, ...]`.
 */
export function formatFigureTable(title: string, configs: readonly string[], rows: readonly (readonly string[])[], columns = 100): string {
  const nameWidth = Math.min(30, Math.max(6, ...rows.map((r) => (r[0] ?? "").length)));
  const gap = 2;
  const minColumn = 14;
  const room = columns - nameWidth - gap;
  // How many configs fit side by side: each gets at least minColumn (or its own widest cell, if less).
  const natural = configs.map((c, i) => Math.max(c.length, ...rows.map((r) => (r[i + 1] ?? "").length)));
  const blocks: number[][] = [];
  let block: number[] = [];
  let used = 0;
  for (let i = 0; i < configs.length; i++) {
    const want = Math.min(natural[i]!, Math.max(minColumn, Math.floor(room / configs.length) - gap)) + gap;
    if (block.length > 0 && used + want > room) {
      blocks.push(block);
      block = [];
      used = 0;
    }
    block.push(i);
    used += want;
  }
  if (block.length > 0) blocks.push(block);

  const out = [title];
  for (const members of blocks) {
    // Share the room: columns that need less than an equal share keep their width, the rest split what is left.
    const widths = new Map<number, number>();
    let left = room - gap * members.length;
    let open = [...members];
    for (;;) {
      const share = Math.floor(left / Math.max(1, open.length));
      const fits = open.filter((i) => natural[i]! <= share);
      if (fits.length === 0) break;
      for (const i of fits) {
        widths.set(i, natural[i]!);
        left -= natural[i]!;
      }
      open = open.filter((i) => !fits.includes(i));
    }
    for (const i of open) widths.set(i, Math.max(8, Math.floor(left / open.length)));
    const render = (name: string, cells: string[]) => {
      const wrapped = [wrap(name, nameWidth), ...cells.map((c, k) => wrap(c, widths.get(members[k]!)!))];
      const height = Math.max(...wrapped.map((w) => w.length));
      const lines: string[] = [];
      for (let h = 0; h < height; h++) {
        const parts = wrapped.map((w, k) => (w[h] ?? "").padEnd(k === 0 ? nameWidth : widths.get(members[k - 1]!)!));
        lines.push(parts.join(" ".repeat(gap)).trimEnd());
      }
      return lines;
    };
    out.push("");
    out.push(...render("figure", members.map((i) => configs[i]!)));
    out.push([nameWidth, ...members.map((i) => widths.get(i)!)].map((w) => "-".repeat(w)).join(" ".repeat(gap)));
    for (const row of rows) out.push(...render(row[0]!, members.map((i) => row[i + 1]!)));
  }
  return out.join("\n");
}

/** Splits `text` into lines of at most `width`, at spaces or after commas and hyphens where it can. */
export function wrap(text: string, width: number): string[] {
  if (text.length <= width) return [text];
  const lines: string[] = [];
  let rest = text;
  while (rest.length > width) {
    const window = rest.slice(0, width + 1);
    let cut = Math.max(window.lastIndexOf(" "), window.lastIndexOf(",") + 1, window.lastIndexOf("-", width - 1) + 1);
    if (cut <= 0) cut = width;
    lines.push(rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
  }
  if (rest.length > 0) lines.push(rest);
  return lines;
}

/** The comparison as a Markdown table: figures as rows, configs as columns. */
export function formatMarkdown(comparison: Comparison): string {
  const { configs, rows } = figureRows(comparison);
  const cell = (text: string) => text.replace(/\\/g, "\\\\").replace(/\|/g, "\\|");
  const line = (cells: string[]) => `| ${cells.map(cell).join(" | ")} |`;
  return [
    `*${heading(comparison)}*`,
    "",
    line(["figure", ...configs]),
    `| --- |${configs.map(() => " --- |").join("")}`,
    ...rows.map((r) => line(r)),
  ].join("\n");
}

/**
 * The comparison as CSV (RFC 4180): one row per config, one column per figure, as the wide
 * table has them, for a spreadsheet. Quoting is the whole of the format, so it is done here.
 */
export function formatCsv(comparison: Comparison): string {
  const rows = comparisonRows(comparison);
  const figures = [...new Set(rows.flatMap((r) => Object.keys(r.cells)))];
  const field = (text: string) => (/[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text);
  const line = (cells: string[]) => cells.map(field).join(",");
  return [line(["config", ...figures]), ...rows.map((r) => line([r.config, ...figures.map((f) => r.cells[f] ?? "")]))].join("\r\n") +
    "\r\n";
}
