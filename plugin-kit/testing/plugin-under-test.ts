/**
 * What every suite's plugin form shares: the options it takes, the checks made when a suite is
 * registered (the plugin's family, its options, whether it runs on virtual time), and creating
 * the plugin's service on its own, from a standalone context, as a node would.
 *
 * @module
 */
import type { FamilyServices, Plugin, PluginFamily, SharedContext } from "../../core/build/plugin.ts";
import { standaloneContext, type StandaloneContextOptions } from "../../core/build/standalone-context.ts";
import { InvalidConfigError } from "../../core/errors.ts";
import type { MemberInfo } from "../../core/interfaces/partitioner.ts";
import type { Runtime } from "../../core/runtime/runtime.ts";

/** A plugin of family `F`, whatever its options and whatever it shares. */
// deno-lint-ignore no-explicit-any -- any options, anything shared
export type FamilyPlugin<F extends PluginFamily> = Plugin<any, F, any>;

/**
 * The plugin form of a family's suite: the plugin, its options as config data, and how the
 * suite is named. The suite creates the plugin's service the way a node does and reads what
 * the plugin promises from `plugin.capabilities`.
 *
 * @typeParam F the plugin's family
 */
export interface PluginSuiteOptions<F extends PluginFamily> {
  /** The plugin under test. */
  readonly plugin: FamilyPlugin<F>;
  /**
   * Its options as config data, validated by `plugin.parseOptions` when the suite is registered
   * (default: none, so the plugin's defaults). They must keep what `plugin.capabilities`
   * promises: to test options that switch a promise off, use the suite's factory form and say
   * what holds in `supports`.
   */
  readonly options?: unknown;
  /** Shown in test names. Default: the plugin's name, with the options if given. */
  readonly name?: string;
}

/** A plugin checked for its suite, with its options validated. */
export interface CheckedPlugin<F extends PluginFamily> {
  /** The plugin. */
  readonly plugin: FamilyPlugin<F>;
  /** Its validated options. */
  readonly options: unknown;
  /** The suite's name for it. */
  readonly name: string;
}

/**
 * Checks a suite's plugin when the suite is registered, so a mistake fails at once with a clear
 * message, not as a confusing test failure: the plugin is of `family`, its options parse, and
 * (with `virtualTime`) it does not need the host's real time.
 *
 * @throws {InvalidConfigError} naming the suite and what is wrong
 */
export function checkPlugin<F extends PluginFamily>(
  suite: string,
  family: F,
  given: PluginSuiteOptions<F>,
  requirements: { readonly virtualTime?: boolean } = {},
): CheckedPlugin<F> {
  const { plugin } = given;
  const problem = (message: string) => new InvalidConfigError([{ path: `${suite}.plugin`, message }]);
  if (plugin === null || typeof plugin !== "object" || typeof plugin.create !== "function") {
    throw problem("not a plugin (an object made by definePlugin)");
  }
  if (plugin.family !== family) {
    throw problem(`"${plugin.name}" is a ${plugin.family} plugin; ${suite} tests ${family} plugins`);
  }
  if (requirements.virtualTime && plugin.capabilities.realTimeOnly) {
    throw problem(
      `"${plugin.name}" needs real time (capabilities.realTimeOnly) and this suite runs it on virtual time; ` +
        "use the suite's factory form, which says how time passes",
    );
  }
  const options = plugin.parseOptions(given.options);
  const name = given.name ?? (given.options === undefined ? plugin.name : `${plugin.name} ${JSON.stringify(given.options)}`);
  return { plugin, options, name };
}

/** What {@link createStandalone} needs besides the plugin: the node and its world. */
export interface StandaloneOptions extends Omit<StandaloneContextOptions, "shared" | "runtime" | "members"> {
  /** Time, randomness and logs (also what the plugin's `createShared` receives). */
  readonly runtime: Runtime;
  /** The configured members. Default: this node alone. */
  readonly members?: readonly MemberInfo[];
  /** What the plugin shares across nodes, made once by {@link createShared}. */
  readonly shared?: unknown;
}

/** What `plugin` shares across the nodes of one world (its `createShared`), or `undefined`. */
export function createShared<F extends PluginFamily>(
  checked: CheckedPlugin<F>,
  runtime: Runtime,
  members: readonly MemberInfo[],
): unknown {
  const context: SharedContext = { scheduler: runtime.scheduler, random: runtime.random, members };
  return checked.plugin.createShared?.(context, checked.options);
}

/** The plugin's service for one node, created from a standalone context as a node would. */
export function createStandalone<F extends PluginFamily>(
  checked: CheckedPlugin<F>,
  node: StandaloneOptions,
): FamilyServices[F] {
  const context = standaloneContext({ ...node, members: node.members ?? [{ id: node.id ?? "n1" }] });
  return checked.plugin.create(context, checked.options);
}

/** Raw options as an object to add fields to: `raw` itself if it is one, else `{}`. */
export function rawObject(raw: unknown): Record<string, unknown> {
  return raw !== null && typeof raw === "object" && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
}
