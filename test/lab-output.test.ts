/**
 * The lab's output forms: the default table fits 100 columns (figures as rows, configs as
 * columns, long cells wrapped), Markdown and CSV carry every figure, `--json`'s summary agrees
 * with the table, fault windows are read right, and the HTML report is self-contained and
 * renders every chart in headless Chromium with no console error and no request but itself.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, it } from "@std/testing/bdd";
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { builtinPlugins } from "../plugins/index.ts";
import { compare, type Comparison, comparisonRows, parseScenario } from "../sim/index.ts";
import { comparisonSummary, formatCompact, formatCsv, formatMarkdown, wrap } from "../sim/lab-output.ts";
import { faultWindows, htmlReport, reportCharts } from "../sim/lab-report.ts";
import { browserRequired, findChromium } from "./support/browser.ts";

const smallSet = {
  name: "small-set",
  workload: { type: "set", clients: 5, adds: 60, key: "s", thinkMs: { min: 5, max: 30 } },
  faults: "partition {n1,n2} | {n3,n4,n5} at 200ms, heal at 700ms, crash n4 at 300ms, restart n4 at 600ms",
  quiesceMs: 500,
};
const storeWith = (resolver: string) => ({
  nodes: 5,
  resolver,
  requestTimeoutMs: 200,
  engine: { name: "memory", options: { durable: true } },
  transport: { name: "in-process", options: { latency: { kind: "normal", mean: 5, stddev: 2 } } },
});

let comparison: Comparison;
const dirs: string[] = [];

beforeAll(async () => {
  comparison = await compare(
    parseScenario(smallSet),
    [
      { name: "last-write-wins-with-a-long-name", config: storeWith("last-write-wins") },
      { name: "vector-clock", config: storeWith("vector-clock") },
      { name: "dotted-version-vectors", config: storeWith("dotted-version-vector") },
      { name: "vc-again", config: storeWith("vector-clock") },
      { name: "lww-again", config: storeWith("last-write-wins") },
    ],
    { registry: builtinPlugins, seeds: [1, 2] },
  );
});

afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("lab output forms", () => {
  it("the default table fits 100 columns with five configs, and shows every figure of every config", () => {
    const text = formatCompact(comparison);
    for (const line of text.split("\n")) assert(line.length <= 100, `${line.length} columns: ${line}`);
    const rows = comparisonRows(comparison);
    for (const row of rows) {
      assertStringIncludes(text, row.config.slice(0, 14));
      for (const [figure, cell] of Object.entries(row.cells)) {
        assertStringIncludes(text, figure.slice(0, 20));
        for (const word of cell.split(/[ ,]+/)) if (word) assertStringIncludes(text, word);
      }
    }
  });

  it("wraps at spaces and commas, and cuts a word only when it must", () => {
    assertEquals(wrap("quorum_not_reached 12, timeout 3", 20), ["quorum_not_reached", "12, timeout 3"]);
    assertEquals(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
    assertEquals(wrap("short", 10), ["short"]);
    assertEquals(wrap("dotted-version-vectors", 17), ["dotted-version-", "vectors"]);
  });

  it("Markdown and CSV carry every figure; cells that need it are escaped or quoted", () => {
    const rows = comparisonRows(comparison);
    const md = formatMarkdown(comparison);
    assertStringIncludes(md, `| figure | ${rows.map((r) => r.config).join(" | ")} |`);
    for (const figure of Object.keys(rows[0]!.cells)) assertStringIncludes(md, `| ${figure} |`);
    const csv = formatCsv(comparison).split("\r\n");
    assertEquals(csv.length, rows.length + 2, "a header, one line per config, and the final line break");
    assert(csv[0]!.startsWith("config,ok / attempted,"));
    const vc = csv.find((l) => l.startsWith("vector-clock,"))!;
    assertStringIncludes(vc, `,${rows.find((r) => r.config === "vector-clock")!.cells["lost acked writes"]},`);
    const quoted = formatCsv({ ...comparison, results: [comparison.results[0]!] });
    assert(!/[^"]\n/.test(quoted.replace(/\r\n/g, "")), "no bare line break inside a field");
  });

  it("--json's summary agrees with the table", () => {
    const summary = comparisonSummary(comparison);
    const rows = comparisonRows(comparison);
    for (const s of summary) {
      const cells = rows.find((r) => r.config === s.config)!.cells;
      assertEquals(cells["lost acked writes"], `${s.lostWrites} of ${s.acknowledgedWrites}`);
      assertEquals(cells["seeds with loss"], `${s.seedsWithLoss}/${s.runs}`);
      assertEquals(cells["ok / attempted"], `${s.ok} / ${s.attempted}`);
      assertEquals(cells["max siblings"], String(s.maxSiblings));
      assertEquals(s.cells, cells);
    }
    assert(summary[0]!.lostWrites! > 0, "last-write-wins loses acknowledged adds here");
    assertEquals(summary[1]!.lostWrites, 0);
  });

  it("fault windows: a network fault lasts until the next heal, a crash until its restart, a join is an instant", () => {
    const windows = faultWindows(
      [
        { at: 1000, fault: "partition {n1,n2} | {n3}" },
        { at: 1500, fault: "crash n3" },
        { at: 2000, fault: "join n6" },
        { at: 3000, fault: "heal" },
        { at: 3500, fault: "crash n2" },
        { at: 4000, fault: "restart n3" },
        { at: 5000, fault: "heal all" },
      ],
      6,
    );
    assertEquals(windows, [
      { label: "partition {n1,n2} | {n3}", from: 1, to: 3 },
      { label: "crash n3", from: 1.5, to: 4 },
      { label: "join n6", from: 2, to: 2 },
      { label: "crash n2", from: 3.5, to: 5 },
    ]);
  });
});

describe("the HTML report", () => {
  const chartJs = readFileSync(path.join(path.dirname(createRequire(import.meta.url).resolve("chart.js")), "chart.umd.min.js"), "utf8");

  it("is one self-contained file: the chart code inline, a policy that forbids every fetch", () => {
    const html = htmlReport(comparison, { chartJs, command: "ringforge compare small-set.json" });
    assertStringIncludes(html, `<meta http-equiv="Content-Security-Policy" content="default-src 'none';`);
    assert(!/<(script|link|img)[^>]+(src|href)=/i.test(html), "nothing is loaded from a URL");
    assertEquals(html.match(/<\/script/gi)?.length, 3, "Chart.js, the data and the page's script: no early </script> inside them");
    const ids = reportCharts(comparison).map((c) => c.id);
    assertEquals(ids, ["lost-writes", "latency", "siblings", "traffic", "unavailability"]);
    for (const id of ids) assertStringIncludes(html, `data-chart="${id}"`);
  });

  const browser = findChromium();
  const underDeno = "Deno" in globalThis;
  if (!underDeno && "missing" in browser && browserRequired) throw new Error(`RINGFORGE_REQUIRE_BROWSER=1 but ${browser.missing}`);
  const runs = !underDeno && "path" in browser;
  (runs ? it : it.skip)("renders every chart in headless Chromium, with no console error and no request but itself", async () => {
    const { default: puppeteer } = await import("puppeteer-core");
    const dir = mkdtempSync(path.join(tmpdir(), "ringforge-report-"));
    dirs.push(dir);
    const file = path.join(dir, "report.html");
    writeFileSync(file, htmlReport(comparison, { chartJs }));
    const chromium = await puppeteer.launch({
      executablePath: (browser as { path: string }).path,
      headless: (browser as { path: string }).path.includes("headless-shell") ? "shell" : true,
      args: ["--no-sandbox", "--disable-gpu"],
    });
    try {
      const page = await chromium.newPage();
      const errors: string[] = [];
      const requests: string[] = [];
      page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
      page.on("pageerror", (e) => errors.push(String(e)));
      page.on("request", (r) => requests.push(r.url()));
      await page.goto(`file://${file}`);
      await page.waitForSelector("body[data-charts-rendered]", { timeout: 20_000 });
      const drawn = (await page.evaluate(`(window.__labCharts || []).map((c) => ({
        id: c.canvas.getAttribute("data-chart"),
        points: c.data.datasets.reduce((n, d) => n + d.data.length, 0),
        width: c.width,
        inked: (() => { const d = c.ctx.getImageData(0, 0, c.width, c.height).data; let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; })(),
      }))`)) as { id: string; points: number; width: number; inked: number }[];
      assertEquals(drawn.map((d) => d.id), reportCharts(comparison).map((c) => c.id));
      for (const d of drawn) {
        assert(d.points > 0, `${d.id} has data`);
        assert(d.width > 100 && d.inked > 1000, `${d.id} drew on its canvas (${d.inked} pixels)`);
      }
      assertEquals(errors, []);
      assertEquals(requests, [`file://${file}`]);
    } finally {
      await chromium.close();
    }
  }, 120_000);
});
