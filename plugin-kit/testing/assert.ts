/**
 * The assertions the conformance suites use: the functions of JSR's `@std/assert` 1.x, with
 * the same signatures and failure semantics, built on `node:assert/strict` and `node:util`,
 * which Node and Deno both provide. The suites import them from here rather than from
 * `@std/assert` so they run in any project, whatever its import map (JSR may be out of reach,
 * as it is from this repository's machine). This repository's tests import them as
 * `@std/assert`, which deno.json, vitest.config.ts and tsconfig.json map to this file; mapping
 * the real package in instead is one line in each, and no test changes.
 *
 * Deep equality is `node:util`'s `isDeepStrictEqual`: prototypes are compared,
 * so a `Buffer` never equals a `Uint8Array` with the same bytes — the data model
 * promises plain `Uint8Array` values, and a test should notice a `Buffer` leaking out.
 *
 * @module
 */
import * as nodeAssert from "node:assert/strict";
import { inspect, isDeepStrictEqual } from "node:util";

/** Thrown by every assertion in this module when it fails (as in `@std/assert`). */
export class AssertionError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "AssertionError";
  }
}

/** Values that are falsy, as `@std/assert` names them. */
export type Falsy = false | 0 | 0n | "" | null | undefined;

// Any class, including abstract ones, as accepted by assertThrows/assertInstanceOf.
// deno-lint-ignore no-explicit-any
type AnyConstructor = abstract new (...args: any[]) => any;
// deno-lint-ignore no-explicit-any
type ErrorConstructorLike<E extends Error> = abstract new (...args: any[]) => E;

function suffix(msg: string | undefined): string {
  return msg ? `: ${msg}` : "";
}

function show(value: unknown): string {
  return inspect(value, { depth: 8, breakLength: 100, sorted: true });
}

/** Deep, prototype-aware equality used by assertEquals and friends. */
export function equal(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(a, b);
}

/** Asserts that `expr` is truthy. */
export function assert(expr: unknown, msg = ""): asserts expr {
  if (!expr) throw new AssertionError(msg || "Expected expression to be true");
}

/** Asserts that `expr` is falsy. */
export function assertFalse(expr: unknown, msg = ""): asserts expr is Falsy {
  if (expr) throw new AssertionError(msg || "Expected expression to be false");
}

/** Asserts deep equality (structure, values and prototypes) of `actual` and `expected`. */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  if (equal(actual, expected)) return;
  let diff: string;
  try {
    // Reuse node's diff rendering for the message; the verdict is already known.
    nodeAssert.deepStrictEqual(actual, expected);
    diff = `${show(actual)} !== ${show(expected)}`;
  } catch (error) {
    diff = error instanceof Error ? error.message : String(error);
  }
  throw new AssertionError(`Values are not equal${suffix(msg)}\n${diff}`);
}

/** Asserts that `actual` and `expected` are not deeply equal. */
export function assertNotEquals<T>(actual: T, expected: T, msg?: string): void {
  if (!equal(actual, expected)) return;
  throw new AssertionError(`Expected actual: ${show(actual)} not to be: ${show(expected)}${suffix(msg)}`);
}

/** Asserts that `actual` and `expected` are the same value (`Object.is`). */
export function assertStrictEquals<T>(actual: unknown, expected: T, msg?: string): asserts actual is T {
  if (Object.is(actual, expected)) return;
  const hint = equal(actual, expected) ? "Values have the same structure but are not reference-equal" : "Values are not strictly equal";
  throw new AssertionError(`${hint}${suffix(msg)}\n    actual: ${show(actual)}\n  expected: ${show(expected)}`);
}

/** Asserts that `actual` and `expected` are not the same value (`Object.is`). */
export function assertNotStrictEquals<T>(actual: T, expected: T, msg?: string): void {
  if (!Object.is(actual, expected)) return;
  throw new AssertionError(`Expected "actual" to not be strictly equal to: ${show(expected)}${suffix(msg)}`);
}

/** Asserts that `actual` is within `tolerance` of `expected` (default: 1e-7 relative). */
export function assertAlmostEquals(actual: number, expected: number, tolerance?: number, msg?: string): void {
  if (Object.is(actual, expected)) return;
  const delta = Math.abs(expected - actual);
  const limit = tolerance ?? Math.abs(expected) * 1e-7;
  if (delta <= limit) return;
  throw new AssertionError(
    `Expected actual: "${actual}" to be close to "${expected}": delta "${delta}" is greater than "${limit}"${suffix(msg)}`,
  );
}

/** Asserts that `actual` is neither `null` nor `undefined`. */
export function assertExists<T>(actual: T, msg?: string): asserts actual is NonNullable<T> {
  if (actual === undefined || actual === null) {
    throw new AssertionError(msg || `Expected actual: "${actual}" to not be null or undefined`);
  }
}

/** Asserts that `actual` is an instance of `expectedType`. */
export function assertInstanceOf<T extends AnyConstructor>(
  actual: unknown,
  expectedType: T,
  msg = "",
): asserts actual is InstanceType<T> {
  if (actual instanceof expectedType) return;
  const expectedName = expectedType.name || "<anonymous class>";
  let actualName: string;
  if (actual === null) actualName = "null";
  else if (actual === undefined) actualName = "undefined";
  else if (typeof actual === "object") actualName = (actual as object).constructor?.name ?? "Object";
  else actualName = typeof actual;
  throw new AssertionError(
    msg || `Expected object to be an instance of "${expectedName}" but was "${actualName}".`,
  );
}

/** Asserts `actual > expected`. */
export function assertGreater<T>(actual: T, expected: T, msg?: string): void {
  if (actual > expected) return;
  throw new AssertionError(msg ?? `Expect ${show(actual)} > ${show(expected)}`);
}

/** Asserts `actual >= expected`. */
export function assertGreaterOrEqual<T>(actual: T, expected: T, msg?: string): void {
  if (actual >= expected) return;
  throw new AssertionError(msg ?? `Expect ${show(actual)} >= ${show(expected)}`);
}

/** Asserts `actual < expected`. */
export function assertLess<T>(actual: T, expected: T, msg?: string): void {
  if (actual < expected) return;
  throw new AssertionError(msg ?? `Expect ${show(actual)} < ${show(expected)}`);
}

/** Asserts `actual <= expected`. */
export function assertLessOrEqual<T>(actual: T, expected: T, msg?: string): void {
  if (actual <= expected) return;
  throw new AssertionError(msg ?? `Expect ${show(actual)} <= ${show(expected)}`);
}

/** Asserts that every element of `expected` is deeply equal to some element of `actual`. */
export function assertArrayIncludes<T>(actual: ArrayLike<T>, expected: ArrayLike<T>, msg?: string): void {
  const missing: T[] = [];
  for (let i = 0; i < expected.length; i++) {
    const wanted = expected[i] as T;
    let found = false;
    for (let j = 0; j < actual.length; j++) {
      if (equal(wanted, actual[j])) {
        found = true;
        break;
      }
    }
    if (!found) missing.push(wanted);
  }
  if (missing.length === 0) return;
  throw new AssertionError(
    `Expected actual: "${show(actual)}" to include: "${show(expected)}"${suffix(msg)}\nmissing: ${show(missing)}`,
  );
}

/** Asserts that `actual` contains the substring `expected`. */
export function assertStringIncludes(actual: string, expected: string, msg?: string): void {
  if (actual.includes(expected)) return;
  throw new AssertionError(`Expected actual: "${actual}" to contain: "${expected}"${suffix(msg)}`);
}

/** Asserts that `actual` matches the regular expression `expected`. */
export function assertMatch(actual: string, expected: RegExp, msg?: string): void {
  if (expected.test(actual)) return;
  throw new AssertionError(`Expected actual: "${actual}" to match: "${expected}"${suffix(msg)}`);
}

/** Asserts that `actual` does not match the regular expression `expected`. */
export function assertNotMatch(actual: string, expected: RegExp, msg?: string): void {
  if (!expected.test(actual)) return;
  throw new AssertionError(`Expected actual: "${actual}" to not match: "${expected}"${suffix(msg)}`);
}

function isPlainRecord(value: unknown): value is Record<PropertyKey, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

// Keeps, from `actual`, only the parts that `expected` names, recursing into plain
// objects and arrays, so that comparing the result to `expected` checks a subset.
function projectOnto(actual: unknown, expected: unknown): unknown {
  if (Array.isArray(expected) && Array.isArray(actual)) {
    if (actual.length !== expected.length) return actual;
    return actual.map((item, i) => projectOnto(item, expected[i]));
  }
  if (isPlainRecord(expected) && actual !== null && typeof actual === "object" && !Array.isArray(actual)) {
    const source = actual as Record<PropertyKey, unknown>;
    const projected: Record<PropertyKey, unknown> = {};
    for (const key of Reflect.ownKeys(expected)) {
      if (key in source) projected[key] = projectOnto(source[key], expected[key]);
    }
    // Keep the plain prototype so the comparison is about content.
    return Object.getPrototypeOf(expected) === null ? Object.assign(Object.create(null), projected) : projected;
  }
  return actual;
}

/** Asserts that `actual` has (at least) the properties of `expected`, recursively. */
export function assertObjectMatch(
  // deno-lint-ignore no-explicit-any
  actual: Record<PropertyKey, any>,
  expected: Record<PropertyKey, unknown>,
  msg?: string,
): void {
  if (actual === null || typeof actual !== "object") {
    throw new AssertionError(`actual is not an object${suffix(msg)}: ${show(actual)}`);
  }
  assertEquals(projectOnto(actual, expected), expected, msg);
}

function assertIsError<E extends Error>(
  error: unknown,
  ErrorClass: ErrorConstructorLike<E> | undefined,
  msgIncludes: string | undefined,
  msg: string | undefined,
): asserts error is E {
  if (!(error instanceof Error)) {
    throw new AssertionError(`Expected "error" to be an Error object${suffix(msg)}: ${show(error)}`, {
      cause: error,
    });
  }
  if (ErrorClass && !(error instanceof ErrorClass)) {
    throw new AssertionError(
      `Expected error to be instance of "${ErrorClass.name}", but was "${error.constructor.name}"${suffix(msg)}: ${error.message}`,
      { cause: error },
    );
  }
  if (msgIncludes !== undefined && !String(error.message).includes(msgIncludes)) {
    throw new AssertionError(
      `Expected error message to include ${JSON.stringify(msgIncludes)}, but got ${JSON.stringify(error.message)}${suffix(msg)}`,
      { cause: error },
    );
  }
}

/** Asserts that `fn` throws; returns what it threw. */
export function assertThrows(fn: () => unknown, msg?: string): unknown;
/** Asserts that `fn` throws an instance of `ErrorClass` (whose message includes `msgIncludes`); returns it. */
export function assertThrows<E extends Error = Error>(
  fn: () => unknown,
  ErrorClass: ErrorConstructorLike<E>,
  msgIncludes?: string,
  msg?: string,
): E;
export function assertThrows<E extends Error = Error>(
  fn: () => unknown,
  errorClassOrMsg?: ErrorConstructorLike<E> | string,
  msgIncludesOrMsg?: string,
  msg?: string,
): E | unknown {
  let ErrorClass: ErrorConstructorLike<E> | undefined;
  let msgIncludes: string | undefined;
  if (typeof errorClassOrMsg === "string" || errorClassOrMsg === undefined) {
    msg = errorClassOrMsg;
  } else {
    ErrorClass = errorClassOrMsg;
    msgIncludes = msgIncludesOrMsg;
  }
  try {
    fn();
  } catch (error) {
    if (ErrorClass) assertIsError(error, ErrorClass, msgIncludes, msg);
    return error;
  }
  throw new AssertionError(`Expected function to throw${suffix(msg)}`);
}

/** Asserts that the promise returned by `fn` rejects; resolves to the rejection reason. */
export function assertRejects(fn: () => PromiseLike<unknown>, msg?: string): Promise<unknown>;
/** Asserts that `fn`'s promise rejects with an instance of `ErrorClass`; resolves to the error. */
export function assertRejects<E extends Error = Error>(
  fn: () => PromiseLike<unknown>,
  ErrorClass: ErrorConstructorLike<E>,
  msgIncludes?: string,
  msg?: string,
): Promise<E>;
export async function assertRejects<E extends Error = Error>(
  fn: () => PromiseLike<unknown>,
  errorClassOrMsg?: ErrorConstructorLike<E> | string,
  msgIncludesOrMsg?: string,
  msg?: string,
): Promise<E | unknown> {
  let ErrorClass: ErrorConstructorLike<E> | undefined;
  let msgIncludes: string | undefined;
  if (typeof errorClassOrMsg === "string" || errorClassOrMsg === undefined) {
    msg = errorClassOrMsg;
  } else {
    ErrorClass = errorClassOrMsg;
    msgIncludes = msgIncludesOrMsg;
  }
  let returned: unknown;
  try {
    returned = fn();
  } catch (error) {
    // A synchronous throw is not a rejection: the caller would see it differently.
    throw new AssertionError(`Function throws when expected to reject${suffix(msg)}`, { cause: error });
  }
  if (returned === null || typeof returned !== "object" || typeof (returned as PromiseLike<unknown>).then !== "function") {
    throw new AssertionError(`Function throws when expected to reject${suffix(msg)}`);
  }
  try {
    await returned;
  } catch (error) {
    if (ErrorClass) assertIsError(error, ErrorClass, msgIncludes, msg);
    return error;
  }
  throw new AssertionError(`Expected function to reject${suffix(msg)}`);
}

/** Fails unconditionally. */
export function fail(msg?: string): never {
  throw new AssertionError(`Failed assertion${suffix(msg)}`);
}

/** Marks code that must never run. */
export function unreachable(msg?: string): never {
  throw new AssertionError(msg ?? "Unreachable");
}
