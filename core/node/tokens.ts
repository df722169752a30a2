/**
 * Injection tokens of the node's core services that plugins may use.
 *
 * @module
 */

/** The node's {@link RecordStore}: local records, token index, hash tree. */
export const RECORD_STORE: unique symbol = Symbol.for("ringforge.RecordStore");
/** The node's {@link RangeSync}: hash-tree comparison and repair with a peer. */
export const RANGE_SYNC: unique symbol = Symbol.for("ringforge.RangeSync");
