/**
 * What a version-vector resolver admits from a client's causal context before it stamps a
 * write. A context is untrusted input: it arrives in an HTTP header and can be forged. Two
 * forgeries would otherwise break a key for good:
 *
 * - a counter near 2^53: the next stamp is not a safe integer, every later read returns a
 *   context the store itself refuses, and only blind writes (piling up siblings) get through;
 * - many made-up node ids: every write re-stamps the siblings it did not see with the union
 *   of the clocks, so four writes with 1,000-entry contexts made a 128 KB record and a 43 KB
 *   context header that no HTTP client could send back.
 *
 * The policy (shared by vector clocks and dotted version vectors):
 *
 * - a counter above {@link COUNTER_CEILING} is refused ({@link InvalidContextError}, nothing
 *   stored) unless the key's stored versions already hold it. No real key gets near 2^48
 *   writes through one node, so stamps stay far below 2^53 and every context a read returns is
 *   accepted back;
 * - an entry for a node that is neither a member of the cluster nor named by the key's stored
 *   versions is dropped. Dropping it cannot lose a write: no stored sibling carries that
 *   entry, so what the context covers locally is unchanged; a copy of the key elsewhere that
 *   does carry it only looks concurrent to the new write and stays as a sibling. Versions
 *   therefore name only nodes that are or were members, which bounds every clock, and the
 *   context of every read, by the cluster's size.
 *
 * @module
 */
import { InvalidContextError } from "../../core/errors.ts";
import type { NodeId } from "../../core/model/sibling.ts";

/** A clock entry as this guard reads it: node, counter, and whatever else a resolver keeps. */
type Entry = readonly [node: NodeId, counter: number, ...rest: unknown[]];

/**
 * Largest counter a client context may bring that the key's stored versions do not already
 * hold: 2^48, a factor of 32 below the largest safe integer.
 */
export const COUNTER_CEILING = 2 ** 48;

/**
 * The part of `context` a write may build on, given `known` (the clock of everything the
 * key's stored versions name, sorted by node like every clock) and the cluster's members.
 * Returns `context` itself when nothing is dropped.
 *
 * @throws {InvalidContextError} for a counter over {@link COUNTER_CEILING} that `known` does not hold
 */
export function admitContext<E extends Entry>(
  context: readonly E[],
  known: readonly Entry[],
  isMember: ((node: NodeId) => boolean) | undefined,
): readonly E[] {
  let kept: E[] | undefined;
  let j = 0;
  for (let i = 0; i < context.length; i++) {
    const entry = context[i]!;
    const [node, counter] = entry;
    while (j < known.length && known[j]![0] < node) j++;
    const stored = j < known.length && known[j]![0] === node ? known[j]![1] : 0;
    if (counter > COUNTER_CEILING && counter > stored) {
      throw new InvalidContextError(`counter ${counter} of node "${node}" is out of range (at most ${COUNTER_CEILING} unless stored)`);
    }
    const keep = stored > 0 || isMember === undefined || isMember(node);
    if (!keep && kept === undefined) kept = context.slice(0, i);
    else if (keep && kept !== undefined) kept.push(entry);
  }
  return kept ?? context;
}
