/**
 * The linearizability checker for register histories (sim/linearizability.ts): the textbook
 * histories, unknown and failed outcomes, siblings, several keys, a long history from a
 * simulated atomic register (and the same with one read corrupted, which must come back as a
 * small excerpt), the step budget, and agreement with a brute-force search on small histories.
 */
import { describe, it } from "@std/testing/bdd";
import { assert, assertEquals, assertInstanceOf, assertLessOrEqual, assertStringIncludes, assertThrows } from "@std/assert";
import fc from "fast-check";
import {
  checkLinearizable,
  formatViolation,
  type LinearizabilityResult,
  type RegisterOperation,
  type RegisterValue,
} from "../sim/linearizability.ts";
import { SeededRandom } from "../core/runtime/seeded-random.ts";
import { InvalidConfigError } from "../core/errors.ts";

type Span = readonly [invokedAt: number, completedAt: number];
const at = ([invokedAt, completedAt]: Span) => ({ invokedAt, completedAt });

const write = (client: number, value: RegisterValue, span: Span, key = "k"): RegisterOperation => ({
  client,
  key,
  kind: "write",
  value,
  outcome: "ok",
  ...at(span),
});
const read = (client: number, result: RegisterValue | string[], span: Span, key = "k"): RegisterOperation => ({
  client,
  key,
  kind: "read",
  result,
  outcome: "ok",
  ...at(span),
});
const cas = (client: number, expected: RegisterValue, value: RegisterValue, applied: boolean, span: Span): RegisterOperation => ({
  client,
  key: "k",
  kind: "cas",
  expected,
  value,
  applied,
  outcome: "ok",
  ...at(span),
});
const outcome = (op: RegisterOperation, value: "fail" | "unknown"): RegisterOperation => ({ ...op, outcome: value });

const describeRead = (op: RegisterOperation) => `read -> ${JSON.stringify(op.result)}`;

function violationOf(result: LinearizabilityResult) {
  assertEquals(result.verdict, "violation");
  assert(result.violation, "a violation carries its excerpt");
  return result.violation;
}

describe("checkLinearizable: textbook histories", () => {
  it("a sequential history that a register explains is linearizable", () => {
    const result = checkLinearizable([
      write(1, "a", [0, 1]),
      read(2, "a", [2, 3]),
      cas(1, "a", "b", true, [4, 5]),
      cas(2, "a", "c", false, [6, 7]),
      read(2, "b", [8, 9]),
      write(1, null, [10, 11]),
      read(2, null, [12, 13]),
      cas(1, null, "d", true, [14, 15]),
      read(2, ["d"], [16, 17]),
    ]);
    assertEquals(result, { verdict: "linearizable", keys: 1, operations: 9, steps: result.steps });
  });

  it("a read concurrent with a write may see the old value or the new one", () => {
    for (const seen of [null, "a"]) {
      assertEquals(checkLinearizable([write(1, "a", [0, 10]), read(2, seen, [2, 5])]).verdict, "linearizable");
    }
    // Two overlapping reads may even disagree, as long as the new value is not seen first.
    assertEquals(checkLinearizable([write(1, "a", [0, 10]), read(2, null, [2, 5]), read(3, "a", [3, 6])]).verdict, "linearizable");
  });

  it("a read that sees the new value, then a later read that sees the old one, is a violation", () => {
    const history = [write(1, "a", [0, 100]), read(2, "a", [10, 20]), read(3, null, [30, 40])];
    const violation = violationOf(checkLinearizable(history));
    assertEquals(violation.operations, history, "no operation of three can go");
    assertEquals(violation.blocked, history[2]);
    assertStringIncludes(
      violation.explanation,
      `read -> absent by client 3 cannot take effect after write "a" by client 1, read -> "a" by client 2`,
    );
  });

  it("a read after a completed write that returns the value before it is a violation", () => {
    const history = [write(1, "a", [0, 10]), write(1, "b", [20, 30]), read(2, "a", [40, 50])];
    const violation = violationOf(checkLinearizable(history));
    assertEquals(violation.operations, history);
    assertEquals(violation.linearized, history.slice(0, 2));
    assertStringIncludes(violation.explanation, `the register holds "b"`);
  });

  it("two compare-and-sets from the same expected value cannot both succeed, concurrent or not", () => {
    for (const second of [[12, 22], [30, 40]] as const) {
      const history = [write(1, "a", [0, 1]), cas(2, "a", "b", true, [10, 20]), cas(3, "a", "c", true, second)];
      const violation = violationOf(checkLinearizable(history));
      assertEquals(violation.operations, history);
      assertStringIncludes(violation.explanation, `not the expected "a"`);
    }
  });

  it("a compare-and-set that reports failure while the register held its expected value is a violation", () => {
    const violation = violationOf(checkLinearizable([write(1, "a", [0, 1]), cas(2, "a", "b", false, [2, 3])]));
    assertStringIncludes(violation.explanation, `yet it reported failure`);
  });
});

describe("checkLinearizable: outcomes", () => {
  it("a write with an unknown outcome may take effect long after it was sent, or never", () => {
    const late = outcome(write(2, "b", [5, 6]), "unknown");
    assertEquals(
      checkLinearizable([write(1, "a", [0, 1]), late, read(3, "a", [50, 51]), read(3, "b", [100, 101])]).verdict,
      "linearizable",
    );
    assertEquals(
      checkLinearizable([write(1, "a", [0, 1]), late, read(3, "a", [50, 51]), read(3, "a", [100, 101])]).verdict,
      "linearizable",
    );
  });

  it("a value seen before the unknown write that wrote it was sent is a violation", () => {
    const unknown = outcome(write(2, "b", [5, 6]), "unknown");
    const early = read(3, "b", [2, 3]);
    const violation = violationOf(checkLinearizable([write(1, "a", [0, 1]), early, unknown, read(3, "b", [100, 101])]));
    assertEquals(violation.operations, [early, unknown], "the write that a remaining read observed stays in the excerpt");
    assertEquals(violation.blocked, early);
    const text = formatViolation(violation);
    assertStringIncludes(text, `key "k" is not linearizable (2 of its 4 operations show it):`);
    assertStringIncludes(text, `client 2  [5, ?]  write "b" (outcome unknown)`);
  });

  it("a compare-and-set with an unknown outcome applies if its precondition holds, and is a no-op otherwise", () => {
    const maybe = { ...outcome(cas(2, "a", "b", true, [5, 6]), "unknown"), applied: undefined };
    assertEquals(checkLinearizable([write(1, "a", [0, 1]), maybe, read(3, "b", [50, 51])]).verdict, "linearizable");
    assertEquals(checkLinearizable([write(1, "x", [0, 1]), maybe, read(3, "x", [50, 51])]).verdict, "linearizable");
    assertEquals(checkLinearizable([write(1, "x", [0, 1]), maybe, read(3, "b", [50, 51])]).verdict, "violation");
  });

  it("failed operations and reads with unknown outcomes are left out", () => {
    const history = [
      write(1, "a", [0, 1]),
      outcome(write(2, "b", [2, 3]), "fail"),
      outcome(read(3, "zzz", [4, 5]), "fail"),
      outcome(read(3, "yyy", [4, 5]), "unknown"),
      read(3, "a", [6, 7]),
    ];
    assertEquals(checkLinearizable(history), { verdict: "linearizable", keys: 1, operations: 2, steps: checkLinearizable(history).steps });
    assertEquals(checkLinearizable([write(1, "a", [0, 1]), write(2, "b", [2, 3]), read(3, "a", [6, 7])]).verdict, "violation");
  });

  it("a read that returned two siblings is never linearizable, and is its own excerpt", () => {
    const siblings = read(3, ["a", "b"], [4, 5]);
    const violation = violationOf(checkLinearizable([write(1, "a", [0, 10]), write(2, "b", [0, 10]), siblings, read(1, "b", [20, 21])]));
    assertEquals(violation.operations, [siblings]);
    assertStringIncludes(violation.explanation, "returned several values");
    assertEquals(
      checkLinearizable([write(1, "a", [0, 1]), read(3, ["a", "a"], [4, 5])]).verdict,
      "linearizable",
      "identical siblings count once",
    );
  });

  it("a read of a value nothing wrote is explained as such; the initial value is the caller's to set", () => {
    const violation = violationOf(checkLinearizable([read(1, "x", [0, 1])]));
    assertStringIncludes(violation.explanation, `returned "x", which is not the initial value and which no write`);
    assertEquals(checkLinearizable([read(1, "x", [0, 1])], { initial: () => "x" }).verdict, "linearizable");
    const fromX = violationOf(checkLinearizable([read(1, null, [0, 1])], { initial: () => "x" }));
    assertEquals(fromX.initial, "x");
  });
});

describe("checkLinearizable: keys, scale and budget", () => {
  it("checks each key alone and reports the one that violates", () => {
    const history: RegisterOperation[] = [
      write(1, "a", [0, 10], "left"),
      write(2, "a", [0, 10], "right"),
      read(3, "a", [20, 30], "left"),
      write(1, "b", [40, 50], "right"),
      read(3, "a", [60, 70], "right"),
      read(3, "a", [60, 70], "left"),
    ];
    const result = checkLinearizable(history);
    assertEquals([result.keys, result.operations], [2, 6]);
    assertEquals(violationOf(result).key, "right");
    assertEquals(violationOf(result).operations, [history[1]!, history[3]!, history[4]!]);
  });

  it("a 3,000-operation history of an atomic register with 5 clients is linearizable, in a few steps per operation", () => {
    const history = atomicRegisterHistory(42, 3_000, 5);
    const result = checkLinearizable(history);
    assertEquals(result.verdict, "linearizable");
    assert(result.operations > 2_800, `${result.operations} operations checked`);
    // The memo keeps the search near linear. Timing it is a benchmark's business; a test's is
    // to notice the search going exponential.
    assertLessOrEqual(result.steps, 40 * result.operations, `${result.steps} steps`);
  });

  it("many unknown outcomes (15% of 3,000 reads, writes and deletes) do not make the search exponential", () => {
    const history = atomicRegisterHistory(7, 3_000, 5, { reads: 45, writes: 55, fail: 3, unknown: 15 });
    const result = checkLinearizable(history);
    assertEquals(result.verdict, "linearizable");
    assertLessOrEqual(result.steps, 40 * result.operations, `${result.steps} steps`);
    const { index, stale } = staleReadFor(history);
    const corrupted = history.map((op, i) => (i === index ? { ...op, result: stale } : op));
    assertEquals(checkLinearizable(corrupted).verdict, "violation");
  });

  it("the same history with one stale read is a violation, shown by a small excerpt that contains the read", () => {
    const history = atomicRegisterHistory(42, 3_000, 5);
    const { index, stale } = staleReadFor(history);
    const corrupted = { ...history[index]!, result: stale };
    const withStaleRead = history.map((op, i) => (i === index ? corrupted : op));
    const violation = violationOf(checkLinearizable(withStaleRead));
    assertLessOrEqual(violation.operations.length, 8, formatViolation(violation));
    assert(violation.operations.includes(corrupted), formatViolation(violation));
    assert(violation.operations.every((op) => withStaleRead.includes(op)), "the excerpt is made of the history's own operations");
    assertEquals(checkLinearizable(violation.operations).verdict, "violation", "the excerpt fails on its own");
    assertStringIncludes(violation.explanation, `${describeRead(corrupted)} by client ${corrupted.client} cannot take effect after`);
  });

  it("a key whose search runs out of budget is undecided, not a verdict", () => {
    const history = atomicRegisterHistory(7, 500, 5);
    const result = checkLinearizable(history, { maxStepsPerKey: 100 });
    assertEquals([result.verdict, result.undecided], ["unknown", ["k"]]);
    assert(result.steps >= 100 && result.steps < 200, `${result.steps} steps`);
    assertEquals(checkLinearizable(history).verdict, "linearizable");
  });

  it("gives the same answer every time", () => {
    const history = atomicRegisterHistory(3, 400, 4);
    const { index, stale } = staleReadFor(history);
    const corrupted = history.map((op, i) => (i === index ? { ...op, result: stale } : op));
    assertEquals(checkLinearizable(corrupted), checkLinearizable(corrupted));
  });

  it("rejects malformed operations and budgets, naming each problem", () => {
    const error = assertThrows(
      () =>
        checkLinearizable([
          { ...write(1, "a", [10, 5]) },
          { client: 1, key: "k", kind: "cas", expected: "a", value: "b", outcome: "ok", invokedAt: 0, completedAt: 1 },
          { client: 1, key: "k", kind: "read", outcome: "ok", invokedAt: 0, completedAt: 1 },
        ]),
      InvalidConfigError,
    );
    assertInstanceOf(error, InvalidConfigError);
    assertEquals(error.issues.map((i) => i.path), ["history[0].completedAt", "history[1].applied", "history[2].result"]);
    assertThrows(() => checkLinearizable([], { maxStepsPerKey: 0 }), InvalidConfigError);
  });
});

describe("checkLinearizable against a brute-force search", () => {
  it("agrees on small random histories, and every excerpt fails on its own", () => {
    const value = fc.constantFrom<RegisterValue>("a", "b", null);
    const operation = fc.record({
      client: fc.nat({ max: 3 }),
      kind: fc.constantFrom<"read" | "write" | "cas">("read", "write", "cas"),
      value,
      expected: value,
      result: fc.oneof(value, fc.constant(["a", "b"])),
      applied: fc.boolean(),
      outcome: fc.constantFrom<"ok" | "fail" | "unknown">("ok", "ok", "ok", "ok", "fail", "unknown"),
      invokedAt: fc.nat({ max: 12 }),
      duration: fc.nat({ max: 6 }),
    }).map(({ duration, kind, value, expected, result, applied, ...rest }): RegisterOperation => ({
      ...rest,
      key: "k",
      kind,
      completedAt: rest.invokedAt + duration,
      ...(kind === "read" ? { result } : kind === "write" ? { value } : { value, expected, applied }),
    }));
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 6 }), value, (history, initial) => {
        const result = checkLinearizable(history, { initial: () => initial });
        assertEquals(result.verdict, bruteForce(history, initial) ? "linearizable" : "violation");
        if (result.violation) {
          assertEquals(bruteForce(result.violation.operations, initial), false);
          assert(result.violation.operations.every((op) => history.includes(op)));
        }
      }),
      { seed: 1, numRuns: 600 },
    );
  });
});

// ---------------------------------------------------------------------------------------------

/** The mix of a generated history, in percent. */
interface Mix {
  /** Of all operations: reads, then writes (one in eight a delete); the rest are cas. */
  readonly reads: number;
  readonly writes: number;
  /** Of all operations: failed ones (no effect), and ones with an unknown outcome (half took effect). */
  readonly fail: number;
  readonly unknown: number;
}

const CAS_MIX: Mix = { reads: 45, writes: 35, fail: 3, unknown: 2 };

/**
 * A history of one key from a simulated atomic register: each client runs one operation at a
 * time, each takes effect at a random instant within its interval, and the register applies
 * them in that order. Written values are unique; a cas expects the current value seven times
 * in ten, else a recent one.
 */
function atomicRegisterHistory(seed: number, operations: number, clients: number, mix: Mix = CAS_MIX): RegisterOperation[] {
  const random = new SeededRandom(seed);
  const free = Array.from({ length: clients }, () => random.int(10));
  const drafts: { op: RegisterOperation; effectAt: number; effective: boolean }[] = [];
  for (let n = 0; n < operations; n++) {
    let client = 0;
    for (let c = 1; c < clients; c++) if (free[c]! < free[client]!) client = c;
    const invokedAt = free[client]! + random.int(5);
    const completedAt = invokedAt + 1 + random.int(40);
    const roll = random.int(100);
    const kind = roll < mix.reads ? "read" : roll < mix.reads + mix.writes ? "write" : "cas";
    const fate = random.int(100);
    const outcome = fate < mix.fail ? "fail" : fate < mix.fail + mix.unknown ? "unknown" : "ok";
    const value = kind === "write" && random.int(8) === 0 ? null : `v${n}`;
    drafts.push({
      op: { client, key: "k", kind, value, outcome, invokedAt, completedAt },
      effectAt: invokedAt + random.int(completedAt - invokedAt + 1),
      effective: outcome === "ok" || (outcome === "unknown" && random.int(2) === 0),
    });
    free[client] = completedAt;
  }
  const order = drafts.map((_, i) => i).sort((x, y) => drafts[x]!.effectAt - drafts[y]!.effectAt || x - y);
  let register: RegisterValue = null;
  const recent: RegisterValue[] = [null];
  for (const i of order) {
    const draft = drafts[i]!;
    const { op } = draft;
    if (op.kind === "read") {
      draft.op = { ...op, value: undefined, result: register };
    } else if (op.kind === "cas") {
      const expected = random.int(10) < 7 ? register : recent[random.int(recent.length)]!;
      const applied = draft.effective && register === expected;
      draft.op = { ...op, expected, applied };
      if (applied) register = op.value!;
    } else if (draft.effective) {
      register = op.value!;
    }
    if (draft.effective && op.kind !== "read") recent.push(register);
  }
  return drafts.map((d) => {
    const { value: _value, ...rest } = d.op;
    return d.op.kind === "read" ? rest : d.op;
  });
}

/**
 * A read in the second half of the history and a value it could not have returned: one written
 * by a definite write w, where another definite write w2 began after w completed and completed
 * before the read began. Values are unique, so the read would have to come between w and w2.
 */
function staleReadFor(history: readonly RegisterOperation[]): { index: number; stale: string } {
  const definite = history.filter((op) =>
    op.outcome === "ok" && (op.kind === "write" || (op.kind === "cas" && op.applied)) && typeof op.value === "string"
  );
  for (let index = history.length >> 1; index < history.length; index++) {
    const r = history[index]!;
    if (r.kind !== "read" || r.outcome !== "ok") continue;
    const before = definite.filter((w2) => w2.completedAt < r.invokedAt).sort((x, y) => y.completedAt - x.completedAt)[0];
    const w = before && definite.filter((w1) => w1.completedAt < before.invokedAt && w1.value !== before.value && w1.value !== r.result)
      .sort((x, y) => y.completedAt - x.completedAt)[0];
    if (w) return { index, stale: w.value! };
  }
  throw new Error("no read to corrupt");
}

/**
 * Linearizability by enumeration: every order of the operations that respects real time, with
 * each unknown write or compare-and-set either in it or left out (never took effect).
 */
function bruteForce(history: readonly RegisterOperation[], initial: RegisterValue): boolean {
  const ops = history.filter((op) => op.outcome === "ok" || (op.outcome === "unknown" && op.kind !== "read"));
  const end = (op: RegisterOperation) => (op.outcome === "unknown" ? Infinity : op.completedAt);
  const used = ops.map(() => false);
  const extend = (state: RegisterValue): boolean => {
    if (ops.every((op, i) => used[i] || op.outcome === "unknown")) return true; // the unknown rest never took effect
    for (let i = 0; i < ops.length; i++) {
      if (used[i]) continue;
      const op = ops[i]!;
      // Every operation that completed before this one began must be placed already.
      if (ops.some((other, j) => !used[j] && j !== i && end(other) < op.invokedAt)) continue;
      let next = state;
      if (op.kind === "read") {
        const r = op.result;
        const distinct = Array.isArray(r) ? [...new Set(r)] : [r ?? null];
        if (distinct.length > 1 || (distinct[0] ?? null) !== state) continue;
      } else if (op.kind === "write") {
        next = op.value ?? null;
      } else if (op.outcome === "unknown") {
        if (state === (op.expected ?? null)) next = op.value ?? null;
      } else if (op.applied) {
        if (state !== (op.expected ?? null)) continue;
        next = op.value ?? null;
      } else if (state === (op.expected ?? null)) {
        continue;
      }
      used[i] = true;
      const ok = extend(next);
      used[i] = false;
      if (ok) return true;
    }
    return false;
  };
  return extend(initial);
}
