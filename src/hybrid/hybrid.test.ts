import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countOf, expectAppError, makeUser, newTenant, type TenantFixture, tenantSnapshot } from "../../test/support/fixtures.ts";
import { openTestRuntime, type TestRuntime } from "../../test/support/store.ts";
import { listAuditEvents } from "../audit/audit.service.ts";
import type { Ctx } from "../core/context.ts";
import { buildDemoTenant } from "../demo/demo.service.ts";
import { importDirectory, sourceFromText, syncDirectory } from "../directory/sync.service.ts";
import { getUser, listUsers, updateUser } from "../directory/users.service.ts";
import { getJob, listJobResults, stopRunningJobs } from "../jobs/jobs.service.ts";
import { addSku, assignLicence } from "../licensing/licensing.service.ts";
import { rows } from "../store/db.ts";
import {
  enableOnPremUser,
  getChecklist,
  getOnPremUser,
  grantOnlineVoiceRoutingPolicy,
  grantOnPremVoiceRoutingPolicy,
  setOnlineVoice,
  setOnPremUser,
} from "./hybrid.service.ts";
import { MOVE_USERS, moveUser, moveUsers } from "./move.service.ts";

let rt: TestRuntime;

beforeAll(async () => {
  rt = await openTestRuntime();
});

afterAll(async () => {
  await rt?.close();
});

const guid = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;

interface Obj {
  n: number;
  local: string;
  name?: string;
  sip?: boolean;
  pool?: string;
  online?: boolean;
  ev?: boolean;
  line?: string;
  policy?: string;
}

function csvOf(t: TenantFixture, objs: Obj[]): string {
  const head =
    "objectGUID,UserPrincipalName,DisplayName,UsageLocation,msRTCSIP-PrimaryUserAddress,RegistrarPool,HostingProvider,EnterpriseVoiceEnabled,LineUri,VoiceRoutingPolicy";
  const lines = objs.map((o) =>
    [
      guid(o.n),
      t.upn(o.local),
      o.name ?? o.local,
      "US",
      o.sip || o.online ? `sip:${t.upn(o.local)}` : "",
      o.online ? "" : (o.pool ?? (o.sip ? "pool01.contoso.com" : "")),
      o.online ? "sipfed.online.lync.com" : "",
      o.ev ? "true" : "false",
      o.line ?? "",
      o.policy ?? "",
    ].join(","),
  );
  return [head, ...lines].join("\n");
}

async function load(t: TenantFixture, objs: Obj[], full = false) {
  return importDirectory(t.ctx, sourceFromText("csv", "export.csv", csvOf(t, objs)), { full });
}

async function addPolicy(ctx: Ctx, identity: string): Promise<void> {
  await ctx.db.execute(
    sql`insert into voice_routing_policies (tenant_id, identity, pstn_usages) values (${ctx.tenantId}, ${identity}, array['Local']::text[])`,
  );
}

/** A tenant with Phone System seats besides the fixture's Audio Conferencing and SfB Online Plan 2. */
async function voiceTenant(): Promise<TenantFixture> {
  const t = await newTenant(rt, { bridge: false });
  await addSku(t.ctx, { skuPartNumber: "MCOEV", seats: 100 });
  return t;
}

describe("directory sync", () => {
  it("creates, updates, soft-deletes, and a second sync changes nothing", async () => {
    const t = await voiceTenant();
    const objs: Obj[] = [
      { n: 1, local: "ann" },
      { n: 2, local: "bob", sip: true, ev: true, line: "tel:+14255550201" },
      { n: 3, local: "cat", online: true },
    ];
    expect(await load(t, objs)).toMatchObject({ read: 3, created: 3, updated: 0, unchanged: 0 });
    const dry = await syncDirectory(t.ctx, { dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, created: 3 });
    expect((await listUsers(t.ctx, {})).total).toBe(0);

    const first = await syncDirectory(t.ctx);
    expect(first).toMatchObject({ created: 3, updated: 0, deleted: 0, unchanged: 0 });
    const bob = await getUser(t.ctx, t.upn("bob"));
    expect(bob.source).toBe("on-premises");
    expect(bob.voice).toMatchObject({
      userDirSyncEnabled: true,
      immutableId: guid(2),
      homing: "on-premises",
      onPremHostingProvider: "SRV:",
      onPremRegistrarPool: "pool01.contoso.com",
      onPremEnterpriseVoiceEnabled: true,
      lineUri: "tel:+14255550201",
      interpretedUserType: "HybridOnpremSfBUser",
    });
    expect((await getUser(t.ctx, t.upn("cat"))).voice).toMatchObject({ homing: "online", onPremHostingProvider: "sipfed.online.lync.com" });
    expect((await getUser(t.ctx, t.upn("ann"))).voice.interpretedUserType).toBe("HybridOnpremSfBUserNeedsProvisioning");

    const again = await syncDirectory(t.ctx);
    expect(again).toMatchObject({ created: 0, updated: 0, deleted: 0, unchanged: 3, changesTotal: 0 });
    expect(again.message).toContain("Nothing to synchronise");

    // Bob's line changes and Cat leaves the directory (a full export without her).
    await load(t, [objs[0] as Obj, { ...(objs[1] as Obj), line: "tel:+14255550299", name: "Bob Smith" }], true);
    const third = await syncDirectory(t.ctx);
    expect(third).toMatchObject({ created: 0, updated: 1, deleted: 1, unchanged: 1 });
    expect(third.changes).toEqual(
      expect.arrayContaining([
        { userPrincipalName: t.upn("bob"), action: "update", fields: ["displayName", "onPremLineUri"] },
        { userPrincipalName: t.upn("cat"), action: "delete", fields: [] },
      ]),
    );
    expect((await getUser(t.ctx, t.upn("bob"))).voice.lineUri).toBe("tel:+14255550299");
    // Soft-deleted: out of lists and identity resolution, but kept.
    await expectAppError(getUser(t.ctx, t.upn("cat")), "user_not_found");
    expect((await listUsers(t.ctx, {})).items.map((u) => u.userPrincipalName)).toEqual([t.upn("ann"), t.upn("bob")]);
    expect(await countOf(t.ctx, sql`select count(*) as n from users where tenant_id = ${t.ctx.tenantId} and deleted_at is not null`)).toBe(
      1,
    );
    const events = await listAuditEvents(t.ctx, { operation: "user.sync.delete" });
    expect(events).toHaveLength(1);

    // She comes back: restored, not duplicated.
    await load(t, [objs[2] as Obj]);
    expect(await syncDirectory(t.ctx)).toMatchObject({ updated: 1, created: 0 });
    expect((await getUser(t.ctx, t.upn("cat"))).voice.deletedAt).toBeNull();
  });

  it("refuses online edits of on-premises attributes of a synced user, naming the on-premises command and sync", async () => {
    const t = await voiceTenant();
    await load(t, [{ n: 10, local: "dee", sip: true }]);
    await syncDirectory(t.ctx);
    const before = await tenantSnapshot(t.ctx);
    await expectAppError(
      updateUser(t.ctx, t.upn("dee"), { displayName: "Dee D" }),
      "on_premises_authority",
      "display name",
      "callplane onprem set-user",
      "callplane directory sync",
    );
    await expectAppError(updateUser(t.ctx, t.upn("dee"), { sipAddress: "sip:x@contoso.com" }), "on_premises_authority", "SIP address");
    await expectAppError(updateUser(t.ctx, t.upn("dee"), { usageLocation: "FR" }), "on_premises_authority", "usage location");
    expect(await tenantSnapshot(t.ctx)).toEqual(before);
    // A cloud user is edited online as before.
    await makeUser(t, "cloudy", { licensed: false });
    expect((await updateUser(t.ctx, t.upn("cloudy"), { displayName: "Cloudy" })).displayName).toBe("Cloudy");
  });

  it("leaves out an object whose SIP address or UPN another user holds, naming both and the fix; syncs the rest", async () => {
    const t = await voiceTenant();
    // A cloud-only user already has the SIP address the on-premises object of "eve" carries.
    await makeUser(t, "eve.cloud", { licensed: false, sipAddress: `sip:${t.upn("eve")}` });
    await load(t, [
      { n: 20, local: "eve", sip: true },
      { n: 21, local: "fay" },
    ]);
    const first = await syncDirectory(t.ctx);
    expect(first).toMatchObject({ created: 1, updated: 0, deleted: 0 });
    expect(first.conflicts).toEqual([
      expect.objectContaining({
        userPrincipalName: t.upn("eve"),
        immutableId: guid(20),
        attribute: "sipAddress",
        value: `sip:${t.upn("eve")}`,
        heldBy: t.upn("eve.cloud"),
      }),
    ]);
    const msg = first.conflicts[0]?.message ?? "";
    for (const part of [t.upn("eve"), "cloud-only user", t.upn("eve.cloud"), "callplane users set", "callplane directory sync"])
      expect(msg).toContain(part);
    expect(first.message).toContain("1 object was not synchronised");
    // (eve's UPN still finds the cloud user: identities resolve by SIP address too.)
    expect((await getUser(t.ctx, t.upn("eve"))).userPrincipalName).toBe(t.upn("eve.cloud"));
    expect((await getUser(t.ctx, t.upn("fay"))).source).toBe("on-premises");
    // Nothing was half-written for eve: no audit event names her.
    expect(
      (await listAuditEvents(t.ctx, { operation: "user.sync.create" })).map(
        (e) => (e.after as { userPrincipalName?: string }).userPrincipalName,
      ),
    ).toEqual([t.upn("fay")]);

    // The administrator frees the address; the next sync creates eve and reports no clash.
    await updateUser(t.ctx, t.upn("eve.cloud"), { sipAddress: `sip:${t.upn("eve.cloud")}` });
    expect(await syncDirectory(t.ctx)).toMatchObject({ created: 1, conflicts: [] });

    // A soft-deleted synchronised user still holds its UPN: a new object with that UPN is named as the clash.
    await load(t, [{ n: 21, local: "fay" }], true);
    await syncDirectory(t.ctx);
    await load(t, [{ n: 22, local: "eve" }], true);
    const clash = await syncDirectory(t.ctx);
    expect(clash.conflicts).toEqual([
      expect.objectContaining({ userPrincipalName: t.upn("eve"), attribute: "userPrincipalName", heldBy: t.upn("eve") }),
    ]);
    expect(clash.conflicts[0]?.message).toContain("soft-deleted user");
  });
});

describe("§6 16: a cloud-only user", () => {
  it("cannot be enabled for hybrid voice nor moved; the error gives the documented remedy", async () => {
    const t = await voiceTenant();
    await makeUser(t, "cloud", { licensed: false });
    const before = await tenantSnapshot(t.ctx);
    const remedy = ["cloud-only", "create a new account for the user in the on-premises directory", "callplane directory sync"];
    await expectAppError(
      enableOnPremUser(t.ctx, t.upn("cloud"), { registrarPool: "pool01.contoso.com", sipAddressType: "UserPrincipalName" }),
      "cloud_only_user",
      ...remedy,
    );
    await expectAppError(setOnPremUser(t.ctx, t.upn("cloud"), { enterpriseVoiceEnabled: true }), "cloud_only_user", ...remedy);
    await expectAppError(moveUser(t.ctx, t.upn("cloud"), { target: "online" }), "cloud_only_user", ...remedy);
    const bulk = await moveUsers(t.ctx, { userList: t.upn("cloud"), target: "online" }, { wait: true });
    expect(bulk.report?.results).toEqual([
      { identity: t.upn("cloud"), outcome: "cloud-only", message: expect.stringContaining("on-premises directory") },
    ]);
    const { audit_events: _a, jobs: _j, ...rest } = before;
    const { audit_events: _b, jobs: _k, ...after } = await tenantSnapshot(t.ctx);
    expect(after).toEqual(rest);
  });

  it("a synced user never enabled for SfB: Set-CsUser names Enable-CsUser's command", async () => {
    const t = await voiceTenant();
    await load(t, [{ n: 20, local: "eve" }]);
    await syncDirectory(t.ctx);
    await expectAppError(
      setOnPremUser(t.ctx, t.upn("eve"), { enterpriseVoiceEnabled: true }),
      "not_enabled",
      "callplane onprem enable-user",
    );
    await expectAppError(moveUser(t.ctx, t.upn("eve"), { target: "online" }), "not_enabled", "callplane onprem enable-user");
    // The special case: enabled directly with the online hosting provider, then EV and a line URI.
    const enabled = await enableOnPremUser(t.ctx, t.upn("eve"), {
      hostingProviderProxyFqdn: "sipfed.online.lync.com",
      sipAddress: `sip:${t.upn("eve")}`,
    });
    expect(enabled.user).toMatchObject({ sipEnabled: true, hostingProvider: "sipfed.online.lync.com", registrarPool: null });
    const set = await setOnPremUser(t.ctx, t.upn("eve"), { enterpriseVoiceEnabled: true });
    expect(set.warnings[0]).toContain("no line URI");
  });
});

describe("line URIs on-premises", () => {
  it("are normalized and unique; a number with ;ext= is a different number", async () => {
    const t = await voiceTenant();
    await load(t, [
      { n: 30, local: "fay", sip: true },
      { n: 31, local: "gus", sip: true },
    ]);
    const fay = await setOnPremUser(t.ctx, t.upn("fay"), { enterpriseVoiceEnabled: true, lineUri: "+1 (425) 555-1297" });
    expect(fay.user.lineUri).toBe("tel:+14255551297");
    await expectAppError(
      setOnPremUser(t.ctx, t.upn("gus"), { lineUri: "tel:+14255551297" }),
      "duplicate",
      "already assigned to",
      t.upn("fay"),
    );
    const gus = await setOnPremUser(t.ctx, t.upn("gus"), { enterpriseVoiceEnabled: true, lineUri: "tel:+14255551297;ext=51297" });
    expect(gus.user.lineUri).toBe("tel:+14255551297;ext=51297");
    await expectAppError(setOnPremUser(t.ctx, t.upn("gus"), { lineUri: "4255551297" }), "invalid_input", "E.164");
  });
});

describe("§6 17 and 18: moving", () => {
  async function readyUser(t: TenantFixture, n: number, local: string, ev: boolean) {
    await load(t, [{ n, local, sip: true, ev, line: ev ? `tel:+1425555${String(n).padStart(4, "0")}` : undefined }]);
    await syncDirectory(t.ctx);
    await assignLicence(t.ctx, t.upn(local), "MCOSTANDARD");
  }

  it("17: an Enterprise Voice user without Phone System fails; with --bypass-enterprise-voice-check it moves", async () => {
    const t = await voiceTenant();
    await readyUser(t, 40, "hal", true);
    const before = await tenantSnapshot(t.ctx);
    await expectAppError(
      moveUser(t.ctx, t.upn("hal"), { target: "online" }),
      "licence_required",
      "Phone System",
      "--bypass-enterprise-voice-check",
    );
    expect(await tenantSnapshot(t.ctx)).toEqual(before);
    const row = await moveUser(t.ctx, t.upn("hal"), { target: "online", bypassEnterpriseVoiceCheck: true });
    expect(row).toMatchObject({ user: t.upn("hal"), result: "Success", changed: true, target: "sipfed.online.lync.com" });
    expect(row.notes.join(" ")).toContain("without a Phone System licence");
    expect((await getUser(t.ctx, t.upn("hal"))).voice).toMatchObject({ homing: "online", onPremHostingProvider: "sipfed.online.lync.com" });
    expect(await getOnPremUser(t.ctx, t.upn("hal"))).toMatchObject({ hostingProvider: "sipfed.online.lync.com", registrarPool: null });
    // A sync after the move changes nothing: both sides were moved together.
    expect(await syncDirectory(t.ctx)).toMatchObject({ updated: 0, created: 0 });
    // Already there: a warning, no change.
    const again = await moveUser(t.ctx, t.upn("hal"), { target: "online" });
    expect(again).toMatchObject({ changed: false, result: expect.stringContaining("already homed online") });
  });

  it("18: --force says contacts and meetings are lost; without it the row says Success and meetings are queued ≥90 min later", async () => {
    const t = await voiceTenant();
    await readyUser(t, 50, "ida", false);
    await readyUser(t, 51, "jon", false);
    const forced = await moveUser(t.ctx, t.upn("ida"), { target: "online", force: true });
    expect(forced.result).toBe("Success");
    expect(forced.notes.join(" ")).toMatch(/contacts and scheduled meetings were not migrated and are lost/);
    const normal = await moveUser(t.ctx, t.upn("jon"), { target: "online" });
    expect(normal.result).toBe("Success");
    expect(Date.parse(normal.startTime)).not.toBeNaN();
    expect(normal.notes.join(" ")).toMatch(/queued .* at least 90 minutes after the move/);
    // And back to a pool.
    const back = await moveUser(t.ctx, t.upn("jon"), { target: "pool02.contoso.com" });
    expect(back.result).toBe("Success");
    expect((await getUser(t.ctx, t.upn("jon"))).voice).toMatchObject({
      homing: "on-premises",
      onPremRegistrarPool: "pool02.contoso.com",
      onPremHostingProvider: "SRV:",
    });
    const jon = await getUser(t.ctx, t.upn("jon"));
    expect((await listAuditEvents(t.ctx, { operation: "user.move", target: jon.id })).map((e) => e.after)).toEqual([
      { hostingProvider: "SRV:", registrarPool: "pool02.contoso.com", homing: "on-premises", force: false },
      { hostingProvider: "sipfed.online.lync.com", registrarPool: null, homing: "online", force: false },
    ]);
    expect(
      await countOf(t.ctx, sql`select count(*) as n from audit_events where tenant_id = ${t.ctx.tenantId} and operation = 'user.move'`),
    ).toBe(3);
  });

  it("a dial-in user without Audio Conferencing needs --bypass-audio-conferencing-check", async () => {
    const t = await newTenant(rt);
    await load(t, [{ n: 60, local: "kim", sip: true }]);
    await syncDirectory(t.ctx);
    await assignLicence(t.ctx, t.upn("kim"), "MCOMEETADV"); // turns on Microsoft dial-in
    await assignLicence(t.ctx, t.upn("kim"), "MCOSTANDARD");
    await t.ctx.db.execute(
      sql`delete from licence_assignments la using skus s where la.sku_id = s.id and s.sku_part_number = 'MCOMEETADV' and la.tenant_id = ${t.ctx.tenantId}`,
    );
    await expectAppError(moveUser(t.ctx, t.upn("kim"), { target: "online" }), "licence_required", "Audio Conferencing");
    expect((await moveUser(t.ctx, t.upn("kim"), { target: "online", bypassAudioConferencingCheck: true })).result).toBe("Success");
  });
});

describe("§6 22: voice routing policies", () => {
  it("granting none gives Global; a site policy is refused for an online user", async () => {
    const t = await voiceTenant();
    await addPolicy(t.ctx, "RedmondInternational");
    await addPolicy(t.ctx, "Site:Redmond");
    await load(t, [{ n: 70, local: "lee", online: true }]);
    await syncDirectory(t.ctx);
    const granted = await grantOnlineVoiceRoutingPolicy(t.ctx, t.upn("lee"), "redmondinternational");
    expect(granted.user.voice).toMatchObject({
      onlineVoiceRoutingPolicy: "RedmondInternational",
      effectiveOnlineVoiceRoutingPolicy: "RedmondInternational",
    });
    const none = await grantOnlineVoiceRoutingPolicy(t.ctx, t.upn("lee"), null);
    expect(none.user.voice).toMatchObject({ onlineVoiceRoutingPolicy: null, effectiveOnlineVoiceRoutingPolicy: "Global" });
    await expectAppError(grantOnlineVoiceRoutingPolicy(t.ctx, t.upn("lee"), "Site:Redmond"), "policy_not_allowed", "Global or a per-user");
    await expectAppError(grantOnlineVoiceRoutingPolicy(t.ctx, t.upn("lee"), "Nowhere"), "not_found", "Nowhere");
    expect((await getUser(t.ctx, t.upn("lee"))).voice.effectiveOnlineVoiceRoutingPolicy).toBe("Global");
    // On-premises: $null falls back to Global too.
    await grantOnPremVoiceRoutingPolicy(t.ctx, t.upn("lee"), "Tag:RedmondInternational");
    expect((await grantOnPremVoiceRoutingPolicy(t.ctx, t.upn("lee"), null)).user.voiceRoutingPolicy).toBeNull();
  });
});

describe("bulk move", () => {
  it("a dry run changes nothing; an interrupted move resumes where it stopped", async () => {
    const t = await voiceTenant();
    const n = 2300;
    const objs: Obj[] = Array.from({ length: n }, (_, i) => ({ n: 1000 + i, local: `u${i}`, online: true }));
    await load(t, objs);
    await syncDirectory(t.ctx);
    const list = objs.map((o) => t.upn(o.local)).join(",");
    const onPool = () =>
      countOf(t.ctx, sql`select count(*) as n from users where tenant_id = ${t.ctx.tenantId} and homing = 'on-premises'`);

    const dry = await moveUsers(t.ctx, { userList: list, target: "pool01.contoso.com", dryRun: true }, { wait: true });
    expect(dry.report?.summary).toEqual({ changed: n, unchanged: 0, failed: 0 });
    expect(await onPool()).toBe(0);

    let stopped: Promise<string[]> | undefined;
    const plan = await moveUsers(
      t.ctx,
      { userList: list, target: "pool01.contoso.com" },
      {
        wait: true,
        onProgress: () => {
          stopped ??= stopRunningJobs();
        },
      },
    );
    expect(await stopped).toEqual([plan.job.id]);
    const interrupted = plan.job;
    expect(interrupted.status).toBe("pending");
    expect(interrupted.processed).toBeLessThan(n);
    expect(await onPool()).toBe(interrupted.processed);

    const resumed = await moveUsers(t.ctx, { userList: list, target: "pool01.contoso.com" }, { wait: true });
    expect(resumed).toMatchObject({ resumed: true, job: { id: plan.job.id, kind: MOVE_USERS, status: "completed", processed: n } });
    expect(await onPool()).toBe(n);
    expect((await getJob(t.ctx, plan.job.id)).summary).toEqual({ changed: n, unchanged: 0, failed: 0 });
    expect((await listJobResults(t.ctx, plan.job.id, { limit: 1 }))[0]).toMatchObject({
      outcome: "moved",
      message: expect.stringContaining("Success"),
    });
  });
});

describe("the seed's workflow, step by step", () => {
  it("takes one user from on-premises creation to online Enterprise Voice and voicemail, checklist all done", async () => {
    const t = await voiceTenant();
    await addPolicy(t.ctx, "RedmondPolicy");
    const upn = t.upn("kenmyer");
    const ldif = `version: 1
dn: CN=Ken Myer,OU=Users,DC=contoso,DC=com
objectClass: user
objectGUID:: AAECAwQFBgcICQoLDA0ODw==
userPrincipalName: ${upn}
displayName: Ken Myer
mailNickname: kenmyer
c: US
`;
    // 1. Created on-premises.
    expect(await importDirectory(t.ctx, sourceFromText("ldif", "users.ldif", ldif))).toMatchObject({ created: 1 });
    let list = await getChecklist(t.ctx, upn);
    expect(list.next).toBe("synced");
    // 2. Enabled for SfB Server, then Enterprise Voice with a line URI, then a voice routing policy (homed on-premises).
    await enableOnPremUser(t.ctx, upn, { registrarPool: "pool01.contoso.com", sipAddressType: "UserPrincipalName" });
    await setOnPremUser(t.ctx, upn, { enterpriseVoiceEnabled: true, lineUri: "tel:+14255550200" });
    await grantOnPremVoiceRoutingPolicy(t.ctx, upn, "RedmondPolicy");
    // 3. Synchronised, licensed.
    expect(await syncDirectory(t.ctx)).toMatchObject({ created: 1 });
    const synced = await getUser(t.ctx, upn);
    expect(synced.voice).toMatchObject({
      userDirSyncEnabled: true,
      interpretedUserType: "HybridOnpremSfBUser",
      onPremVoiceRoutingPolicy: "RedmondPolicy",
      lineUri: "tel:+14255550200",
    });
    list = await getChecklist(t.ctx, upn);
    expect(list.steps.filter((s) => s.done).map((s) => s.id)).toEqual([
      "synced",
      "sfb-enabled",
      "enterprise-voice",
      "voice-routing-policy",
    ]);
    expect(list.next).toBe("licences");
    await assignLicence(t.ctx, upn, "MCOSTANDARD");
    await assignLicence(t.ctx, upn, "MCOEV");
    // Online voice cannot be set while homed on-premises.
    await expectAppError(setOnlineVoice(t.ctx, upn, { enterpriseVoiceEnabled: true }), "not_enabled", "homed on-premises");
    // 4. Moved online.
    expect((await moveUser(t.ctx, upn, { target: "online" })).result).toBe("Success");
    expect((await getUser(t.ctx, upn)).voice.interpretedUserType).toBe("HybridOnlineSfBUserNeedsProvisioning");
    // 5. Online Enterprise Voice and hosted voicemail; the on-premises line URI is the user's line URI.
    const done = await setOnlineVoice(t.ctx, upn, { enterpriseVoiceEnabled: true, hostedVoicemail: true });
    expect(done.user.voice).toMatchObject({
      enterpriseVoiceEnabled: true,
      hostedVoicemail: true,
      lineUri: "tel:+14255550200",
      interpretedUserType: "HybridOnlineSfBUser",
    });
    list = await getChecklist(t.ctx, upn);
    expect(list).toMatchObject({ done: true, next: null, interpretedUserType: "HybridOnlineSfBUser" });
    expect(list.steps.map((s) => [s.id, s.done])).toEqual([
      ["synced", true],
      ["sfb-enabled", true],
      ["enterprise-voice", true],
      ["voice-routing-policy", true],
      ["licences", true],
      ["moved-online", true],
      ["online-voice", true],
    ]);
    const ops = (await listAuditEvents(t.ctx, { target: synced.id })).map((e) => e.operation).reverse();
    expect(ops).toEqual(["user.sync.create", "licence.assign", "licence.assign", "user.move", "user.set-voice"]);
  });
});

describe("the demo tenant", () => {
  it("has on-premises users in every hybrid state, already in sync", async () => {
    const t = await newTenant(rt, { bridge: false });
    const demo = await buildDemoTenant(rt.store.db, t.ctx.env, { users: 300, name: `HybridDemo${process.pid}` });
    const ctx: Ctx = { ...t.ctx, tenantId: demo.tenant.id };
    const states = await rows<{ state: string; n: number }>(
      ctx.db,
      sql`select case when not sip_enabled then 'not-enabled' when hosting_provider = 'SRV:' and enterprise_voice_enabled then 'pool-ev'
                      when hosting_provider = 'SRV:' then 'pool' else 'online' end as state, count(*)::int as n
          from directory_objects where tenant_id = ${ctx.tenantId} group by 1 order by 1`,
    );
    expect(states.map((s) => s.state)).toEqual(["not-enabled", "online", "pool", "pool-ev"]);
    expect(states.every((s) => s.n > 10)).toBe(true);
    expect(await syncDirectory(ctx, { dryRun: true })).toMatchObject({ created: 0, updated: 0, deleted: 0 });
    const list = await listUsers(ctx, { source: "on-premises", limit: 1000 });
    const types = new Set(list.items.map((u) => u.voice.interpretedUserType));
    expect(types).toEqual(
      new Set([
        "HybridOnpremSfBUserNeedsProvisioning",
        "HybridOnpremSfBUser",
        "HybridOnlineSfBUserNeedsProvisioning",
        "HybridOnlineSfBUser",
      ]),
    );
  });
});
