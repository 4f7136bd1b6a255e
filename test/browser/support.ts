// Browser tests: a real Callplane server (its own port, a fresh data folder, a demo tenant) and
// Debian's Chromium driven by playwright-core (see harness.ts). Playwright never downloads a browser.
import { existsSync } from "node:fs";
import { describe, it } from "vitest";
import { chromiumPath } from "./harness.ts";

export * from "./harness.ts";

const inCi = process.env.CI === "true" || process.env.CI === "1";

/**
 * `describe` for browser tests: runs when Chromium is installed; without it, fails under CI=true
 * (the suite must run there) and is skipped elsewhere with a message saying how to install it.
 */
export function describeBrowser(name: string, fn: () => void): void {
  if (existsSync(chromiumPath)) {
    describe(name, fn);
    return;
  }
  const why = `${chromiumPath} is missing: install Chromium (apt-get install -y chromium) or set CALLPLANE_CHROMIUM.`;
  if (inCi) {
    describe(name, () => {
      it("needs Chromium", () => {
        throw new Error(`The browser tests must run under CI, but ${why}`);
      });
    });
    return;
  }
  process.stderr.write(`\nSkipping the browser tests "${name}": ${why}\n`);
  describe.skip(`${name} — skipped: ${why}`, fn);
}
