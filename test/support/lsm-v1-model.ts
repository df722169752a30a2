/**
 * The writes behind the database in test/support/lsm-v1/ (see make-lsm-v1-fixture.ts), and
 * what reading it must give.
 */

/** One write: a put, or a delete (`value: null`); `settle` lets flushes and compactions finish after it. */
export interface FixtureWrite {
  readonly key: Uint8Array;
  readonly value: Uint8Array | null;
  readonly settle: boolean;
}

const text = (s: string) => new TextEncoder().encode(s);

/** 1,200 puts of 400 keys (each written up to three times), a delete of every seventh key, then 60 puts left in the log. */
export const LSM_V1_OPERATIONS: readonly FixtureWrite[] = (() => {
  const out: FixtureWrite[] = [];
  for (let i = 0; i < 1200; i++) {
    const k = (i * 37) % 400;
    out.push({ key: text(`key-${String(k).padStart(4, "0")}`), value: text(`value-${k}-${i}-`.repeat(3)), settle: i % 400 === 399 });
  }
  for (let k = 0; k < 400; k += 7) out.push({ key: text(`key-${String(k).padStart(4, "0")}`), value: null, settle: k === 399 - (399 % 7) });
  for (let i = 0; i < 60; i++) {
    const k = 400 + i;
    out.push({ key: text(`key-${String(k).padStart(4, "0")}`), value: text(`late-${k}`), settle: false });
  }
  return out;
})();

/** Each key's value after all the writes (deleted keys absent), as text. */
export function lsmV1Expected(): Map<string, string> {
  const model = new Map<string, string>();
  const decoder = new TextDecoder();
  for (const op of LSM_V1_OPERATIONS) {
    const key = decoder.decode(op.key);
    if (op.value === null) model.delete(key);
    else model.set(key, decoder.decode(op.value));
  }
  return model;
}
