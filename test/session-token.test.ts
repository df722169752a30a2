/**
 * The `Ringforge-Session` token codec (client/session-token.ts): round trips, its bounds (what
 * is refused, what is left out and counted), malformed input; and how a Session reports what it
 * forgets.
 */
import { describe, it } from "@std/testing/bdd";
import { assertEquals, assertThrows } from "@std/assert";
import {
  decodeSessionToken,
  encodeSessionToken,
  MAX_SESSION_CONTEXT_CHARS,
  MAX_SESSION_CONTEXTS,
  MAX_SESSION_TOKEN_LENGTH,
} from "../client/session-token.ts";
import { InvalidContextError } from "../core/errors.ts";
import { type CausalContext, MAX_CONTEXT_LENGTH, wrapContext } from "../core/model/causal-context.ts";
import { Session } from "../core/client/session.ts";
import { builtinPlugins } from "../plugins/index.ts";
import { createCluster } from "../index.ts";

const ctx = (text: string) => text as CausalContext;

describe("session token", () => {
  it("round-trips a key's contexts, oldest first, and an empty session as a token of its own", async () => {
    await using cluster = await createCluster({ nodes: 3, resolver: "vector-clock" }, { registry: builtinPlugins });
    const resolver = cluster.node("n1").services.resolver;
    const contexts = [wrapContext(resolver, [["n1", 1]]), wrapContext(resolver, [["n2", 3]]), wrapContext(resolver, [])];
    const { token, forgotten } = encodeSessionToken(contexts);
    assertEquals(forgotten, 0);
    assertEquals(decodeSessionToken(token), contexts);
    const empty = encodeSessionToken([]);
    assertEquals([empty.token, empty.forgotten], ["v1", 0], "a session with nothing for the key still says it is a session");
    assertEquals(decodeSessionToken("v1"), []);
  });

  it("leaves out the oldest contexts past the count or character bound, counts them, and always keeps the newest", () => {
    const many = Array.from({ length: MAX_SESSION_CONTEXTS + 3 }, (_, i) => ctx(`c${i}`));
    const byCount = encodeSessionToken(many);
    assertEquals(byCount.forgotten, 3);
    assertEquals(decodeSessionToken(byCount.token), many.slice(3));

    const big = (n: number) => ctx("A".repeat(n));
    const bySize = encodeSessionToken([big(100), big(MAX_SESSION_CONTEXT_CHARS / 2), big(MAX_SESSION_CONTEXT_CHARS / 2)]);
    assertEquals(bySize.forgotten, 1, "the two halves fill the bound: the oldest does not fit");
    assertEquals(decodeSessionToken(bySize.token).map((c) => c.length), [MAX_SESSION_CONTEXT_CHARS / 2, MAX_SESSION_CONTEXT_CHARS / 2]);

    // The longest context a store produces fits alone, so the newest guarantee is never lost.
    const largest = encodeSessionToken([big(10), big(MAX_CONTEXT_LENGTH)]);
    assertEquals(largest.forgotten, 1);
    assertEquals(decodeSessionToken(largest.token).map((c) => c.length), [MAX_CONTEXT_LENGTH]);
    const full = encodeSessionToken(
      Array.from({ length: MAX_SESSION_CONTEXTS }, () => big(MAX_SESSION_CONTEXT_CHARS / MAX_SESSION_CONTEXTS)),
    );
    assertEquals(full.forgotten, 0);
    assertEquals(full.token.length, MAX_SESSION_TOKEN_LENGTH, "the bound is exactly the largest token the encoder makes");
  });

  it("refuses malformed and over-long tokens with InvalidContextError, saying why", () => {
    const cases: [string, RegExp][] = [
      ["", /must start with "v1"/],
      ["v2.abc", /must start with "v1"/],
      ["abc", /must start with "v1"/],
      ["v1.", /non-empty base64url/],
      ["v1..abc", /non-empty base64url/],
      ["v1.abc.", /non-empty base64url/],
      ["v1.ab+c", /non-empty base64url/],
      ["v1.ab c", /non-empty base64url/],
      ["v1.abc=", /non-empty base64url/],
      [`v1${".a".repeat(MAX_SESSION_CONTEXTS + 1)}`, /holds 9 contexts, over the limit of 8/],
      [`v1.${"A".repeat(MAX_SESSION_CONTEXT_CHARS)}.B`, /characters of contexts, over the limit of 8192/],
      [`v1.${"A".repeat(MAX_SESSION_TOKEN_LENGTH)}`, /characters long, over the limit of/],
      ["v1" + ".A".repeat(100_000), /characters long, over the limit of/],
    ];
    for (const [token, message] of cases) {
      const error = assertThrows(() => decodeSessionToken(token), InvalidContextError);
      assertEquals(error.code, "RINGFORGE_INVALID_CONTEXT");
      assertEquals(message.test(error.message), true, `${token.slice(0, 40)}: ${error.message}`);
    }
    assertThrows(() => encodeSessionToken([ctx("not base64url!")]), InvalidContextError);
    assertThrows(() => encodeSessionToken([ctx("A".repeat(MAX_CONTEXT_LENGTH + 1))]), InvalidContextError);
  });
});

describe("Session bounds are reported", () => {
  it("onForget hears of the least recently used key dropped past maxKeys, and of contexts a token left out", () => {
    const heard: [string, string, number][] = [];
    const session = new Session({ maxKeys: 2, onForget: (key, reason, contexts) => void heard.push([key, reason, contexts]) });
    session.remember("a", [ctx("x"), ctx("y")]);
    session.remember("b", [ctx("x")]);
    session.remember("c", [ctx("x")]);
    session.remember("c", [ctx("z")], 3);
    assertEquals(heard, [["a", "max-keys", 2], ["c", "token-limit", 3]]);
    assertEquals([session.contexts("a"), session.contexts("c")], [[], [ctx("z")]]);
  });
});
