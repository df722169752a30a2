/**
 * The AntiEntropy interface: background repair of replicas that drifted apart.
 *
 * @module
 */
import { type Token, token } from "./token.ts";

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
 * are never read, which read repair cannot reach. A strategy gets the node's records as a
 * `RecordView` and core's hash-tree range comparison as a `RangeSync` in its plugin context
 * (see core/interfaces/records.ts): it may schedule that comparison (the `merkle` plugin does),
 * or compare the records its own way over messages of its own.
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
export const ANTI_ENTROPY: Token<AntiEntropy> = token<AntiEntropy>("AntiEntropy");
