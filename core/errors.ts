/**
 * Typed errors. Every failure a caller can act on has its own class with a stable `code`
 * (as abstract-level's `LEVEL_*` codes) and the numbers that explain it, so callers branch on
 * `error.code` or `instanceof`, never on message text. Errors cross the wire by code
 * ({@link errorToWire} / {@link errorFromWire}) and come back as the same class.
 *
 * @module
 */

/** Stable error codes. A code never changes meaning once released. */
export type RingforgeErrorCode =
  | "RINGFORGE_INVALID_KEY"
  | "RINGFORGE_INVALID_VALUE"
  | "RINGFORGE_INVALID_CONTEXT"
  | "RINGFORGE_INVALID_CONFIG"
  | "RINGFORGE_INVALID_REQUEST"
  | "RINGFORGE_UNKNOWN_PLUGIN"
  | "RINGFORGE_QUORUM_NOT_REACHED"
  | "RINGFORGE_TIMEOUT"
  | "RINGFORGE_UNREACHABLE"
  | "RINGFORGE_NOT_RUNNING"
  | "RINGFORGE_ADDRESS_IN_USE"
  | "RINGFORGE_ENGINE_NOT_OPEN"
  | "RINGFORGE_STORAGE_IO"
  | "RINGFORGE_CORRUPT_DATA"
  | "RINGFORGE_DIRECTORY_LOCKED"
  | "RINGFORGE_SIBLING_LIMIT"
  | "RINGFORGE_RECORD_TOO_LARGE"
  | "RINGFORGE_INVALID_MESSAGE"
  | "RINGFORGE_MEMBERSHIP_CONFLICT"
  | "RINGFORGE_OVERLOADED"
  | "RINGFORGE_CONNECTION_LOST"
  | "RINGFORGE_UNAUTHORIZED"
  | "RINGFORGE_STALE_READ"
  | "RINGFORGE_PRECONDITION_FAILED"
  | "RINGFORGE_RETRIES_EXHAUSTED"
  | "RINGFORGE_REMOTE_ERROR";

/**
 * Base class of every error ringforge throws on purpose.
 *
 * @example
 * ```ts
 * try {
 *   await store.put("", value);
 * } catch (error) {
 *   if (error instanceof RingforgeError && error.code === "RINGFORGE_INVALID_KEY") { ... }
 * }
 * ```
 */
export class RingforgeError extends Error {
  /** Stable, machine-readable code. */
  readonly code: RingforgeErrorCode;
  /** Structured facts about the failure (numbers, names); plain data, safe to serialise. */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: RingforgeErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }
}

/** Why a key was rejected. */
export type InvalidKeyReason = "not-a-string" | "empty" | "too-large" | "malformed-utf16" | "malformed-percent-encoding";

/** A key is not a non-empty, well-formed string within the configured byte limit. */
export class InvalidKeyError extends RingforgeError {
  constructor(
    /** Why the key was rejected. */
    readonly reason: InvalidKeyReason,
    /** The key's size in UTF-8 bytes (for `too-large`). */
    readonly bytes?: number,
    /** The configured limit in bytes (for `too-large`). */
    readonly limit?: number,
  ) {
    super("RINGFORGE_INVALID_KEY", invalidKeyMessage(reason, bytes, limit), { reason, bytes, limit });
  }
}

function invalidKeyMessage(reason: InvalidKeyReason, bytes?: number, limit?: number): string {
  switch (reason) {
    case "not-a-string":
      return "key must be a string";
    case "empty":
      return "key must not be empty";
    case "too-large":
      return `key is ${bytes} bytes in UTF-8, over the limit of ${limit}`;
    case "malformed-utf16":
      return "key contains a lone surrogate and cannot be encoded as UTF-8";
    case "malformed-percent-encoding":
      // Taken literally, "%FF" and "%25FF" would name one key: refuse rather than guess.
      return "key in the URL is not valid percent-encoded UTF-8 (encode it with encodeURIComponent)";
  }
}

/** Why a value was rejected. */
export type InvalidValueReason = "not-bytes" | "too-large" | "not-encodable";

/**
 * A value is not a Uint8Array, is larger than the configured limit, or (for typed clients) is
 * not data its codec can store.
 */
export class InvalidValueError extends RingforgeError {
  constructor(
    /** Why the value was rejected. */
    readonly reason: InvalidValueReason,
    /** The value's size in bytes (for `too-large`). */
    readonly bytes?: number,
    /** The configured limit in bytes (for `too-large`). */
    readonly limit?: number,
  ) {
    super(
      "RINGFORGE_INVALID_VALUE",
      reason === "not-bytes"
        ? "value must be a Uint8Array (use encodeText / encodeJson for strings and objects)"
        : reason === "not-encodable"
        ? "value is not plain data the codec can store (undefined, a function, a symbol, a class instance...)"
        : `value is ${bytes} bytes, over the limit of ${limit}`,
      { reason, bytes, limit },
    );
  }
}

/** A causal context passed to put/delete was not produced by this store's conflict resolver. */
export class InvalidContextError extends RingforgeError {
  constructor(message: string) {
    super("RINGFORGE_INVALID_CONTEXT", `invalid causal context: ${message}`, { reason: message });
  }
}

/** Per-request options (r, w, timeout) are out of range. */
export class InvalidRequestError extends RingforgeError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super("RINGFORGE_INVALID_REQUEST", message, details);
  }
}

/**
 * A join or leave kept losing to concurrent membership changes (two operators changing the ring
 * at once). Nothing was lost; check the ring view and try again.
 */
export class MembershipConflictError extends RingforgeError {
  constructor(
    /** The node that tried to join or leave. */
    readonly node: string,
    /** How many times it tried. */
    readonly attempts: number,
  ) {
    super(
      "RINGFORGE_MEMBERSHIP_CONFLICT",
      `membership change of ${node}: concurrent changes won ${attempts} time(s); check the ring and retry`,
      {
        node,
        attempts,
      },
    );
  }
}

/** One problem in a configuration. */
export interface ConfigIssue {
  /** Dotted path of the field, e.g. `replication.r` (empty for the whole config). */
  readonly path: string;
  /** What is wrong with it. */
  readonly message: string;
}

/** A store or node configuration is invalid; `issues` lists each problem with its path. */
export class InvalidConfigError extends RingforgeError {
  /** Every problem found, each with the dotted path of the offending field. */
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    super(
      "RINGFORGE_INVALID_CONFIG",
      `invalid configuration: ${issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join("; ")}`,
      { issues },
    );
    this.issues = issues;
  }
}

/** A configuration names a plugin that is not in the registry. */
export class UnknownPluginError extends RingforgeError {
  constructor(
    /** The family searched. */
    readonly family: string,
    /** The name that was not found. */
    readonly pluginName: string,
    /** The names the registry has for that family. */
    readonly available: readonly string[],
  ) {
    super(
      "RINGFORGE_UNKNOWN_PLUGIN",
      `no ${family} plugin named "${pluginName}" (available: ${available.join(", ") || "none"})`,
      { family, name: pluginName, available },
    );
  }
}

/** The operation a quorum failure or timeout happened in. */
export type Operation = "get" | "put" | "delete";

/**
 * Fewer replicas acknowledged than the request required, and no more can: the rest failed or
 * were unreachable. `acknowledged` counts successes, `replied` counts every answer (including
 * failures), `targets` is how many replicas were asked.
 */
export class QuorumNotReachedError extends RingforgeError {
  constructor(
    /** The client operation. */
    readonly operation: Operation,
    /** Replies or acknowledgements the request needed (R or W). */
    readonly required: number,
    /** Successful replies when the request gave up. */
    readonly acknowledged: number,
    /** Replicas asked. */
    readonly targets: number,
    /** One line per replica that failed, naming it and why. */
    readonly failures: readonly string[] = [],
    /**
     * The datacenter whose quorum was not reached, for per-datacenter consistency
     * (`local-quorum`, `each-quorum`); then `required`, `acknowledged` and `targets` count
     * that datacenter's replicas only.
     */
    readonly datacenter?: string,
  ) {
    super(
      "RINGFORGE_QUORUM_NOT_REACHED",
      `${operation} needed ${required} replica(s)${datacenter === undefined ? "" : ` in datacenter ${datacenter}`}, ` +
        `${acknowledged} of ${targets} acknowledged` +
        (failures.length ? ` (${failures.join("; ")})` : ""),
      { operation, required, acknowledged, targets, failures, ...(datacenter === undefined ? {} : { datacenter }) },
    );
  }
}

/** A request did not complete within its time limit. */
export class TimeoutError extends RingforgeError {
  constructor(
    /** What timed out. */
    readonly operation: string,
    /** The time limit in ms. */
    readonly timeoutMs: number,
    details: Record<string, unknown> = {},
  ) {
    super("RINGFORGE_TIMEOUT", `${operation} timed out after ${timeoutMs} ms`, { operation, timeoutMs, ...details });
  }
}

/** A node could not be reached (unknown id, stopped, connection refused). */
export class UnreachableNodeError extends RingforgeError {
  /** The node that could not be reached. */
  readonly node: string;

  /** @param details further facts for subclasses (the URL tried, the system error code) */
  constructor(node: string, reason: string, details: Record<string, unknown> = {}) {
    super("RINGFORGE_UNREACHABLE", `node ${node} is unreachable: ${reason}`, { ...details, node, reason });
    this.node = node;
  }
}

/** The node (or cluster) is not started, or is already stopped. */
export class NotRunningError extends RingforgeError {
  constructor(what: string) {
    super("RINGFORGE_NOT_RUNNING", `${what} is not running`, { what });
  }
}

/**
 * A listener could not bind its address because another process holds it (EADDRINUSE): a
 * start-up failure, reported as one line naming the port and the setting that chooses it.
 */
export class AddressInUseError extends RingforgeError {
  /**
   * @param listener which listener failed (`"client"`, `"peer"`)
   * @param address the `host:port` it tried
   * @param setting how to choose another (a config field or a flag)
   */
  constructor(listener: string, address: string, setting: string) {
    super(
      "RINGFORGE_ADDRESS_IN_USE",
      `the ${listener} port ${address} is already in use (another node running?): stop it or choose another with ${setting}`,
      { listener, address, setting },
    );
  }
}

/** A storage engine was used before `open()` or after `close()`. */
export class EngineNotOpenError extends RingforgeError {
  constructor(engine: string) {
    super("RINGFORGE_ENGINE_NOT_OPEN", `storage engine ${engine} is not open`, { engine });
  }
}

/**
 * The storage engine's disk failed a read, write or sync (`EIO`, `ENOSPC`, a file gone): the
 * operation is not acknowledged, and a write may or may not have reached the disk. `cause` is
 * the file system's error; `details.code` its code.
 */
export class StorageIoError extends RingforgeError {
  constructor(engine: string, cause: unknown) {
    const code = typeof (cause as { code?: unknown } | null)?.code === "string" ? (cause as { code: string }).code : "unknown";
    super("RINGFORGE_STORAGE_IO", `storage engine ${engine}: the disk failed (${cause instanceof Error ? cause.message : String(cause)})`, {
      engine,
      code,
    });
    this.cause = cause;
  }
}

/** Stored bytes failed to decode or verify; `location` names where (key, file, offset). */
export class CorruptDataError extends RingforgeError {
  /** Where the bad bytes are (key, file, offset). */
  readonly location: string;

  constructor(location: string, reason: string) {
    super("RINGFORGE_CORRUPT_DATA", `corrupt data at ${location}: ${reason}`, { location, reason });
    this.location = location;
  }
}

/**
 * A storage engine's data directory is held by another engine (another process, another host,
 * or another engine of this process), so `open()` was refused before touching any file: two
 * writers of one directory lose acknowledged writes. A start-up failure, reported as one line
 * naming the directory and its holder.
 */
export class DirectoryLockedError extends RingforgeError {
  /** The directory the engine was given. */
  readonly directory: string;
  /** The holder's process id, if the lock names it (LevelDB's does not). */
  readonly pid: number | undefined;
  /** The holder's host name, if the lock names it. */
  readonly host: string | undefined;

  /**
   * @param hint what frees the directory, ending the message (e.g. which LOCK file may be
   *   removed once its holder is gone)
   */
  constructor(directory: string, pid: number | undefined, host: string | undefined, hint: string) {
    super(
      "RINGFORGE_DIRECTORY_LOCKED",
      pid === undefined
        ? `data directory ${directory} is in use by another process (${hint})`
        : `data directory ${directory} is in use by process ${pid} on host ${host ?? "unknown"} (${hint})`,
      { directory, ...(pid === undefined ? {} : { pid }), ...(host === undefined ? {} : { host }), hint },
    );
    this.directory = directory;
    this.pid = pid;
    this.host = host;
  }
}

/**
 * A write would leave more siblings than the store allows (Riak refuses at 100): resolve the
 * siblings by reading and writing back with the context, or use a resolver that bounds them.
 */
export class SiblingLimitError extends RingforgeError {
  /** The key written. */
  readonly key: string;
  /** Siblings the write would have left. */
  readonly siblings: number;
  /** The configured maximum. */
  readonly limit: number;

  constructor(key: string, siblings: number, limit: number) {
    super("RINGFORGE_SIBLING_LIMIT", `key "${key}" would have ${siblings} siblings, over the limit of ${limit}`, {
      key,
      siblings,
      limit,
    });
    this.key = key;
    this.siblings = siblings;
    this.limit = limit;
  }
}

/**
 * A change would leave a stored record (every sibling's value and version, plus the key) larger
 * than the store allows (`limits.maxRecordBytes`). Nothing was stored. As with
 * {@link SiblingLimitError}: resolve the siblings by reading and writing back with the context,
 * or store smaller values.
 */
export class RecordTooLargeError extends RingforgeError {
  /** The key written. */
  readonly key: string;
  /** Bytes the record would have had. */
  readonly bytes: number;
  /** The configured maximum, bytes. */
  readonly limit: number;
  /** Siblings the record would have had. */
  readonly siblings: number;

  constructor(key: string, bytes: number, limit: number, siblings: number) {
    super(
      "RINGFORGE_RECORD_TOO_LARGE",
      `key "${key}" would have a record of ${bytes} bytes (${siblings} siblings), over the limit of ${limit}`,
      { key, bytes, limit, siblings },
    );
    this.key = key;
    this.bytes = bytes;
    this.limit = limit;
    this.siblings = siblings;
  }
}

/**
 * A read in a session found no replica that reflects what the session already saw or wrote
 * (read-your-writes, monotonic reads): the replies were older, even after asking every replica.
 * Nothing was returned, so the guarantee holds; retry later, when replication has caught up.
 */
export class StaleReadError extends RingforgeError {
  constructor(
    /** The key read. */
    readonly key: string,
    /** Replicas whose replies were merged (R, then N if the first replies were stale). */
    readonly replicas: number,
  ) {
    super(
      "RINGFORGE_STALE_READ",
      `key "${key}": the ${replicas} replica(s) that answered are older than what this session already saw or wrote`,
      { key, replicas },
    );
  }
}

/**
 * A conditional write or delete (`ifMatch`, `ifAbsent`) found the key in another state than the
 * condition asked for: nothing was written. `version` is the key's current version (the causal
 * context a read would return now): retry with `ifMatch: version` after looking at the value.
 */
export class PreconditionFailedError extends RingforgeError {
  constructor(
    /** The key written. */
    readonly key: string,
    /** The condition that failed: `if-match` (another version) or `if-absent` (the key has a value). */
    readonly condition: "if-match" | "if-absent",
    /** The key's current version (causal context token). */
    readonly version: string,
    /** Whether the key has a live value now. */
    readonly exists: boolean,
  ) {
    super(
      "RINGFORGE_PRECONDITION_FAILED",
      condition === "if-absent"
        ? `key "${key}" already has a value; nothing was written`
        : `key "${key}" ${exists ? "is at another version" : "has no value"} than the one required; nothing was written`,
      { key, condition, version, exists },
    );
  }
}

/**
 * A read-modify-write gave up: every try failed with an error worth retrying (a timeout, a
 * quorum not reached, a stale read). `cause` is the last try's error.
 */
export class RetriesExhaustedError extends RingforgeError {
  constructor(
    /** The key updated. */
    readonly key: string,
    /** Tries made. */
    readonly tries: number,
    /** The last try's error. */
    override readonly cause: RingforgeError,
  ) {
    super("RINGFORGE_RETRIES_EXHAUSTED", `key "${key}": update failed ${tries} time(s); last: ${cause.message}`, {
      key,
      tries,
      last: cause.code,
    });
  }
}

/**
 * A bounded resource is full (requests pending on a connection, bytes queued for a peer, client
 * requests in progress): the request was refused before anything ran, and can be retried later.
 */
export class OverloadedError extends RingforgeError {
  constructor(
    /** What is full. */
    readonly resource: string,
    /** Its limit. */
    readonly limit: number,
  ) {
    super("RINGFORGE_OVERLOADED", `${resource} is full (limit ${limit}); retry later`, { resource, limit });
  }
}

/**
 * The connection to a node closed while a request was in flight: the request may or may not
 * have run there (as with a timeout), so a write is not acknowledged and a retry is safe.
 */
export class ConnectionLostError extends RingforgeError {
  /** The node the request went to. */
  readonly node: string;

  constructor(node: string, reason: string) {
    super("RINGFORGE_CONNECTION_LOST", `connection to ${node} lost with a request in flight (${reason})`, { node, reason });
    this.node = node;
  }
}

/** A client or peer did not present valid credentials (bearer token, cluster secret). */
export class UnauthorizedError extends RingforgeError {
  constructor(reason: string) {
    super("RINGFORGE_UNAUTHORIZED", `unauthorized: ${reason}`, { reason });
  }
}

/** A message from the network did not have the expected shape. */
export class InvalidMessageError extends RingforgeError {
  constructor(reason: string) {
    super("RINGFORGE_INVALID_MESSAGE", `invalid message: ${reason}`, { reason });
  }
}

/** A remote node failed with an error that is not a {@link RingforgeError}. */
export class RemoteError extends RingforgeError {
  constructor(node: string, message: string) {
    super("RINGFORGE_REMOTE_ERROR", `node ${node} failed: ${message}`, { node });
  }
}

/** The plain-data form of an error, as it travels between nodes. */
export interface WireError {
  /** The error's stable code. */
  readonly code: string;
  /** Its message. */
  readonly message: string;
  /** Its structured details. */
  readonly details: Record<string, unknown>;
}

/** Serialises an error for the wire. Non-ringforge errors keep only their message. */
export function errorToWire(error: unknown): WireError {
  if (error instanceof RingforgeError) {
    return { code: error.code, message: error.message, details: { ...error.details } };
  }
  return { code: "RINGFORGE_REMOTE_ERROR", message: error instanceof Error ? error.message : String(error), details: {} };
}

// The node that failed is named by the receiver (`from`), which knows who answered.

/**
 * Rebuilds a typed error from its wire form, so a caller on another node can branch on the same
 * class and code as a local caller.
 */
export function errorFromWire(wire: WireError, from: string): RingforgeError {
  const d = wire.details ?? {};
  const num = (k: string) => (typeof d[k] === "number" ? (d[k] as number) : 0);
  const str = (k: string) => (typeof d[k] === "string" ? (d[k] as string) : "");
  switch (wire.code) {
    case "RINGFORGE_INVALID_KEY":
      return new InvalidKeyError(str("reason") as InvalidKeyReason, num("bytes"), num("limit"));
    case "RINGFORGE_INVALID_VALUE":
      return new InvalidValueError(str("reason") as InvalidValueReason, num("bytes"), num("limit"));
    case "RINGFORGE_QUORUM_NOT_REACHED":
      return new QuorumNotReachedError(
        str("operation") as Operation,
        num("required"),
        num("acknowledged"),
        num("targets"),
        Array.isArray(d.failures) ? (d.failures as string[]) : [],
        typeof d.datacenter === "string" ? d.datacenter : undefined,
      );
    case "RINGFORGE_TIMEOUT": {
      const { operation: _o, timeoutMs: _t, ...rest } = d;
      return new TimeoutError(str("operation"), num("timeoutMs"), rest);
    }
    case "RINGFORGE_UNREACHABLE":
      return new UnreachableNodeError(str("node"), str("reason"));
    case "RINGFORGE_PRECONDITION_FAILED":
      return new PreconditionFailedError(
        str("key"),
        str("condition") === "if-absent" ? "if-absent" : "if-match",
        str("version"),
        d.exists === true,
      );
    case "RINGFORGE_SIBLING_LIMIT":
      return new SiblingLimitError(str("key"), num("siblings"), num("limit"));
    case "RINGFORGE_RECORD_TOO_LARGE":
      return new RecordTooLargeError(str("key"), num("bytes"), num("limit"), num("siblings"));
    case "RINGFORGE_CORRUPT_DATA":
      return new CorruptDataError(str("location"), str("reason"));
    case "RINGFORGE_DIRECTORY_LOCKED":
      return new DirectoryLockedError(
        str("directory"),
        typeof d.pid === "number" ? d.pid : undefined,
        typeof d.host === "string" ? d.host : undefined,
        str("hint"),
      );
    case "RINGFORGE_INVALID_CONTEXT":
      return new InvalidContextError(str("reason") || wire.message);
    case "RINGFORGE_INVALID_REQUEST":
      return new InvalidRequestError(wire.message, d);
    case "RINGFORGE_INVALID_CONFIG":
      return new InvalidConfigError(Array.isArray(d.issues) ? (d.issues as ConfigIssue[]) : [{ path: "", message: wire.message }]);
    case "RINGFORGE_UNKNOWN_PLUGIN":
      return new UnknownPluginError(str("family"), str("name"), Array.isArray(d.available) ? (d.available as string[]) : []);
    case "RINGFORGE_NOT_RUNNING":
      return new NotRunningError(str("what") || `a component of ${from}`);
    case "RINGFORGE_ADDRESS_IN_USE":
      return new AddressInUseError(str("listener"), str("address"), str("setting"));
    case "RINGFORGE_ENGINE_NOT_OPEN":
      return new EngineNotOpenError(str("engine") || `of ${from}`);
    case "RINGFORGE_INVALID_MESSAGE":
      return new InvalidMessageError(str("reason") || wire.message);
    case "RINGFORGE_MEMBERSHIP_CONFLICT":
      return new MembershipConflictError(str("node"), num("attempts"));
    case "RINGFORGE_OVERLOADED":
      return new OverloadedError(str("resource"), num("limit"));
    case "RINGFORGE_CONNECTION_LOST":
      return new ConnectionLostError(str("node") || from, str("reason"));
    case "RINGFORGE_UNAUTHORIZED":
      return new UnauthorizedError(str("reason") || wire.message);
    case "RINGFORGE_STALE_READ":
      return new StaleReadError(str("key"), num("replicas"));
    case "RINGFORGE_REMOTE_ERROR":
      // Already a remote failure relayed once: keep its message, which names the first node.
      return new RemoteError(typeof d.node === "string" ? d.node : from, wire.message.replace(/^node \S+ failed: /, ""));
    default:
      // A code this version does not know (a newer peer): a remote failure, message kept.
      return KNOWN_CODES.has(wire.code as RingforgeErrorCode)
        ? new RingforgeError(wire.code as RingforgeErrorCode, wire.message, d)
        : new RemoteError(from, wire.message);
  }
}

const KNOWN_CODES = new Set<RingforgeErrorCode>([
  "RINGFORGE_INVALID_KEY",
  "RINGFORGE_INVALID_VALUE",
  "RINGFORGE_INVALID_CONTEXT",
  "RINGFORGE_INVALID_CONFIG",
  "RINGFORGE_INVALID_REQUEST",
  "RINGFORGE_UNKNOWN_PLUGIN",
  "RINGFORGE_QUORUM_NOT_REACHED",
  "RINGFORGE_TIMEOUT",
  "RINGFORGE_UNREACHABLE",
  "RINGFORGE_NOT_RUNNING",
  "RINGFORGE_ADDRESS_IN_USE",
  "RINGFORGE_ENGINE_NOT_OPEN",
  "RINGFORGE_CORRUPT_DATA",
  "RINGFORGE_DIRECTORY_LOCKED",
  "RINGFORGE_SIBLING_LIMIT",
  "RINGFORGE_RECORD_TOO_LARGE",
  "RINGFORGE_INVALID_MESSAGE",
  "RINGFORGE_MEMBERSHIP_CONFLICT",
  "RINGFORGE_OVERLOADED",
  "RINGFORGE_CONNECTION_LOST",
  "RINGFORGE_UNAUTHORIZED",
  "RINGFORGE_STALE_READ",
  "RINGFORGE_PRECONDITION_FAILED",
  "RINGFORGE_RETRIES_EXHAUSTED",
  "RINGFORGE_REMOTE_ERROR",
]);
