/**
 * The benchmark harness every benchmark shares: warm-up runs, several measured runs, the median
 * and the spread, a progress line on a terminal, and figures as a table or as JSON.
 *
 * @module
 */
import process from "node:process";

/** Options every benchmark takes from its command line. */
export interface BenchOptions {
  /** Print JSON instead of a table. */
  readonly json: boolean;
  /** Measured runs per figure (`--runs`, default 5). */
  readonly runs: number;
  /** Unmeasured runs first (`--warmup`, default 1). */
  readonly warmup: number;
}

/** Reads `--json`, `--runs N`, `--warmup N` (and leaves the rest to the benchmark). */
export function benchOptions(args: readonly string[] = process.argv.slice(2), defaults: Partial<BenchOptions> = {}): BenchOptions {
  const number = (flag: string, fallback: number) => {
    const at = args.indexOf(flag);
    if (at < 0) return fallback;
    const value = Number(args[at + 1]);
    if (!Number.isInteger(value) || value < 0) throw new Error(`${flag} takes a non-negative integer, got ${args[at + 1]}`);
    return value;
  };
  return {
    json: args.includes("--json"),
    runs: Math.max(1, number("--runs", defaults.runs ?? 5)),
    warmup: number("--warmup", defaults.warmup ?? 1),
  };
}

/** One figure measured over several runs. */
export interface Measurement {
  /** What was measured. */
  readonly name: string;
  /** Unit of the values, e.g. `ops/s`. */
  readonly unit: string;
  /** Each measured run's value. */
  readonly values: readonly number[];
  /** The median of the runs. */
  readonly median: number;
  /** (max - min) / median, as a fraction: how much the runs disagree. */
  readonly spread: number;
}

/** A progress line on standard error, shown only on a terminal. */
export class Progress {
  readonly #tty = Boolean((process.stderr as { isTTY?: boolean }).isTTY);
  #done = 0;

  /** @param total steps expected */
  constructor(readonly total: number) {}

  /** Marks one step done, showing `label`. */
  step(label: string): void {
    this.#done++;
    if (this.#tty) process.stderr.write(`\r[${this.#done}/${this.total}] ${label}`.padEnd(100).slice(0, 100));
  }

  /** Clears the line. */
  end(): void {
    if (this.#tty) process.stderr.write(`\r${" ".repeat(100)}\r`);
  }
}

/**
 * Measures `run` (which returns one run's value, e.g. operations per second): `warmup` runs
 * thrown away, then `runs` kept.
 */
export async function measure(
  name: string,
  unit: string,
  options: Pick<BenchOptions, "runs" | "warmup">,
  run: () => number | Promise<number>,
  progress?: Progress,
): Promise<Measurement> {
  for (let i = 0; i < options.warmup; i++) await run();
  const values: number[] = [];
  for (let i = 0; i < options.runs; i++) {
    values.push(await run());
    progress?.step(`${name}: run ${i + 1} of ${options.runs}`);
  }
  return summarize(name, unit, values);
}

/** The median and spread of values measured elsewhere (runs of a child process, say). */
export function summarize(name: string, unit: string, values: readonly number[]): Measurement {
  if (values.length === 0) throw new Error(`no runs of ${name} to summarize`);
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
  const spread = median === 0 ? 0 : (sorted[sorted.length - 1]! - sorted[0]!) / median;
  return { name, unit, values: [...values], median, spread };
}

/** Operations per second of `count` calls of `op`, timed by the host's clock. */
export function rate(count: number, op: (i: number) => void): number {
  const started = performance.now();
  for (let i = 0; i < count; i++) op(i);
  return (count / (performance.now() - started)) * 1000;
}

/** Operations per second of `count` awaited calls of `op`, `parallel` at a time. */
export async function rateAsync(count: number, parallel: number, op: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) await op(next++);
    }),
  );
  return (count / (performance.now() - started)) * 1000;
}

/** A number for a table: integers with thousands separators, others to 3 significant digits. */
export function figure(x: number): string {
  if (Math.abs(x) >= 100) return Math.round(x).toLocaleString("en-US");
  return Number(x.toPrecision(3)).toString();
}

/** The runtime, for reports. */
export function runtimeName(): string {
  return typeof (globalThis as { Deno?: unknown }).Deno !== "undefined" ? "deno" : `node ${process.version}`;
}
