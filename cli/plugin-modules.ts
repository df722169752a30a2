/**
 * `--plugin <module>`: plugins from modules outside the bundle, added to the CLI's registry.
 *
 * @module
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { type Plugin, PLUGIN_FAMILIES, type PluginFamily } from "../core/build/plugin.ts";
import type { PluginRegistry } from "../core/build/registry.ts";
import { InvalidFlagError } from "./flag-parsers.ts";

/** True for what `definePlugin` returns: a family, a name, `parseOptions` and `create`. */
function isPlugin(value: unknown): value is Plugin<unknown> {
  if (value === null || typeof value !== "object") return false;
  const candidate = value as Partial<Record<keyof Plugin, unknown>>;
  return (
    PLUGIN_FAMILIES.includes(candidate.family as PluginFamily) &&
    typeof candidate.name === "string" &&
    typeof candidate.create === "function" &&
    typeof candidate.parseOptions === "function"
  );
}

/**
 * True if `module` is meant as a file: it starts with `./`, `../` or `/`, or has a folder and a
 * script extension (`examples/x.ts`). Anything else is a package name (`my-plugin`, `@me/plugin`).
 */
function looksLikePath(module: string): boolean {
  return /^\.{0,2}[\\/]/.test(module) || (!module.startsWith("@") && /[\\/]/.test(module) && /\.[cm]?[jt]sx?$/.test(module));
}

/** The first line of a load failure, with what to do when it is a TypeScript file under Node. */
function loadFailure(module: string, error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "ERR_UNKNOWN_FILE_EXTENSION" && /\.[cm]?tsx?$/.test(module)) {
    return "Node cannot import TypeScript: run the CLI with tsx (npx tsx cli/main.ts ...) or Deno, or compile the plugin to JavaScript";
  }
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0]!;
}

/**
 * Imports each module and returns `registry` with every plugin the modules export added (a
 * plugin named like a bundled one of its family replaces it). A module is a file path, relative
 * to the current directory, or a package name.
 *
 * @throws {InvalidFlagError} naming the module when it cannot be loaded, exports no plugin, or
 *   exports a different plugin of the same family and name as another one given
 *
 * @example
 * ```ts
 * const registry = await withPluginModules(builtinPlugins, ["examples/plugin-kit/jump-hash/jump-hash.ts"]);
 * ```
 */
export async function withPluginModules(registry: PluginRegistry, modules: readonly string[]): Promise<PluginRegistry> {
  if (modules.length === 0) return registry;
  const found = new Map<string, { plugin: Plugin<unknown>; module: string }>();
  for (const module of modules) {
    const isFile = existsSync(module);
    if (!isFile && looksLikePath(module)) {
      throw new InvalidFlagError("--plugin", module, `--plugin ${module} could not be loaded: no such file`);
    }
    let exports: Record<string, unknown>;
    try {
      exports = await import(isFile ? pathToFileURL(resolve(module)).href : module);
    } catch (error) {
      throw new InvalidFlagError("--plugin", module, `--plugin ${module} could not be loaded: ${loadFailure(module, error)}`);
    }
    const plugins = [...new Set(Object.values(exports).filter(isPlugin))];
    if (plugins.length === 0) {
      throw new InvalidFlagError(
        "--plugin",
        module,
        `--plugin ${module} exports no plugin (an object made by definePlugin from ringforge/plugin-kit, with family, name and create)`,
      );
    }
    for (const plugin of plugins) {
      const key = `${plugin.family} plugin "${plugin.name}"`;
      const earlier = found.get(key);
      if (earlier && earlier.plugin !== plugin) {
        throw new InvalidFlagError(
          "--plugin",
          module,
          `--plugin ${module} exports a ${key}, and so does ${earlier.module}: give one of them`,
        );
      }
      found.set(key, { plugin, module });
    }
  }
  return registry.with(...[...found.values()].map((f) => f.plugin));
}
