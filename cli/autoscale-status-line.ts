/**
 * The autoscaler's last decision as a person reads it, in `ringforge status` and
 * `ringforge status --watch`: what it did, why (the policy's own figures), how long ago, and its
 * last change when the last decision was to change nothing.
 *
 * @module
 */
import type { ScalerDecisionStatus, ScalerStatus } from "../client/node-status.ts";

/**
 * One line: `scaler: added n4 — requestsPerSecond 412 per node against a target of 200: 4
 * node(s) wanted, 3 running (12 s ago)`, followed by `; last change: added n4 (40 s ago)` when
 * the last decision is not that change.
 */
export function scalerLine(scaler: ScalerStatus): string {
  return `scaler: ${decisionLine(scaler.last)}${lastChange(scaler)}`;
}

/**
 * The same in lines of at most `width` characters where it can: the one line if it fits, else
 * what happened and when (with the policy and the limits, and the last change) on the first line
 * and the reason, indented, on the second (which the caller may still have to cut).
 */
export function scalerLines(scaler: ScalerStatus, width: number): string[] {
  const line = scalerLine(scaler);
  if (line.length <= width) return [line];
  const { policy, limits, last } = scaler;
  return [
    `scaler (${policy}, ${limits.min}-${limits.max} nodes): ${whatHappened(last)} (${age(last)})${lastChange(scaler)}`,
    `  ${last.reason}`,
  ];
}

/** One decision: `added n4 — <the policy's reason> (12 s ago)`; without `age`, no time (for a log line). */
export function decisionLine(decision: ScalerDecisionStatus, withAge = true): string {
  return `${whatHappened(decision)} — ${decision.reason}${withAge ? ` (${age(decision)})` : ""}`;
}

function lastChange({ lastChange }: ScalerStatus): string {
  return lastChange ? `; last change: ${whatHappened(lastChange)} (${age(lastChange)})` : "";
}

/** `added n4`, `removing n2`, `no change`, `adding a node failed: ...`. */
function whatHappened(d: ScalerDecisionStatus): string {
  const target = d.action === "add" ? "a node" : (d.node ?? "a node");
  switch (d.outcome) {
    case "applied":
      if (d.completedAt === undefined) return d.action === "add" ? "adding a node" : `removing ${target}`;
      return d.action === "add" ? `added ${d.detail ?? "a node"}` : `removed ${target}`;
    case "none":
      return "no change";
    case "cooling-down":
      return `would ${d.action} ${target}, cooling down`;
    case "refused":
      return `${d.action} ${target} refused: ${d.detail ?? "a limit"}`;
    case "failed":
      return `${d.action === "add" ? "adding" : "removing"} ${target} failed: ${d.detail ?? "see the launcher's log"}`;
  }
}

/** `12 s ago`, or `started 3 s ago` for a change in progress. */
function age(d: ScalerDecisionStatus): string {
  const ms = d.ageMs;
  const ago = ms < 1000
    ? `${Math.round(ms)} ms ago`
    : ms < 120_000
    ? `${Math.round(ms / 1000)} s ago`
    : `${Math.round(ms / 60_000)} min ago`;
  return d.outcome === "applied" && d.completedAt === undefined ? `started ${ago}` : ago;
}
