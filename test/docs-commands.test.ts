/**
 * Every shell command that README.md and docs/*.md show in a ```sh block works as written, in
 * a fresh checkout after `npm install`. The test copies the working tree (without
 * node_modules, dist, data or .git) to a temporary directory, runs each command there verbatim
 * with `sh -c`, on loopback, and deletes the copy afterwards:
 *
 * - a command that finishes (npm install, examples, `ringforge compare`, ...) must exit 0;
 * - a long-running one (`npm start`, `ringforge cluster`) is started, waited on until it prints
 *   that every node answers, and stopped the way Ctrl-C stops it (SIGINT to its process
 *   group); no process of it may be left behind;
 * - a command that needs a running cluster (curl, `ringforge get|put|delete|status|leave`) runs
 *   against the cluster an earlier block of the same file started. curl exits 0 even on an
 *   error answer, so its output must not be a ringforge error, and where the line ends with a
 *   comment (`curl .../kv/greeting   # hello`) the output must be that comment's text.
 *
 * A block the test does not run says why, in the Markdown, on the line just before it:
 * `<!-- not run by test/docs-commands.test.ts: <reason> -->`. The test lists those blocks (as
 * skipped tests and in its log). A block marked `<!-- slow, run by test/docs-commands.test.ts
 * only with RINGFORGE_DOCS_SLOW=1: <reason> -->` runs only when that variable is set, so
 * `npm test` stays within minutes; the log says which were left out and how to run them.
 *
 * A lab command (`ringforge compare ...`) runs for at most {@link LAB_BUDGET_MS}: one still
 * running by then, with nothing on standard error but its progress lines, is stopped and passes. What can fail in a
 * command as written (a renamed flag, a missing scenario or config file, a config the registry
 * refuses) fails before the first seed starts, and the lab's figures are the lab tests'
 * business; running every documented comparison to the end takes minutes of `npm test`
 * (about 4 on the 2-core machine). With RINGFORGE_DOCS_SLOW=1 they run to the end.
 *
 * Each file is a walk from a fresh checkout: after a file's cluster has stopped, its `data/`
 * is removed. A command that finishes and appears verbatim in two files (the same lab command
 * in the README and in a guide) runs once; the log names the second place.
 *
 * What "as a person types it" means here: the commands run with the environment of the test
 * minus what npm adds to scripts (`npm_*` variables, node_modules/.bin on the PATH) and minus
 * RINGFORGE_* settings, plus `npm_config_prefer_offline=true` so `npm install` takes packages
 * from npm's cache when it has them rather than asking the registry first.
 *
 * Node only: the commands run in `sh`, through npm, npx and curl, so the runtime that runs this
 * file changes nothing about what they do (the commands that use Deno, `npx deno run ...`, run
 * here too). Under `deno test` it would run the same commands a second time, minutes for
 * nothing new, so the suite is skipped there.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, it } from "@std/testing/bdd";
import { assert, assertEquals } from "@std/assert";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const underDeno = "Deno" in globalThis;
const runSlow = process.env.RINGFORGE_DOCS_SLOW === "1";

const SKIP_MARKER = /^<!--\s*not run by test\/docs-commands\.test\.ts:\s*(.+?)\s*-->$/;
const SLOW_MARKER = /^<!--\s*slow, run by test\/docs-commands\.test\.ts only with RINGFORGE_DOCS_SLOW=1:\s*(.+?)\s*-->$/;

/** A ```sh block of a Markdown file. */
interface Block {
  readonly file: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  /** Its commands, continuation lines joined, blank and comment lines dropped. */
  readonly commands: readonly string[];
  /** Why the block is not run, if it is marked so. */
  readonly skip?: string;
  /** Why the block is slow, if it is marked so (it runs only with RINGFORGE_DOCS_SLOW=1). */
  readonly slow?: string;
}

/** Reads the ```sh blocks of `file` (relative to the repository). */
function blocksOf(file: string): Block[] {
  const lines = readFileSync(path.join(ROOT, file), "utf8").split("\n");
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*```sh\s*$/.test(lines[i]!)) continue;
    let previous = i - 1;
    while (previous >= 0 && lines[previous]!.trim() === "") previous--;
    const marker = previous >= 0 ? lines[previous]!.trim() : "";
    const commands: string[] = [];
    let pending = "";
    let j = i + 1;
    for (; j < lines.length && !/^\s*```\s*$/.test(lines[j]!); j++) {
      const text = lines[j]!;
      if (text.endsWith("\\")) {
        pending += `${text.slice(0, -1)} `;
        continue;
      }
      const command = (pending + text).trim();
      pending = "";
      if (command !== "" && !command.startsWith("#")) commands.push(command);
    }
    const skip = SKIP_MARKER.exec(marker)?.[1];
    const slow = SLOW_MARKER.exec(marker)?.[1];
    blocks.push({ file, line: i + 1, commands, ...(skip ? { skip } : {}), ...(slow ? { slow } : {}) });
    i = j;
  }
  return blocks;
}

/** What a command is, for how the test runs it. */
type Kind = "finishes" | "long-running" | "needs-cluster";

function kindOf(command: string): Kind {
  if (/^npm start\b/.test(command) || /\bringforge (cluster|start)\b/.test(command) || /cli\/main\.ts (cluster|start)\b/.test(command)) {
    return "long-running";
  }
  if (/^curl\b/.test(command) || /\bringforge (get|put|delete|status|leave)\b/.test(command)) return "needs-cluster";
  return "finishes";
}

/** The shell comment ending a command (`curl ... # hello` -> `hello`), if any. */
function trailingComment(command: string): string | undefined {
  return /\s#\s*(.*)$/.exec(command)?.[1]?.trim();
}

/** The environment of a person's shell: no npm script variables, no RINGFORGE_* settings. */
function personEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined || /^npm_/i.test(key) || key.startsWith("RINGFORGE_") || key === "INIT_CWD") continue;
    env[key] = value;
  }
  // npm puts the project's node_modules/.bin (and its node-gyp shim) first on a script's PATH.
  env.PATH = (process.env.PATH ?? "")
    .split(path.delimiter)
    .filter((dir) => !dir.endsWith(path.join("node_modules", ".bin")) && !dir.endsWith("node-gyp-bin"))
    .join(path.delimiter);
  env.npm_config_prefer_offline = "true";
  env.npm_config_audit = "false";
  env.npm_config_fund = "false";
  env.npm_config_update_notifier = "false";
  return env;
}

/** A command started with `sh -c` in its own process group. */
interface Running {
  readonly command: string;
  readonly child: ChildProcess;
  /** Standard output and standard error as they came, for failure messages. */
  output(): string;
  /** Standard output alone. */
  stdout(): string;
  /** Standard error alone. */
  stderr(): string;
  readonly exited: Promise<number | string>;
}

function startCommand(command: string, cwd: string, env: Record<string, string>): Running {
  // Its own process group: SIGINT to the group is what Ctrl-C in a terminal sends, and the
  // group shows whether anything it started is still alive.
  const child = spawn("sh", ["-c", command], { cwd, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  let stdout = "";
  let stderr = "";
  const keep = (text: string, chunk: Buffer) => (text + chunk.toString()).slice(-200_000);
  child.stdout!.on("data", (chunk: Buffer) => {
    output = keep(output, chunk);
    stdout = keep(stdout, chunk);
  });
  child.stderr!.on("data", (chunk: Buffer) => {
    output = keep(output, chunk);
    stderr = keep(stderr, chunk);
  });
  const exited = new Promise<number | string>((resolve) => child.once("exit", (code, signal) => resolve(signal ?? code ?? -1)));
  return { command, child, output: () => output, stdout: () => stdout, stderr: () => stderr, exited };
}

/** Whether any process of the group led by `pid` is alive. */
function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

async function waitUntil(ms: number, done: () => boolean): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return true;
}

/** The last lines of a command's output, for a failure message. */
function tail(text: string, lines = 40): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

/** Runs a command that finishes; fails unless it exits 0 within `ms`. Resolves to its standard output. */
async function runToEnd(command: string, cwd: string, env: Record<string, string>, ms: number): Promise<string> {
  const run = startCommand(command, cwd, env);
  const timer = setTimeout(() => signalGroup(run.child.pid!, "SIGKILL"), ms);
  const code = await run.exited;
  clearTimeout(timer);
  // Nothing a finished command started (or a killed one) outlives its test.
  signalGroup(run.child.pid!, "SIGKILL");
  assertEquals(
    code,
    0,
    `\`${command}\` exited with ${code}${code === "SIGKILL" ? ` (killed after ${ms} ms)` : ""}:\n${tail(run.output())}`,
  );
  return run.stdout();
}

/** Where the test runs the commands: a copy of the working tree, and the environment. */
interface Workspace {
  readonly dir: string;
  readonly env: Record<string, string>;
}

/** Copies the working tree as a fresh checkout has it: no installed or generated files. */
function makeWorkspace(): Workspace {
  const parent = mkdtempSync(path.join(tmpdir(), "ringforge-docs-"));
  const dir = path.join(parent, "ringforge");
  const generated = new Set([
    "node_modules",
    "dist",
    "data",
    ".git",
    "coverage",
    ".deno",
    path.join("docs", "api"),
    path.join("bench", "results"),
  ]);
  cpSync(ROOT, dir, {
    recursive: true,
    filter: (source) => {
      const relative = path.relative(ROOT, source);
      return !generated.has(relative) && !relative.endsWith(".log");
    },
  });
  return { dir, env: personEnv() };
}

/**
 * Removes the workspace, and the entry `npx ringforge` made for it in npm's npx cache (npx
 * links a project's own bin there, keyed by the project's path).
 */
function removeWorkspace(workspace: Workspace): void {
  try {
    const cache = execFileSync("npm", ["config", "get", "cache"], { env: workspace.env, encoding: "utf8" }).trim();
    const npxCache = path.join(cache, "_npx");
    for (const entry of existsSync(npxCache) ? readdirSync(npxCache) : []) {
      const manifest = path.join(npxCache, entry, "package.json");
      if (existsSync(manifest) && readFileSync(manifest, "utf8").includes(JSON.stringify(workspace.dir))) {
        rmSync(path.join(npxCache, entry), { recursive: true, force: true });
      }
    }
  } finally {
    rmSync(path.dirname(workspace.dir), { recursive: true, force: true });
  }
}

/** How long a lab command runs before it is stopped (unless RINGFORGE_DOCS_SLOW=1). */
const LAB_BUDGET_MS = 10_000;

function isLabCommand(command: string): boolean {
  return /\bringforge compare\b|cli\/main\.ts compare\b/.test(command);
}

/**
 * Runs a lab command for at most `budget` ms: it passes if it exits 0 by then, or is still
 * running with nothing on standard error (it is then stopped as Ctrl-C stops it). Resolves to
 * whether it finished.
 */
async function runBounded(command: string, cwd: string, env: Record<string, string>, budget: number): Promise<boolean> {
  const run = startCommand(command, cwd, env);
  let exited: number | string | undefined;
  void run.exited.then((code) => (exited = code));
  await waitUntil(budget, () => exited !== undefined);
  const finished = exited !== undefined;
  if (!finished) {
    // Without a terminal the lab reports its progress on standard error every few seconds; that is not an error.
    const complaints = run.stderr().split("\n").filter((line) => line.trim() !== "" && !/^ringforge compare: \d+%/.test(line));
    assertEquals(complaints.join("\n"), "", `\`${command}\` wrote to standard error:\n${tail(run.output())}`);
    signalGroup(run.child.pid!, "SIGINT");
    if (!(await waitUntil(STOP_MS, () => exited !== undefined))) signalGroup(run.child.pid!, "SIGKILL");
    await run.exited;
  }
  signalGroup(run.child.pid!, "SIGKILL");
  if (finished) assertEquals(exited, 0, `\`${command}\` exited with ${exited}:\n${tail(run.output())}`);
  return finished;
}

/** Finite commands get this long (the slowest lab commands take minutes on 2 busy cores). */
const FINISH_MS = 15 * 60_000;
/** A cluster must print that it is ready within this. */
const READY_MS = 120_000;
/** And be gone this long after Ctrl-C. */
const STOP_MS = 30_000;

const FILES = ["README.md", ...readdirSync(path.join(ROOT, "docs")).filter((f) => f.endsWith(".md")).sort().map((f) => `docs/${f}`)];
const BLOCKS = FILES.flatMap(blocksOf);

/** Stops a long-running command as Ctrl-C does; fails if anything it started is left behind. */
async function stop(running: Running): Promise<void> {
  const pid = running.child.pid!;
  signalGroup(pid, "SIGINT");
  const gone = await waitUntil(STOP_MS, () => !groupAlive(pid));
  if (!gone) signalGroup(pid, "SIGKILL");
  assert(gone, `\`${running.command}\` left processes running ${STOP_MS} ms after Ctrl-C (SIGINT):\n${tail(running.output())}`);
}

(underDeno ? describe.skip : describe)("the commands in README.md and docs/*.md, verbatim", () => {
  let workspace: Workspace | undefined;
  /** The long-running command of the current file (a cluster), if one is up. */
  let cluster: Running | undefined;
  const timings: string[] = [];
  /** Finished commands already run, and where: the same lab command in two guides runs once. */
  const ran = new Map<string, string>();

  const stopCluster = async () => {
    const running = cluster;
    cluster = undefined;
    if (running) await stop(running);
  };

  beforeAll(() => {
    workspace = makeWorkspace();
  });

  afterAll(() => {
    // Only when a test failed half-way: nothing waits here (hooks have no room for it).
    if (cluster) signalGroup(cluster.child.pid!, "SIGKILL");
    if (workspace) removeWorkspace(workspace);
    const skipped = BLOCKS.filter((b) => b.skip || (b.slow && !runSlow));
    const line = (b: Block) =>
      `  ${b.file}:${b.line} ${b.commands[0]}${b.commands.length > 1 ? " ..." : ""}\n      ${
        b.skip ?? `${b.slow} (set RINGFORGE_DOCS_SLOW=1 to run it)`
      }`;
    console.log(
      `docs commands run:\n${timings.map((t) => `  ${t}`).join("\n")}\n` +
        (skipped.length ? `docs commands not run:\n${skipped.map(line).join("\n")}\n` : ""),
    );
  });

  for (const file of FILES) {
    const blocks = BLOCKS.filter((b) => b.file === file);
    if (blocks.length === 0) continue;
    describe(file, () => {
      for (const block of blocks) {
        const name = `${file}:${block.line}: ${block.commands.join("; ")}`;
        if (block.skip || (block.slow && !runSlow)) {
          it.skip(`${name} (not run: ${block.skip ?? `slow, ${block.slow}`})`, () => {});
          continue;
        }
        const kinds = block.commands.map(kindOf);
        const bound = STOP_MS + kinds.reduce((ms, kind) => ms + (kind === "finishes" ? FINISH_MS : READY_MS + STOP_MS), 0);
        it(
          name,
          async () => {
            const { dir, env } = workspace!;
            // Blocks that neither use nor start a cluster do not share the machine with one.
            if (!kinds.some((k) => k !== "finishes")) await stopCluster();
            for (const [i, command] of block.commands.entries()) {
              const started = Date.now();
              switch (kinds[i]!) {
                case "finishes": {
                  // A deterministic command that already passed gains nothing from a second
                  // run; npm commands depend on the workspace's state, so they always run.
                  const earlier = ran.get(command);
                  if (earlier !== undefined && !command.startsWith("npm ")) {
                    timings.push(`     -    ${file}:${block.line} ${command} (the same as ${earlier}, which passed)`);
                    continue;
                  }
                  if (isLabCommand(command) && !runSlow) {
                    const finished = await runBounded(command, dir, env, LAB_BUDGET_MS);
                    ran.set(command, `${file}:${block.line}`);
                    if (!finished) {
                      timings.push(
                        `${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s  ${file}:${block.line} ${command} (running after ${
                          LAB_BUDGET_MS / 1000
                        } s, stopped; RINGFORGE_DOCS_SLOW=1 runs it to the end)`,
                      );
                      continue;
                    }
                    break;
                  }
                  await runToEnd(command, dir, env, FINISH_MS);
                  ran.set(command, `${file}:${block.line}`);
                  break;
                }
                case "long-running": {
                  await stopCluster();
                  const running = startCommand(command, dir, env);
                  cluster = running;
                  let exited: number | string | undefined;
                  void running.exited.then((code) => (exited = code));
                  const ready = await waitUntil(
                    READY_MS,
                    () => exited !== undefined || running.output().includes("Ctrl-C stops every node"),
                  );
                  assert(
                    ready && exited === undefined,
                    `\`${command}\` ${exited === undefined ? `did not say it was ready within ${READY_MS} ms` : `exited (${exited})`}:\n${
                      tail(running.output())
                    }`,
                  );
                  break;
                }
                case "needs-cluster": {
                  assert(cluster, `\`${command}\` needs a running cluster: start one in an earlier block of ${file}`);
                  const output = await runToEnd(command, dir, env, 60_000);
                  if (command.startsWith("curl")) {
                    assert(!/"code"\s*:\s*"RINGFORGE_/.test(output), `\`${command}\` got an error answer: ${output}`);
                    const expected = trailingComment(command);
                    if (expected !== undefined) assertEquals(output.trim(), expected, `\`${command}\``);
                  }
                  break;
                }
              }
              timings.push(`${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s  ${file}:${block.line} ${command}`);
            }
          },
          bound,
        );
      }

      if (blocks.some((b) => !b.skip && !(b.slow && !runSlow) && b.commands.some((c) => kindOf(c) === "long-running"))) {
        it(
          `${file}: Ctrl-C stops the cluster it started, and no process is left behind`,
          async () => {
            await stopCluster();
            // Each guide is a walk from a fresh checkout: the next one starts without this data.
            rmSync(path.join(workspace!.dir, "data"), { recursive: true, force: true });
          },
          STOP_MS + 10_000,
        );
      }
    });
  }
});
