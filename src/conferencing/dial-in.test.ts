import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  archivesOf,
  BRIDGE_NUMBERS,
  countOf,
  emailsTo,
  expectAppError,
  expectNoPinHash,
  INTERCALL_ENTRY,
  makeUser,
  newTenant,
  outboxCount,
  pinHashOf,
  pinInEmail,
  tenantSnapshot,
} from "../../test/support/fixtures.ts";
import { openTestRuntime, type TestRuntime } from "../../test/support/store.ts";
import { listAuditEvents } from "../audit/audit.service.ts";
import { getUser } from "../directory/users.service.ts";
import { rows } from "../store/db.ts";
import { addServiceNumber, createBridge, setBridge } from "./bridges.service.ts";
import {
  disableDialIn,
  enableDialIn,
  getConferencingSummary,
  getDialIn,
  listDialInUsers,
  MICROSOFT_DOMAIN,
  setDialIn,
} from "./dial-in.service.ts";
import { verifyPin } from "./pin.ts";
import { getUserAcp, removeUserAcp } from "./providers.service.ts";
import { setConferencingSettings } from "./settings.service.ts";

let rt: TestRuntime;

beforeAll(async () => {
  rt = await openTestRuntime();
});

afterAll(async () => {
  await rt?.close();
});

describe("enableDialIn (Enable-CsOnlineDialInConferencingUser)", () => {
  it("moves a licensed InterCall user to Microsoft with --replace-provider: dial-in set, InterCall archived, PIN emailed and stored hashed", async () => {
    const t = await newTenant(rt);
    const user = await makeUser(t, "ivy", { provider: "InterCall" });
    expect(user.provider).toEqual({ kind: "third-party", name: "InterCall" });

    const change = await enableDialIn(t.ctx, user.userPrincipalName, { replaceProvider: true });

    expect(change.changed).toBe(true);
    expect(change.message).toContain("from InterCall to Microsoft");
    expect(change.dialIn).toMatchObject({
      provider: "Microsoft",
      domain: MICROSOFT_DOMAIN,
      bridge: "Main bridge",
      serviceNumber: BRIDGE_NUMBERS.toll,
      tollFreeServiceNumber: BRIDGE_NUMBERS.tollFree,
      allowPstnOnlyMeetings: false,
      allowTollFreeDialIn: true,
    });
    expect(change.dialIn?.conferenceId).toMatch(/^[1-9][0-9]{6}$/);
    expect(change.pin).toMatch(/^[0-9]{5}$/);
    expect(change.replaced?.provider).toBe("InterCall");
    expect(change.replaced?.acpEntries[0]).toMatchObject({ name: "InterCall", participantPasscode: INTERCALL_ENTRY.participantPasscode });

    // What an administrator sees afterwards.
    expect((await getUser(t.ctx, user.userPrincipalName)).provider).toEqual({ kind: "microsoft", name: "Microsoft" });
    expect(await getDialIn(t.ctx, user.userPrincipalName)).toEqual(change.dialIn);
    expect(await getUserAcp(t.ctx, user.userPrincipalName)).toEqual([]);

    // The InterCall entry is archived in full, so it can be restored.
    const archives = await archivesOf(t.ctx, user.id);
    expect(archives).toHaveLength(1);
    expect(archives[0]).toMatchObject({ operation: "conferencing.enable", restored: false, jobId: null });
    expect(archives[0]?.data.provider).toBe("InterCall");
    expect(archives[0]?.data.acpEntries).toEqual([
      {
        name: "InterCall",
        domain: "intercall.com",
        tollNumber: INTERCALL_ENTRY.tollNumber,
        tollFreeNumbers: [...INTERCALL_ENTRY.tollFreeNumbers],
        participantPasscode: INTERCALL_ENTRY.participantPasscode,
        url: INTERCALL_ENTRY.url,
        isDefault: true,
      },
    ]);

    // The PIN is stored only as a keyed hash, which verifies with the server key.
    const hash = await pinHashOf(t.ctx, user.id);
    const pin = change.pin ?? "";
    expect(hash).toMatch(/^hmac-sha256\$/);
    expect(hash).not.toContain(pin);
    expect(verifyPin(pin, hash ?? "", rt.env.pinKey)).toBe(true);
    expect(verifyPin(pin === "13579" ? "24680" : "13579", hash ?? "", rt.env.pinKey)).toBe(false);

    // AutomaticallySendEmailsToUsers is on by default: the user gets the new details and the PIN.
    expect(change.mail).toMatchObject({ to: user.userPrincipalName, status: "sent", error: null });
    const [mail, ...more] = await emailsTo(rt, user.userPrincipalName);
    expect(more).toHaveLength(0);
    expect(pinInEmail(mail ?? "")).toBe(pin);
    expect(mail).toContain(`Conference ID: ${change.dialIn?.conferenceId}`);
    expect(mail).toContain(`Dial-in number (toll): ${BRIDGE_NUMBERS.toll}`);
    expect(mail).toContain("changed from InterCall to Microsoft");

    // One audit event, with who, before and after, and no PIN hash.
    const events = await listAuditEvents(t.ctx, { target: user.id, operation: "conferencing.enable" });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      actor: "admin:test",
      before: { provider: "InterCall" },
      after: { provider: "Microsoft", conferenceId: change.dialIn?.conferenceId, pinReset: true },
    });
    expectNoPinHash(events);
    expectNoPinHash(change);
  });

  it("refuses a third-party user without --replace-provider and changes nothing", async () => {
    const t = await newTenant(rt);
    const user = await makeUser(t, "pat", { provider: "InterCall" });
    const before = await tenantSnapshot(t.ctx);
    const mails = await outboxCount(rt);

    await expectAppError(
      enableDialIn(t.ctx, user.userPrincipalName, {}),
      "provider_conflict",
      user.userPrincipalName,
      "InterCall",
      "--replace-provider",
    );

    expect(await tenantSnapshot(t.ctx)).toEqual(before);
    expect(await outboxCount(rt)).toBe(mails);
    expect((await getUser(t.ctx, user.id)).provider.name).toBe("InterCall");
  });

  it("is a no-op for a user already on Microsoft: same conference ID, no archive, no audit, no email", async () => {
    const t = await newTenant(rt);
    const user = await makeUser(t, "mia");
    const first = await getDialIn(t.ctx, user.userPrincipalName);
    const before = await tenantSnapshot(t.ctx);
    const mails = await outboxCount(rt);

    const again = await enableDialIn(t.ctx, user.userPrincipalName, { replaceProvider: true });

    expect(again).toMatchObject({ changed: false, pin: null, mail: null });
    expect(again.message).toBe(`The provider of ${user.userPrincipalName} is already set to Microsoft.`);
    expect(again.dialIn?.conferenceId).toBe(first.conferenceId);
    expect(await tenantSnapshot(t.ctx)).toEqual(before);
    expect(await outboxCount(rt)).toBe(mails);
  });

  it("requires an Audio Conferencing licence and says how to assign one", async () => {
    const t = await newTenant(rt);
    const user = await makeUser(t, "nolic", { licensed: false });
    const before = await tenantSnapshot(t.ctx);

    await expectAppError(
      enableDialIn(t.ctx, user.userPrincipalName, {}),
      "licence_required",
      user.userPrincipalName,
      `callplane licences assign ${user.userPrincipalName} --sku MCOMEETADV`,
    );
    expect(await tenantSnapshot(t.ctx)).toEqual(before);
  });

  it("needs a bridge, and says how to create one", async () => {
    const t = await newTenant(rt, { bridge: false });
    const user = await makeUser(t, "early");
    expect(user.provider.kind).toBe("none");
    const before = await tenantSnapshot(t.ctx);
    await expectAppError(enableDialIn(t.ctx, user.userPrincipalName, {}), "bridge_required", "bridges create");
    expect(await tenantSnapshot(t.ctx)).toEqual(before);
  });

  it("does not email when the tenant does not send emails automatically, unless asked to", async () => {
    const t = await newTenant(rt);
    await setConferencingSettings(t.ctx, { automaticallySendEmailsToUsers: false });
    const quiet = await makeUser(t, "quiet", { provider: "PGi" });
    const asked = await makeUser(t, "asked", { provider: "PGi" });

    const q = await enableDialIn(t.ctx, quiet.userPrincipalName, { replaceProvider: true });
    const a = await enableDialIn(t.ctx, asked.userPrincipalName, { replaceProvider: true, sendEmail: true });

    expect(q.mail).toBeNull();
    expect(await emailsTo(rt, quiet.userPrincipalName)).toEqual([]);
    expect(a.mail?.status).toBe("sent");
    expect(pinInEmail((await emailsTo(rt, asked.userPrincipalName))[0] ?? "")).toBe(a.pin);
  });

  it("takes a chosen conference ID only when it is free and well formed; a disabled holder's ID can be reused", async () => {
    const t = await newTenant(rt);
    const holder = await makeUser(t, "holder", { provider: "InterCall" });
    const other = await makeUser(t, "other", { provider: "InterCall" });

    const held = await enableDialIn(t.ctx, holder.userPrincipalName, { replaceProvider: true, conferenceId: "3659305" });
    expect(held.dialIn?.conferenceId).toBe("3659305");

    const before = await tenantSnapshot(t.ctx);
    await expectAppError(
      enableDialIn(t.ctx, other.userPrincipalName, { replaceProvider: true, conferenceId: 3659305 }),
      "conference_id_taken",
      "3659305",
      "Main bridge",
      "omit --conference-id",
    );
    await expectAppError(
      enableDialIn(t.ctx, other.userPrincipalName, { replaceProvider: true, conferenceId: "123" }),
      "conference_id_invalid",
      '"123"',
      "exactly 7 digits",
    );
    await expectAppError(
      enableDialIn(t.ctx, other.userPrincipalName, { replaceProvider: true, conferenceId: "36593O5" }),
      "conference_id_invalid",
      "36593O5",
    );
    expect(await tenantSnapshot(t.ctx)).toEqual(before);

    const off = await disableDialIn(t.ctx, holder.userPrincipalName, {});
    expect(off.message).toContain("3659305 is released");
    const reused = await enableDialIn(t.ctx, other.userPrincipalName, { replaceProvider: true, conferenceId: "3659305" });
    expect(reused.dialIn?.conferenceId).toBe("3659305");
    expect((await getDialIn(t.ctx, other.userPrincipalName)).conferenceId).toBe("3659305");
  });

  it("accepts a service number as 14255551234, +14255551234 or tel:+14255551234, and rejects one not on the bridge", async () => {
    const t = await newTenant(rt);
    // The bridge default is the Redmond number; ask for the Seattle one in each form.
    const forms = ["12065550199", "+12065550199", "tel:+12065550199"];
    for (const [i, form] of forms.entries()) {
      const u = await makeUser(t, `form${i}`, { provider: "InterCall" });
      const change = await enableDialIn(t.ctx, u.userPrincipalName, { replaceProvider: true, serviceNumber: form });
      expect(change.dialIn?.serviceNumber, form).toBe(BRIDGE_NUMBERS.otherToll);
    }

    const u = await makeUser(t, "wrongnumber", { provider: "InterCall" });
    const before = await tenantSnapshot(t.ctx);
    await expectAppError(
      enableDialIn(t.ctx, u.userPrincipalName, { replaceProvider: true, serviceNumber: "tel:+14255559999" }),
      "service_number_not_on_bridge",
      "tel:+14255559999",
      "Main bridge",
      BRIDGE_NUMBERS.toll,
    );
    // A toll-free number is not a toll number.
    await expectAppError(
      enableDialIn(t.ctx, u.userPrincipalName, { replaceProvider: true, serviceNumber: BRIDGE_NUMBERS.tollFree }),
      "service_number_invalid",
      "toll-free",
    );
    expect(await tenantSnapshot(t.ctx)).toEqual(before);
  });

  it("puts users on the default bridge when there are several, or on the one named", async () => {
    const t = await newTenant(rt);
    await createBridge(t.ctx, { name: "Europe bridge", conferenceIdLength: 9 });
    await addServiceNumber(t.ctx, { number: "+442079460100", type: "toll", bridge: "Europe bridge", country: "GB" });
    const a = await makeUser(t, "defaultbridge");
    expect((await getDialIn(t.ctx, a.userPrincipalName)).bridge).toBe("Main bridge");

    const b = await makeUser(t, "named", { provider: "InterCall" });
    const change = await enableDialIn(t.ctx, b.userPrincipalName, { replaceProvider: true, bridge: "europe BRIDGE" });
    expect(change.dialIn).toMatchObject({ bridge: "Europe bridge", serviceNumber: "+442079460100" });
    expect(change.dialIn?.conferenceId).toMatch(/^[0-9]{9}$/);

    const c = await makeUser(t, "nobridge", { provider: "InterCall" });
    await expectAppError(
      enableDialIn(t.ctx, c.userPrincipalName, { replaceProvider: true, bridge: "Asia" }),
      "not_found",
      "Asia",
      "Main bridge",
    );
  });
});

describe("setDialIn (Set-CsOnlineDialInConferencingUser)", () => {
  it("resets the leader PIN: a new hash, the old PIN no longer verifies, the new one is emailed", async () => {
    const t = await newTenant(rt);
    const user = await makeUser(t, "reset", { provider: "InterCall" });
    const first = await enableDialIn(t.ctx, user.userPrincipalName, { replaceProvider: true });
    const oldHash = await pinHashOf(t.ctx, user.id);

    const change = await setDialIn(t.ctx, user.userPrincipalName, { resetLeaderPin: true });

    expect(change.changed).toBe(true);
    expect(change.pin).toMatch(/^[0-9]{5}$/);
    const newHash = (await pinHashOf(t.ctx, user.id)) ?? "";
    expect(newHash).not.toBe(oldHash);
    expect(verifyPin(change.pin ?? "", newHash, rt.env.pinKey)).toBe(true);
    if (first.pin !== change.pin) expect(verifyPin(first.pin ?? "", newHash, rt.env.pinKey)).toBe(false);
    expect(change.dialIn?.conferenceId).toBe(first.dialIn?.conferenceId);
    const mails = await emailsTo(rt, user.userPrincipalName);
    expect(mails).toHaveLength(2);
    expect(pinInEmail(mails[1] ?? "")).toBe(change.pin);

    const [event] = await listAuditEvents(t.ctx, { target: user.id, operation: "conferencing.set" });
    expect(event?.after).toMatchObject({ pinReset: true });
    expectNoPinHash(event);
    expectNoPinHash(change);
  });

  it("resets the conference ID: the old one is released and archived", async () => {
    const t = await newTenant(rt);
    const user = await makeUser(t, "newid", { provider: "InterCall" });
    await enableDialIn(t.ctx, user.userPrincipalName, { replaceProvider: true, conferenceId: "4444444" });

    const change = await setDialIn(t.ctx, user.userPrincipalName, { resetConferenceId: true });

    expect(change.dialIn?.conferenceId).not.toBe("4444444");
    expect(change.replaced?.conferenceId).toBe("4444444");
    const last = (await archivesOf(t.ctx, user.id)).at(-1);
    expect(last).toMatchObject({ operation: "conferencing.set", data: { provider: "Microsoft", dialIn: { conferenceId: "4444444" } } });
    const next = await makeUser(t, "taker", { provider: "InterCall" });
    const taken = await enableDialIn(t.ctx, next.userPrincipalName, { replaceProvider: true, conferenceId: "4444444" });
    expect(taken.dialIn?.conferenceId).toBe("4444444");
  });

  it("changes the default toll number in any accepted form, and refuses one not on the bridge without changing anything", async () => {
    const t = await newTenant(rt);
    const user = await makeUser(t, "numbers");
    const change = await setDialIn(t.ctx, user.userPrincipalName, { serviceNumber: "tel:+12065550199" });
    expect(change.dialIn?.serviceNumber).toBe(BRIDGE_NUMBERS.otherToll);
    expect(change.message).toContain("serviceNumber");

    const same = await setDialIn(t.ctx, user.userPrincipalName, { serviceNumber: "12065550199" });
    expect(same.changed).toBe(false);

    const before = await tenantSnapshot(t.ctx);
    await expectAppError(
      setDialIn(t.ctx, user.userPrincipalName, { serviceNumber: "+33199000100", resetLeaderPin: true }),
      "service_number_not_on_bridge",
      "+33199000100",
      "Main bridge",
    );
    expect(await tenantSnapshot(t.ctx)).toEqual(before);
  });

  it("refuses --conference-id together with --reset-conference-id", async () => {
    const t = await newTenant(rt);
    const user = await makeUser(t, "both");
    await expectAppError(
      setDialIn(t.ctx, user.userPrincipalName, { conferenceId: "1234567", resetConferenceId: true }),
      "invalid_input",
      "not both",
    );
  });

  it("fails for a third-party user, pointing to --replace-provider", async () => {
    const t = await newTenant(rt);
    const user = await makeUser(t, "third", { provider: "InterCall" });
    const before = await tenantSnapshot(t.ctx);
    await expectAppError(
      setDialIn(t.ctx, user.userPrincipalName, { resetLeaderPin: true }),
      "not_microsoft_provider",
      user.userPrincipalName,
      "InterCall",
      "--replace-provider",
    );
    await expectAppError(getDialIn(t.ctx, user.userPrincipalName), "not_microsoft_provider", "InterCall");
    expect(await tenantSnapshot(t.ctx)).toEqual(before);
  });

  it("keeps users' numbers when the bridge default number changes", async () => {
    const t = await newTenant(rt);
    const user = await makeUser(t, "keeper");
    await setBridge(t.ctx, undefined, { defaultServiceNumber: "12065550199" });
    expect((await getDialIn(t.ctx, user.userPrincipalName)).serviceNumber).toBe(BRIDGE_NUMBERS.toll);
    const late = await makeUser(t, "late");
    expect((await getDialIn(t.ctx, late.userPrincipalName)).serviceNumber).toBe(BRIDGE_NUMBERS.otherToll);
  });
});

describe("disableDialIn (Disable-CsOnlineDialInConferencingUser)", () => {
  it("fails for a third-party user, pointing to `acp remove`, and changes nothing", async () => {
    const t = await newTenant(rt);
    const user = await makeUser(t, "acpuser", { provider: "InterCall" });
    const before = await tenantSnapshot(t.ctx);
    await expectAppError(
      disableDialIn(t.ctx, user.userPrincipalName, {}),
      "not_microsoft_provider",
      user.userPrincipalName,
      "InterCall",
      `callplane conferencing acp remove ${user.userPrincipalName}`,
    );
    expect(await tenantSnapshot(t.ctx)).toEqual(before);
    // The pointed-to command does work.
    await removeUserAcp(t.ctx, user.userPrincipalName);
    expect((await getUser(t.ctx, user.id)).provider.kind).toBe("none");
  });

  it("says there is nothing to disable for a user with no provider", async () => {
    const t = await newTenant(rt);
    const user = await makeUser(t, "none", { licensed: false });
    await expectAppError(disableDialIn(t.ctx, user.userPrincipalName, {}), "not_enabled", user.userPrincipalName, "nothing to disable");
  });

  it("turns Microsoft dial-in off: archived, audited, emailed, and the user keeps the licence", async () => {
    const t = await newTenant(rt);
    const user = await makeUser(t, "leaver");
    const dialIn = await getDialIn(t.ctx, user.userPrincipalName);

    const change = await disableDialIn(t.ctx, user.userPrincipalName, {});

    expect(change).toMatchObject({ changed: true, dialIn: null, replaced: { conferenceId: dialIn.conferenceId } });
    const after = await getUser(t.ctx, user.id);
    expect(after.provider.kind).toBe("none");
    expect(after.audioConferencingLicensed).toBe(true);
    expect(after.readyForAudioConferencing).toBe(true);
    await expectAppError(getDialIn(t.ctx, user.userPrincipalName), "not_enabled");
    const last = (await archivesOf(t.ctx, user.id)).at(-1);
    expect(last).toMatchObject({
      operation: "conferencing.disable",
      data: { provider: "Microsoft", dialIn: { conferenceId: dialIn.conferenceId } },
    });
    const [event] = await listAuditEvents(t.ctx, { target: user.id, operation: "conferencing.disable" });
    expect(event).toMatchObject({ actor: "admin:test", before: { conferenceId: dialIn.conferenceId }, after: null });
    expectNoPinHash(event);
    expect((await emailsTo(rt, user.userPrincipalName)).at(-1)).toContain("Dial-in conferencing is off");
  });
});

describe("listDialInUsers (Get-CsOnlineDialInConferencingUser)", () => {
  it("returns nothing for -ResultSize 0, and an empty list for a tenant with no Microsoft users", async () => {
    const t = await newTenant(rt);
    await makeUser(t, "inter", { provider: "InterCall" });
    await makeUser(t, "unlicensed", { licensed: false });
    expect(await listDialInUsers(t.ctx, {})).toEqual([]);

    await makeUser(t, "a1");
    await makeUser(t, "a2");
    await makeUser(t, "a3");
    expect(await listDialInUsers(t.ctx, { resultSize: 0 })).toEqual([]);
    const two = await listDialInUsers(t.ctx, { resultSize: 2 });
    expect(two.map((d) => d.userPrincipalName)).toEqual([t.upn("a1"), t.upn("a2")]);
    const all = await listDialInUsers(t.ctx, {});
    expect(all.map((d) => d.userPrincipalName)).toEqual([t.upn("a1"), t.upn("a2"), t.upn("a3")]);
    expect(all.every((d) => d.provider === "Microsoft" && d.domain === MICROSOFT_DOMAIN)).toBe(true);
    expectNoPinHash(all);
  });

  it("only lists the tenant's own users", async () => {
    const a = await newTenant(rt);
    const b = await newTenant(rt);
    await makeUser(a, "mine");
    expect(await listDialInUsers(b.ctx, {})).toEqual([]);
    expect((await getConferencingSummary(b.ctx)).dialInUsers).toBe(0);
  });
});

describe("getConferencingSummary", () => {
  it("counts users by provider and shows the banner for licensed users not on Microsoft", async () => {
    const t = await newTenant(rt);
    await makeUser(t, "ms1");
    await makeUser(t, "ms2");
    await makeUser(t, "ic1", { provider: "InterCall" });
    await makeUser(t, "pgi1", { provider: "PGi", licensed: false });
    await makeUser(t, "nolicence", { licensed: false });

    const summary = await getConferencingSummary(t.ctx);

    expect(summary.byProvider).toEqual({ Microsoft: 2, InterCall: 1, PGi: 1, none: 1 });
    expect(summary.dialInUsers).toBe(2);
    expect(summary.readyForAudioConferencing).toBe(1);
    expect(summary.banner).toContain("1 user has an Audio Conferencing licence");
    expect(summary.banner).toContain("move-to-microsoft --ready");
  });
});

describe("PIN hashes", () => {
  it("never appear in audit events, whatever was done", async () => {
    const t = await newTenant(rt);
    const u = await makeUser(t, "audited", { provider: "InterCall" });
    await enableDialIn(t.ctx, u.userPrincipalName, { replaceProvider: true });
    await setDialIn(t.ctx, u.userPrincipalName, { resetLeaderPin: true, resetConferenceId: true });
    await disableDialIn(t.ctx, u.userPrincipalName, {});
    const all = await rows<{ before: unknown; after: unknown }>(
      t.ctx.db,
      sql`select before, after from audit_events where tenant_id = ${t.ctx.tenantId}`,
    );
    expect(all.length).toBeGreaterThan(5);
    expectNoPinHash(all);
    expect(await countOf(t.ctx, sql`select count(*) as n from archives where tenant_id = ${t.ctx.tenantId}`)).toBe(3);
  });
});
