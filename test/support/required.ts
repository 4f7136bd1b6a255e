// Tests that need a real service installed from Debian (Kamailio, SIPp, aiosmtpd, libpcre): under CI
// they must run, so a missing service fails the suite; on a laptop they are skipped, saying why.
import { describe, it } from "vitest";

export const inCi = process.env.CI === "true" || process.env.CI === "1";

/**
 * `describe` for tests that need `service`: runs when `why` (what is missing) is null; otherwise fails
 * under CI=true with a test of its own (a failed beforeAll would only show the tests as skipped) and
 * is skipped elsewhere, the reason in its name.
 */
export function describeNeeding(service: string, why: string | null, name: string, fn: () => void): void {
  if (why === null) {
    describe(name, fn);
    return;
  }
  if (inCi) {
    describe(name, () => {
      it(`needs ${service}`, () => {
        throw new Error(`The tests "${name}" must run under CI, but ${why}`);
      });
    });
    return;
  }
  process.stderr.write(`\nSkipping the tests "${name}": ${why}\n`);
  describe.skip(`${name} — skipped: ${why}`, fn);
}

/** `it` for one test that needs `why` to be null: runs under CI regardless (and fails there without it). */
export function itNeeding(why: string | null, name: string, fn: () => void): void {
  if (why === null || inCi) it(name, fn);
  else it.skip(`${name} — skipped: ${why}`, fn);
}
