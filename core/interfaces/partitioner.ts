/**
 * The Partitioner interface: which nodes hold a key.
 *
 * @module
 */
import { type Token, token } from "./token.ts";
import type { NodeId } from "../model/sibling.ts";
import { lowerBound } from "../model/sorted.ts";
import type { InvalidConfigError } from "../errors.ts";

/** What a partitioner knows about a member. */
export interface MemberInfo {
  /** The node's id. */
  readonly id: NodeId;
  /** Relative capacity; a node of weight 2 takes about twice the keys of weight 1. Default 1. */
  readonly weight?: number;
  /** Failure domain inside a datacenter (rack), for replica spreading. */
  readonly zone?: string;
  /** Datacenter, for per-datacenter replication. */
  readonly datacenter?: string;
}

/**
 * A range of the 32-bit token space, `(start, end]` going clockwise (it wraps past 2^32 - 1
 * when `end <= start`; `start === end` is the whole ring), with the nodes that replicate it,
 * in preference order.
 */
export interface TokenRange {
  /** Exclusive start token. */
  readonly start: number;
  /** Inclusive end token. */
  readonly end: number;
  /** Replicas of every key in the range, first is the primary. */
  readonly replicas: readonly NodeId[];
}

/**
 * Maps keys to an ordered preference list of distinct physical nodes (Dynamo §4.2–4.3).
 *
 * Contract (the conformance suite checks it):
 * - {@link token} and {@link preferenceList} are pure functions of the key and the members set
 *   last; two partitioners with the same options and members agree on every key;
 * - a preference list holds distinct nodes, the first `min(count, members)` of a fixed
 *   per-key order, so a longer list extends a shorter one (sloppy quorum walks further);
 * - placement depends on the set of members, not the order {@link setMembers} got them in;
 *   duplicate ids or weights that are not finite and > 0 are refused with
 *   {@link InvalidConfigError}, changing nothing;
 * - {@link ranges} are sorted by `end`, cover the whole token space exactly once, and a key's
 *   preference list of length n equals the replicas of the range holding its token;
 * - `count` and `n` are non-negative integers; with no members, preference lists are empty.
 *
 * A partitioner whose placement should depend on history (a partition table claimed
 * incrementally, so a join moves only what it must) implements {@link nextLayout}: core then
 * stores the layout in the ring view, next to the members, and hands it back to
 * {@link setMembers} on every node. Without a layout, placement is a function of the members.
 */
export interface Partitioner {
  /** Plugin name, e.g. `"consistent-hash"`. */
  readonly name: string;
  /** The current members, in the order given to {@link setMembers}. */
  readonly members: readonly MemberInfo[];
  /**
   * Replaces the membership (join, leave, weight change).
   *
   * @param layout a layout from {@link nextLayout} for exactly these members (from the ring
   *   view); without one, placement is computed from the members alone
   * @throws {InvalidConfigError} for bad members, or a layout that does not fit them
   */
  setMembers(members: readonly MemberInfo[], layout?: unknown): void;
  /**
   * Optional. The layout for `members`, computed from the current one with as little movement
   * as the partitioner can manage (plain data: it travels in the ring view and is persisted).
   * Does not change the current placement.
   */
  nextLayout?(members: readonly MemberInfo[]): unknown;
  /** The key's position in the 32-bit token space. */
  token(key: string): number;
  /** The first `count` distinct nodes for `key`, in preference order. */
  preferenceList(key: string, count: number): NodeId[];
  /**
   * The token space divided into ranges, each with its first `n` replicas. Anti-entropy
   * exchanges range by range; handoff compares the ranges before and after a membership change
   * ({@link rangeMoves}).
   */
  ranges(n: number): TokenRange[];
}

/** Injection token for the node's {@link Partitioner}. */
export const PARTITIONER: Token<Partitioner> = token<Partitioner>("Partitioner");

/** True if `token` lies in `range` (`(start, end]`, wrapping). */
export function rangeContains(range: Pick<TokenRange, "start" | "end">, token: number): boolean {
  if (range.start === range.end) return true;
  if (range.start < range.end) return token > range.start && token <= range.end;
  return token > range.start || token <= range.end;
}

/** One node gaining or losing a replica of a token range after a membership change. */
export interface RangeMove {
  /** The range (a piece of both the old and the new layout). */
  readonly start: number;
  /** Inclusive end token. */
  readonly end: number;
  /** Nodes that replicate it now and did not before (they need the data). */
  readonly gained: readonly NodeId[];
  /** Nodes that replicated it before and no longer do (they may hand it off and drop it). */
  readonly lost: readonly NodeId[];
}

/**
 * Which token ranges change replicas between two layouts (from {@link Partitioner.ranges} before
 * and after a membership change). Works for any partitioner: both layouts are cut at every
 * boundary of either, and each piece compares its replica sets.
 *
 * @example
 * ```ts
 * const before = ring.ranges(3);
 * ring.setMembers([...ring.members, { id: "n6" }]);
 * for (const move of rangeMoves(before, ring.ranges(3))) console.log(move.gained, move.lost);
 * ```
 */
export function rangeMoves(before: readonly TokenRange[], after: readonly TokenRange[]): RangeMove[] {
  const bounds = [...new Set([...before.map((r) => r.end), ...after.map((r) => r.end)])].sort((a, b) => a - b);
  if (bounds.length === 0) return [];
  const byEnd = (layout: readonly TokenRange[]) => [...layout].sort((a, b) => a.end - b.end);
  const sortedBefore = byEnd(before);
  const sortedAfter = byEnd(after);
  const moves: RangeMove[] = [];
  for (let i = 0; i < bounds.length; i++) {
    const end = bounds[i]!;
    const start = bounds[(i + bounds.length - 1) % bounds.length]!;
    const was = new Set(replicasAt(sortedBefore, end));
    const now = new Set(replicasAt(sortedAfter, end));
    const gained = [...now].filter((n) => !was.has(n));
    const lost = [...was].filter((n) => !now.has(n));
    if (gained.length || lost.length) moves.push({ start, end, gained, lost });
  }
  return moves;
}

/** Replicas of the range holding `token` in a layout sorted by `end` (binary search). */
function replicasAt(layout: readonly TokenRange[], token: number): readonly NodeId[] {
  return layout.length === 0 ? [] : rangeHolding(layout, token).replicas;
}

/**
 * The range holding `token` in `layout` (non-empty, sorted by `end`, covering the ring, as
 * {@link Partitioner.ranges} returns), by binary search.
 */
export function rangeHolding(layout: readonly TokenRange[], token: number): TokenRange {
  const at = lowerBound(layout, token, endVersusToken);
  // Past the last end, the token wraps into the first range.
  return layout[at === layout.length ? 0 : at]!;
}

function endVersusToken(range: TokenRange, token: number): number {
  return range.end - token;
}
