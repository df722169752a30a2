/**
 * Prometheus metrics of a node process (prom-client, text exposition format): client requests
 * counted and timed per operation at the HTTP API, and the node's own counters — hints,
 * anti-entropy, handoff, tombstones, engine, transport — read when scraped.
 *
 * @module
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { ResolvedStore } from "../core/build/config.ts";
import type { RingforgeNode } from "../core/node/ringforge-node.ts";
import { type NodeStatus, nodeStatus, type TrafficStatus } from "./node-status.ts";
import { type ApiOperation, TrafficWindow } from "./traffic-window.ts";

/**
 * One node's metrics registry. The HTTP API calls {@link observe} per request; everything else
 * is collected from {@link nodeStatus} at scrape time, so the node pays nothing between scrapes.
 *
 * @example
 * ```ts
 * const metrics = new NodeMetrics(node);
 * metrics.observe("get", "ok", 0.0021);
 * console.log(await metrics.text());
 * ```
 */
export class NodeMetrics {
  /** The registry (add your own metrics to it if you embed the server). */
  readonly registry = new Registry();
  readonly #requests: Counter<"operation" | "outcome">;
  readonly #latency: Histogram<"operation">;
  readonly #traffic = new TrafficWindow();
  #snapshot: NodeStatus | undefined;

  constructor(
    private readonly node: RingforgeNode,
    private readonly store?: ResolvedStore,
  ) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ node: node.id });
    this.#requests = new Counter({
      name: "ringforge_requests_total",
      help: "Client requests by operation and outcome (ok, not_found, siblings, or the error code).",
      labelNames: ["operation", "outcome"],
      registers,
    });
    this.#latency = new Histogram({
      name: "ringforge_request_duration_seconds",
      help: "Client request latency by operation, as the HTTP API measured it.",
      labelNames: ["operation"],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    const from = (name: string, help: string, read: (s: NodeStatus) => Record<string, number>, label: string) =>
      new Gauge({
        name,
        help,
        labelNames: [label],
        registers,
        collect: function (this: Gauge<string>) {
          const status = self.#snapshot;
          if (!status) return;
          this.reset();
          for (const [k, v] of Object.entries(read(status))) this.set({ [label]: k }, v);
        },
      });
    const self = this;
    new Gauge({
      name: "ringforge_hints_pending",
      help: "Hints waiting on this node for a down owner.",
      registers,
      collect: function (this: Gauge) {
        if (self.#snapshot) this.set(self.#snapshot.hints.pending);
      },
    });
    from("ringforge_hints", "Hint counters since start: stored, delivered, dropped.", (s) => ({ ...s.hints }), "counter");
    from(
      "ringforge_anti_entropy",
      "Anti-entropy counters since start: exchanges, failures, differing keys, repaired keys, bytes.",
      (s) => s.antiEntropy,
      "counter",
    );
    from("ringforge_handoff", "Range handoff counters since start.", (s) => s.handoff, "counter");
    from("ringforge_tombstones", "Tombstone collection counters since start.", (s) => s.tombstones, "counter");
    from("ringforge_engine", "Storage engine counters (engine-specific).", (s) => s.engine, "counter");
    from("ringforge_transport", "Transport counters (frames, bytes, connections, rejections).", (s) => s.transport, "counter");
    from("ringforge_records", "Records on this node: keys and bytes.", (s) => ({ keys: s.records.keys, bytes: s.records.bytes }), "what");
    from(
      "ringforge_member_up",
      "1 if this node's failure detector believes the member up, else 0.",
      (s) => Object.fromEntries(s.members.map((m) => [m.id, m.status === "up" ? 1 : 0])),
      "member",
    );
  }

  /** Records one client request. */
  observe(operation: ApiOperation, outcome: string, seconds: number): void {
    this.#requests.inc({ operation, outcome });
    this.#latency.observe({ operation }, seconds);
    this.#traffic.record(operation, outcome, seconds * 1000);
  }

  /** Client traffic over the last few seconds (rates and percentiles; see {@link TrafficWindow}). */
  traffic(): TrafficStatus {
    return this.#traffic.snapshot();
  }

  /** The exposition text (`GET /metrics`). */
  async text(): Promise<string> {
    this.#snapshot = await nodeStatus(this.node, this.store);
    return this.registry.metrics();
  }

  /** The content type of {@link text}. */
  get contentType(): string {
    return this.registry.contentType;
  }
}
