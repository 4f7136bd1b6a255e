// The hybrid voice commands through the real binary: exit codes 0 / 1 / 2 and what an administrator reads.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Ran, runCli } from "./support/cli.ts";

let dir: string;

function cli(args: string[]): Promise<Ran> {
  return runCli(dir, ["--data", path.join(dir, "data"), ...args]);
}

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "callplane-hybrid-cli-"));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("callplane hybrid voice commands", () => {
  it("import → enable → sync → move, with exit codes 0, 1 and 2", { timeout: 180_000 }, async () => {
    expect((await cli(["tenants", "create", "--name", "Contoso", "--domain", "contoso.com"])).code).toBe(0);
    writeFileSync(path.join(dir, "bad.ldif"), "dn: CN=x\nobjectGUID:: AAECAwQFBgcICQoLDA0ODw==\nmsRTCSIP-Line: 4255550200\n");
    const bad = await cli(["directory", "import", "bad.ldif"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("bad.ldif line 1");
    writeFileSync(
      path.join(dir, "users.csv"),
      "objectGUID,UserPrincipalName,DisplayName,UsageLocation\n1,ken@contoso.com,Ken Myer,US\n2,ann@contoso.com,Ann,US\n",
    );
    expect((await cli(["directory", "import", "users.csv"])).code).toBe(0);
    const enabled = await cli([
      "onprem",
      "enable-user",
      "ken@contoso.com",
      "--registrar-pool",
      "pool01.contoso.com",
      "--sip-address-type",
      "UserPrincipalName",
    ]);
    expect(enabled.code).toBe(0);
    expect(
      (await cli(["onprem", "set-user", "ken@contoso.com", "--enterprise-voice-enabled", "true", "--line-uri", "+14255550200"])).code,
    ).toBe(0);
    const sync = await cli(["directory", "sync"]);
    expect(sync).toMatchObject({ code: 0, stdout: expect.stringContaining("2 created") });
    const refused = await cli(["users", "move", "ken@contoso.com", "--target", "online"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("neither a Skype for Business Online (Plan 2) nor a Teams licence");
    const bulk = await cli(["--json", "users", "move", "--user-list", "ken@contoso.com,ann@contoso.com", "--target", "pool02.contoso.com"]);
    expect(bulk.code).toBe(1);
    const report = JSON.parse(bulk.stdout) as { summary: { changed: number; failed: number } };
    expect(report.summary).toEqual({ changed: 1, unchanged: 0, failed: 1 });
    const checklist = await cli(["users", "checklist", "ken@contoso.com"]);
    expect(checklist).toMatchObject({ code: 0, stdout: expect.stringContaining("[x] 2. Enabled for Skype for Business Server") });
  });
});
