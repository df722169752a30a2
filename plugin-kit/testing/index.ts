/**
 * The conformance suites: one per strategy interface, each a function that registers the
 * tests every implementation of that interface must pass. A plugin is tested by one call with
 * the plugin itself, `partitionerSuite({ plugin: myPlugin })`: the suite creates the plugin's
 * service the way a node does (`plugin.create` from a plugin context, or a whole in-process
 * cluster where the interface needs peers), and what the plugin declares in
 * `plugin.capabilities` decides what is checked. Each suite also has a factory form
 * (`{ name, create, supports }`) for an implementation made in code.
 *
 * The suites run under vitest and under `deno test` with nothing to map: they register their
 * tests with the runner that runs them (see {@link useTestRunner}) and use assertions of
 * their own. They need `fast-check` installed next to ringforge.
 *
 * @example Testing a partitioner plugin under vitest
 * ```ts
 * // jump-hash.test.ts; vitest.config.ts: export default defineConfig({ test: { globals: true } })
 * import { partitionerSuite } from "ringforge/plugin-kit/testing";
 * import { jumpHashPlugin } from "./jump-hash.ts";
 *
 * // One describe block, "Partitioner conformance: jump-hash", of property tests over random
 * // members and keys; capabilities.minimalMovement and capabilities.datacenterReplicas decide
 * // which of them run. `options` (config data, checked by the plugin's schema) is optional.
 * partitionerSuite({ plugin: jumpHashPlugin });
 * ```
 *
 * @example The same file under deno test
 * ```ts
 * // jump-hash.test.ts, run with `deno test`: the suites bring their own runner over Deno.test.
 * import { partitionerSuite } from "npm:ringforge/plugin-kit/testing";
 * import { jumpHashPlugin } from "./jump-hash.ts";
 *
 * partitionerSuite({ plugin: jumpHashPlugin });
 * ```
 *
 * @module
 */

// ---- the suites, one per interface ----------------------------------------------------------

export {
  type PartitionerCapabilities,
  type PartitionerPluginSuiteOptions,
  partitionerSuite,
  type PartitionerSuiteOptions,
} from "./partitioner.ts";
export {
  createReplicatorHarness,
  fail,
  FakeReplicaClient,
  hang,
  ok,
  remoteError,
  type ReplicaAnswer,
  type ReplicaBehaviour,
  type ReplicaCall,
  type ReplicatorCapabilities,
  type ReplicatorDeps,
  type ReplicatorHarness,
  type ReplicatorPluginSuiteOptions,
  replicatorSuite,
  type ReplicatorSuiteOptions,
  REQUEST_TIMEOUT_MS,
  type Settlement,
  SUITE_MEMBERS,
  timeout,
  track,
  type Tracker,
  unreachable,
} from "./replicator.ts";
export { type ConflictResolverPluginSuiteOptions, conflictResolverSuite, type ConflictResolverSuiteOptions } from "./conflict-resolver.ts";
export {
  type DetectorUnderTest,
  type FailureDetectorPluginSuiteOptions,
  failureDetectorSuite,
  type FailureDetectorSuiteOptions,
} from "./failure-detector.ts";
export { type StorageEnginePluginSuiteOptions, storageEngineSuite, type StorageEngineSuiteOptions } from "./storage-engine.ts";
export { type TransportPair, type TransportPluginSuiteOptions, transportSuite, type TransportSuiteOptions } from "./transport.ts";
export { antiEntropySuite, type AntiEntropySuiteOptions } from "./anti-entropy.ts";
export { consensusSuite, type ConsensusSuiteOptions } from "./consensus.ts";
export { type ScalerLevels, scalerSuite, type ScalerSuiteOptions } from "./scaler.ts";
export { dataTypeSuite, type DataTypeSuiteOptions, type OperationFactory } from "./data-type.ts";
export { type SchedulerCapabilities, type SchedulerFixture, schedulerSuite, type SchedulerSuiteOptions } from "./scheduler.ts";
export { randomSuite, type RandomSuiteOptions } from "./random.ts";
export type { FamilyPlugin, PluginSuiteOptions } from "./plugin-under-test.ts";

// ---- the test runner ------------------------------------------------------------------------

export {
  type DescribeFunction,
  type HookFunction,
  type ItFunction,
  type TestFn,
  type TestRunner,
  TestRunnerNotFoundError,
  useTestRunner,
} from "./bdd.ts";
