import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countOf, expectAppError, makeUser, newTenant, type TenantFixture, tenantSnapshot } from "../../test/support/fixtures.ts";
import { openTestRuntime, type TestRuntime } from "../../test/support/store.ts";
import { listAuditEvents } from "../audit/audit.service.ts";
import { enableDialIn, getDialIn } from "../conferencing/dial-in.service.ts";
import {
  countReadyForAudioConferencing,
  createUser,
  deleteUser,
  getUser,
  listUsers,
  resolveIdentities,
  resolveUserId,
  updateUser,
} from "./users.service.ts";

let rt: TestRuntime;

beforeAll(async () => {
  rt = await openTestRuntime();
});

afterAll(async () => {
  await rt?.close();
});

describe("identity resolution (getUser, resolveUserId, resolveIdentities)", () => {
  let t: TenantFixture;
  let aliceId = "";

  beforeAll(async () => {
    t = await newTenant(rt);
    // Alice's SIP address differs from her UPN, so each identity form is tested on its own.
    const alice = await createUser(t.ctx, {
      userPrincipalName: t.upn("alice"),
      sipAddress: `sip:alice.voice@${t.domain}`,
      alias: "asmith",
      displayName: "Alice Smith",
      usageLocation: "US",
    });
    aliceId = alice.id;
    await createUser(t.ctx, { userPrincipalName: t.upn("sam.one"), displayName: "Sam Taylor" });
    await createUser(t.ctx, { userPrincipalName: t.upn("sam.two"), displayName: "Sam Taylor" });
    // A user whose display name is another user's UPN: the UPN must win.
    await createUser(t.ctx, { userPrincipalName: t.upn("impostor"), displayName: t.upn("alice") });
  });

  it.each([
    ["the UPN", () => t.upn("alice")],
    ["the UPN in another case, with spaces", () => `  ${t.upn("ALICE").toUpperCase()} `],
    ["the SIP address with sip:", () => `sip:alice.voice@${t.domain}`],
    ["the SIP address without sip:", () => `alice.voice@${t.domain}`],
    ["the SIP address with SIP: in capitals", () => `SIP:Alice.Voice@${t.domain.toUpperCase()}`],
    ["the alias", () => "ASmith"],
    ["the object id", () => aliceId],
    ["the object id in capitals", () => aliceId.toUpperCase()],
    ["the display name, when nothing else matches", () => "alice smith"],
  ])("finds Alice by %s", async (_what, identity) => {
    const user = await getUser(t.ctx, identity());
    expect(user.id).toBe(aliceId);
    expect(user).toMatchObject({
      userPrincipalName: t.upn("alice"),
      sipAddress: `sip:alice.voice@${t.domain}`,
      alias: "asmith",
      displayName: "Alice Smith",
    });
  });

  it("prefers a UPN, SIP address or alias over a display name", async () => {
    expect(await resolveUserId(t.ctx, t.upn("alice"))).toBe(aliceId);
    expect((await getUser(t.ctx, t.upn("impostor"))).displayName).toBe(t.upn("alice"));
  });

  it("refuses a display name that several users share, naming them and the fix", async () => {
    await expectAppError(
      getUser(t.ctx, "Sam Taylor"),
      "ambiguous_identity",
      '"Sam Taylor" matches 2 users',
      t.upn("sam.one"),
      t.upn("sam.two"),
      "use the UPN or object id",
    );
  });

  it("says who was not found and how to search", async () => {
    await expectAppError(
      getUser(t.ctx, "nobody@nowhere.com"),
      "user_not_found",
      '"nobody@nowhere.com"',
      "callplane users list --search nobody",
    );
    await expectAppError(getUser(t.ctx, "   "), "invalid_input", "identity is empty");
  });

  it("does not find users of another tenant", async () => {
    const other = await newTenant(rt);
    await expectAppError(getUser(other.ctx, t.upn("alice")), "user_not_found");
    await expectAppError(getUser(other.ctx, aliceId), "user_not_found");
  });

  it("resolves many identities in one call, keyed by the lowercased identity", async () => {
    const found = await resolveIdentities(t.ctx, [t.upn("Alice"), "asmith", "Sam Taylor", "ghost", " ", `sip:alice.voice@${t.domain}`]);
    expect(found.get(t.upn("alice"))).toEqual([aliceId]);
    expect(found.get("asmith")).toEqual([aliceId]);
    expect(found.get("sam taylor")).toHaveLength(2);
    expect(found.get("ghost")).toEqual([]);
    expect(found.get(`sip:alice.voice@${t.domain}`)).toEqual([aliceId]);
    expect(found.has("")).toBe(false);
  });
});

describe("createUser", () => {
  it("normalizes the SIP address and usage location, defaults the display name, and audits", async () => {
    const t = await newTenant(rt);
    const user = await createUser(t.ctx, { userPrincipalName: ` ${t.upn("Bo")} `, usageLocation: "gb", source: "on-premises" });
    expect(user).toMatchObject({
      userPrincipalName: t.upn("Bo"),
      sipAddress: `sip:${t.upn("Bo")}`,
      displayName: "Bo",
      usageLocation: "GB",
      source: "on-premises",
      licences: [],
      provider: { kind: "none", name: null },
    });
    const [event] = await listAuditEvents(t.ctx, { target: user.id });
    expect(event).toMatchObject({ actor: "admin:test", operation: "user.create", before: null, after: { userPrincipalName: t.upn("Bo") } });
  });

  it("rejects a duplicate UPN, SIP address or alias in any case, and writes nothing", async () => {
    const t = await newTenant(rt);
    await createUser(t.ctx, { userPrincipalName: t.upn("dup"), alias: "dupe" });
    const before = await tenantSnapshot(t.ctx);
    await expectAppError(createUser(t.ctx, { userPrincipalName: t.upn("DUP") }), "duplicate", "user principal name");
    await expectAppError(createUser(t.ctx, { userPrincipalName: t.upn("other"), sipAddress: t.upn("Dup") }), "duplicate", "SIP address");
    await expectAppError(createUser(t.ctx, { userPrincipalName: t.upn("third"), alias: "DUPE" }), "duplicate", "alias");
    expect(await tenantSnapshot(t.ctx)).toEqual(before);
  });

  it("rejects a malformed UPN, SIP address or usage location with an example", async () => {
    const t = await newTenant(rt);
    await expectAppError(createUser(t.ctx, { userPrincipalName: "not an email" }), "invalid_input", '"not an email"', "alice@contoso.com");
    await expectAppError(createUser(t.ctx, { userPrincipalName: t.upn("x"), sipAddress: "sip:nope" }), "invalid_input", '"sip:nope"');
    await expectAppError(createUser(t.ctx, { userPrincipalName: t.upn("y"), usageLocation: "USA" }), "invalid_input", '"USA"', "US, GB");
    expect(await countOf(t.ctx, sql`select count(*) as n from users where tenant_id = ${t.ctx.tenantId}`)).toBe(0);
  });
});

describe("updateUser and deleteUser", () => {
  it("records before and after of an update", async () => {
    const t = await newTenant(rt);
    const user = await createUser(t.ctx, { userPrincipalName: t.upn("mover"), usageLocation: "US" });
    const after = await updateUser(t.ctx, user.userPrincipalName, { usageLocation: "fr", displayName: "The Mover", alias: "mv" });
    expect(after).toMatchObject({ usageLocation: "FR", displayName: "The Mover", alias: "mv" });
    const [event] = await listAuditEvents(t.ctx, { target: user.id, operation: "user.update" });
    expect(event).toMatchObject({ before: { usageLocation: "US", alias: null }, after: { usageLocation: "FR", alias: "mv" } });
    expect((await getUser(t.ctx, "mv")).id).toBe(user.id);
    await expectAppError(updateUser(t.ctx, "mv", { displayName: "  " }), "invalid_input", "display name is empty");
  });

  it("deletes a user with everything held for them, releasing the conference ID", async () => {
    const t = await newTenant(rt);
    const gone = await makeUser(t, "gone", { provider: "InterCall" });
    await enableDialIn(t.ctx, gone.userPrincipalName, { replaceProvider: true, conferenceId: "5551234" });

    const before = await deleteUser(t.ctx, gone.userPrincipalName);

    expect(before.provider.kind).toBe("microsoft");
    await expectAppError(getUser(t.ctx, gone.id), "user_not_found");
    for (const table of ["licence_assignments", "dial_in_users", "user_acp_entries", "archives"]) {
      expect(await countOf(t.ctx, sql`select count(*) as n from ${sql.identifier(table)} where user_id = ${gone.id}`), table).toBe(0);
    }
    const [event] = await listAuditEvents(t.ctx, { target: gone.id, operation: "user.delete" });
    expect(event).toMatchObject({ before: { userPrincipalName: gone.userPrincipalName }, after: null });

    const next = await makeUser(t, "next", { provider: "InterCall" });
    await enableDialIn(t.ctx, next.userPrincipalName, { replaceProvider: true, conferenceId: "5551234" });
    expect((await getDialIn(t.ctx, next.userPrincipalName)).conferenceId).toBe("5551234");
  });
});

describe("listUsers", () => {
  let t: TenantFixture;

  beforeAll(async () => {
    t = await newTenant(rt);
    await makeUser(t, "ms.one");
    await makeUser(t, "ms.two");
    await makeUser(t, "inter.ready", { provider: "InterCall" });
    await makeUser(t, "inter.unlicensed", { provider: "InterCall", licensed: false });
    await makeUser(t, "pgi.ready", { provider: "PGi" });
    await makeUser(t, "nobody", { licensed: false, displayName: "100%_sure" });
  });

  const upns = (page: { items: { userPrincipalName: string }[] }) => page.items.map((u) => u.userPrincipalName.split("@")[0]);

  it("filters by provider kind or name, case-insensitively", async () => {
    expect(upns(await listUsers(t.ctx, { provider: "Microsoft" }))).toEqual(["ms.one", "ms.two"]);
    expect(upns(await listUsers(t.ctx, { provider: "third-party" }))).toEqual(["inter.ready", "inter.unlicensed", "pgi.ready"]);
    expect(upns(await listUsers(t.ctx, { provider: "intercall" }))).toEqual(["inter.ready", "inter.unlicensed"]);
    expect(upns(await listUsers(t.ctx, { provider: "none" }))).toEqual(["nobody"]);
  });

  it("filters by licence and by the banner's 'ready for Audio Conferencing'", async () => {
    expect(upns(await listUsers(t.ctx, { licensed: false }))).toEqual(["inter.unlicensed", "nobody"]);
    expect(upns(await listUsers(t.ctx, { readyForAudioConferencing: true }))).toEqual(["inter.ready", "pgi.ready"]);
    expect(await countReadyForAudioConferencing(t.ctx)).toBe(2);
    const ready = await listUsers(t.ctx, { readyForAudioConferencing: true });
    expect(ready.items.every((u) => u.readyForAudioConferencing && u.audioConferencingLicensed)).toBe(true);
  });

  it("searches literally: % and _ are not wildcards", async () => {
    expect(upns(await listUsers(t.ctx, { search: "100%_" }))).toEqual(["nobody"]);
    expect(upns(await listUsers(t.ctx, { search: "%" }))).toEqual(["nobody"]);
    expect(upns(await listUsers(t.ctx, { search: "INTER" }))).toEqual(["inter.ready", "inter.unlicensed"]);
  });

  it("pages, and a limit of 0 gives the total without users", async () => {
    const page = await listUsers(t.ctx, { limit: 2, offset: 2 });
    expect(page).toMatchObject({ total: 6, limit: 2, offset: 2 });
    expect(upns(page)).toEqual(["ms.one", "ms.two"]);
    const none = await listUsers(t.ctx, { limit: 0 });
    expect(none).toMatchObject({ total: 6, items: [] });
  });
});

describe("listUsers: sort, homing and lifecycle state (the admin center's Users table)", () => {
  let t: TenantFixture;

  beforeAll(async () => {
    t = await newTenant(rt);
    await makeUser(t, "ms.one", { displayName: "Zoe Microsoft" });
    await makeUser(t, "inter.ready", { provider: "InterCall", displayName: "Anna InterCall" });
    await makeUser(t, "pgi.onprem", { provider: "PGi", displayName: "Mia PGi" });
    await makeUser(t, "nobody", { licensed: false, displayName: "Bob Nobody" });
    await makeUser(t, "online.done", { licensed: false, displayName: "Carl Online" });
    // Two synchronised users: one homed on-premises and ready to move, one moved online and done.
    await t.ctx.db.execute(sql`update users set source = 'on-premises', immutable_id = 'imm-1', homing = 'on-premises',
      on_prem_sip_enabled = true, on_prem_enterprise_voice_enabled = true, on_prem_line_uri = 'tel:+14255550101'
      where tenant_id = ${t.ctx.tenantId} and user_principal_name = ${t.upn("pgi.onprem")}`);
    await t.ctx.db.execute(sql`update users set source = 'on-premises', immutable_id = 'imm-2', homing = 'online',
      on_prem_sip_enabled = true, on_prem_enterprise_voice_enabled = true, on_prem_line_uri = 'tel:+14255550102',
      enterprise_voice_enabled = true, hosted_voicemail = true
      where tenant_id = ${t.ctx.tenantId} and user_principal_name = ${t.upn("online.done")}`);
  });

  const upns = (page: { items: { userPrincipalName: string }[] }) => page.items.map((u) => u.userPrincipalName.split("@")[0]);

  it("sorts by display name either way", async () => {
    expect(upns(await listUsers(t.ctx, { sort: "displayName" }))).toEqual(["inter.ready", "nobody", "online.done", "pgi.onprem", "ms.one"]);
    expect(upns(await listUsers(t.ctx, { sort: "displayName", order: "desc" }))).toEqual([
      "ms.one",
      "pgi.onprem",
      "online.done",
      "nobody",
      "inter.ready",
    ]);
  });

  it("sorts by UPN by default, descending on request, and pages in that order", async () => {
    expect(upns(await listUsers(t.ctx, {}))).toEqual(["inter.ready", "ms.one", "nobody", "online.done", "pgi.onprem"]);
    expect(upns(await listUsers(t.ctx, { order: "desc", limit: 2, offset: 1 }))).toEqual(["online.done", "nobody"]);
  });

  it("sorts by provider as the column reads (none, then names), UPN breaking ties", async () => {
    expect(upns(await listUsers(t.ctx, { sort: "provider" }))).toEqual(["nobody", "online.done", "inter.ready", "ms.one", "pgi.onprem"]);
  });

  it("filters by homing", async () => {
    expect(upns(await listUsers(t.ctx, { homing: "on-premises" }))).toEqual(["pgi.onprem"]);
    expect(upns(await listUsers(t.ctx, { homing: "online" }))).toEqual(["inter.ready", "ms.one", "nobody", "online.done"]);
  });

  it("filters and sorts by lifecycle state, agreeing with each user's interpretedUserType", async () => {
    expect(upns(await listUsers(t.ctx, { lifecycle: "HybridOnpremSfBUser" }))).toEqual(["pgi.onprem"]);
    expect(upns(await listUsers(t.ctx, { lifecycle: "HybridOnlineSfBUser" }))).toEqual(["online.done"]);
    expect(upns(await listUsers(t.ctx, { lifecycle: "CloudOnlyUser" }))).toEqual(["inter.ready", "ms.one", "nobody"]);
    expect((await listUsers(t.ctx, { lifecycle: "HybridOnlineSfBUserNeedsProvisioning" })).total).toBe(0);
    const all = await listUsers(t.ctx, {});
    for (const u of all.items) {
      const page = await listUsers(t.ctx, { lifecycle: u.voice.interpretedUserType });
      expect(upns(page)).toContain(u.userPrincipalName.split("@")[0]);
    }
    expect(upns(await listUsers(t.ctx, { sort: "lifecycle" }))).toEqual(["pgi.onprem", "online.done", "inter.ready", "ms.one", "nobody"]);
  });

  it("skips the count when asked (count: false), with the same page", async () => {
    const counted = await listUsers(t.ctx, { sort: "displayName", limit: 2, offset: 1 });
    const page = await listUsers(t.ctx, { sort: "displayName", limit: 2, offset: 1, count: false });
    expect(page).toMatchObject({ counted: false, total: 3 });
    expect(counted).toMatchObject({ counted: true, total: 5 });
    expect(upns(page)).toEqual(upns(counted));
  });

  it("combines filters with the ready-to-move filter", async () => {
    expect(upns(await listUsers(t.ctx, { readyForAudioConferencing: true, homing: "online" }))).toEqual(["inter.ready"]);
  });
});
