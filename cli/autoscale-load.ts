/**
 * The cluster's load as the autoscaler reads it: `GET /status/cluster` from any running member,
 * each ring member's traffic of the last seconds and the bytes it stores.
 *
 * @module
 */
import type { ClusterStatus } from "../client/node-status.ts";
import { RingforgeError } from "../core/errors.ts";
import type { ClusterLoad, NodeLoad } from "../core/interfaces/scaler.ts";

/**
 * The load of the ring members in `cluster`, measured at `at` (the autoscaler's clock): for
 * each member, the requests per second and the p99 latency its HTTP API measured over its
 * traffic window, and the bytes of its records. Queue depth is 0: the status document does not
 * report requests in progress.
 *
 * Every ring member must have answered: a decision made without one member's load (a member
 * down, or slow to answer) would be made on the wrong count, so the round is skipped instead.
 *
 * @throws {RingforgeError} `RINGFORGE_UNREACHABLE` naming the members that did not answer
 */
export function clusterLoadOf(cluster: ClusterStatus, at: number): ClusterLoad {
  const own = cluster.members[0]?.status;
  if (!own) throw new RingforgeError("RINGFORGE_UNREACHABLE", `${cluster.node} sent no status of its own`, { node: cluster.node });
  const answers = new Map(cluster.members.map((m) => [m.id, m] as const));
  const nodes: NodeLoad[] = [];
  const silent: string[] = [];
  for (const member of own.members) {
    if (!member.inRing) continue;
    const status = answers.get(member.id)?.status;
    if (!status) {
      silent.push(`${member.id} (${answers.get(member.id)?.error ?? "not asked"})`);
      continue;
    }
    nodes.push({
      id: member.id,
      requestsPerSecond: status.traffic?.requestsPerSecond ?? 0,
      p99Ms: status.traffic?.p99Ms ?? 0,
      bytes: status.records.bytes,
      queueDepth: 0,
      ...(member.datacenter === undefined ? {} : { datacenter: member.datacenter }),
    });
  }
  if (silent.length > 0) {
    throw new RingforgeError(
      "RINGFORGE_UNREACHABLE",
      `no load from ${silent.join(", ")}: the autoscaler decides only on every ring member's load`,
      { silent },
    );
  }
  return { at, nodes };
}

/**
 * Reads `GET /status/cluster` from the first of `urls` that answers (in order), with `token` as
 * the bearer token if given, each asked for at most `timeoutMs`.
 *
 * @throws {RingforgeError} `RINGFORGE_UNREACHABLE` when none answers
 */
export async function fetchClusterStatus(urls: readonly string[], token: string | undefined, timeoutMs = 3000): Promise<ClusterStatus> {
  const failures: string[] = [];
  for (const url of urls) {
    try {
      const response = await fetch(`${url}/status/cluster`, {
        headers: token ? { Authorization: `Bearer ${token}` } : {},
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (response.ok) return (await response.json()) as ClusterStatus;
      await response.body?.cancel();
      failures.push(`${url}: HTTP ${response.status}`);
    } catch (error) {
      failures.push(`${url}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  throw new RingforgeError(
    "RINGFORGE_UNREACHABLE",
    urls.length === 0 ? "no running node to read the load from" : `no node answered GET /status/cluster (${failures.join("; ")})`,
    { urls: [...urls] },
  );
}
