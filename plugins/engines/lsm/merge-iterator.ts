/**
 * Ordered iteration over the LSM engine's sources (memtables and tables): the k-way merge that
 * scans and compactions share.
 *
 * @module
 */
import { compareBytes } from "../../../core/codec/bytes.ts";
import type { TableEntry, TableReader } from "./sstable.ts";

/** The tables of one sorted, non-overlapping level as one ordered iterator. */
export async function* levelRange(
  level: readonly TableReader[],
  gte: Uint8Array | undefined,
  lt: Uint8Array | undefined,
  reverse: boolean,
): AsyncGenerator<TableEntry> {
  const ordered = reverse ? [...level].reverse() : level;
  for (const t of ordered) yield* t.range(gte, lt, reverse);
}

/** A synchronous iterator (a memtable range) as an async one, so it merges with tables. */
export function toAsync(iterator: Iterator<TableEntry>): AsyncIterator<TableEntry> {
  return {
    next: () => Promise.resolve(iterator.next()),
    return: () => {
      iterator.return?.();
      return Promise.resolve({ done: true, value: undefined });
    },
  };
}

/**
 * K-way merge of sorted sources (newest first). Each key comes out once, from the newest source
 * that holds it, tombstones included (callers skip or keep them).
 */
export async function* merge(sources: AsyncIterator<TableEntry>[], reverse: boolean): AsyncGenerator<TableEntry> {
  const heads: (TableEntry | undefined)[] = [];
  try {
    for (const s of sources) heads.push(await next(s));
    for (;;) {
      let best = -1;
      for (let i = 0; i < heads.length; i++) {
        const h = heads[i];
        if (h === undefined) continue;
        if (best < 0) best = i;
        else {
          const c = compareBytes(h.key, heads[best]!.key);
          if (reverse ? c > 0 : c < 0) best = i;
        }
      }
      if (best < 0) return;
      const winner = heads[best]!;
      yield winner;
      for (let i = 0; i < heads.length; i++) {
        const h = heads[i];
        if (h !== undefined && (i === best || compareBytes(h.key, winner.key) === 0)) heads[i] = await next(sources[i]!);
      }
    }
  } finally {
    for (const s of sources) await s.return?.();
  }
}

async function next(source: AsyncIterator<TableEntry>): Promise<TableEntry | undefined> {
  const r = await source.next();
  return r.done ? undefined : r.value;
}
