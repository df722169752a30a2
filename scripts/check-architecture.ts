/**
 * Checks two rules of DESIGN.md that the type checker cannot:
 *
 * (a) Dependency direction: nothing under core/ imports from plugins/
 *     (`core <- plugins <- (sim, server, cli) <- examples`).
 * (b) Determinism: code under core/, plugins/ and sim/ (the simulator must replay from a seed) never reads the wall clock, the host's
 *     timers or the host's randomness directly — it uses the injected Clock, Scheduler and
 *     Random, so one seed reproduces one simulated history. Only the files in
 *     HOST_ACCESS_ALLOWLIST (the adapters that *implement* those interfaces) may.
 *
 * Comments and string contents are blanked before matching, so prose that mentions
 * `Date.now()` is not a violation. Method calls on other objects (`scheduler.setTimeout(`)
 * are not host calls and are not reported; `globalThis.setTimeout(` is.
 *
 * Usage: npx tsx scripts/check-architecture.ts [--root <dir>]   (default: the repository)
 *
 * @module
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** Folders whose code must be deterministic (rule b). */
const DETERMINISTIC_DIRS = ["core", "plugins", "sim"] as const;

/**
 * Files allowed to touch host time and randomness (rule b), and why. Each is an adapter
 * that implements an injected interface for real processes, or the one hook the virtual
 * scheduler needs into the host event loop. Keep the list short: a new entry needs a reason
 * a reviewer can check.
 */
const HOST_ACCESS_ALLOWLIST: ReadonlyArray<{
  /** "file": exact path; "prefix": a folder; "contains": any path containing the text. */
  readonly kind: "file" | "prefix" | "contains";
  readonly path: string;
  readonly reason: string;
}> = [
  {
    kind: "file",
    path: "core/runtime/system-runtime.ts",
    reason: "the system runtime adapter: real Clock, Scheduler and Random for real processes",
  },
  {
    kind: "file",
    path: "core/runtime/macrotask.ts",
    reason: "the virtual scheduler's microtask drain: one host macrotask per simulated event, never a delay",
  },
  {
    kind: "file",
    path: "plugins/transports/tcp/handshake.ts",
    reason: "handshake nonces must be unpredictable: crypto.getRandomValues, never the seeded Random",
  },
  // To be enabled when it exists (uncomment with the change that adds it):
  // {
  //   kind: "contains",
  //   path: "/adapter/",
  //   reason: "per-runtime adapters (CONVENTIONS.md: runtime-specific code lives only in adapter/<runtime>/)",
  // },
];

/** Host-time and host-randomness accesses (rule b). `queueMicrotask` is deliberately absent. */
const HOST_ACCESS_RULES: ReadonlyArray<{ readonly pattern: RegExp; readonly what: string }> = (() => {
  // Not preceded by an identifier character or a dot (so `clock.now()` and
  // `scheduler.setTimeout(` pass), optionally qualified by the global object.
  const host = String.raw`(?<![\w$.])(?:(?:globalThis|window|self|global)\s*\.\s*)?`;
  const rule = (source: string, what: string) => ({ pattern: new RegExp(host + source, "g"), what });
  return [
    rule(String.raw`Date\s*\.\s*now\s*\(`, "Date.now() reads the wall clock; use the injected Clock"),
    // new Date(ms) merely formats a given time; only the argument-less forms read the clock.
    rule(String.raw`new\s+Date\s*(?:\(\s*\)|(?![\s(]))`, "new Date() reads the wall clock; use the injected Clock"),
    rule(String.raw`(?<!new\s+)Date\s*\(`, "Date() reads the wall clock; use the injected Clock"),
    rule(String.raw`performance\s*\.\s*now\s*\(`, "performance.now() reads the host clock; use the injected Clock"),
    rule(String.raw`process\s*\.\s*hrtime\b`, "process.hrtime reads the host clock; use the injected Clock"),
    rule(String.raw`Math\s*\.\s*random\s*\(`, "Math.random() is unseeded; use the injected Random"),
    rule(String.raw`crypto\s*\.\s*(?:getRandomValues|randomUUID)\s*\(`, "host randomness; use the injected Random"),
    rule(String.raw`setTimeout\s*\(`, "setTimeout() is a host timer; use the injected Scheduler"),
    rule(String.raw`setInterval\s*\(`, "setInterval() is a host timer; use the injected Scheduler"),
    rule(String.raw`setImmediate\s*\(`, "setImmediate() is a host timer; use the injected Scheduler"),
  ];
})();

/** Modules that only exist to reach host timers or clocks (rule b). */
const HOST_MODULES = new Set(["node:timers", "node:timers/promises", "timers", "timers/promises", "node:perf_hooks", "perf_hooks"]);

interface Violation {
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

function parseArgs(argv: readonly string[]): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  let root = path.resolve(here, "..");
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--root" && argv[i + 1] !== undefined) root = path.resolve(argv[++i] as string);
    else {
      console.error(`usage: check-architecture [--root <dir>] (unexpected argument ${argv[i]})`);
      process.exit(2);
    }
  }
  return root;
}

/** Every .ts file under `dir` (relative to `root`, posix separators), sorted. */
function tsFiles(root: string, dir: string): string[] {
  const full = path.join(root, dir);
  if (!existsSync(full)) return [];
  const found: string[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(path.join(root, rel)).sort()) {
      if (name === "node_modules" || name.startsWith(".")) continue;
      const child = `${rel}/${name}`;
      if (statSync(path.join(root, child)).isDirectory()) walk(child);
      else if (/\.(?:[cm]?ts|tsx)$/.test(name)) found.push(child);
    }
  };
  walk(dir);
  return found;
}

/**
 * Returns two copies of `source` with the same length and line breaks: `code` has comments
 * blanked; `bare` also has the contents of string and template literals blanked (template
 * `${...}` expressions are kept, since they are code); regex literals are blanked in `bare`.
 * A rough lexer: it tells a regex from a division by the preceding token, and can be
 * fooled by unusual code, which at worst misplaces a blank.
 */
function blank(source: string): { code: string; bare: string } {
  const code = source.split("");
  const bare = source.split("");
  const wipe = (i: number, alsoCode: boolean): void => {
    const c = source[i] as string;
    if (c === "\n" || c === "\r") return;
    bare[i] = " ";
    if (alsoCode) code[i] = " ";
  };
  // Stack of open template literals; each holds the brace depth of its current `${`.
  const templates: number[] = [];
  let braceDepth = 0;
  let i = 0;
  const n = source.length;
  const inTemplateText = (): boolean => templates.length > 0 && templates[templates.length - 1] === -1;

  while (i < n) {
    const c = source[i] as string;
    const next = source[i + 1];
    if (inTemplateText()) {
      if (c === "\\") {
        wipe(i, false);
        if (i + 1 < n) wipe(i + 1, false);
        i += 2;
      } else if (c === "`") {
        templates.pop();
        i++;
      } else if (c === "$" && next === "{") {
        templates[templates.length - 1] = braceDepth;
        braceDepth++;
        i += 2;
      } else {
        wipe(i, false);
        i++;
      }
      continue;
    }
    if (c === "/" && next === "/") {
      while (i < n && source[i] !== "\n") wipe(i++, true);
    } else if (c === "/" && next === "*") {
      const end = source.indexOf("*/", i + 2);
      const stop = end === -1 ? n : end + 2;
      while (i < stop) wipe(i++, true);
    } else if (c === "'" || c === '"') {
      i++;
      while (i < n && source[i] !== c && source[i] !== "\n") {
        if (source[i] === "\\") wipe(i++, false);
        if (i < n) wipe(i++, false);
      }
      i++;
    } else if (c === "/" && startsRegex(source, i)) {
      // A regex literal: skip to its closing slash (not one inside [...]), blanking it.
      let inClass = false;
      i++;
      while (i < n && source[i] !== "\n" && (inClass || source[i] !== "/")) {
        if (source[i] === "\\") wipe(i++, false);
        else if (source[i] === "[") inClass = true;
        else if (source[i] === "]") inClass = false;
        if (i < n) wipe(i++, false);
      }
      i++;
    } else if (c === "`") {
      templates.push(-1);
      i++;
    } else if (c === "{") {
      braceDepth++;
      i++;
    } else if (c === "}") {
      braceDepth--;
      if (templates.length > 0 && templates[templates.length - 1] === braceDepth) {
        templates[templates.length - 1] = -1; // back inside the template's text
      }
      i++;
    } else {
      i++;
    }
  }
  return { code: code.join(""), bare: bare.join("") };
}

/** Whether the "/" at `i` begins a regex literal rather than a division, judged by what precedes it. */
function startsRegex(source: string, i: number): boolean {
  let j = i - 1;
  while (j >= 0 && /\s/.test(source[j] as string)) j--;
  if (j < 0) return true;
  const before = source[j] as string;
  if ("(,=:[!&|?{};+-*%<>~^".includes(before)) return true;
  const word = /[A-Za-z_$][\w$]*$/.exec(source.slice(Math.max(0, j - 10), j + 1));
  return word !== null && ["return", "typeof", "case", "do", "else", "in", "of", "void", "yield", "await"].includes(word[0]);
}

function lineOf(text: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** Module specifiers of static imports/exports, side-effect imports and dynamic import(). */
function importSpecifiers(code: string): Array<{ specifier: string; index: number }> {
  const found: Array<{ specifier: string; index: number }> = [];
  const patterns = [
    /\b(?:import|export)\b[^;'"`]*?\bfrom\s*(["'])([^"'\n]+)\1/g,
    /\bimport\s*(["'])([^"'\n]+)\1/g,
    /\bimport\s*\(\s*(["'])([^"'\n]+)\1\s*\)/g,
  ];
  for (const pattern of patterns) {
    for (const m of code.matchAll(pattern)) found.push({ specifier: m[2] as string, index: m.index ?? 0 });
  }
  return found;
}

function allowlisted(file: string): boolean {
  return HOST_ACCESS_ALLOWLIST.some((entry) =>
    entry.kind === "file"
      ? file === entry.path
      : entry.kind === "prefix"
      ? file.startsWith(entry.path)
      : `/${file}`.includes(entry.path)
  );
}

function main(): void {
  const root = parseArgs(process.argv.slice(2));
  if (!existsSync(path.join(root, "core"))) {
    console.error(`check-architecture: no core/ under ${root}`);
    process.exit(2);
  }
  const violations: Violation[] = [];
  const pluginsDir = path.join(root, "plugins");
  let checked = 0;
  let skipped = 0;

  for (const dir of DETERMINISTIC_DIRS) {
    for (const file of tsFiles(root, dir)) {
      checked++;
      const source = readFileSync(path.join(root, file), "utf8");
      const { code, bare } = blank(source);

      // (a) core/ never imports plugins/.
      if (dir === "core") {
        for (const { specifier, index } of importSpecifiers(code)) {
          const intoPlugins = specifier.startsWith(".")
            ? path.resolve(path.dirname(path.join(root, file)), specifier).startsWith(pluginsDir + path.sep) ||
              path.resolve(path.dirname(path.join(root, file)), specifier) === pluginsDir
            : /^(?:ringforge|@ringforge\/ringforge)\/plugins(?:\/|$)/.test(specifier);
          if (intoPlugins) {
            violations.push({
              file,
              line: lineOf(source, index),
              message: `core imports plugins ("${specifier}"); dependencies point core <- plugins only`,
            });
          }
        }
      }

      // (b) no host time or randomness outside the allowlist.
      if (allowlisted(file)) {
        skipped++;
        continue;
      }
      for (const { pattern, what } of HOST_ACCESS_RULES) {
        for (const m of bare.matchAll(pattern)) {
          violations.push({ file, line: lineOf(source, m.index ?? 0), message: what });
        }
      }
      for (const { specifier, index } of importSpecifiers(code)) {
        if (HOST_MODULES.has(specifier)) {
          violations.push({
            file,
            line: lineOf(source, index),
            message: `imports "${specifier}" (host timers/clock); use the injected Scheduler and Clock`,
          });
        }
      }
    }
  }

  if (violations.length > 0) {
    violations.sort((x, y) => x.file.localeCompare(y.file) || x.line - y.line);
    for (const v of violations) console.error(`${v.file}:${v.line}: ${v.message}`);
    console.error(`architecture: ${violations.length} violation(s) in ${checked} files`);
    process.exit(1);
  }
  console.log(
    `architecture ok: ${checked} files in ${DETERMINISTIC_DIRS.join("/, ")}/ — core does not import plugins; ` +
      `no host clock, timers or randomness outside ${skipped} allowlisted adapter file(s)`,
  );
}

main();
