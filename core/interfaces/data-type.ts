/**
 * The DataType interface: a state-based CRDT (Shapiro et al., "Conflict-free Replicated Data
 * Types", 2011) stored as a key's value, whose siblings merge by the type's join.
 *
 * @module
 */

/**
 * A state-based conflict-free replicated data type: states form a join-semilattice, so
 * siblings left by concurrent writes merge into one state that contains every update, in any
 * order, any number of times.
 *
 * Contract (checked for every data type by the conformance suite, with fast-check):
 * - {@link join} is commutative, associative and idempotent, and `empty()` is its identity;
 * - {@link decode} of {@link encode} gives an equal state, and equal states encode to equal
 *   bytes (so replicas holding the same state hold the same value);
 * - {@link decode} of bytes that are not such a state throws {@link CorruptDataError}.
 *
 * The operations (increment, add, remove...) live beside each type and only ever move a state
 * up the lattice; the type's client applies them through a read-modify-write.
 *
 * @typeParam S the state
 */
export interface DataType<S> {
  /** Type name, e.g. `"pn-counter"`; stored in every encoded state to catch mix-ups. */
  readonly name: string;
  /** The state of a key that was never written. */
  empty(): S;
  /** The least upper bound of two states. Must not modify either. */
  join(a: S, b: S): S;
  /** True if the states are equal. */
  equals(a: S, b: S): boolean;
  /** The state as canonical bytes. */
  encode(state: S): Uint8Array;
  /**
   * Reads a state back.
   * @throws {CorruptDataError} for bytes that are not a state of this type
   */
  decode(bytes: Uint8Array): S;
}
