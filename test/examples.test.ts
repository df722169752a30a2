/**
 * The examples run as a user runs them, under this test's runtime (tsx under vitest, Deno under
 * `deno test`), and print what their opening comment promises.
 */
import { describe, it } from "@std/testing/bdd";
import { assert, assertEquals } from "@std/assert";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import process from "node:process";

const underDeno = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";

/** Runs an example to completion and returns its standard output; throws on a non-zero exit. */
function runExample(file: string): string {
  const bin = join(process.cwd(), "node_modules", ".bin", underDeno ? "deno" : "tsx");
  const args = underDeno ? ["run", "-A", file] : [file];
  return execFileSync(bin, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

describe("examples", () => {
  it("shopping-cart: a plain union brings a removed item back; removal markers keep it out", () => {
    const lines = runExample("examples/shopping-cart.ts").trim().split("\n");
    assertEquals(lines.filter((l) => l.startsWith("concurrent adds left 2 siblings")).length, 2);
    const plain = lines.indexOf("--- plain union ---");
    const marked = lines.indexOf("--- with removal markers ---");
    assert(plain >= 0 && marked > plain, lines.join("\n"));
    assert(lines.slice(plain, marked).some((l) => l.startsWith("milk came back")));
    assert(lines.slice(marked).some((l) => l.startsWith("milk stays removed")));
    assert(lines.slice(marked).includes("alice removed milk while bob added flour; merged: eggs, flour"));
  }, 60_000);
});
