/**
 * A CPU profile of built JavaScript, with each frame's script put back to the source file it was
 * bundled from. The built nodes run `dist/chunk-*.js`, which mixes core, plugins and server in
 * one file; bench/profile.ts tells where time went by source path (`core/node/`,
 * `plugins/engines/`, ...), so it reads the frames through the bundle's source maps first.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { SourceMap, type SourceMapPayload } from "node:module";
import { fileURLToPath } from "node:url";
import type { CpuProfile } from "./profile.ts";

/** A profile frame as V8 writes it: zero-based line and column of the function in its script. */
interface Frame {
  url: string;
  functionName: string;
  lineNumber?: number;
  columnNumber?: number;
}

/**
 * `profile` with the URL of every frame in a script that has a source map beside it (`x.js.map`)
 * replaced by the URL of the source file the frame's function came from. Frames without a map,
 * or without a mapping, keep their URL.
 */
export function sourceMappedProfile(profile: CpuProfile): CpuProfile {
  const maps = new Map<string, { map: SourceMap; url: string } | null>();
  const mapOf = (url: string) => {
    if (!maps.has(url)) {
      try {
        const file = `${fileURLToPath(url)}.map`;
        maps.set(url, { map: new SourceMap(JSON.parse(readFileSync(file, "utf8")) as SourceMapPayload), url: `${url}.map` });
      } catch {
        maps.set(url, null);
      }
    }
    return maps.get(url);
  };
  return {
    ...profile,
    nodes: profile.nodes.map((node) => {
      const frame = node.callFrame as Frame;
      if (!frame.url.startsWith("file://") || !frame.url.endsWith(".js")) return node;
      const found = mapOf(frame.url);
      const entry = found?.map.findEntry(frame.lineNumber ?? 0, frame.columnNumber ?? 0);
      if (!found || !entry || !("originalSource" in entry)) return node;
      return { ...node, callFrame: { ...frame, url: new URL(entry.originalSource, found.url).href } };
    }),
  };
}
