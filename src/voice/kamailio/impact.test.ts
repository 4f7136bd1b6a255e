import { describe, expect, it } from "vitest";
import type { GenerationInput } from "./compile.ts";
import { changeOf, compareConfigurations, destinationsFor, Router } from "./impact.ts";

const base: GenerationInput = {
  dialPlans: [
    { identity: "Global", rules: [] },
    {
      identity: "US",
      rules: [
        { name: "Ext", pattern: "^(\\d{4})$", translation: "+1425555$1", priority: 0, isInternalExtension: true },
        { name: "NANP", pattern: "^([2-9]\\d{9})$", translation: "+1$1", priority: 1, isInternalExtension: false },
      ],
    },
  ],
  pstnUsages: ["Local", "Intl"],
  routes: [
    { name: "Local", numberPattern: "^\\+1425", priority: 0, pstnUsages: ["Local"], pstnGateways: ["gwa.contoso.com"] },
    { name: "World", numberPattern: "^\\+[2-9]", priority: 1, pstnUsages: ["Intl"], pstnGateways: ["gwb.contoso.com", "gwc.contoso.com"] },
  ],
  gateways: ["gwa", "gwb", "gwc"].map((g) => ({
    fqdn: `${g}.contoso.com`,
    signalingHost: "127.0.0.1",
    sipSignalingPort: 5060,
    enabled: true,
    failoverTimeSeconds: 10,
    failoverResponseCodes: "408,503,504",
  })),
  policies: [
    { identity: "Global", pstnUsages: ["Local"] },
    { identity: "Intl", pstnUsages: ["Local", "Intl"] },
  ],
  users: [
    {
      userPrincipalName: "alice@contoso.com",
      sipAddress: "sip:alice@contoso.com",
      lineUri: "tel:+14255550101",
      homing: "online",
      onPremVoiceRoutingPolicy: null,
      onlineVoiceRoutingPolicy: "Intl",
      tenantDialPlan: "US",
    },
    {
      userPrincipalName: "bob@contoso.com",
      sipAddress: "sip:bob@contoso.com",
      lineUri: "tel:+14255550102",
      homing: "online",
      onPremVoiceRoutingPolicy: null,
      onlineVoiceRoutingPolicy: null,
      tenantDialPlan: "US",
    },
  ],
};

const callers = base.users.map((u) => ({ userPrincipalName: u.userPrincipalName, usageLocation: "US", lineUri: u.lineUri }));

describe("the impact of a publish", () => {
  it("routes a call as test-route does: normalized by the user's dial plan, then the first usage of their policy with a match", () => {
    const r = new Router(base);
    expect(r.route("alice@contoso.com", "0199")).toEqual({
      number: "+14255550199",
      route: "Local",
      gateways: ["gwa.contoso.com"],
      reason: null,
    });
    expect(r.route("ALICE@contoso.com", "+442071234567")).toMatchObject({
      route: "World",
      gateways: ["gwb.contoso.com", "gwc.contoso.com"],
    });
    expect(r.route("bob@contoso.com", "+442071234567")).toMatchObject({ route: null, reason: "no route matches" });
    expect(r.route("nobody@contoso.com", "0199")).toMatchObject({ route: null, reason: expect.stringContaining("not a caller") });
  });

  it("finds nothing to report when nothing changes", () => {
    const same = compareConfigurations(base, base, callers);
    expect(Object.values(same.changed)).toEqual([0, 0, 0, 0, 0]);
    expect(same.unchanged).toBe(same.destinations);
    expect(same.resolutions).toBe(2 * same.destinations);
  });

  it("counts calls that change gateways, route, normalized number, or become (un)routable, with examples", () => {
    const next: GenerationInput = {
      ...base,
      routes: [
        { ...(base.routes[0] as GenerationInput["routes"][number]), pstnGateways: ["gwc.contoso.com"] },
        ...base.routes.slice(1),
        { name: "UK", numberPattern: "^\\+44", priority: 0, pstnUsages: ["Intl"], pstnGateways: ["gwa.contoso.com"] },
      ],
      gateways: base.gateways.map((g) => (g.fqdn === "gwb.contoso.com" ? { ...g, enabled: false } : g)),
      users: base.users.map((u) => (u.userPrincipalName === "bob@contoso.com" ? { ...u, onlineVoiceRoutingPolicy: "Intl" } : u)),
    };
    const impact = compareConfigurations(base, next, callers, [
      { dialled: "+442071234567" },
      { dialled: "+61412345678", user: "alice@contoso.com" },
    ]);
    // Local calls now go to gwc; bob's international calls become routable; +44 moves to the UK route; the rest abroad loses gwb.
    expect(impact.changed.gateways).toBeGreaterThan(0);
    expect(impact.changed.routable).toBeGreaterThan(0);
    expect(impact.changed.route).toBeGreaterThan(0);
    expect(impact.examples.route).toContainEqual(
      expect.objectContaining({
        user: "alice@contoso.com",
        dialled: expect.stringMatching(/^(\+|011)44/),
        before: expect.objectContaining({ route: "World" }),
        after: expect.objectContaining({ route: "UK" }),
      }),
    );
    expect(impact.examples.gateways).toContainEqual(
      expect.objectContaining({
        destination: "local",
        before: expect.objectContaining({ route: "Local", gateways: ["gwa.contoso.com"] }),
        after: expect.objectContaining({ route: "Local", gateways: ["gwc.contoso.com"] }),
      }),
    );
    for (const list of Object.values(impact.examples)) expect(list.length).toBeLessThanOrEqual(5);
    // Against nothing published, every routable call is new.
    const first = compareConfigurations(null, base, callers);
    expect(first.changed.routable).toBeGreaterThan(0);
    expect(first.resolutions).toBe(first.destinations);
  });

  it("tells the kind of change in a fixed order", () => {
    const a = { number: "+1", route: "A", gateways: ["x"], reason: null };
    expect(changeOf(a, { ...a, route: null, reason: "no route matches" })).toBe("unroutable");
    expect(changeOf({ ...a, route: null, reason: "no" }, a)).toBe("routable");
    expect(changeOf(a, { ...a, route: "B", gateways: ["y"] })).toBe("route");
    expect(changeOf(a, { ...a, gateways: ["y"] })).toBe("gateways");
    expect(changeOf(a, { ...a, number: "+2" })).toBe("number");
    expect(changeOf(a, { ...a })).toBeNull();
  });

  it("picks each user's likely destinations from where they are: neighbours, extensions, mobile, abroad, emergency", () => {
    const us = destinationsFor({ usageLocation: "US", lineUri: "tel:+14255550101" });
    expect(us.map((d) => d.kind)).toEqual(
      expect.arrayContaining(["emergency", "mobile", "international", "local", "national", "extension"]),
    );
    expect(us).toContainEqual({ dialled: "911", kind: "emergency" });
    expect(us.filter((d) => d.kind === "national").every((d) => /^\d{10}$/.test(d.dialled))).toBe(true);
    expect(us.some((d) => d.dialled.startsWith("011"))).toBe(true);
    const gb = destinationsFor({ usageLocation: "GB", lineUri: "tel:+442071230103" });
    expect(gb).toContainEqual({ dialled: "999", kind: "emergency" });
    expect(gb.filter((d) => d.kind === "national").every((d) => d.dialled.startsWith("0"))).toBe(true);
    expect(gb.some((d) => d.kind === "mobile" && d.dialled.startsWith("+447"))).toBe(true);
    expect(destinationsFor({ usageLocation: null, lineUri: null }).length).toBeGreaterThanOrEqual(8);
    for (const d of [...us, ...gb]) expect(d.dialled).toMatch(/^\+?\d{3,16}$/);
    expect(us.length).toBeGreaterThanOrEqual(15);
    expect(us.length).toBeLessThanOrEqual(22);
  });
});
