/**
 * The FileSystem port: what a storage engine does with files, so the same engine runs on the
 * host's disk (core/host/host-file-system.ts, `node:fs`, which Deno also serves) and on a
 * simulated disk on virtual time (core/runtime/simulated-disk.ts), where the lab can crash it,
 * slow it down, fill it up, make it fail and flip its bits.
 *
 * The contract is the part of POSIX an engine can rely on, and no more:
 * - bytes written to a file are readable at once, but survive a crash only once the file has
 *   been {@link FileHandle.sync}ed, or once their write resolved on a file opened
 *   `"write-synced"` (whose handle says {@link FileHandle.syncsWrites}); a crash may keep any
 *   prefix of the unsynced bytes (a torn write), or none;
 * - creating, renaming and deleting a file survive a crash only once its directory has been
 *   {@link FileSystem.syncDirectory}ed (a rename is atomic either way: the old name or the new);
 * - a failed write or sync (EIO, ENOSPC) leaves what was written before it as it was, and the
 *   engine decides what an unknown outcome means.
 *
 * Errors carry Node's `code` (`ENOENT`, `EEXIST`, `EIO`, `ENOSPC`, `EBADF`), as `node:fs` errors
 * do, so one check reads both.
 *
 * @module
 */
import type { Logger } from "./logger.ts";
import { type Token, token } from "./token.ts";

/** An open file. Files opened for writing are written sequentially: each write appends. */
export interface FileHandle {
  /** The path it was opened with. */
  readonly path: string;
  /**
   * Appends `length` bytes of `data` from `offset` (default: all of it).
   * @returns the bytes written (all of them, or the call throws)
   */
  write(data: Uint8Array, offset?: number, length?: number): Promise<number>;
  /**
   * Optional: {@link write} on the calling thread, returning once the bytes are written (on a
   * file opened `"write-synced"`, once they are durable). Cheaper than a write that hands off
   * to a thread pool, but the caller's event loop waits meanwhile, for the device too when the
   * file is write-synced. A file system without it (the simulated disk) is only written with
   * {@link write}.
   * @returns the bytes written (all of them, or the call throws)
   */
  writeSync?(data: Uint8Array, offset?: number, length?: number): number;
  /** Reads up to `length` bytes at `position` into `into` at `offset`; resolves to the bytes read (0 at the end). */
  read(into: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  /** {@link read} without waiting: for readers that cannot afford a promise per block. */
  readSync(into: Uint8Array, offset: number, length: number, position: number): number;
  /** Makes everything written so far durable (fsync). */
  sync(): Promise<void>;
  /**
   * True when each write is durable once it resolves: a file opened `"write-synced"` by a file
   * system that honours the mode. A caller that needs durability syncs unless this is true, so a
   * file system written before the mode existed (which opens it as a plain `"write"`) stays safe.
   */
  readonly syncsWrites?: boolean;
  /** The file's size, bytes. */
  size(): Promise<number>;
  /** Closes it. Idempotent. */
  close(): Promise<void>;
}

/** A directory held by one engine at a time (see `lockDirectory` in core/host/directory-lock.ts). */
export interface HeldDirectory {
  /** Releases it. Idempotent. */
  release(): Promise<void>;
  /** Forgets it without releasing, as a killed process would (crash tests). */
  abandon(): void;
}

/** How {@link FileSystem.open} opens a file. */
export type OpenMode = "read" | "write" | "write-synced";

/** Files and directories, on a host disk or a simulated one. */
export interface FileSystem {
  /** `"host"` or `"simulated"`, for messages and reports. */
  readonly kind: string;
  /** Creates `path` and any missing parent. */
  mkdir(path: string): Promise<void>;
  /** The names in directory `path`. */
  readdir(path: string): Promise<string[]>;
  /** The size of the file at `path`, bytes. */
  size(path: string): Promise<number>;
  /** The whole file. */
  readFile(path: string): Promise<Uint8Array>;
  /** Renames `from` to `to`, replacing `to` if it exists. */
  rename(from: string, to: string): Promise<void>;
  /** Deletes the file at `path`. */
  unlink(path: string): Promise<void>;
  /**
   * Opens a file to read it, or to write it from empty (created or truncated). A file opened
   * `"write-synced"` is written like one opened `"write"`, except that each write is durable
   * before it resolves, as if every write were followed by {@link FileHandle.sync}: a log whose
   * every append must reach the disk (on the host, one `O_DSYNC` write instead of a write and
   * an fsync, which cost a quarter to 40% less CPU per append on the project's Linux VM).
   */
  open(path: string, mode: OpenMode): Promise<FileHandle>;
  /** Makes the directory's entries (files created, renamed or deleted in it) durable. */
  syncDirectory(path: string): Promise<void>;
  /**
   * Takes `path` (a directory that exists) for one engine: a second taker, in this process or
   * another, is refused with a `DirectoryLockedError` until the first releases it.
   */
  lockDirectory(path: string, logger?: Logger): Promise<HeldDirectory>;
  /**
   * Optional: resolves once the host event loop's current turn is over (the I/O events it is
   * handling have run). A log that must make every append durable waits for it before it
   * writes, so that the appends of every request that arrived in the turn share one durable
   * write. A file system on virtual time (the simulated disk) has none: waiting on the host's
   * loop there would make a run depend on the host, and its writes cost nothing to share. The
   * host's has one under Node only (core/host/event-loop.ts says why not under Deno).
   */
  afterTurn?(): Promise<void>;
}

/** An error with Node's `code`, as the simulated disk throws them. */
export class FileSystemError extends Error {
  /** `ENOENT`, `EEXIST`, `EIO`, `ENOSPC`, `EBADF`... */
  readonly code: string;
  /** The path concerned. */
  readonly path: string;

  constructor(code: string, path: string, message: string) {
    super(`${code}: ${message}, '${path}'`);
    this.name = "FileSystemError";
    this.code = code;
    this.path = path;
  }
}

/** True if `error` says the file or directory does not exist (from either file system). */
export function isNotFound(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === "ENOENT";
}

/** Injection token for the node's {@link FileSystem}. */
export const FILE_SYSTEM: Token<FileSystem> = token<FileSystem>("FileSystem");
