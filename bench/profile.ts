/**
 * CPU profiles, summarised: where a process spent its time, by category, by source file, and
 * by function (self time, idle excluded).
 *
 * @module
 */

/** Where a profiled node's CPU time went, by category, as shares of its sampled time. */
export type ProfileShares = Record<string, number>;

export interface CpuProfile {
  readonly nodes: { id: number; callFrame: { url: string; functionName: string }; children?: number[] }[];
  readonly samples: number[];
  readonly timeDeltas: number[];
}

/** The category of a function, from its script URL and name. */
export function categoryOf(url: string, name: string): string {
  if (name === "(idle)") return "idle";
  if (name === "(garbage collector)") return "garbage collection";
  if (name === "(program)" || name === "(root)") return "runtime (V8 and native, unattributed)";
  if (/msgpackr|core\/codec\/|transports\/tcp\/(frames|peer-link)/.test(url)) return "framing and codec (msgpack, length prefix)";
  if (/hono|@hono|node:_http|_http_|node:http|undici/.test(url)) return "HTTP (Hono, node:http)";
  if (/engines\//.test(url) || /node:fs|internal\/fs/.test(url)) return "storage engine (LSM, fs)";
  if (/transports\/tcp|node:net|internal\/stream|node:stream|internal\/streams|net\.js|stream_base/.test(url)) return "sockets and streams";
  if (/core\/node|replicators\/|resolvers\/|core\/model|partitioners\/|server\/|client\//.test(url)) {
    return "request handling (coordinator, replicas, resolver)";
  }
  if (/detectors\/|anti-entropy\//.test(url)) return "membership and anti-entropy";
  if (/tsx|esbuild|node:internal\/modules/.test(url)) return "module loading";
  if (url === "") return "runtime (V8 and native, unattributed)";
  return "other JavaScript";
}

/** The functions with the most self time (share of non-idle samples), for naming the bottleneck. */
export function topFunctions(profile: CpuProfile, count: number): { fn: string; share: number }[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame] as const));
  const time = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const frame = byId.get(id);
    if (!frame || frame.functionName === "(idle)") return;
    const dt = profile.timeDeltas[i] ?? 0;
    const where = frame.url.replace(/^file:\/\/.*?\/(node_modules\/|(?=core|plugins|server|client|cli)\b)/, "$1");
    const name = `${frame.functionName || "(anonymous)"} ${where}`;
    time.set(name, (time.get(name) ?? 0) + dt);
    total += dt;
  });
  return [...time].sort((a, b) => b[1] - a[1]).slice(0, count).map(([fn, t]) => ({ fn, share: Number((t / total).toFixed(3)) }));
}

/**
 * Category per profile node. Native frames (no script URL: syscalls such as `writeBuffer` or
 * `fsync`, builtins) count for the nearest JavaScript caller, so a socket write is "sockets"
 * and a commit-log fsync is "storage engine".
 */
function categories(profile: CpuProfile): Map<number, string> {
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const out = new Map<number, string>();
  for (const n of profile.nodes) {
    const special = n.callFrame.functionName.startsWith("(");
    let current: typeof n | undefined = n;
    while (!special && current && current.callFrame.url === "") current = byId.get(parent.get(current.id) ?? -1);
    const frame = current?.callFrame ?? n.callFrame;
    out.set(n.id, categoryOf(special ? "" : frame.url, n.callFrame.functionName));
  }
  return out;
}

export function profileShares(profile: CpuProfile): ProfileShares {
  const byId = categories(profile);
  const time = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const category = byId.get(id) ?? "other JavaScript";
    if (category === "idle") return;
    const dt = profile.timeDeltas[i] ?? 0;
    time.set(category, (time.get(category) ?? 0) + dt);
    total += dt;
  });
  return Object.fromEntries([...time].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, Number((v / total).toFixed(3))]));
}

/** Self time by source file (paths from the repo root, or the package for node_modules), largest first. */
export function fileShares(profile: CpuProfile, count: number): { file: string; share: number }[] {
  const byId = categories(profile);
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame] as const));
  const time = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    if (byId.get(id) === "idle") return;
    const url = frames.get(id)?.url ?? "";
    const file = url === ""
      ? "(native, V8, GC)"
      : url.includes("node_modules/")
      ? url.replace(/^.*node_modules\/((?:@[^/]+\/)?[^/]+).*$/, "$1 (package)")
      : url.replace(/^file:\/\/.*?\/(?=(core|plugins|sim|server|client|cli|bench)\/)/, "").replace(/^node:/, "node:");
    const dt = profile.timeDeltas[i] ?? 0;
    time.set(file, (time.get(file) ?? 0) + dt);
    total += dt;
  });
  return [...time].sort((a, b) => b[1] - a[1]).slice(0, count).map(([file, t]) => ({ file, share: Number((t / total).toFixed(3)) }));
}
