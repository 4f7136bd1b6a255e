// Limits on what a directory export may hold: a 50 MB display name was once stored and then broke the
// tenant's sync. An attribute longer than the directory allows is refused at import naming the object
// and the attribute; one already in the mirror is left out of the sync, which carries the rest.
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildTestServer } from "../../test/support/auth.ts";
import { newTenant, type TenantFixture } from "../../test/support/fixtures.ts";
import { openTestRuntime, type TestRuntime } from "../../test/support/store.ts";
import { AppError } from "../core/errors.ts";
import { rows } from "../store/db.ts";
import type { DirectorySource, OnPremUserObject } from "./directory-source.ts";
import { importDirectory, sourceFromText, syncDirectory } from "./sync.service.ts";

let rt: TestRuntime;
beforeAll(async () => {
  rt = await openTestRuntime();
});
afterAll(async () => {
  await rt?.close();
});

async function refusal(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error("expected the import to be refused");
}

const guid = (n: number) => `00000000-0000-0000-0000-${String(n).padStart(12, "0")}`;

function csv(t: TenantFixture, people: { n: number; displayName?: string; upn?: string }[]): string {
  return [
    "objectGUID,UserPrincipalName,DisplayName",
    ...people.map((p) => `${guid(p.n)},${p.upn ?? t.upn(`user${p.n}`)},"${p.displayName ?? `User ${p.n}`}"`),
  ].join("\n");
}

async function mirrored(t: TenantFixture): Promise<number> {
  const [r] = await rows<{ n: number }>(
    t.ctx.db,
    sql`select count(*)::int as n from directory_objects where tenant_id = ${t.ctx.tenantId}`,
  );
  return r?.n ?? 0;
}

describe("directory import limits", () => {
  it("refuses a display name longer than 256 characters, naming the line, the user and the attribute; nothing is stored", async () => {
    const t = await newTenant(rt, { bridge: false });
    const text = csv(t, [{ n: 1 }, { n: 2, displayName: "x".repeat(300) }, { n: 3 }]);
    const err = await refusal(importDirectory(t.ctx, sourceFromText("csv", "export.csv", text)));
    expect(err.code).toBe("invalid_input");
    expect(err.message).toContain("export.csv line 3");
    expect(err.message).toContain(t.upn("user2"));
    expect(err.message).toMatch(/displayName is 300 characters long; at most 256/);
    expect(await mirrored(t)).toBe(0);
    // At the limit it is taken.
    const fine = csv(t, [{ n: 1 }, { n: 2, displayName: "x".repeat(256) }]);
    expect(await importDirectory(t.ctx, sourceFromText("csv", "export.csv", fine))).toMatchObject({ created: 2 });
  });

  it("answers a multi-megabyte display name through the API with a short 400, never storing it", async () => {
    const t = await newTenant(rt, { bridge: false });
    const app = await buildTestServer(rt);
    const res = await app.inject({
      method: "POST",
      url: "/api/v1/directory/import",
      headers: { "content-type": "application/json", "x-callplane-tenant": t.ctx.tenantId },
      payload: JSON.stringify({ fileName: "ad.csv", content: csv(t, [{ n: 1, displayName: "y".repeat(5_000_000) }]) }),
    });
    expect(res.statusCode, res.body.slice(0, 300)).toBe(400);
    expect(res.body.length).toBeLessThan(2000);
    expect(res.json().error.message).toMatch(/ad\.csv line 2.*displayName is 5000000 characters long; at most 256/);
    expect(await mirrored(t)).toBe(0);
    await app.close();
  });

  it("refuses a user principal name, SIP address or alias longer than an online user can hold", async () => {
    const t = await newTenant(rt, { bridge: false });
    const longUpn = `${"u".repeat(400)}@${t.domain}`;
    const err = await refusal(importDirectory(t.ctx, sourceFromText("csv", "e.csv", csv(t, [{ n: 1, upn: longUpn }]))));
    expect(err.message).toMatch(/e\.csv line 2.*userPrincipalName is \d+ characters long; at most 320/);
    expect(err.message.length).toBeLessThan(500);

    const ldif = (attr: string, value: string) =>
      `dn: CN=Long,OU=Users,DC=contoso,DC=com\nobjectClass: user\nobjectGUID: ${guid(9)}\nuserPrincipalName: long@${t.domain}\n${attr}: ${value}\n`;
    const sip = await refusal(
      importDirectory(t.ctx, sourceFromText("ldif", "u.ldif", ldif("msRTCSIP-PrimaryUserAddress", `sip:${"s".repeat(400)}@${t.domain}`))),
    );
    expect(sip.message).toMatch(
      /u\.ldif line 1 \(CN=Long,OU=Users,DC=contoso,DC=com\).*long@.*sipAddress is \d+ characters long; at most 330/,
    );
    const alias = await refusal(importDirectory(t.ctx, sourceFromText("ldif", "u.ldif", ldif("mailNickname", "a".repeat(65)))));
    expect(alias.message).toMatch(/alias is 65 characters long; at most 64/);
    expect(await mirrored(t)).toBe(0);
  });

  it("refuses an LDIF record with more values than any user object has, naming it", async () => {
    const t = await newTenant(rt, { bridge: false });
    const many = Array.from({ length: 10_001 }, (_, i) => `proxyAddresses: smtp:p${i}@${t.domain}`).join("\n");
    const text = `dn: CN=Many,OU=Users,DC=contoso,DC=com\nobjectClass: user\nobjectGUID: ${guid(1)}\nuserPrincipalName: many@${t.domain}\n${many}\n`;
    const err = await refusal(importDirectory(t.ctx, sourceFromText("ldif", "many.ldif", text)));
    expect(err.message).toMatch(/many\.ldif line 1 \(CN=Many,OU=Users,DC=contoso,DC=com\).*more than 10,000 values/);
    expect(await mirrored(t)).toBe(0);
  });

  it("refuses a source with more than 1,000,000 objects without reading it all", async () => {
    const t = await newTenant(rt, { bridge: false });
    let read = 0;
    const endless: DirectorySource = {
      name: "ldap:endless",
      async *objects(): AsyncIterable<OnPremUserObject> {
        for (;;) {
          read++;
          yield {
            immutableId: guid(read),
            userPrincipalName: `u${read}@${t.domain}`,
            displayName: "U",
            alias: null,
            usageLocation: null,
            sipAddress: null,
            sipEnabled: false,
            registrarPool: null,
            hostingProvider: null,
            enterpriseVoiceEnabled: false,
            lineUri: null,
            voiceRoutingPolicy: null,
          };
        }
      },
    };
    const err = await refusal(importDirectory(t.ctx, endless));
    expect(err.message).toMatch(/ldap:endless holds more than 1,000,000 user objects/);
    expect(read).toBeLessThanOrEqual(1_000_001);
    expect(await mirrored(t)).toBe(0);
  });
});

describe("directory sync with an over-long value already in the mirror", () => {
  it("leaves that object out, saying which and why, and synchronises the others", async () => {
    const t = await newTenant(rt, { bridge: false });
    await importDirectory(t.ctx, sourceFromText("csv", "ad.csv", csv(t, [{ n: 1 }, { n: 2 }])));
    // What an earlier version let in.
    await t.ctx.db.execute(sql`update directory_objects set display_name = repeat('z', 1000000)
      where tenant_id = ${t.ctx.tenantId} and immutable_id = ${guid(2)}`);
    const result = await syncDirectory(t.ctx);
    expect(result.created).toBe(1);
    expect(result.message).toContain(t.upn("user2"));
    expect(result.message).toMatch(/displayName is 1000000 characters long; at most 256/);
    expect(result.message.length).toBeLessThan(1000);
    const users = await rows<{ upn: string; len: number }>(
      t.ctx.db,
      sql`select user_principal_name as upn, length(display_name) as len from users where tenant_id = ${t.ctx.tenantId}`,
    );
    expect(users).toEqual([{ upn: t.upn("user1"), len: 6 }]);
  });
});
