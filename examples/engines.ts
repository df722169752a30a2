/**
 * Storage engines and recovery: a writer process puts keys into the LSM engine (commit log
 * fsynced on every write, small memtable so SSTables are flushed and compacted as it goes) and
 * is killed with SIGKILL mid-stream. Reopening the directory replays the commit log over the
 * tables: every write the engine acknowledged before the kill is there.
 *
 *   npx tsx examples/engines.ts
 *   npx deno run -A examples/engines.ts
 *
 * (The writer is this same file, started again with `--writer DIR`.)
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { decodeText, encodeText } from "../index.ts";
import { systemScheduler } from "../plugin-kit/index.ts";
import { LsmEngine } from "../plugins/index.ts";

const options = { sync: "always" as const, memtableBytes: 64 * 1024 };
const key = (i: number) => encodeText(`key-${String(i).padStart(6, "0")}`);

if (process.argv[2] === "--writer") {
  // The child: write until killed, printing each acknowledged index.
  const engine = new LsmEngine({ directory: process.argv[3]!, ...options }, systemScheduler);
  await engine.open();
  for (let i = 0;; i++) {
    await engine.put(key(i), encodeText(`value ${i} `.repeat(10)));
    process.stdout.write(`${i}\n`);
  }
}

const dir = mkdtempSync(join(tmpdir(), "ringforge-engines-"));
try {
  const self = fileURLToPath(import.meta.url);
  const isDeno = "Deno" in globalThis;
  const args = isDeno ? ["run", "-A", self, "--writer", dir] : ["--import", "tsx", self, "--writer", dir];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  let acknowledged = -1;
  let buffered = "";
  await new Promise<void>((resolve) => {
    child.stdout!.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      for (const line of lines) acknowledged = Math.max(acknowledged, Number(line));
      // Kill it once it has written enough to have flushed tables.
      if (acknowledged >= 3000 && child.exitCode === null && !child.killed) child.kill("SIGKILL");
    });
    child.on("close", () => resolve());
  });
  console.log(`writer killed with SIGKILL after ${acknowledged + 1 >= 3000 ? "3000 or more" : acknowledged + 1} acknowledged puts`);
  console.log(
    `on disk: ${readdirSync(dir).filter((f) => f.endsWith(".sst")).length > 0 ? "SSTables and a commit log" : "a commit log only"}`,
  );

  const engine = new LsmEngine({ directory: dir, ...options }, systemScheduler);
  await engine.open();
  let missing = 0;
  for (let i = 0; i <= acknowledged; i++) {
    const value = await engine.get(key(i));
    if (value === undefined || !decodeText(value).startsWith(`value ${i} `)) missing++;
  }
  console.log(`after reopening: ${missing} of the acknowledged puts missing`);
  await engine.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
