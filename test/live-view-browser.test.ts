/**
 * The live view in a real browser: three `ringforge start` processes with a bearer token,
 * `/ui` of one of them opened in headless Chromium. The page asks for the token, then shows the
 * ring and every member up as each node sees it; a SIGKILLed node turns down on the page (and
 * its own column "no answer"), and comes back up once restarted. No console error or CSP
 * violation on the way.
 *
 * Runs under vitest (Node), where puppeteer-core drives the browser; under `deno test` it is
 * skipped, since the same page and endpoints are already checked here and puppeteer-core's
 * WebSocket transport is Node's. Set `RINGFORGE_UI_SCREENSHOT=FILE.png` to save the page as the
 * processes guide shows it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import process from "node:process";
import { afterEach, describe, it } from "@std/testing/bdd";
import { assert, assertEquals } from "@std/assert";
import { RingforgeClient } from "../client/ringforge-client.ts";
import { encodeText } from "../core/codec/bytes.ts";
import { browserRequired, findChromium } from "./support/browser.ts";
import { type NodeProcessHandle, startProcess, stopProcess, until } from "./support/node-processes.ts";
import { freePort, hostSleep } from "./support/tcp-pair.ts";

const SECRET = "test-cluster-secret-0123456789";
const TOKEN = "live-view-token-0123";
const underDeno = "Deno" in globalThis;
const browser = findChromium();
const running: NodeProcessHandle[] = [];
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => stopProcess(p, "SIGKILL")));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

if (!underDeno && "missing" in browser) {
  if (browserRequired) throw new Error(`RINGFORGE_REQUIRE_BROWSER=1 but ${browser.missing}`);
  console.warn(`live view browser test skipped: ${browser.missing}`);
}
const runs = !underDeno && "path" in browser;

(runs ? describe : describe.skip)("the live view (/ui) in headless Chromium", () => {
  it("shows the ring and members, a SIGKILLed node going down and coming back", async () => {
    const { default: puppeteer } = await import("puppeteer-core");
    const dir = mkdtempSync(path.join(tmpdir(), "ringforge-ui-"));
    dirs.push(dir);
    const ids = ["n1", "n2", "n3"];
    const peers: string[] = [];
    const clients: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      peers.push(`127.0.0.1:${await freePort()}`);
      clients.push(`127.0.0.1:${await freePort()}`);
    }
    const store = {
      nodes: ids,
      replication: { n: 3, r: 2, w: 2 },
      replicator: { name: "sloppy-quorum", options: { deliveryIntervalMs: 200 } },
      detector: { name: "swim", options: { periodMs: 200, pingTimeoutMs: 80, syncIntervalMs: 1000 } },
      engine: { name: "lsm", options: { sync: "always" } },
      requestTimeoutMs: 2000,
    };
    const config = (i: number) => ({
      id: ids[i]!,
      peer: { listen: peers[i]! },
      client: { listen: clients[i]!, token: TOKEN },
      seeds: peers.filter((_, j) => j !== i),
      dataDir: path.join(dir, "data"),
      logLevel: "warn",
      store,
    });
    const start = (i: number) => {
      const handle = startProcess(path.join(dir, "configs"), config(i), { RINGFORGE_SECRET: SECRET });
      running.push(handle);
      return handle;
    };
    const nodes = ids.map((_, i) => start(i));
    const api = clients.map((c) => new RingforgeClient(`http://${c}`, { token: TOKEN }));
    await Promise.all(api.map((client, i) => until(`${ids[i]} ready`, 60_000, () => client.status().then(() => true))));
    for (let i = 0; i < 100; i++) await api[i % 3]!.put(`key-${i}`, encodeText(`value ${i}`));
    const chromium = await puppeteer.launch({
      executablePath: (browser as { path: string }).path,
      headless: (browser as { path: string }).path.includes("headless-shell") ? "shell" : true,
      args: ["--no-sandbox", "--disable-gpu"],
    });
    let writing = true;
    let writer: Promise<void> = Promise.resolve();
    try {
      // Light traffic through n1 and n2 for the whole test: rates and sparklines move, and hints
      // pile up for n3 while it is down.
      writer = (async () => {
        for (let i = 0; writing; i++) {
          await api[i % 2]!.put(`live-${i % 500}`, encodeText(`value ${i}`)).catch(() => {});
          await hostSleep(10);
        }
      })();
      const page = await chromium.newPage();
      await page.setViewport({ width: 1400, height: 1000 });
      const errors: string[] = [];
      let counting = false;
      page.on("console", (m) => {
        if (counting && m.type() === "error") errors.push(m.text());
      });
      page.on("pageerror", (e) => errors.push(String(e)));
      const ui = `http://${clients[0]}/ui`;

      // Without the token the page loads (it holds no data) and asks for it.
      await page.goto(ui);
      await page.waitForSelector("#token-form:not([hidden])", { timeout: 10_000 });
      assert((await page.$eval("#error", (e) => e.textContent ?? "")).includes("bearer token"));

      // With it, the figures come.
      counting = true;
      await page.goto(`${ui}#token=${TOKEN}`);
      await page.reload(); // a hash change alone does not reload
      await page.waitForFunction('document.querySelectorAll("[data-ring-node]").length === 3', { timeout: 20_000 });
      const statusOf = (observer: string, member: string) =>
        page.$eval(`td[data-observer="${observer}"][data-member="${member}"]`, (e) => e.getAttribute("data-status")).catch(() => null);
      await pageUntil("every member up as every node sees it", 30_000, async () => {
        for (const o of ids) for (const m of ids) if ((await statusOf(o, m)) !== "up") return false;
        return true;
      });
      const shares = await page.$$eval("[data-ring-node]", (arcs) => arcs.map((a) => Number(a.getAttribute("data-ownership"))));
      assertEquals(shares.length, 3);
      assert(Math.abs(shares.reduce((a, b) => a + b, 0) - 1) < 0.01, `ownership sums to 1: ${shares}`);
      const nodeRows = await page.$$eval("tr[data-node]", (rows) => rows.map((r) => r.getAttribute("data-node")));
      assertEquals(nodeRows, ids);

      // SIGKILL n3: n1 and n2 see it down; it answers nothing itself.
      assertEquals(await stopProcess(nodes[2]!, "SIGKILL"), "SIGKILL");
      await pageUntil(
        "n3 down on the page",
        30_000,
        async () =>
          (await statusOf("n1", "n3")) === "down" && (await statusOf("n2", "n3")) === "down" &&
          (await statusOf("n3", "n3")) === "unreachable",
      );
      if (process.env.RINGFORGE_UI_SCREENSHOT) {
        await hostSleep(5000); // a few seconds of sparkline and pending hints
        await page.screenshot({ path: process.env.RINGFORGE_UI_SCREENSHOT, fullPage: true });
      }

      // Restarted, it comes back up everywhere.
      start(2);
      await pageUntil("n3 up again on the page", 60_000, async () => {
        for (const o of ids) if ((await statusOf(o, "n3")) !== "up") return false;
        return true;
      });
      assertEquals(errors, [], `console errors: ${errors.join("\n")}`);
    } finally {
      writing = false;
      await writer;
      await chromium.close();
    }
  }, 240_000);
});

async function pageUntil(what: string, ms: number, probe: () => Promise<boolean>): Promise<void> {
  await until(what, ms, async () => ((await probe()) ? true : undefined));
}
