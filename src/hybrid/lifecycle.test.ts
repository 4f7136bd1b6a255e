import { describe, expect, it } from "vitest";
import { buildChecklist, type InterpretedUserType, interpretUserType, type OnlineVoiceState } from "./lifecycle.ts";

const base: OnlineVoiceState = {
  synced: true,
  deleted: false,
  homing: "on-premises",
  onPremSipEnabled: true,
  onPremEnterpriseVoiceEnabled: true,
  onPremLineUri: "tel:+14255550200",
  enterpriseVoiceEnabled: false,
  hostedVoicemail: false,
};

describe("interpretUserType", () => {
  it.each<[string, Partial<OnlineVoiceState>, InterpretedUserType]>([
    ["created online", { synced: false }, "CloudOnlyUser"],
    ["its object is gone", { deleted: true }, "SoftDeletedUser"],
    ["synced, never SfB-enabled", { onPremSipEnabled: false, homing: "online" }, "HybridOnpremSfBUserNeedsProvisioning"],
    ["on a pool without Enterprise Voice", { onPremEnterpriseVoiceEnabled: false }, "HybridOnpremSfBUserNeedsProvisioning"],
    ["on a pool, EV without a line URI", { onPremLineUri: null }, "HybridOnpremSfBUserNeedsProvisioning"],
    ["on a pool with EV and a line URI", {}, "HybridOnpremSfBUser"],
    ["moved, online voice not set", { homing: "online" }, "HybridOnlineSfBUserNeedsProvisioning"],
    ["moved, EV without voicemail", { homing: "online", enterpriseVoiceEnabled: true }, "HybridOnlineSfBUserNeedsProvisioning"],
    ["moved, EV and voicemail", { homing: "online", enterpriseVoiceEnabled: true, hostedVoicemail: true }, "HybridOnlineSfBUser"],
  ])("%s → %s", (_name, patch, expected) => {
    expect(interpretUserType({ ...base, ...patch })).toBe(expected);
  });
});

describe("buildChecklist", () => {
  it("a cloud-only user is stopped at the first step with the seed's remedy", () => {
    const c = buildChecklist({
      identity: "a@contoso.com",
      online: { ...base, synced: false },
      directory: null,
      servicePlans: [],
      dialInOnMicrosoft: false,
    });
    expect(c.next).toBe("synced");
    expect(c.steps[0]?.note).toContain("create the account on-premises");
  });

  it("EV without a line URI is reported; a pending sync is the next step", () => {
    const c = buildChecklist({
      identity: "a@contoso.com",
      online: base,
      directory: {
        deleted: false,
        sipEnabled: true,
        enterpriseVoiceEnabled: true,
        lineUri: null,
        voiceRoutingPolicy: null,
        syncPending: true,
      },
      servicePlans: ["MCOSTANDARD"],
      dialInOnMicrosoft: true,
    });
    expect(c.next).toBe("synced");
    expect(c.steps.find((s) => s.id === "enterprise-voice")).toMatchObject({ done: false, note: expect.stringContaining("no line URI") });
    expect(c.steps.find((s) => s.id === "licences")?.note).toBe("Missing: Phone System (MCOEV), Audio Conferencing (MCOMEETADV).");
  });
});
