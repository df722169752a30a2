/**
 * Frames on a peer connection: a 4-byte big-endian length, then that many bytes of MessagePack
 * (msgpackr, through core/codec). The length prefix is the only framing written here; it lets
 * a receiver refuse an oversized frame from its header, before buffering any of it.
 *
 * @module
 */
import { decode, encodeAfter } from "../../../core/codec/msgpack.ts";
import { allocBytes } from "../../../core/codec/bytes.ts";
import { InvalidMessageError, type WireError } from "../../../core/errors.ts";
import type { Message } from "../../../core/interfaces/transport.ts";

/** Bytes of the length prefix. */
export const HEADER_BYTES = 4;

/**
 * Everything that crosses a peer connection. The first frames of a connection are the
 * handshake (challenge, hello, welcome, refused); after it, requests, replies and one-way
 * messages, plus address lookups (`where` / `here`).
 */
export type Frame =
  | { readonly k: "challenge"; readonly v: number; readonly id: string; readonly nonce: Uint8Array }
  | {
    readonly k: "hello";
    readonly id: string;
    readonly address: string | null;
    readonly nonce: Uint8Array;
    readonly proof: Uint8Array;
  }
  | { readonly k: "welcome"; readonly proof: Uint8Array; readonly book: readonly (readonly [string, string])[] }
  | { readonly k: "refused"; readonly reason: string }
  | { readonly k: "req"; readonly i: number; readonly b: Message }
  | { readonly k: "res"; readonly i: number; readonly b: Message }
  | { readonly k: "err"; readonly i: number; readonly e: WireError }
  | { readonly k: "one"; readonly b: Message }
  | { readonly k: "where"; readonly i: number; readonly node: string }
  | { readonly k: "here"; readonly i: number; readonly address: string | null };

/** A frame whose declared length exceeds the receiver's limit. */
export class FrameTooLargeError extends InvalidMessageError {
  constructor(
    /** Declared length of the frame body. */
    readonly bytes: number,
    /** The receiver's limit. */
    readonly limit: number,
  ) {
    super(`frame of ${bytes} bytes exceeds the limit of ${limit}`);
  }
}

/** Encodes a frame: length prefix and MessagePack body in one buffer (one socket write). */
export function encodeFrame(frame: Frame): Uint8Array {
  const out = encodeAfter(HEADER_BYTES, frame);
  new DataView(out.buffer, out.byteOffset, HEADER_BYTES).setUint32(0, out.length - HEADER_BYTES);
  return out;
}

const isString = (v: unknown): v is string => typeof v === "string";
const isBytes = (v: unknown): v is Uint8Array => v instanceof Uint8Array;
const isId = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const isMessage = (v: unknown): v is Message =>
  typeof v === "object" && v !== null && !Array.isArray(v) && typeof (v as { type?: unknown }).type === "string";
const isWireError = (v: unknown): v is WireError =>
  typeof v === "object" &&
  v !== null &&
  typeof (v as WireError).code === "string" &&
  typeof (v as WireError).message === "string";
const isAddressOrNull = (v: unknown): v is string | null => v === null || (typeof v === "string" && v.length <= 300);

/**
 * Decodes and checks one frame body.
 *
 * @throws {InvalidMessageError} (or its {@link CorruptDataError} cousin from the codec) when the
 *   bytes are not MessagePack or not a frame this version knows
 */
export function decodeFrame(body: Uint8Array): Frame {
  const f = decode(body, "peer frame") as Record<string, unknown> | null;
  if (typeof f !== "object" || f === null || Array.isArray(f)) throw new InvalidMessageError("frame is not a map");
  const ok = (() => {
    switch (f.k) {
      case "challenge":
        return typeof f.v === "number" && isString(f.id) && isBytes(f.nonce);
      case "hello":
        return isString(f.id) && isAddressOrNull(f.address) && isBytes(f.nonce) && isBytes(f.proof);
      case "welcome":
        return (
          isBytes(f.proof) &&
          Array.isArray(f.book) &&
          f.book.length <= 100_000 &&
          f.book.every((e) => Array.isArray(e) && e.length === 2 && isString(e[0]) && isString(e[1]))
        );
      case "refused":
        return isString(f.reason);
      case "req":
      case "res":
        return isId(f.i) && isMessage(f.b);
      case "err":
        return isId(f.i) && isWireError(f.e);
      case "one":
        return isMessage(f.b);
      case "where":
        return isId(f.i) && isString(f.node);
      case "here":
        return isId(f.i) && isAddressOrNull(f.address);
      default:
        return false;
    }
  })();
  if (!ok) throw new InvalidMessageError(`malformed or unknown frame${isString(f.k) ? ` "${f.k.slice(0, 20)}"` : ""}`);
  return f as unknown as Frame;
}

/**
 * Splits a byte stream into frame bodies. Feed it chunks as they arrive; it returns the
 * complete bodies so far and keeps the rest. A declared length over `maxFrameBytes` throws
 * {@link FrameTooLargeError} at once, so a peer cannot make the receiver buffer a huge frame.
 */
export class FrameDecoder {
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  /** Length of the body being read, once its header is complete. */
  #need = -1;

  /** @param maxFrameBytes the largest body accepted */
  constructor(public maxFrameBytes: number) {}

  /** Bytes received but not yet returned as a frame. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Adds a chunk; returns every body it completes (possibly none). */
  push(chunk: Uint8Array): Uint8Array[] {
    if (chunk.length === 0) return [];
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    const out: Uint8Array[] = [];
    for (;;) {
      if (this.#need < 0) {
        if (this.#buffered < HEADER_BYTES) break;
        const header = this.#take(HEADER_BYTES);
        const length = new DataView(header.buffer, header.byteOffset, HEADER_BYTES).getUint32(0);
        if (length > this.maxFrameBytes) throw new FrameTooLargeError(length, this.maxFrameBytes);
        this.#need = length;
      }
      if (this.#buffered < this.#need) break;
      out.push(this.#take(this.#need));
      this.#need = -1;
    }
    return out;
  }

  /** Removes and returns the first `n` buffered bytes (a copy only when they span chunks). */
  #take(n: number): Uint8Array {
    this.#buffered -= n;
    const first = this.#chunks[0]!;
    if (first.length === n) {
      this.#chunks.shift();
      return first;
    }
    if (first.length > n) {
      this.#chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = allocBytes(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.#chunks[0]!;
      const part = Math.min(chunk.length, n - filled);
      out.set(chunk.subarray(0, part), filled);
      filled += part;
      if (part === chunk.length) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(part);
    }
    return out;
  }
}
