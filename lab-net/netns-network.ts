/**
 * A real network for a cluster's node processes on one Linux machine: one network namespace
 * per node, each joined to a private bridge by a veth pair, with its own address in
 * 198.18.0.0/15; faults (partitions, one-way blocks, random loss) as iptables rules inside the
 * namespaces. The host has an address on the bridge too, so a load generator running on the
 * host reaches every node's ports; no namespace has a default route and nothing is NATed, so no
 * packet leaves the machine.
 *
 * ```
 *   host (load) 198.18.0.254 ── rfk3x9qbr ─┬─ rfk3x9qv0 ═ eth0 198.18.0.1  [netns rfk3x9q-n1]
 *                                          ├─ rfk3x9qv1 ═ eth0 198.18.0.2  [netns rfk3x9q-n2]
 *                                          └─ rfk3x9qv2 ═ eth0 198.18.0.3  [netns rfk3x9q-n3]
 * ```
 *
 * Needs root, `ip` (iproute2) and `iptables`. There is no added delay (tc netem is not available
 * everywhere this runs); faults drop packets.
 *
 * The host's own firewall is left alone. Where br_netfilter is loaded with
 * `net.bridge.bridge-nf-call-iptables=1`, bridged node↔node packets also pass the host's FORWARD
 * chain: a host whose FORWARD policy is DROP (Docker sets it) cuts them, and every node↔node probe
 * fails before any fault; accept the bridge's traffic there (`iptables -I FORWARD -i rf+ -o rf+
 * -j ACCEPT`) or turn that sysctl off.
 *
 * @module
 */
import { type ChildProcess, spawn, type SpawnOptions } from "node:child_process";
import { randomInt } from "node:crypto";
import { InvalidRequestError, NotRunningError } from "../core/errors.ts";
import { MAX_NODES, SUBNET_COUNT, subnetInUse, type SubnetPlan, subnetPlan } from "./addresses.ts";
import { trackForExit } from "./exit-cleanup.ts";
import {
  chainReplaceInput,
  chainSetupInput,
  FAULT_CHAIN,
  faultRules,
  type NetworkFaults,
  NO_FAULTS,
  type OneWayBlock,
} from "./fault-rules.ts";
import {
  type Command,
  commandError,
  type HostTools,
  requireNetnsPrerequisites,
  runCommand,
  runSteps,
  runStepsSync,
  type Steps,
} from "./host-tools.ts";
import {
  DEFAULT_PREFIX,
  newRunId,
  NODE_ID,
  NODE_INTERFACE,
  type OwnedNamePatterns,
  ownedNamePatterns,
  type RunNames,
  runNames,
} from "./names.ts";
import { listOwnedSteps, teardownError, teardownSteps } from "./teardown.ts";

/** Options of {@link NetnsNetwork.create}. Plain data; every field has a default. */
export interface NetnsNetworkOptions {
  /** The first letters of every name (1 to 4 lower-case letters). Default `"rf"`. */
  readonly prefix?: string;
  /** The run id in every name (5 lower-case letters or digits). Default: a random one. */
  readonly runId?: string;
  /**
   * Which /24 of 198.18.0.0/15 to use (0 to 511: subnet k is 198.(18 + k/256).(k%256).0/24).
   * Default: the first one no route on this host overlaps, so concurrent runs get different ones.
   */
  readonly subnet?: number;
}

/** How long {@link NetnsNetwork.destroy} waits for a killed process to be reported gone. */
const EXIT_WAIT_MS = 5_000;

/** How many subnets creation tries when another run claims the same one at the same moment. */
const SUBNET_ATTEMPTS = 8;

/**
 * A real network of namespaces on a bridge, with faults injected by iptables. Create it with
 * {@link NetnsNetwork.create}; start node processes in it with {@link NetnsNetwork.exec}; always
 * {@link NetnsNetwork.destroy} it (or `await using`), and install {@link destroyNetworksOnExit}
 * in programs so signals and crashes remove it too.
 *
 * Faults are between nodes only: the host (the load generator) reaches every node whatever the
 * faults, as Jepsen's clients do. {@link NetnsNetwork.partition} replaces the partition,
 * {@link NetnsNetwork.block} adds a one-way block, {@link NetnsNetwork.loss} sets the loss, and
 * {@link NetnsNetwork.heal} removes every fault; they combine (a partition and loss at once).
 *
 * @example
 * ```ts
 * const uninstall = destroyNetworksOnExit();
 * await using network = await NetnsNetwork.create(["n1", "n2", "n3"]);
 * const n1 = network.exec("n1", "node", ["server.js", "--listen", `${network.address("n1")}:7000`], { stdio: "inherit" });
 * await network.partition([["n1"], ["n2", "n3"]]); // n1 alone; the host still reaches it
 * await network.heal();
 * uninstall();
 * ```
 */
export class NetnsNetwork implements AsyncDisposable {
  /** The nodes, in the order given (which sets their addresses: `.1`, `.2`, ...). */
  readonly nodes: readonly string[];
  /** The prefix of every name. */
  readonly prefix: string;
  /** The run id in every name. */
  readonly runId: string;
  /** The bridge's name. */
  readonly bridge: string;
  /** The subnet, in CIDR notation (`198.18.0.0/24`). */
  readonly subnet: string;
  /** The host's address on the bridge (`198.18.0.254`): where a load generator's packets come from. */
  readonly hostAddress: string;

  readonly #tools: HostTools;
  readonly #names: RunNames;
  readonly #patterns: OwnedNamePatterns;
  readonly #addresses: ReadonlyMap<string, string>;
  readonly #children = new Set<ChildProcess>();
  readonly #untrack: () => void;
  #faults: NetworkFaults = NO_FAULTS;
  /** The iptables-restore input last applied per node, so unchanged namespaces are skipped. */
  readonly #applied = new Map<string, string>();
  /** Fault changes, one after the other, so concurrent calls apply in call order. */
  #queue: Promise<void> = Promise.resolve();
  #destroyed = false;
  #destroying: Promise<void> | undefined;

  private constructor(init: {
    nodes: readonly string[];
    prefix: string;
    runId: string;
    plan: SubnetPlan;
    tools: HostTools;
  }) {
    this.nodes = init.nodes;
    this.prefix = init.prefix;
    this.runId = init.runId;
    this.#names = runNames(init.prefix, init.runId);
    this.#patterns = ownedNamePatterns(init.prefix, init.runId);
    this.bridge = this.#names.bridge;
    this.subnet = init.plan.cidr;
    this.hostAddress = init.plan.hostAddress;
    this.#addresses = new Map(init.nodes.map((node, i) => [node, init.plan.nodeAddress(i)]));
    this.#tools = init.tools;
    this.#untrack = trackForExit(this);
  }

  /**
   * Creates the bridge, and for each node a namespace with `lo` up, a veth pair into the
   * bridge, its address and an empty fault chain. Rejects bad input with an
   * {@link InvalidRequestError} before touching anything; throws a `NetnsPrerequisiteError`
   * (not root, `ip` or `iptables` missing: one line saying what to do) or a
   * `NetnsCommandError`, after removing whatever it had created. Refuses a run id whose names
   * exist already (another network's, left alone).
   */
  static async create(nodes: readonly string[], options: NetnsNetworkOptions = {}): Promise<NetnsNetwork> {
    validateNodes(nodes);
    const prefix = options.prefix ?? DEFAULT_PREFIX;
    const runId = options.runId ?? newRunId();
    const names = runNames(prefix, runId);
    if (options.subnet !== undefined) subnetPlan(options.subnet);
    const tools = requireNetnsPrerequisites();
    const patterns = ownedNamePatterns(prefix, runId);
    // Another network with these names (the same run id given twice) must not be touched, not
    // even by the clean-up after a failure: refuse before creating anything.
    const existing = await runSteps(listOwnedSteps(tools, patterns));
    if (existing.namespaces.length + existing.links.length > 0) {
      throw new InvalidRequestError(`run id ${runId} is in use: ${[...existing.namespaces, ...existing.links].join(", ")} exist`, {
        runId,
        existing,
      });
    }
    // Tracked from the first command on: a signal during creation removes the half-built network.
    const teardown = { destroySync: () => void runStepsSync(teardownSteps(tools, patterns)) };
    const untrack = trackForExit(teardown);
    try {
      const plan = await runSteps(buildSteps(tools, names, nodes, options.subnet));
      const network = new NetnsNetwork({ nodes: [...nodes], prefix, runId, plan, tools }); // tracks itself
      untrack();
      return network;
    } catch (error) {
      try {
        await runSteps(teardownSteps(tools, patterns));
      } finally {
        untrack();
      }
      throw error;
    }
  }

  /** Whether {@link NetnsNetwork.destroy} has been called. */
  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** The address of `node` in the network (`198.18.0.1`); bind its listeners there. */
  address(node: string): string {
    const address = this.#addresses.get(node);
    if (address === undefined) throw unknownNode(node, this.nodes);
    return address;
  }

  /** The name of `node`'s network namespace (for `ip netns exec NAME ...` by hand). */
  namespace(node: string): string {
    this.address(node);
    return this.#names.namespace(node);
  }

  /**
   * Starts `command` with `args` inside `node`'s namespace (`ip netns exec`, which replaces
   * itself with the command: the returned process is the command, so its pid can be paused with
   * SIGSTOP or killed). Never through a shell (`options.shell` is ignored). The process is
   * killed when the network is destroyed, if it is still running.
   */
  exec(node: string, command: string, args: readonly string[] = [], options: SpawnOptions = {}): ChildProcess {
    this.#requireLive();
    const ns = this.namespace(node);
    if (typeof command !== "string" || command === "") {
      throw new InvalidRequestError("exec needs a command to run", { node });
    }
    const child = spawn(this.#tools.ip, ["netns", "exec", ns, command, ...args], { ...options, shell: false });
    this.#children.add(child);
    const forget = () => this.#children.delete(child);
    child.once("exit", forget);
    child.once("error", forget);
    return child;
  }

  /** The faults in force now. */
  get faults(): NetworkFaults {
    return this.#faults;
  }

  /**
   * Partitions the nodes into `groups`: nodes in different groups exchange no packet, in either
   * direction; nodes within a group, and the host with every node, are unaffected. Nodes not
   * named form one more group. Replaces any earlier partition; blocks and loss stay.
   */
  async partition(groups: readonly (readonly string[])[]): Promise<void> {
    if (!Array.isArray(groups) || groups.length === 0) {
      throw new InvalidRequestError("a partition needs at least one group of nodes", { groups });
    }
    const seen = new Set<string>();
    const normalized: string[][] = [];
    for (const group of groups) {
      if (!Array.isArray(group) || group.length === 0) {
        throw new InvalidRequestError("a partition's group must name at least one node", { groups });
      }
      for (const node of group) {
        this.address(node);
        if (seen.has(node)) throw new InvalidRequestError(`node ${node} is in two groups of the partition`, { node, groups });
        seen.add(node);
      }
      normalized.push([...group]);
    }
    const rest = this.nodes.filter((node) => !seen.has(node));
    if (rest.length > 0) normalized.push(rest);
    return this.#change({ ...this.#faults, partition: normalized.length > 1 ? normalized : [] });
  }

  /**
   * Drops every packet from `from` to `to`, one way: `to`'s packets still reach `from` (so a
   * TCP connection between them fails both ways, since its replies are lost; UDP shows the
   * asymmetry). Adds to the faults in force.
   */
  async block(from: string, to: string): Promise<void> {
    this.address(from);
    this.address(to);
    if (from === to) throw new InvalidRequestError(`a node cannot be blocked from itself (${from})`, { from, to });
    if (this.#faults.blocks.some((b) => b.from === from && b.to === to)) return await this.#queue;
    const block: OneWayBlock = { from, to };
    return this.#change({ ...this.#faults, blocks: [...this.#faults.blocks, block] });
  }

  /**
   * Drops `fraction` of the packets (0 to 1, drawn independently per packet) in each direction
   * of every node↔node link; the host's links are unaffected. Replaces any earlier loss; 0
   * removes it.
   */
  async loss(fraction: number): Promise<void> {
    if (typeof fraction !== "number" || !Number.isFinite(fraction) || fraction < 0 || fraction > 1) {
      throw new InvalidRequestError(`loss must be a fraction from 0 to 1 (got ${fraction})`, { fraction });
    }
    return this.#change({ ...this.#faults, loss: fraction });
  }

  /** Removes every fault: the fault chain of every namespace is emptied. */
  async heal(): Promise<void> {
    return this.#change(NO_FAULTS);
  }

  /** The rules in `node`'s fault chain now, as `iptables -S` prints them (for reports and debugging). */
  async rules(node: string): Promise<string[]> {
    this.#requireLive();
    const command: Command = {
      file: this.#tools.ip,
      args: ["netns", "exec", this.namespace(node), this.#tools.iptables, "-S", FAULT_CHAIN],
    };
    const result = await runCommand(command);
    if (!result.ok) throw commandError(`read the fault rules of ${node}`, command, result);
    return result.stdout.split("\n").filter((line) => line.startsWith("-A "));
  }

  #change(faults: NetworkFaults): Promise<void> {
    this.#requireLive();
    this.#faults = faults;
    const applied = this.#queue.then(() => this.#applyFaults());
    this.#queue = applied.catch(() => {});
    return applied;
  }

  /** Writes the latest faults into every namespace whose rules changed. */
  async #applyFaults(): Promise<void> {
    if (this.#destroyed) throw new NotRunningError(`real network ${this.bridge}`);
    const faults = this.#faults;
    await Promise.all(this.nodes.map(async (node) => {
      const input = chainReplaceInput(faultRules(faults, this.nodes, (n) => this.address(n), node));
      if (this.#applied.get(node) === input) return;
      const ns = this.#names.namespace(node);
      const command: Command = { file: this.#tools.ip, args: ["netns", "exec", ns, this.#tools.iptablesRestore, "--noflush"], input };
      const result = await runCommand(command);
      if (!result.ok) {
        this.#applied.delete(node);
        throw commandError(`apply the faults in ${ns}`, command, result);
      }
      this.#applied.set(node, input);
    }));
  }

  #requireLive(): void {
    if (this.#destroyed) throw new NotRunningError(`real network ${this.bridge}`);
  }

  /**
   * Kills the processes started with {@link NetnsNetwork.exec} that still run (SIGKILL) and waits
   * for them, kills anything else running in the namespaces, and removes the veths, the bridge
   * and the namespaces (and with them every rule). Idempotent: later calls return the same
   * promise. Rejects with a `NetnsCommandError` naming what could not be removed (a later call
   * tries again).
   */
  destroy(): Promise<void> {
    this.#destroyed = true;
    this.#destroying ??= this.#teardown().catch((error) => {
      this.#destroying = undefined;
      throw error;
    });
    return this.#destroying;
  }

  async #teardown(): Promise<void> {
    const running = [...this.#children].filter((child) => child.exitCode === null && child.signalCode === null);
    await Promise.all(running.map((child) => killAndWait(child)));
    const outcome = await runSteps(teardownSteps(this.#tools, this.#patterns));
    const error = teardownError(outcome);
    if (error) throw error;
    this.#untrack();
  }

  /**
   * {@link NetnsNetwork.destroy}, synchronously, without waiting for killed processes to be
   * reported gone: for exit handlers, where only synchronous code runs. Throws what `destroy`
   * rejects with.
   */
  destroySync(): void {
    this.#destroyed = true;
    for (const child of this.#children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    const error = teardownError(runStepsSync(teardownSteps(this.#tools, this.#patterns)));
    if (error) throw error;
    this.#untrack();
  }

  /** {@link NetnsNetwork.destroy}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.destroy();
  }
}

/** Rejects node lists the network cannot be built for, before anything is created. */
function validateNodes(nodes: readonly string[]): void {
  if (!Array.isArray(nodes) || nodes.length === 0) throw new InvalidRequestError("a real network needs at least one node", { nodes });
  if (nodes.length > MAX_NODES) {
    throw new InvalidRequestError(`a real network holds at most ${MAX_NODES} nodes (got ${nodes.length})`, { count: nodes.length });
  }
  const seen = new Set<string>();
  for (const node of nodes) {
    if (typeof node !== "string" || !NODE_ID.test(node)) {
      throw new InvalidRequestError(
        `node id ${JSON.stringify(node)} is not letters, digits and . _ : - (starting with a letter or digit, at most 128)`,
        { node },
      );
    }
    if (seen.has(node)) throw new InvalidRequestError(`node id ${node} appears twice`, { node });
    seen.add(node);
  }
}

function unknownNode(node: string, nodes: readonly string[]): InvalidRequestError {
  return new InvalidRequestError(`${JSON.stringify(node)} is not a node of this network (${nodes.join(", ")})`, { node, nodes });
}

function killAndWait(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, EXIT_WAIT_MS);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    if (!child.kill("SIGKILL")) {
      clearTimeout(timer);
      resolve();
    }
  });
}

/** The routes' destinations (`ip -j -4 route show table all`), other than through `exceptDevice`. */
function* routeDestinationsSteps(tools: HostTools, exceptDevice?: string): Steps<string[]> {
  const command: Command = { file: tools.ip, args: ["-j", "-4", "route", "show", "table", "all"] };
  const result = yield command;
  if (!result.ok) throw commandError("list the host's routes", command, result);
  if (result.stdout.trim() === "") return [];
  const routes = JSON.parse(result.stdout) as Array<{ dst?: unknown; dev?: unknown }>;
  return routes.filter((r) => r.dev !== exceptDevice).map((r) => r.dst).filter((d): d is string => typeof d === "string");
}

/**
 * The commands that build the network, in order; returns the subnet plan. The caller removes
 * everything by name if one fails. `ip` commands go in batches (one process per batch, about
 * 20 ms saved per command): the host's, then one per namespace.
 */
function* buildSteps(tools: HostTools, names: RunNames, nodes: readonly string[], subnet: number | undefined): Steps<SubnetPlan> {
  const bridge = names.bridge;
  // addrgenmode none: no IPv6 link-local addresses, so nothing travels over a protocol the
  // (IPv4) fault rules would not see.
  yield* ipBatch(tools, `create the bridge ${bridge}`, [
    `link add ${bridge} type bridge`,
    `link set ${bridge} addrgenmode none`,
    `link set ${bridge} up`,
  ]);
  const plan = yield* claimSubnetSteps(tools, bridge, subnet);
  yield* ipBatch(
    tools,
    "create the namespaces and veth pairs",
    nodes.flatMap((node, i) => {
      const ns = names.namespace(node);
      const veth = names.hostVeth(i);
      return [
        `netns add ${ns}`,
        `link add ${veth} type veth peer name ${NODE_INTERFACE} netns ${ns}`,
        `link set ${veth} addrgenmode none`,
        `link set ${veth} master ${bridge} up`,
      ];
    }),
  );
  for (const [i, node] of nodes.entries()) {
    const ns = names.namespace(node);
    yield* ipBatch(tools, `configure the namespace ${ns}`, [
      "link set lo up",
      `link set ${NODE_INTERFACE} addrgenmode none`,
      `address add ${plan.nodeAddress(i)}/24 dev ${NODE_INTERFACE}`,
      `link set ${NODE_INTERFACE} up`,
    ], ns);
    yield* check(`create the fault chain in ${ns}`, {
      file: tools.ip,
      args: ["netns", "exec", ns, tools.iptablesRestore],
      input: chainSetupInput(),
    });
  }
  return plan;
}

/**
 * Gives the bridge the host's address in a free /24 of 198.18.0.0/15. Two runs starting at once
 * may pick the same one: after claiming it, the run looks again, and if another interface has a
 * route into it, gives way and tries another at random (both may give way; neither keeps a
 * shared subnet).
 */
function* claimSubnetSteps(tools: HostTools, bridge: string, requested: number | undefined): Steps<SubnetPlan> {
  const unusable = new Set<number>();
  for (let attempt = 0; attempt < SUBNET_ATTEMPTS; attempt++) {
    const routes = yield* routeDestinationsSteps(tools, bridge);
    let index: number;
    if (requested !== undefined) {
      if (subnetInUse(requested, routes)) {
        throw new InvalidRequestError(`subnet ${subnetPlan(requested).cidr} is already routed on this host; choose another`, {
          subnet: requested,
        });
      }
      index = requested;
    } else {
      const free: number[] = [];
      for (let k = 0; k < SUBNET_COUNT; k++) if (!unusable.has(k) && !subnetInUse(k, routes)) free.push(k);
      if (free.length === 0) throw new InvalidRequestError("every /24 of 198.18.0.0/15 is already routed on this host", {});
      // The first free one on the first try, so a lone run's addresses are predictable (198.18.0.x).
      index = attempt === 0 ? free[0]! : free[randomInt(free.length)]!;
    }
    const plan = subnetPlan(index);
    yield* check(`give the host ${plan.hostAddress} on ${bridge}`, {
      file: tools.ip,
      args: ["address", "add", `${plan.hostAddress}/24`, "dev", bridge],
    });
    if (!subnetInUse(index, yield* routeDestinationsSteps(tools, bridge))) return plan;
    yield* check(`release ${plan.cidr} on ${bridge}`, { file: tools.ip, args: ["address", "flush", "dev", bridge] });
    if (requested !== undefined) {
      throw new InvalidRequestError(`subnet ${plan.cidr} was claimed by another interface meanwhile; choose another`, { subnet: index });
    }
    unusable.add(index);
  }
  throw new InvalidRequestError(`no free /24 of 198.18.0.0/15 after ${SUBNET_ATTEMPTS} tries (other runs starting at once?)`, {});
}

/**
 * Runs `ip` commands (each a line of words: names are validated, never contain spaces) in one
 * `ip -batch` process, in namespace `ns` if given; on failure throws for the line that failed.
 */
function* ipBatch(tools: HostTools, action: string, lines: readonly string[], ns?: string): Steps<void> {
  const command: Command = {
    file: tools.ip,
    args: [...(ns === undefined ? [] : ["-n", ns]), "-batch", "-"],
    input: `${lines.join("\n")}\n`,
  };
  const result = yield command;
  if (result.ok) return;
  // ip stops at the first failure and names its line: "Command failed -:3".
  const failed = lines[Number(/Command failed -:(\d+)/.exec(result.stderr)?.[1] ?? 0) - 1];
  const shown: Command = failed === undefined
    ? command
    : { file: tools.ip, args: [...(ns === undefined ? [] : ["-n", ns]), ...failed.split(" ")] };
  throw commandError(action, shown, { ...result, stderr: result.stderr.replace(/\n?Command failed -:\d+/, "").trim() });
}

/** Runs `command`, throwing a `NetnsCommandError` for `action` if it fails. */
function* check(action: string, command: Command): Steps<void> {
  const result = yield command;
  if (!result.ok) throw commandError(action, command, result);
}
