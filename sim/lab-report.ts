/**
 * The compare lab's HTML report (`ringforge compare ... --report FILE.html`): one
 * self-contained file with a chart per figure comparing the configs, then the tables. Charts are
 * drawn by Chart.js, whose code the caller passes in and the page carries inline; a
 * Content-Security-Policy forbids every network fetch, so the file opens the same offline, from
 * a mail attachment or a CI artifact.
 *
 * The chart data is computed here and embedded as JSON; the page's own script only hands it to
 * Chart.js (and shades the fault windows), so what a chart shows is what this module computed
 * from the runs.
 *
 * @module
 */
import type { FaultRecord } from "./history.ts";
import { type Comparison, comparisonRows } from "./lab.ts";
import { comparisonSummary, lossPerRun } from "./lab-output.ts";
import type { RunReport } from "./run.ts";

/** One chart of the report, as data. */
export interface ReportChart {
  /** Element id (stable: tests and links use it). */
  readonly id: string;
  /** Heading. */
  readonly title: string;
  /** One sentence on how to read it. */
  readonly caption: string;
  /** Bars by category, or lines over time. */
  readonly kind: "bar" | "line";
  /** Category labels (bar charts). */
  readonly labels?: readonly string[];
  /** One dataset per config (or per figure, for per-config charts). */
  readonly datasets: readonly ChartDataset[];
  /** Axis titles. */
  readonly x: string;
  /** Y axis title. */
  readonly y: string;
  /** Shaded time windows (line charts over time): the faults. */
  readonly windows?: readonly FaultWindow[];
}

/** One series of a chart. */
export interface ChartDataset {
  /** Legend text: a config, or a figure. */
  readonly label: string;
  /** Values by category (bar charts) or points over time (line charts). */
  readonly data: readonly (number | ChartPoint)[];
}

/** A point of a line chart. */
export interface ChartPoint {
  /** Virtual seconds. */
  readonly x: number;
  /** Value. */
  readonly y: number;
}

/** A fault's span in a run, seconds of virtual time. */
export interface FaultWindow {
  /** What it was ("partition {n1,n2} | {n3,n4,n5}", "crash n2"). */
  readonly label: string;
  /** Start, s. */
  readonly from: number;
  /** End, s (equal to `from` for an instant event such as a join). */
  readonly to: number;
}

/** Options of {@link htmlReport}. */
export interface ReportOptions {
  /** Chart.js's UMD bundle, as text (the CLI reads `chart.js/dist/chart.umd.min.js`). */
  readonly chartJs: string;
  /** The command that produced the comparison, shown under the title. */
  readonly command?: string;
  /** When it was produced (shown as is). */
  readonly generatedAt?: string;
}

/** The charts a comparison gets: only those its workload has figures for. */
export function reportCharts(comparison: Comparison): ReportChart[] {
  const charts: ReportChart[] = [];
  const seeds = comparison.seeds.map(String);
  const results = comparison.results;

  const losses = results.map((r) => lossPerRun(r.runs));
  if (losses.some((l) => l !== undefined)) {
    charts.push({
      id: "lost-writes",
      title: "Lost acknowledged writes per seed",
      caption: "Acknowledged writes a final read did not find, per seed: 0 everywhere is what a store promises.",
      kind: "bar",
      labels: seeds,
      datasets: results.map((r, i) => ({ label: r.config, data: (losses[i] ?? []).map((l) => l.lost) })),
      x: "seed",
      y: "lost acknowledged writes",
    });
  }

  const kinds = [...new Set(results.flatMap((r) => r.runs.flatMap((run) => Object.keys(run.latency))))].sort();
  if (kinds.length > 0) {
    const labels = kinds.flatMap((k) => ["p50", "p95", "p99"].map((q) => `${k} ${q}`));
    charts.push({
      id: "latency",
      title: "Latency percentiles",
      caption: "Virtual milliseconds of acknowledged operations, each percentile averaged over the seeds.",
      kind: "bar",
      labels,
      datasets: results.map((r) => ({
        label: r.config,
        data: kinds.flatMap((k) =>
          (["p50", "p95", "p99"] as const).map((q) => {
            const xs = r.runs.map((run) => run.latency[k as keyof RunReport["latency"]]?.[q]).filter((x) => x !== undefined);
            return round(xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
          })
        ),
      })),
      x: "operation and percentile",
      y: "virtual ms",
    });
  }

  if (results.some((r) => r.runs.some((run) => run.siblings.reads > 0))) {
    charts.push({
      id: "siblings",
      title: "Most live siblings a read returned, per seed",
      caption: "Concurrent versions a client had to merge; last-write-wins never shows more than 1, by dropping the others.",
      kind: "bar",
      labels: seeds,
      datasets: results.map((r) => ({ label: r.config, data: r.runs.map((run) => run.siblings.max) })),
      x: "seed",
      y: "siblings",
    });
  }

  const summary = comparisonSummary(comparison);
  charts.push({
    id: "traffic",
    title: "Messages and bytes per run",
    caption: "Mean over the seeds of what the nodes sent each other: requests, replies, gossip, repair.",
    kind: "bar",
    labels: results.map((r) => r.config),
    datasets: [
      { label: "messages", data: summary.map((s) => s.messagesPerRun) },
      { label: "KiB", data: summary.map((s) => round(s.bytesPerRun / 1024)) },
    ],
    x: "config",
    y: "per run",
  });

  const first = results[0]?.runs[0];
  if (first && first.timeline.attempted.length > 1) {
    charts.push({
      id: "unavailability",
      title: "Failed requests over time",
      caption: "Share of the requests started in each interval that failed, averaged over the seeds; shaded: the faults of seed " +
        `${first.seed}.`,
      kind: "line",
      datasets: results.map((r) => ({ label: r.config, data: failureSeries(r.runs) })),
      x: "virtual seconds",
      y: "% of requests failed",
      windows: faultWindows(first.timeline.faults, (first.timeline.attempted.length * first.timeline.bucketMs) / 1000),
    });
  }

  if (results.some((r) => r.runs.some((run) => run.scaling))) {
    charts.push({
      id: "members",
      title: "Members over time",
      caption: `Ring members of seed ${first?.seed ?? 1} per config, sampled every autoscaler round: how each policy followed the load.`,
      kind: "line",
      datasets: results.map((r) => ({
        label: r.config,
        data: (r.runs[0]?.scaling?.samples ?? []).map((s) => ({ x: round(s.atMs / 1000), y: s.nodes })),
      })),
      x: "virtual seconds",
      y: "members",
    });
    const phases = results[0]?.runs[0]?.scaling?.phases ?? [];
    if (phases.length > 0) {
      charts.push({
        id: "phase-latency",
        title: "p99 latency per phase of the load",
        caption:
          "Virtual milliseconds, the 99th percentile of the operations started in each phase of the rate schedule, averaged over the seeds.",
        kind: "bar",
        labels: phases.map((p) => p.name),
        datasets: results.map((r) => ({
          label: r.config,
          data: phases.map((_, i) => {
            const xs = r.runs.map((run) => run.scaling?.phases[i]?.p99Ms).filter((x) => x !== undefined);
            return round(xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
          }),
        })),
        x: "phase",
        y: "p99 virtual ms",
      });
    }
  }

  if (results.some((r) => r.runs.some((run) => run.detection))) {
    const median = (xs: number[]) => (xs.length ? xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]! : 0);
    charts.push({
      id: "detection",
      title: "Time to detect a crash",
      caption: "Virtual seconds from a crash until a live node marks it down: median and slowest over every crash and observer.",
      kind: "bar",
      labels: results.map((r) => r.config),
      datasets: [
        {
          label: "median",
          data: results.map((r) => round(median(r.runs.flatMap((run) => run.detection?.crashes.map((c) => c.medianMs) ?? [])) / 1000)),
        },
        {
          label: "max",
          data: results.map((r) => round(Math.max(0, ...r.runs.flatMap((run) => run.detection?.crashes.map((c) => c.maxMs) ?? [])) / 1000)),
        },
      ],
      x: "config",
      y: "virtual s",
    });
  }
  return charts;
}

/** Percent of requests failed per time bucket, averaged over the runs that started any there. */
function failureSeries(runs: readonly RunReport[]): ChartPoint[] {
  const bucketMs = runs[0]!.timeline.bucketMs;
  const length = Math.max(...runs.map((r) => r.timeline.attempted.length));
  const points: ChartPoint[] = [];
  for (let i = 0; i < length; i++) {
    const shares: number[] = [];
    for (const r of runs) {
      if (r.timeline.bucketMs !== bucketMs) continue;
      const attempted = r.timeline.attempted[i] ?? 0;
      if (attempted > 0) shares.push((100 * (r.timeline.failed[i] ?? 0)) / attempted);
    }
    if (shares.length > 0) points.push({ x: round((i * bucketMs) / 1000), y: round(shares.reduce((a, b) => a + b, 0) / shares.length) });
  }
  return points;
}

/**
 * The spans of a run's faults: a partition, block, loss, duplication or latency fault lasts
 * until the next heal (a loss or duplication also until it is set back to 0); a crash until its
 * node restarts, a pause until its node resumes or crashes (or everything heals); a skew or
 * drift until that node's clock is set back to 0 or everything heals; a join or leave is an
 * instant.
 */
export function faultWindows(faults: readonly FaultRecord[], endSeconds: number): FaultWindow[] {
  const windows: FaultWindow[] = [];
  const open: { label: string; from: number; key: string }[] = [];
  const close = (match: (key: string) => boolean, at: number) => {
    for (let i = open.length - 1; i >= 0; i--) {
      const w = open[i]!;
      if (!match(w.key)) continue;
      windows.push({ label: w.label, from: w.from, to: at });
      open.splice(i, 1);
    }
  };
  for (const { at, fault } of faults) {
    const s = round(at / 1000);
    const [verb, subject, value] = fault.split(" ");
    if (fault === "heal all") close(() => true, s);
    else if (fault === "heal") close((k) => k.startsWith("network"), s);
    else if (verb === "restart") close((k) => k === `crash ${subject}`, s);
    else if (verb === "crash") {
      close((k) => k === `pause ${subject}`, s);
      open.push({ label: fault, from: s, key: `crash ${subject}` });
    } else if (verb === "pause") open.push({ label: fault, from: s, key: `pause ${subject}` });
    else if (verb === "resume") close((k) => k === `pause ${subject}`, s);
    else if ((verb === "skew" || verb === "drift") && (value === "0ms" || value === "0")) close((k) => k === `clock ${subject}`, s);
    else if (verb === "skew" || verb === "drift") open.push({ label: fault, from: s, key: `clock ${subject}` });
    else if (verb === "disk-repair") close((k) => k === `disk ${subject}`, s);
    else if (verb === "disk-fail" || verb === "disk-full" || verb === "slow-disk") {
      open.push({ label: fault, from: s, key: `disk ${subject}` });
    } else if ((verb === "loss" || verb === "duplicate") && subject === "0") close((k) => k === `network ${verb}`, s);
    else if (["partition", "block", "loss", "duplicate", "latency"].includes(verb!)) {
      open.push({ label: fault, from: s, key: `network ${verb}` });
    } else windows.push({ label: fault, from: s, to: s });
  }
  close(() => true, round(endSeconds));
  return windows.sort((a, b) => a.from - b.from);
}

const round = (x: number) => Math.round(x * 1000) / 1000;

const escapeHtml = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** Text safe inside a `<script>` element (no `</script`, no `<!--`). */
const scriptText = (text: string) => text.replace(/<\/(script)/gi, "<\\/$1").replace(/<!--/g, "<\\!--");

/** The report as one HTML document. */
export function htmlReport(comparison: Comparison, options: ReportOptions): string {
  const charts = reportCharts(comparison);
  const rows = comparisonRows(comparison);
  const figures = [...new Set(rows.flatMap((r) => Object.keys(r.cells)))];
  const seeds = comparison.seeds;
  const seedText = seeds.length > 3 ? `${seeds[0]}..${seeds[seeds.length - 1]}` : seeds.join(", ");
  const figureTable = `<table class="figures"><thead><tr><th>figure</th>${
    rows.map((r) => `<th>${escapeHtml(r.config)}</th>`).join("")
  }</tr></thead><tbody>${
    figures.map((f) => `<tr><th>${escapeHtml(f)}</th>${rows.map((r) => `<td>${escapeHtml(r.cells[f] ?? "")}</td>`).join("")}</tr>`)
      .join("")
  }</tbody></table>`;
  const runTable = `<table class="runs"><thead><tr><th>config</th><th>seed</th><th>ok / attempted</th><th>lost acked</th>` +
    `<th>max siblings</th><th>virtual s</th><th>digest</th></tr></thead><tbody>${
      comparison.results.flatMap((r) => {
        const losses = lossPerRun(r.runs);
        return r.runs.map((run, i) =>
          `<tr><td>${escapeHtml(r.config)}</td><td>${run.seed}</td><td>${run.availability.ok} / ${run.availability.attempted}</td>` +
          `<td>${losses ? `${losses[i]!.lost} of ${losses[i]!.of}` : "–"}</td><td>${run.siblings.max}</td>` +
          `<td>${(run.virtualMs / 1000).toFixed(1)}</td><td><code>${run.digest.slice(0, 16)}</code></td></tr>`
        );
      }).join("")
    }</tbody></table>`;
  const sections = charts.map((c) =>
    `<figure id="${c.id}"><h2>${escapeHtml(c.title)}</h2><div class="chart"><canvas data-chart="${c.id}" role="img" aria-label="${
      escapeHtml(c.title)
    }"></canvas></div><figcaption>${escapeHtml(c.caption)}</figcaption></figure>`
  ).join("\n");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>ringforge lab · ${escapeHtml(comparison.scenario)}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5rem auto; max-width: 1100px; padding: 0 1rem; color: #222; }
h1 { font-size: 1.4rem; margin-bottom: .2rem; } h2 { font-size: 1.05rem; margin: 0 0 .4rem; }
.meta { color: #666; margin: .1rem 0; } code { font-size: .9em; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(480px, 1fr)); gap: 1.5rem; margin: 1.5rem 0; }
figure { margin: 0; } figcaption { color: #666; font-size: .9em; margin-top: .3rem; }
.chart { position: relative; height: 300px; }
table { border-collapse: collapse; margin: .5rem 0 1.5rem; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid #ddd; padding: .25rem .6rem; text-align: left; vertical-align: top; }
.scroll { overflow-x: auto; }
</style>
<script>${scriptText(options.chartJs)}</script>
</head>
<body>
<h1>Scenario ${escapeHtml(comparison.scenario)}</h1>
<p class="meta">${seeds.length} seed(s) (${escapeHtml(seedText)}), ${comparison.results.length} config(s): ${
    comparison.results.map((r) => escapeHtml(r.config)).join(", ")
  }. Same seed, same workload and faults for every config.</p>
${options.command ? `<p class="meta"><code>${escapeHtml(options.command)}</code></p>` : ""}
${options.generatedAt ? `<p class="meta">generated ${escapeHtml(options.generatedAt)}</p>` : ""}
<div class="charts">
${sections}
</div>
<h2>Figures</h2>
<p class="meta">Summed over the seeds; latencies averaged.</p>
<div class="scroll">${figureTable}</div>
<h2>Runs</h2>
<p class="meta">One row per run. Equal digests mean identical runs: rerun a seed to get the same digest.</p>
<div class="scroll">${runTable}</div>
<script type="application/json" id="lab-charts">${scriptText(JSON.stringify(charts))}</script>
<script>${scriptText(RENDER_SCRIPT)}</script>
</body>
</html>
`;
}

/** The page's script: hands each chart's data to Chart.js; shades fault windows. */
const RENDER_SCRIPT = String.raw`
"use strict";
(function () {
  var COLORS = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];
  var charts = JSON.parse(document.getElementById("lab-charts").textContent);
  var faultShading = {
    id: "faultShading",
    beforeDatasetsDraw: function (chart, args, options) {
      var windows = options.windows || [];
      var x = chart.scales.x, area = chart.chartArea, ctx = chart.ctx;
      ctx.save();
      windows.forEach(function (w, i) {
        var from = x.getPixelForValue(w.from), to = x.getPixelForValue(w.to);
        ctx.fillStyle = i % 2 ? "rgba(225,87,89,0.10)" : "rgba(225,87,89,0.16)";
        if (to - from < 2) { ctx.fillStyle = "rgba(120,120,120,0.5)"; from -= 1; to = from + 2; }
        ctx.fillRect(from, area.top, Math.max(2, to - from), area.bottom - area.top);
        ctx.fillStyle = "#a33";
        ctx.font = "11px system-ui, sans-serif";
        ctx.fillText(w.label.length > 40 ? w.label.slice(0, 39) + "…" : w.label, from + 3, area.top + 12 + 13 * (i % 4));
      });
      ctx.restore();
    },
  };
  window.__labCharts = [];
  charts.forEach(function (spec) {
    var canvas = document.querySelector('canvas[data-chart="' + spec.id + '"]');
    var datasets = spec.datasets.map(function (d, i) {
      var color = COLORS[i % COLORS.length];
      return { label: d.label, data: d.data, backgroundColor: color, borderColor: color, borderWidth: spec.kind === "line" ? 2 : 0,
        pointRadius: spec.kind === "line" ? 0 : undefined, tension: 0 };
    });
    var config = {
      type: spec.kind,
      data: spec.kind === "bar" ? { labels: spec.labels, datasets: datasets } : { datasets: datasets },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false,
        plugins: { legend: { position: "bottom" }, faultShading: { windows: spec.windows || [] } },
        scales: {
          x: spec.kind === "line" ? { type: "linear", title: { display: true, text: spec.x } } : { title: { display: true, text: spec.x } },
          y: { beginAtZero: true, title: { display: true, text: spec.y } },
        },
      },
      plugins: spec.windows ? [faultShading] : [],
    };
    window.__labCharts.push(new Chart(canvas, config));
  });
  document.body.setAttribute("data-charts-rendered", String(window.__labCharts.length));
})();
`;
