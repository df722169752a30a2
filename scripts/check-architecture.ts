/**
 * Checks the rules of docs/architecture.md that the type checker cannot, with no exception
 * list: the layering of the code, and determinism.
 *
 * Layering (every import between files of the repository; a rule names what a file may import):
 *
 * - **The port** (core/interfaces, core/model, core/codec, core/hash, core/host, core/errors.ts,
 *   and the plugin definition core/build/plugin.ts with the registry core/build/registry.ts)
 *   imports only the port. So core/interfaces never imports core/node.
 * - **The rest of core** imports only core.
 * - **A plugin** (plugins/FAMILY/...) imports only the port and its own family's files: never
 *   core's internals, never another family. plugins/index.ts, which assembles the registry,
 *   imports the port and the families' index files.
 * - **sim, server, cli, client** reach plugins only through the registry and the public entry
 *   points (index.ts, plugins/index.ts), never a plugin's file; client imports only the port
 *   and client; sim never imports server, cli or client.
 * - **The entry points** (index.ts, plugin-kit/) import core and the plugins' index files; the
 *   kit's testing suites may also use bundled plugins and the simulator.
 * - **examples** import only the public entry points, as a user would.
 * - **lab-net** (the real network: namespaces, a bridge, iptables; Linux and root only) imports
 *   core, sim, server and client (the real runner is a client of the nodes' HTTP API), and only cli/ and test/ import it, so nothing else needs root to load.
 * - **Nothing outside test/ imports test/.**
 *
 * Determinism: code under core/, plugins/ and sim/ (the simulator must replay from a seed)
 * never reads the wall clock, the host's timers or the host's randomness directly — it uses
 * the injected Clock, Scheduler and Random, so one seed reproduces one simulated history. Only
 * the files in HOST_ACCESS_ALLOWLIST (the adapters that *implement* those interfaces) may.
 * Nor does it call the transcendental Math functions (log, exp, pow, cos...): ECMAScript leaves
 * their last bit to the implementation, and V8 builds differ (Node 20 and Deno 2 do), so a
 * history steered by one would not replay under the other runtime. It uses exactMath
 * (core/model/exact-math.ts), built from correctly rounded operations only.
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
    path: "core/host/event-loop.ts",
    reason: "the end of the host event loop's turn, for I/O batched per turn (the LSM's group commit), never a delay or a clock",
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

/**
 * The Math functions ECMAScript leaves "implementation-approximated" (Math.sqrt, which IEEE 754
 * rounds correctly, is not one of them).
 */
const TRANSCENDENTAL = [
  "log",
  "log2",
  "log10",
  "log1p",
  "exp",
  "expm1",
  "pow",
  "sin",
  "cos",
  "tan",
  "asin",
  "acos",
  "atan",
  "atan2",
  "sinh",
  "cosh",
  "tanh",
  "asinh",
  "acosh",
  "atanh",
  "cbrt",
  "hypot",
] as const;

/**
 * Host-time and host-randomness accesses, and the Math functions whose results depend on the
 * runtime (rule b). `queueMicrotask` is deliberately absent.
 */
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
    rule(
      String.raw`Math\s*\.\s*(?:${TRANSCENDENTAL.join("|")})\s*\(`,
      "a transcendental Math function's last bit differs between runtimes; use exactMath (core/model/exact-math.ts)",
    ),
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
  // TypeScript's non-null assertion (`weights[m]! / x`) ends an operand: a division follows.
  if (before === "!" && j > 0 && /[\w$)\]]/.test(source[j - 1] as string)) return false;
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
    entry.kind === "file" ? file === entry.path : entry.kind === "prefix" ? file.startsWith(entry.path) : `/${file}`.includes(entry.path)
  );
}

// ---- layering ---------------------------------------------------------------------------------

/** Folders whose imports are checked. */
const LAYERED_DIRS = [
  "core",
  "plugins",
  "plugin-kit",
  "sim",
  "server",
  "cli",
  "client",
  "lab-net",
  "bench",
  "examples",
  "scripts",
] as const;

/** Files of the public port of core, besides whole folders. */
const PORT_FILES = new Set(["core/errors.ts", "core/build/plugin.ts", "core/build/registry.ts"]);
const PORT_DIRS = ["core/interfaces/", "core/model/", "core/codec/", "core/hash/", "core/host/"];

/** The public entry points: what examples (and users) import. */
const ENTRY_POINTS = new Set([
  "index.ts",
  "plugin-kit/index.ts",
  "plugin-kit/testing/index.ts",
  "plugins/index.ts",
  "sim/index.ts",
  "server/index.ts",
  "client/index.ts",
  "cli/program.ts",
]);

/** Where a repository file sits in the layering. */
type Area =
  | "port"
  | "core"
  | "plugin"
  | "plugins-index"
  | "kit"
  | "main"
  | "sim"
  | "server"
  | "cli"
  | "client"
  | "lab-net"
  | "bench"
  | "examples"
  | "scripts"
  | "test"
  | "other";

function areaOf(file: string): Area {
  if (PORT_FILES.has(file) || PORT_DIRS.some((d) => file.startsWith(d))) return "port";
  if (file.startsWith("core/")) return "core";
  if (file === "plugins/index.ts") return "plugins-index";
  if (file.startsWith("plugins/")) return "plugin";
  if (file.startsWith("plugin-kit/")) return "kit";
  if (file === "index.ts") return "main";
  const top = file.split("/")[0] as string;
  return (["sim", "server", "cli", "client", "lab-net", "bench", "examples", "scripts", "test"] as const).find((a) => a === top) ?? "other";
}

/** A plugin file's family folder (`plugins/resolvers/x.ts` -> `resolvers`). */
function familyOf(file: string): string {
  return file.split("/")[1] ?? "";
}

/** Whether `file` is a plugin family's index (`plugins/FAMILY/index.ts`). */
function isFamilyIndex(file: string): boolean {
  return /^plugins\/[^/]+\/index\.ts$/.test(file);
}

/** Why `from` may not import `to` (both repository files), or undefined if it may. */
function layeringProblem(from: string, to: string): string | undefined {
  const src = areaOf(from);
  const dst = areaOf(to);
  if (dst === "test" && src !== "test") return "nothing outside test/ imports test/";
  if (dst === "lab-net" && src !== "lab-net" && src !== "cli" && src !== "test") return "only cli/ and test/ import lab-net/";
  switch (src) {
    case "port":
      return dst === "port"
        ? undefined
        : "the port (interfaces, model, codec, hash, host, errors, plugin definition) imports only the port";
    case "core":
      return dst === "port" || dst === "core" ? undefined : "core imports only core";
    case "plugin":
      if (dst === "port") return undefined;
      if (dst === "plugin" && familyOf(to) === familyOf(from)) return undefined;
      return dst === "plugin"
        ? "a plugin imports only the port and its own family (not another family's files)"
        : "a plugin imports only core's port (interfaces, model, codec, hash, host, errors, plugin definition), never core's internals";
    case "plugins-index":
      return dst === "port" || isFamilyIndex(to) ? undefined : "plugins/index.ts imports the port and the families' index files";
    case "main":
    case "kit":
      // The kit's testing suites also run bundled plugins and simulated clusters beside the one
      // under test.
      return dst === "port" || dst === "core" || dst === "kit" || dst === "plugins-index" || dst === "main" || isFamilyIndex(to) ||
          (src === "kit" && (dst === "plugin" || dst === "sim"))
        ? undefined
        : "an entry point imports core and the plugins' entry points";
    case "client":
      return dst === "port" || dst === "client" ? undefined : "client imports only core's port and client/ (it runs in browsers too)";
    case "sim":
    case "server":
    case "cli":
    case "lab-net": {
      if (dst === "plugin") return "reach a plugin through the registry or a public entry point (plugins/index.ts, index.ts), not its file";
      const allowed: Record<"sim" | "server" | "cli" | "lab-net", readonly Area[]> = {
        sim: ["port", "core", "main", "plugins-index", "sim"],
        server: ["port", "core", "main", "plugins-index", "server", "client"],
        cli: ["port", "core", "main", "plugins-index", "kit", "sim", "server", "client", "cli", "lab-net"],
        // The real runner drives node processes over their HTTP API, as any client does.
        "lab-net": ["port", "core", "sim", "server", "client", "lab-net"],
      };
      return allowed[src].includes(dst) ? undefined : `${src}/ may not import ${dst === "other" ? to : `${dst}/`}`;
    }
    case "examples":
      return ENTRY_POINTS.has(to) || dst === "examples" ? undefined : "examples import only the public entry points, as a user would";
    default:
      return undefined;
  }
}

/** Layering violations of `file`, whose blanked code is `code`. */
function layeringViolations(root: string, file: string, source: string, code: string): Violation[] {
  const out: Violation[] = [];
  for (const { specifier, index } of importSpecifiers(code)) {
    if (!specifier.startsWith(".")) continue;
    const target = path.relative(root, path.resolve(path.dirname(path.join(root, file)), specifier)).split(path.sep).join("/");
    if (target.startsWith("..")) continue;
    const problem = layeringProblem(file, target);
    if (problem) out.push({ file, line: lineOf(source, index), message: `imports ${target}: ${problem}` });
  }
  return out;
}

function main(): void {
  const root = parseArgs(process.argv.slice(2));
  if (!existsSync(path.join(root, "core"))) {
    console.error(`check-architecture: no core/ under ${root}`);
    process.exit(2);
  }
  const violations: Violation[] = [];
  let checked = 0;
  let skipped = 0;

  const layered = [...LAYERED_DIRS.flatMap((dir) => tsFiles(root, dir)), ...(existsSync(path.join(root, "index.ts")) ? ["index.ts"] : [])];
  for (const file of layered) {
    const source = readFileSync(path.join(root, file), "utf8");
    violations.push(...layeringViolations(root, file, source, blank(source).code));
  }

  for (const dir of DETERMINISTIC_DIRS) {
    for (const file of tsFiles(root, dir)) {
      checked++;
      const source = readFileSync(path.join(root, file), "utf8");
      const { code, bare } = blank(source);

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
    `architecture ok: the imports of ${layered.length} files keep the layering (no exceptions); ${checked} files in ` +
      `${DETERMINISTIC_DIRS.join("/, ")}/ read no host clock, timers or randomness, and call no runtime-dependent Math function, ` +
      `outside ${skipped} allowlisted adapter file(s)`,
  );
}

main();
