/**
 * A real cluster: `ringforge cluster` starts three node processes on this machine (TCP between
 * them, HTTP for clients, LSM engines on disk, SWIM, sloppy quorum), and this program talks to
 * them with the HTTP client: a write through one node, a read through another, concurrent
 * writes coming back as siblings, the members as each node sees them. Then it stops the
 * cluster the way Ctrl-C does.
 *
 *   npx tsx examples/cluster.ts
 *   npx deno run -A examples/cluster.ts
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { decodeText, encodeText } from "../index.ts";
import { RingforgeClient } from "../client/index.ts";

/**
 * A base port whose next three ports are free (the cluster listens on base+1..base+3), above
 * `after`; below the range the OS hands out for ephemeral ports (32768 and up on Linux), so
 * other programs' outgoing connections do not take them meanwhile.
 */
async function freeBase(after = 0): Promise<number> {
  const free = (port: number) =>
    new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once("error", () => resolve(false));
      server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
    });
  for (let base = Math.max(after + 10, 10_000 + (process.pid % 200) * 100);; base += 10) {
    if ((await free(base + 1)) && (await free(base + 2)) && (await free(base + 3))) return base;
  }
}

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dir = mkdtempSync(join(tmpdir(), "ringforge-cluster-"));
const peerBase = await freeBase();
const clientBase = await freeBase(peerBase);
const cli = join(root, "cli", "main.ts");
const flags = ["cluster", "--nodes", "3", "--dir", dir, "--peer-base", String(peerBase), "--client-base", String(clientBase)];
const args = "Deno" in globalThis ? ["run", "-A", cli, ...flags] : ["--import", "tsx", cli, ...flags];
const cluster = spawn(process.execPath, args, { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
const exited = new Promise<void>((resolve) => cluster.on("close", () => resolve()));

try {
  // Wait for the line the cluster prints once every node answers.
  await new Promise<void>((resolve, reject) => {
    let out = "";
    cluster.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("Ctrl-C stops every node")) resolve();
    });
    void exited.then(() => reject(new Error(`the cluster exited before it was ready:\n${out}`)));
  });
  const [n1, n2, n3] = [1, 2, 3].map((i) => new RingforgeClient(`http://127.0.0.1:${clientBase + i}`));

  await n1!.put("greeting", encodeText("hello"));
  console.log(`put through n1, read through n3: ${(await n3!.get("greeting")).values.map(decodeText).join(", ")}`);

  // Two clients read the same version, then both write back: siblings.
  const [a, b] = await Promise.all([n1!.get("cart"), n2!.get("cart")]);
  await Promise.all([
    n1!.put("cart", encodeText("milk"), { context: a.context }),
    n2!.put("cart", encodeText("eggs"), { context: b.context }),
  ]);
  const both = await n3!.get("cart");
  console.log(`concurrent writes through n1 and n2: ${both.values.length} siblings (${both.values.map(decodeText).sort().join(", ")})`);
  await n3!.put("cart", encodeText("eggs,milk"), { context: both.context });
  console.log(`after writing the merge back: ${(await n1!.get("cart")).values.map(decodeText).join(", ")}`);

  const status = await n2!.status();
  console.log(`n2 sees ${status.members.length} members: ${status.members.map((m) => `${m.id} ${m.status}`).join(", ")}`);
} finally {
  cluster.kill("SIGINT");
  await exited;
  rmSync(dir, { recursive: true, force: true });
  console.log(`cluster stopped (exit code ${cluster.exitCode ?? cluster.signalCode})`);
}
