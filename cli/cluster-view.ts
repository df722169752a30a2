/**
 * The terminal form of the live view: `ringforge status --watch` prints this every second. The
 * same figures as `GET /ui`, from the same `GET /status/cluster` document, laid out to fit 100
 * columns: members as each node sees them, then client traffic and background work per node.
 *
 * @module
 */
import type { ClusterStatus, NodeStatus, ScalerStatus } from "../client/node-status.ts";
import { scalerLines } from "./autoscale-status-line.ts";

/** The width every line fits. */
export const VIEW_COLUMNS = 100;

/**
 * One frame of the view. `source` names where it came from (the URL asked); `now` is the local
 * time printed in the first line.
 */
export function formatClusterView(cluster: ClusterStatus, source: string, now: Date = new Date()): string {
  const own = cluster.members[0]?.status;
  if (!own) return fit([`ringforge · ${cluster.node} · no status`]);
  const { n, r, w } = own.replication;
  const lines = [
    `ringforge · ${own.node} ${own.running ? "running" : "stopped"} · ring epoch ${own.ringEpoch} · N=${n} R=${r} W=${w} · ` +
    `${cluster.members.length} members · ${now.toTimeString().slice(0, 8)} · ${source}`,
    "",
    ...membersTable(cluster, own),
    "",
    ...table(
      ["node", "req/s", "p50 ms", "p99 ms", "err/s", "keys", "data", "hints", "AE exch/rep", "engine"],
      cluster.members.map((m) => {
        const s = m.status;
        if (!s) return [m.id, `no answer: ${m.error ?? ""}`];
        const t = s.traffic;
        return [
          m.id,
          num(t?.requestsPerSecond),
          num(t?.p50Ms),
          num(t?.p99Ms),
          num(t?.errorsPerSecond),
          num(s.records.keys),
          short(s.records.bytes),
          `${num(s.hints.pending)}/${num(s.hints.delivered)}`,
          `${num(s.antiEntropy.exchanges)}/${num(s.antiEntropy.repaired)}`,
          engine(s.engine),
        ];
      }),
    ),
    ...scalerSection(cluster),
    "",
    "hints = pending/delivered; engine = memtable, tables per level, compaction due, log lost at start",
    "traffic = the last completed seconds at each node's HTTP API",
  ];
  return fit(lines);
}

/** Members as each node sees them: one column per observer that fits, the rest counted. */
function membersTable(cluster: ClusterStatus, own: NodeStatus): string[] {
  const ids = [...new Set([...own.members.map((m) => m.id), ...cluster.members.map((m) => m.id)])];
  const mine = new Map(own.members.map((m) => [m.id, m] as const));
  const idWidth = Math.max(6, ...ids.map((id) => id.length + 2));
  const fixed = idWidth + 8 + 14 + 8; // member, owns, incarnation, last contact
  const observers = [...cluster.members];
  const cell = (id: string) => Math.max(11, id.length + 2);
  let used = fixed;
  let shown = 0;
  while (shown < observers.length && used + cell(observers[shown]!.id) + 2 <= VIEW_COLUMNS - 10) used += cell(observers[shown++]!.id) + 2;
  const hidden = observers.length - shown;
  const header = ["member", "owns", ...observers.slice(0, shown).map((o) => `@${o.id}`), "incarnation", "contact"];
  const rows = ids.map((id) => {
    const m = mine.get(id);
    return [
      id + (id === own.node ? " *" : ""),
      m?.inRing ? `${(m.ownership * 100).toFixed(1)}%` : "-",
      ...observers.slice(0, shown).map((o) => o.status ? (o.status.members.find((x) => x.id === id)?.status ?? "unknown") : "no answer"),
      m?.incarnation === undefined ? "-" : String(m.incarnation),
      m?.lastContactMs === undefined ? "-" : ago(m.lastContactMs),
    ];
  });
  const out = table(header, rows);
  out.push(`(@X = as node X sees it; * = the node asked${hidden > 0 ? `; ${hidden} more observers with --json` : ""})`);
  return out;
}

/** The autoscaler's last decision, as the node that heard of it last has it (nothing without an autoscaler). */
function scalerSection(cluster: ClusterStatus): string[] {
  let freshest: ScalerStatus | undefined;
  for (const m of cluster.members) {
    const scaler = m.status?.scaler;
    if (scaler && (freshest === undefined || scaler.last.ageMs < freshest.last.ageMs)) freshest = scaler;
  }
  return freshest ? ["", ...scalerLines(freshest, VIEW_COLUMNS)] : [];
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.filter((r) => r.length === header.length).map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(header), ...rows.map(line)];
}

/** Every line cut to {@link VIEW_COLUMNS} (the engine column is the one that can run long). */
function fit(lines: string[]): string {
  return lines.map((l) => (l.length > VIEW_COLUMNS ? `${l.slice(0, VIEW_COLUMNS - 1)}…` : l)).join("\n") + "\n";
}

function engine(e: Readonly<Record<string, number>>): string {
  const parts: string[] = [];
  if (e.memtableBytes !== undefined) parts.push(`mem ${short(e.memtableBytes)}`);
  const levels: number[] = [];
  for (let i = 0; e[`level${i}Tables`] !== undefined; i++) levels.push(e[`level${i}Tables`]!);
  if (levels.length > 0) parts.push(`L ${levels.join("/")}`);
  if (e.compactionBacklogBytes) parts.push(`due ${short(e.compactionBacklogBytes)}`);
  if (e.lostLogBytes) parts.push(`lost ${short(e.lostLogBytes)}`);
  return parts.join(" ") || "-";
}

/** Bytes in at most five characters (`2.9M`), for the engine column. */
function short(n: number): string {
  const units = ["B", "K", "M", "G", "T"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${n}B` : `${n < 10 ? n.toFixed(1) : Math.round(n)}${units[i]}`;
}

function num(x: number | undefined): string {
  if (x === undefined) return "-";
  if (Math.abs(x) >= 1e6) return `${(x / 1e6).toFixed(1)}M`;
  if (Math.abs(x) >= 1e4) return `${(x / 1e3).toFixed(1)}k`;
  return String(Math.round(x * 100) / 100);
}

function ago(ms: number): string {
  return ms < 1000 ? `${ms} ms` : ms < 120_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 60_000)} min`;
}
