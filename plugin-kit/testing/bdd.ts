/**
 * The `describe`/`it` functions and hooks the conformance suites register their tests with,
 * taken at run time from whichever test runner is running them, so the suites need no import
 * map or alias in the project that uses them:
 *
 * 1. the runner given to {@link useTestRunner}, if any;
 * 2. else the runner's globals: `describe` and `it` on `globalThis` (vitest with
 *    `test.globals: true`, jest, mocha), with `beforeAll`/`afterAll` (or mocha's
 *    `before`/`after`), `beforeEach` and `afterEach`;
 * 3. else, under Deno, a built-in implementation over `Deno.test` (bdd-deno.ts), so
 *    `deno test` needs nothing at all;
 * 4. else a {@link TestRunnerNotFoundError} says what to do.
 *
 * The runner is looked up when a test or hook is registered, not when this module loads, so
 * `useTestRunner` may run after the suites are imported (in a setup file, or at the top of a
 * test file), as long as it runs before the first suite is registered.
 *
 * Only the subset every runner shares is promised: `describe(name, fn)`, `describe.skip`,
 * `it(name, fn, timeoutMs?)`, `it.skip` and the four hooks. `describe` bodies must be
 * synchronous.
 *
 * @example
 * ```ts
 * // vitest without globals: in a setup file (vitest.config.ts: test.setupFiles)
 * import { afterAll, afterEach, beforeAll, beforeEach, describe, it } from "vitest";
 * import { useTestRunner } from "ringforge/plugin-kit/testing";
 *
 * useTestRunner({ describe, it, beforeEach, afterEach, beforeAll, afterAll });
 * ```
 *
 * @module
 */
import * as denoRunner from "./bdd-deno.ts";

/** A test body or a hook: may return a promise, which the runner awaits. */
export type TestFn = () => void | Promise<void>;

/** A `describe` function: `describe(name, fn)` and `describe.skip(name, fn)`. */
export interface DescribeFunction {
  /** Groups the tests and hooks `fn` registers under `name`; `fn` runs at once, synchronously. */
  (name: string, fn: () => void): void;
  /** Registers the group, every test in it skipped. */
  skip(name: string, fn: () => void): void;
}

/**
 * An `it` function: `it(name, fn)` and `it.skip(name, fn)`. The third argument, a time limit
 * in ms, goes to runners that have one (vitest, jest); `deno test` has none and ignores it.
 */
export interface ItFunction {
  /** Registers one test. */
  (name: string, fn: TestFn, timeoutMs?: number): void;
  /** Registers one test, skipped. */
  skip(name: string, fn: TestFn, timeoutMs?: number): void;
}

/** A hook registration function (`beforeEach(fn)` and the like). */
export type HookFunction = (fn: TestFn) => void;

/**
 * The functions of a test runner the suites need. X as
 * they are; for mocha pass `beforeAll: before, afterAll: after`.
 */
export interface TestRunner {
  /** Groups tests. */
  readonly describe: DescribeFunction;
  /** Registers a test. */
  readonly it: ItFunction;
  /** Runs a hook before each test of the enclosing group. */
  readonly beforeEach: HookFunction;
  /** Runs a hook after each test of the enclosing group. */
  readonly afterEach: HookFunction;
  /** Runs a hook once before the first test of the enclosing group. */
  readonly beforeAll: HookFunction;
  /** Runs a hook once after the last test of the enclosing group. */
  readonly afterAll: HookFunction;
}

/** Thrown when a suite registers a test and no test runner can be found. */
export class TestRunnerNotFoundError extends Error {
  /** Stable, machine-readable code. */
  readonly code = "RINGFORGE_NO_TEST_RUNNER";

  constructor(missing: string) {
    super(
      `ringforge/plugin-kit/testing: no test runner to register tests with (${missing}). ` +
        "Run the suites under `deno test`, under a runner that defines describe/it as globals " +
        "(vitest with `test: { globals: true }` in its config, jest, mocha), or call " +
        "useTestRunner({ describe, it, beforeEach, afterEach, beforeAll, afterAll }) with your " +
        "runner's functions before the first suite is registered.",
    );
    this.name = "TestRunnerNotFoundError";
  }
}

const REQUIRED: readonly (keyof TestRunner)[] = ["describe", "it", "beforeEach", "afterEach", "beforeAll", "afterAll"];

let given: TestRunner | undefined;

/**
 * Registers the suites' tests with `runner` from now on; with no argument, goes back to the
 * automatic choice (globals, then the built-in runner under Deno).
 *
 * @throws {TypeError} if `runner` lacks one of the six functions
 *
 * @example
 * ```ts
 * import * as vitest from "vitest";
 * useTestRunner(vitest);
 * ```
 */
export function useTestRunner(runner?: TestRunner): void {
  if (runner !== undefined) {
    const missing = REQUIRED.filter((name) => typeof runner[name] !== "function");
    if (missing.length > 0) throw new TypeError(`useTestRunner: the runner has no ${missing.join(", ")} function`);
  }
  given = runner;
}

// deno-lint-ignore no-explicit-any -- whatever a runner puts on the global object
type Globals = Record<string, any>;

/** The runner's globals, if `describe` and `it` are there (hooks are checked when used). */
function globalRunner(): TestRunner | undefined {
  const g = globalThis as Globals;
  if (typeof g.describe !== "function" || typeof g.it !== "function") return undefined;
  return {
    describe: g.describe,
    it: g.it,
    beforeEach: g.beforeEach,
    afterEach: g.afterEach,
    // mocha's BDD interface names the once-per-group hooks before/after.
    beforeAll: g.beforeAll ?? g.before,
    afterAll: g.afterAll ?? g.after,
  };
}

function underDeno(): boolean {
  return typeof (globalThis as Globals).Deno?.test === "function";
}

/** The runner to register with now. */
function current(): TestRunner {
  if (given) return given;
  const fromGlobals = globalRunner();
  if (fromGlobals) return fromGlobals;
  if (underDeno()) return denoRunner;
  throw new TestRunnerNotFoundError("no useTestRunner call, no global describe and it, not under Deno");
}

function hook(name: "beforeEach" | "afterEach" | "beforeAll" | "afterAll"): HookFunction {
  return (fn) => {
    const register = current()[name];
    if (typeof register !== "function") throw new TestRunnerNotFoundError(`the runner's globals have no ${name}`);
    register(fn);
  };
}

/** Groups tests under a name, in the current runner; `fn` runs at once and must be synchronous. */
export const describe: DescribeFunction = Object.assign(
  (name: string, fn: () => void): void => current().describe(name, fn),
  { skip: (name: string, fn: () => void): void => current().describe.skip(name, fn) },
);

/** Registers one test in the current block, in the current runner. */
export const it: ItFunction = Object.assign(
  (name: string, fn: TestFn, timeoutMs?: number): void =>
    timeoutMs === undefined ? current().it(name, fn) : current().it(name, fn, timeoutMs),
  {
    skip: (name: string, fn: TestFn, timeoutMs?: number): void =>
      timeoutMs === undefined ? current().it.skip(name, fn) : current().it.skip(name, fn, timeoutMs),
  },
);

/** Runs `fn` before each test of the current block (outer blocks' hooks first). */
export const beforeEach: HookFunction = hook("beforeEach");

/** Runs `fn` after each test of the current block (inner blocks' hooks first). */
export const afterEach: HookFunction = hook("afterEach");

/** Runs `fn` once before the first test of the current block. */
export const beforeAll: HookFunction = hook("beforeAll");

/** Runs `fn` once after the last test of the current block. */
export const afterAll: HookFunction = hook("afterAll");
