/**
 * Membership validation and indexing for partitioners: the bundled ones use it, and a
 * partitioner written against the plugin kit can too.
 *
 * @module
 */
import { InvalidConfigError } from "../errors.ts";
import type { MemberInfo } from "../interfaces/partitioner.ts";
import type { NodeId } from "./sibling.ts";
import { fmix32 } from "../hash/murmur3.ts";

/**
 * A validated membership, indexed in id order so placement ignores the input order. Shared:
 * {@link indexMembers} hands the same object to every caller indexing the same list (the nodes
 * of a store), so treat it, its `weights` and its `indexOf` as read-only.
 */
export interface IndexedMembers {
  /** Node ids in id order (UTF-16 code units): the member index of each. */
  readonly ids: readonly NodeId[];
  /** Member index by id. */
  readonly indexOf: ReadonlyMap<NodeId, number>;
  /** Weight by member index (a missing weight is 1). */
  readonly weights: Float64Array;
  /** The members in member-index order. */
  readonly byIndex: readonly MemberInfo[];
}

/**
 * Validates a membership as a whole and indexes it in id order.
 *
 * @throws {InvalidConfigError} on an empty or duplicate id (path `nodes` / `nodes.<id>`) or a
 *   weight that is not a finite positive number (path `nodes.<id>.weight`)
 */
export function indexMembers(members: readonly MemberInfo[]): IndexedMembers {
  // The nodes of a store index the same list (every node of a 512-node simulation did so, a
  // sort of 512 ids each): the last list indexed is kept with a copy of its entries, so a list
  // changed in place since is indexed again.
  const last = lastIndexed;
  if (last !== undefined && last.list === members && sameEntries(last.entries, members)) return last.indexed;
  const indexed = indexAnew(members);
  lastIndexed = { list: members, entries: [...members], indexed };
  return indexed;
}

let lastIndexed: { list: readonly MemberInfo[]; entries: readonly MemberInfo[]; indexed: IndexedMembers } | undefined;

function sameEntries(a: readonly MemberInfo[], b: readonly MemberInfo[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function indexAnew(members: readonly MemberInfo[]): IndexedMembers {
  const issues: { path: string; message: string }[] = [];
  const byId = new Map<NodeId, MemberInfo>();
  for (const member of members) {
    const id = member.id;
    if (typeof id !== "string" || id.length === 0) {
      issues.push({ path: "nodes", message: `node id must be a non-empty string, got ${JSON.stringify(id)}` });
      continue;
    }
    if (byId.has(id)) {
      issues.push({ path: `nodes.${id}`, message: `duplicate node id "${id}"` });
      continue;
    }
    const weight = member.weight ?? 1;
    if (typeof weight !== "number" || !Number.isFinite(weight) || weight <= 0) {
      // A zero weight would mean "member without data": say leave instead.
      issues.push({ path: `nodes.${id}.weight`, message: `weight must be a finite number > 0, got ${String(weight)}` });
    }
    byId.set(id, member);
  }
  if (issues.length > 0) throw new InvalidConfigError(issues);
  const ids = [...byId.keys()].sort(compareIds);
  const indexOf = new Map(ids.map((id, m) => [id, m] as const));
  const weights = Float64Array.from(ids, (id) => byId.get(id)!.weight ?? 1);
  return Object.freeze({ ids: Object.freeze(ids), indexOf, weights, byIndex: Object.freeze(ids.map((id) => byId.get(id)!)) });
}

/** Orders node ids by UTF-16 code units: the same everywhere, unlike `localeCompare`. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Mixes two 32-bit values into a well-spread 32-bit hash (MurmurHash3's finaliser over their
 * combination): the pseudo-random score of a member for a partition or segment, with no
 * allocation on the lookup path.
 */
export function mix32(a: number, b: number): number {
  return fmix32(a ^ Math.imul(b + 0x632be5ab, 0x9e3779b1));
}

/**
 * Which members a walk has met, for partitioners that walk to distinct members: a member is
 * marked when its mark equals the current generation, so starting a walk "clears" every mark in
 * O(1) and a lookup allocates nothing but its result.
 */
export class WalkMarks {
  readonly #seen: Uint32Array;
  #generation = 0;

  /** @param members how many members can be marked */
  constructor(members: number) {
    this.#seen = new Uint32Array(members);
  }

  /** Starts a walk: no member is marked. */
  start(): void {
    if (++this.#generation === 0x1_0000_0000) {
      // After 2^32 - 1 walks the marks would alias: clear them once and start over.
      this.#seen.fill(0);
      this.#generation = 1;
    }
  }

  /** Marks member `m`; true if this walk had not met it yet. */
  first(m: number): boolean {
    if (this.#seen[m] === this.#generation) return false;
    this.#seen[m] = this.#generation;
    return true;
  }

  /** True if this walk has met member `m`. */
  met(m: number): boolean {
    return this.#seen[m] === this.#generation;
  }
}
