/**
 * The key-value protocol between nodes: replica reads and writes, and requests forwarded to a
 * coordinator. Every incoming message is checked before use; a malformed one is refused with
 * {@link InvalidMessageError} and changes nothing.
 *
 * @module
 */
import type { Consistency } from "../model/settings.ts";
import { InvalidMessageError } from "../errors.ts";
import type { Message } from "../interfaces/transport.ts";

/** Merge these siblings into your record for `key`. Reply: {@link KV_ACK}. */
export const KV_WRITE = "kv.write";
/** Send your record for `key`. Reply: {@link KV_RECORD}. */
export const KV_READ = "kv.read";
/** Coordinate this client request for me (I am not a replica of the key). */
export const KV_COORDINATE = "kv.coordinate";
/** Acknowledgement of a write. */
export const KV_ACK = "kv.ack";
/** A record (sibling rows) in reply to a read. */
export const KV_RECORD = "kv.record";
/** Reply to a coordinated request. */
export const KV_RESULT = "kv.result";

/** A client operation forwarded to a coordinator. */
export interface CoordinateRequest {
  /** The client operation. */
  readonly op: "get" | "put" | "delete";
  /** The key. */
  readonly key: string;
  /** The value of a put (`null` for a delete). */
  readonly value?: Uint8Array | null;
  /** The client's causal context token. */
  readonly context?: string;
  /** Read quorum override. */
  readonly r?: number;
  /** Write quorum override. */
  readonly w?: number;
  /** Time limit override, ms. */
  readonly timeoutMs?: number;
  /** Consistency override. */
  readonly consistency?: Consistency;
}

/** Reads a string field or refuses the message. */
export function field<T>(message: Message, name: string, check: (v: unknown) => v is T, what: string): T {
  const v = message[name];
  if (!check(v)) throw new InvalidMessageError(`${message.type}.${name} must be ${what}`);
  return v;
}

/** Type guard: a string. */
export const isString = (v: unknown): v is string => typeof v === "string";
/** Type guard: undefined or a positive integer. */
export const isOptionalCount = (v: unknown): v is number | undefined =>
  v === undefined || (typeof v === "number" && Number.isInteger(v) && v > 0);

/** Checks and extracts a forwarded request. */
export function parseCoordinateRequest(message: Message): CoordinateRequest {
  const op = message.op;
  if (op !== "get" && op !== "put" && op !== "delete") throw new InvalidMessageError("kv.coordinate.op");
  const key = field(message, "key", isString, "a string");
  const value = message.value;
  if (op === "put" && !(value instanceof Uint8Array)) throw new InvalidMessageError("kv.coordinate.value must be bytes");
  const context = message.context;
  if (context !== undefined && typeof context !== "string") throw new InvalidMessageError("kv.coordinate.context");
  for (const name of ["r", "w", "timeoutMs"] as const) {
    if (!isOptionalCount(message[name])) throw new InvalidMessageError(`kv.coordinate.${name}`);
  }
  const consistency = message.consistency;
  if (consistency !== undefined && consistency !== "count" && consistency !== "local-quorum" && consistency !== "each-quorum") {
    throw new InvalidMessageError("kv.coordinate.consistency");
  }
  return {
    op,
    key,
    value: op === "put" ? (value as Uint8Array) : null,
    context: context as string | undefined,
    r: message.r as number | undefined,
    w: message.w as number | undefined,
    timeoutMs: message.timeoutMs as number | undefined,
    ...(consistency === undefined ? {} : { consistency }),
  };
}
