/**
 * RingforgeClient turns a `fetch` that got no HTTP answer into an `UnreachableUrlError` that
 * says why, the same under Node (undici puts a system code on `cause`) and Deno (a message
 * only): the error shapes both runtimes produce are classified here under either runtime, and a
 * real refused connection is checked under the runtime running the test.
 */
import { describe, it } from "@std/testing/bdd";
import { assertEquals, assertInstanceOf, assertRejects, assertThrows } from "@std/assert";
import { RingforgeClient } from "../client/ringforge-client.ts";
import { classifyFetchFailure, type FetchFailure, UnreachableUrlError } from "../client/fetch-failure.ts";
import { InvalidConfigError, UnreachableNodeError } from "../core/errors.ts";
import { freePort } from "./support/tcp-pair.ts";

/** `fetch`'s TypeError with `cause` (a plain object stands in for undici's error classes). */
const failed = (cause: unknown) => new TypeError("fetch failed", { cause });
/** Deno's shape: the reason is in the cause's message only. */
const deno = (message: string) => new TypeError("fetch failed", { cause: new Error(message) });
const coded = (code: string, message = code, name = "Error") => Object.assign(new Error(message), { code, name });

describe("classifyFetchFailure", () => {
  it("tells the failures apart from Node's codes and from Deno's messages alike", () => {
    const cases: [unknown, FetchFailure, string | undefined][] = [
      [failed(coded("ECONNREFUSED", "connect ECONNREFUSED 127.0.0.1:8009")), "connection-refused", "ECONNREFUSED"],
      [
        deno(
          "error sending request for url (http://127.0.0.1:8009/x): client error (Connect): tcp connect error: Connection refused (os error 111)",
        ),
        "connection-refused",
        undefined,
      ],
      [failed(coded("ENOTFOUND", "getaddrinfo ENOTFOUND nowhere.invalid")), "host-not-found", "ENOTFOUND"],
      [
        deno("client error (Connect): dns error: failed to lookup address information: Name or service not known"),
        "host-not-found",
        undefined,
      ],
      [failed(coded("ECONNRESET", "read ECONNRESET")), "connection-reset", "ECONNRESET"],
      [deno("Connection reset by peer (os error 104)"), "connection-reset", undefined],
      [
        failed(coded("HPE_INVALID_CONSTANT", "Response does not match the HTTP/1.1 protocol (Expected HTTP/)", "HTTPParserError")),
        "not-http",
        undefined,
      ],
      [deno("client error (SendRequest): invalid HTTP version parsed"), "not-http", undefined],
      [failed(coded("UND_ERR_SOCKET", "other side closed", "SocketError")), "connection-closed", undefined],
      [deno("client error (SendRequest): connection closed before message completed"), "connection-closed", undefined],
      [failed(coded("UND_ERR_CONNECT_TIMEOUT", "Connect Timeout Error")), "timeout", undefined],
      [Object.assign(new Error("The operation was aborted due to timeout"), { name: "TimeoutError" }), "timeout", undefined],
      [failed(coded("ERR_SSL_WRONG_VERSION_NUMBER", "wrong version number")), "tls", undefined],
      [failed(coded("EHOSTUNREACH", "connect EHOSTUNREACH 10.0.0.1:8001")), "network", "EHOSTUNREACH"],
    ];
    for (const [error, failure, errno] of cases) {
      assertEquals(classifyFetchFailure(error), { failure, errno }, String((error as Error).cause ?? error));
    }
  });
});

describe("RingforgeClient", () => {
  it("a refused connection is an UnreachableUrlError with the URL, the reason and the cause", async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const error = await assertRejects(() => new RingforgeClient(url).get("greeting"), UnreachableUrlError);
    assertEquals([error.url, error.failure, error.code], [url, "connection-refused", "RINGFORGE_UNREACHABLE"]);
    // A subclass of the existing error for unreachable nodes: callers branching on it still do.
    assertInstanceOf(error, UnreachableNodeError);
    assertInstanceOf(error.cause, Error);
  });

  it("a URL without http:// or https:// is refused when the client is made", () => {
    assertThrows(
      () => new RingforgeClient("127.0.0.1:8001"),
      InvalidConfigError,
      'must start with http:// or https:// (got "127.0.0.1:8001")',
    );
    assertThrows(() => new RingforgeClient("ftp://127.0.0.1:8001"), InvalidConfigError);
  });
});
