import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  archivesOf,
  countOf,
  emailsTo,
  expectAppError,
  expectNoPinHash,
  INTERCALL_ENTRY,
  makeUser,
  newTenant,
  pinHashOf,
  pinInEmail,
  tenantSnapshot,
} from "../../test/support/fixtures.ts";
import { openTestRuntime, type TestRuntime } from "../../test/support/store.ts";
import { listAuditEvents } from "../audit/audit.service.ts";
import { createBridge } from "../conferencing/bridges.service.ts";
import { enableDialIn, getDialIn, MICROSOFT_DOMAIN } from "../conferencing/dial-in.service.ts";
import { verifyPin } from "../conferencing/pin.ts";
import { getUserAcp } from "../conferencing/providers.service.ts";
import { setConferencingSettings } from "../conferencing/settings.service.ts";
import { createUser, getUser, updateUser } from "../directory/users.service.ts";
import { addSku, assignLicence, listSkus, removeLicence, removeSku, setSkuSeats } from "./licensing.service.ts";

let rt: TestRuntime;

beforeAll(async () => {
  rt = await openTestRuntime();
});

afterAll(async () => {
  await rt?.close();
});

describe("addSku and setSkuSeats", () => {
  it("adds a known SKU with its service plans, and counts seats in use", async () => {
    const t = await newTenant(rt);
    const e5 = await addSku(t.ctx, { skuPartNumber: "enterprisepremium", seats: 3 });
    expect(e5).toMatchObject({ skuPartNumber: "ENTERPRISEPREMIUM", name: "Office 365 E5", seats: 3, consumed: 0, available: 3 });
    expect(e5.servicePlans).toEqual(["MCOEV", "MCOMEETADV", "MCOSTANDARD", "TEAMS1"]);

    await makeUser(t, "one", { licensed: false });
    await assignLicence(t.ctx, t.upn("one"), "Office 365 E5");
    const skus = await listSkus(t.ctx);
    expect(skus.find((s) => s.skuPartNumber === "ENTERPRISEPREMIUM")).toMatchObject({ consumed: 1, available: 2 });
    const [event] = await listAuditEvents(t.ctx, { operation: "licence.add", target: e5.id });
    expect(event).toMatchObject({ actor: "admin:test", after: { skuPartNumber: "ENTERPRISEPREMIUM" } });
  });

  it("rejects a bad part number, negative seats and a duplicate SKU, adding nothing", async () => {
    const t = await newTenant(rt);
    const before = await tenantSnapshot(t.ctx);
    await expectAppError(addSku(t.ctx, { skuPartNumber: "MCO-MEET", seats: 1 }), "invalid_input", "MCO-MEET", "MCOMEETADV");
    await expectAppError(addSku(t.ctx, { skuPartNumber: "MCOEV", seats: -1 }), "invalid_input", "-1");
    await expectAppError(addSku(t.ctx, { skuPartNumber: "mcomeetadv", seats: 5 }), "duplicate", "SKU part number");
    expect(await tenantSnapshot(t.ctx)).toEqual(before);
    expect(await listSkus(t.ctx)).toHaveLength(2);
  });

  it("never sets fewer seats than are in use", async () => {
    const t = await newTenant(rt);
    await makeUser(t, "s1");
    await makeUser(t, "s2");
    await expectAppError(setSkuSeats(t.ctx, "MCOMEETADV", 1), "invalid_input", "MCOMEETADV has 2 seats in use", "at least 2");
    expect((await setSkuSeats(t.ctx, "mcomeetadv", 2)).available).toBe(0);
  });

  it("removes a licence nobody holds, and refuses one in use naming how many and how to free it", async () => {
    const t = await newTenant(rt);
    await makeUser(t, "held");
    const before = await tenantSnapshot(t.ctx);
    await expectAppError(removeSku(t.ctx, "MCOMEETADV"), "licence_in_use", "assigned to 1 user", "callplane licences unassign");
    expect(await tenantSnapshot(t.ctx)).toEqual(before);

    const spare = await addSku(t.ctx, { skuPartNumber: "MCOEV", seats: 5 });
    expect((await removeSku(t.ctx, "mcoev")).skuPartNumber).toBe("MCOEV");
    expect((await listSkus(t.ctx)).map((s) => s.skuPartNumber)).not.toContain("MCOEV");
    const [event] = await listAuditEvents(t.ctx, { operation: "licence.remove", target: spare.id });
    expect(event).toMatchObject({ before: { skuPartNumber: "MCOEV", seats: 5 } });
    await expectAppError(removeSku(t.ctx, "MCOEV"), "not_found");
  });
});

describe("assignLicence", () => {
  it("needs a usage location, says how to set one, and assigns nothing", async () => {
    const t = await newTenant(rt);
    const user = await makeUser(t, "nowhere", { licensed: false, usageLocation: null });
    const before = await tenantSnapshot(t.ctx);

    await expectAppError(
      assignLicence(t.ctx, user.userPrincipalName, "MCOMEETADV"),
      "usage_location_required",
      user.userPrincipalName,
      `callplane users set ${user.userPrincipalName} --usage-location`,
    );
    expect(await tenantSnapshot(t.ctx)).toEqual(before);
    expect((await listSkus(t.ctx)).find((s) => s.skuPartNumber === "MCOMEETADV")?.consumed).toBe(0);

    await updateUser(t.ctx, user.userPrincipalName, { usageLocation: "gb" });
    const done = await assignLicence(t.ctx, user.userPrincipalName, "MCOMEETADV");
    expect(done.changed).toBe(true);
    expect(done.user.licences).toEqual(["MCOMEETADV"]);
  });

  it("needs a free seat: the last seat goes to one user, the next is told how to add seats", async () => {
    const t = await newTenant(rt, { audioConferencingSeats: 1 });
    await makeUser(t, "first");
    const second = await makeUser(t, "second", { licensed: false });
    const before = await tenantSnapshot(t.ctx);

    await expectAppError(
      assignLicence(t.ctx, second.userPrincipalName, "MCOMEETADV"),
      "no_free_seat",
      "All 1 seats of MCOMEETADV are in use",
      "callplane licences set-seats MCOMEETADV",
    );
    expect(await tenantSnapshot(t.ctx)).toEqual(before);
    expect((await getUser(t.ctx, second.id)).licences).toEqual([]);

    await setSkuSeats(t.ctx, "MCOMEETADV", 2);
    expect((await assignLicence(t.ctx, second.userPrincipalName, "MCOMEETADV")).user.audioConferencingLicensed).toBe(true);
  });

  it("is a no-op when the user already has the licence", async () => {
    const t = await newTenant(rt);
    const user = await makeUser(t, "twice");
    const before = await tenantSnapshot(t.ctx);
    const again = await assignLicence(t.ctx, user.userPrincipalName.toUpperCase(), "mcomeetadv");
    expect(again).toMatchObject({ changed: false, conferencing: null });
    expect(await tenantSnapshot(t.ctx)).toEqual(before);
  });

  it("names the SKUs the tenant has when the licence is unknown", async () => {
    const t = await newTenant(rt);
    const user = await makeUser(t, "unknownsku", { licensed: false });
    await expectAppError(assignLicence(t.ctx, user.userPrincipalName, "MCOEV"), "not_found", '"MCOEV"', "MCOMEETADV, MCOSTANDARD");
  });

  it("turns Microsoft dial-in on for a user with no provider when a bridge exists, and emails the PIN", async () => {
    const t = await newTenant(rt);
    const user = await makeUser(t, "newhire", { licensed: false });
    expect(user.provider.kind).toBe("none");

    const result = await assignLicence(t.ctx, user.userPrincipalName, "MCOMEETADV");

    expect(result.changed).toBe(true);
    expect(result.conferencing).toBe("Microsoft dial-in conferencing was turned on.");
    expect(result.user.provider).toEqual({ kind: "microsoft", name: "Microsoft" });
    expect(result.user.readyForAudioConferencing).toBe(false);
    const dialIn = await getDialIn(t.ctx, user.userPrincipalName);
    expect(dialIn).toMatchObject({ domain: MICROSOFT_DOMAIN, serviceNumber: "+14255551234" });
    expect(dialIn.conferenceId).toMatch(/^[0-9]{7}$/);

    // The licence and the dial-in change are both audited; the archive allows going back to no provider.
    const ops = (await listAuditEvents(t.ctx, { target: user.id })).map((e) => e.operation).sort();
    expect(ops).toEqual(["licence.assign", "licence.assign", "user.create"]);
    const assign = await listAuditEvents(t.ctx, { target: user.id, operation: "licence.assign" });
    expect(assign.find((e) => (e.after as { licences?: string[] }).licences)).toMatchObject({
      before: { licences: [] },
      after: { licences: ["MCOMEETADV"] },
    });
    expect(assign.find((e) => (e.after as { conferenceId?: string }).conferenceId)?.after).toMatchObject({
      provider: "Microsoft",
      conferenceId: dialIn.conferenceId,
    });
    expectNoPinHash(assign);
    expect(await archivesOf(t.ctx, user.id)).toMatchObject([{ operation: "licence.assign", data: { provider: null, dialIn: null } }]);

    // The PIN is generated here, so the user must receive it: nobody else ever sees it.
    const [mail] = await emailsTo(rt, user.userPrincipalName);
    const pin = pinInEmail(mail ?? "");
    expect(pin).toMatch(/^[0-9]{5}$/);
    expect(mail).toContain(`Conference ID: ${dialIn.conferenceId}`);
    expect(verifyPin(pin ?? "", (await pinHashOf(t.ctx, user.id)) ?? "", rt.env.pinKey)).toBe(true);
    expectNoPinHash(result);
  });

  it("does not turn dial-in on without a bridge, and says what to do", async () => {
    const t = await newTenant(rt, { bridge: false });
    const user = await makeUser(t, "waiting", { licensed: false });
    const result = await assignLicence(t.ctx, user.userPrincipalName, "MCOMEETADV");
    expect(result.user.provider.kind).toBe("none");
    expect(result.user.readyForAudioConferencing).toBe(true);
    expect(result.conferencing).toContain("No bridge exists yet");
    expect(result.conferencing).toContain("callplane conferencing enable");

    // Once a bridge exists, the user can be enabled.
    await createBridge(t.ctx, { name: "Late bridge" });
    expect((await enableDialIn(t.ctx, user.userPrincipalName, {})).changed).toBe(true);
  });

  it("keeps a third-party provider unless AutomaticallyReplaceAcpProvider is on", async () => {
    const t = await newTenant(rt);
    const kept = await makeUser(t, "kept", { provider: "InterCall", licensed: false });
    const keptResult = await assignLicence(t.ctx, kept.userPrincipalName, "MCOMEETADV");
    expect(keptResult.user.provider).toEqual({ kind: "third-party", name: "InterCall" });
    expect(keptResult.conferencing).toContain("InterCall stays the provider");
    expect(keptResult.conferencing).toContain(`callplane conferencing enable ${kept.userPrincipalName} --replace-provider`);
    expect(keptResult.user.readyForAudioConferencing).toBe(true);

    await setConferencingSettings(t.ctx, { automaticallyReplaceAcpProvider: true });
    const moved = await makeUser(t, "moved", { provider: "InterCall", licensed: false });
    const movedResult = await assignLicence(t.ctx, moved.userPrincipalName, "MCOMEETADV");
    expect(movedResult.user.provider).toEqual({ kind: "microsoft", name: "Microsoft" });
    expect(await getUserAcp(t.ctx, moved.userPrincipalName)).toEqual([]);
    const [archive] = await archivesOf(t.ctx, moved.id);
    expect(archive?.data.provider).toBe("InterCall");
    expect(archive?.data.acpEntries[0]).toMatchObject({ name: "InterCall", participantPasscode: INTERCALL_ENTRY.participantPasscode });
  });

  it("does not touch dial-in for a licence without Audio Conferencing", async () => {
    const t = await newTenant(rt);
    const user = await makeUser(t, "sfbonly", { licensed: false });
    const result = await assignLicence(t.ctx, user.userPrincipalName, "MCOSTANDARD");
    expect(result).toMatchObject({ changed: true, conferencing: null });
    expect(result.user.provider.kind).toBe("none");
    expect(result.user.audioConferencingLicensed).toBe(false);
  });
});

describe("removeLicence", () => {
  it("turns Microsoft dial-in off and releases the conference ID for someone else", async () => {
    const t = await newTenant(rt);
    const leaver = await makeUser(t, "leaver", { provider: "InterCall" });
    await enableDialIn(t.ctx, leaver.userPrincipalName, { replaceProvider: true, conferenceId: "7777777" });

    const result = await removeLicence(t.ctx, leaver.userPrincipalName, "MCOMEETADV");

    expect(result.changed).toBe(true);
    expect(result.conferencing).toBe("Microsoft dial-in conferencing was turned off and the conference ID released.");
    expect(result.user).toMatchObject({ licences: [], audioConferencingLicensed: false, provider: { kind: "none" } });
    await expectAppError(getDialIn(t.ctx, leaver.userPrincipalName), "not_enabled");
    expect((await listSkus(t.ctx)).find((s) => s.skuPartNumber === "MCOMEETADV")?.consumed).toBe(0);
    const last = (await archivesOf(t.ctx, leaver.id)).at(-1);
    expect(last).toMatchObject({ operation: "licence.remove", data: { provider: "Microsoft", dialIn: { conferenceId: "7777777" } } });
    const ops = (await listAuditEvents(t.ctx, { target: leaver.id, operation: "licence.remove" })).map((e) => e.after);
    expect(ops).toContainEqual({ licences: [] });
    expect(ops).toContainEqual(null);
    expect((await emailsTo(rt, leaver.userPrincipalName)).at(-1)).toContain("Dial-in conferencing is off");

    const next = await makeUser(t, "next", { provider: "InterCall" });
    const taken = await enableDialIn(t.ctx, next.userPrincipalName, { replaceProvider: true, conferenceId: "7777777" });
    expect(taken.dialIn?.conferenceId).toBe("7777777");
  });

  it("keeps dial-in while another licence still gives Audio Conferencing", async () => {
    const t = await newTenant(rt);
    await addSku(t.ctx, { skuPartNumber: "ENTERPRISEPREMIUM", seats: 5 });
    const user = await makeUser(t, "double");
    await assignLicence(t.ctx, user.userPrincipalName, "ENTERPRISEPREMIUM");
    const result = await removeLicence(t.ctx, user.userPrincipalName, "MCOMEETADV");
    expect(result).toMatchObject({ changed: true, conferencing: null });
    expect(result.user.provider.kind).toBe("microsoft");
    expect(result.user.audioConferencingLicensed).toBe(true);
  });

  it("is a no-op for a licence the user does not have", async () => {
    const t = await newTenant(rt);
    const user = await makeUser(t, "without", { licensed: false });
    const before = await tenantSnapshot(t.ctx);
    expect(await removeLicence(t.ctx, user.userPrincipalName, "MCOMEETADV")).toMatchObject({ changed: false });
    expect(await tenantSnapshot(t.ctx)).toEqual(before);
    expect(await countOf(t.ctx, sql`select count(*) as n from licence_assignments where user_id = ${user.id}`)).toBe(0);
  });

  it("leaves a third-party user's provider alone", async () => {
    const t = await newTenant(rt);
    const user = await makeUser(t, "stays", { provider: "PGi" });
    const result = await removeLicence(t.ctx, user.userPrincipalName, "MCOMEETADV");
    expect(result.conferencing).toBeNull();
    expect(result.user.provider).toEqual({ kind: "third-party", name: "PGi" });
  });
});

describe("licences and deleted users", () => {
  it("frees the seat when the user is deleted", async () => {
    const t = await newTenant(rt, { audioConferencingSeats: 1 });
    await makeUser(t, "gone");
    const { deleteUser } = await import("../directory/users.service.ts");
    await deleteUser(t.ctx, t.upn("gone"));
    const u = await createUser(t.ctx, { userPrincipalName: t.upn("after"), usageLocation: "FR" });
    expect((await assignLicence(t.ctx, u.userPrincipalName, "MCOMEETADV")).changed).toBe(true);
  });
});
