/**
 * `--plugin <module>` on `ringforge plugins`, `config` and `compare`: the module's exported
 * plugins join the CLI's registry, so a config can name a strategy written outside the bundle
 * (examples/plugin-kit/jump-hash/); a module that cannot be loaded or exports no plugin is one
 * line naming it. And the plugin shares the CLI's copy of core when the CLI runs from source
 * (tsx reads tsconfig.json `paths`, Deno deno.json `imports`): an error the plugin throws is the
 * CLI's own typed error, reported as one line.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import process from "node:process";
import { afterAll, describe, it } from "@std/testing/bdd";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { runCli } from "../cli/program.ts";

const PLUGIN = "examples/plugin-kit/jump-hash/jump-hash.ts";
const CONFIG = "examples/plugin-kit/jump-hash/jump-hash.json";
const underDeno = "Deno" in globalThis;

/** Runs the CLI in this process; resolves to its exit code and what it wrote to each stream. */
async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runCli(args, { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
}

const dir = mkdtempSync(path.join(tmpdir(), "ringforge-plugin-option-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes `data` as JSON into the test's directory; returns the path. */
function jsonFile(name: string, data: unknown): string {
  const file = path.join(dir, name);
  writeFileSync(file, JSON.stringify(data));
  return file;
}

describe("ringforge --plugin", () => {
  it("config: the module's plugin resolves, with its defaults filled in", async () => {
    const { code, out, err } = await cli(["config", CONFIG, "--plugin", PLUGIN]);
    assertEquals([code, err], [0, ""]);
    assertEquals(JSON.parse(out).partitioner, { name: "jump-hash", options: { segments: 4096, bucketsPerWeight: 16 } });
  });

  it("config: without --plugin, the name is unknown", async () => {
    const { code, err } = await cli(["config", CONFIG]);
    assertEquals(code, 2);
    assertStringIncludes(err, 'no partitioner plugin named "jump-hash"');
  });

  it("plugins: lists the module's plugins with the bundled ones", async () => {
    const { code, out } = await cli(["plugins", "--plugin", PLUGIN]);
    assertEquals(code, 0);
    assertMatch(out, /^partitioner +jump-hash +Google's jump consistent hash/m);
    assertMatch(out, /^partitioner +consistent-hash \*/m);
  });

  it("compare: runs a config naming the module's plugin", async () => {
    const scenario = jsonFile("tiny.json", {
      name: "tiny",
      workload: {
        type: "ycsb",
        clients: 2,
        operations: 40,
        records: 20,
        mix: { read: 0.5, update: 0.5, insert: 0 },
        distribution: "uniform",
        valueBytes: 10,
        thinkMs: { min: 0, max: 5 },
      },
      faults: [],
      quiesceMs: 500,
    });
    const { code, out, err } = await cli(["compare", scenario, "--config", CONFIG, "--plugin", PLUGIN, "--wide"]);
    assertEquals([code, err], [0, ""]);
    // Every request of the run (load, workload, final reads) succeeded, and nothing was lost.
    assertMatch(out, /^jump-hash +(\d+) \/ \1 +- +0 of 40 +0 \/ 0 +0 of 20 keys /m);
  });

  it("a module that cannot be loaded, or exports no plugin, is one line naming it", async () => {
    const missing = await cli(["config", CONFIG, "--plugin", "examples/plugin-kit/jump-hash/nope.ts"]);
    assertEquals([missing.code, missing.err], [
      2,
      "ringforge: --plugin examples/plugin-kit/jump-hash/nope.ts could not be loaded: no such file\n",
    ]);
    const none = await cli(["config", CONFIG, "--plugin", "core/errors.ts"]);
    assertEquals(none.code, 2);
    assertMatch(none.err, /^ringforge: --plugin core\/errors\.ts exports no plugin \(an object made by definePlugin[^\n]*\)\n$/);
    const compare = await cli([
      "compare",
      "examples/scenarios/leave.json",
      "--config",
      CONFIG,
      "--plugin",
      "no-such-package-for-ringforge",
    ]);
    assertEquals(compare.code, 2);
    assertMatch(compare.err, /^ringforge: --plugin no-such-package-for-ringforge could not be loaded: [^\n]+\n$/);
  });

  it("the plugin shares the CLI's copy of core: its option error is the CLI's one-line error", () => {
    // The command as documented, in a child process of this runtime: `npx tsx cli/main.ts` under
    // vitest, `deno run -A cli/main.ts` under deno test. Were the plugin's `ringforge/plugin-kit`
    // another copy (dist/), its InvalidConfigError would not be the CLI's RingforgeError, and the
    // CLI would add "(run with --verbose ...)" and exit 1.
    const bad = jsonFile("bad.json", { nodes: 5, partitioner: { name: "jump-hash", options: { segments: 0 } } });
    const bin = path.join(process.cwd(), "node_modules", ".bin", underDeno ? "deno" : "tsx");
    const args = [...(underDeno ? ["run", "-A"] : []), "cli/main.ts", "config", bad, "--plugin", PLUGIN];
    let failure: { status: number; stderr: string } | undefined;
    try {
      execFileSync(bin, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 });
    } catch (error) {
      failure = error as { status: number; stderr: string };
    }
    assert(failure, "the config with segments: 0 was accepted");
    assertEquals(failure.stderr, "ringforge: invalid configuration: partitioner.options.segments: Too small: expected number to be >=1\n");
    assertEquals(failure.status, 2);
  }, 60_000);
});
