/**
 * A headless Chromium for tests that check pages in a real browser (the live view, reports).
 * It is Debian's `chromium-headless-shell` or `chromium` (`.ci/run` installs the first), found
 * on PATH or named by `RINGFORGE_CHROMIUM`. Without one, {@link findChromium} returns why, and
 * the tests skip saying so — unless `RINGFORGE_REQUIRE_BROWSER=1` (set by `.ci/run`), where a
 * missing browser fails them instead of passing silently.
 *
 * @module
 */
import { accessSync, constants } from "node:fs";
import path from "node:path";
import process from "node:process";

const CANDIDATES = ["chromium-headless-shell", "chromium", "chromium-browser", "google-chrome"];

/** The browser to use: `{ path }`, or `{ missing }` with the reason there is none. */
export function findChromium(): { path: string } | { missing: string } {
  const named = process.env.RINGFORGE_CHROMIUM;
  if (named) return { path: named };
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    for (const name of CANDIDATES) {
      const file = path.join(dir, name);
      try {
        accessSync(file, constants.X_OK);
        return { path: file };
      } catch {
        // not here
      }
    }
  }
  return { missing: `no Chromium on PATH (${CANDIDATES.join(", ")}); install Debian's chromium-headless-shell or set RINGFORGE_CHROMIUM` };
}

/** True when a missing browser must fail the test run (CI). */
export const browserRequired = process.env.RINGFORGE_REQUIRE_BROWSER === "1";
