/**
 * `npm start` runs the built JavaScript (scripts/run-built-cli.mjs), never a TypeScript loader,
 * and still runs what the checkout holds now: it builds `dist/` (`npm run prepare`, as
 * `npm install` does) when nothing is built or a source file is newer than the build, and only
 * then. The script runs here in a small project of its own, whose `prepare` writes a stand-in
 * CLI that prints how it was started and counts the builds, so each case takes one npm run at
 * most instead of a real build.
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { afterEach, describe, it } from "@std/testing/bdd";
import { assertEquals, assertMatch, assertNotEquals } from "@std/assert";

const SCRIPT = fileURLToPath(new URL("../scripts/run-built-cli.mjs", import.meta.url));

/** The stand-in build: counts itself, fails when cli/broken.ts exists, writes dist/cli/main.js. */
const BUILD = `
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
appendFileSync("builds.log", "build\\n");
if (existsSync("cli/broken.ts")) process.exit(2);
mkdirSync("dist/cli", { recursive: true });
writeFileSync("dist/cli/main.js", "console.log(JSON.stringify({ script: process.argv[1], args: process.argv.slice(2) }));\\n");
`;

const dirs: string[] = [];

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A project with the script, one source file and the stand-in build; nothing built yet. */
function project(): string {
  // Its real path: Node runs a script by its real path, and the temporary folder may be a link.
  const dir = realpathSync(mkdtempSync(path.join(tmpdir(), "ringforge-run-built-")));
  dirs.push(dir);
  mkdirSync(path.join(dir, "scripts"));
  cpSync(SCRIPT, path.join(dir, "scripts", "run-built-cli.mjs"));
  mkdirSync(path.join(dir, "cli"));
  writeFileSync(path.join(dir, "cli", "program.ts"), "export {};\n");
  writeFileSync(path.join(dir, "build.mjs"), BUILD);
  writeFileSync(path.join(dir, "package.json"), JSON.stringify({ type: "module", scripts: { prepare: "node build.mjs" } }));
  return dir;
}

/** Sets a file's modification time to `secondsAgo` before now. */
function age(file: string, secondsAgo: number): void {
  const time = new Date(Date.now() - secondsAgo * 1000);
  utimesSync(file, time, time);
}

/** Runs the script as `npm start` does, with npm's own variables left out; counts the builds. */
function run(dir: string, args: string[]): { code: number | null; out: string; err: string; builds: number } {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
  const result = spawnSync("node", [path.join(dir, "scripts", "run-built-cli.mjs"), ...args], {
    cwd: dir,
    env,
    encoding: "utf8",
    shell: process.platform === "win32",
  });
  const log = path.join(dir, "builds.log");
  const builds = existsSync(log) ? readFileSync(log, "utf8").split("\n").filter(Boolean).length : 0;
  return { code: result.status, out: result.stdout, err: result.stderr, builds };
}

describe("npm start runs the built CLI (scripts/run-built-cli.mjs)", () => {
  it("builds dist/ when nothing is built, then runs the CLI with the arguments, as dist/cli/main.js", () => {
    const dir = project();
    const result = run(dir, ["cluster", "--nodes", "3"]);
    assertEquals(result.code, 0, result.err);
    assertEquals(result.builds, 1);
    assertMatch(result.err, /dist\/ is not built yet/);
    // `ringforge cluster` starts its nodes with the script it runs as: the built CLI.
    assertEquals(JSON.parse(result.out), { script: path.join(dir, "dist", "cli", "main.js"), args: ["cluster", "--nodes", "3"] });
  });

  it("does not build when dist/ is newer than every source", () => {
    const dir = project();
    run(dir, []);
    age(path.join(dir, "cli", "program.ts"), 60);
    const result = run(dir, ["status"]);
    assertEquals(result.code, 0, result.err);
    assertEquals(result.builds, 1);
    assertEquals(result.err, "");
    assertEquals(JSON.parse(result.out).args, ["status"]);
  });

  it("rebuilds after a source file changes", () => {
    const dir = project();
    run(dir, []);
    age(path.join(dir, "dist", "cli", "main.js"), 60);
    age(path.join(dir, "cli", "program.ts"), 30);
    const result = run(dir, ["status"]);
    assertEquals(result.code, 0, result.err);
    assertEquals(result.builds, 2);
    assertMatch(result.err, /a source file is newer than dist\//);
  });

  it("a failed build stops there: the old build does not run", () => {
    const dir = project();
    run(dir, []);
    writeFileSync(path.join(dir, "cli", "broken.ts"), "export const = ;\n");
    const result = run(dir, ["status"]);
    assertNotEquals(result.code, 0);
    assertEquals(result.builds, 2);
    assertEquals(result.out, "");
  });
});
