/**
 * A linearizability checker for register histories (read, write, delete, compare-and-set):
 * is there one order of the operations, consistent with the real time each took, in which a
 * single register would have answered every read and every compare-and-set as the store did?
 *
 * The search is Wing & Gong's, with Lowe's memoization, as in Porcupine and Knossos:
 *
 * - Linearizability is local (Herlihy & Wing 1990, §3.3), so each key is checked on its own.
 * - A key's calls and returns, sorted by time, form a doubly linked list. A depth-first search
 *   takes, from the head of the list, a call whose operation the register can apply in its
 *   current state, unlinks that operation's call and return (dancing links) and starts over;
 *   reaching a return means the operation it belongs to had to take effect already, so the
 *   search backtracks.
 * - Every (set of operations linearized, register state) reached is remembered; reaching it
 *   again along another path is pruned (Lowe, "Testing for linearizability", 2017), which turns
 *   the exponential search into one that is near linear on the histories a store produces.
 * - Operations with an unknown outcome, which Knossos and Porcupine treat like any other, get
 *   more care, since a few dozen of them would make the search exponential: it places one only
 *   where the next operation needs what it writes, treats those that do the same thing alike,
 *   and prunes a state when one with fewer of them placed was reached before.
 * - A step budget per key bounds the worst case (the problem is NP-complete, Gibbons & Korach
 *   1997): a key that runs out is reported as undecided, never as a verdict.
 *
 * What the operations mean:
 *
 * - `fail` operations had no effect and observed nothing: they are left out, as are reads whose
 *   outcome is `unknown`.
 * - A write or compare-and-set whose outcome is `unknown` may take effect at any moment after
 *   its invocation, or never. It is given a return at +Infinity: taking effect at the very end,
 *   when nothing is left to observe it, is the same as never taking effect. Such a
 *   compare-and-set that finds the register holding something other than its expected value
 *   changes nothing (its precondition failed and the answer was lost).
 * - Times are compared as given. An operation that completed at the very time another was
 *   invoked counts as concurrent with it (calls sort before returns at equal times), so equal
 *   timestamps never produce a violation on their own.
 * - A read that returned several values (siblings) can never be linearizable: a register holds
 *   one value. Identical siblings count once.
 *
 * On a violation the key's history is shrunk to a small excerpt that is still not linearizable
 * on its own. Only deletions that cannot turn a linearizable history into a non-linearizable
 * one are made (see {@link LinearizabilityViolation.operations}), so the excerpt proves the
 * violation rather than manufacturing one (deleting the write a read observed would).
 *
 * @module
 */
import { type ConfigIssue, InvalidConfigError } from "../core/errors.ts";
import { upperBound } from "../core/model/sorted.ts";

/** A register's value: a string, or `null` when the key is absent (never written, or deleted). */
export type RegisterValue = string | null;

/** One client operation on a register, as the client saw it. */
export interface RegisterOperation {
  /** Who issued it; shown in the report only. */
  readonly client: number | string;
  /** The register (key) it operated on. Keys are checked independently. */
  readonly key: string;
  /** `read`, `write` (a `null` value deletes) or `cas` (compare-and-set). */
  readonly kind: "read" | "write" | "cas";
  /** write: the value written (`null` = delete). cas: the new value (`null` = delete). */
  readonly value?: RegisterValue;
  /** cas: the value required before (`null` = "if absent"). */
  readonly expected?: RegisterValue;
  /**
   * read with outcome `ok`: what it returned (`null` = absent). Several values (siblings) are
   * given as an array, and a register read with more than one distinct value can never be
   * linearizable; an empty array means absent.
   */
  readonly result?: RegisterValue | readonly string[];
  /**
   * `ok`: it took effect and its answer arrived. `fail`: it definitely took no effect (a
   * compare-and-set whose precondition did not hold is `ok` with `applied: false`, not this).
   * `unknown`: timed out or errored; it may or may not have taken effect, at any time after
   * it was invoked.
   */
  readonly outcome: "ok" | "fail" | "unknown";
  /**
   * cas with outcome `ok`: true if the precondition held and the new value was written; false
   * if it did not (the register held something other than `expected` and was left unchanged).
   */
  readonly applied?: boolean;
  /** When the client sent it. */
  readonly invokedAt: number;
  /** When the client received the answer; ignored for outcome `unknown` (treated as +Infinity). */
  readonly completedAt: number;
}

/** Options of {@link checkLinearizable}. */
export interface LinearizabilityOptions {
  /**
   * Search steps allowed per key before that key is reported as undecided. A step is one look
   * at an operation (a few million take about a second); the search stops at the first look
   * past the budget. Default {@link DEFAULT_MAX_STEPS_PER_KEY}. Shrinking a violation to its
   * excerpt may take up to four times as many more.
   */
  readonly maxStepsPerKey?: number;
  /** The value each register holds before the history starts. Default: absent (`null`) for every key. */
  readonly initial?: (key: string) => RegisterValue;
}

/** Default of {@link LinearizabilityOptions.maxStepsPerKey}. */
export const DEFAULT_MAX_STEPS_PER_KEY = 2_000_000;

/** A key whose history is not linearizable, with a small excerpt that shows it. */
export interface LinearizabilityViolation {
  /** The key. */
  readonly key: string;
  /** The register's value before the history (the excerpt is not linearizable from it). */
  readonly initial: RegisterValue;
  /** How many operations of the key were checked (after leaving out `fail` operations and `unknown` reads). */
  readonly keyOperations: number;
  /**
   * Operations of the key's history (the very objects given), sorted by invocation, that are
   * not linearizable on their own. Operations were deleted only where the deletion keeps a
   * linearizable history linearizable: a read or a rejected compare-and-set at any time, a write
   * only once nothing left observes its value, so this excerpt failing proves the whole history
   * fails. Deletion stops when no single operation can go (or the shrinking budget runs out).
   */
  readonly operations: readonly RegisterOperation[];
  /** The longest valid order of excerpt operations the search found, in the order they took effect. */
  readonly linearized: readonly RegisterOperation[];
  /** The excerpt operation that could not take effect after {@link LinearizabilityViolation.linearized}. */
  readonly blocked: RegisterOperation;
  /** One line saying why no order works. */
  readonly explanation: string;
}

/** What {@link checkLinearizable} found. */
export interface LinearizabilityResult {
  /**
   * `violation` if some key is not linearizable; otherwise `unknown` if some key ran out of
   * search budget; otherwise `linearizable`.
   */
  readonly verdict: "linearizable" | "violation" | "unknown";
  /** Keys checked (keys with at least one operation left after dropping `fail` operations and `unknown` reads). */
  readonly keys: number;
  /** Operations checked (`fail` operations and `unknown` reads left out). */
  readonly operations: number;
  /** Search steps taken over all keys (shrinking the violation's excerpt not counted). */
  readonly steps: number;
  /** On violation: the first key (in sorted order) that is not linearizable, and a small excerpt that shows it. */
  readonly violation?: LinearizabilityViolation;
  /** Keys whose search ran out of budget, sorted. */
  readonly undecided?: readonly string[];
}

/**
 * Checks that a history of register operations is linearizable, key by key.
 *
 * @throws {InvalidConfigError} when an operation is malformed (a missing value, a cas without
 *   `applied`, a completion before the invocation...) or `maxStepsPerKey` is not a positive
 *   integer; every problem is listed with its path (`history[3].completedAt`).
 *
 * @example
 * ```ts
 * import { checkLinearizable, formatViolation } from "ringforge/sim";
 *
 * const result = checkLinearizable([
 *   { client: 1, key: "k", kind: "write", value: "a", outcome: "ok", invokedAt: 0, completedAt: 10 },
 *   { client: 1, key: "k", kind: "write", value: "b", outcome: "ok", invokedAt: 20, completedAt: 30 },
 *   { client: 2, key: "k", kind: "read", result: "a", outcome: "ok", invokedAt: 40, completedAt: 50 },
 * ]);
 * result.verdict; // "violation": the read returned "a" after "b" was written
 * if (result.violation) console.log(formatViolation(result.violation));
 * ```
 */
export function checkLinearizable(
  history: readonly RegisterOperation[],
  options: LinearizabilityOptions = {},
): LinearizabilityResult {
  const maxSteps = options.maxStepsPerKey ?? DEFAULT_MAX_STEPS_PER_KEY;
  const issues = validate(history, maxSteps);
  if (issues.length > 0) throw new InvalidConfigError(issues);

  const byKey = new Map<string, RegisterOperation[]>();
  for (const op of history) {
    if (op.outcome === "fail" || (op.outcome === "unknown" && op.kind === "read")) continue;
    let list = byKey.get(op.key);
    if (!list) byKey.set(op.key, list = []);
    list.push(op);
  }
  const keys = [...byKey.keys()].sort(byString);

  let operations = 0;
  let steps = 0;
  let violation: LinearizabilityViolation | undefined;
  const undecided: string[] = [];
  for (const key of keys) {
    const ops = sortByInvocation(byKey.get(key)!);
    const initial = options.initial ? options.initial(key) : null;
    operations += ops.length;
    const outcome = search(compile(ops, initial), maxSteps, false);
    steps += outcome.steps;
    if (outcome.verdict === "unknown") undecided.push(key);
    else if (outcome.verdict === "violation" && violation === undefined) {
      violation = explain(key, initial, ops.length, shrink(ops, initial, outcome.blocked, maxSteps), maxSteps);
    }
  }
  const verdict = violation ? "violation" : undecided.length > 0 ? "unknown" : "linearizable";
  return {
    verdict,
    keys: keys.length,
    operations,
    steps,
    ...(violation ? { violation } : {}),
    ...(undecided.length > 0 ? { undecided } : {}),
  };
}

/**
 * A violation as a few lines of text: the key, the excerpt's operations one per line (client,
 * `[invoked, completed]`, what it did), and the explanation.
 */
export function formatViolation(violation: LinearizabilityViolation): string {
  const { key, operations, keyOperations, initial } = violation;
  const lines = [
    `key ${JSON.stringify(key)} is not linearizable` +
    ` (${operations.length} of its ${keyOperations} operations show it${initial === null ? "" : `; initial value ${show(initial)}`}):`,
  ];
  const clients = operations.map((op) => `client ${op.client}`);
  const spans = operations.map((op) => `[${op.invokedAt}, ${op.outcome === "unknown" ? "?" : op.completedAt}]`);
  const clientWidth = Math.max(...clients.map((c) => c.length));
  const spanWidth = Math.max(...spans.map((s) => s.length));
  operations.forEach((op, i) => lines.push(`  ${clients[i]!.padEnd(clientWidth)}  ${spans[i]!.padEnd(spanWidth)}  ${describe(op)}`));
  lines.push(violation.explanation);
  return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------
// Validation

function validate(history: readonly RegisterOperation[], maxSteps: number): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (!Number.isSafeInteger(maxSteps) || maxSteps < 1) {
    issues.push({ path: "options.maxStepsPerKey", message: `must be a positive integer, got ${maxSteps}` });
  }
  const isValue = (v: unknown) => v === null || typeof v === "string";
  for (let i = 0; i < history.length && issues.length < 20; i++) {
    const op = history[i]!;
    const at = (field: string, message: string) => issues.push({ path: `history[${i}]${field}`, message });
    if (typeof op !== "object" || op === null) {
      at("", "must be an operation object");
      continue;
    }
    if (typeof op.key !== "string") at(".key", "must be a string");
    if (op.kind !== "read" && op.kind !== "write" && op.kind !== "cas") at(".kind", `must be read, write or cas, got ${op.kind}`);
    if (op.outcome !== "ok" && op.outcome !== "fail" && op.outcome !== "unknown") {
      at(".outcome", `must be ok, fail or unknown, got ${op.outcome}`);
    }
    if (!Number.isFinite(op.invokedAt)) at(".invokedAt", "must be a finite number");
    if (op.outcome !== "unknown" && !(op.completedAt >= op.invokedAt && Number.isFinite(op.completedAt))) {
      at(".completedAt", `must be a finite number not before invokedAt (${op.invokedAt}), got ${op.completedAt}`);
    }
    if (op.outcome === "fail") continue; // left out: what it carried does not matter
    if (op.kind === "write" && !isValue(op.value)) at(".value", "a write needs the value written (null to delete)");
    if (op.kind === "cas") {
      if (!isValue(op.value)) at(".value", "a cas needs its new value (null to delete)");
      if (!isValue(op.expected)) at(".expected", "a cas needs its expected value (null for absent)");
      if (op.outcome === "ok" && typeof op.applied !== "boolean") {
        at(".applied", "a cas with outcome ok must say whether it applied (true or false)");
      }
    }
    if (op.kind === "read" && op.outcome === "ok") {
      const r = op.result;
      if (!(isValue(r) || (Array.isArray(r) && r.every((v) => typeof v === "string")))) {
        at(".result", "a read with outcome ok needs its result: a string, null (absent) or an array of strings (siblings)");
      }
    }
  }
  return issues;
}

// ---------------------------------------------------------------------------------------------
// A key's history, compiled for the search

const READ = 0;
const WRITE = 1;
const CAS_APPLIED = 2;
const CAS_REJECTED = 3;
const CAS_UNKNOWN = 4;
/** The "value" a read with several distinct siblings returned: the register never holds it. */
const SIBLINGS = -1;
/** Register values are interned per key: `null` is 0, each distinct string the next id. */
const ABSENT = 0;

interface Compiled {
  /** How many operations; they are numbered in invocation order. */
  readonly size: number;
  /** READ, WRITE, CAS_APPLIED, CAS_REJECTED or CAS_UNKNOWN per operation. */
  readonly step: Uint8Array;
  /** read: the value id returned; write: the value id written; cas: the expected value id. */
  readonly a: Int32Array;
  /** cas: the new value id. */
  readonly b: Int32Array;
  /** Invocation and return times (+Infinity for an unknown outcome). */
  readonly invoked: Float64Array;
  readonly returned: Float64Array;
  /** The initial value's id. */
  readonly initial: number;
  /** Id to value. */
  readonly values: readonly RegisterValue[];
}

function compile(ops: readonly RegisterOperation[], initial: RegisterValue): Compiled {
  const ids = new Map<string, number>();
  const values: RegisterValue[] = [null];
  const id = (v: RegisterValue | undefined): number => {
    if (v === null || v === undefined) return ABSENT;
    let found = ids.get(v);
    if (found === undefined) {
      ids.set(v, found = values.length);
      values.push(v);
    }
    return found;
  };
  const n = ops.length;
  const step = new Uint8Array(n);
  const a = new Int32Array(n);
  const b = new Int32Array(n);
  const invoked = new Float64Array(n);
  const returned = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const op = ops[i]!;
    invoked[i] = op.invokedAt;
    returned[i] = op.outcome === "unknown" ? Infinity : op.completedAt;
    if (op.kind === "read") {
      step[i] = READ;
      const r = readValue(op);
      a[i] = r === SIBLINGS ? SIBLINGS : id(r);
    } else if (op.kind === "write") {
      step[i] = WRITE;
      a[i] = id(op.value);
    } else {
      step[i] = op.outcome === "unknown" ? CAS_UNKNOWN : op.applied ? CAS_APPLIED : CAS_REJECTED;
      a[i] = id(op.expected);
      b[i] = id(op.value);
    }
  }
  return { size: n, step, a, b, invoked, returned, initial: id(initial), values };
}

/** What a read returned, as one value, or SIBLINGS when it returned several distinct ones. */
function readValue(op: RegisterOperation): RegisterValue | typeof SIBLINGS {
  const r = op.result;
  if (!Array.isArray(r)) return (r ?? null) as RegisterValue;
  const distinct = [...new Set(r as readonly string[])];
  return distinct.length === 0 ? null : distinct.length === 1 ? distinct[0]! : SIBLINGS;
}

// ---------------------------------------------------------------------------------------------
// The search (Wing & Gong 1993; Lowe 2017; Porcupine's checkSingle)

interface SearchOutcome {
  readonly verdict: "linearizable" | "violation" | "unknown";
  readonly steps: number;
  /** The operation whose return blocked the deepest partial linearization (-1 if none did). */
  readonly blocked: number;
  /** With `record`: the deepest partial linearization, and the register's state after it. */
  readonly deepest?: Int32Array;
  readonly deepestState?: number;
}

/** Searches one key's history for a linearization; see {@link KeySearch}. */
function search(h: Compiled, maxSteps: number, record: boolean): SearchOutcome {
  return new KeySearch(h).run(maxSteps, record);
}

/**
 * The depth-first search over one key's history.
 *
 * Operations with an unknown outcome need more than the plain search: any subset of them may
 * have taken effect by any point, and a few dozen make it exponential. They never have to take
 * effect and constrain no other operation (they never returned), so any valid order can be
 * rewritten to place them late and only where needed: drop those that change nothing, and move
 * each later until the next operation needs it. That leaves runs of unknown operations that
 * change the register at every step, each but the last giving the next (a compare-and-set) its
 * expected value, the last giving the definite operation after the run a value it could not
 * take effect with before. The search looks for orders of that shape only:
 *
 * - It is done once every definite operation is placed: the rest never took effect.
 * - At each point it tries the definite operations first. Only when none can go on does it try
 *   an unknown one, and only one that gives a definite candidate the value it lacks, or an
 *   unknown compare-and-set its expected value.
 * - Unknown operations that do the same thing (a *class*: writes of one value, or
 *   compare-and-sets with one expected and one new value) differ only in when they were
 *   invoked, so of a class the search tries only the latest one invoked by then, keeping the
 *   earlier ones, usable at least as early, for later.
 * - A state is pruned when one with the same definite operations placed, the same register
 *   value, and no more *useful* unknown operations placed in any class was reached before:
 *   whatever completes the later state completes the earlier one, which can follow the same
 *   order with an operation of the same class in place of each extra one, or leave it out.
 *   (Every unknown operation invoked before the earliest return still to come is usable from
 *   then on, and every placed one was, so within a class only the count matters.) An unknown
 *   operation is useful while a definite operation not yet placed needs its value, an unknown
 *   compare-and-set expects it, or a rejected compare-and-set is not yet placed; a placed one
 *   that is not useful is as good as unplaced. Lowe's memo is the case of equal states.
 */
class KeySearch {
  readonly #h: Compiled;
  /** Each operation's rank among the definite ones, or among the unknown ones. */
  readonly #rank: Int32Array;
  readonly #definiteCount: number;
  /** The definite operations' calls and returns sorted by time, as a linked list (see link()). */
  readonly #next: Int32Array;
  readonly #prev: Int32Array;
  /** The unknown compare-and-sets whose expected value an unknown operation writes, in invocation order. */
  readonly #chainedCas: Int32Array;
  /** Unknown operations by class: each class's members in invocation order. */
  readonly #classOf: Int32Array;
  readonly #classStart: Int32Array;
  readonly #classMembers: Int32Array;
  /** Classes by the value they write. */
  readonly #valueStart: Int32Array;
  readonly #valueClasses: Int32Array;
  readonly #placedUnknown: Uint8Array;
  readonly #classPlaced: Int32Array;
  /** Per class, how many of its members' bits are set in #usefulPlaced (its first ones'). */
  readonly #classBits: Int32Array;
  /** Per value, how many definite operations not yet placed need it. */
  readonly #needed: Int32Array;
  readonly #expectedByUnknown: Uint8Array;
  #rejectedLeft = 0;
  /** Memo keys: the definite operations placed, and per class the count of useful placed ones. */
  readonly #definite: OperationSet;
  readonly #usefulPlaced: OperationSet;
  #hash = 0;
  readonly #zobrist: Int32Array;
  readonly #memo = new Map<number, Memo>();
  #state: number;
  #steps = 0;
  // The unknown candidates at the current dead end (rebuilt, identically, on coming back to it).
  readonly #candidates: Int32Array;
  readonly #wanted: Int32Array;
  readonly #wantedList: Int32Array;
  #build = 0;

  constructor(h: Compiled) {
    this.#h = h;
    const n = h.size;
    const { step, a, b, returned, invoked } = h;
    const values = h.values.length;
    this.#state = h.initial;
    this.#rank = new Int32Array(n);
    let definiteCount = 0;
    const unknowns: number[] = [];
    for (let i = 0; i < n; i++) {
      if (returned[i] !== Infinity) {
        this.#rank[i] = definiteCount++;
        continue;
      }
      this.#rank[i] = unknowns.length;
      unknowns.push(i); // in invocation order, as ops are
    }
    this.#definiteCount = definiteCount;

    // At equal times calls go first, so operations that merely touch count as concurrent.
    this.#next = new Int32Array(2 * n + 1);
    this.#prev = new Int32Array(2 * n + 1);
    const events: number[] = [];
    for (let i = 0; i < n; i++) if (returned[i] !== Infinity) events.push(1 + i, 1 + n + i);
    const timeOf = (e: number) => (e <= n ? invoked[e - 1]! : returned[e - 1 - n]!);
    events.sort((x, y) => timeOf(x) - timeOf(y) || (x <= n ? 0 : 1) - (y <= n ? 0 : 1) || x - y);
    link(this.#next, this.#prev, events);

    const classIds = new Map<string, number>();
    this.#classOf = new Int32Array(n);
    const classValue: number[] = [];
    for (const u of unknowns) {
      const key = step[u] === WRITE ? `${a[u]}` : `${a[u]}>${b[u]}`;
      let c = classIds.get(key);
      if (c === undefined) {
        classIds.set(key, c = classValue.length);
        classValue.push(this.#writes(u));
      }
      this.#classOf[u] = c;
    }
    const classes = classValue.length;
    [this.#classStart, this.#classMembers] = groups(classes, unknowns, (u) => this.#classOf[u]!);
    [this.#valueStart, this.#valueClasses] = groups(values, [...classValue.keys()], (c) => classValue[c]!);
    this.#chainedCas = Int32Array.from(
      unknowns.filter((u) => step[u] === CAS_UNKNOWN && this.#valueStart[a[u]! + 1]! > this.#valueStart[a[u]!]!),
    );
    this.#placedUnknown = new Uint8Array(n);
    this.#classPlaced = new Int32Array(classes);
    this.#classBits = new Int32Array(classes);

    this.#needed = new Int32Array(values);
    this.#expectedByUnknown = new Uint8Array(values);
    for (let i = 0; i < n; i++) {
      if (step[i] === CAS_UNKNOWN) this.#expectedByUnknown[a[i]!] = 1;
      else if (step[i] === CAS_REJECTED) this.#rejectedLeft++;
      else if (this.#needs(i) >= 0) this.#needed[this.#needs(i)]!++;
    }
    this.#definite = new OperationSet(definiteCount);
    this.#usefulPlaced = new OperationSet(unknowns.length);
    this.#zobrist = new Int32Array(n);
    for (let i = 0; i < n; i++) this.#zobrist[i] = mix32(Math.imul(i + 1, 0x9e3779b9));
    this.#candidates = new Int32Array(classes);
    this.#wanted = new Int32Array(values);
    this.#wantedList = new Int32Array(values);
  }

  run(maxSteps: number, record: boolean): SearchOutcome {
    const h = this.#h;
    const n = h.size;
    const next = this.#next;
    if (this.#definiteCount === 0) return { verdict: "linearizable", steps: 0, blocked: -1 };
    const stackOps = new Int32Array(n);
    const stackStates = new Int32Array(n);
    const stackBlockers = new Int32Array(n);
    const stackCandidates = new Int32Array(n);
    let depth = 0;
    let placedDefinite = 0;
    let bestDepth = -1;
    let blocked = -1;
    let deepest: Int32Array | undefined;
    let deepestState = this.#state;
    // The cursor: a node of the definite list; once that reaches a return (of `blocker`), an
    // index into the unknown candidates.
    let entry = next[0]!;
    let blocker = -1;
    let candidateCount = -1; // -1: still among the definite operations
    let candidate = 0;
    while (this.#steps < maxSteps) {
      let op: number;
      if (candidateCount < 0) {
        this.#steps++;
        if (entry > n) {
          blocker = entry - 1 - n;
          candidateCount = this.#unknownCandidates(blocker);
          candidate = 0;
          continue;
        }
        op = entry - 1;
        if (!this.#legal(op)) {
          entry = next[entry]!;
          continue;
        }
      } else if (candidate < candidateCount) {
        this.#steps++;
        op = this.#candidates[candidate]!;
      } else {
        // Nothing can be placed before `blocker` returns, which it must: undo the last choice.
        if (depth > bestDepth) {
          bestDepth = depth;
          blocked = blocker;
          if (record) {
            deepest = stackOps.slice(0, depth);
            deepestState = this.#state;
          }
        }
        if (depth === 0) {
          return { verdict: "violation", steps: this.#steps, blocked, ...(record ? { deepest: deepest!, deepestState } : {}) };
        }
        depth--;
        const last = stackOps[depth]!;
        this.#state = stackStates[depth]!;
        this.#place(last, true);
        if (h.returned[last] === Infinity) {
          blocker = stackBlockers[depth]!;
          candidateCount = this.#unknownCandidates(blocker);
          candidate = stackCandidates[depth]! + 1;
        } else {
          placedDefinite--;
          unlift(next, this.#prev, last + 1);
          candidateCount = -1;
          entry = next[last + 1]!;
        }
        continue;
      }

      const after = this.#apply(op);
      this.#place(op, false);
      if (remember(this.#memo, this.#hash, after, this.#definite, this.#usefulPlaced)) {
        stackOps[depth] = op;
        stackStates[depth] = this.#state;
        stackBlockers[depth] = blocker;
        stackCandidates[depth] = candidate;
        depth++;
        this.#state = after;
        if (h.returned[op] !== Infinity) {
          lift(next, this.#prev, op + 1);
          if (++placedDefinite === this.#definiteCount) return { verdict: "linearizable", steps: this.#steps, blocked };
        }
        candidateCount = -1;
        entry = next[0]!;
        continue;
      }
      this.#place(op, true);
      if (candidateCount < 0) entry = next[entry]!;
      else candidate++;
    }
    return { verdict: "unknown", steps: this.#steps, blocked };
  }

  /** The value an operation writes if it takes effect (an unknown cas: if it applies). */
  #writes(op: number): number {
    return this.#h.step[op] === WRITE ? this.#h.a[op]! : this.#h.b[op]!;
  }

  /** The value a definite operation needs the register to hold, or -1 (also for SIBLINGS). */
  #needs(op: number): number {
    const s = this.#h.step[op];
    return s === READ || s === CAS_APPLIED ? this.#h.a[op]! : -1;
  }

  #legal(op: number): boolean {
    const s = this.#h.step[op];
    const state = this.#state;
    return s === READ || s === CAS_APPLIED ? state === this.#h.a[op] : s === CAS_REJECTED ? state !== this.#h.a[op] : true;
  }

  /** The register's state after `op` takes effect now. */
  #apply(op: number): number {
    const { step, a, b } = this.#h;
    const s = step[op];
    if (s === WRITE) return a[op]!;
    if (s === CAS_APPLIED || (s === CAS_UNKNOWN && this.#state === a[op])) return b[op]!;
    return this.#state;
  }

  /** Places `op` (the register's state is the caller's), or undoes that. */
  #place(op: number, undo: boolean): void {
    const delta = undo ? -1 : 1;
    if (this.#h.returned[op] === Infinity) {
      this.#placedUnknown[op] = undo ? 0 : 1;
      const c = this.#classOf[op]!;
      this.#classPlaced[c]! += delta;
      this.#refreshClass(c);
      return;
    }
    this.#hash ^= this.#zobrist[op]!;
    if (undo) this.#definite.delete(this.#rank[op]!);
    else this.#definite.add(this.#rank[op]!);
    const v = this.#needs(op);
    if (v >= 0 && (this.#needed[v]! -= delta) === (undo ? 1 : 0)) {
      for (let k = this.#valueStart[v]!; k < this.#valueStart[v + 1]!; k++) this.#refreshClass(this.#valueClasses[k]!);
    }
    if (this.#h.step[op] === CAS_REJECTED && (this.#rejectedLeft -= delta) === (undo ? 1 : 0)) {
      for (let c = 0; c < this.#classPlaced.length; c++) this.#refreshClass(c);
    }
  }

  /** Sets the first k bits of a class's members, k its placed count if it is useful, else 0. */
  #refreshClass(c: number): void {
    const v = this.#writes(this.#classMembers[this.#classStart[c]!]!);
    const useful = this.#rejectedLeft > 0 || this.#needed[v]! > 0 || this.#expectedByUnknown[v] === 1;
    const target = useful ? this.#classPlaced[c]! : 0;
    const first = this.#classStart[c]!;
    while (this.#classBits[c]! < target) this.#usefulPlaced.add(this.#rank[this.#classMembers[first + this.#classBits[c]!++]!]!);
    while (this.#classBits[c]! > target) this.#usefulPlaced.delete(this.#rank[this.#classMembers[first + --this.#classBits[c]!]!]!);
  }

  /**
   * Fills #candidates with the unknown operations worth trying when no definite one can go on
   * before `blocker` returns (see the class comment), and returns how many.
   */
  #unknownCandidates(blocker: number): number {
    const { step, a, returned, invoked } = this.#h;
    const n = this.#h.size;
    const until = returned[blocker]!;
    const build = ++this.#build;
    let wantedCount = 0;
    let anyChange = false;
    const want = (v: number) => {
      if (this.#wanted[v] === build) return;
      this.#wanted[v] = build;
      this.#wantedList[wantedCount++] = v;
    };
    for (let e = this.#next[0]!; e <= n; e = this.#next[e]!) {
      this.#steps++;
      const x = e - 1;
      if (this.#legal(x)) continue;
      if (step[x] === CAS_REJECTED) anyChange = true;
      else if (a[x]! >= 0) want(a[x]!); // a read's value (never SIBLINGS) or an applied cas's expected one
    }
    for (const k of this.#chainedCas) {
      this.#steps++;
      if (invoked[k]! > until) break;
      if (this.#placedUnknown[k] === 0 && a[k] !== this.#state) want(a[k]!);
    }
    let count = 0;
    const consider = (c: number) => {
      this.#steps++;
      // The latest member invoked by then and not yet placed.
      for (let k = this.#classStart[c + 1]! - 1; k >= this.#classStart[c]!; k--) {
        const u = this.#classMembers[k]!;
        if (invoked[u]! > until || this.#placedUnknown[u] === 1) continue;
        const after = this.#apply(u);
        if (after !== this.#state && (anyChange || this.#wanted[after] === build)) this.#candidates[count++] = u;
        return;
      }
    };
    if (anyChange) {
      for (let c = 0; c < this.#classPlaced.length; c++) consider(c);
    } else {
      for (let w = 0; w < wantedCount; w++) {
        const v = this.#wantedList[w]!;
        for (let k = this.#valueStart[v]!; k < this.#valueStart[v + 1]!; k++) consider(this.#valueClasses[k]!);
      }
    }
    return count;
  }
}

/** Groups `items` by `groupOf` (0 to groups - 1), keeping their order: [starts, items]. */
function groups(count: number, items: readonly number[], groupOf: (item: number) => number): [Int32Array, Int32Array] {
  const start = new Int32Array(count + 1);
  for (const item of items) start[groupOf(item) + 1]!++;
  for (let g = 0; g < count; g++) start[g + 1]! += start[g]!;
  const out = new Int32Array(items.length);
  const fill = start.slice(0, count);
  for (const item of items) out[fill[groupOf(item)]!++] = item;
  return [start, out];
}

/**
 * Links `nodes` in order after the head, node 0; -1 ends the list. The definite operations'
 * list: operation i's call is node 1 + i, its return node 1 + n + i.
 */
function link(next: Int32Array, prev: Int32Array, nodes: readonly number[]): void {
  let last = 0;
  for (const node of nodes) {
    next[last] = node;
    prev[node] = last;
    last = node;
  }
  next[last] = -1;
}

/**
 * Unlinks a call and its return (Knuth's dancing links: unlift restores them, in reverse
 * order of lifting).
 */
function lift(next: Int32Array, prev: Int32Array, call: number): void {
  const ret = call + (next.length - 1) / 2;
  next[prev[call]!] = next[call]!;
  prev[next[call]!] = prev[call]!; // a call is always followed, at least by its return
  next[prev[ret]!] = next[ret]!;
  if (next[ret]! !== -1) prev[next[ret]!] = prev[ret]!;
}

function unlift(next: Int32Array, prev: Int32Array, call: number): void {
  const ret = call + (next.length - 1) / 2;
  next[prev[ret]!] = ret;
  if (next[ret]! !== -1) prev[next[ret]!] = ret;
  next[prev[call]!] = call;
  prev[next[call]!] = call;
}

/**
 * A set of operations, as a bitset that knows its first word that is not all ones (`lo`) and
 * one past its last word that is not zero (`hi`). Operations are numbered in invocation order
 * and the search places them roughly in that order, so a memo entry keeps only the words from
 * `lo` to `hi`: a few words however long the history, where a full copy would take hundreds
 * of bytes per entry.
 */
class OperationSet {
  readonly words: Uint32Array;
  lo = 0;
  hi = 0;

  constructor(size: number) {
    this.words = new Uint32Array((size + 31) >>> 5);
  }

  add(i: number): void {
    const w = i >>> 5;
    this.words[w] = this.words[w]! | (1 << (i & 31));
    if (w >= this.hi) this.hi = w + 1;
    while (this.lo < this.words.length && this.words[this.lo] === 0xffff_ffff) this.lo++;
  }

  delete(i: number): void {
    const w = i >>> 5;
    this.words[w] = this.words[w]! & ~(1 << (i & 31));
    if (w < this.lo) this.lo = w;
    while (this.hi > 0 && this.words[this.hi - 1] === 0) this.hi--;
  }

  /** One past the last word a memo entry keeps. */
  get end(): number {
    return this.hi > this.lo ? this.hi : this.lo;
  }

  /** The words a memo entry keeps (all words before `lo` are all ones, all after them zero). */
  window(): Uint32Array {
    return this.words.slice(this.lo, this.end);
  }

  /** Whether this set equals the one a memo entry kept. */
  equals(lo: number, words: Uint32Array): boolean {
    if (lo !== this.lo || words.length !== this.end - lo) return false;
    for (let w = 0; w < words.length; w++) if (words[w] !== this.words[lo + w]) return false;
    return true;
  }

  /** Whether the set a memo entry kept is a subset of this one. */
  includes(lo: number, words: Uint32Array): boolean {
    if (this.lo < lo) return false; // a word of ours before `lo` is not all ones
    for (let w = 0; w < words.length; w++) if ((words[w]! & ~this.words[lo + w]!) !== 0) return false;
    return true;
  }
}

/** A state reached: definite and unknown operations placed, register value. Same hash: chained. */
interface Memo {
  readonly state: number;
  readonly definiteLo: number;
  readonly definite: Uint32Array;
  readonly unknownLo: number;
  readonly unknown: Uint32Array;
  readonly next: Memo | undefined;
}

/** Remembers a state; false if it, or one that dominates it, was reached before. */
function remember(memo: Map<number, Memo>, hash: number, state: number, definite: OperationSet, unknown: OperationSet): boolean {
  // Small-integer keys keep the Map on its fast path.
  const key = (hash ^ mix32(state + 0x51ed27)) & 0x3fff_ffff;
  const first = memo.get(key);
  for (let m = first; m !== undefined; m = m.next) {
    if (m.state === state && definite.equals(m.definiteLo, m.definite) && unknown.includes(m.unknownLo, m.unknown)) return false;
  }
  memo.set(key, {
    state,
    definiteLo: definite.lo,
    definite: definite.window(),
    unknownLo: unknown.lo,
    unknown: unknown.window(),
    next: first,
  });
  return true;
}

/** murmur3's 32-bit finalizer: integer operations only, so every runtime agrees. */
function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85eb_ca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2_ae35);
  return (x ^ (x >>> 16)) | 0;
}

// ---------------------------------------------------------------------------------------------
// Shrinking a violation to a small excerpt

/** How much the shrinking may spend, in multiples of the per-key budget. */
const SHRINK_BUDGETS = 4;

/**
 * Deletes operations from a non-linearizable key history while it stays non-linearizable,
 * making only deletions that preserve linearizability (so the excerpt's failure implies the
 * history's). First a window around the operation the search could not place, doubled until
 * it fails; then halving chunks, as in delta debugging; then single operations until none can go.
 */
function shrink(
  ops: readonly RegisterOperation[],
  initial: RegisterValue,
  blocked: number,
  maxSteps: number,
): RegisterOperation[] {
  const facts = new DeletionFacts(compile(ops, initial));
  let kept: Uint8Array = new Uint8Array(ops.length).fill(1);
  let budget = SHRINK_BUDGETS * maxSteps;
  const fails = (candidate: Uint8Array): boolean => {
    if (budget <= 0) return false;
    const outcome = search(compile(ops.filter((_, i) => candidate[i] === 1), initial), Math.min(maxSteps, budget), false);
    budget -= outcome.steps;
    return outcome.verdict === "violation";
  };
  const attempt = (indices: readonly number[]): boolean => {
    const trial = facts.withoutSafely(kept, indices);
    if (trial === undefined || !fails(trial)) return false;
    kept = trial;
    return true;
  };

  // A window of operations around the blocked one (by invocation order), doubled until the
  // operations outside it can go.
  if (blocked >= 0) {
    for (let w = 4; w < ops.length; w *= 2) {
      const outside: number[] = [];
      for (let i = 0; i < ops.length; i++) if (i < blocked - w || i > blocked + w) outside.push(i);
      if (outside.length === 0 || attempt(outside)) break;
    }
  }
  // Halving chunks of what is left, then single operations until nothing more can go.
  const keptIndices = () => [...kept.keys()].filter((i) => kept[i] === 1);
  for (let size = keptIndices().length >>> 1; size > 1 && budget > 0; size >>>= 1) {
    const current = keptIndices();
    for (let start = 0; start < current.length; start += size) attempt(current.slice(start, start + size));
  }
  for (let progress = true; progress && budget > 0;) {
    progress = false;
    for (const i of keptIndices()) if (kept[i] === 1 && attempt([i])) progress = true;
  }
  return ops.filter((_, i) => kept[i] === 1);
}

/**
 * Which deletions keep a linearizable history linearizable. Take a valid order of the history
 * and delete one operation from it:
 *
 * - A read, or a compare-and-set that reported its precondition failed, changed nothing: the
 *   rest of the order stays valid. Always deletable.
 * - A write (or applied or unknown compare-and-set) that wrote v: the operations after it, up
 *   to the next write, now see the value before it, u. That is harmless if none of them needed
 *   v (a read that returned v, a compare-and-set that expected v) and no rejected
 *   compare-and-set among them expected u. (The last write of v that is left also stays while
 *   anything left observes v, so that the excerpt keeps the write a read saw, even where
 *   the history would fail without it.) An operation cannot be among them if it completed
 *   before the write began, or if a definite write happened wholly between the two in real
 *   time; a rejected compare-and-set cannot mind if no remaining write writes its expected
 *   value and it is not the initial value either. An unknown compare-and-set among them that
 *   would now apply moves to the end, where nothing observes it.
 */
class DeletionFacts {
  readonly #h: Compiled;
  /** Operations that need a value, grouped by it. */
  readonly #observersStart: Int32Array;
  readonly #observers: Int32Array;
  /** The rejected compare-and-sets. */
  readonly #rejected: Int32Array;

  constructor(h: Compiled) {
    this.#h = h;
    const all = [...Array(h.size).keys()];
    [this.#observersStart, this.#observers] = groups(h.values.length, all.filter((i) => this.#needs(i) >= 0), (i) => this.#needs(i));
    this.#rejected = Int32Array.from(all.filter((i) => h.step[i] === CAS_REJECTED));
  }

  /** Whether operation i writes a value (its kind can change the register). */
  #writes(i: number): boolean {
    const s = this.#h.step[i];
    return s === WRITE || s === CAS_APPLIED || s === CAS_UNKNOWN;
  }

  /** The value operation i writes. */
  #written(i: number): number {
    return this.#h.step[i] === WRITE ? this.#h.a[i]! : this.#h.b[i]!;
  }

  /** The value operation i needs the register to hold, or -2 if none. */
  #needs(i: number): number {
    const s = this.#h.step[i];
    return s === READ || s === CAS_APPLIED || s === CAS_UNKNOWN ? this.#h.a[i]! : -2;
  }

  /**
   * `kept` without the operations of `indices` that can go safely (reads and rejected
   * compare-and-sets first, since that frees writes), or undefined if none can.
   */
  withoutSafely(kept: Uint8Array, indices: readonly number[]): Uint8Array | undefined {
    const h = this.#h;
    const trial = kept.slice();
    const needed = new Int32Array(h.values.length);
    const writers = new Int32Array(h.values.length);
    for (let i = 0; i < h.size; i++) {
      if (trial[i] !== 1) continue;
      const v = this.#needs(i);
      if (v >= 0) needed[v]!++;
      if (this.#writes(i)) writers[this.#written(i)]!++;
    }
    let removed = 0;
    for (const i of indices) {
      if (trial[i] !== 1 || this.#writes(i)) continue;
      trial[i] = 0;
      removed++;
      const v = this.#needs(i);
      if (v >= 0) needed[v]!--;
    }
    // The definite writes that stay whatever this call deletes, to show an operation cannot
    // come right after a deleted write: the earliest return among those invoked after time t.
    const candidate = new Uint8Array(h.size);
    for (const i of indices) candidate[i] = 1;
    const witnessInvoked: number[] = [];
    const witnessReturned: number[] = [];
    for (let q = 0; q < h.size; q++) {
      const definite = (h.step[q] === WRITE && h.returned[q]! !== Infinity) || h.step[q] === CAS_APPLIED;
      if (definite && trial[q] === 1 && candidate[q] === 0) {
        witnessInvoked.push(h.invoked[q]!); // ops are in invocation order
        witnessReturned.push(h.returned[q]!);
      }
    }
    for (let k = witnessReturned.length - 2; k >= 0; k--) witnessReturned[k] = Math.min(witnessReturned[k]!, witnessReturned[k + 1]!);
    const earliestWriteAfter = (t: number): number => {
      const k = upperBound(witnessInvoked, t);
      return k < witnessReturned.length ? witnessReturned[k]! : Infinity;
    };
    for (let pass = 0; pass < 2; pass++) {
      for (const i of indices) {
        if (trial[i] !== 1 || !this.#writes(i) || !this.#canDeleteWrite(trial, i, needed, writers, earliestWriteAfter)) continue;
        trial[i] = 0;
        removed++;
        const need = this.#needs(i);
        if (need >= 0) needed[need]!--;
        writers[this.#written(i)]!--;
      }
    }
    return removed > 0 ? trial : undefined;
  }

  #canDeleteWrite(
    trial: Uint8Array,
    o: number,
    needed: Int32Array,
    writers: Int32Array,
    earliestWriteAfter: (t: number) => number,
  ): boolean {
    const h = this.#h;
    const v = this.#written(o);
    const observed = needed[v]! - (this.#needs(o) === v ? 1 : 0) > 0;
    // The last write of a value stays while anything observes it, so that an excerpt never
    // shows a value as written by no one when the history has a write of it.
    if (observed && v !== h.initial && writers[v]! <= 1) return false;
    const separator = earliestWriteAfter(h.returned[o]!); // Infinity for an unknown o
    /** Whether c cannot come between o and the next write in any valid order. */
    const apart = (c: number): boolean => h.returned[c]! < h.invoked[o]! || separator < h.invoked[c]!;
    if (observed) {
      for (let k = this.#observersStart[v]!; k < this.#observersStart[v + 1]!; k++) {
        const c = this.#observers[k]!;
        if (c !== o && trial[c] === 1 && !apart(c)) return false;
      }
    }
    for (const c of this.#rejected) {
      // It saw something other than its expected value e; without o it might see e.
      const e = h.a[c]!;
      const couldHold = e === h.initial || writers[e]! - (v === e ? 1 : 0) > 0;
      if (trial[c] === 1 && couldHold && !apart(c)) return false;
    }
    return true;
  }
}

// ---------------------------------------------------------------------------------------------
// Explaining the excerpt

/** How many of the operations placed before the blocked one an explanation names. */
const SHOWN_BEFORE_BLOCKED = 4;

function explain(
  key: string,
  initial: RegisterValue,
  keyOperations: number,
  excerpt: RegisterOperation[],
  maxSteps: number,
): LinearizabilityViolation {
  // The excerpt failed within maxSteps when it was found (the search is deterministic), so
  // this search reaches the same verdict, now recording its deepest partial linearization.
  const h = compile(excerpt, initial);
  const outcome = search(h, maxSteps, true);
  const blocked = excerpt[outcome.blocked]!;
  const linearized = [...(outcome.deepest ?? [])].map((i) => excerpt[i]!);
  const held = show(h.values[outcome.deepestState ?? h.initial]!);
  const who = `${describe(blocked)} by client ${blocked.client}`;
  const needs = blocked.kind === "read" ? readValue(blocked) : blocked.expected ?? null;
  const written = (value: RegisterValue) => value === initial || excerpt.some((op) => op.kind !== "read" && op.value === value);
  let explanation: string;
  if (needs === SIBLINGS) {
    explanation = `${who} returned several values; a register holds one, so no order can place it.`;
  } else if (!(blocked.kind === "cas" && blocked.outcome === "ok" && !blocked.applied) && !written(needs)) {
    explanation = `${who} ${blocked.kind === "read" ? "returned" : "expected"} ${show(needs)}, ` +
      `which is not the initial value and which no write that may have taken effect wrote.`;
  } else {
    // The last few operations placed say what the register holds; a long excerpt (a shrink
    // cut short by its budget) would make the line unreadable.
    const shown = linearized.slice(-SHOWN_BEFORE_BLOCKED).map((op) => `${describe(op)} by client ${op.client}`);
    if (linearized.length > SHOWN_BEFORE_BLOCKED) shown.unshift(`${linearized.length - SHOWN_BEFORE_BLOCKED} earlier operations`);
    const after = linearized.length === 0 ? `from the initial value` : `after ${shown.join(", ")}`;
    const why = blocked.kind === "read"
      ? `the register holds ${held}`
      : blocked.applied === false
      ? `the register holds ${held}, the value it expected, yet it reported failure`
      : `the register holds ${held}, not the expected ${show(needs)}`;
    explanation = `${who} cannot take effect ${after}: ${why}; no order that respects real time gets further.`;
  }
  return { key, initial, keyOperations, operations: excerpt, linearized, blocked, explanation };
}

function describe(op: RegisterOperation): string {
  const unknown = op.outcome === "unknown" ? " (outcome unknown)" : "";
  if (op.kind === "read") {
    const r = op.result;
    return Array.isArray(r)
      ? `read -> [${(r as readonly string[]).map(show).join(", ")}]`
      : `read -> ${show((r ?? null) as RegisterValue)}`;
  }
  if (op.kind === "write") return op.value === null ? `delete${unknown}` : `write ${show(op.value ?? null)}${unknown}`;
  const result = op.outcome === "unknown" ? unknown : op.applied ? " (applied)" : " (rejected)";
  return `cas ${show(op.expected ?? null)} -> ${show(op.value ?? null)}${result}`;
}

function show(value: RegisterValue): string {
  return value === null ? "absent" : JSON.stringify(value);
}

function sortByInvocation(ops: readonly RegisterOperation[]): RegisterOperation[] {
  return ops.map((op, i) => ({ op, i })).sort((x, y) => x.op.invokedAt - y.op.invokedAt || x.i - y.i).map((x) => x.op);
}

function byString(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
