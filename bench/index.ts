/**
 * Benchmark entry point. With no benchmark named, runs the suite: partitioners, coordinator and
 * simulator, each in its own process (so one's heap and JIT state do not color the next), and
 * writes every figure to `bench/results/latest.json` and the tables to
 * `bench/results/latest.md` (neither is committed). With a name, runs that benchmark alone and
 * passes it the remaining arguments.
 *
 *   npm run bench                                   # the suite, a few minutes
 *   npm run bench -- sim --runs 5 --json
 *   npm run bench -- partitioners --keys 200000
 *   npm run bench -- coordinator --profile
 *   npm run bench -- engines --keys 100000          # not in the suite: minutes of disk I/O
 *   npm run bench -- cluster --duration 20 --profile # not in the suite: real processes
 *   npm run bench -- host                            # not in the suite: the host's fsync and loopback costs
 *
 * @module
 */
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { runtimeName } from "./harness.ts";

const BENCHMARKS = ["partitioners", "coordinator", "sim", "engines", "cluster", "host"] as const;
const SUITE = ["partitioners", "coordinator", "sim"] as const;

const first = process.argv[2];

if (first === undefined || first.startsWith("-")) {
  await runSuite(process.argv.slice(2));
} else if ((BENCHMARKS as readonly string[]).includes(first)) {
  process.argv.splice(2, 1);
  await import(`./${first}.ts`);
} else {
  console.error(`unknown benchmark "${first}"; choose one of: ${BENCHMARKS.join(", ")} (or none, for the suite)`);
  process.exitCode = 2;
}

async function runSuite(extra: readonly string[]): Promise<void> {
  const here = dirname(fileURLToPath(import.meta.url));
  const started = performance.now();
  const results: Record<string, unknown>[] = [];
  for (const name of SUITE) {
    process.stderr.write(`running ${name}...\n`);
    const file = join(here, `${name}.ts`);
    const args = "Deno" in globalThis ? ["run", "-A", file, "--json", ...extra] : ["--import", "tsx", file, "--json", ...extra];
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
      let text = "";
      child.stdout!.on("data", (chunk: Buffer) => (text += chunk.toString()));
      child.on("close", (code) => (code === 0 ? resolve(text) : reject(new Error(`bench ${name} exited with ${code}`))));
    });
    results.push(JSON.parse(out) as Record<string, unknown>);
  }
  const seconds = Math.round((performance.now() - started) / 1000);
  const markdown = [
    `# ringforge benchmarks`,
    "",
    `${new Date().toISOString().slice(0, 10)}, ${runtimeName()}, the suite took ${seconds} s`,
    ...results.flatMap((r) => ["", `## ${String(r.benchmark)}`, "", String(r.markdown)]),
    "",
  ].join("\n");
  const dir = join(here, "results");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "latest.json"), `${JSON.stringify({ runtime: runtimeName(), seconds, results }, null, 2)}\n`);
  writeFileSync(join(dir, "latest.md"), markdown);
  console.log(markdown);
  process.stderr.write(`wrote bench/results/latest.json and bench/results/latest.md (${seconds} s)\n`);
}
