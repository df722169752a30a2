/**
 * Benchmark entry point: the first argument names the benchmark, the rest go to it.
 *
 *   npm run bench                        # the simulator benchmark (bench/sim.ts)
 *   npm run bench -- sim --runs 5 --json
 *   npm run bench -- engines --keys 100000
 *   npm run bench -- cluster --duration 20 --profile
 *   npm run bench -- partitioners --keys 200000
 *
 * @module
 */
import process from "node:process";

const BENCHMARKS = ["sim", "engines", "cluster", "partitioners"] as const;

const first = process.argv[2];
let name = "sim";
// A leading option (`npm run bench -- --json`) keeps the default benchmark.
if (first !== undefined && !first.startsWith("-")) {
  name = first;
  process.argv.splice(2, 1);
}

if (name === "sim") await import("./sim.ts");
else if (name === "engines") await import("./engines.ts");
else if (name === "cluster") await import("./cluster.ts");
else if (name === "partitioners") await import("./partitioners.ts");
else {
  console.error(`unknown benchmark "${name}"; choose one of: ${BENCHMARKS.join(", ")}`);
  process.exitCode = 2;
}
