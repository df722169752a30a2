/**
 * The command provider's contract (`--autoscale-add-command`, `--autoscale-remove-command`):
 * what a command gets in its environment, how the new node's id is read from its output, and
 * how a failure reads (the exit, the last lines of standard error) or a command past its time
 * limit is stopped, with whatever it started. Plain shell commands stand in for an orchestrator.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import process from "node:process";
import { describe, it } from "@std/testing/bdd";
import { assert, assertEquals, assertMatch, assertRejects } from "@std/assert";
import { CommandNodeProvider, type CommandProviderOptions } from "../cli/autoscale-command-provider.ts";
import { NodeProviderError } from "../cli/autoscale-errors.ts";
import { until } from "./support/node-processes.ts";

const windows = process.platform === "win32";

/** True while a process with this pid exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A provider over `commands`, with a ring held in `members`. */
function provider(commands: Partial<CommandProviderOptions>, members: Set<string>) {
  const seen: { added: [string, string | undefined][]; removed: [string, boolean][] } = { added: [], removed: [] };
  let next = 3;
  const p = new CommandNodeProvider({
    addCommand: "true",
    removeCommand: "true",
    timeoutMs: 5_000,
    suggestId: () => `n${++next}`,
    env: async () => ({ RINGFORGE_SEEDS: "127.0.0.1:7001,127.0.0.1:7002" }),
    isMember: async (id) => members.has(id),
    onAdded: (id, url) => void seen.added.push([id, url]),
    onRemoved: (id, ok) => void seen.removed.push([id, ok]),
    pollMs: 20,
    ...commands,
  });
  return { p, seen };
}

// The commands are POSIX shell; on Windows the provider runs them with cmd.exe instead.
(windows ? describe.skip : describe)("the command provider", () => {
  it("add: the id and URL on the last line of output, once the node is a ring member", async () => {
    const ring = new Set(["n1", "n2", "n3"]);
    // The node joins a little after the command ends, as an orchestrator's pod would.
    const { p, seen } = provider({
      addCommand: 'echo "starting $RINGFORGE_NODE_ID with seeds $RINGFORGE_SEEDS"; echo "pod-7 http://10.0.0.7:8001/"',
      isMember: async (id) => {
        setTimeout(() => ring.add("pod-7"), 100);
        return ring.has(id);
      },
    }, ring);
    assertEquals(await p.add(), "pod-7");
    assertEquals(seen.added, [["pod-7", "http://10.0.0.7:8001"]]);
  });

  it("add: no output means the suggested id, which the command got in RINGFORGE_NODE_ID", async () => {
    const ring = new Set(["n1", "n2", "n3"]);
    const { p } = provider({ addCommand: '[ "$RINGFORGE_ACTION" = add ] && [ "$RINGFORGE_NODE_ID" = n4 ]' }, ring);
    ring.add("n4");
    assertEquals(await p.add(), "n4");
  });

  it("add: a non-zero exit fails with the exit code and the last lines of standard error", async () => {
    const { p } = provider({
      addCommand: 'for i in 1 2 3 4 5 6 7; do echo "line $i" >&2; done; echo "quota exceeded" >&2; exit 3',
    }, new Set());
    const error = await assertRejects(() => p.add(), NodeProviderError);
    assertEquals([error.action, error.failure, error.code], ["add", "command-failed", "RINGFORGE_REMOTE_ERROR"]);
    assertEquals(error.message, "the add command (n4) exited with 3: line 4 | line 5 | line 6 | line 7 | quota exceeded");
  });

  it("add: output that is not a node id fails, and so does a node that never joins", async () => {
    const { p } = provider({ addCommand: "echo 'Error: something went wrong'" }, new Set());
    const bad = await assertRejects(() => p.add(), NodeProviderError);
    assertEquals(bad.failure, "bad-output");
    assertMatch(bad.message, /last line of output is "Error: something went wrong", not a node id/);
    const { p: lost } = provider({ addCommand: "echo n9", timeoutMs: 300 }, new Set());
    const timeout = await assertRejects(() => lost.add(), NodeProviderError);
    assertEquals([timeout.failure, timeout.node, timeout.code], ["timeout", "n9", "RINGFORGE_TIMEOUT"]);
    assertMatch(timeout.message, /exited 0, but n9 is not a ring member/);
  });

  it("a command past its time limit is stopped, with what it started in the background", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "ringforge-command-"));
    try {
      const pidFile = path.join(dir, "pid");
      const started = Date.now();
      const { p } = provider({ addCommand: `sleep 30 & echo $! > ${pidFile}; sleep 30; echo never`, timeoutMs: 300 }, new Set());
      const error = await assertRejects(() => p.add(), NodeProviderError);
      assertEquals(error.failure, "timeout");
      assertEquals(error.message, "the add command (n4) did not finish within 0.3 s and was stopped");
      assert(Date.now() - started < 4000, "stopped at the limit, not when the sleeps end");
      const background = Number(readFileSync(pidFile, "utf8"));
      await until("the background process to be gone", 5000, async () => (alive(background) ? undefined : true));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a command that leaves a node running in the background still counts as done when it exits", async () => {
    const ring = new Set(["n1", "n2", "n3", "n4"]);
    const started = Date.now();
    // The background process keeps the output pipes open; the command itself is done.
    const { p } = provider({ addCommand: "(sleep 3 &) ; echo n4" }, ring);
    assertEquals(await p.add(), "n4");
    assert(Date.now() - started < 2500, `${Date.now() - started} ms`);
  });

  it("remove: the node in RINGFORGE_NODE_ID, done once it is out of the ring", async () => {
    const ring = new Set(["n1", "n2", "n3", "n4"]);
    const { p, seen } = provider({
      removeCommand: '[ "$RINGFORGE_ACTION" = remove ] && [ "$RINGFORGE_NODE_ID" = n4 ]',
      isMember: async (id) => {
        setTimeout(() => ring.delete("n4"), 50);
        return ring.has(id);
      },
    }, ring);
    await p.remove("n4");
    assertEquals(seen.removed, [["n4", true]]);
    const { p: stuck, seen: told } = provider({ timeoutMs: 200 }, new Set(["n2"]));
    const error = await assertRejects(() => stuck.remove("n2"), NodeProviderError);
    assertEquals([error.action, error.failure], ["remove", "timeout"]);
    assertMatch(error.message, /exited 0, but n2 is still a ring member/);
    assertEquals(told.removed, [["n2", false]]);
  });
});
