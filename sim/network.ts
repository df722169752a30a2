/**
 * The simulated network a scenario runs over, reached through the cluster: the transport plugin
 * declares the `simulatedNetwork` capability and shares one {@link SimulatedNetwork} among the
 * cluster's nodes. The lab never imports a transport plugin.
 *
 * @module
 */
import type { Cluster } from "../core/build/cluster.ts";
import { InvalidConfigError } from "../core/errors.ts";
import type { SimulatedNetwork } from "../core/interfaces/simulated-network.ts";

/**
 * The network of `cluster`'s simulation.
 *
 * @throws {InvalidConfigError} when the cluster's transport is not a simulated network (`tcp`)
 *
 * @example
 * ```ts
 * const network = simulatedNetwork(cluster);
 * network.partition([["n1", "n2"], ["n3", "n4", "n5"]]);
 * network.heal();
 * ```
 */
export function simulatedNetwork(cluster: Cluster): SimulatedNetwork {
  const { plugin } = cluster.store.plugins.transport;
  const network = cluster.shared("transport");
  if (!plugin.capabilities.simulatedNetwork || network === undefined) {
    throw new InvalidConfigError([
      {
        path: "transport",
        message:
          `the simulator injects faults into a simulated network; config "${cluster.store.name}" uses transport "${plugin.name}", which is not one`,
      },
    ]);
  }
  // The capability is the plugin's promise that what it shares implements the port.
  return network as SimulatedNetwork;
}
