// The real binary on its own embedded store: the voice commands as an administrator types them.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Ran, runCli } from "../../test/support/cli.ts";
import type { RouteTest } from "./test-tools.service.ts";

let dir: string;

function cli(...args: string[]): Promise<Ran> {
  return runCli(dir, ["--data", path.join(dir, "data"), ...args]);
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "callplane-voice-cli-"));
  const created = await cli("tenants", "create", "--name", "Contoso", "--domain", "contoso.com");
  expect(created.code, created.stderr).toBe(0);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("callplane voice", () => {
  it("refuses a super-linear pattern with exit 2 and the reason, then routes a dialled extension", async () => {
    expect((await cli("voice", "usages", "set", "--replace", "US,Intl")).stdout).toContain("1. US\n2. Intl");
    const bad = await cli("voice", "routes", "create", "Bad", "--number-pattern", "(a+)+$", "--usages", "US");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("super-linear");
    const route = await cli("voice", "routes", "create", "US", "--number-pattern", "^\\+1\\d{10}$", "--usages", "US");
    expect(route.code, route.stderr).toBe(0);
    expect(route.stdout).toContain('warning: Route "US" has no PSTN gateways');
    expect((await cli("voice", "dial-plans", "create", "Seattle")).code).toBe(0);
    const rule = await cli("voice", "rules", "create", "Seattle/Four", "--pattern", "^(\\d{4})$", "--translation", "+1206555$1");
    expect(rule.code, rule.stderr).toBe(0);
    const missing = await cli("voice", "rules", "create", "site:X/r");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no dial plan "Site:X"');

    const dp = await cli("voice", "test-dial-plan", "--dial-plan", "Seattle", "--number", "1234");
    expect(dp.code, dp.stderr).toBe(0);
    expect(dp.stdout).toMatch(/Normalized\s+\+12065551234/);
    expect(dp.stdout).toContain("chosen    Four (priority 0)");

    expect((await cli("voice", "policies", "create", "Sales", "--usages", "Intl,US")).code).toBe(0);
    const resolved = await cli("--json", "voice", "test-route", "--policy", "Sales", "--dial-plan", "Seattle", "--number", "1234");
    expect(resolved.code, resolved.stderr).toBe(0);
    const r = JSON.parse(resolved.stdout) as RouteTest;
    expect(r).toMatchObject({ routedNumber: "+12065551234", usage: "US", route: "US" });
    expect(r.trace.map((e) => e.outcome)).toEqual(["usage_has_no_routes", "chosen"]);
  }, 120_000);
});
