/**
 * Link behaviour of a simulated network as plain data: how long a message takes, and how often
 * it is lost or duplicated. Scenarios and the in-process transport's options are written in it.
 *
 * @module
 */
import { z } from "zod";

/**
 * How long a message takes on a link, in ms. `uniform` and `constant` bound the delay;
 * `normal` (clamped at 0) and `exponential` have tails, so messages overtake each other.
 */
export type LatencyDistribution = ConstantLatency | UniformLatency | NormalLatency | ExponentialLatency;

/** Every message takes exactly `ms`. */
export interface ConstantLatency {
  /** Discriminant. */
  readonly kind: "constant";
  /** The delay, ms. */
  readonly ms: number;
}

/** Delays uniform in [min, max]. */
export interface UniformLatency {
  /** Discriminant. */
  readonly kind: "uniform";
  /** Shortest delay, ms. */
  readonly min: number;
  /** Longest delay, ms. */
  readonly max: number;
}

/** Normally distributed delays, clamped at 0. */
export interface NormalLatency {
  /** Discriminant. */
  readonly kind: "normal";
  /** Mean delay, ms. */
  readonly mean: number;
  /** Standard deviation, ms. */
  readonly stddev: number;
}

/** Exponentially distributed delays (a long tail). */
export interface ExponentialLatency {
  /** Discriminant. */
  readonly kind: "exponential";
  /** Mean delay, ms. */
  readonly mean: number;
}

/** How a link treats the messages that cross it. */
export interface LinkBehaviour {
  /** One-way delay. */
  readonly latency: LatencyDistribution;
  /** Probability that a message is lost (0..1). */
  readonly loss: number;
  /** Probability that a message is delivered twice (0..1), each copy with its own delay. */
  readonly duplicate: number;
}

const ms = z.number().min(0).finite();

/** Validates a latency distribution from config data (`{ min, max }` means uniform). */
export const latencySchema: z.ZodType<LatencyDistribution, unknown> = z.union([
  z
    .object({ min: ms, max: ms })
    .strict()
    .refine((l) => l.min <= l.max, "latency.min must not exceed latency.max")
    .transform((l) => ({ kind: "uniform" as const, min: l.min, max: l.max })),
  z.object({ kind: z.literal("constant"), ms }).strict(),
  z
    .object({ kind: z.literal("uniform"), min: ms, max: ms })
    .strict()
    .refine((l) => l.min <= l.max, "latency.min must not exceed latency.max"),
  z.object({ kind: z.literal("normal"), mean: ms, stddev: ms }).strict(),
  z.object({ kind: z.literal("exponential"), mean: ms }).strict(),
]);
