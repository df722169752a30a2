/**
 * A map of CRDTs with a fixed set of fields, each its own data type, joined field by field
 * (Riak's maps embed counters, sets, registers and flags the same way).
 *
 * @module
 */
import type { DataType } from "../../interfaces/data-type.ts";
import { CorruptDataError } from "../../errors.ts";
import type { PreparedUpdate } from "../crdt-store.ts";
import { seal, unseal } from "./envelope.ts";

/** The data type of each field. */
export type MapSchema = Readonly<Record<string, DataType<any>>>;

/** A map's state: every field's state. */
export type MapState<Schema extends MapSchema> = { readonly [F in keyof Schema]: Schema[F] extends DataType<infer S> ? S : never };

/**
 * The data type of maps with the fields of `schema`. Fields are fixed at run time (Riak's maps
 * can remove fields with observed-remove semantics; here a field goes back to its empty state
 * by the field type's own operations). A field missing from stored bytes reads as empty, so a
 * later version of the schema can add fields without migrating data; stored data with a field
 * the schema no longer has is refused with {@link CorruptDataError}, so remove fields never.
 *
 * @example
 * ```ts
 * const profile = mapType({ visits: pnCounterType, tags: orSetType, name: lwwRegisterType });
 * const profiles = new CrdtStore(cluster.node("n1"), profile, { actor: "web-1" });
 * await profiles.update("user:ada", inField("visits", (first) => prepareChange(first, "web-1", "up", 1)));
 * ```
 */
export function mapType<Schema extends MapSchema>(schema: Schema): DataType<MapState<Schema>> {
  const fields = Object.keys(schema).sort();
  // The stored tag is "map" whatever the fields, so a schema can gain fields over stored data;
  // each field's own state carries its type's name, so a field whose type changed is refused.
  const name = "map";
  const each = (f: (field: string, type: DataType<unknown>) => unknown) =>
    Object.fromEntries(fields.map((field) => [field, f(field, schema[field]!)])) as MapState<Schema>;
  const type: DataType<MapState<Schema>> = {
    name,
    empty: () => each((_, t) => t.empty()),
    join: (a, b) => each((field, t) => t.join((a as Record<string, unknown>)[field], (b as Record<string, unknown>)[field])),
    equals: (a, b) =>
      fields.every((field) => schema[field]!.equals((a as Record<string, unknown>)[field], (b as Record<string, unknown>)[field])),
    encode: (state) => seal(name, fields.map((field) => [field, schema[field]!.encode((state as Record<string, unknown>)[field])])),
    decode(bytes) {
      const plain = unseal(name, bytes);
      if (!Array.isArray(plain)) throw new CorruptDataError(`${name} state`, "expected [field, bytes] pairs");
      const stored = new Map<string, unknown>();
      for (const entry of plain as unknown[]) {
        if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== "string" || !(entry[1] instanceof Uint8Array)) {
          throw new CorruptDataError(`${name} state`, "a field must be [name, bytes]");
        }
        if (!(entry[0] in schema)) throw new CorruptDataError(`${name} state`, `unknown field "${entry[0]}"`);
        stored.set(entry[0], schema[entry[0]]!.decode(entry[1]));
      }
      return each((field, t) => (stored.has(field) ? stored.get(field) : t.empty()));
    },
  };
  return type;
}

/**
 * Lifts a prepared update of one field into a prepared update of the whole map.
 *
 * @example
 * ```ts
 * await profiles.update("user:ada", inField("tags", (first) => prepareAdd(first, "web-1", "admin")));
 * ```
 */
export function inField<Schema extends MapSchema, F extends keyof Schema & string>(
  field: F,
  prepare: (first: MapState<Schema>[F]) => PreparedUpdate<MapState<Schema>[F]>,
): (first: MapState<Schema>) => PreparedUpdate<MapState<Schema>> {
  return (first) => {
    const apply = prepare(first[field]);
    return (state) => ({ ...state, [field]: apply(state[field]) });
  };
}
