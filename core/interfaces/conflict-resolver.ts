/**
 * The ConflictResolver interface: how versions are stamped, compared and merged.
 *
 * @module
 */
import { type Token, token } from "./token.ts";
import type { NodeId, Sibling, SiblingSet } from "../model/sibling.ts";

/** How two versions relate causally. */
export type Ordering = "before" | "after" | "equal" | "concurrent";

/** A client write as the coordinator hands it to the resolver. */
export interface WriteStamp<C = unknown> {
  /** The new value, or `null` for a delete (tombstone). */
  readonly value: Uint8Array | null;
  /** The context the client read (decoded), or `undefined` for a blind write. */
  readonly context: C | undefined;
  /** The coordinating node: the actor that stamps the version. */
  readonly node: NodeId;
  /** The coordinator's clock reading, in ms. */
  readonly timestamp: number;
  /**
   * True for the ids of the cluster's members (the coordinator's ring view). A context is
   * untrusted input: a resolver whose versions name nodes keeps a context's entry for another
   * node only if the key's stored versions already name it, so a forged context cannot grow
   * versions without bound. Absent (a resolver used on its own), every id is a member.
   */
  readonly isMember?: (node: NodeId) => boolean;
}

/**
 * Versions: how a write is stamped from the causal context the client read, how versions
 * compare, and how sibling sets merge.
 *
 * Contract (checked for every resolver by the conformance suite, with fast-check):
 * - {@link merge} is commutative, associative and idempotent, and returns siblings in a
 *   canonical order, so replicas that saw the same writes hold byte-identical records;
 * - a write carrying the context of a read supersedes every sibling that read returned;
 * - two writes that did not see each other either both survive (vector clocks, dotted
 *   version vectors) or exactly one does, the same one on every replica (last-write-wins);
 * - {@link write} never silently drops a sibling the client did not see (a resolver that keeps
 *   only one value, like last-write-wins, declares `keepsConcurrentWrites: false`).
 *
 * Versions (`V`) and contexts (`C`) are plain data so they can be stored and sent as-is.
 *
 * @typeParam V the version stamped on each sibling
 * @typeParam C the causal context handed to clients
 */
export interface ConflictResolver<V = unknown, C = unknown> {
  /** Plugin name, e.g. `"vector-clock"`; also written into contexts to catch mix-ups. */
  readonly name: string;
  /** False for resolvers that keep one value per key (last-write-wins). */
  readonly keepsConcurrentWrites: boolean;
  /**
   * Applies a client write at the coordinator: returns the key's new sibling set given the
   * siblings the coordinator holds. Called under the coordinator's per-key lock, so stamps a
   * node makes for one key never race each other.
   */
  write(local: SiblingSet<V>, stamp: WriteStamp<C>): Sibling<V>[];
  /** Merges two sibling sets (replica writes, read reconciliation, repair). */
  merge(a: SiblingSet<V>, b: SiblingSet<V>): Sibling<V>[];
  /** Causal relation of two versions. */
  compare(a: V, b: V): Ordering;
  /** The causal context summarising what a read returned (tombstones included). */
  context(siblings: SiblingSet<V>): C;
  /**
   * True if a read whose context is `context` reflects every write summarised by `seen`: each
   * of those writes is among the siblings read, or was superseded by one of them. Session
   * guarantees (read-your-writes, monotonic reads) are this check on the session's context.
   */
  covers(context: C, seen: C): boolean;
  /**
   * Checks that decoded, untrusted data is a context this resolver produced; returns it typed.
   * @throws {InvalidContextError} when it is not
   */
  parseContext(data: unknown): C;
}

/** Injection token for the node's {@link ConflictResolver}. */
export const CONFLICT_RESOLVER: Token<ConflictResolver> = token<ConflictResolver>("ConflictResolver");
