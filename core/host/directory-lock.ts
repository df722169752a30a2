/**
 * One owner per data directory: the exclusive lock an on-disk engine holds from `open()` to
 * `close()`, as LevelDB holds its `LOCK` file. Two engines writing one directory corrupt it
 * without a sound: the second rotates the first one's commit log from under it, and writes the
 * first one acknowledges afterwards are gone at the next restart.
 *
 * Node has no `flock`, so the lock is a `LOCK` file created exclusively (`wx`) that names its
 * holder (pid, host, start time). A `LOCK` whose holder is gone is stale and taken over; one
 * whose holder may be alive refuses the open with a {@link DirectoryLockedError}. Within one
 * process the lock is a set of held directories (by real path), checked before any file, so a
 * second engine in the process is refused even though its pid is the holder's.
 *
 * @module
 */
import { link, readFile, realpath, rename, unlink, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { DirectoryLockedError } from "../errors.ts";
import { type Logger, silentLogger } from "../interfaces/logger.ts";

/** Name of the lock file in a locked directory. */
export const LOCK_FILE = "LOCK";

/** What a `LOCK` file says about its holder (one line of JSON). */
export interface LockHolder {
  /** The holder's process id. */
  readonly pid: number;
  /** The holder's host name. */
  readonly host: string;
  /** When the holder process started (ISO 8601), for the operator reading the file. */
  readonly started: string;
}

/** Options of {@link lockDirectory}. */
export interface DirectoryLockOptions {
  /** Where taking over a stale lock is reported (one info line). Default: nowhere. */
  readonly logger?: Logger;
  /**
   * Write a `LOCK` file (default true). `false` claims the directory within this process only,
   * for an engine whose own lock already keeps other processes out (LevelDB's `LOCK`).
   */
  readonly lockFile?: boolean;
}

/** A held directory lock. */
export interface DirectoryLock {
  /** The directory as the engine was given it. */
  readonly directory: string;
  /** Releases the lock: deletes the `LOCK` file (if it is still this holder's). Idempotent. */
  release(): Promise<void>;
  /**
   * Forgets the lock in this process but leaves the `LOCK` file, as a killed process leaves it
   * (crash tests): the next open in this process finds it stale and takes it over.
   */
  abandon(): void;
}

// Real paths of the directories engines of this process hold. Keyed on globalThis, not module
// scope, so two copies of this module in one process (a bundle and the sources) share it: else
// each would take the other's LOCK, which names this very pid, for a stale one.
const HELD: Set<string> = ((globalThis as Record<symbol, unknown>)[Symbol.for("ringforge.heldDirectories")] ??= new Set<string>()) as Set<
  string
>;

/** Tries to create the `LOCK` before giving up on openers that keep racing this one. */
const ATTEMPTS = 3;

/**
 * Takes the exclusive lock of `directory` (which must exist) before anything in it is read or
 * written.
 *
 * - another engine of this process holds it → refused;
 * - no `LOCK` → created with this process as holder;
 * - a `LOCK` naming a live process on this host, or any process on another host (whose
 *   liveness cannot be checked from here), or unreadable → refused;
 * - a `LOCK` naming a dead process on this host, or this process while no engine of it holds the
 *   directory (an engine dropped without `close()`) → stale: taken over, with one info line.
 *
 * @throws {DirectoryLockedError} naming the directory and the holder, in one line
 *
 * @example
 * ```ts
 * const lock = await lockDirectory("./data/n1", { logger });
 * try {
 *   // ... open the engine's files ...
 * } finally {
 *   await lock.release(); // at close
 * }
 * ```
 */
export async function lockDirectory(directory: string, options: DirectoryLockOptions = {}): Promise<DirectoryLock> {
  const logger = options.logger ?? silentLogger;
  const real = await realpath(directory);
  // Checked and claimed with no await in between, so two engines of this process racing for
  // one directory cannot both pass.
  if (HELD.has(real)) throw heldInThisProcess(directory);
  HELD.add(real);
  if (options.lockFile === false) return new HeldDirectory(directory, real, undefined);
  const path = join(directory, LOCK_FILE);
  const mine = `${
    JSON.stringify({ pid: process.pid, host: thisHost(), started: new Date(performance.timeOrigin).toISOString() } satisfies LockHolder)
  }\n`;
  try {
    let last: LockHolder | undefined;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      try {
        await writeFile(path, mine, { flag: "wx" });
        return new HeldDirectory(directory, real, { path, content: mine });
      } catch (error) {
        if (codeOf(error) !== "EEXIST") throw error;
      }
      const found = await readText(path);
      if (found === undefined) continue; // released meanwhile: try again
      const holder = (last = parseHolder(found));
      if (holder === undefined) {
        // A holder between creating the file and writing it, or one that crashed right there.
        throw new DirectoryLockedError(
          directory,
          undefined,
          undefined,
          `its ${path} names no holder; remove it only if no process uses the directory`,
        );
      }
      if (holder.host !== thisHost() || (holder.pid !== process.pid && isAlive(holder.pid))) {
        throw new DirectoryLockedError(directory, holder.pid, holder.host, removeHint(path));
      }
      if (await removeStale(path, found)) {
        logger.info("took over the stale lock of a data directory", {
          directory,
          pid: holder.pid,
          host: holder.host,
          started: holder.started,
          why: holder.pid === process.pid ? "left by an engine of this process that was never closed" : "its process is gone",
        });
      }
    }
    // Other openers kept taking the directory between our reads: one of them has it.
    throw new DirectoryLockedError(directory, last?.pid, last?.host, removeHint(path));
  } catch (error) {
    HELD.delete(real);
    throw error;
  }
}

class HeldDirectory implements DirectoryLock {
  #held = true;

  constructor(
    readonly directory: string,
    readonly real: string,
    readonly file: { readonly path: string; readonly content: string } | undefined,
  ) {}

  async release(): Promise<void> {
    if (!this.#held) return;
    this.#held = false;
    try {
      // Only our own: had an operator removed ours and another engine taken the directory since,
      // deleting its LOCK would let a third one in.
      if (this.file && (await readText(this.file.path)) === this.file.content) await unlink(this.file.path);
    } finally {
      HELD.delete(this.real);
    }
  }

  abandon(): void {
    if (!this.#held) return;
    this.#held = false;
    HELD.delete(this.real);
  }
}

/** The error for a directory another engine (or database) of this very process holds. */
export function heldInThisProcess(directory: string): DirectoryLockedError {
  return new DirectoryLockedError(directory, process.pid, thisHost(), "another engine of this process holds it; close that engine first");
}

function removeHint(path: string): string {
  return `remove ${path} only if that process is gone`;
}

/**
 * Removes a stale `LOCK` whose text was `stale`; false if the file there is no longer that one.
 * Moved aside, checked, then deleted, not deleted by name: two openers that both judged the
 * same LOCK stale must not have the slower one delete the faster one's fresh LOCK.
 */
async function removeStale(path: string, stale: string): Promise<boolean> {
  const aside = `${path}.stale-${process.pid}`;
  try {
    await rename(path, aside);
  } catch (error) {
    if (codeOf(error) === "ENOENT") return false;
    throw error;
  }
  if ((await readText(aside)) === stale) {
    await unlink(aside);
    return true;
  }
  // Another opener's fresh LOCK: put it back (link fails rather than replace a newer one).
  await link(aside, path).catch(() => {});
  await unlink(aside);
  return false;
}

/**
 * Whether process `pid` of this host may be alive: signal 0 checks without signalling. EPERM
 * means it exists under another user. Anything else but ESRCH (no such process), such as Deno
 * without `--allow-run`, means it cannot be told, and a lock whose holder may be alive is kept.
 */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return codeOf(error) !== "ESRCH";
  }
}

/** This host's name ("unknown" where it cannot be read, as under Deno without `--allow-sys`). */
function thisHost(): string {
  try {
    return hostname();
  } catch {
    return "unknown";
  }
}

function parseHolder(text: string): LockHolder | undefined {
  try {
    const data = JSON.parse(text) as Partial<LockHolder>;
    // Only a real pid: process.kill(0, ...) and negative pids address process groups.
    if (Number.isInteger(data.pid) && data.pid! > 0 && typeof data.host === "string") {
      return { pid: data.pid!, host: data.host, started: typeof data.started === "string" ? data.started : "unknown" };
    }
  } catch {
    // Not JSON: no holder named.
  }
  return undefined;
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if (codeOf(error) === "ENOENT") return undefined;
    throw error;
  }
}

function codeOf(error: unknown): unknown {
  return (error as { code?: unknown } | null)?.code;
}
