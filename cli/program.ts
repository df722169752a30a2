/**
 * The `ringforge` command line.
 *
 * - `ringforge plugins`: the bundled plugins by family, with what each trades.
 * - `ringforge config FILE`: validates a store config (JSON) and prints it resolved, every
 *   default and plugin option filled in, or every problem with its path.
 *
 * Later commands (the compare lab, node processes) plug into the same program. The executable
 * is cli/main.ts; this module is the program as a library, for tests and embedding.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import process from "node:process";
import { Command, CommanderError } from "commander";
import { resolveStoreConfig, storeToConfig } from "../core/build/config.ts";
import type { PluginRegistry } from "../core/build/registry.ts";
import { PLUGIN_FAMILIES } from "../core/build/plugin.ts";
import { RingforgeError } from "../core/errors.ts";
import { builtinPlugins } from "../plugins/index.ts";

/** Where a command writes: standard output and standard error, replaceable in tests. */
export interface CliIo {
  /** Normal output. */
  readonly out: (text: string) => void;
  /** Errors and diagnostics. */
  readonly err: (text: string) => void;
}

const processIo: CliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/**
 * Runs the CLI with `argv` (without the runtime and script names); resolves to the exit code.
 *
 * @example
 * ```ts
 * const code = await runCli(["config", "examples/configs/vector-clock.json"]);
 * ```
 */
export async function runCli(
  argv: readonly string[],
  io: CliIo = processIo,
  registry: PluginRegistry = builtinPlugins,
): Promise<number> {
  const program = new Command("ringforge")
    .description("Compose Dynamo-style key-value stores from pluggable strategies.")
    .version("0.1.0")
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err });

  program
    .command("plugins")
    .description("list the bundled plugins by family")
    .option("--json", "print JSON")
    .action((options: { json?: boolean }) => {
      const rows = PLUGIN_FAMILIES.flatMap((family) =>
        registry.names(family).map((name) => ({
          family,
          name,
          default: registry.defaultName(family) === name,
          description: registry.get(family, name).description,
        })),
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
    .action(async (file: string) => {
      const text = await readFile(file, "utf8");
      let data: unknown;
      try {
        data = JSON.parse(text);
      } catch (error) {
        throw new RingforgeError("RINGFORGE_INVALID_CONFIG", `${file} is not valid JSON: ${(error as Error).message}`);
      }
      io.out(`${JSON.stringify(storeToConfig(resolveStoreConfig(data, registry)), null, 2)}\n`);
    });

  try {
    await program.parseAsync([...argv], { from: "user" });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    if (error instanceof RingforgeError) {
      io.err(`ringforge: ${error.message} [${error.code}]\n`);
      return 2;
    }
    if (error instanceof Error && "code" in error && error.code === "ENOENT") {
      io.err(`ringforge: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}

