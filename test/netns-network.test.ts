/**
 * The real network (lab-net/): three network namespaces on a bridge, a small HTTP and UDP
 * agent in each, and the host probing who reaches whom — before faults, under a partition, a
 * one-way block and total loss, and after healing. Then every way the network goes away:
 * destroy, a SIGINT or a crash of the program that made it, and cleanupLeftovers for what a
 * killed run left behind.
 *
 * Needs root, `ip` and `iptables` (and `node` on PATH for the agents); without them the tests
 * say they were skipped and why, unless `RINGFORGE_REQUIRE_NETNS=1` (set by `.ci/run`), where a
 * missing prerequisite fails them instead of passing silently.
 *
 * Every probe has a deadline: a packet dropped by a fault must show as a failed probe, never as
 * a hung test. A probe expected to fail gets a short deadline (a TCP connection on a bridge takes
 * a millisecond; a dropped SYN is not retried before a second), one expected to succeed a long
 * one, so a slow machine cannot turn either answer into the other.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { afterAll, describe, it } from "@std/testing/bdd";
import { assert, assertEquals, assertInstanceOf, assertMatch, assertRejects, assertStringIncludes } from "@std/assert";
import { InvalidRequestError } from "../core/errors.ts";
import {
  cleanupLeftovers,
  MissingToolError,
  NetnsNetwork,
  NetnsPrerequisiteError,
  netnsPrerequisiteProblem,
  NotRootError,
  requireNetnsPrerequisites,
} from "../lab-net/index.ts";
import { realNetworkRuns } from "./support/netns-gate.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const isDeno = "Deno" in globalThis;
const NODE = isDeno ? "node" : process.execPath;
const PORT = 7070;
const NODES = ["n1", "n2", "n3"] as const;
/** Deadlines: a probe expected to fail waits this long for an answer... */
const FAIL_MS = 600;
/** ...and one expected to succeed this long. */
const OK_MS = 5_000;

const runs = realNetworkRuns("real network tests");

/**
 * The agent in each namespace: answers GET / with its node id; GET /probe?url=&ms= fetches a URL
 * (a new connection each time) within ms; GET /udp?to=&nonce= sends three datagrams to another
 * agent; GET /seen?nonce= lists the addresses a nonce arrived from. Prints "ready" once listening.
 */
const AGENT = String.raw`
const http = require("node:http");
const dgram = require("node:dgram");
const [id, addr, port] = process.argv.slice(1);
const seen = new Map();
const udp = dgram.createSocket("udp4");
udp.on("message", (m, r) => { const n = m.toString(); seen.set(n, [...(seen.get(n) ?? []), r.address]); });
udp.on("error", () => {});
const fetchOnce = (url, ms) => new Promise((resolve) => {
  const done = (r) => { clearTimeout(timer); resolve(r); };
  const req = http.get(url, { agent: false }, (res) => {
    let body = "";
    res.on("data", (d) => (body += d));
    res.on("end", () => done({ ok: true, body }));
    res.on("error", (e) => done({ ok: false, error: e.code ?? e.message }));
  });
  const timer = setTimeout(() => { req.destroy(); done({ ok: false, error: "timeout" }); }, ms);
  req.on("error", (e) => done({ ok: false, error: e.code ?? e.message }));
});
http.createServer(async (req, res) => {
  const u = new URL(req.url, "http://agent");
  const q = (k) => u.searchParams.get(k) ?? "";
  if (u.pathname === "/") return res.end(id);
  if (u.pathname === "/probe") return res.end(JSON.stringify(await fetchOnce(q("url"), Number(q("ms")))));
  if (u.pathname === "/udp") {
    for (let i = 0; i < 3; i++) udp.send(q("nonce"), Number(port), q("to"), () => {});
    return res.end("sent");
  }
  if (u.pathname === "/seen") return res.end(JSON.stringify(seen.get(q("nonce")) ?? []));
  res.statusCode = 404;
  res.end();
}).listen(Number(port), addr, () => udp.bind(Number(port), addr, () => console.log("ready")));
`;

type Answer = { ok: true; body: string } | { ok: false; error: string };

/** GET `url` from the host over a fresh connection, answered within `ms` or failed. */
function hostGet(url: string, ms: number): Promise<Answer> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (answer: Answer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(answer);
    };
    const req = http.get(url, { agent: false }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => done({ ok: true, body }));
      res.on("error", (e) => done({ ok: false, error: e.message }));
    });
    const timer = setTimeout(() => {
      req.destroy();
      done({ ok: false, error: "timeout" });
    }, ms);
    req.on("error", (e) => done({ ok: false, error: (e as { code?: string }).code ?? e.message }));
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts the agent of every node and waits until each has said it listens. */
async function startAgents(network: NetnsNetwork): Promise<ChildProcess[]> {
  return await Promise.all(NODES.map((node) =>
    new Promise<ChildProcess>((resolve, reject) => {
      const child = network.exec(node, NODE, ["-e", AGENT, node, network.address(node), String(PORT)], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      let output = "";
      const timer = setTimeout(() => reject(new Error(`agent ${node} not ready after 15 s: ${output}`)), 15_000);
      const onData = (d: Buffer) => {
        output += d;
        if (output.includes("ready")) {
          clearTimeout(timer);
          resolve(child);
        }
      };
      child.stdout!.on("data", onData);
      child.stderr!.on("data", onData);
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`agent ${node} exited (${signal ?? code}): ${output}`));
      });
    })
  ));
}

/** Whether the host reaches `node`'s agent (and it is that node answering). */
async function hostReaches(network: NetnsNetwork, node: string, expected: boolean): Promise<boolean> {
  const answer = await hostGet(`http://${network.address(node)}:${PORT}/`, expected ? OK_MS : FAIL_MS);
  return answer.ok && answer.body === node;
}

/** Whether `from`'s agent reaches `to`'s over HTTP (a TCP connection, both directions). */
async function reaches(network: NetnsNetwork, from: string, to: string, expected: boolean): Promise<boolean> {
  const ms = expected ? OK_MS : FAIL_MS;
  const target = encodeURIComponent(`http://${network.address(to)}:${PORT}/`);
  const answer = await hostGet(`http://${network.address(from)}:${PORT}/probe?url=${target}&ms=${ms}`, ms + OK_MS);
  if (!answer.ok) throw new Error(`the host lost contact with ${from}'s agent: ${answer.error}`);
  const probe = JSON.parse(answer.body) as Answer;
  return probe.ok && probe.body === to;
}

/** Whether a datagram from `from` arrives at `to` (one direction only). */
async function udpArrives(network: NetnsNetwork, from: string, to: string, expected: boolean): Promise<boolean> {
  const nonce = `${from}-${to}-${Math.random().toString(36).slice(2)}`;
  const sent = await hostGet(`http://${network.address(from)}:${PORT}/udp?to=${network.address(to)}&nonce=${nonce}`, OK_MS);
  assert(sent.ok, `the host lost contact with ${from}'s agent`);
  const deadline = Date.now() + (expected ? OK_MS : FAIL_MS);
  for (;;) {
    const seen = await hostGet(`http://${network.address(to)}:${PORT}/seen?nonce=${nonce}`, OK_MS);
    assert(seen.ok, `the host lost contact with ${to}'s agent`);
    if ((JSON.parse(seen.body) as string[]).includes(network.address(from))) return true;
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
}

/**
 * Checks who reaches whom against `expected(from, to)` (from = "host" for the host), probing
 * every pair at once; fails listing every pair that differs.
 */
async function assertReachability(network: NetnsNetwork, label: string, expected: (from: string, to: string) => boolean): Promise<void> {
  const pairs: Array<[string, string]> = [];
  for (const to of NODES) {
    pairs.push(["host", to]);
    for (const from of NODES) if (from !== to) pairs.push([from, to]);
  }
  const results = await Promise.all(pairs.map(async ([from, to]) => {
    const want = expected(from, to);
    const got = from === "host" ? await hostReaches(network, to, want) : await reaches(network, from, to, want);
    return got === want ? undefined : `${from}→${to}: ${got ? "reached" : "unreachable"}, expected ${want ? "reached" : "unreachable"}`;
  }));
  assertEquals(results.filter((r) => r !== undefined), [], label);
}

/** Names in `ip netns list` and `ip link` that contain `runId`. */
function namesOfRun(runId: string): string[] {
  const ip = requireNetnsPrerequisites().ip;
  const text = execFileSync(ip, ["netns", "list"], { encoding: "utf8" }) + execFileSync(ip, ["-o", "link", "show"], { encoding: "utf8" });
  return text.split(/[\s:@]+/).filter((word) => word.includes(runId));
}

/** Whether process `pid` is gone (or a zombie waiting for init to reap it). */
function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return true;
  }
}

describe("the real network's prerequisites and input checks (no root needed)", () => {
  it("says in one line that root is required, or which package to install", () => {
    const notRoot = netnsPrerequisiteProblem({ platform: "linux", uid: 1000, searchPath: ["/usr/sbin"] });
    assertInstanceOf(notRoot, NotRootError);
    assertInstanceOf(notRoot, InvalidRequestError);
    assertMatch(notRoot.message, /^the real network needs root \(uid 0, this process runs as uid 1000\)[^\n]*sudo$/);

    const noIp = netnsPrerequisiteProblem({ platform: "linux", uid: 0, searchPath: ["/nonexistent"] });
    assertInstanceOf(noIp, MissingToolError);
    assertEquals([noIp.tool, noIp.debianPackage], ["ip", "iproute2"]);
    assertStringIncludes(noIp.message, "apt-get install -y iproute2");

    const dir = mkdtempSync(path.join(tmpdir(), "ringforge-netns-"));
    try {
      writeFileSync(path.join(dir, "ip"), "#!/bin/sh\n", { mode: 0o755 });
      const noIptables = netnsPrerequisiteProblem({ platform: "linux", uid: 0, searchPath: [dir] });
      assertInstanceOf(noIptables, MissingToolError);
      assertEquals([noIptables.tool, noIptables.debianPackage], ["iptables", "iptables"]);
      assertStringIncludes(noIptables.message, "apt-get install -y iptables");
      assert(!noIptables.message.includes("\n"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    const notLinux = netnsPrerequisiteProblem({ platform: "darwin", uid: 0, searchPath: [] });
    assertInstanceOf(notLinux, NetnsPrerequisiteError);
    assertEquals(notLinux.reason, "not-linux");
  });

  it("rejects bad node lists and names before creating anything", async () => {
    for (
      const [nodes, options] of [
        [[], {}],
        [["n1", "n1"], {}],
        [["n 1"], {}],
        [["-n1"], {}],
        [["n1"], { prefix: "RF" }],
        [["n1"], { prefix: "ringforge" }],
        [["n1"], { runId: "abc" }],
        [["n1"], { subnet: 512 }],
      ] as Array<[string[], Record<string, unknown>]>
    ) {
      await assertRejects(() => NetnsNetwork.create(nodes, options), InvalidRequestError, undefined);
    }
  });
});

(runs ? describe : describe.skip)("the real network (network namespaces, a bridge, iptables)", () => {
  const leaks: NetnsNetwork[] = [];
  const dirs: string[] = [];
  afterAll(async () => {
    for (const network of leaks) await network.destroy().catch(() => {});
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it("connects every node and the host; partition, one-way block and loss cut node↔node traffic only; heal restores it", async () => {
    const network = await NetnsNetwork.create([...NODES]);
    leaks.push(network);
    try {
      assertMatch(network.subnet, /^198\.1[89]\.\d+\.0\/24$/);
      assertEquals(network.hostAddress, network.subnet.replace(/0\/24$/, "254"));
      assertEquals(NODES.map((n) => network.address(n)), NODES.map((_, i) => network.subnet.replace(/0\/24$/, String(i + 1))));
      assertEquals(network.namespace("n1"), `rf${network.runId}-n1`);
      const agents = await startAgents(network);
      // A second network with the same run id is refused, and leaves this one alone.
      await assertRejects(() => NetnsNetwork.create(["x"], { runId: network.runId }), InvalidRequestError, "is in use");

      await assertReachability(network, "before any fault", () => true);

      await network.partition([["n1"], ["n2", "n3"]]);
      assertEquals(network.faults.partition, [["n1"], ["n2", "n3"]]);
      await assertReachability(network, "partition {n1} | {n2, n3}", (from, to) => from === "host" || (from !== "n1" && to !== "n1"));

      await network.heal();
      await assertReachability(network, "healed after the partition", () => true);

      await network.block("n2", "n3");
      assertEquals(await udpArrives(network, "n2", "n3", false), false, "n2's datagrams to n3 are dropped");
      assertEquals(await udpArrives(network, "n3", "n2", true), true, "n3's datagrams still reach n2");
      // TCP needs both directions: with n2→n3 blocked, neither can connect to the other.
      await assertReachability(
        network,
        "block n2→n3",
        (from, to) => from === "host" || !([from, to].includes("n2") && [from, to].includes("n3")),
      );

      await network.heal();
      assertEquals(network.faults, { partition: [], blocks: [], loss: 0 });
      for (const node of NODES) assertEquals(await network.rules(node), [], `no rule left in ${node}`);
      assertEquals(await udpArrives(network, "n2", "n3", true), true, "healed: n2's datagrams reach n3 again");
      await assertReachability(network, "healed after the block", () => true);

      await network.loss(1);
      await assertReachability(network, "loss 1.0", (from) => from === "host");
      await network.loss(0);
      await assertReachability(network, "loss back to 0", () => true);

      // Bad faults are refused and change nothing.
      await assertRejects(() => network.partition([["n1"], ["n1", "n2"]]), InvalidRequestError);
      await assertRejects(() => network.partition([["n4"]]), InvalidRequestError);
      await assertRejects(() => network.block("n1", "n1"), InvalidRequestError);
      await assertRejects(() => network.loss(1.5), InvalidRequestError);
      assertEquals(network.faults, { partition: [], blocks: [], loss: 0 });

      await network.destroy();
      for (const agent of agents) assert(agent.exitCode !== null || agent.signalCode !== null, "destroy killed the agents");
      assertEquals(namesOfRun(network.runId), [], "no namespace, bridge or veth of the run is left");
      await network.destroy(); // idempotent
      await assertRejects(() => network.heal(), Error);
    } finally {
      await network.destroy();
    }
  }, 60_000);

  it("cleanupLeftovers removes what a killed run left behind, and kills its processes", async () => {
    // Its own prefix, so it cannot touch another run's network.
    const network = await NetnsNetwork.create(["a", "b"], { prefix: "rft" });
    leaks.push(network);
    const sleeper = network.exec("a", "sleep", ["60"]);
    const leakedNamespace = `rftzz${network.runId.slice(0, 3)}-x`;
    execFileSync(requireNetnsPrerequisites().ip, ["netns", "add", leakedNamespace]);
    try {
      const removed = await cleanupLeftovers("rft");
      assertEquals([...removed.namespaces].sort(), [leakedNamespace, network.namespace("a"), network.namespace("b")].sort());
      assertEquals([...removed.links].sort(), [`rft${network.runId}br`, `rft${network.runId}v0`, `rft${network.runId}v1`]);
      assert(removed.processes.includes(sleeper.pid!), "the process in the namespace was killed");
      assertEquals(namesOfRun(network.runId), []);
      assertEquals(await cleanupLeftovers("rft"), { namespaces: [], links: [], processes: [] });
    } finally {
      await network.destroy();
      await cleanupLeftovers("rft");
    }
  }, 30_000);

  it("removes the network when its program ends by SIGINT or by an uncaught error", async () => {
    await Promise.all((["SIGINT", "crash"] as const).map(async (way) => {
      const program = `
        import process from "node:process";
        import { destroyNetworksOnExit, NetnsNetwork } from ${JSON.stringify(path.join(ROOT, "lab-net/index.ts"))};
        destroyNetworksOnExit();
        const network = await NetnsNetwork.create(["a", "b"], { prefix: "rfx" });
        const sleeper = network.exec("b", "sleep", ["60"]);
        console.log(JSON.stringify({ runId: network.runId, pid: sleeper.pid }));
        if (${JSON.stringify(way)} === "crash") setTimeout(() => { throw new Error("the harness crashed"); }, 50);
        else setInterval(() => {}, 1000);
      `;
      // A file, not \`deno eval\` / \`node -e\`: under \`deno eval\`, a SIGINT soon after start-up
      // sometimes bypasses the signal listeners (Deno 2.9), which \`deno run\` does not do.
      const dir = mkdtempSync(path.join(tmpdir(), "ringforge-netns-exit-"));
      dirs.push(dir);
      const file = path.join(dir, "program.mts");
      writeFileSync(file, program);
      const args = isDeno ? ["run", "-A", file] : ["--import", "tsx", file];
      const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
      let output = "";
      child.stdout.on("data", (d) => (output += d));
      child.stderr.on("data", (d) => (output += d));
      const exited = new Promise<number | string>((resolve) => child.once("exit", (code, signal) => resolve(signal ?? code ?? -1)));
      const started = await Promise.race([
        (async () => {
          while (!output.includes("\n")) await sleep(20);
          return JSON.parse(output.split("\n")[0]!) as { runId: string; pid: number };
        })(),
        exited.then((code) => {
          throw new Error(`the ${way} program exited (${code}) before creating its network: ${output}`);
        }),
        sleep(30_000).then(() => {
          throw new Error(`the ${way} program did not create its network in 30 s: ${output}`);
        }),
      ]);
      assert(namesOfRun(started.runId).length > 0, `the ${way} program's network exists while it runs`);
      if (way === "SIGINT") child.kill("SIGINT");
      const code = await exited;
      // After removing the network the handler ends the process as the signal would have: status
      // 130 under Node; Deno's exit re-raises the signal, so it is reported as the signal itself.
      assert(way === "SIGINT" ? code === 130 || code === "SIGINT" : code === 1, `${way}: exit ${code}:\n${output}`);
      assertEquals(namesOfRun(started.runId), [], `${way}: nothing of the run is left:\n${output}`);
      for (let i = 0; i < 50 && !gone(started.pid); i++) await sleep(20);
      assert(gone(started.pid), `${way}: the process in the network was killed`);
    }));
  }, 60_000);
});
