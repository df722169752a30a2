/**
 * The simulator's side of a scenario's `autoscale` section: an {@link Autoscaler} with the
 * config's scaler policy, a node provider that joins new simulated nodes and decommissions
 * members, the cluster's load as the policy sees it, and the {@link ScalingReport} at the end.
 *
 * @module
 */
import type { Cluster, JoinedNode } from "../core/build/cluster.ts";
import { standaloneContext } from "../core/build/standalone-context.ts";
import { every } from "../core/interfaces/clock.ts";
import type { ClusterLoad, NodeLoad, NodeProvider, Scaler } from "../core/interfaces/scaler.ts";
import type { SimulatedNetwork } from "../core/interfaces/simulated-network.ts";
import type { VirtualRuntime } from "../core/runtime/runtime.ts";
import { Autoscaler } from "../core/scaling/autoscaler.ts";
import { type ScalingChange, type ScalingReport, scalingReport } from "./checkers.ts";
import type { History } from "./history.ts";
import type { Scenario, ScenarioAutoscale } from "./scenario.ts";

/** What the simulated autoscaler needs of the run. */
export interface SimAutoscalerInit {
  /** The cluster it grows and shrinks. */
  readonly cluster: Cluster;
  /** The run's virtual runtime. */
  readonly runtime: VirtualRuntime;
  /** The run's network (for the queue depth of each node). */
  readonly network: SimulatedNetwork;
  /** Where its joins, leaves and decisions are recorded. */
  readonly history: History;
  /** The scenario (its report names the scenario's phases). */
  readonly scenario: Scenario;
  /** The autoscale section. */
  readonly options: ScenarioAutoscale;
  /** When the clients started, ms. */
  readonly t0: number;
  /** When client requests arrived, oldest first: the window's are kept, older ones dropped. */
  readonly arrivals: number[];
  /** Called with each node the scaler adds, once it has joined. */
  readonly onJoined: (joined: JoinedNode) => void;
}

/**
 * Starts an autoscaler with the config's scaler policy and a provider that joins new simulated
 * nodes and decommissions members; `finish()` stops it (waiting for a change in progress) and
 * reports what it did.
 */
export function startSimAutoscaler(init: SimAutoscalerInit): { finish(): Promise<ScalingReport> } {
  const { cluster, runtime, history, options, t0 } = init;
  const now = () => runtime.scheduler.now();
  const { plugin, options: policyOptions } = cluster.store.plugins.scaler;
  const scaler = plugin.create(standaloneContext({ runtime }), policyOptions) as Scaler;
  const members = () => cluster.nodes.filter((n) => n.running);
  const samples: { atMs: number; nodes: number }[] = [{ atMs: 0, nodes: members().length }];
  const changes: ScalingChange[] = [];
  let moved = 0;
  let ideal = 0;
  let next = Math.max(0, ...cluster.ids.map((id) => Number(/^n(\d+)$/.exec(id)?.[1] ?? 0))) + 1;
  const storedBytes = () => members().reduce((sum, n) => sum + n.services.store.stats.bytes, 0);
  const provider: NodeProvider = {
    name: "simulator",
    add: async () => {
      const id = `n${next++}`;
      history.fault(now(), `scaler: join ${id}`);
      ideal += storedBytes() / (members().length + 1);
      const joined = await cluster.join(id);
      init.onJoined(joined);
      moved += joined.bytes;
      history.fault(now(), `scaler: ${id} joined (streamed ${joined.streamed} records)`);
      return id;
    },
    remove: async (id) => {
      history.fault(now(), `scaler: leave ${id}`);
      const node = cluster.node(id);
      ideal += node.services.store.stats.bytes;
      const before = node.handoff.stats.bytes;
      await cluster.leave(id);
      moved += node.handoff.stats.bytes - before;
      history.fault(now(), `scaler: ${id} left`);
    },
  };
  const autoscaler = new Autoscaler(
    {
      scaler,
      provider,
      load: () => Promise.resolve(clusterLoad(init, options.windowMs)),
      n: cluster.store.replication.n,
      clock: { now },
      scheduler: runtime.scheduler,
      logger: runtime.loggerFor("autoscaler"),
    },
    { limits: { min: options.min, max: options.max }, intervalMs: options.intervalMs, cooldownMs: options.cooldownMs },
  );
  const sampler = every(runtime.scheduler, options.intervalMs, () => {
    samples.push({ atMs: Math.round(now() - t0), nodes: members().length });
  });
  autoscaler.start();
  return {
    finish: async () => {
      sampler.cancel();
      await autoscaler.stop();

      samples.push({ atMs: Math.round(now() - t0), nodes: members().length });
      for (const d of autoscaler.decisions) {
        if (d.outcome !== "applied" && d.outcome !== "failed") continue;
        changes.push({
          atMs: Math.round(d.at - t0),
          action: d.decision.action as "add" | "remove",
          node: d.detail ?? "",
          reason: d.decision.reason,
          outcome: d.outcome,
          tookMs: d.completedAt === undefined ? 0 : Math.round(d.completedAt - d.at),
        });
      }
      return scalingReport(history, init.scenario, scaler.name, t0, samples, changes, moved, ideal);
    },
  };
}

/**
 * Every running member's load over the last `windowMs`: its share of the client requests that
 * arrived (the demand: clients pick a running node at random, and a saturated node would
 * under-report it as completions), the p99 latency of the requests it completed, its bytes and
 * the messages queued for its processor.
 */
function clusterLoad(init: SimAutoscalerInit, windowMs: number): ClusterLoad {
  const { cluster, history, network, arrivals } = init;
  const now = init.runtime.scheduler.now();
  const from = now - windowMs;
  let drop = 0;
  while (drop < arrivals.length && arrivals[drop]! < from) drop++;
  if (drop > 0) arrivals.splice(0, drop);
  const running = cluster.nodes.filter((n) => n.running).length;
  const demand = (arrivals.length * 1000) / windowMs / Math.max(1, running);
  const byNode = new Map<string, number[]>();
  const ops = history.operations;
  for (let i = ops.length - 1; i >= 0; i--) {
    const op = ops[i]!;
    if (op.end < from) break;
    if (op.client < 0 || !op.ok) continue;
    let latencies = byNode.get(op.node);
    if (!latencies) byNode.set(op.node, latencies = []);
    latencies.push(op.end - op.start);
  }
  const nodes: NodeLoad[] = cluster.nodes.filter((n) => n.running).map((n) => {
    const latencies = (byNode.get(n.id) ?? []).sort((a, b) => a - b);
    const datacenter = n.services.settings.member.datacenter;
    return {
      id: n.id,
      requestsPerSecond: demand,
      p99Ms: latencies.length === 0 ? 0 : latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))]!,
      bytes: n.services.store.stats.bytes,
      queueDepth: network.queued?.(n.id) ?? 0,
      ...(datacenter === undefined ? {} : { datacenter }),
    };
  });
  return { at: now, nodes };
}
