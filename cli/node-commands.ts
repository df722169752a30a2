/**
 * The process commands of the CLI: `start` (one node), `cluster` (a local cluster of node
 * processes, cli/local-cluster.ts), and the client commands `get`, `put`, `delete`, `status`,
 * `leave`.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import process from "node:process";
import type { Command } from "commander";
import type { PluginRegistry } from "../core/build/registry.ts";
import { InvalidConfigError, InvalidRequestError } from "../core/errors.ts";
import { encodeText } from "../core/codec/bytes.ts";
import type { CausalContext } from "../core/model/causal-context.ts";
import { type ClientWriteOptions, RingforgeClient } from "../client/ringforge-client.ts";
import type { Consistency } from "../core/model/settings.ts";
import type { NodeStatus } from "../client/node-status.ts";
import type { NodeProcessConfig } from "../server/node-process.ts";
import { autoscaleFlag, integerFlag, InvalidFlagError, listFlag, portFlag, positiveIntFlag, urlFlag } from "./flag-parsers.ts";
import type { LocalClusterFlags } from "./local-cluster.ts";
import { scalerLine } from "./autoscale-status-line.ts";
import { readJson } from "./read-json.ts";
import { fromRenamedFlag, renamedFlag } from "./renamed-flag.ts";
import { onShutdownSignal } from "./shutdown-signals.ts";

/** Where a command writes (see cli/program.ts). */
interface Io {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

interface StartFlags {
  config?: string;
  id?: string;
  peer?: string;
  advertise?: string;
  client?: string;
  seeds?: string[];
  data?: string;
  members?: string[];
  /** The old name of `members` (deprecated). */
  nodes?: string[];
  secretFile?: string;
  tokenFile?: string;
  logLevel?: string;
}

/** The node config from a file (if any), flags and the environment, validated. */
async function startConfig(flags: StartFlags): Promise<NodeProcessConfig> {
  const file = (flags.config ? await readJson(flags.config, "node config") : {}) as Record<string, unknown>;
  if (typeof file !== "object" || file === null || Array.isArray(file)) {
    throw new InvalidConfigError([{ path: "", message: "a node config is a JSON object" }]);
  }
  const peer = { ...(file.peer as object) } as Record<string, unknown>;
  const client = { ...(file.client as object) } as Record<string, unknown>;
  if (flags.peer) peer.listen = flags.peer;
  if (flags.advertise) peer.advertise = flags.advertise;
  if (flags.client) client.listen = flags.client;
  const secret = flags.secretFile
    ? (await readFile(flags.secretFile, "utf8")).trim()
    : (process.env.RINGFORGE_SECRET ?? (file.secret as string | undefined));
  const token = flags.tokenFile ? (await readFile(flags.tokenFile, "utf8")).trim() : (process.env.RINGFORGE_TOKEN ?? client.token);
  if (token !== undefined) client.token = token;
  const store = { ...(file.store as object) } as Record<string, unknown>;
  if (flags.members?.length) store.nodes = flags.members;
  const { parseNodeProcessConfig } = await import("../server/node-process.ts");
  return parseNodeProcessConfig({
    ...file,
    ...(flags.id ? { id: flags.id } : {}),
    peer,
    client,
    ...(flags.seeds?.length ? { seeds: flags.seeds } : {}),
    ...(flags.data ? { dataDir: flags.data } : {}),
    ...(flags.logLevel ? { logLevel: flags.logLevel } : {}),
    ...(secret !== undefined ? { secret } : {}),
    store,
  });
}

/**
 * Registers `start`, `cluster`, `get`, `put`, `delete`, `status` and `leave` on `program`;
 * `registry` loads the plugins when `start` or `cluster` first needs them.
 */
export function registerNodeCommands(program: Command, io: Io, registry: () => Promise<PluginRegistry>): void {
  program
    .command("start")
    .description("run one node as this process (SIGTERM or Ctrl-C stops it cleanly)")
    .option("--config <file>", "node config JSON (flags override its fields)")
    .option("--id <id>", "node id")
    .option("--peer <host:port>", "listen address for peers")
    .option("--advertise <host:port>", "address peers dial, if not the listen address")
    .option("--client <host:port>", "listen address of the HTTP API")
    .option("--seeds <list>", "peer addresses to contact, comma-separated (repeatable)", listFlag)
    .option("--members <ids>", "the store's member ids, comma-separated (store.nodes)", listFlag)
    .addOption(renamedFlag("--nodes <ids>", listFlag))
    .option("--data <dir>", "data directory (default data)")
    .option("--secret-file <file>", "file holding the cluster secret (or set RINGFORGE_SECRET)")
    .option("--token-file <file>", "file holding the client bearer token (or set RINGFORGE_TOKEN)")
    .option("--log-level <level>", "debug, info, warn or error")
    .action(async (flags: StartFlags) => {
      const members = fromRenamedFlag(io.err, { old: "--nodes", current: "--members" }, { old: flags.nodes, current: flags.members });
      const config = await startConfig({ ...flags, ...(members ? { members } : {}) });
      const { startNodeProcess } = await import("../server/node-process.ts");
      const running = await startNodeProcess(config, { registry: await registry() });
      const stop = () => void running.stop();
      const unlisten = onShutdownSignal(stop);
      // Started by `ringforge cluster`: stop with the parent, however it ends.
      if (process.send) process.once("disconnect", stop);
      await running.stopped;
      unlisten();
      if (process.connected) process.disconnect?.();
    });

  program
    .command("cluster")
    .description("run a local cluster of node processes on loopback; Ctrl-C stops them all")
    .option("--nodes <count>", "number of nodes (1-64)", integerFlag("--nodes", 1, 64, "an integer from 1 to 64"), 3)
    .option("--dir <dir>", "data directory (each node uses <dir>/<id>)", "data")
    .option("--peer-base <port>", "peer ports are base+1, base+2, ...", portFlag("--peer-base"), 7000)
    .option("--client-base <port>", "client ports are base+1, base+2, ...", portFlag("--client-base"), 8000)
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option("--store <file>", "store config JSON (default: vector clocks, consistent hashing, sloppy quorum, SWIM, LSM)")
    .option("--log-level <level>", "node log level", "warn")
    .option(
      "--autoscale <limits>",
      "add and remove nodes as the load changes, with the store config's scaler policy: " +
        "min=3,max=8[,interval=5s][,cooldown=30s][,retry=10s][,timeout=2m]",
      autoscaleFlag,
    )
    .option("--autoscale-add-command <command>", "with --autoscale: a shell command that adds a node, instead of a local process")
    .option("--autoscale-remove-command <command>", "with --autoscale: a shell command that removes the node $RINGFORGE_NODE_ID")
    .action(async (flags: LocalClusterFlags) => {
      const { runLocalCluster } = await import("./local-cluster.ts");
      await runLocalCluster(flags, io, await registry());
    });

  const clientOf = (options: { url: string; tokenFile?: string }) =>
    readToken(options.tokenFile).then((token) => new RingforgeClient(options.url, token ? { token } : {}));
  const url = "http://127.0.0.1:8001";

  program
    .command("get")
    .description("read a key; prints the value, or each sibling, and the context")
    .argument("<key>")
    .option("--url <url>", "a node's client URL", urlFlag, url)
    .option("--token-file <file>", "bearer token file (or set RINGFORGE_TOKEN)")
    .option("--r <count>", "replies to wait for", positiveIntFlag("--r"))
    .option("--consistency <level>", "count, local-quorum, each-quorum or linearizable (default: the store's)", consistencyFlag)
    .action(async (key: string, options: { url: string; tokenFile?: string; r?: number; consistency?: Consistency }) => {
      const client = await clientOf(options);
      const result = await client.get(key, {
        ...(options.r ? { r: options.r } : {}),
        ...(options.consistency ? { consistency: options.consistency } : {}),
      });
      if (result.values.length === 0) io.out("(not found)\n");
      else if (result.values.length === 1) io.out(`${showValue(result.values[0]!)}\n`);
      else result.values.forEach((v, i) => io.out(`sibling ${i + 1}: ${showValue(v)}\n`));
      io.out(`context: ${result.context}\n`);
    });

  withWriteFlags(program.command("put"), url)
    .description("write a value (pass the context of your read with --context; compare-and-set with --if-match)")
    .argument("<key>")
    .argument("<value>")
    .action(async (key: string, value: string, options: WriteFlags) => {
      const result = await (await clientOf(options)).put(key, encodeText(value), writeOptions(options));
      io.out(`ok\ncontext: ${result.context}\n`);
    });

  withWriteFlags(program.command("delete"), url)
    .description("delete a key (pass the context of your read with --context)")
    .argument("<key>")
    .action(async (key: string, options: WriteFlags) => {
      const result = await (await clientOf(options)).delete(key, writeOptions(options));
      io.out(`deleted\ncontext: ${result.context}\n`);
    });

  program
    .command("status")
    .description("a node's view of the cluster: members, liveness, ring ownership, hints (--watch: live, every node)")
    .option("--url <url>", "a node's client URL", urlFlag, url)
    .option("--token-file <file>", "bearer token file (or set RINGFORGE_TOKEN)")
    .option("--json", "print the status document as JSON (with --watch: one cluster document per line)")
    .option("--watch", "refresh until interrupted: every member's view and traffic, fitting 100 columns")
    .option("--interval <ms>", "refresh period with --watch", positiveIntFlag("--interval"), 1000)
    .option("--count <frames>", "with --watch, stop after this many frames", positiveIntFlag("--count"))
    .action(async (options: { url: string; tokenFile?: string; json?: boolean; watch?: boolean; interval: number; count?: number }) => {
      const client = await clientOf(options);
      if (options.watch) return watchStatus(client, options, io);
      const status = await client.status();
      io.out(options.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status));
    });

  program
    .command("leave")
    .description("decommission a node: it hands its data to the others and stops")
    .argument("<node-id>", "the id of the node to decommission (checked against the node at --url)")
    .option("--url <url>", "that node's client URL", urlFlag, url)
    .option("--token-file <file>", "bearer token file (or set RINGFORGE_TOKEN)")
    .action(async (nodeId: string, options: { url: string; tokenFile?: string }) => {
      const client = await clientOf(options);
      // Decommissioning cannot be undone: ask which node answers before telling it to leave.
      const status = await client.status();
      if (status.node !== nodeId) {
        throw new InvalidRequestError(
          `the node at ${client.url} is ${status.node}, not ${nodeId}: pass --url with ${nodeId}'s client URL`,
          {
            url: client.url,
            expected: nodeId,
            actual: status.node,
          },
        );
      }
      await client.leave();
      io.out(`node ${status.node} is leaving: it hands off its data, then stops\n`);
    });
}

/**
 * `status --watch`: one frame per interval from `GET /status/cluster`. On a terminal each frame
 * replaces the last; piped, frames follow each other (with `--json`, one document per line). A
 * node that stops answering is reported in the frame and asked again, so the watch survives its
 * restart.
 */
async function watchStatus(
  client: RingforgeClient,
  options: { url: string; json?: boolean; interval: number; count?: number },
  io: Io,
): Promise<void> {
  const { formatClusterView } = await import("./cluster-view.ts");
  const tty = process.stdout.isTTY === true && !options.json;
  for (let frame = 1; options.count === undefined || frame <= options.count; frame++) {
    let text: string;
    try {
      const cluster = await client.clusterStatus();
      text = options.json ? `${JSON.stringify(cluster)}\n` : formatClusterView(cluster, client.url);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      text = options.json
        ? `${JSON.stringify({ error: reason, at: Date.now() })}\n`
        : `ringforge · ${client.url} does not answer (${reason}) · ${new Date().toTimeString().slice(0, 8)}\n`;
    }
    io.out(tty ? `\x1b[H\x1b[2J${text}` : options.json || frame === 1 ? text : `\n${text}`);
    if (options.count !== undefined && frame >= options.count) break;
    await new Promise((resolve) => setTimeout(resolve, options.interval));
  }
}

/** Flags of `put` and `delete`. */
interface WriteFlags {
  url: string;
  tokenFile?: string;
  context?: string;
  w?: number;
  consistency?: Consistency;
  ifMatch?: string;
  ifAbsent?: boolean;
}

/** Adds the flags of `put` and `delete` ({@link WriteFlags}) to `command`, in help order. */
function withWriteFlags(command: Command, defaultUrl: string): Command {
  return command
    .option("--url <url>", "a node's client URL", urlFlag, defaultUrl)
    .option("--token-file <file>", "bearer token file (or set RINGFORGE_TOKEN)")
    .option("--context <context>", "the context printed by get")
    .option("--w <count>", "acknowledgements to wait for", positiveIntFlag("--w"))
    .option("--consistency <level>", "count, local-quorum, each-quorum or linearizable (default: the store's)", consistencyFlag)
    .option(
      "--if-match <version>",
      "write only if the key is still at this version (the context printed by get), else fail with RINGFORGE_PRECONDITION_FAILED and its current version",
    )
    .option("--if-absent", "write only if the key has no value");
}

function writeOptions(flags: WriteFlags): ClientWriteOptions {
  if (flags.ifMatch !== undefined && flags.ifAbsent) {
    throw new InvalidFlagError("--if-match", flags.ifMatch, "--if-match and --if-absent cannot be combined");
  }
  return {
    ...(flags.context ? { context: flags.context as CausalContext } : {}),
    ...(flags.w ? { w: flags.w } : {}),
    ...(flags.consistency ? { consistency: flags.consistency } : {}),
    ...(flags.ifMatch !== undefined ? { ifMatch: flags.ifMatch as CausalContext } : {}),
    ...(flags.ifAbsent ? { ifAbsent: true } : {}),
  };
}

const CONSISTENCIES: readonly Consistency[] = ["count", "local-quorum", "each-quorum", "linearizable"];

function consistencyFlag(value: string): Consistency {
  if (!CONSISTENCIES.includes(value as Consistency)) {
    throw new InvalidFlagError("--consistency", value, `--consistency must be one of ${CONSISTENCIES.join(", ")}`);
  }
  return value as Consistency;
}

async function readToken(file: string | undefined): Promise<string | undefined> {
  if (file) return (await readFile(file, "utf8")).trim();
  return process.env.RINGFORGE_TOKEN;
}

/** A value as text when it is printable UTF-8, else as hex. */
function showValue(value: Uint8Array): string {
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(value);
    // deno-lint-ignore no-control-regex
    if (!/[\u0000-\u0008\u000e-\u001f]/.test(text)) return text;
  } catch {
    // not UTF-8
  }
  return `0x${[...value].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** The status document as a table. */
export function formatStatus(status: NodeStatus): string {
  const rows = status.members.map((m) => [
    m.id + (m.id === status.node ? " *" : ""),
    m.status,
    m.inRing ? `${(m.ownership * 100).toFixed(1)}%` : "-",
    m.address ?? "",
  ]);
  const header = ["member", "status", "owns", "peer address"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `${cells.map((c, i) => c.padEnd(widths[i]!)).join("  ")}\n`;
  const { n, r, w } = status.replication;
  return (
    `node ${status.node} (${status.running ? "running" : "stopped"}), ring epoch ${status.ringEpoch}, N=${n} R=${r} W=${w}\n` +
    `plugins: ${Object.entries(status.plugins).map(([f, p]) => `${f}=${p}`).join(" ")}\n\n` +
    line(header) +
    rows.map(line).join("") +
    `\nrecords ${status.records.keys} (${status.records.bytes} bytes); hints pending ${status.hints.pending}, ` +
    `delivered ${status.hints.delivered}; anti-entropy repaired ${status.antiEntropy.repaired ?? 0}\n` +
    (status.scaler ? `${scalerLine(status.scaler)}\n` : "") +
    "(* = the node answering)\n"
  );
}
