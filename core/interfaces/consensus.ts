/**
 * The Consensus interface: linearizable reads and atomic read-modify-writes of one key, for the
 * requests that ask for them (`consistency: "linearizable"`, and conditional writes with
 * `ifMatch` / `ifAbsent`). Every other request takes the Dynamo path (quorums, hints, merges).
 *
 * @module
 */
import { type Token, token } from "./token.ts";
import type { SiblingSet } from "../model/sibling.ts";

/**
 * The change a linearizable write makes: the key's next record from its current one (the
 * resolver's merge of what a majority of replicas hold). It may throw (a failed precondition:
 * `PreconditionFailedError`), and then nothing is written. It is called at most once per try, and
 * again on a retry with the record as it is then, so it must depend on `current` only.
 */
export type RecordChange = (current: SiblingSet) => SiblingSet;

/** What a node's consensus did so far, for `/status` and the lab. */
export interface ConsensusStats {
  /** Linearizable reads and writes this node proposed that completed. */
  completed: number;
  /** Rounds that lost to a higher ballot, and were retried after a back-off. */
  contended: number;
  /** Unfinished rounds of other proposers this node found and completed before its own. */
  completedForOthers: number;
}

/**
 * Linearizable operations on single keys, over the key's N replicas (its preference list).
 *
 * Contract (the conformance suite checks it with the lab's linearizability checker):
 * - {@link read} returns a record that reflects every {@link update} that completed before the
 *   read began, and never one older than a record an earlier read returned;
 * - {@link update} applies `change` to the key's latest record atomically: no other update of
 *   the key lands between the record it read and the record it wrote; it resolves once the new
 *   record is chosen (durable on a majority), and then every later {@link read} sees it;
 * - an update that rejects with a timeout or quorum error may or may not have happened (as a
 *   Dynamo write); one whose `change` threw did not happen;
 * - the new record is merged into the replicas' stores, so the Dynamo path (reads at R, repair,
 *   handoff) sees it too.
 *
 * Reads and writes that do not go through the consensus are not ordered by it: a key written
 * both ways stays safe (nothing is lost; the resolver merges) but is linearizable only for the
 * history of its linearizable operations if no plain write is mixed in. Replica sets that change
 * (a join or leave moving the key) are outside the contract.
 */
export interface Consensus {
  /** Plugin name, e.g. `"paxos"`. */
  readonly name: string;
  /** Counters, for metrics and the lab. */
  readonly stats: ConsensusStats;
  /**
   * Reads the key's latest record linearizably.
   * @throws `QuorumNotReachedError` or `TimeoutError` when a majority does not answer
   */
  read(key: string, timeoutMs: number): Promise<SiblingSet>;
  /**
   * Atomically replaces the key's record with `change(current)`; returns the record written.
   * @throws whatever `change` throws (nothing written), or a quorum or timeout error (unknown outcome)
   */
  update(key: string, change: RecordChange, timeoutMs: number): Promise<SiblingSet>;
  /** Starts background work, after the node's engine and transport. */
  start?(): Promise<void>;
  /** Stops background work; called when the node stops or crashes. */
  stop?(): Promise<void>;
}

/** Injection token for the node's {@link Consensus}. */
export const CONSENSUS: Token<Consensus> = token<Consensus>("Consensus");
