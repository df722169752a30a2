/**
 * The `ringforge` command line.
 *
 * - `ringforge plugins`: the bundled plugins by family, with what each trades.
 * - `ringforge config FILE`: validates a store config (JSON) and prints it resolved, every
 *   default and plugin option filled in, or every problem with its path.
 * - `ringforge compare SCENARIO --config A --config B [--seed-count K] [--format F] [--report R.html]`:
 *   the compare lab; `--real` runs each seed on node processes under real network faults
 *   (lab-net/, root only), `--both` runs the simulation and the real run side by side, and
 *   `ringforge compare --cleanup` removes what a killed real run left behind.
 *
 * - `ringforge start`, `cluster`, `get`, `put`, `delete`, `status`, `leave`: node processes and
 *   their client (cli/node-commands.ts).
 *
 * `plugins`, `config` and `compare` take `--plugin MODULE` (repeatable): the module's exported
 * plugins join the registry (cli/plugin-modules.ts), so a config can name a strategy written
 * outside the bundle.
 *
 * A failure prints one line (cli/error-report.ts) and a non-zero exit code; `--verbose` adds the
 * stack trace. The executable is cli/main.ts; this module is the program as a library, for tests
 * and embedding.
 *
 * @module
 */
import process from "node:process";
import { Command, CommanderError } from "commander";
import type { PluginRegistry } from "../core/build/registry.ts";
import type { StoreConfig } from "../core/build/config.ts";
import type { LabConfig, ScenarioRunner } from "../sim/lab.ts";
import { basename } from "node:path";
import { reportError } from "./error-report.ts";
import { integerFlag, InvalidFlagError, positiveIntFlag, repeatedFlag } from "./flag-parsers.ts";
import { registerNodeCommands } from "./node-commands.ts";
import { readJson } from "./read-json.ts";
import { fromRenamedFlag, renamedFlag } from "./renamed-flag.ts";

// What a command needs beyond parsing its flags is imported when it runs, not when the CLI
// starts: a client command (get, put, status) then loads a dozen modules instead of the
// server, the simulator and every plugin, and answers in a fraction of the time.

/** The registry with the exported plugins of `modules` added (cli/plugin-modules.ts). */
async function withPluginModules(registry: PluginRegistry, modules: string[]): Promise<PluginRegistry> {
  return (await import("./plugin-modules.ts")).withPluginModules(registry, modules);
}

/** Where a command writes: standard output and standard error, replaceable in tests. */
export interface CliIo {
  /** Normal output. */
  readonly out: (text: string) => void;
  /** Errors and diagnostics. */
  readonly err: (text: string) => void;
  /**
   * A live progress line (rewritten in place), or undefined when there is no terminal to show
   * it on.
   */
  readonly progress?: (line: string) => void;
  /**
   * Where a long command reports progress every few seconds when there is no terminal (a CI
   * log, a pipe): one whole line each time. Undefined: it stays quiet.
   */
  readonly notice?: (line: string) => void;
}

const processIo: CliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  progress: process.stderr.isTTY ? (line) => process.stderr.write(`\r\x1b[2K${line}`) : undefined,
  notice: process.stderr.isTTY ? undefined : (line) => process.stderr.write(`${line}\n`),
};

/** How often progress goes to a log when there is no terminal, ms. */
const NOTICE_EVERY_MS = 5000;

/** Help text of `--plugin`, on every command that takes it. */
const PLUGIN_FLAG_HELP = "a module (file path or package) whose exported plugins (definePlugin) join the registry; repeat for more. " +
  "A .ts module needs the CLI run by tsx or Deno: npx tsx cli/main.ts ...";

/** Seconds or minutes, for an ETA. */
function formatSeconds(ms: number): string {
  return ms < 90_000 ? `${Math.max(1, Math.round(ms / 1000))} s` : `${Math.round(ms / 60_000)} min`;
}

/**
 * Chart.js's self-contained bundle, which the HTML report carries inline. The package exports
 * only its modules, so the bundle is found beside the file its `require` entry resolves to.
 */
async function readChartJs(): Promise<string> {
  const { createRequire } = await import("node:module");
  const { dirname, join } = await import("node:path");
  const { readFile } = await import("node:fs/promises");
  const entry = createRequire(import.meta.url).resolve("chart.js");
  return readFile(join(dirname(entry), "chart.umd.min.js"), "utf8");
}

/** ` (a, b)` for a non-empty list, else nothing. */
function listed(names: readonly string[]): string {
  return names.length === 0 ? "" : ` (${names.join(", ")})`;
}

/**
 * The real runner, with the nodes started by this very CLI (as `ringforge cluster` starts
 * them), once this machine is known to be able to run it: a clear one-line error otherwise.
 * Real networks are removed on exit, Ctrl-C and crashes.
 */
async function realRunner(limits: { maxRunMs?: number; maxRequests?: number }): Promise<ScenarioRunner> {
  const { destroyNetworksOnExit, requireNetnsPrerequisites } = await import("../lab-net/index.ts");
  const { runRealScenario } = await import("../lab-net/real-run.ts");
  requireNetnsPrerequisites();
  const script = process.argv[1];
  if (!script) throw new InvalidFlagError("--real", "", "cannot tell which script to start the nodes with");
  const launcher = "Deno" in globalThis
    ? { command: process.execPath, args: ["run", "-A", script] }
    : { command: process.execPath, args: [...process.execArgv, script] };
  destroyNetworksOnExit();
  return (config, scenario, seed, options) => runRealScenario(config, scenario, seed, { ...options, ...limits, launcher });
}

/** Flags of `compare`. */
interface CompareFlags {
  config: string[];
  plugin: string[];
  seedCount?: number;
  /** The old name of `seedCount` (deprecated). */
  seeds?: number;
  firstSeed: number;
  json?: boolean;
  wide?: boolean;
  format?: string;
  report?: string;
  real?: boolean;
  both?: boolean;
  cleanup?: boolean;
  realTimeLimit?: number;
  realMaxRequests?: number;
}

/**
 * Runs the CLI with `argv` (without the runtime and script names); resolves to the exit code.
 * `registry` holds the plugins the commands build from (default: the bundled ones, loaded by
 * the first command that needs them).
 *
 * @example
 * ```ts
 * const code = await runCli(["config", "examples/configs/vector-clock.json"]);
 * ```
 */
export async function runCli(
  argv: readonly string[],
  io: CliIo = processIo,
  registry?: PluginRegistry,
): Promise<number> {
  /** The registry given, or the bundled plugins, loaded by the first command that needs them. */
  const registryOf = async () => (registry ??= (await import("../plugins/index.ts")).builtinPlugins);

  const program = new Command("ringforge")
    .description("Compose Dynamo-style key-value stores from pluggable strategies.")
    .version("0.1.0")
    .option("--verbose", "on failure, print the stack trace after the one-line message")
    .exitOverride()
    .showHelpAfterError("(add --help for usage)")
    // Commander's own usage errors ("error: unknown option ...") in the same one-line form as ours.
    .configureOutput({
      writeOut: io.out,
      writeErr: io.err,
      outputError: (text, write) => write(`ringforge: ${text.replace(/^error: /, "")}`),
    });

  program
    .command("plugins")
    .description("list the bundled plugins by family (and those --plugin adds)")
    .option("--json", "print JSON")
    .option("--plugin <module>", PLUGIN_FLAG_HELP, repeatedFlag, [])
    .action(async (options: { json?: boolean; plugin: string[] }) => {
      const { PLUGIN_FAMILIES } = await import("../core/build/plugin.ts");
      const plugins = await withPluginModules(await registryOf(), options.plugin);
      const rows = PLUGIN_FAMILIES.flatMap((family) =>
        plugins.names(family).map((name) => ({
          family,
          name,
          default: plugins.defaultName(family) === name,
          description: plugins.get(family, name).description,
        }))
      );
      if (options.json) {
        io.out(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      for (const row of rows) {
        io.out(`${row.family.padEnd(12)} ${(row.name + (row.default ? " *" : "")).padEnd(18)} ${row.description}\n`);
      }
      io.out("(* = default when a config leaves the family out)\n");
    });

  program
    .command("config")
    .description("validate a store config (JSON) and print it with every default filled in")
    .argument("<file>", "path to a JSON store config")
    .option("--plugin <module>", PLUGIN_FLAG_HELP, repeatedFlag, [])
    .action(async (file: string, options: { plugin: string[] }) => {
      const { resolveStoreConfig, storeToConfig } = await import("../core/build/config.ts");
      const plugins = await withPluginModules(await registryOf(), options.plugin);
      const data = await readJson(file, "config");
      io.out(`${JSON.stringify(storeToConfig(resolveStoreConfig(data, plugins)), null, 2)}\n`);
    });

  program
    .command("compare")
    .description("run one scenario against several store configs on the same seeds; print one table")
    .argument("[scenario]", "path to a scenario JSON file (examples/scenarios/)")
    .option("-c, --config <file>", "a store config JSON file (repeat for each config; at least one)", repeatedFlag, [])
    .option("-s, --seed-count <count>", "number of seeds to run each config with (default 1)", positiveIntFlag("--seed-count"))
    .addOption(renamedFlag("--seeds <count>", positiveIntFlag("--seeds")))
    .option("--first-seed <seed>", "the first seed (seeds are consecutive)", positiveIntFlag("--first-seed"), 1)
    .option("--format <form>", "output: table (fits 100 columns), wide (one row per config), md, csv or json", "table")
    .option("--wide", "the wide table, one row per config (same as --format wide)")
    .option("--json", "every checker's figures per config and seed, and a summary per config, as JSON (same as --format json)")
    .option("--report <file>", "also write a self-contained HTML report with charts to this file")
    .option("--plugin <module>", PLUGIN_FLAG_HELP, repeatedFlag, [])
    .option("--real", "run each seed on real node processes, a network namespace each, under real network faults (Linux, root)")
    .option("--both", "run each seed in the simulator and for real, and show both side by side (Linux, root)")
    .option("--cleanup", "with no scenario: remove the namespaces, bridge and processes a killed --real run left behind")
    .option(
      "--real-time-limit <seconds>",
      "a real run's time limit, from when its clients are told to go (default 60; its clients stop early to leave time for healing and the final reads)",
      integerFlag("--real-time-limit", 5, 86_400, "a number of seconds from 5 to 86400"),
    )
    .option(
      "--real-max-requests <count>",
      "the most requests a real run's clients send (default 10 per planned operation, plus 1,000)",
      positiveIntFlag("--real-max-requests"),
    )
    .action(async (scenarioFile: string | undefined, options: CompareFlags) => {
      if (options.cleanup) {
        if (scenarioFile !== undefined) {
          throw new InvalidFlagError("--cleanup", scenarioFile, "--cleanup runs no scenario: use ringforge compare --cleanup alone");
        }
        const { cleanupLeftovers } = await import("../lab-net/teardown.ts");
        const removed = await cleanupLeftovers();
        const count = removed.namespaces.length + removed.links.length + removed.processes.length;
        io.out(
          count === 0
            ? "nothing to clean up: no namespace, link or process of a real run is left\n"
            : `removed ${removed.namespaces.length} namespace(s)${listed(removed.namespaces)}, ${removed.links.length} link(s)${
              listed(removed.links)
            }, ${removed.processes.length} process(es)${listed(removed.processes.map(String))}\n`,
        );
        return;
      }
      if (scenarioFile === undefined) {
        throw new InvalidFlagError(
          "scenario",
          "",
          "compare needs a scenario file: ringforge compare SCENARIO --config FILE (or ringforge compare --cleanup)",
        );
      }
      const realOnly = options.realTimeLimit !== undefined
        ? "--real-time-limit"
        : options.realMaxRequests !== undefined
        ? "--real-max-requests"
        : undefined;
      if (realOnly && !options.real && !options.both) {
        throw new InvalidFlagError(realOnly, "", `${realOnly} bounds a real run: give it with --real or --both`);
      }
      if (options.real && options.both) {
        throw new InvalidFlagError("--both", "", "--both already includes the real run: give --real or --both, not both");
      }
      const seedCount =
        fromRenamedFlag(io.err, { old: "--seeds", current: "--seed-count" }, { old: options.seeds, current: options.seedCount }) ?? 1;
      if (options.config.length === 0) {
        throw new InvalidFlagError(
          "--config",
          "",
          "compare needs a store config to run the scenario against: pass --config FILE (once per config, e.g. --config examples/configs/vector-clock.json)",
        );
      }
      const format = options.json ? "json" : options.wide ? "wide" : options.format ?? "table";
      const { LAB_FORMATS } = await import("../sim/lab-output.ts");
      if (!(LAB_FORMATS as readonly string[]).includes(format)) {
        throw new InvalidFlagError("--format", format, `--format is one of ${LAB_FORMATS.join(", ")} (got "${format}")`);
      }
      if (options.report !== undefined && !/\.html?$/i.test(options.report)) {
        throw new InvalidFlagError(
          "--report",
          options.report,
          `--report writes an HTML file: give it a name ending in .html (got "${options.report}")`,
        );
      }
      const { resolveStoreConfig } = await import("../core/build/config.ts");
      const { compare } = await import("../sim/lab.ts");
      const { parseScenario } = await import("../sim/scenario.ts");
      const plugins = await withPluginModules(await registryOf(), options.plugin);
      const scenario = parseScenario(await readJson(scenarioFile, "scenario"));
      const configs: LabConfig[] = [];
      for (const file of options.config) {
        const config = (await readJson(file, "config")) as StoreConfig;
        // Validate now, so a bad config fails before any run starts.
        resolveStoreConfig(config, plugins);
        const name = typeof config?.name === "string" && config.name ? config.name : basename(file).replace(/\.json$/, "");
        configs.push({ name, config });
      }
      if (options.real || options.both) {
        const real = await realRunner({
          ...(options.realTimeLimit === undefined ? {} : { maxRunMs: options.realTimeLimit * 1000 }),
          ...(options.realMaxRequests === undefined ? {} : { maxRequests: options.realMaxRequests }),
        });
        // A workload or fault the real runner cannot carry out fails now, not after the simulations.
        const { assertRealScenario } = await import("../lab-net/real-run.ts");
        for (const c of configs) assertRealScenario(c.config, scenario, plugins);
        const worlds = configs.splice(0);
        for (const c of worlds) {
          if (options.both) configs.push({ ...c, name: `${c.name} (sim)` });
          configs.push({ ...c, name: `${c.name} (real)`, runner: real });
        }
      }
      // The Chart.js bundle is read before the runs, so a broken install fails at once, not after them.
      const chartJs = options.report === undefined ? undefined : await readChartJs();
      const seeds = Array.from({ length: seedCount }, (_, i) => options.firstSeed + i);
      const started = performance.now();
      let lastShown = "";
      let lastNotice = started;
      const comparison = await compare(scenario, configs, {
        registry: plugins,
        seeds,
        onProgress: io.progress || io.notice
          ? (p) => {
            const fraction = (p.runsDone + (p.total > 0 ? p.done / p.total : 0)) / p.runs;
            const now = performance.now();
            const eta = fraction > 0.02 ? ` · about ${formatSeconds(((now - started) * (1 - fraction)) / fraction)} left` : "";
            const line = `${Math.floor(100 * fraction)}%  run ${p.runsDone + 1}/${p.runs}: ${p.config} seed ${p.seed}${eta}`;
            if (io.progress && line !== lastShown) io.progress(line);
            lastShown = line;
            if (io.notice && now - lastNotice >= NOTICE_EVERY_MS) {
              lastNotice = now;
              io.notice(`ringforge compare: ${line}`);
            }
          }
          : undefined,
      });
      if (io.progress) io.progress("");
      const output = await import("../sim/lab-output.ts");
      const { formatComparison } = await import("../sim/lab.ts");
      const text = format === "json"
        ? JSON.stringify({ ...comparison, summary: output.comparisonSummary(comparison) }, null, 2)
        : format === "wide"
        ? formatComparison(comparison)
        : format === "md"
        ? output.formatMarkdown(comparison)
        : format === "csv"
        ? output.formatCsv(comparison).trimEnd()
        : output.formatCompact(comparison);
      if (options.report !== undefined) {
        const { htmlReport } = await import("../sim/lab-report.ts");
        const { writeFile } = await import("node:fs/promises");
        const command = [
          "ringforge compare",
          scenarioFile,
          ...options.config.flatMap((c) => ["--config", c]),
          "--seed-count",
          String(seedCount),
          ...(options.real ? ["--real"] : options.both ? ["--both"] : []),
        ];
        await writeFile(
          options.report,
          htmlReport(comparison, { chartJs: chartJs!, command: command.join(" "), generatedAt: new Date().toISOString() }),
        );
        io.err(`report written to ${options.report}\n`);
      }
      io.out(`${text}\n`);
    });

  registerNodeCommands(program, io, registryOf);

  // The clients of a real run (`compare --real`), in a process of their own: started and fed
  // by the harness (lab-net/real-run.ts), not by hand, so it stays out of the help.
  program
    .command("lab-load", { hidden: true })
    .description("run a real run's clients (started by ringforge compare --real)")
    .requiredOption("--spec <file>", "the run's load spec (JSON, written by the harness)")
    .requiredOption("--out <file>", "where the history goes")
    .action(async (options: { spec: string; out: string }) => {
      const { runLoadProcess } = await import("../lab-net/load-process.ts");
      await runLoadProcess(options.spec, options.out);
      // Idle keep-alive connections to the nodes would hold the process for seconds: its work is done.
      process.exit(0);
    });

  try {
    await program.parseAsync([...argv], { from: "user" });
    return 0;
  } catch (error) {
    // Commander has printed its own usage error (unknown option, missing argument) already.
    if (error instanceof CommanderError) return error.exitCode;
    // Read from argv too: the failure may come before commander has parsed the options.
    const verbose = program.opts<{ verbose?: boolean }>().verbose === true || argv.includes("--verbose");
    const report = reportError(error, verbose);
    io.err(report.text);
    return report.exitCode;
  }
}
