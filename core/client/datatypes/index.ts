/**
 * Data types: state-based CRDTs stored as values, whose siblings merge by the type's join, with
 * clients that hide the causal context. Bundled: G-Counter, PN-Counter, OR-Set (add-wins),
 * LWW-Register, MV-Register, and maps of them.
 *
 * @module
 */
import type { DataType } from "../../interfaces/data-type.ts";
import { gCounterType } from "./g-counter.ts";
import { lwwRegisterType } from "./lww-register.ts";
import { mvRegisterType } from "./mv-register.ts";
import { orSetType } from "./or-set.ts";
import { pnCounterType } from "./pn-counter.ts";

export * from "./causal.ts";
export * from "./g-counter.ts";
export * from "./pn-counter.ts";
export * from "./or-set.ts";
export * from "./lww-register.ts";
export * from "./mv-register.ts";
export * from "./crdt-map.ts";
export { assertPlainData } from "./envelope.ts";

/** Every bundled data type (maps are built from these); the conformance suite runs each. */
export const dataTypes: readonly DataType<any>[] = [gCounterType, pnCounterType, orSetType, lwwRegisterType, mvRegisterType];
