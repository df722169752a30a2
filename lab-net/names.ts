/**
 * The names of a real network's kernel objects. Every name starts with a short project prefix
 * (`rf`) and a run id, so one run never touches another's objects, and whatever a crashed run
 * left behind can be found and removed by name alone ({@link cleanupLeftovers}):
 *
 * | object                         | name                  | example            |
 * | ------------------------------ | --------------------- | ------------------ |
 * | the bridge                     | PREFIX RUN `br`       | `rfk3x9qbr`        |
 * | a node's veth, host side       | PREFIX RUN `v` INDEX  | `rfk3x9qv0`        |
 * | a node's network namespace     | PREFIX RUN `-` NODE   | `rfk3x9q-n1`       |
 *
 * Interface names are limited to 15 bytes by the kernel (IFNAMSIZ), hence the short prefix and
 * run id and the index (not the node id) in the veth's name; namespace names are file names
 * under /run/netns and may carry the node id, which makes `ip netns exec rfk3x9q-n1 ...` readable.
 * Inside its namespace the node's end of the veth is `eth0`.
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import { InvalidRequestError } from "../core/errors.ts";

/** The prefix of every name the real network creates unless told otherwise. */
export const DEFAULT_PREFIX = "rf";

/** A node id, as the rest of the project accepts it (core/build/config.ts, server/node-process.ts). */
export const NODE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** A prefix: 1 to 4 lower-case letters, so the longest veth name (`rfk3x9qv252`) fits 15 bytes. */
const PREFIX = /^[a-z]{1,4}$/;

/** A run id: 5 lower-case letters or digits (36^5, about 60 million: concurrent runs do not collide). */
const RUN_ID = /^[a-z0-9]{5}$/;

/** The name of a node's interface inside its namespace. */
export const NODE_INTERFACE = "eth0";

/** A fresh random run id. */
export function newRunId(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  let id = "";
  // 256 is not a multiple of 36; the slight bias toward the first letters does not matter for a name.
  for (const byte of randomBytes(5)) id += alphabet[byte % alphabet.length];
  return id;
}

/** Rejects a prefix that would not fit the kernel's interface names or the leftover patterns. */
export function validatePrefix(prefix: string): void {
  if (!PREFIX.test(prefix)) {
    throw new InvalidRequestError(`name prefix ${JSON.stringify(prefix)} must be 1 to 4 lower-case letters (a-z)`, { prefix });
  }
}

/** Rejects a run id other than 5 lower-case letters or digits. */
export function validateRunId(runId: string): void {
  if (!RUN_ID.test(runId)) {
    throw new InvalidRequestError(`run id ${JSON.stringify(runId)} must be 5 lower-case letters or digits`, { runId });
  }
}

/** The names of one run's objects. */
export interface RunNames {
  /** The bridge every node's veth is attached to; the host's address is on it. */
  readonly bridge: string;
  /** The host-side end of the veth of the node at `index` (0-based). */
  hostVeth(index: number): string;
  /** The network namespace of node `node`. */
  namespace(node: string): string;
}

/** The names of the run `runId` under `prefix` (both validated). */
export function runNames(prefix: string, runId: string): RunNames {
  validatePrefix(prefix);
  validateRunId(runId);
  const stem = prefix + runId;
  return {
    bridge: `${stem}br`,
    hostVeth: (index) => `${stem}v${index}`,
    namespace: (node) => `${stem}-${node}`,
  };
}

/** Patterns matching the objects of one run (`runId` given) or of every run under `prefix`. */
export interface OwnedNamePatterns {
  /** Matches a namespace name. */
  readonly namespace: RegExp;
  /** Matches a link (bridge or veth) name. */
  readonly link: RegExp;
  /** Matches a bridge name (a subset of `link`): removed after the veths attached to it. */
  readonly bridge: RegExp;
}

/** The patterns of the names created under `prefix`, for one run or (without `runId`) any. */
export function ownedNamePatterns(prefix: string, runId?: string): OwnedNamePatterns {
  validatePrefix(prefix);
  if (runId !== undefined) validateRunId(runId);
  const stem = prefix + (runId ?? "[a-z0-9]{5}");
  return {
    namespace: new RegExp(`^${stem}-[A-Za-z0-9][A-Za-z0-9._:-]*$`),
    link: new RegExp(`^${stem}(?:br|v\\d{1,3})$`),
    bridge: new RegExp(`^${stem}br$`),
  };
}
