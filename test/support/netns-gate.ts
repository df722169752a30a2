/**
 * Whether a test that needs a real network (namespaces, iptables: root) runs here. Without the
 * prerequisites it says, once, that `what` was skipped and why; with `RINGFORGE_REQUIRE_NETNS=1`
 * (set by `.ci/run`, which runs as root) a missing prerequisite fails the test file instead.
 */
import process from "node:process";
import { netnsPrerequisiteProblem } from "../../lab-net/index.ts";

/**
 * True if the real-network tests can run; otherwise warns that `what` was skipped and why.
 *
 * @throws {Error} when `RINGFORGE_REQUIRE_NETNS=1` and a prerequisite is missing
 */
export function realNetworkRuns(what: string): boolean {
  const problem = netnsPrerequisiteProblem();
  if (!problem) return true;
  if (process.env.RINGFORGE_REQUIRE_NETNS === "1") throw new Error(`RINGFORGE_REQUIRE_NETNS=1 but ${problem.message}`);
  console.warn(`${what} skipped: ${problem.message}`);
  return false;
}
