#!/usr/bin/env node
// @ts-check
/**
 * Runs the `ringforge` CLI from `dist/` (the built JavaScript, no TypeScript loader), building
 * `dist/` first when a source file is newer than it or nothing is built yet, the way
 * `npm install` builds it (`npm run prepare`). `npm start` is
 * `node scripts/run-built-cli.mjs cluster --nodes 3`, so a checkout's latest edit is what runs,
 * and a start with nothing to build pays one `stat` per source file (10–20 ms).
 *
 * The CLI runs in this process: a second Node process would add its own start-up, about 0.1 s
 * of CPU, to every start.
 *
 * Plain JavaScript: it runs before anything is built.
 *
 * Usage: node scripts/run-built-cli.mjs ARGS...   (the arguments of `ringforge`)
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import path from "node:path";
import process from "node:process";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");

/** What tsup.config.ts builds from: its entries and every folder they import from. */
const SOURCES = ["index.ts", "core", "plugins", "plugin-kit", "sim", "server", "client", "cli", "tsup.config.ts"];

/** The built CLI (package.json `bin`); tsup rewrites it on every build. */
const CLI = path.join(ROOT, "dist", "cli", "main.js");

/**
 * The newest modification time (ms) of the `.ts` files under `entry` (a file or a folder), or 0.
 *
 * @param {string} entry
 * @returns {number}
 */
function newestSource(entry) {
  let stat;
  try {
    stat = statSync(entry);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return entry.endsWith(".ts") ? stat.mtimeMs : 0;
  let newest = 0;
  for (const name of readdirSync(entry)) newest = Math.max(newest, newestSource(path.join(entry, name)));
  return newest;
}

/** @returns {number} the built CLI's modification time (ms), or -1 when it is missing */
function builtAt() {
  try {
    return statSync(CLI).mtimeMs;
  } catch {
    return -1;
  }
}

const built = builtAt();
if (built < Math.max(...SOURCES.map((entry) => newestSource(path.join(ROOT, entry))))) {
  process.stderr.write(
    built < 0
      ? "ringforge: dist/ is not built yet: building it (npm run prepare)...\n"
      : "ringforge: a source file is newer than dist/: rebuilding it (npm run prepare)...\n",
  );
  const build = spawnSync("npm", ["run", "--silent", "prepare"], {
    cwd: ROOT,
    stdio: "inherit",
    // npm is npm.cmd on Windows, which only a shell runs.
    shell: process.platform === "win32",
  });
  if (build.error) throw build.error;
  if (build.status !== 0) process.exit(build.status ?? 1);
}

// The CLI takes its own path from argv[1]: `ringforge cluster` starts its nodes with it.
process.argv[1] = CLI;
await import(pathToFileURL(CLI).href);
