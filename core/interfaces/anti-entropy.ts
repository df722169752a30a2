/**
 * The AntiEntropy interface: background repair of replicas that drifted apart.
 *
 * @module
 */

/** What a node's anti-entropy did so far. */
export interface AntiEntropyStats {
  /** Exchanges completed with a peer. */
  exchanges: number;
  /** Exchanges that failed (peer unreachable, timeout). */
  failures: number;
  /** Keys found different between replicas. */
  differing: number;
  /** Keys repaired on this node or the peer (records moved). */
  repaired: number;
  /** Bytes of every exchange's requests and replies. */
  bytes: number;
}

/**
 * Background repair between the replicas of each key range (Dynamo §4.7): converges keys that
 * are never read, which read repair cannot reach. Implementations schedule exchanges; the
 * comparison itself (hash trees over token ranges, only differing keys moved) is core's
 * {@link RangeSync}.
 *
 * Contract: `start` and `stop` are idempotent; exchanges run only between them; an exchange
 * never loses a version (records are merged by the conflict resolver, never overwritten).
 */
export interface AntiEntropy {
  /** Plugin name, e.g. `"merkle"`. */
  readonly name: string;
  /** Totals, for the lab and metrics. */
  readonly stats: AntiEntropyStats;
  /** Starts periodic exchanges (after the node's engine and transport are up). */
  start(): Promise<void>;
  /** Stops them; an exchange in flight finishes or fails on its own. */
  stop(): Promise<void>;
}

/** Injection token for the node's {@link AntiEntropy}. */
export const ANTI_ENTROPY: unique symbol = Symbol.for("ringforge.AntiEntropy");
