/**
 * Checkers: what a run's history says about the store.
 *
 * @module
 */
import type { FaultRecord, History, OperationKind, OperationRecord } from "./history.ts";
import type { Scenario } from "./scenario.ts";
import { checkLinearizable, formatViolation, type LinearizabilityResult, type RegisterOperation } from "./linearizability.ts";

/** Latency percentiles of acknowledged operations, virtual ms. */
export interface LatencySummary {
  /** Operations counted. */
  readonly count: number;
  /** Median. */
  readonly p50: number;
  /** 95th percentile. */
  readonly p95: number;
  /** 99th percentile. */
  readonly p99: number;
  /** Slowest. */
  readonly max: number;
}

/** Requests that failed, by error code. */
export interface Availability {
  /** Client operations attempted (final reads excluded). */
  readonly attempted: number;
  /** Acknowledged. */
  readonly ok: number;
  /** Failed, by error code. */
  readonly failedBy: Readonly<Record<string, number>>;
}

/** Latency per kind of operation (kinds with no acknowledged operation are left out). */
export function latencies(history: History): Partial<Record<OperationKind, LatencySummary>> {
  const byKind = new Map<OperationKind, number[]>();
  for (const op of history.operations) {
    if (!op.ok || op.kind === "final-read") continue;
    let list = byKind.get(op.kind);
    if (!list) byKind.set(op.kind, list = []);
    list.push(op.end - op.start);
  }
  const out: Partial<Record<OperationKind, LatencySummary>> = {};
  for (const [kind, list] of [...byKind].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    list.sort((a, b) => a - b);
    const at = (q: number) => round(list[Math.min(list.length - 1, Math.floor(q * list.length))]!);
    out[kind] = { count: list.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: round(list[list.length - 1]!) };
  }
  return out;
}

/** How many operations succeeded and why the others failed. */
export function availability(history: History): Availability {
  let attempted = 0;
  let ok = 0;
  const failedBy: Record<string, number> = {};
  for (const op of history.operations) {
    if (op.kind === "final-read") continue;
    attempted++;
    if (op.ok) ok++;
    else failedBy[op.error ?? "unknown"] = (failedBy[op.error ?? "unknown"] ?? 0) + 1;
  }
  return { attempted, ok, failedBy: sortKeys(failedBy) };
}

/** Requests and failures over the run's time, and the faults injected: what the report charts. */
export interface Timeline {
  /** Width of one bucket, virtual ms (100 ms to 1 min: at most 120 buckets over the clients' time). */
  readonly bucketMs: number;
  /** Client operations started in each bucket (final reads excluded). */
  readonly attempted: readonly number[];
  /** Of those, the ones that failed. */
  readonly failed: readonly number[];
  /** The faults the scenario injected and when (a detector's observations left out). */
  readonly faults: readonly FaultRecord[];
}

const BUCKETS_MS = [100, 200, 250, 500, 1000, 2000, 5000, 10_000, 30_000, 60_000];

/** Buckets requests by the virtual time they started, with the run's injected faults. */
export function timeline(history: History): Timeline {
  let end = 0;
  for (const op of history.operations) if (op.kind !== "final-read" && op.start > end) end = op.start;
  const bucketMs = BUCKETS_MS.find((b) => end / b < 120) ?? BUCKETS_MS[BUCKETS_MS.length - 1]!;
  const n = Math.floor(end / bucketMs) + 1;
  const attempted = new Array<number>(n).fill(0);
  const failed = new Array<number>(n).fill(0);
  for (const op of history.operations) {
    if (op.kind === "final-read") continue;
    const i = Math.min(n - 1, Math.floor(op.start / bucketMs));
    attempted[i]!++;
    if (!op.ok) failed[i]!++;
  }
  return { bucketMs, attempted, failed, faults: history.faults.filter((f) => !f.fault.includes(" sees ")) };
}

/** Live siblings seen by acknowledged reads. */
export interface SiblingSummary {
  /** Reads counted. */
  readonly reads: number;
  /** Largest sibling count a read returned. */
  readonly max: number;
  /** Mean sibling count. */
  readonly mean: number;
  /** Reads that returned more than one value. */
  readonly conflicted: number;
  /** Siblings returned that another sibling of the same read descends from (set workload). */
  readonly obsolete: number;
}

/** Sibling counts over acknowledged reads (final reads included). */
export function siblings(history: History): SiblingSummary {
  let reads = 0;
  let max = 0;
  let total = 0;
  let conflicted = 0;
  let obsolete = 0;
  for (const op of history.operations) {
    if (!op.ok || op.siblings === undefined) continue;
    reads++;
    obsolete += op.obsolete ?? 0;
    total += op.siblings;
    max = Math.max(max, op.siblings);
    if (op.siblings > 1) conflicted++;
  }
  return { reads, max, mean: reads ? round(total / reads) : 0, conflicted, obsolete };
}

/** What replicas stored over a run, set against the store's record bounds. */
export interface StoredRecords {
  /** The most siblings any record held when a replica stored it (never above `maxSiblings`). */
  readonly mostSiblings: number;
  /** The largest record any replica stored, bytes (never above `maxRecordBytes`). */
  readonly largestBytes: number;
  /** Record changes replicas refused because they would have passed a bound. */
  readonly refused: number;
}

/**
 * What replicas stored, from their record stores' counters (`RecordStoreStats`, one per node
 * instance of the run). Unlike {@link siblings}, which counts what reads returned (a
 * coordinator's merge of several replies may hold more than any replica stores), this is what
 * the bounds apply to.
 */
export function storedRecords(
  stores: Iterable<{ readonly mostSiblings: number; readonly largestRecord: number; readonly refused: number }>,
): StoredRecords {
  let mostSiblings = 0;
  let largestBytes = 0;
  let refused = 0;
  for (const s of stores) {
    mostSiblings = Math.max(mostSiblings, s.mostSiblings);
    largestBytes = Math.max(largestBytes, s.largestRecord);
    refused += s.refused;
  }
  return { mostSiblings, largestBytes, refused };
}

/** The set workload's verdict. */
export interface LostWrites {
  /** Adds the store acknowledged. */
  readonly acknowledged: number;
  /** Acknowledged adds missing from the final read. */
  readonly lost: number;
  /** Adds that failed (not acknowledged) but are present anyway: allowed, reported for scale. */
  readonly unacknowledgedPresent: number;
  /** Some of the lost elements (at most 10), to look up in the history. */
  readonly examples: readonly string[];
  /** False if no final read succeeded, in which case nothing can be said. */
  readonly finalReadSucceeded: boolean;
}

/**
 * Lost acknowledged writes of the set workload: elements whose add was acknowledged but which
 * the final read (after healing and quiescence) does not contain.
 */
export function lostWrites(history: History): LostWrites {
  const acked = new Set<string>();
  const failed = new Set<string>();
  let final: OperationRecord | undefined;
  for (const op of history.operations) {
    if (op.kind === "add" && op.value !== undefined) (op.ok ? acked : failed).add(op.value);
    if (op.kind === "final-read" && op.ok) final = op;
  }
  if (!final) {
    return { acknowledged: acked.size, lost: 0, unacknowledgedPresent: 0, examples: [], finalReadSucceeded: false };
  }
  const present = new Set(final.read ?? []);
  const lost = [...acked].filter((e) => !present.has(e));
  const unacknowledgedPresent = [...failed].filter((e) => present.has(e)).length;
  return { acknowledged: acked.size, lost: lost.length, unacknowledgedPresent, examples: lost.slice(0, 10), finalReadSucceeded: true };
}

/** The register workload's verdict: the linearizability checker on its history. */
export interface LinearizabilityReport {
  /** `linearizable`, `violation`, or `unknown` (a key's search ran out of budget). */
  readonly verdict: LinearizabilityResult["verdict"];
  /** Operations checked: acknowledged reads, writes and compare-and-sets, and writes of unknown outcome. */
  readonly operations: number;
  /** Writes and compare-and-sets that failed with an unknown outcome (they may have happened). */
  readonly unknown: number;
  /** The violation, as the checker's few lines: the key and a minimal excerpt of its history. */
  readonly excerpt?: string;
}

/**
 * Checks the register workload's history for linearizability (see sim/linearizability.ts): every
 * client read, write and compare-and-set, and the final reads. A failed write or compare-and-set
 * may have happened (unknown outcome), except one never sent (no node was running).
 */
export function linearizability(history: History): LinearizabilityReport {
  const ops: RegisterOperation[] = [];
  let unknown = 0;
  for (const op of history.operations) {
    const times = { client: op.client, key: op.key, invokedAt: op.start, completedAt: op.end };
    if (op.kind === "read" || op.kind === "final-read") {
      if (op.ok) ops.push({ ...times, kind: "read", result: op.read ?? [], outcome: "ok" });
    } else if (op.kind === "write" || op.kind === "cas") {
      const value = op.value ?? null;
      const outcome = op.ok ? "ok" : op.node === "-" ? "fail" : "unknown";
      if (outcome === "unknown") unknown++;
      if (op.kind === "write") ops.push({ ...times, kind: "write", value, outcome });
      else {
        ops.push({
          ...times,
          kind: "cas",
          value,
          expected: op.expected ?? null,
          outcome,
          ...(op.ok ? { applied: op.applied === true } : {}),
        });
      }
    }
  }
  const result = checkLinearizable(ops);
  return {
    verdict: result.verdict,
    operations: result.operations,
    unknown,
    ...(result.violation ? { excerpt: formatViolation(result.violation) } : {}),
  };
}

/** One membership change the autoscaler made (or tried). */
export interface ScalingChange {
  /** When it was decided, ms after the clients started. */
  readonly atMs: number;
  /** Added or removed a node. */
  readonly action: "add" | "remove";
  /** The node (for a failed add, the error). */
  readonly node: string;
  /** The policy's reason. */
  readonly reason: string;
  /** Carried out, or failed. */
  readonly outcome: "applied" | "failed";
  /** How long the join or leave took, ms. */
  readonly tookMs: number;
}

/** One phase of a rate schedule, between two of its points. */
export interface ScalingPhase {
  /** The rate it goes from and to, e.g. `100->600/s`. */
  readonly name: string;
  /** Start, ms after the clients started. */
  readonly fromMs: number;
  /** End. */
  readonly toMs: number;
  /** 99th percentile latency of the operations started in it, ms. */
  readonly p99Ms: number;
  /** Members on average over it (time-weighted). */
  readonly meanNodes: number;
}

/** How many members the cluster had at one moment. */
export interface MembersSample {
  /** When, ms after the clients started. */
  readonly atMs: number;
  /** Running members then. */
  readonly nodes: number;
}

/** What the autoscaler did over a run, and what it cost. */
export interface ScalingReport {
  /** The policy (the config's scaler). */
  readonly policy: string;
  /** Members over time, sampled every autoscaler interval. */
  readonly samples: readonly MembersSample[];
  /** Every change made or tried. */
  readonly changes: readonly ScalingChange[];
  /** Fewest members at any sample. */
  readonly minNodes: number;
  /** Most members. */
  readonly maxNodes: number;
  /** Members times seconds over the run: what the cluster cost. */
  readonly nodeSeconds: number;
  /**
   * From the start of the schedule's first rise to the first added node taking ranges, ms; null
   * if none was added.
   */
  readonly reactMs: number | null;
  /** Per phase of the rate schedule: latency and members. */
  readonly phases: readonly ScalingPhase[];
  /** Bytes the joins streamed and the leaves handed off. */
  readonly movedBytes: number;
  /**
   * The least those changes could move: for a join, the data stored then over the new member
   * count (the new node's fair share); for a leave, what the leaving node held.
   */
  readonly idealBytes: number;
}

/** The {@link ScalingReport} of a run, from its history and the autoscaler's record. */
export function scalingReport(
  history: History,
  scenario: Scenario,
  policy: string,
  t0: number,
  samples: readonly { atMs: number; nodes: number }[],
  changes: readonly ScalingChange[],
  movedBytes: number,
  idealBytes: number,
): ScalingReport {
  const nodesAt = (ms: number) => {
    let n = samples[0]?.nodes ?? 0;
    for (const s of samples) if (s.atMs <= ms) n = s.nodes;
    return n;
  };
  const meanNodes = (from: number, to: number) => {
    if (to <= from) return nodesAt(from);
    let area = 0;
    const points = [from, ...samples.map((s) => s.atMs).filter((t) => t > from && t < to), to];
    for (let i = 1; i < points.length; i++) area += nodesAt(points[i - 1]!) * (points[i]! - points[i - 1]!);
    return area / (to - from);
  };
  const end = samples.length ? samples[samples.length - 1]!.atMs : 0;
  const w = scenario.workload;
  const rate = w.type === "ycsb" ? w.rate : undefined;
  const phases: ScalingPhase[] = [];
  let rise: number | undefined;
  if (rate) {
    for (let i = 1; i < rate.length; i++) {
      const a = rate[i - 1]!;
      const b = rate[i]!;
      if (rise === undefined && b.perSecond > a.perSecond) rise = a.atMs;
      const latencies: number[] = [];
      for (const op of history.operations) {
        const at = op.start - t0;
        if (op.client >= 0 && op.ok && at >= a.atMs && at < b.atMs) latencies.push(op.end - op.start);
      }
      latencies.sort((x, y) => x - y);
      phases.push({
        name: a.perSecond === b.perSecond ? `${a.perSecond}/s` : `${a.perSecond}->${b.perSecond}/s`,
        fromMs: a.atMs,
        toMs: b.atMs,
        p99Ms: latencies.length === 0
          ? 0
          : Math.round(latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))]! * 10) / 10,
        meanNodes: Math.round(meanNodes(a.atMs, b.atMs) * 10) / 10,
      });
    }
  }
  const firstAdd = changes.find((c) => c.action === "add" && c.outcome === "applied" && (rise === undefined || c.atMs >= rise));
  return {
    policy,
    samples,
    changes,
    minNodes: Math.min(...samples.map((s) => s.nodes)),
    maxNodes: Math.max(...samples.map((s) => s.nodes)),
    nodeSeconds: Math.round(meanNodes(0, end) * end / 100) / 10,
    reactMs: firstAdd ? firstAdd.atMs + firstAdd.tookMs - (rise ?? 0) : null,
    phases,
    movedBytes,
    idealBytes: Math.round(idealBytes),
  };
}

/** The CRDT workload's verdict. */
export interface CrdtUpdates {
  /**
   * What the store acknowledged: for counters, the amount (increments and decrements summed);
   * for sets, the adds and removes.
   */
  readonly acknowledged: number;
  /**
   * Acknowledged updates missing from the final state: counter amounts an actor's final totals
   * fall short of what it had acknowledged; added elements (never removed) that are absent.
   */
  readonly lost: number;
  /**
   * Counters: amounts in the final totals beyond every update attempted, acknowledged or not
   * (an update counted twice). Sets: removed elements present again. Both should be 0.
   */
  readonly excess: number;
  /** False if no final read succeeded, in which case nothing can be said. */
  readonly finalReadSucceeded: boolean;
}

/**
 * Checks the CRDT workload's final state against its history. A counter's state holds each
 * actor's totals, so loss is checked per actor: its acknowledged increments (and decrements)
 * must all be in its final total, and nothing beyond what it attempted may be.
 */
export function crdtUpdates(history: History, datatype: "counter" | "set"): CrdtUpdates {
  let final: OperationRecord | undefined;
  let acknowledged = 0;
  for (const op of history.operations) {
    if (op.kind === "final-read" && op.ok) final = op;
    if (!op.ok) continue;
    if (op.kind === "increment" || op.kind === "decrement") acknowledged += Number(op.value);
    if (op.kind === "add" || op.kind === "remove") acknowledged++;
  }
  if (!final) return { acknowledged, lost: 0, excess: 0, finalReadSucceeded: false };
  let lost = 0;
  let excess = 0;
  if (datatype === "counter") {
    // actor -> [acked up, attempted up, acked down, attempted down]
    const sums = new Map<string, [number, number, number, number]>();
    for (const op of history.operations) {
      if (op.kind !== "increment" && op.kind !== "decrement") continue;
      const actor = `c${op.client}`;
      const s = sums.get(actor) ?? [0, 0, 0, 0];
      const amount = Number(op.value);
      const [acked, tried] = op.kind === "increment" ? [0, 1] as const : [2, 3] as const;
      if (op.ok) s[acked] += amount;
      s[tried] += amount;
      sums.set(actor, s);
    }
    const totals = new Map((final.read ?? []).map((entry) => {
      const [actor, up, down] = entry.split(/[=/]/);
      return [actor!, [Number(up), Number(down)] as const];
    }));
    for (const [actor, [ackUp, tryUp, ackDown, tryDown]] of sums) {
      const [up, down] = totals.get(actor) ?? [0, 0];
      lost += Math.max(0, ackUp - up) + Math.max(0, ackDown - down);
      excess += Math.max(0, up - tryUp) + Math.max(0, down - tryDown);
    }
  } else {
    const present = new Set(final.read ?? []);
    const added = new Set<string>();
    const removeTried = new Set<string>();
    const removed = new Set<string>();
    for (const op of history.operations) {
      if (op.value === undefined) continue;
      if (op.kind === "add" && op.ok) added.add(op.value);
      if (op.kind === "remove") {
        removeTried.add(op.value);
        if (op.ok) removed.add(op.value);
      }
    }
    for (const e of added) if (!removeTried.has(e) && !present.has(e)) lost++;
    for (const e of removed) if (present.has(e)) excess++;
  }
  return { acknowledged, lost, excess, finalReadSucceeded: true };
}

/** Stale reads found. */
export interface StaleReads {
  /** Acknowledged reads checked. */
  readonly reads: number;
  /** Reads that missed a write acknowledged before they began. */
  readonly stale: number;
  /** Final reads checked (R = N, after healing and quiescence). */
  readonly finalReads: number;
  /**
   * Final reads that missed a write acknowledged before them: acknowledged writes the store
   * lost (the final read comes after every fault is healed, so nothing is merely late).
   */
  readonly lost: number;
  /** Final reads that returned a value an acknowledged delete had removed: deletes undone. */
  readonly resurrected: number;
  /** Acknowledged deletes in the history. */
  readonly deletes: number;
}

/**
 * Stale reads: a read is stale if some write to its key was acknowledged before the read began,
 * and the read returned nothing, or only values whose writes had completed before that write
 * began (values it certainly superseded in real time). Values of writes that never completed
 * count as fresh: they may have been applied at any time. When the last acknowledged operation
 * was a delete, nothing is the right answer and old values are stale (resurrected, for a
 * final read).
 */
export function staleReads(history: History): StaleReads {
  const writes = new Map<string, OperationRecord>();
  const byKey = new Map<string, OperationRecord[]>();
  const unsureDeletes = new Map<string, OperationRecord[]>();
  for (const op of history.operations) {
    if ((op.kind !== "write" && op.kind !== "delete") || op.value === undefined) continue;
    writes.set(op.value, op);
    const into = op.ok ? byKey : op.kind === "delete" ? unsureDeletes : undefined;
    if (!into) continue;
    let list = into.get(op.key);
    if (!list) into.set(op.key, list = []);
    list.push(op);
  }
  let reads = 0;
  let stale = 0;
  let finalReads = 0;
  let lost = 0;
  let resurrected = 0;
  for (const op of history.operations) {
    if ((op.kind !== "read" && op.kind !== "final-read") || !op.ok) continue;
    const final = op.kind === "final-read";
    if (final) finalReads++;
    else reads++;
    // The acknowledged write or delete, finished before this read began, that began last.
    let latest: OperationRecord | undefined;
    for (const w of byKey.get(op.key) ?? []) if (w.end < op.start && (!latest || w.start > latest.start)) latest = w;
    if (!latest) continue;
    // Nothing at all is fine only if a delete that did not complete may have been applied.
    const maybeDeleted = () => (unsureDeletes.get(op.key) ?? []).some((d) => d.start < op.end && d.start > latest.start);
    if (!certainlyMissed(op, latest, writes, maybeDeleted)) continue;
    // After healing, a missed delete is one undone (values it superseded came back), a missed
    // write one lost.
    if (!final) stale++;
    else if (latest.kind === "delete") resurrected++;
    else lost++;
  }
  let deletes = 0;
  for (const list of byKey.values()) for (const w of list) if (w.kind === "delete") deletes++;
  return { reads, stale, finalReads, lost, resurrected, deletes };
}

/** Violations of the session guarantees, per client and key. */
export interface SessionViolations {
  /** Acknowledged client reads checked. */
  readonly reads: number;
  /**
   * Reads that missed the client's own acknowledged write (or delete) of the key, finished
   * before the read began: read-your-writes violated.
   */
  readonly readYourWrites: number;
  /**
   * Reads older than the client's previous read of the key: every value returned was written
   * before the newest value that previous read returned was written: monotonic reads violated.
   */
  readonly monotonicReads: number;
}

/**
 * Read-your-writes and monotonic reads, checked per client and key over its sequence of
 * operations. Like {@link staleReads}, a read counts as older than a write only when it
 * certainly is: it returned nothing (and no delete may explain that), or only values whose
 * writes finished before that write began.
 */
export function sessionViolations(history: History): SessionViolations {
  const writes = new Map<string, OperationRecord>();
  const deletes = new Map<string, OperationRecord[]>();
  for (const op of history.operations) {
    if ((op.kind !== "write" && op.kind !== "delete") || op.value === undefined) continue;
    writes.set(op.value, op);
    if (op.kind === "delete") {
      let list = deletes.get(op.key);
      if (!list) deletes.set(op.key, list = []);
      list.push(op);
    }
  }
  const missed = (read: OperationRecord, ref: OperationRecord): boolean =>
    // Nothing returned: fine if some delete overlapping or after `ref` may have removed it.
    certainlyMissed(read, ref, writes, () => (deletes.get(read.key) ?? []).some((d) => d.end > ref.start && d.start < read.end));
  const sessions = new Map<string, { lastWrite?: OperationRecord; lastRead?: OperationRecord }>();
  let reads = 0;
  let readYourWrites = 0;
  let monotonicReads = 0;
  // Operations are recorded as they complete, and a client runs one at a time: per client,
  // this is program order.
  for (const op of history.operations) {
    if (op.client < 0 || !op.ok) continue;
    const id = `${op.client}\u0000${op.key}`;
    let session = sessions.get(id);
    if (!session) sessions.set(id, session = {});
    if (op.kind === "write" || op.kind === "delete") session.lastWrite = op;
    if (op.kind !== "read") continue;
    reads++;
    if (session.lastWrite && session.lastWrite.end < op.start && missed(op, session.lastWrite)) readYourWrites++;
    // The newest write the previous read returned (by when it began).
    let newest: OperationRecord | undefined;
    for (const v of session.lastRead?.read ?? []) {
      const w = writes.get(v);
      if (w && (!newest || w.start > newest.start)) newest = w;
    }
    if (newest && missed(op, newest)) monotonicReads++;
    session.lastRead = op;
  }
  return { reads, readYourWrites, monotonicReads };
}

/**
 * True if `read` certainly missed `ref`, a write or delete that finished before it began: it
 * returned only values whose writes were acknowledged and had finished before `ref` began
 * (values `ref` superseded in real time), or, when `ref` is a write, nothing at all unless
 * `mayBeDeleted()` says a delete may explain the empty answer. A value written by an operation
 * that never completed counts as fresh: it may have been applied at any time. Reading nothing
 * after a delete is never a miss.
 *
 * @param writes every write and delete of the history, by the value it wrote
 */
function certainlyMissed(
  read: OperationRecord,
  ref: OperationRecord,
  writes: ReadonlyMap<string, OperationRecord>,
  mayBeDeleted: () => boolean,
): boolean {
  const returned = read.read ?? [];
  if (returned.length === 0) return ref.kind !== "delete" && !mayBeDeleted();
  return returned.every((id) => {
    const w = writes.get(id);
    return w !== undefined && w.ok && w.end < ref.start;
  });
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

function sortKeys<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** A liveness change one node observed. */
export interface ViewChange {
  /** Virtual time, ms. */
  readonly at: number;
  /** The node whose detector changed its mind. */
  readonly observer: string;
  /** The member concerned. */
  readonly member: string;
  /** Its new status. */
  readonly status: string;
}

/** How fast one crash was detected. */
export interface CrashDetection {
  /** The crashed node. */
  readonly node: string;
  /** Virtual time of the crash, ms. */
  readonly at: number;
  /** Live nodes that marked it down before the end, out of `observers`. */
  readonly detectedBy: number;
  /** Live nodes at the end (the crashed ones excluded). */
  readonly observers: number;
  /** Median time from the crash to a live node marking it down, ms (over those that did). */
  readonly medianMs: number;
  /** Slowest such time, ms. */
  readonly maxMs: number;
}

/** The membership workload's verdict. */
export interface Detection {
  /** Per crash. */
  readonly crashes: readonly CrashDetection[];
  /** Times a live node marked a member that was not crashed down (wrongly). */
  readonly falsePositives: number;
  /** At the end, (observer, member) pairs where a live member is seen as down. */
  readonly liveDownAtEnd: number;
  /**
   * At the end, (observer, member) pairs where a live member is only suspect (SWIM): a
   * suspicion still in flight, refuted by the member within its suspicion timeout.
   */
  readonly liveSuspectAtEnd: number;
  /** At the end, (observer, member) pairs where a crashed member is not seen as down. */
  readonly crashedNotDownAtEnd: number;
}

/**
 * Detection of crashes from the liveness changes every node observed: for each crash, the time
 * until each live node marked the crashed node down; false positives are live members marked
 * down at any time.
 *
 * @param crashes when each node crashed (and, if it did, restarted)
 * @param live the nodes running at the end
 * @param viewsAtEnd each live observer's view of each member's status at the end
 */
export function detection(
  changes: readonly ViewChange[],
  crashes: readonly { node: string; at: number; restartedAt?: number }[],
  live: readonly string[],
  viewsAtEnd: ReadonlyMap<string, ReadonlyMap<string, string>>,
): Detection {
  const downWhen = (member: string, at: number) =>
    crashes.some((c) => c.node === member && c.at <= at && (c.restartedAt === undefined || at < c.restartedAt));
  const out: CrashDetection[] = [];
  for (const crash of crashes) {
    const delays: number[] = [];
    for (const observer of live) {
      if (observer === crash.node) continue;
      const first = changes.find(
        (c) => c.observer === observer && c.member === crash.node && c.status === "down" && c.at >= crash.at,
      );
      if (first) delays.push(first.at - crash.at);
    }
    delays.sort((a, b) => a - b);
    const observers = live.filter((id) => id !== crash.node).length;
    out.push({
      node: crash.node,
      at: crash.at,
      detectedBy: delays.length,
      observers,
      medianMs: delays.length ? round(delays[Math.floor(delays.length / 2)]!) : 0,
      maxMs: delays.length ? round(delays[delays.length - 1]!) : 0,
    });
  }
  let falsePositives = 0;
  for (const c of changes) {
    if (c.status === "down" && live.includes(c.observer) && !downWhen(c.member, c.at)) falsePositives++;
  }
  let liveDownAtEnd = 0;
  let liveSuspectAtEnd = 0;
  let crashedNotDownAtEnd = 0;
  const crashedAtEnd = new Set(crashes.filter((c) => c.restartedAt === undefined).map((c) => c.node));
  for (const [observer, view] of viewsAtEnd) {
    for (const [member, status] of view) {
      if (member === observer) continue;
      if (crashedAtEnd.has(member)) {
        if (status !== "down") crashedNotDownAtEnd++;
      } else if (status === "suspect") liveSuspectAtEnd++;
      else if (status !== "up") liveDownAtEnd++;
    }
  }
  return { crashes: out, falsePositives, liveDownAtEnd, liveSuspectAtEnd, crashedNotDownAtEnd };
}
