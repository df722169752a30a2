/**
 * Removing real networks on every way out of a process. A network lives in the kernel, not in
 * the process: a harness that dies without removing it leaves namespaces, a bridge and processes
 * behind. Every {@link NetnsNetwork} registers itself here from the moment its creation starts
 * until it is destroyed; {@link destroyNetworksOnExit} installs the handlers that destroy every
 * registered network, synchronously, when the process
 *
 * - exits (the end of the program, `process.exit()`),
 * - receives SIGINT, SIGTERM or SIGHUP (then exits with 128 + the signal's number),
 * - dies of an uncaught exception or unhandled rejection.
 *
 * Only SIGKILL (and a kernel crash) escape it: for those, {@link cleanupLeftovers} removes
 * everything by name afterwards. The handlers are not installed by creating a network, because a
 * library should not take over a program's signals unasked: a program (the CLI, a script) calls
 * {@link destroyNetworksOnExit} once; a test runner, which has its own handling, uses `afterAll`.
 *
 * @module
 */
import process from "node:process";

/** Something to remove synchronously when the process goes away. */
export interface ExitTarget {
  /** Removes it; may throw, which is reported on stderr. */
  destroySync(): void;
}

const tracked = new Set<ExitTarget>();

/** Registers `target` for removal on exit; returns the function that unregisters it. */
export function trackForExit(target: ExitTarget): () => void {
  tracked.add(target);
  return () => {
    tracked.delete(target);
  };
}

/** Destroys every registered target now, synchronously, reporting failures on stderr. */
export function destroyTrackedSync(): void {
  for (const target of [...tracked]) {
    tracked.delete(target);
    try {
      target.destroySync();
    } catch (error) {
      console.error(`ringforge: could not remove a real network on exit: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

/** Options of {@link destroyNetworksOnExit}. */
export interface ExitCleanupOptions {
  /**
   * Whether a signal, once the networks are removed, ends the process with status 128 + the
   * signal's number, as the signal would have. Default true. Set false when the program has its
   * own signal handling that exits (it then runs after the networks are gone).
   */
  readonly exitOnSignal?: boolean;
}

const SIGNALS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;
type HandledSignal = keyof typeof SIGNALS;

declare const Deno: {
  addSignalListener(signal: HandledSignal, handler: () => void): void;
  removeSignalListener(signal: HandledSignal, handler: () => void): void;
};

/**
 * Installs process handlers that destroy every real network of this process on exit, on SIGINT,
 * SIGTERM and SIGHUP, and on an uncaught exception or unhandled rejection. Returns the function
 * that removes the handlers. Call it once, before creating networks.
 *
 * @example
 * ```ts
 * const uninstall = destroyNetworksOnExit();
 * const network = await NetnsNetwork.create(["n1", "n2", "n3"]);
 * try {
 *   // ... run the scenario ...
 * } finally {
 *   await network.destroy();
 *   uninstall();
 * }
 * ```
 */
export function destroyNetworksOnExit(options: ExitCleanupOptions = {}): () => void {
  const exitOnSignal = options.exitOnSignal ?? true;
  const onSignal = (signal: HandledSignal) => () => {
    destroyTrackedSync();
    if (exitOnSignal) process.exit(128 + SIGNALS[signal]);
  };
  const signalHandlers = (Object.keys(SIGNALS) as HandledSignal[]).map((signal) => [signal, onSignal(signal)] as const);
  const onFatal = () => destroyTrackedSync();
  const isDeno = "Deno" in globalThis;
  const denoGlobal = globalThis as unknown as EventTarget;

  // Deno's node:process does not deliver every signal listener (see cli/shutdown-signals.ts):
  // use its own API there. Uncaught errors reach Deno as the global "error" and
  // "unhandledrejection" events, which a listener observes without handling them.
  for (const [signal, handler] of signalHandlers) {
    if (isDeno) Deno.addSignalListener(signal, handler);
    else process.on(signal, handler);
  }
  process.on("exit", onFatal);
  if (isDeno) {
    denoGlobal.addEventListener("error", onFatal);
    denoGlobal.addEventListener("unhandledrejection", onFatal);
  } else {
    // The monitor runs before the process dies of the error and does not stop it from dying.
    process.on("uncaughtExceptionMonitor", onFatal);
  }
  return () => {
    for (const [signal, handler] of signalHandlers) {
      if (isDeno) Deno.removeSignalListener(signal, handler);
      else process.off(signal, handler);
    }
    process.off("exit", onFatal);
    if (isDeno) {
      denoGlobal.removeEventListener("error", onFatal);
      denoGlobal.removeEventListener("unhandledrejection", onFatal);
    } else {
      process.off("uncaughtExceptionMonitor", onFatal);
    }
  };
}
