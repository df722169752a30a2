/**
 * SIGTERM and SIGINT handling under both runtimes: Node's `process.on`, or Deno's
 * `Deno.addSignalListener` (Deno's node:process does not deliver `once` signal listeners, so a
 * node process under Deno would die on SIGTERM without its clean shutdown).
 *
 * @module
 */
import process from "node:process";

declare const Deno: {
  addSignalListener(signal: "SIGTERM" | "SIGINT", handler: () => void): void;
  removeSignalListener(signal: "SIGTERM" | "SIGINT", handler: () => void): void;
};

/** Calls `handler` on SIGTERM or SIGINT; returns the function that stops listening. */
export function onShutdownSignal(handler: () => void): () => void {
  const signals = ["SIGTERM", "SIGINT"] as const;
  if ("Deno" in globalThis) {
    for (const s of signals) Deno.addSignalListener(s, handler);
    return () => {
      for (const s of signals) Deno.removeSignalListener(s, handler);
    };
  }
  for (const s of signals) process.on(s, handler);
  return () => {
    for (const s of signals) process.off(s, handler);
  };
}
