/**
 * A node process's clock, which a test can offset (skew) and make drift from the machine's: set
 * from `clock` in the node config at start and by `POST /admin/clock` while the node runs, so the
 * lab's `skew` and `drift` faults reach real processes as they reach simulated nodes. Never
 * needed in production. Internal to the server (not in its public entry point).
 *
 * @module
 */
import { z } from "zod";
import { InvalidRequestError } from "../core/errors.ts";
import { DriftingClock } from "../core/runtime/drifting-clock.ts";
import { systemClock } from "../core/runtime/system-runtime.ts";
import type { ClockSetting, ClockStatus } from "../client/node-status.ts";

/**
 * The largest offset, ms: a year. Any skew a test means fits; a wild value (1e300) would stamp
 * last-write-wins timestamps no later write could beat, and they stay after the clock is reset.
 */
const MAX_OFFSET_MS = 365 * 24 * 3600 * 1000;

/** The fastest drift: twice the machine's rate (real oscillators are off by parts per million). */
const MAX_DRIFT_RATE = 1;

/**
 * The fields of a clock setting, as the node config's `clock` and the body of `POST
 * /admin/clock` give them: the bounds of {@link DriftingClock} (and of the lab's faults).
 */
export const clockSettingSchema: z.ZodType<ClockSetting, unknown> = z
  .object({
    offsetMs: z
      .number({ error: "a clock offset must be a finite number of ms" })
      .min(-MAX_OFFSET_MS, "a clock offset must be within a year (31,536,000,000 ms) of the machine's clock")
      .max(MAX_OFFSET_MS, "a clock offset must be within a year (31,536,000,000 ms) of the machine's clock")
      .optional(),
    driftRate: z
      .number({ error: "a drift rate must be a finite number" })
      .gt(-1, "a drift rate must be above -1 (a clock that stops or runs backwards)")
      .max(MAX_DRIFT_RATE, "a drift rate must be at most 1 (a clock twice as fast)")
      .optional(),
  })
  .strict() as unknown as z.ZodType<ClockSetting, unknown>;

/**
 * The clock of a node process: the machine's clock, offset and drifting as `config` says
 * (without one, or with zeros, it reads exactly the machine's clock).
 */
export function nodeClock(config: ClockSetting = {}): DriftingClock {
  const clock = new DriftingClock(systemClock);
  adjustClock(clock, config);
  return clock;
}

/**
 * Applies `setting` to `clock`: the rate first ({@link DriftingClock.setRate}, keeping the offset
 * gained so far), then the offset ({@link DriftingClock.step}), so with both the clock reads
 * exactly `offsetMs` ahead now and drifts at `driftRate` from there.
 */
export function adjustClock(clock: DriftingClock, setting: ClockSetting): void {
  if (setting.driftRate !== undefined) clock.setRate(setting.driftRate);
  if (setting.offsetMs !== undefined) clock.step(setting.offsetMs);
}

/** `clock` against the machine's clock, now. */
export function clockStatus(clock: DriftingClock): ClockStatus {
  return { offsetMs: clock.offset, driftRate: clock.rate };
}

/**
 * Validates the body of `POST /admin/clock`: a {@link ClockSetting} with at least one field.
 *
 * @throws {InvalidRequestError} for anything else
 */
export function parseClockSetting(body: unknown): ClockSetting {
  const parsed = clockSettingSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidRequestError(
      `not a clock setting: ${issue ? `${issue.path.join(".") || "body"}: ${issue.message}` : "invalid"}`,
    );
  }
  if (parsed.data.offsetMs === undefined && parsed.data.driftRate === undefined) {
    throw new InvalidRequestError("not a clock setting: give offsetMs, driftRate or both");
  }
  return parsed.data;
}
