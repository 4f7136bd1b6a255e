import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BRIDGE_NUMBERS,
  emailsTo,
  expectAppError,
  makeUser,
  newTenant,
  pinHashOf,
  pinInEmail,
  tenantSnapshot,
} from "../../test/support/fixtures.ts";
import { openTestRuntime, type TestRuntime } from "../../test/support/store.ts";
import { listAuditEvents } from "../audit/audit.service.ts";
import {
  addServiceNumber,
  createBridge,
  listBridges,
  listServiceNumbers,
  removeServiceNumber,
  setBridge,
  setServiceNumber,
} from "./bridges.service.ts";
import { enableDialIn, getDialIn, setDialIn } from "./dial-in.service.ts";
import { verifyPin } from "./pin.ts";
import { addProvider, findProvider, getUserAcp, listProviders, removeUserAcp, setUserAcp } from "./providers.service.ts";
import { getConferencingSettings, resetConferencingSettings, setConferencingSettings } from "./settings.service.ts";

let rt: TestRuntime;

beforeAll(async () => {
  rt = await openTestRuntime();
});

afterAll(async () => {
  await rt?.close();
});

describe("conferencing settings (Set-CsOnlineDialInConferencingTenantSettings)", () => {
  it("starts with Microsoft's defaults", async () => {
    const t = await newTenant(rt);
    expect(await getConferencingSettings(t.ctx)).toEqual({
      pinLength: 5,
      automaticallySendEmailsToUsers: true,
      allowPstnOnlyMeetingsByDefault: false,
      automaticallyReplaceAcpProvider: false,
      sendEmailFromOverride: false,
      sendEmailFromAddress: null,
      sendEmailFromDisplayName: null,
      enableEntryExitNotifications: true,
      enableNameRecording: true,
      entryExitAnnouncementsType: "UseNames",
      maskPstnNumbersType: "MaskedForExternalUsers",
    });
  });

  it.each([3, 13, 0, 4.5, "abc"])("rejects PIN length %j, naming the range, and keeps the settings", async (pinLength) => {
    const t = await newTenant(rt);
    const before = await tenantSnapshot(t.ctx);
    const patch = { pinLength } as unknown as { pinLength: number };
    await expectAppError(setConferencingSettings(t.ctx, patch), "invalid_input", "PIN length", "from 4 to 12");
    expect(await tenantSnapshot(t.ctx)).toEqual(before);
  });

  it("applies PIN length 8 only to PINs generated from then on", async () => {
    const t = await newTenant(rt);
    const existing = await makeUser(t, "existing");
    const hashBefore = await pinHashOf(t.ctx, existing.id);

    const settings = await setConferencingSettings(t.ctx, { pinLength: 8 });
    expect(settings.pinLength).toBe(8);
    const [event] = await listAuditEvents(t.ctx, { operation: "conferencing.settings.set" });
    expect(event).toMatchObject({ actor: "admin:test", before: { pinLength: 5 }, after: { pinLength: 8 } });

    // Existing users keep their PIN.
    expect(await pinHashOf(t.ctx, existing.id)).toBe(hashBefore);
    const firstMail = (await emailsTo(rt, existing.userPrincipalName))[0] ?? "";
    expect(pinInEmail(firstMail)).toMatch(/^[0-9]{5}$/);

    // New users and reset PINs get 8 digits.
    const newcomer = await makeUser(t, "newcomer", { provider: "InterCall" });
    const enabled = await enableDialIn(t.ctx, newcomer.userPrincipalName, { replaceProvider: true });
    expect(enabled.pin).toMatch(/^[0-9]{8}$/);
    expect(verifyPin(enabled.pin ?? "", (await pinHashOf(t.ctx, newcomer.id)) ?? "", rt.env.pinKey)).toBe(true);
    const reset = await setDialIn(t.ctx, existing.userPrincipalName, { resetLeaderPin: true });
    expect(reset.pin).toMatch(/^[0-9]{8}$/);
  });

  it("refuses SendEmailFromOverride without both a from address and a display name", async () => {
    const t = await newTenant(rt);
    const before = await tenantSnapshot(t.ctx);
    await expectAppError(
      setConferencingSettings(t.ctx, { sendEmailFromOverride: true }),
      "invalid_input",
      "--send-email-from-address",
      "--send-email-from-display-name",
    );
    await expectAppError(
      setConferencingSettings(t.ctx, { sendEmailFromOverride: true, sendEmailFromAddress: "conf@contoso.com" }),
      "invalid_input",
      "display name",
    );
    await expectAppError(
      setConferencingSettings(t.ctx, {
        sendEmailFromOverride: true,
        sendEmailFromAddress: "conf@contoso.com",
        sendEmailFromDisplayName: "   ",
      }),
      "invalid_input",
      "display name",
    );
    await expectAppError(setConferencingSettings(t.ctx, { sendEmailFromAddress: "not-an-address" }), "invalid_input", '"not-an-address"');
    expect(await tenantSnapshot(t.ctx)).toEqual(before);
  });

  it("sends from the override address once it is complete", async () => {
    const t = await newTenant(rt);
    await setConferencingSettings(t.ctx, {
      sendEmailFromOverride: true,
      sendEmailFromAddress: "conferencing@contoso.com",
      sendEmailFromDisplayName: "Contoso Conferencing",
    });
    const user = await makeUser(t, "fromoverride");
    expect((await emailsTo(rt, user.userPrincipalName))[0]).toContain("From: Contoso Conferencing <conferencing@contoso.com>");
  });

  it("gives new users PSTN-only meetings by default when asked, without changing existing users", async () => {
    const t = await newTenant(rt);
    const before = await makeUser(t, "before");
    await setConferencingSettings(t.ctx, { allowPstnOnlyMeetingsByDefault: true });
    const after = await makeUser(t, "after");
    expect((await getDialIn(t.ctx, before.userPrincipalName)).allowPstnOnlyMeetings).toBe(false);
    expect((await getDialIn(t.ctx, after.userPrincipalName)).allowPstnOnlyMeetings).toBe(true);
  });

  it("goes back to the defaults on reset, and an unchanged patch writes nothing", async () => {
    const t = await newTenant(rt);
    await setConferencingSettings(t.ctx, { pinLength: 10, maskPstnNumbersType: "NoMasking" });
    const snapshot = await tenantSnapshot(t.ctx);
    await setConferencingSettings(t.ctx, { pinLength: 10 });
    expect(await tenantSnapshot(t.ctx)).toEqual(snapshot);
    const reset = await resetConferencingSettings(t.ctx);
    expect(reset).toMatchObject({ pinLength: 5, maskPstnNumbersType: "MaskedForExternalUsers" });
    const [event] = await listAuditEvents(t.ctx, { operation: "conferencing.settings.reset" });
    expect(event).toMatchObject({ before: { pinLength: 10 }, after: { pinLength: 5 } });
  });
});

describe("bridges and service numbers", () => {
  it("makes the first bridge the default, and the first number of each type its default", async () => {
    const t = await newTenant(rt);
    const [bridge] = await listBridges(t.ctx);
    expect(bridge).toMatchObject({
      name: "Main bridge",
      isDefault: true,
      conferenceIdLength: 7,
      defaultServiceNumber: BRIDGE_NUMBERS.toll,
      defaultTollFreeServiceNumber: BRIDGE_NUMBERS.tollFree,
    });
    expect(bridge?.serviceNumbers.map((n) => n.number).sort()).toEqual(
      [BRIDGE_NUMBERS.otherToll, BRIDGE_NUMBERS.toll, BRIDGE_NUMBERS.tollFree].sort(),
    );
    const second = await createBridge(t.ctx, { name: "Second" });
    expect(second.isDefault).toBe(false);
  });

  it("moves the default to another bridge", async () => {
    const t = await newTenant(rt);
    await createBridge(t.ctx, { name: "Europe" });
    await addServiceNumber(t.ctx, { number: "+442079460100", type: "toll", bridge: "Europe" });
    const europe = await setBridge(t.ctx, "europe", { setDefault: true });
    expect(europe).toMatchObject({ isDefault: true, defaultServiceNumber: "+442079460100" });
    expect((await listBridges(t.ctx)).filter((b) => b.isDefault).map((b) => b.name)).toEqual(["Europe"]);
    const [event] = await listAuditEvents(t.ctx, { operation: "bridge.set", target: europe.id });
    expect(event).toMatchObject({
      actor: "admin:test",
      before: { name: "Europe", isDefault: false },
      after: { name: "Europe", isDefault: true },
    });
    const user = await makeUser(t, "european");
    expect((await getDialIn(t.ctx, user.userPrincipalName)).bridge).toBe("Europe");
  });

  it("refuses a default number that is not on the bridge, changing nothing", async () => {
    const t = await newTenant(rt);
    const before = await tenantSnapshot(t.ctx);
    await expectAppError(
      setBridge(t.ctx, undefined, { defaultServiceNumber: "+14255559876" }),
      "service_number_not_on_bridge",
      "+14255559876",
      BRIDGE_NUMBERS.toll,
    );
    await expectAppError(
      setBridge(t.ctx, undefined, { defaultTollFreeServiceNumber: BRIDGE_NUMBERS.toll }),
      "service_number_invalid",
      "toll",
    );
    expect(await tenantSnapshot(t.ctx)).toEqual(before);
  });

  it("rejects a bad conference ID length, an empty name and a duplicate name", async () => {
    const t = await newTenant(rt);
    await expectAppError(createBridge(t.ctx, { name: "Short", conferenceIdLength: 3 }), "invalid_input", "4 to 12");
    await expectAppError(createBridge(t.ctx, { name: " " }), "invalid_input", "bridge name is empty");
    await expectAppError(createBridge(t.ctx, { name: "MAIN BRIDGE" }), "duplicate", "bridge with that name");
    expect(await listBridges(t.ctx)).toHaveLength(1);
  });

  it("treats 14255551234, +14255551234 and tel:+14255551234 as one number", async () => {
    const t = await newTenant(rt);
    for (const form of ["14255551234", "+14255551234", "tel:+14255551234", "+1 (425) 555-1234"]) {
      const [n] = await listServiceNumbers(t.ctx, { number: form });
      expect(n?.number, form).toBe(BRIDGE_NUMBERS.toll);
    }
    await expectAppError(addServiceNumber(t.ctx, { number: "tel:+14255551234", type: "toll" }), "duplicate", "already on a bridge");
    await expectAppError(addServiceNumber(t.ctx, { number: "+1425555", type: "toll" }), "service_number_invalid", "+1425555");
  });

  it("will not remove a number in use, and says what uses it", async () => {
    const t = await newTenant(rt);
    await makeUser(t, "caller");
    await setBridge(t.ctx, undefined, { defaultServiceNumber: BRIDGE_NUMBERS.otherToll });
    const before = await tenantSnapshot(t.ctx);
    await expectAppError(
      removeServiceNumber(t.ctx, BRIDGE_NUMBERS.toll),
      "invalid_input",
      "1 users, 0 bridge defaults",
      "callplane conferencing set",
    );
    await expectAppError(removeServiceNumber(t.ctx, "12065550199"), "invalid_input", "0 users, 1 bridge defaults");
    expect(await tenantSnapshot(t.ctx)).toEqual(before);

    await addServiceNumber(t.ctx, { number: "+12065550111", type: "toll" });
    const removed = await removeServiceNumber(t.ctx, "tel:+12065550111");
    expect(removed.number).toBe("+12065550111");
    expect(await listServiceNumbers(t.ctx, { number: "+12065550111" })).toEqual([]);
  });

  it("sets a number's languages: at most 4 secondary, and back to the defaults", async () => {
    const t = await newTenant(rt);
    const set = await setServiceNumber(t.ctx, BRIDGE_NUMBERS.toll, { primaryLanguage: "fr-FR", secondaryLanguages: ["en-US", "de-DE"] });
    expect(set).toMatchObject({ primaryLanguage: "fr-FR", secondaryLanguages: ["en-US", "de-DE"] });
    await expectAppError(
      setServiceNumber(t.ctx, BRIDGE_NUMBERS.toll, { secondaryLanguages: ["a", "b", "c", "d", "e"] }),
      "invalid_input",
      "at most 4",
    );
    expect(await setServiceNumber(t.ctx, BRIDGE_NUMBERS.toll, { restoreDefaultLanguages: true })).toMatchObject({
      primaryLanguage: "en-US",
      secondaryLanguages: [],
    });
  });
});

describe("providers and per-user provider entries (Get-CsAudioConferencingProvider, Set-/Remove-CsUserAcp)", () => {
  it("lists Microsoft first, filters with wildcards, and finds a provider by name in any case", async () => {
    const t = await newTenant(rt);
    expect((await listProviders(t.ctx)).map((p) => p.identity)).toEqual(["Microsoft", "Arkadin", "BT Conferencing", "InterCall", "PGi"]);
    expect((await listProviders(t.ctx, "*call*")).map((p) => p.identity)).toEqual(["InterCall"]);
    expect((await findProvider(t.ctx, " intercall ")).identity).toBe("InterCall");
    const err = await expectAppError(
      findProvider(t.ctx, "Nope"),
      "provider_unknown",
      '"Nope"',
      "Microsoft, Arkadin, BT Conferencing, InterCall, PGi",
    );
    expect(err.details.map((d) => d.message)).toEqual(["Microsoft", "Arkadin", "BT Conferencing", "InterCall", "PGi"]);
    const added = await addProvider(t.ctx, { name: "Fabrikam Audio", domain: "Fabrikam.com" });
    expect(added).toMatchObject({ identity: "Fabrikam Audio", domain: "fabrikam.com", isMicrosoft: false });
  });

  it("keeps one default entry per user and removes entries by name", async () => {
    const t = await newTenant(rt);
    const user = await makeUser(t, "multi", { provider: "InterCall", licensed: false });
    await setUserAcp(t.ctx, user.userPrincipalName, { name: "pgi", tollNumber: "14255550160", isDefault: true });
    let entries = await getUserAcp(t.ctx, user.userPrincipalName);
    expect(entries.map((e) => [e.name, e.isDefault])).toEqual([
      ["PGi", true],
      ["InterCall", false],
    ]);
    expect(entries[0]?.tollNumber).toBe("+14255550160");

    await expectAppError(removeUserAcp(t.ctx, user.userPrincipalName, "Arkadin"), "not_found", "PGi, InterCall");
    entries = await removeUserAcp(t.ctx, user.userPrincipalName, "PGI");
    expect(entries.map((e) => [e.name, e.isDefault])).toEqual([["InterCall", true]]);
    const [event] = await listAuditEvents(t.ctx, { target: user.id, operation: "acp.remove" });
    expect(event).toMatchObject({ actor: "admin:test" });
    expect(event?.before).toHaveLength(2);
  });

  it("refuses an entry for Microsoft, or for a user already on Microsoft", async () => {
    const t = await newTenant(rt);
    const user = await makeUser(t, "onms");
    const before = await tenantSnapshot(t.ctx);
    await expectAppError(
      setUserAcp(t.ctx, user.userPrincipalName, { name: "Microsoft" }),
      "invalid_input",
      "callplane conferencing enable",
    );
    await expectAppError(
      setUserAcp(t.ctx, user.userPrincipalName, { name: "InterCall" }),
      "provider_conflict",
      `callplane conferencing disable ${user.userPrincipalName}`,
    );
    await expectAppError(
      setUserAcp(t.ctx, user.userPrincipalName, { name: "InterCall", participantPasscode: "12ab" }),
      "provider_conflict",
    );
    expect(await tenantSnapshot(t.ctx)).toEqual(before);
  });
});
