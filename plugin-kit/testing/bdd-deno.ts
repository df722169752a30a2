/**
 * The test runner the suites use under `deno test`: `describe`/`it` and the four hooks over
 * `Deno.test`, written here because the real `@std/testing/bdd` lives on JSR, which a project
 * may not reach (this repository cannot). bdd.ts picks it under Deno when no other runner is
 * given or found; import the functions from bdd.ts, never from here, so that a test file and
 * the suites it runs register through the same choice.
 *
 * `describe(name, fn)` runs `fn` at once, collecting a stack of names and hooks.
 * `it(name, fn)` registers one flat `Deno.test` named "outer > inner > name" whose body
 * runs: every enclosing block's `beforeAll` (once per block, lazily, before its first
 * test), the `beforeEach` hooks outer → inner, the test, then the `afterEach` hooks
 * inner → outer; after a block's last test has finished, its `afterAll` hooks run.
 * As in vitest (its default `sequence.hooks: "stack"`), "after" hooks of one block run
 * in reverse order of declaration.
 *
 * Limitation: `afterAll` runs when the last *registered* test of a block has run, so
 * with `deno test --filter` a block whose last test is filtered out never runs its
 * `afterAll`. Tests here must not depend on `afterAll` for correctness, only for tidying.
 *
 * @module
 */
import type { DescribeFunction, ItFunction, TestFn } from "./bdd.ts";

// deno.json's lib provides the real `Deno` types; tsc (Node types only) does not, so
// declare the small part used here. Being module-scoped, this shadows the global type
// under `deno check` and changes nothing at run time.
declare const Deno: {
  test(definition: {
    name: string;
    fn: () => void | Promise<void>;
    ignore?: boolean;
    sanitizeOps?: boolean;
    sanitizeResources?: boolean;
  }): void;
};

interface Suite {
  readonly name: string;
  readonly parent: Suite | undefined;
  readonly skipped: boolean;
  readonly beforeAll: TestFn[];
  readonly afterAll: TestFn[];
  readonly beforeEach: TestFn[];
  readonly afterEach: TestFn[];
  /** Tests (not skipped) registered in this block and its nested blocks. */
  registered: number;
  /** How many of those have finished. */
  finished: number;
  /** The block's beforeAll run, shared by every test in it so it runs once. */
  setUp: Promise<void> | undefined;
}

function newSuite(name: string, parent: Suite | undefined, skipped: boolean): Suite {
  return {
    name,
    parent,
    skipped,
    beforeAll: [],
    afterAll: [],
    beforeEach: [],
    afterEach: [],
    registered: 0,
    finished: 0,
    setUp: undefined,
  };
}

// Hooks declared outside any describe block belong to this module-level root.
const root = newSuite("", undefined, false);
let current: Suite = root;

/** The chain of blocks from the outermost to `suite`. */
function chainOf(suite: Suite): Suite[] {
  const chain: Suite[] = [];
  for (let s: Suite | undefined = suite; s; s = s.parent) chain.unshift(s);
  return chain;
}

function fullName(suite: Suite, name: string): string {
  return [...chainOf(suite).map((s) => s.name).filter((n) => n !== ""), name].join(" > ");
}

async function runAll(hooks: readonly TestFn[]): Promise<void> {
  for (const hook of hooks) await hook();
}

function throwCollected(errors: unknown[]): void {
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, `${errors.length} errors in test and hooks`);
}

function rejectAsync(kind: string, name: string, result: unknown): void {
  if (result !== null && typeof result === "object" && typeof (result as PromiseLike<unknown>).then === "function") {
    throw new TypeError(`${kind}("${name}", fn): fn must be synchronous; register async work in hooks or tests`);
  }
}

function defineSuite(name: string, fn: () => void, skipped: boolean): void {
  const suite = newSuite(name, current, skipped || current.skipped);
  current = suite;
  try {
    rejectAsync("describe", name, fn());
  } finally {
    current = suite.parent ?? root;
  }
}

function defineTest(name: string, fn: TestFn, skipped: boolean): void {
  const suite = current;
  const testName = fullName(suite, name);
  if (skipped || suite.skipped) {
    Deno.test({ name: testName, fn, ignore: true });
    return;
  }
  const chain = chainOf(suite);
  for (const s of chain) s.registered++;

  Deno.test({
    name: testName,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const errors: unknown[] = [];
      let entered = 0; // how many blocks' beforeEach hooks ran, so only those get afterEach
      try {
        for (const s of chain) {
          s.setUp ??= runAll(s.beforeAll);
          await s.setUp;
        }
        for (const s of chain) {
          entered++;
          await runAll(s.beforeEach);
        }
        await fn();
      } catch (error) {
        errors.push(error);
      }
      for (const s of chain.slice(0, entered).reverse()) {
        for (const hook of s.afterEach.slice().reverse()) {
          try {
            await hook();
          } catch (error) {
            errors.push(error);
          }
        }
      }
      for (const s of chain.slice().reverse()) {
        s.finished++;
        if (s.finished === s.registered && s.setUp !== undefined) {
          try {
            await runAll(s.afterAll.slice().reverse());
          } catch (error) {
            errors.push(error);
          }
        }
      }
      throwCollected(errors);
    },
  });
}

/** Groups tests under a name; `fn` runs at once and must be synchronous. */
export const describe: DescribeFunction = Object.assign(
  (name: string, fn: () => void): void => defineSuite(name, fn, false),
  { skip: (name: string, fn: () => void): void => defineSuite(name, fn, true) },
);

/** Registers one test in the current block. */
export const it: ItFunction = Object.assign(
  (name: string, fn: TestFn): void => defineTest(name, fn, false),
  { skip: (name: string, fn: TestFn): void => defineTest(name, fn, true) },
);

/** Runs `fn` once before the first test of the current block. */
export function beforeAll(fn: TestFn): void {
  current.beforeAll.push(fn);
}

/** Runs `fn` once after the last test of the current block (see the module note on `--filter`). */
export function afterAll(fn: TestFn): void {
  current.afterAll.push(fn);
}

/** Runs `fn` before each test of the current block (outer blocks' hooks first). */
export function beforeEach(fn: TestFn): void {
  current.beforeEach.push(fn);
}

/** Runs `fn` after each test of the current block (inner blocks' hooks first). */
export function afterEach(fn: TestFn): void {
  current.afterEach.push(fn);
}
