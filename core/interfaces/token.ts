/**
 * Typed injection tokens: a symbol that carries, in the type system only, the type of the
 * service it names, so the node build registers and resolves services without casts.
 *
 * @module
 */

/** An injection token naming a service of type `T`. */
export type Token<T> = symbol & {
  /** Type-level only: the service the token names (never set at run time). */
  readonly __service?: T;
};

/**
 * A token for `ringforge.<name>` (a registered symbol, so two copies of a module agree).
 *
 * @example
 * ```ts
 * const PARTITIONER = token<Partitioner>("Partitioner");
 * ```
 */
export function token<T>(name: string): Token<T> {
  return Symbol.for(`ringforge.${name}`) as Token<T>;
}
