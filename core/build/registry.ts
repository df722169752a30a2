/**
 * The plugin registry: plugin names in configs resolve to plugins here.
 *
 * @module
 */
import { UnknownPluginError } from "../errors.ts";
import type { Plugin, PluginFamily } from "./plugin.ts";

/**
 * Plugins by family and name, plus the default choice of each family. The built-in registry
 * (`builtinPlugins` in ringforge/plugins) holds every bundled plugin; add your own with
 * {@link PluginRegistry.with}.
 *
 * @example
 * ```ts
 * const registry = builtinPlugins.with(myPartitionerPlugin);
 * const cluster = await createCluster({ partitioner: "my-partitioner" }, { registry });
 * ```
 */
export class PluginRegistry {
  readonly #plugins: ReadonlyMap<PluginFamily, ReadonlyMap<string, Plugin<any>>>;
  readonly #defaults: Readonly<Partial<Record<PluginFamily, string>>>;

  /**
   * @param plugins the plugins (names unique within a family)
   * @param defaults the plugin name used for a family a config leaves out
   */
  constructor(plugins: readonly Plugin<any>[], defaults: Partial<Record<PluginFamily, string>> = {}) {
    const map = new Map<PluginFamily, Map<string, Plugin<any>>>();
    for (const plugin of plugins) {
      let family = map.get(plugin.family);
      if (!family) map.set(plugin.family, family = new Map());
      if (family.has(plugin.name)) throw new Error(`duplicate ${plugin.family} plugin "${plugin.name}"`);
      family.set(plugin.name, plugin);
    }
    for (const [family, name] of Object.entries(defaults) as [PluginFamily, string][]) {
      if (!map.get(family)?.has(name)) throw new Error(`default ${family} plugin "${name}" is not registered`);
    }
    this.#plugins = map;
    this.#defaults = { ...defaults };
  }

  /** The plugin `name` of `family`. @throws {UnknownPluginError} */
  get(family: PluginFamily, name: string): Plugin<any> {
    const plugin = this.#plugins.get(family)?.get(name);
    if (!plugin) throw new UnknownPluginError(family, name, this.names(family));
    return plugin;
  }

  /** The default plugin name of `family`, if the registry has one. */
  defaultName(family: PluginFamily): string | undefined {
    return this.#defaults[family];
  }

  /** Names of the plugins of `family`, sorted. */
  names(family: PluginFamily): string[] {
    return [...(this.#plugins.get(family)?.keys() ?? [])].sort();
  }

  /** Every plugin, by family then name. */
  list(): Plugin<any>[] {
    return [...this.#plugins.values()].flatMap((family) => [...family.values()]);
  }

  /** A new registry with more plugins (replacing same-named ones) and defaults. */
  with(...plugins: Plugin<any>[]): PluginRegistry {
    const replaced = new Set(plugins.map((p) => `${p.family}/${p.name}`));
    return new PluginRegistry(
      [...this.list().filter((p) => !replaced.has(`${p.family}/${p.name}`)), ...plugins],
      this.#defaults,
    );
  }

  /** A new registry with other defaults. */
  withDefaults(defaults: Partial<Record<PluginFamily, string>>): PluginRegistry {
    return new PluginRegistry(this.list(), { ...this.#defaults, ...defaults });
  }
}
