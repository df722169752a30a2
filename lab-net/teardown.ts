/**
 * Removing a real network's objects by name: the processes still running in its namespaces,
 * its veths and bridge, its namespaces. The same steps remove one run's network
 * ({@link NetnsNetwork.destroy}) and whatever crashed runs left behind ({@link cleanupLeftovers}),
 * because both find the objects by listing the kernel's names rather than trusting a record of
 * what was created — a run killed half-way through creating its network leaves no record.
 *
 * @module
 */
import process from "node:process";
import { NetnsCommandError } from "./errors.ts";
import {
  type Command,
  commandError,
  type CommandResult,
  type HostTools,
  requireNetnsPrerequisites,
  runSteps,
  type Steps,
} from "./host-tools.ts";
import { DEFAULT_PREFIX, type OwnedNamePatterns, ownedNamePatterns } from "./names.ts";

/** What a teardown removed. */
export interface RemovedObjects {
  /** Network namespaces removed. */
  readonly namespaces: readonly string[];
  /** Links (veths and bridges) removed. */
  readonly links: readonly string[];
  /** Ids of processes killed (SIGKILL) because they were running in one of those namespaces. */
  readonly processes: readonly number[];
}

/** The outcome of {@link teardownSteps}. */
export interface TeardownOutcome {
  /** What was removed. */
  readonly removed: RemovedObjects;
  /** Names still present afterwards; empty if everything went. */
  readonly remaining: readonly string[];
  /** The first command that failed, if any. */
  readonly firstFailure: { readonly command: Command; readonly result: CommandResult } | undefined;
}

/** The names matching `patterns` that exist now: namespaces and links. */
export function* listOwnedSteps(tools: HostTools, patterns: OwnedNamePatterns): Steps<{ namespaces: string[]; links: string[] }> {
  const nsCommand: Command = { file: tools.ip, args: ["-j", "netns", "list"] };
  const ns = yield nsCommand;
  if (!ns.ok) throw commandError("list network namespaces", nsCommand, ns);
  const linkCommand: Command = { file: tools.ip, args: ["-j", "link", "show"] };
  const links = yield linkCommand;
  if (!links.ok) throw commandError("list network interfaces", linkCommand, links);
  return {
    namespaces: names(ns.stdout, "name").filter((n) => patterns.namespace.test(n)),
    links: names(links.stdout, "ifname").filter((n) => patterns.link.test(n)),
  };
}

/** The `field` of each object in `ip -j` output (which is empty, not `[]`, when there is none). */
function names(json: string, field: string): string[] {
  if (json.trim() === "") return [];
  const parsed: unknown = JSON.parse(json);
  if (!Array.isArray(parsed)) return [];
  return parsed.map((o) => (o as Record<string, unknown>)[field]).filter((n): n is string => typeof n === "string");
}

/**
 * Removes every object matching `patterns`: kills the processes in the namespaces, deletes the
 * veths (which deletes their peers inside the namespaces), then the bridges, then the namespaces,
 * and lists again to report what is left. Objects already gone are not failures, so running it
 * twice, or on a half-built network, is safe.
 */
export function* teardownSteps(tools: HostTools, patterns: OwnedNamePatterns): Steps<TeardownOutcome> {
  const found = yield* listOwnedSteps(tools, patterns);
  let firstFailure: TeardownOutcome["firstFailure"];
  const run = function* (command: Command): Steps<void> {
    const result = yield command;
    if (!result.ok && firstFailure === undefined) firstFailure = { command, result };
  };

  const processes: number[] = [];
  if (found.namespaces.length > 0) {
    // One batch for every namespace; -force goes on past a namespace that vanished meanwhile.
    const pids = yield batch(tools, found.namespaces.map((ns) => `netns pids ${ns}`));
    for (const line of pids.stdout.split("\n")) {
      const pid = Number(line.trim());
      if (line.trim() === "" || !Number.isInteger(pid) || pid <= 1 || pid === process.pid) continue;
      try {
        process.kill(pid, "SIGKILL");
        processes.push(pid);
      } catch {
        // exited meanwhile
      }
    }
  }
  // Veths (which take their peers inside the namespaces with them) before their bridges.
  const ordered = [...found.links.filter((l) => !patterns.bridge.test(l)), ...found.links.filter((l) => patterns.bridge.test(l))];
  if (ordered.length > 0) yield* run(batch(tools, ordered.map((link) => `link delete ${link}`)));
  if (found.namespaces.length > 0) yield* run(batch(tools, found.namespaces.map((ns) => `netns delete ${ns}`)));

  const after = yield* listOwnedSteps(tools, patterns);
  const left = new Set([...after.namespaces, ...after.links]);
  return {
    removed: {
      namespaces: found.namespaces.filter((ns) => !left.has(ns)),
      links: found.links.filter((link) => !left.has(link)),
      processes,
    },
    remaining: [...left],
    firstFailure,
  };
}

/** `ip -force -batch -` over `lines`: every line runs, whichever fail. */
function batch(tools: HostTools, lines: readonly string[]): Command {
  return { file: tools.ip, args: ["-force", "-batch", "-"], input: `${lines.join("\n")}\n` };
}

/** The error for a teardown that left objects behind, or undefined if it removed everything. */
export function teardownError(outcome: TeardownOutcome): NetnsCommandError | undefined {
  if (outcome.remaining.length === 0) return undefined;
  const action = `remove ${outcome.remaining.join(", ")}`;
  return outcome.firstFailure
    ? commandError(action, outcome.firstFailure.command, outcome.firstFailure.result)
    : new NetnsCommandError(action, [], "still present", "");
}

/**
 * Removes every namespace, veth and bridge whose name carries `prefix` (and a run id), as any
 * run of the real network names them, and kills the processes running in those namespaces: what
 * a run killed with SIGKILL, or a crashed harness, left behind. Returns what it removed; throws a
 * {@link NetnsCommandError} if something could not be removed, and a
 * `NetnsPrerequisiteError` when not root or `ip` is missing.
 *
 * Do not run it while another run with the same prefix is in progress: it would remove that
 * run's network too.
 *
 * @example
 * ```ts
 * const removed = await cleanupLeftovers();
 * console.log(`removed ${removed.namespaces.length} namespace(s), ${removed.links.length} link(s)`);
 * ```
 */
export async function cleanupLeftovers(prefix: string = DEFAULT_PREFIX): Promise<RemovedObjects> {
  const patterns = ownedNamePatterns(prefix);
  const tools = requireNetnsPrerequisites();
  const outcome = await runSteps(teardownSteps(tools, patterns));
  const error = teardownError(outcome);
  if (error) throw error;
  return outcome.removed;
}
