/**
 * What automatic scaling changed in a local cluster's membership, kept in
 * `<dir>/cluster/scaled.json` so the next `ringforge cluster` on the same directory starts the
 * cluster as it was: the nodes are the ring each node persisted, not the `--nodes` of the
 * command line. Without it, a node added in an earlier run would stay a ring member with no
 * process (its ranges one replica short), and a configured node that left would come back.
 *
 * @module
 */
import { readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { InvalidConfigError } from "../core/errors.ts";

/** A node the autoscaler added: its id and its port index (ports base+index). */
export interface AddedNode {
  /** The node's id (`n4`). */
  readonly id: string;
  /** Its port index: peer port peer-base+index, client port client-base+index. */
  readonly index: number;
}

const fileSchema = z
  .object({
    added: z.array(z.object({ id: z.string().min(1), index: z.number().int().min(1) }).strict()),
    left: z.array(z.string().min(1)),
  })
  .strict();

/** The file's name in the launcher's directory. */
export const LEDGER_FILE = "scaled.json";

/**
 * The membership changes of automatic scaling on one data directory. A node is recorded as
 * added before its process starts (a launcher killed during the join starts it again next time,
 * and it joins or finds itself joined), and as left once its process has exited after its
 * leave.
 */
export class ScalingLedger {
  readonly #file: string;
  readonly #added: AddedNode[];
  readonly #left: string[];
  /** The last save: saves run one after another, each writing the state of its moment. */
  #saving: Promise<void> = Promise.resolve();

  private constructor(file: string, added: AddedNode[], left: string[]) {
    this.#file = file;
    this.#added = added;
    this.#left = left;
  }

  /**
   * The ledger of `configDir` (`<dir>/cluster`); empty if there is none yet.
   *
   * @throws {InvalidConfigError} when the file is there but not a ledger
   */
  static async read(configDir: string): Promise<ScalingLedger> {
    const file = path.join(configDir, LEDGER_FILE);
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return new ScalingLedger(file, [], []);
      throw error;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      raw = undefined;
    }
    const parsed = fileSchema.safeParse(raw);
    if (!parsed.success) {
      throw new InvalidConfigError([{
        path: file,
        message: "is not the autoscaler's record of added and departed nodes ({ added: [{ id, index }], left: [id] }); fix or remove it",
      }]);
    }
    return new ScalingLedger(file, parsed.data.added.map((a) => ({ ...a })), [...parsed.data.left]);
  }

  /** Nodes added in earlier runs (and this one) that are still members. */
  get added(): readonly AddedNode[] {
    return this.#added;
  }

  /** Nodes that left (configured or added): not started again, their ids not given again. */
  get left(): readonly string[] {
    return this.#left;
  }

  /** True if `id` was ever used on this directory by automatic scaling (added or left). */
  knows(id: string): boolean {
    return this.#added.some((a) => a.id === id) || this.#left.includes(id);
  }

  /** Records `node` as added, and saves. */
  async recordAdded(node: AddedNode): Promise<void> {
    if (!this.#added.some((a) => a.id === node.id)) this.#added.push({ ...node });
    await this.#save();
  }

  /** Forgets an add that failed before the node joined, and saves. */
  async forgetAdded(id: string): Promise<void> {
    const i = this.#added.findIndex((a) => a.id === id);
    if (i < 0) return;
    this.#added.splice(i, 1);
    await this.#save();
  }

  /** Records that `id` left the ring and stopped, and saves. */
  async recordLeft(id: string): Promise<void> {
    const i = this.#added.findIndex((a) => a.id === id);
    if (i >= 0) this.#added.splice(i, 1);
    // Kept even for a node that was added: its id is never given to another node here.
    if (!this.#left.includes(id)) this.#left.push(id);
    await this.#save();
  }

  /**
   * Writes the file whole (a temporary file renamed over it), so a crash leaves the old or the
   * new one; after the save before it, so two never write the temporary file at once.
   */
  #save(): Promise<void> {
    const temporary = `${this.#file}.tmp`;
    const write = async () => {
      await writeFile(temporary, `${JSON.stringify({ added: this.#added, left: this.#left }, null, 2)}\n`);
      await rename(temporary, this.#file);
    };
    const saved = this.#saving.then(write, write);
    this.#saving = saved;
    return saved;
  }
}
