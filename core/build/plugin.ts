/**
 * Plugins: a named strategy of one family that registers itself into a node's container.
 *
 * @module
 */
import type { DependencyContainer } from "./di.ts";
import { z } from "zod";
import { InvalidConfigError } from "../errors.ts";

/** The strategy families a store is composed of, one plugin each. */
export type PluginFamily = "partitioner" | "replicator" | "resolver" | "detector" | "engine" | "transport" | "antiEntropy";

/** Every family, in the order a node build registers them. */
export const PLUGIN_FAMILIES: readonly PluginFamily[] = [
  "engine",
  "transport",
  "detector",
  "partitioner",
  "resolver",
  "replicator",
  "antiEntropy",
];

/**
 * A strategy plugin (fastify-style): it names its family and itself, validates its options
 * from plain data, and registers the family's service into a node's tsyringe container.
 *
 * A plugin is one file exporting a `Plugin` and a typed factory for code users
 * (`consistentHash({ vnodes: 64 })`), plus one line in its family's index.
 */
export interface Plugin<O = unknown> {
  /** The family this plugin implements. */
  readonly family: PluginFamily;
  /** Unique within the family, kebab-case: the name configs refer to. */
  readonly name: string;
  /** One line: what it does and what it trades. */
  readonly description: string;
  /**
   * Validates options from untrusted data (a JSON config) and fills in defaults.
   * @throws {InvalidConfigError} listing every problem with its path
   */
  parseOptions(raw: unknown): O;
  /**
   * Registers the family's service (under the family's token) in a node's child container.
   * Dependencies are resolved from the container when the service is first resolved.
   */
  register(container: DependencyContainer, options: O): void;
  /**
   * Registers services shared by every node built from one root container (for example the
   * simulated network of the in-process transport). Called once per root, before any node.
   */
  registerShared?(container: DependencyContainer, options: O): void;
}

/** A plugin with its options: what a typed factory returns and a config entry resolves to. */
export interface PluginChoice<O = unknown> {
  /** The plugin. */
  readonly plugin: Plugin<O>;
  /** Its validated options. */
  readonly options: O;
}

/** Turns zod issues into an {@link InvalidConfigError} with dotted paths under `prefix`. */
export function configError(error: z.ZodError, prefix = ""): InvalidConfigError {
  return new InvalidConfigError(
    error.issues.map((issue) => ({
      path: [prefix, ...issue.path.map(String)].filter(Boolean).join("."),
      message: issue.message,
    })),
  );
}

/** Parses `raw` with a zod schema, throwing {@link InvalidConfigError} on failure. */
export function parseWith<S extends z.ZodType>(schema: S, raw: unknown, prefix = ""): z.output<S> {
  const result = schema.safeParse(raw);
  if (!result.success) throw configError(result.error, prefix);
  return result.data;
}

/**
 * Defines a plugin whose options are described by a zod object schema (defaults included).
 *
 * @example
 * ```ts
 * export const memoryEnginePlugin = definePlugin({
 *   family: "engine",
 *   name: "memory",
 *   description: "In-memory ordered map; nothing survives a restart.",
 *   options: z.object({}).strict(),
 *   register(container) {
 *     container.register(STORAGE_ENGINE, { useFactory: instanceCachingFactory(() => new MemoryEngine()) });
 *   },
 * });
 * ```
 */
export function definePlugin<S extends z.ZodType>(definition: {
  family: PluginFamily;
  name: string;
  description: string;
  options: S;
  register(container: DependencyContainer, options: z.output<S>): void;
  registerShared?(container: DependencyContainer, options: z.output<S>): void;
}): Plugin<z.output<S>> {
  const { options: schema, ...rest } = definition;
  return {
    ...rest,
    parseOptions: (raw: unknown) => parseWith(schema, raw ?? {}, `${definition.family}.options`),
  };
}

/** Builds a {@link PluginChoice} from typed options (validated like config data). */
export function choose<O>(plugin: Plugin<O>, options?: unknown): PluginChoice<O> {
  return { plugin, options: plugin.parseOptions(options) };
}
