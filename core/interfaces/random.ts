/**
 * Randomness, injected so a seed reproduces a run.
 *
 * @module
 */
import { type Token, token } from "./token.ts";

/**
 * A source of pseudo-random numbers. Implementations are deterministic for a given seed;
 * {@link Random.fork} derives an independent stream by label, so adding a component that
 * draws numbers does not shift the numbers another component sees.
 */
export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, bound). `bound` must be a positive integer, at most 2^32. */
  int(bound: number): number;
  /** An independent generator derived from this one's seed and `label`. */
  fork(label: string): Random;
}

/** Injection token for the node's {@link Random}. */
export const RANDOM: Token<Random> = token<Random>("Random");
