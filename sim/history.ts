/**
 * The history of a simulated run: every client operation with its virtual start and end times
 * and what it saw, plus the faults applied. Checkers read it; its digest identifies the run.
 *
 * @module
 */
import { createHash } from "node:crypto";

/** What a client did. */
export type OperationKind =
  | "read"
  | "write"
  | "delete"
  | "cas"
  | "add"
  | "remove"
  | "increment"
  | "decrement"
  | "final-read";

/** One client operation. */
export interface OperationRecord {
  /** Client number (-1 for the lab's own final reads). */
  readonly client: number;
  /** What it did: a read, a write (update or insert), a delete, a set add, or the final read. */
  readonly kind: OperationKind;
  /** The key. */
  readonly key: string;
  /** The node it was sent to. */
  readonly node: string;
  /**
   * For a write or delete, the id of the operation; for an add or remove, the element; for an
   * increment or decrement, the amount.
   */
  readonly value?: string;
  /** Virtual time the client started it, ms. */
  readonly start: number;
  /** Virtual time it completed or failed, ms. */
  readonly end: number;
  /** True if it was acknowledged. */
  readonly ok: boolean;
  /** The error code when it failed. */
  readonly error?: string;
  /**
   * For a read: the ids of the values returned (for the set workload and CRDT sets, the
   * elements; for CRDT counters, each actor's totals as `actor=up/down`).
   */
  readonly read?: readonly string[];
  /** For a compare-and-set: the id it required the register to hold (`null`: empty). */
  readonly expected?: string | null;
  /** For an acknowledged compare-and-set: whether it wrote (false: its condition failed). */
  readonly applied?: boolean;
  /** For a read: how many live siblings it returned. */
  readonly siblings?: number;
  /**
   * For a read of the set workload: siblings that another sibling of the same read descends
   * from (it holds the element their add wrote), so the store should have dropped them: false
   * conflicts, from clocks that cannot tell the client's writes apart or were pruned.
   */
  readonly obsolete?: number;
}

/** A fault applied during the run. */
export interface FaultRecord {
  /** Virtual time, ms. */
  readonly at: number;
  /** The fault, as text. */
  readonly fault: string;
}

/** Everything recorded during one run. */
export class History {
  /** Operations, in the order they completed. */
  readonly operations: OperationRecord[] = [];
  /** Faults, in the order they were applied. */
  readonly faults: FaultRecord[] = [];

  /** Records a completed operation. */
  record(operation: OperationRecord): void {
    this.operations.push(operation);
  }

  /** Records a fault. */
  fault(at: number, fault: string): void {
    this.faults.push({ at, fault });
  }

  /**
   * SHA-256 over the whole history (operations with their times, results and errors, and
   * faults), hex. Two runs with the same digest did the same thing at the same virtual times.
   */
  digest(extra: unknown = null): string {
    const hash = createHash("sha256");
    // The lines go to the hash in chunks: one call per line cost more than the JSON. The hash
    // of the concatenation is the hash of the lines in sequence, so digests do not change.
    let chunk = "";
    const line = (record: unknown) => {
      chunk += `${JSON.stringify(record)}\n`;
      if (chunk.length >= 1 << 16) {
        hash.update(chunk);
        chunk = "";
      }
    };
    for (const op of this.operations) line(op);
    for (const f of this.faults) line(f);
    hash.update(chunk + JSON.stringify(extra));
    return hash.digest("hex");
  }
}
