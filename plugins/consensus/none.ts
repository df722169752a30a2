/**
 * No consensus: the store refuses linearizable requests and atomic conditional writes.
 *
 * @module
 */
import { z } from "zod";
import { choose, definePlugin, type Plugin, type PluginChoice } from "../../core/build/plugin.ts";
import { InvalidRequestError } from "../../core/errors.ts";
import type { Consensus, ConsensusStats } from "../../core/interfaces/consensus.ts";
import type { SiblingSet } from "../../core/model/sibling.ts";

/**
 * A {@link Consensus} that refuses every request with {@link InvalidRequestError}: for a store
 * that must stay purely Dynamo-style (every request served by quorums, hints and merges), so a
 * request asking for more fails clearly instead of costing Paxos rounds.
 */
export class NoConsensus implements Consensus {
  readonly name = "none";
  readonly stats: ConsensusStats = { completed: 0, contended: 0, completedForOthers: 0 };
  read(key: string): Promise<SiblingSet> {
    return Promise.reject(refusal(key));
  }
  update(key: string): Promise<SiblingSet> {
    return Promise.reject(refusal(key));
  }
}

function refusal(key: string): InvalidRequestError {
  return new InvalidRequestError(
    `key "${key}": this store has no consensus strategy (consensus "none"), so it serves no linearizable or atomic conditional request`,
    { key },
  );
}

/** Options of no consensus (none). */
export type NoConsensusOptions = Record<string, never>;

/** The "none" consensus plugin. */
export const noConsensusPlugin: Plugin<NoConsensusOptions, "consensus", undefined> = definePlugin({
  family: "consensus",
  name: "none",
  description: "No linearizable requests: they fail with RINGFORGE_INVALID_REQUEST.",
  options: z.object({}).strict() as z.ZodType<NoConsensusOptions, unknown>,
  create: () => new NoConsensus(),
});

/**
 * Chooses no consensus.
 *
 * @example
 * ```ts
 * const cluster = await store().use(noConsensus()).cluster();
 * ```
 */
export function noConsensus(): PluginChoice<NoConsensusOptions> {
  return choose(noConsensusPlugin) as PluginChoice<NoConsensusOptions>;
}
