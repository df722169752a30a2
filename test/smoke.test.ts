// Tests of the test shims themselves (test/support/): the assertions must fail when
// they should, and the bdd hooks must run in the same order under vitest and Deno.
import { afterAll, afterEach, beforeAll, beforeEach, describe, it } from "@std/testing/bdd";
import {
  assert,
  assertArrayIncludes,
  assertEquals,
  assertExists,
  assertFalse,
  assertGreater,
  assertGreaterOrEqual,
  assertInstanceOf,
  assertLess,
  assertLessOrEqual,
  assertMatch,
  assertNotEquals,
  assertObjectMatch,
  assertRejects,
  assertStrictEquals,
  assertThrows,
  fail,
} from "@std/assert";
import fc from "fast-check";
import { Buffer } from "node:buffer";

class CodedError extends Error {
  constructor(readonly code: string) {
    super(`failed with ${code}`);
    this.name = "CodedError";
  }
}

/** Runs `fn` and returns the message of the assertion error it must throw. */
function failureOf(fn: () => void): string {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  if (!(thrown instanceof Error)) throw new Error("expected the assertion to fail, but it passed");
  if (thrown.name !== "AssertionError") throw new Error(`expected an AssertionError, got ${thrown.name}`);
  return thrown.message;
}

describe("std-assert shim", () => {
  it("assertEquals compares deep structure, and fails on any difference", () => {
    assertEquals({ a: [1, 2, { b: new Uint8Array([3]) }] }, { a: [1, 2, { b: new Uint8Array([3]) }] });
    assertEquals(new Map([["k", new Set([1])]]), new Map([["k", new Set([1])]]));
    failureOf(() => assertEquals({ a: [1, 2, { b: 3 }] }, { a: [1, 2, { b: 4 }] }));
    failureOf(() => assertEquals([1, 2], [1, 2, 3]));
    failureOf(() => assertEquals({ a: 1 }, { a: 1, b: undefined }));
    failureOf(() => assertEquals(new Uint8Array([1, 2]), new Uint8Array([1, 3])));
    failureOf(() => assertEquals(new Map([["k", 1]]), new Map([["k", 2]])));
  });

  it("assertEquals tells a Buffer from a Uint8Array with the same bytes", () => {
    const message = failureOf(() => assertEquals<Uint8Array>(Buffer.from([1, 2]), new Uint8Array([1, 2])));
    assertMatch(message, /Values are not equal/);
  });

  it("assertEquals puts the caller's message in the failure", () => {
    assertMatch(failureOf(() => assertEquals(1, 2, "replica count")), /replica count/);
  });

  it("assertEquals agrees with structural equality on generated values", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        assertEquals(structuredClone(value), value);
      }),
      { numRuns: 50 },
    );
    fc.assert(
      fc.property(fc.array(fc.integer()), fc.array(fc.integer()), (a, b) => {
        const same = a.length === b.length && a.every((x, i) => Object.is(x, b[i]));
        if (same) assertEquals(a, b);
        else failureOf(() => assertEquals(a, b));
      }),
      { numRuns: 100 },
    );
  });

  it("assertNotEquals and assertStrictEquals fail when they should", () => {
    assertNotEquals({ a: 1 }, { a: 2 });
    failureOf(() => assertNotEquals({ a: 1 }, { a: 1 }));
    const shared = { a: 1 };
    assertStrictEquals(shared, shared);
    assertStrictEquals(Number.NaN, Number.NaN);
    failureOf(() => assertStrictEquals({ a: 1 }, { a: 1 }));
    failureOf(() => assertStrictEquals(0, -0));
  });

  it("assertThrows returns the error and checks its class and message", () => {
    const error = assertThrows(
      () => {
        throw new CodedError("RINGFORGE_X");
      },
      CodedError,
      "RINGFORGE_X",
    );
    assertEquals(error.code, "RINGFORGE_X");
    assertInstanceOf(assertThrows(() => JSON.parse("{")), SyntaxError);

    failureOf(() => assertThrows(() => undefined));
    failureOf(() =>
      assertThrows(() => {
        throw new TypeError("boom");
      }, CodedError)
    );
    failureOf(() =>
      assertThrows(
        () => {
          throw new CodedError("A");
        },
        CodedError,
        "B",
      )
    );
    // A thrown non-Error fails a check that names an error class.
    failureOf(() =>
      assertThrows(() => {
        throw "a string";
      }, Error)
    );
  });

  it("assertRejects resolves to the rejection and checks class and message", async () => {
    const error = await assertRejects(() => Promise.reject(new CodedError("RINGFORGE_Y")), CodedError, "_Y");
    assertEquals(error.code, "RINGFORGE_Y");
    assertEquals(await assertRejects(() => Promise.reject(42)), 42);

    const failures: Array<() => Promise<unknown>> = [
      () => assertRejects(() => Promise.resolve("fine")),
      () => assertRejects(() => Promise.reject(new TypeError("x")), CodedError),
      () => assertRejects(() => Promise.reject(new CodedError("A")), CodedError, "B"),
      // A synchronous throw is not a rejection.
      () =>
        assertRejects((): Promise<never> => {
          throw new CodedError("sync");
        }),
    ];
    for (const check of failures) {
      let caught: unknown;
      try {
        await check();
      } catch (e) {
        caught = e;
      }
      assertExists(caught, "assertRejects should have failed");
      assertEquals((caught as Error).name, "AssertionError");
    }
  });

  it("the remaining assertions pass and fail as documented", () => {
    assert(1);
    failureOf(() => assert(0));
    assertFalse("");
    failureOf(() => assertFalse("x"));
    assertExists(0);
    failureOf(() => assertExists(null));
    failureOf(() => assertExists(undefined));
    assertInstanceOf(new CodedError("c"), Error);
    failureOf(() => assertInstanceOf({}, CodedError));
    assertGreater(2, 1);
    failureOf(() => assertGreater(1, 1));
    assertGreaterOrEqual(1, 1);
    failureOf(() => assertGreaterOrEqual(0, 1));
    assertLess(1, 2);
    failureOf(() => assertLess(2, 2));
    assertLessOrEqual(2, 2);
    failureOf(() => assertLessOrEqual(3, 2));
    assertArrayIncludes([{ a: 1 }, { b: 2 }, 3], [{ b: 2 }, 3]);
    failureOf(() => assertArrayIncludes([1, 2], [3]));
    assertMatch("RINGFORGE_QUORUM_NOT_REACHED", /^RINGFORGE_[A-Z_]+$/);
    failureOf(() => assertMatch("quorum", /^RINGFORGE_/));
    assertObjectMatch({ code: "E", detail: { required: 2, acknowledged: 1 }, extra: true }, {
      code: "E",
      detail: { required: 2 },
    });
    failureOf(() => assertObjectMatch({ code: "E", detail: { required: 2 } }, { detail: { required: 3 } }));
    failureOf(() => assertObjectMatch({ code: "E" }, { missing: undefined, code: "E" }));
    assertMatch(failureOf(() => fail("on purpose")), /on purpose/);
  });
});

// Every hook appends to this log; the last test reads what ran before it.
const log: string[] = [];

describe("bdd shim: hooks", () => {
  beforeAll(() => {
    log.push("outer beforeAll");
  });
  afterAll(() => {
    log.push("outer afterAll");
  });
  beforeEach(() => {
    log.push("outer beforeEach");
  });
  afterEach(() => {
    log.push("outer afterEach");
  });

  it("first", () => {
    log.push("first");
  });

  describe("inner", () => {
    beforeAll(async () => {
      await Promise.resolve();
      log.push("inner beforeAll");
    });
    afterAll(() => {
      log.push("inner afterAll");
    });
    beforeEach(() => {
      log.push("inner beforeEach");
    });
    afterEach(() => {
      log.push("inner afterEach 1");
    });
    afterEach(() => {
      log.push("inner afterEach 2");
    });

    it("second", async () => {
      await Promise.resolve();
      log.push("second");
    });

    it.skip("skipped tests do not run", () => {
      fail("a skipped test ran");
    });
  });

  describe.skip("skipped block", () => {
    beforeAll(() => {
      fail("a skipped block's hook ran");
    });
    it("does not run", () => {
      fail("a test in a skipped block ran");
    });
  });
});

describe("bdd shim: order", () => {
  it("hooks ran outer to inner before, inner to outer after, beforeAll once per block", () => {
    assertEquals(log, [
      "outer beforeAll",
      "outer beforeEach",
      "first",
      "outer afterEach",
      "inner beforeAll",
      "outer beforeEach",
      "inner beforeEach",
      "second",
      "inner afterEach 2",
      "inner afterEach 1",
      "outer afterEach",
      "inner afterAll",
      "outer afterAll",
    ]);
  });
});
