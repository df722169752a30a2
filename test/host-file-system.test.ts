/**
 * The host file system's "write-synced" files: on Linux, opened with O_DSYNC (read back from
 * /proc/self/fdinfo), so each write is durable when it resolves; a plain "write" file is not.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "@std/testing/bdd";
import { assertEquals } from "@std/assert";
import { hostFileSystem } from "../core/host/host-file-system.ts";

/** The open flags of the descriptor this process holds on `file` (Linux's /proc), octal. */
function flagsOf(file: string): number {
  for (const fd of readdirSync("/proc/self/fd")) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // closed meanwhile
    }
    if (target !== file) continue;
    const line = readFileSync(`/proc/self/fdinfo/${fd}`, "utf8").split("\n").find((l) => l.startsWith("flags:"))!;
    return parseInt(line.split(/\s+/)[1]!, 8);
  }
  throw new Error(`no descriptor on ${file}`);
}

const O_DSYNC = 0o10000; // Linux's value on x86 and ARM

(existsSync("/proc/self/fdinfo") ? describe : describe.skip)("host file system", () => {
  it("opens write-synced files with O_DSYNC and plain write files without it", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "ringforge-hostfs-"));
    try {
      const synced = await hostFileSystem.open(path.join(dir, "a.log"), "write-synced");
      const plain = await hostFileSystem.open(path.join(dir, "b.log"), "write");
      assertEquals(flagsOf(path.join(dir, "a.log")) & O_DSYNC, O_DSYNC);
      assertEquals(flagsOf(path.join(dir, "b.log")) & O_DSYNC, 0);
      assertEquals([synced.syncsWrites, plain.syncsWrites], [true, false], "each handle says whether its writes are durable");
      await synced.write(new Uint8Array([1, 2, 3]));
      await synced.write(new Uint8Array([4]), 0, 1);
      await synced.close();
      await plain.close();
      assertEquals([...(await hostFileSystem.readFile(path.join(dir, "a.log")))], [1, 2, 3, 4]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
