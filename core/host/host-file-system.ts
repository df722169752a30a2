/**
 * The host's file system behind the {@link FileSystem} port: `node:fs`, which Node and Deno both
 * serve. What a node process's engine uses.
 *
 * @module
 */
import { constants, fsyncSync, readSync, writeSync } from "node:fs";
import { type FileHandle as NodeFileHandle, mkdir, open, readdir, readFile, rename, stat, unlink } from "node:fs/promises";
import type { FileHandle, FileSystem, HeldDirectory, OpenMode } from "../interfaces/file-system.ts";
import type { Logger } from "../interfaces/logger.ts";
import { lockDirectory } from "./directory-lock.ts";
import { afterThisTurnsFlushes, cheapTurns } from "./event-loop.ts";

class HostFileHandle implements FileHandle {
  #closed = false;

  /**
   * @param syncAfterWrite fsync after every write: a `"write-synced"` file on a platform
   *   without `O_DSYNC`
   */
  constructor(
    readonly path: string,
    private readonly file: NodeFileHandle,
    private readonly syncAfterWrite = false,
    /** Opened `"write-synced"` (with `O_DSYNC`, or syncing after each write). */
    readonly syncsWrites = false,
  ) {}

  async write(data: Uint8Array, offset = 0, length = data.length - offset): Promise<number> {
    let written = 0;
    while (written < length) {
      const { bytesWritten } = await this.file.write(data, offset + written, length - written);
      written += bytesWritten;
    }
    if (this.syncAfterWrite) await this.file.sync();
    return written;
  }

  writeSync(data: Uint8Array, offset = 0, length = data.length - offset): number {
    let written = 0;
    while (written < length) written += writeSync(this.file.fd, data, offset + written, length - written);
    if (this.syncAfterWrite) fsyncSync(this.file.fd);
    return written;
  }

  async read(into: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    return (await this.file.read(into, offset, length, position)).bytesRead;
  }

  readSync(into: Uint8Array, offset: number, length: number, position: number): number {
    return readSync(this.file.fd, into, offset, length, position);
  }

  sync(): Promise<void> {
    return this.file.sync();
  }

  async size(): Promise<number> {
    return (await this.file.stat()).size;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.file.close();
  }
}

/**
 * The host's disk.
 *
 * @example
 * ```ts
 * const file = await hostFileSystem.open("data/n1/000001.log", "write");
 * await file.write(bytes);
 * await file.sync();
 * ```
 */
export const hostFileSystem: FileSystem = {
  // Node only: see cheapTurns.
  ...(cheapTurns ? { afterTurn: afterThisTurnsFlushes } : {}),
  kind: "host",
  mkdir: async (path) => void await mkdir(path, { recursive: true }),
  readdir: (path) => readdir(path),
  size: async (path) => (await stat(path)).size,
  readFile: async (path) => {
    const bytes = await readFile(path);
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  },
  rename: (from, to) => rename(from, to),
  unlink: (path) => unlink(path),
  open: openHostFile,
  syncDirectory: async (path) => {
    try {
      const dir = await open(path, "r");
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    } catch {
      // Some platforms (Windows) cannot open or fsync a directory; a rename is still atomic there.
    }
  },
  lockDirectory: (path: string, logger?: Logger): Promise<HeldDirectory> => lockDirectory(path, logger ? { logger } : {}),
};

/**
 * `"write-synced"` opens with `O_DSYNC` where the platform has it (Linux, macOS; Node and Deno
 * both pass the flag through): each write returns once its bytes, and the file size that reaches
 * them, are on the disk, in one system call. Elsewhere (Windows) every write is followed by an
 * fsync, the same promise at the cost of a second call.
 */
async function openHostFile(path: string, mode: OpenMode): Promise<FileHandle> {
  if (mode === "read") return new HostFileHandle(path, await open(path, "r"));
  if (mode === "write") return new HostFileHandle(path, await open(path, "w"));
  const dsync = typeof constants.O_DSYNC === "number" ? constants.O_DSYNC : undefined;
  if (dsync === undefined) return new HostFileHandle(path, await open(path, "w"), true, true);
  return new HostFileHandle(path, await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | dsync), false, true);
}
