/**
 * Checks that the four places naming the package's public modules agree:
 *
 * - deno.json `exports` (subpath -> source file; what `deno run`/JSR users import),
 * - package.json `exports` and `bin` (subpath -> built file; what npm users import),
 * - tsup.config.ts `entry` (source file -> built file name),
 * - typedoc.json `entryPoints` (source files in the generated reference).
 *
 * For every deno.json export there must be a package.json export with the same subpath
 * whose `import` (and `types`) file is what tsup builds from that export's source; tsup
 * builds nothing that is not exported (except the bin's source and BUILT_UNEXPORTED); TypeDoc documents exactly
 * the deno.json exports except those listed in UNDOCUMENTED; package.json `bin.ringforge`
 * is tsup's output for BIN_SOURCE. Every mismatch is printed; the exit code is 1 if there was any.
 *
 * Usage: npx tsx scripts/check-entrypoints.ts [--root <dir>]   (default: the repository)
 *
 * @module
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/**
 * deno.json export subpaths deliberately absent from typedoc.json, with the reason.
 * Every other export must be in the generated reference.
 */
const UNDOCUMENTED = new Map<string, string>([
  [
    "./cli",
    "the command-line program behind the `ringforge` bin: it documents itself through " +
    "--help and docs/, not the API reference",
  ],
]);

/**
 * The executable: package.json `bin.ringforge` must be tsup's output for BIN_SOURCE. The
 * bin source is built by tsup without being a module export (it only runs the program).
 */
const BIN_NAME = "ringforge";
const BIN_SOURCE = "cli/main.ts";

/**
 * Sources tsup builds that are neither exports nor the bin, with the reason: modules the
 * package starts itself at run time by path, never imports.
 */
const BUILT_UNEXPORTED = new Map<string, string>([
  [
    "plugins/engines/lsm/compaction-worker.ts",
    "the LSM engine's compaction worker thread, started by file URL (new Worker), so it needs a built file of its own",
  ],
]);

/** package.json export subpaths allowed without a deno.json counterpart, with the reason. */
const NPM_ONLY_SUBPATHS = new Map<string, string>([
  ["./package.json", "lets tools read the manifest; not a module"],
]);

type Json = unknown;

interface TsupOutput {
  /** The source file, relative to the root, without "./". */
  readonly source: string;
  /** The built JavaScript file for the esm format, relative to the root. */
  readonly js: string;
  /** The built declaration file, if tsup emits declarations. */
  readonly dts: string | undefined;
}

const problems: string[] = [];
const notes: string[] = [];

function problem(message: string): void {
  problems.push(message);
}

/** "./core/index.ts" -> "core/index.ts"; posix separators; no trailing slash games. */
function normalize(p: string): string {
  const posix = path.posix.normalize(p.replaceAll("\\", "/"));
  return posix.startsWith("./") ? posix.slice(2) : posix;
}

function isRecord(value: Json): value is Record<string, Json> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function readJson(root: string, file: string): Json | undefined {
  const full = path.join(root, file);
  if (!existsSync(full)) {
    problem(`${file}: not found`);
    return undefined;
  }
  try {
    return JSON.parse(readFileSync(full, "utf8")) as Json;
  } catch (error) {
    problem(`${file}: not valid JSON (${error instanceof Error ? error.message : String(error)})`);
    return undefined;
  }
}

function parseArgs(argv: readonly string[]): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  let root = path.resolve(here, "..");
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--root" && argv[i + 1] !== undefined) root = path.resolve(argv[++i] as string);
    else {
      console.error(`usage: check-entrypoints [--root <dir>] (unexpected argument ${argv[i]})`);
      process.exit(2);
    }
  }
  return root;
}

// ---------------------------------------------------------------------------------------
// deno.json

/** subpath -> source file (normalized). */
function denoExports(deno: Json): Map<string, string> {
  const result = new Map<string, string>();
  if (!isRecord(deno)) return result;
  const exports = deno["exports"];
  if (typeof exports === "string") {
    result.set(".", normalize(exports));
  } else if (isRecord(exports)) {
    for (const [subpath, target] of Object.entries(exports)) {
      if (typeof target === "string") result.set(subpath, normalize(target));
      else problem(`deno.json exports["${subpath}"]: expected a file path, got ${JSON.stringify(target)}`);
    }
  } else {
    problem(`deno.json: no "exports"`);
  }
  return result;
}

// ---------------------------------------------------------------------------------------
// package.json

interface NpmTarget {
  readonly js: string | undefined;
  readonly types: string | undefined;
}

/** Reads an export's `import` target (falling back to `default`) and its `types`. */
function npmTarget(value: Json): NpmTarget {
  if (typeof value === "string") return { js: normalize(value), types: undefined };
  if (!isRecord(value)) return { js: undefined, types: undefined };
  let types = typeof value["types"] === "string" ? normalize(value["types"]) : undefined;
  let chosen = value["import"] ?? value["default"];
  // Nested conditions: { "import": { "types": ..., "default": ... } }
  if (isRecord(chosen)) {
    if (typeof chosen["types"] === "string") types = normalize(chosen["types"]);
    chosen = chosen["default"];
  }
  return { js: typeof chosen === "string" ? normalize(chosen) : undefined, types };
}

function npmExports(pkg: Json): Map<string, NpmTarget> {
  const result = new Map<string, NpmTarget>();
  if (!isRecord(pkg)) return result;
  const exports = pkg["exports"];
  if (typeof exports === "string") {
    result.set(".", npmTarget(exports));
  } else if (isRecord(exports)) {
    const keys = Object.keys(exports);
    if (keys.length > 0 && keys.every((k) => !k.startsWith("."))) {
      // Conditions at the top level are the "." export.
      result.set(".", npmTarget(exports));
    } else {
      for (const [subpath, target] of Object.entries(exports)) result.set(subpath, npmTarget(target));
    }
  } else {
    problem(`package.json: no "exports"`);
  }
  return result;
}

// ---------------------------------------------------------------------------------------
// tsup.config.ts

type TsupConfig = Record<string, unknown>;

async function loadTsupConfigs(root: string): Promise<TsupConfig[] | undefined> {
  const file = path.join(root, "tsup.config.ts");
  if (!existsSync(file)) {
    problem("tsup.config.ts: not found");
    return undefined;
  }
  let loaded: unknown;
  try {
    const module = (await import(pathToFileURL(file).href)) as { default?: unknown };
    loaded = module.default;
    if (typeof loaded === "function") loaded = await (loaded as (o: object) => unknown)({});
  } catch (error) {
    notes.push(
      `tsup.config.ts could not be imported (${error instanceof Error ? error.message.split("\n")[0] : String(error)}); ` +
        "read its literal `entry` instead",
    );
    return [parseTsupConfigText(readFileSync(file, "utf8"))];
  }
  const configs = Array.isArray(loaded) ? loaded : [loaded];
  if (!configs.every(isRecord)) {
    problem("tsup.config.ts: default export is not a config object (or array of them)");
    return undefined;
  }
  return configs as TsupConfig[];
}

/** A rough reading of a literal config, for when importing it is not possible. */
function parseTsupConfigText(text: string): TsupConfig {
  const config: TsupConfig = {};
  const entryObject = /\bentry\s*:\s*\{([^}]*)\}/.exec(text);
  const entryArray = /\bentry\s*:\s*\[([^\]]*)\]/.exec(text);
  if (entryObject) {
    const entry: Record<string, string> = {};
    const pair = /["']?([\w@/.-]+)["']?\s*:\s*["']([^"']+)["']/g;
    for (let m = pair.exec(entryObject[1] as string); m; m = pair.exec(entryObject[1] as string)) {
      entry[m[1] as string] = m[2] as string;
    }
    config["entry"] = entry;
  } else if (entryArray) {
    config["entry"] = [...(entryArray[1] as string).matchAll(/["']([^"']+)["']/g)].map((m) => m[1]);
  }
  const outDir = /\boutDir\s*:\s*["']([^"']+)["']/.exec(text);
  if (outDir) config["outDir"] = outDir[1];
  const format = /\bformat\s*:\s*(\[[^\]]*\]|["'][^"']+["'])/.exec(text);
  if (format) config["format"] = [...(format[1] as string).matchAll(/["']([^"']+)["']/g)].map((m) => m[1]);
  const dts = /\bdts\s*:\s*(true|false|\{)/.exec(text);
  if (dts) config["dts"] = dts[1] !== "false";
  return config;
}

/** tsup names array entries by their path relative to the entries' common directory. */
function namesForArrayEntry(sources: readonly string[]): Map<string, string> {
  const dirs = sources.map((s) => path.posix.dirname(normalize(s)).split("/").filter((d) => d !== "."));
  let common = dirs[0] ?? [];
  for (const d of dirs) {
    let i = 0;
    while (i < common.length && i < d.length && common[i] === d[i]) i++;
    common = common.slice(0, i);
  }
  const base = common.join("/");
  const names = new Map<string, string>();
  for (const s of sources) {
    const rel = base ? path.posix.relative(base, normalize(s)) : normalize(s);
    names.set(rel.replace(/\.[cm]?[jt]sx?$/, ""), normalize(s));
  }
  return names;
}

function declarationExtension(js: string): string {
  if (js === ".mjs") return ".d.mts";
  if (js === ".cjs") return ".d.cts";
  return ".d.ts";
}

/** source -> what tsup builds from it (esm format). */
function tsupOutputs(configs: readonly TsupConfig[], pkg: Json): Map<string, TsupOutput> {
  const outputs = new Map<string, TsupOutput>();
  const pkgType = isRecord(pkg) && pkg["type"] === "module" ? "module" : "commonjs";
  for (const config of configs) {
    const entry = config["entry"];
    let named: Map<string, string>;
    if (Array.isArray(entry) && entry.every((e) => typeof e === "string")) {
      named = namesForArrayEntry(entry as string[]);
    } else if (isRecord(entry) && Object.values(entry).every((e) => typeof e === "string")) {
      named = new Map(Object.entries(entry as Record<string, string>).map(([k, v]) => [k, normalize(v)]));
    } else {
      problem(`tsup.config.ts: cannot read "entry" (${JSON.stringify(entry)})`);
      continue;
    }
    const formats = ([] as unknown[]).concat(config["format"] ?? "cjs"); // tsup's default is cjs
    if (!formats.includes("esm")) {
      problem(`tsup.config.ts: format ${JSON.stringify(formats)} builds no esm, but package.json exports "import" files`);
    }
    const outDir = normalize(typeof config["outDir"] === "string" ? config["outDir"] : "dist");
    let jsExt = pkgType === "module" ? ".js" : ".mjs";
    let dtsExt = declarationExtension(jsExt);
    const outExtension = config["outExtension"];
    if (typeof outExtension === "function") {
      const ext = outExtension({ format: "esm", options: config, pkgType }) as { js?: string; dts?: string } | undefined;
      if (ext?.js) jsExt = ext.js;
      dtsExt = ext?.dts ?? declarationExtension(jsExt);
    }
    const emitsDts = Boolean(config["dts"]) || Boolean(config["experimentalDts"]);
    for (const [name, source] of named) {
      const previous = outputs.get(source);
      const output: TsupOutput = {
        source,
        js: path.posix.join(outDir, name + jsExt),
        dts: emitsDts ? path.posix.join(outDir, name + dtsExt) : undefined,
      };
      if (previous && previous.js !== output.js) {
        problem(`tsup.config.ts: ${source} is built twice (${previous.js}, ${output.js})`);
      }
      outputs.set(source, output);
    }
  }
  return outputs;
}

// ---------------------------------------------------------------------------------------
// typedoc.json

function typedocEntryPoints(typedoc: Json): Set<string> | undefined {
  if (!isRecord(typedoc)) return undefined;
  const entryPoints = typedoc["entryPoints"];
  if (!Array.isArray(entryPoints) || !entryPoints.every((e) => typeof e === "string")) {
    problem(`typedoc.json: "entryPoints" must be an array of source paths`);
    return undefined;
  }
  return new Set((entryPoints as string[]).map(normalize));
}

// ---------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const root = parseArgs(process.argv.slice(2));
  const deno = readJson(root, "deno.json");
  const pkg = readJson(root, "package.json");
  const typedoc = readJson(root, "typedoc.json");
  const configs = await loadTsupConfigs(root);

  const fromDeno = denoExports(deno);
  const fromNpm = npmExports(pkg);
  const built = configs ? tsupOutputs(configs, pkg) : new Map<string, TsupOutput>();
  const documented = typedocEntryPoints(typedoc);

  if (isRecord(deno) && isRecord(pkg) && deno["version"] !== pkg["version"]) {
    problem(`deno.json version ${String(deno["version"])} != package.json version ${String(pkg["version"])}`);
  }

  // deno.json -> sources exist, tsup builds them, package.json exports the built files.
  for (const [subpath, source] of fromDeno) {
    if (!existsSync(path.join(root, source))) problem(`deno.json exports["${subpath}"]: ${source} does not exist`);
    const output = built.get(source);
    if (configs && !output) problem(`deno.json exports["${subpath}"]: tsup.config.ts has no entry for ${source}`);
    const npm = fromNpm.get(subpath);
    if (!npm) {
      if (pkg !== undefined) problem(`package.json exports: missing "${subpath}" (deno.json exports it as ${source})`);
      continue;
    }
    if (!npm.js) {
      problem(`package.json exports["${subpath}"]: no "import" (or "default") file`);
    } else if (output && npm.js !== output.js) {
      problem(`package.json exports["${subpath}"].import is ./${npm.js}, but tsup builds ${source} to ./${output.js}`);
    }
    if (output?.dts && npm.types !== output.dts) {
      problem(
        `package.json exports["${subpath}"].types is ${npm.types ? `./${npm.types}` : "missing"}, ` +
          `but tsup emits ./${output.dts} for ${source}`,
      );
    }
    if (output && !output.dts && npm.types) {
      problem(`package.json exports["${subpath}"].types is ./${npm.types}, but tsup.config.ts emits no declarations`);
    }
  }

  // package.json exports nothing that deno.json does not.
  for (const subpath of fromNpm.keys()) {
    if (!fromDeno.has(subpath) && !NPM_ONLY_SUBPATHS.has(subpath) && deno !== undefined) {
      problem(`package.json exports["${subpath}"] has no counterpart in deno.json exports`);
    }
  }

  // tsup builds nothing that is not exported.
  const exportedSources = new Set(fromDeno.values());
  for (const source of built.keys()) {
    if (!exportedSources.has(source) && source !== BIN_SOURCE && !BUILT_UNEXPORTED.has(source) && deno !== undefined) {
      problem(`tsup.config.ts builds ${source}, which deno.json does not export`);
    }
  }

  // typedoc documents the exports, minus the deliberate exceptions.
  if (documented) {
    const expected = new Set<string>();
    const undocumented = new Map<string, string>(); // source -> subpath
    for (const [subpath, source] of fromDeno) {
      if (UNDOCUMENTED.has(subpath)) undocumented.set(source, subpath);
      else expected.add(source);
    }
    for (const source of expected) {
      if (!documented.has(source)) problem(`typedoc.json entryPoints: missing ${source} (exported by deno.json)`);
    }
    for (const source of documented) {
      const subpath = undocumented.get(source);
      if (subpath !== undefined) {
        problem(`typedoc.json entryPoints: ${source} ("${subpath}") is deliberately undocumented: ${UNDOCUMENTED.get(subpath)}`);
      } else if (!expected.has(source)) {
        problem(`typedoc.json entryPoints: ${source} is not a deno.json export`);
      }
    }
  }

  // package.json bin -> tsup's build of the CLI.
  if (isRecord(pkg)) {
    const bin = pkg["bin"];
    const binPath = typeof bin === "string" ? bin : isRecord(bin) && typeof bin[BIN_NAME] === "string" ? bin[BIN_NAME] : undefined;
    const cli = built.get(BIN_SOURCE);
    if (binPath === undefined) {
      problem(`package.json bin: no "${BIN_NAME}" command`);
    } else if (configs && !cli) {
      problem(`package.json bin.${BIN_NAME}: tsup.config.ts has no entry for ${BIN_SOURCE}`);
    } else if (cli && normalize(binPath) !== cli.js) {
      problem(`package.json bin.${BIN_NAME} is ${binPath}, but tsup builds ${BIN_SOURCE} to ./${cli.js}`);
    }
  }

  for (const note of notes) console.error(`note: ${note}`);
  if (problems.length > 0) {
    for (const p of problems) console.error(`✗ ${p}`);
    console.error(`entrypoints disagree: ${problems.length} problem(s)`);
    process.exit(1);
  }
  console.log(
    `entrypoints agree: ${fromDeno.size} modules (deno.json, package.json, tsup.config.ts, typedoc.json; ` +
      `not in the reference by design: ${[...UNDOCUMENTED.keys()].filter((s) => fromDeno.has(s)).join(", ") || "none"})`,
  );
}

await main();
