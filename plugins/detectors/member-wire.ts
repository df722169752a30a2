/**
 * Helpers the detectors that talk to peers share: their dependencies, a member's placement on
 * the wire, and random peer choice.
 *
 * @module
 */
import type { PluginContext } from "../../core/build/plugin.ts";
import { type Clock, type Scheduler } from "../../core/interfaces/clock.ts";
import { type Logger } from "../../core/interfaces/logger.ts";
import type { MemberInfo } from "../../core/interfaces/partitioner.ts";
import { type Random } from "../../core/interfaces/random.ts";
import { type Transport } from "../../core/interfaces/transport.ts";
import type { MessageRouter } from "../../core/interfaces/message-router.ts";
import type { NodeId } from "../../core/model/sibling.ts";

/** A member's placement as it travels: weight, zone, datacenter (`null` when unset). */
export type Placement = [weight: number | null, zone: string | null, datacenter: string | null];

/** The placement fields of `info`, for the wire. */
export function placementOf(info: MemberInfo): Placement {
  return [info.weight ?? null, info.zone ?? null, info.datacenter ?? null];
}

/** A member built from its id and wire placement. */
export function memberFrom(id: NodeId, [weight, zone, datacenter]: Placement): MemberInfo {
  return {
    id,
    ...(weight === null ? {} : { weight }),
    ...(zone === null ? {} : { zone }),
    ...(datacenter === null ? {} : { datacenter }),
  };
}

/** True if the three values are a valid wire placement. */
export function isPlacement(weight: unknown, zone: unknown, datacenter: unknown): boolean {
  return (
    (weight === null || (typeof weight === "number" && weight > 0 && Number.isFinite(weight))) &&
    (zone === null || typeof zone === "string") &&
    (datacenter === null || typeof datacenter === "string")
  );
}

/** Up to `k` distinct ids drawn at random (a partial Fisher-Yates shuffle). */
export function sampleDistinct(random: Random, ids: readonly NodeId[], k: number): NodeId[] {
  const pool = [...ids];
  const n = Math.min(k, pool.length);
  for (let i = 0; i < n; i++) {
    const j = i + random.int(pool.length - i);
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, n);
}

/** What a detector that talks to its peers takes from the node: who it is, and its runtime. */
export interface PeerDetectorDeps {
  /** This node. */
  readonly self: MemberInfo;
  /** The configured members (the seeds). */
  readonly seeds: readonly MemberInfo[];
  /** The node's clock. */
  readonly clock: Clock;
  /** The node's scheduler. */
  readonly scheduler: Scheduler;
  /** Randomness for peer choice. */
  readonly random: Random;
  /** Messages to peers. */
  readonly transport: Transport;
  /** Where the detector registers its message prefix. */
  readonly router: MessageRouter;
  /** The node's logger. */
  readonly logger: Logger;
}

/** {@link PeerDetectorDeps} from a plugin context; `label` forks the randomness. */
export function peerDetectorDeps(context: PluginContext, label: string): PeerDetectorDeps {
  const { settings, members: seeds } = context;
  return {
    self: seeds.find((m) => m.id === settings.id) ?? { id: settings.id },
    seeds,
    clock: context.clock,
    scheduler: context.scheduler,
    random: context.random.fork(label),
    transport: context.transport,
    router: context.router,
    logger: context.logger,
  };
}
