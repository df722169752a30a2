/**
 * Writes test/support/lsm-v1/: a small LSM database in the first table format (CRC-32C
 * checksums), for the test that the engine still opens one. It was run once, at commit e7e3738
 * (the last to write that format): `npx tsx test/support/make-lsm-v1-fixture.ts`. Run by a
 * later engine it would write the current format, so it is kept to say how the files were
 * made, not to be run again.
 */
import { rmSync } from "node:fs";
import { LsmEngine } from "../../plugins/engines/lsm/index.ts";
import { systemScheduler } from "../../core/runtime/system-runtime.ts";
import { stopCompactionWorkers } from "../../plugins/engines/lsm/compaction-runner.ts";
import { LSM_V1_OPERATIONS } from "./lsm-v1-model.ts";

const directory = new URL("./lsm-v1/", import.meta.url).pathname;
rmSync(directory, { recursive: true, force: true });
const engine = new LsmEngine(
  {
    directory,
    sync: "always",
    memtableBytes: 8192,
    blockBytes: 512,
    tableBytes: 8192,
    levelBaseBytes: 32 * 1024,
    compactionTrigger: 2,
    compactionThread: "inline",
  },
  systemScheduler,
);
await engine.open();
for (const op of LSM_V1_OPERATIONS) {
  if (op.value === null) await engine.delete(op.key);
  else await engine.put(op.key, op.value);
  // Settle part-way, so the writes end up in tables of several levels and in the log.
  if (op.settle) await engine.settle();
}
console.log(JSON.stringify(engine.stats));
await engine.close();
await stopCompactionWorkers();
