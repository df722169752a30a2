/**
 * What the cluster benchmark measures ringforge against, in the same run and from the same load
 * process (`npm run bench -- cluster --peers`):
 *
 * - **etcd**: three members on loopback, each with its own data directory, fsync on every
 *   commit (etcd's default), reached through its JSON gateway (`POST /v3/kv/range`,
 *   `POST /v3/kv/put`, base64 keys and values). A Raft store: the consensus system a
 *   Dynamo-style store is meant to beat on latency. Started only when the `etcd` binary is on
 *   the PATH (Debian: the `etcd-server` package).
 * - **the floor**: a bare node:http server over a `Map`, one process, speaking ringforge's
 *   `/kv/<key>` wire so the load process uses the same client as against ringforge. No store
 *   on Node answers HTTP faster; it is what the HTTP round trip alone costs on the machine.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import process from "node:process";
import { type ChildProcesses, type Started, waitForHttp } from "./child-processes.ts";
import { freePort } from "./free-port.ts";

/** The systems the cluster benchmark measures. */
export type TargetName = "ringforge" | "etcd" | "floor";

/** How the load process talks to a target: ringforge's `/kv/<key>` API, or etcd's JSON gateway. */
export type Protocol = "ringforge" | "etcd";

/** A running system under load. */
export interface Target {
  readonly name: TargetName;
  /** One line saying what runs, for the report. */
  readonly description: string;
  readonly protocol: Protocol;
  /** One URL per process; the load process spreads its requests over them. */
  readonly urls: readonly string[];
  /** Its server processes, whose CPU time the load process reads (Linux's /proc). */
  readonly pids: readonly number[];
  /** Stops its processes and removes its data. */
  stop(): Promise<void>;
}

/** The `etcd` binary on the PATH, or `undefined`. */
export function etcdBinary(): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const file = join(dir, "etcd");
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The first line of `etcd --version`, e.g. `etcd Version: 3.4.23`. */
function etcdVersion(binary: string): string {
  const out = spawnSync(binary, ["--version"], { encoding: "utf8" }).stdout ?? "";
  return /Version:\s*(\S+)/.exec(out)?.[1] ?? "unknown version";
}

/** Starts a 3-member etcd cluster on loopback and resolves once every member reports a leader. */
export async function startEtcd(processes: ChildProcesses, binary: string): Promise<Target> {
  const dir = processes.tempDir("ringforge-bench-etcd-");
  const names = ["m1", "m2", "m3"];
  const clientUrls: string[] = [];
  const peerUrls: string[] = [];
  for (let i = 0; i < names.length; i++) {
    clientUrls.push(`http://127.0.0.1:${await freePort()}`);
    peerUrls.push(`http://127.0.0.1:${await freePort()}`);
  }
  const initialCluster = names.map((name, i) => `${name}=${peerUrls[i]}`).join(",");
  // ETCD_* variables would override the flags; the benchmark's cluster is the one below.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("ETCD_")));
  const members: Started[] = names.map((name, i) =>
    processes.start(binary, [
      "--name",
      name,
      "--data-dir",
      join(dir, name),
      "--listen-client-urls",
      clientUrls[i]!,
      "--advertise-client-urls",
      clientUrls[i]!,
      "--listen-peer-urls",
      peerUrls[i]!,
      "--initial-advertise-peer-urls",
      peerUrls[i]!,
      "--initial-cluster",
      initialCluster,
      "--initial-cluster-state",
      "new",
      "--initial-cluster-token",
      `ringforge-bench-${process.pid}`,
      "--logger",
      "zap",
      "--log-level",
      "warn",
    ], { env })
  );
  const stop = async () => {
    await Promise.all(members.map((m) => processes.stop(m.child)));
    await processes.removeDir(dir);
  };
  try {
    // /health is true once the member has a leader and can serve.
    await Promise.all(
      members.map((m, i) =>
        waitForHttp(m, `${clientUrls[i]}/health`, async (r) => r.ok && ((await r.json()) as { health?: string }).health === "true")
      ),
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    name: "etcd",
    description: `etcd ${etcdVersion(binary)}, 3 members on loopback (Raft, fsync on every commit), JSON gateway`,
    protocol: "etcd",
    urls: clientUrls,
    pids: members.map((m) => m.child.pid!),
    stop,
  };
}

/**
 * The floor's server: plain JavaScript that node runs with no loader, as the built ringforge
 * nodes run. It answers ringforge's client API for `/kv/<key>` (GET: 200 and the value, or 404;
 * PUT: 204), with an empty context header so the ringforge client reads its answers.
 */
const FLOOR_SERVER = `
import { createServer } from "node:http";
const values = new Map();
const headers = { "x-ringforge-context": "" };
const valueHeaders = { "x-ringforge-context": "", "content-type": "application/octet-stream" };
const server = createServer((request, response) => {
  const key = request.url;
  if (request.method === "GET") {
    const value = values.get(key);
    if (value === undefined) response.writeHead(404, headers).end();
    else response.writeHead(200, valueHeaders).end(value);
    return;
  }
  if (request.method !== "PUT") {
    response.writeHead(405).end();
    return;
  }
  const chunks = [];
  request.on("data", (chunk) => chunks.push(chunk));
  request.on("end", () => {
    values.set(key, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
    response.writeHead(204, headers).end();
  });
});
server.listen(Number(process.argv[1]), "127.0.0.1");
`;

/** Starts the floor (node:http + Map, one process) and resolves once it answers. */
export async function startFloor(processes: ChildProcesses): Promise<Target> {
  const url = `http://127.0.0.1:${await freePort()}`;
  const server = processes.start(process.execPath, ["--input-type=module", "-e", FLOOR_SERVER, url.split(":").pop()!]);
  const stop = () => processes.stop(server.child);
  try {
    await waitForHttp(server, `${url}/kv/ready`, (r) => r.status === 404);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    name: "floor",
    description: `bare node:http + Map, one process (node ${process.version})`,
    protocol: "ringforge",
    urls: [url],
    pids: [server.child.pid!],
    stop,
  };
}
