import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectAppError, newTenant, type TenantFixture } from "../../test/support/fixtures.ts";
import { openTestRuntime, type TestRuntime } from "../../test/support/store.ts";
import { listAuditEvents } from "../audit/audit.service.ts";
import { createUser } from "../directory/users.service.ts";
import { rows } from "../store/db.ts";
import {
  createDialPlan,
  createRule,
  getDialPlan,
  listDialPlans,
  listRules,
  removeDialPlan,
  removeRule,
  setRule,
} from "./dial-plans.service.ts";
import { testDialPlan, testNormalizationRule, testRoute, testVoiceRoute } from "./test-tools.service.ts";
import { createGateway, createPolicy, createRoute, setPolicy, setPstnUsages } from "./voice.service.ts";
import { buildDemoVoiceConfig } from "./voice-demo.ts";

let rt: TestRuntime;

beforeAll(async () => {
  rt = await openTestRuntime();
});

afterAll(async () => {
  await rt?.close();
});

async function tenant(): Promise<TenantFixture> {
  return newTenant(rt, { bridge: false });
}

async function ruleCount(t: TenantFixture): Promise<number> {
  const [r] = await rows<{ n: number }>(
    t.ctx.db,
    sql`select count(*)::int as n from normalization_rules where tenant_id = ${t.ctx.tenantId}`,
  );
  return r?.n ?? 0;
}

describe("dial plans and normalization rules", () => {
  it("Global exists with no rules; a new tenant dial plan has no rules unless asked", async () => {
    const t = await tenant();
    expect(await listDialPlans(t.ctx)).toEqual([{ identity: "Global", scope: "global", description: null, normalizationRules: [] }]);
    const plan = await createDialPlan(t.ctx, { identity: "Tag:Sales" });
    expect(plan).toEqual({ identity: "Sales", scope: "user", description: null, normalizationRules: [] });
    const withRules = await createDialPlan(t.ctx, {
      identity: "Support",
      normalizationRules: [{ name: "Ext", pattern: "^(\\d{4})$", translation: "+1425555$1" }],
    });
    expect(withRules.normalizationRules).toMatchObject([{ identity: "Support/Ext", priority: 0, isInternalExtension: false }]);
  });

  it("defaults a rule to ^(\\d{11})$ → +$1 and the next priority", async () => {
    const t = await tenant();
    const a = await createRule(t.ctx, { identity: "Global/Eleven" });
    expect(a.rule).toEqual({
      identity: "Global/Eleven",
      dialPlan: "Global",
      name: "Eleven",
      description: null,
      pattern: "^(\\d{11})$",
      translation: "+$1",
      priority: 0,
      isInternalExtension: false,
    });
    expect((await createRule(t.ctx, { identity: "global/Second", pattern: "^(\\d{4})$" })).rule.priority).toBe(1);
    const moved = await createRule(t.ctx, { identity: "Global/First", pattern: "^0(\\d+)$", priority: 0 });
    expect(moved.warnings.join(" ")).toContain("moved down");
    expect((await listRules(t.ctx, "Global")).map((r) => [r.name, r.priority])).toEqual([
      ["First", 0],
      ["Eleven", 1],
      ["Second", 2],
    ]);
    expect(await listAuditEvents(t.ctx, { operation: "normalization-rule.create" })).toHaveLength(3);
  });

  it("§6.23: a rule for site:X without a site:X dial plan is an error; after creating the plan it works", async () => {
    const t = await tenant();
    await expectAppError(
      createRule(t.ctx, { identity: "site:Redmond/r" }),
      "not_found",
      'no dial plan "Site:Redmond"',
      "dial-plans create Site:Redmond",
    );
    expect(await ruleCount(t)).toBe(0);
    await createDialPlan(t.ctx, { identity: "site:Redmond" });
    expect((await createRule(t.ctx, { identity: "Site:Redmond/r" })).rule.identity).toBe("Site:Redmond/r");
  });

  it("§6.23: the 51st rule of a tenant dial plan is rejected", async () => {
    const t = await tenant();
    const rules = Array.from({ length: 50 }, (_, i) => ({ name: `R${i}`, pattern: `^(${i})$`, translation: "+$1" }));
    await createDialPlan(t.ctx, { identity: "Big", normalizationRules: rules });
    await expectAppError(createRule(t.ctx, { identity: "Big/R50" }), "invalid_input", "already has 50 normalization rules");
    expect((await getDialPlan(t.ctx, "Big")).normalizationRules).toHaveLength(50);
    const over = Array.from({ length: 51 }, (_, i) => ({ name: `R${i}` }));
    await expectAppError(createDialPlan(t.ctx, { identity: "TooBig", normalizationRules: over }), "invalid_input", "50");
    await expectAppError(getDialPlan(t.ctx, "TooBig"), "not_found");
  });

  it("checks pattern and translation together, storing nothing on error", async () => {
    const t = await tenant();
    await expectAppError(
      createRule(t.ctx, { identity: "Global/r", pattern: "^(\\d{4})$", translation: "+1$2" }),
      "invalid_input",
      "Global/r",
    );
    await expectAppError(createRule(t.ctx, { identity: "Global/r", pattern: "(a+)+$" }), "invalid_input", "super-linear");
    await expectAppError(createRule(t.ctx, { identity: "Global/r", pattern: "(\\d)\\1" }), "invalid_input");
    expect(await ruleCount(t)).toBe(0);
    await createRule(t.ctx, { identity: "Global/r" });
    await expectAppError(setRule(t.ctx, "Global/r", { translation: "$3" }), "invalid_input");
    expect((await setRule(t.ctx, "Global/r", { pattern: "^(\\d{3})(\\d{4})$", translation: "+1425$1$2" })).rule.translation).toBe(
      "+1425$1$2",
    );
    await removeRule(t.ctx, "Global/r");
    expect(await ruleCount(t)).toBe(0);
  });

  it("refuses to remove a tenant dial plan assigned to users; removing Global clears its rules", async () => {
    const t = await tenant();
    await createDialPlan(t.ctx, { identity: "Sales" });
    const u = await createUser(t.ctx, { userPrincipalName: t.upn("a"), displayName: "A" });
    await t.ctx.db.execute(sql`update users set tenant_dial_plan = 'Sales' where id = ${u.id}`);
    await expectAppError(removeDialPlan(t.ctx, "Sales"), "invalid_input", "assigned to 1 user");
    await createRule(t.ctx, { identity: "Global/r" });
    expect(await removeDialPlan(t.ctx, "Global")).toMatchObject({ identity: "Global", normalizationRules: [] });
  });
});

describe("test tools", () => {
  it("§6.21 Test-CsDialPlan: 1234 → +12065551234 by the 4-digit rule; 5551212 → no match, with every rule traced", async () => {
    const t = await tenant();
    await createDialPlan(t.ctx, {
      identity: "Seattle",
      normalizationRules: [
        { name: "FourDigit", pattern: "^(\\d{4})$", translation: "+1206555$1" },
        { name: "Eleven", pattern: "^(\\d{11})$", translation: "+$1" },
      ],
    });
    const hit = await testDialPlan(t.ctx, { dialPlan: "Seattle", number: "1234" });
    expect(hit).toMatchObject({ dialPlan: "Seattle", normalizedNumber: "+12065551234", rule: { name: "FourDigit" } });
    expect(hit.trace.map((e) => [e.rule, e.outcome])).toEqual([
      ["FourDigit", "chosen"],
      ["Eleven", "no_match"],
    ]);
    const miss = await testDialPlan(t.ctx, { dialPlan: "Seattle", number: "5551212" });
    expect(miss).toMatchObject({ normalizedNumber: null, rule: null });
    expect(miss.trace.every((e) => e.outcome === "no_match")).toBe(true);
    expect(await testNormalizationRule(t.ctx, { rule: "Seattle/FourDigit", number: "1234" })).toMatchObject({
      translatedNumber: "+12065551234",
    });
    expect(await testNormalizationRule(t.ctx, { rule: "Seattle/FourDigit", number: "12345" })).toMatchObject({ translatedNumber: null });
  });

  it("§6.19: policy [US, Intl] with both matching → the US route, Intl never evaluated; reversed → Intl", async () => {
    const t = await tenant();
    await setPstnUsages(t.ctx, { replace: ["US", "Intl"] });
    await createGateway(t.ctx, { fqdn: "sbc-us.contoso.com", sipSignalingPort: 5061, enabled: true });
    await createGateway(t.ctx, { fqdn: "sbc-intl.contoso.com", sipSignalingPort: 5061, enabled: true });
    await createRoute(t.ctx, { name: "US", numberPattern: "^\\+1\\d{10}$", pstnUsages: ["US"], pstnGateways: ["sbc-us.contoso.com"] });
    await createRoute(t.ctx, { name: "Intl", numberPattern: "^\\+\\d+$", pstnUsages: ["Intl"], pstnGateways: ["sbc-intl.contoso.com"] });
    await createPolicy(t.ctx, { identity: "UsFirst", pstnUsages: ["US", "Intl"] });
    await createPolicy(t.ctx, { identity: "IntlFirst", pstnUsages: ["Intl", "US"] });
    const us = await testRoute(t.ctx, { policy: "UsFirst", number: "+14255550100" });
    expect(us).toMatchObject({ usage: "US", route: "US", gateways: ["sbc-us.contoso.com"], warnings: [] });
    expect(us.trace.find((e) => e.usage === "Intl")?.outcome).toBe("usage_not_evaluated");
    const intl = await testRoute(t.ctx, { policy: "IntlFirst", number: "+14255550100" });
    expect(intl).toMatchObject({ usage: "Intl", route: "Intl", gateways: ["sbc-intl.contoso.com"] });
    expect(await testVoiceRoute(t.ctx, { route: "US", number: "+14255550100" })).toMatchObject({ matches: true });
    expect(await testVoiceRoute(t.ctx, { route: "US", number: "+442071234567" })).toMatchObject({ matches: false });
  });

  it("§6.20: two matching routes of one usage → priority 1 chosen, priority 2 its backup", async () => {
    const t = await tenant();
    await setPstnUsages(t.ctx, { replace: ["US"] });
    await createRoute(t.ctx, { name: "Backup", numberPattern: "^\\+1", priority: 2, pstnUsages: ["US"] });
    await createRoute(t.ctx, { name: "Primary", numberPattern: "^\\+1", priority: 1, pstnUsages: ["US"] });
    await setPolicy(t.ctx, "Global", { pstnUsages: ["US"] });
    const r = await testRoute(t.ctx, { policy: "Global", number: "+14255550100" });
    expect(r).toMatchObject({ route: "Primary", backupRoutes: ["Backup"] });
    expect(r.trace.map((e) => [e.route, e.outcome])).toEqual([
      ["Primary", "chosen"],
      ["Backup", "backup"],
    ]);
  });

  it("for a user: their effective policy (online if homed online, else on-premises, else Global) and dial plan", async () => {
    const t = await tenant();
    await setPstnUsages(t.ctx, { replace: ["US", "Local"] });
    await createRoute(t.ctx, { name: "US", numberPattern: "^\\+1\\d{10}$", pstnUsages: ["US"] });
    await createRoute(t.ctx, { name: "Local", numberPattern: "^\\+1206", pstnUsages: ["Local"] });
    await createPolicy(t.ctx, { identity: "OnlinePolicy", pstnUsages: ["US"] });
    await createPolicy(t.ctx, { identity: "OnPremPolicy", pstnUsages: ["Local"] });
    await createDialPlan(t.ctx, {
      identity: "Seattle",
      normalizationRules: [{ name: "Four", pattern: "^(\\d{4})$", translation: "+1206555$1" }],
    });
    const u = await createUser(t.ctx, { userPrincipalName: t.upn("al"), displayName: "Al" });
    await t.ctx.db.execute(sql`update users set online_voice_routing_policy = 'OnlinePolicy', on_prem_voice_routing_policy = 'OnPremPolicy',
      tenant_dial_plan = 'Seattle', homing = 'online' where id = ${u.id}`);
    const online = await testRoute(t.ctx, { user: t.upn("al"), number: "1234" });
    expect(online).toMatchObject({
      policy: "OnlinePolicy",
      dialPlan: "Seattle",
      routedNumber: "+12065551234",
      route: "US",
      normalization: { normalizedNumber: "+12065551234", rule: "Four" },
    });
    await t.ctx.db.execute(sql`update users set homing = 'on-premises' where id = ${u.id}`);
    expect(await testRoute(t.ctx, { user: t.upn("al"), number: "1234" })).toMatchObject({ policy: "OnPremPolicy", route: "Local" });
    await t.ctx.db.execute(sql`update users set homing = 'online', online_voice_routing_policy = 'Site:Redmond' where id = ${u.id}`);
    expect(await testRoute(t.ctx, { user: t.upn("al"), number: "1234" })).toMatchObject({ policy: "Global" });
    await t.ctx.db.execute(sql`update users set on_prem_voice_routing_policy = null, tenant_dial_plan = null where id = ${u.id}`);
    const global = await testRoute(t.ctx, { user: t.upn("al"), number: "1234" });
    expect(global).toMatchObject({ policy: "Global", dialPlan: "Global", route: null, routedNumber: "1234" });
    expect(global.warnings.join(" ")).toContain("no PSTN usages");
    expect(await testDialPlan(t.ctx, { user: t.upn("al"), number: "1234" })).toMatchObject({ dialPlan: "Global", normalizedNumber: null });
    await expectAppError(testRoute(t.ctx, { number: "1234" }), "invalid_input", "--policy");
  });

  it("the demo configuration builds through the services and routes a US number", async () => {
    const t = await tenant();
    await buildDemoVoiceConfig(t.ctx);
    const r = await testRoute(t.ctx, { policy: "Global", dialPlan: "Global", number: "14255550100" });
    expect(r).toMatchObject({ routedNumber: "+14255550100", usage: "US" });
    expect(r.gateways.length).toBeGreaterThan(0);
    const emergency = await testRoute(t.ctx, { policy: "Global", number: "911" });
    expect(emergency.route).toBe("Emergency");
  });
});
