/**
 * Reading the CLI's JSON files (store configs, scenarios, node configs).
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { RingforgeError } from "../core/errors.ts";

/**
 * Reads and parses a JSON file; `what` names it in the error.
 *
 * @throws {RingforgeError} `RINGFORGE_INVALID_CONFIG` when it is not valid JSON
 */
export async function readJson(file: string, what: string): Promise<unknown> {
  const text = await readFile(file, "utf8");
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new RingforgeError("RINGFORGE_INVALID_CONFIG", `${what} ${file} is not valid JSON: ${(error as Error).message}`);
  }
}
