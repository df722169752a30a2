/**
 * The real network of the lab: network namespaces on a private bridge, one per node, with
 * partitions, one-way blocks and random loss injected by iptables, for running a scenario's
 * nodes as real processes under real network faults (issue 23). Linux only, as root, with `ip`
 * (iproute2) and `iptables` installed. Not part of the published package.
 *
 * @example
 * ```ts
 * import { destroyNetworksOnExit, NetnsNetwork } from "./lab-net/index.ts";
 *
 * destroyNetworksOnExit(); // SIGINT, SIGTERM, crashes: the network is removed
 * await using network = await NetnsNetwork.create(["n1", "n2", "n3"]);
 * const server = network.exec("n1", "node", ["server.js", network.address("n1")]);
 * await network.partition([["n1"], ["n2", "n3"]]);
 * await network.heal();
 * ```
 *
 * @module
 */
export { MAX_NODES, SUBNET_COUNT, type SubnetPlan, subnetPlan } from "./addresses.ts";
export { MissingToolError, NetnsCommandError, type NetnsPrerequisite, NetnsPrerequisiteError, NotRootError } from "./errors.ts";
export { destroyNetworksOnExit, type ExitCleanupOptions } from "./exit-cleanup.ts";
export { FAULT_CHAIN, type NetworkFaults, NO_FAULTS, type OneWayBlock } from "./fault-rules.ts";
export { currentHost, type HostEnvironment, type HostTools, netnsPrerequisiteProblem, requireNetnsPrerequisites } from "./host-tools.ts";
export { DEFAULT_PREFIX, type OwnedNamePatterns, ownedNamePatterns } from "./names.ts";
export { NetnsNetwork, type NetnsNetworkOptions } from "./netns-network.ts";
export { cleanupLeftovers, type RemovedObjects } from "./teardown.ts";
