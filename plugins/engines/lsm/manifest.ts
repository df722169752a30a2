/**
 * The LSM engine's manifest: which table files are live, in which level, and which logs still
 * hold writes no table has.
 *
 * @module
 */
import { join } from "node:path";
import { CorruptDataError } from "../../../core/errors.ts";
import { type FileSystem, isNotFound } from "../../../core/interfaces/file-system.ts";
import { crc32c } from "./crc32c.ts";

/** A live table as the manifest records it. */
export interface ManifestTable {
  /** File number (`NNNNNN.sst`). */
  readonly number: number;
  /** Bytes on disk. */
  readonly size: number;
  /** Entries. */
  readonly count: number;
  /** Smallest key, hex. */
  readonly smallest: string;
  /** Largest key, hex. */
  readonly largest: string;
}

/** The engine's durable state besides the tables themselves. */
export interface Manifest {
  /** Next file number to use. */
  readonly nextFile: number;
  /** The oldest log still needed: logs with this number or higher are replayed on open. */
  readonly log: number;
  /** Tables per level; level 0 newest first, deeper levels sorted by key. */
  readonly levels: readonly (readonly ManifestTable[])[];
}

const NAME = "MANIFEST";

/** The manifest in `directory`, or `undefined` for a new store. */
export async function readManifest(fs: FileSystem, directory: string): Promise<Manifest | undefined> {
  let text: string;
  try {
    text = new TextDecoder().decode(await fs.readFile(join(directory, NAME)));
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
  const newline = text.indexOf("\n");
  const body = text.slice(newline + 1);
  const where = `${join(directory, NAME)} at offset 0`;
  if (newline < 0 || Number(text.slice(0, newline)) !== crc32c(new TextEncoder().encode(body))) {
    throw new CorruptDataError(where, "manifest checksum mismatch");
  }
  const data = JSON.parse(body) as Manifest;
  if (!Number.isInteger(data.nextFile) || !Number.isInteger(data.log) || !Array.isArray(data.levels)) {
    throw new CorruptDataError(where, "malformed manifest");
  }
  return data;
}

/**
 * Replaces the manifest atomically: written to a temporary file, fsynced, then renamed over the
 * old one (a rename is atomic), so a crash leaves either the old or the new manifest whole.
 */
export async function writeManifest(fs: FileSystem, directory: string, manifest: Manifest): Promise<void> {
  const body = JSON.stringify(manifest);
  const text = `${crc32c(new TextEncoder().encode(body))}\n${body}`;
  const temporary = join(directory, `${NAME}.tmp`);
  const file = await fs.open(temporary, "write");
  try {
    await file.write(new TextEncoder().encode(text));
    await file.sync();
  } finally {
    await file.close();
  }
  await fs.rename(temporary, join(directory, NAME));
  // The rename, and the table files created since the last manifest, survive a crash from here.
  await fs.syncDirectory(directory);
}
