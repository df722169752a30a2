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
  return execFileSync(bin, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 120_000 });
}

/** The lines of an example's output. */
const linesOf = (file: string) => runExample(file).trim().split("\n");

describe("examples", () => {
  it("quickstart: put, get, delete; vector clocks keep both concurrent writes, last-write-wins one", () => {
    const lines = linesOf("examples/quickstart.ts");
    assert(lines.includes("get via n4: hello"), lines.join("\n"));
    assert(lines.includes("after delete: (none)"));
    assert(lines.some((l) => l.startsWith("vector-clock: 2 sibling(s)")));
    assert(lines.some((l) => l.startsWith("last-write-wins: 1 sibling(s)")));
  }, 60_000);

  it("resolvers: dotted version vectors keep one sibling per client, vector clocks pile up", () => {
    const count = (lines: string[], name: string) => Number(/ (\d+) sibling/.exec(lines.find((l) => l.startsWith(name))!)![1]);
    const lines = linesOf("examples/resolvers.ts");
    assertEquals(count(lines, "last-write-wins"), 1);
    assertEquals(count(lines, "dotted-version-vector"), 5);
    assert(count(lines, "vector-clock") > 5, lines.join("\n"));
  }, 60_000);

  it("partitioners: all three spread replicas over the racks and move about the ideal", () => {
    const lines = linesOf("examples/partitioners.ts");
    assertEquals(lines.length, 3);
    for (const line of lines) {
      assert(line.endsWith("3 replicas on 3 racks: always"), line);
      const moved = Number(/moved ([\d.]+)x/.exec(line)![1]);
      assert(moved > 0.8 && moved < 1.2, line);
    }
  }, 60_000);

  it("detectors: every detector marks the crashed node down everywhere", () => {
    const lines = linesOf("examples/detectors.ts");
    assertEquals(lines.length, 3);
    for (const line of lines) assert(/down everywhere after [\d.]+ s;/.test(line), line);
  }, 60_000);

  it("engines: after SIGKILL, reopening the LSM engine finds every acknowledged put", () => {
    const lines = linesOf("examples/engines.ts");
    assert(lines.includes("on disk: SSTables and a commit log"), lines.join("\n"));
    assert(lines.includes("after reopening: 0 of the acknowledged puts missing"), lines.join("\n"));
  }, 120_000);

  it("crdts: with vector clocks every acknowledged increment and add survives the partition", () => {
    const lines = linesOf("examples/crdts.ts");
    const m = /counter (\d+) for (\d+) acknowledged increments; set holds (\d+) of (\d+)/.exec(
      lines.find((l) => l.startsWith("vector-clock"))!,
    )!;
    assert(Number(m[1]) >= Number(m[2]) && m[3] === m[4], lines.join("\n"));
    const lww = /set holds (\d+) of (\d+)/.exec(lines.find((l) => l.startsWith("last-write-wins"))!)!;
    assert(Number(lww[1]) < Number(lww[2]), lines.join("\n"));
  }, 60_000);

  it("lab: last-write-wins loses acknowledged adds that vector clocks keep", () => {
    const lines = linesOf("examples/lab.ts");
    const m = /acknowledged adds lost: last-write-wins (\d+), vector clocks (\d+)/.exec(lines[lines.length - 1]!)!;
    assert(Number(m[1]) > 0 && m[2] === "0", lines.join("\n"));
    assert(lines[0]!.startsWith("scenario partition-set, 3 seed(s)"));
  }, 120_000);

  it("plugin-kit/jump-hash: a partitioner from outside, registered with builtinPlugins.with; a leave not last moves most keys", () => {
    const lines = linesOf("examples/plugin-kit/jump-hash/run.ts");
    assertEquals(lines.length, 3, lines.join("\n"));
    assert(/^jump-hash on n1, n2, n3, n4, n5: replicas of 'greeting' n\d, n\d, n\d; read through n4: hello$/.test(lines[0]!), lines[0]);
    // n6 sorts last: about the ideal, nearly all of it to n6.
    const join = /: (\d+) of 3000 key copies move \(ideal 500, all to n6\), (\d+) of them between nodes that stayed$/.exec(lines[1]!);
    assert(join && Number(join[1]) < 600 && Number(join[2]) < 0.1 * Number(join[1]), lines[1]);
    // n2 is not last: more than twice the ideal moves, and every key still reads back.
    const leave =
      /: (\d+) of 3000 key copies move \(ideal (\d+), the copies n2 held\), \d+ of them between nodes that stayed; 1000 of 1000 keys read back their last write$/
        .exec(lines[2]!);
    assert(leave && Number(leave[1]) > 2 * Number(leave[2]), lines[2]);
  }, 60_000);

  it("cluster: three node processes answer over HTTP and stop on SIGINT", () => {
    const lines = linesOf("examples/cluster.ts");
    assert(lines.includes("put through n1, read through n3: hello"), lines.join("\n"));
    assert(lines.includes("concurrent writes through n1 and n2: 2 siblings (eggs, milk)"));
    assert(lines.includes("n2 sees 3 members: n1 up, n2 up, n3 up"));
    assert(lines.some((l) => l.startsWith("cluster stopped")));
  }, 120_000);

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
