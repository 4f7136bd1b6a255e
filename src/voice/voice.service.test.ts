import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectAppError, newTenant, type TenantFixture } from "../../test/support/fixtures.ts";
import { openTestRuntime, type TestRuntime } from "../../test/support/store.ts";
import { listAuditEvents } from "../audit/audit.service.ts";
import type { Ctx } from "../core/context.ts";
import { createUser } from "../directory/users.service.ts";
import { rows } from "../store/db.ts";
import {
  addPstnUsage,
  createGateway,
  createPolicy,
  createRoute,
  getEffectivePolicy,
  getGateway,
  listPolicies,
  listPstnUsages,
  listRoutes,
  nestedRepetition,
  removeGateway,
  removePolicy,
  removePstnUsage,
  removeRoute,
  setGateway,
  setPolicy,
  setPstnUsages,
  setRoute,
} from "./voice.service.ts";

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

/** Voice configuration rows, to show a refused change wrote nothing. */
async function voiceSnapshot(ctx: Ctx): Promise<unknown> {
  const [r] = await rows<Record<string, unknown>>(
    ctx.db,
    sql`select
      (select coalesce(jsonb_agg(to_jsonb(x) order by x.position), '[]') from (select name, position from pstn_usages where tenant_id = ${ctx.tenantId}) x) as usages,
      (select coalesce(jsonb_agg(to_jsonb(x) - 'id' - 'created_at' order by x.fqdn), '[]') from (select * from pstn_gateways where tenant_id = ${ctx.tenantId}) x) as gateways,
      (select coalesce(jsonb_agg(to_jsonb(x) - 'id' - 'created_at' - 'updated_at' order by x.name), '[]') from (select * from voice_routes where tenant_id = ${ctx.tenantId}) x) as routes,
      (select coalesce(jsonb_agg(to_jsonb(x) - 'id' - 'created_at' - 'updated_at' order by x.identity), '[]') from (select * from voice_routing_policies where tenant_id = ${ctx.tenantId}) x) as policies,
      (select count(*)::int from audit_events where tenant_id = ${ctx.tenantId}) as audit`,
  );
  return r;
}

describe("nestedRepetition", () => {
  it.each([
    ["(a+)+$", "(a+)+"],
    ["^(\\d+-?){2,}$", "(\\d+-?){2,}"],
    ["^((\\d*)x)*$", "((\\d*)x)*"],
    ["^(?:\\+1)?(\\d{10})$", null],
    ["^(\\d{3})+$", null],
    ["^(\\d+)?$", null],
    ["^[(+]+\\d+$", null],
    ["^\\(\\d+\\)+$", null],
  ])("%s → %s", (pattern, nested) => {
    expect(nestedRepetition(pattern)).toBe(nested);
  });
});

describe("PSTN usages (Set-CsPstnUsage)", () => {
  it("adds at the end or at a position, replaces and removes, keeping order and auditing each change", async () => {
    const t = await tenant();
    expect(await addPstnUsage(t.ctx, "US")).toEqual(["US"]);
    expect(await addPstnUsage(t.ctx, "Intl")).toEqual(["US", "Intl"]);
    expect(await addPstnUsage(t.ctx, "Local", 0)).toEqual(["Local", "US", "Intl"]);
    expect(await setPstnUsages(t.ctx, { replace: ["intl", "Emergency", "US"] })).toEqual(["Intl", "Emergency", "US"]);
    expect(await removePstnUsage(t.ctx, "emergency")).toEqual(["Intl", "US"]);
    expect(await listPstnUsages(t.ctx)).toEqual(["Intl", "US"]);
    const events = await listAuditEvents(t.ctx, { operation: "pstn-usage.set" });
    expect(events).toHaveLength(5);
    expect(events[0]?.after).toEqual(["Intl", "US"]);
  });

  it("refuses a duplicate, an out-of-range position and a missing usage, changing nothing", async () => {
    const t = await tenant();
    await addPstnUsage(t.ctx, "US");
    const before = await voiceSnapshot(t.ctx);
    await expectAppError(addPstnUsage(t.ctx, "us"), "duplicate", '"us" already exists');
    await expectAppError(addPstnUsage(t.ctx, "Intl", 5), "invalid_input", "Position 5 is out of range");
    await expectAppError(removePstnUsage(t.ctx, "Nope"), "not_found", '"Nope" does not exist');
    await expectAppError(setPstnUsages(t.ctx, { add: ["A"], remove: ["US"] }), "invalid_input", "exactly one");
    expect(await voiceSnapshot(t.ctx)).toEqual(before);
  });

  it("refuses to remove or replace away a usage a route or policy names, saying which", async () => {
    const t = await tenant();
    await setPstnUsages(t.ctx, { replace: ["US", "Intl"] });
    await createRoute(t.ctx, { name: "US route", pstnUsages: ["US"] });
    await createPolicy(t.ctx, { identity: "Sales", pstnUsages: ["US", "Intl"] });
    const before = await voiceSnapshot(t.ctx);
    await expectAppError(removePstnUsage(t.ctx, "US"), "invalid_input", 'route "US route"', 'voice routing policy "Sales"');
    await expectAppError(setPstnUsages(t.ctx, { replace: ["US"] }), "invalid_input", 'PSTN usage "Intl"', '"Sales"');
    expect(await voiceSnapshot(t.ctx)).toEqual(before);
  });
});

describe("PSTN gateways (New-CsOnlinePSTNGateway)", () => {
  it("§6.24: created without -Enabled → disabled, failover 10 s on 408/503/504, the reference's other defaults", async () => {
    const t = await tenant();
    const g = await createGateway(t.ctx, { fqdn: "SBC1.Contoso.com", sipSignalingPort: 5061 });
    expect(g).toEqual({
      identity: "sbc1.contoso.com",
      fqdn: "sbc1.contoso.com",
      signalingAddress: null,
      sipSignalingPort: 5061,
      enabled: false,
      failoverTimeSeconds: 10,
      failoverResponseCodes: "408,503,504",
      sendSipOptions: true,
      forwardPai: false,
      mediaBypass: false,
      maxConcurrentSessions: null,
    });
    const changed = await setGateway(t.ctx, "sbc1.contoso.com", {
      enabled: true,
      failoverResponseCodes: "408, 503",
      maxConcurrentSessions: 50,
    });
    expect(changed).toMatchObject({ enabled: true, failoverResponseCodes: "408,503", maxConcurrentSessions: 50, sipSignalingPort: 5061 });
  });

  it.each([
    [{ fqdn: `${"a".repeat(60)}.com`, sipSignalingPort: 5061 }, "the limit is 63"],
    [{ fqdn: "not a host", sipSignalingPort: 5061 }, "not a fully qualified domain name"],
    [{ fqdn: "sbc.contoso.com", sipSignalingPort: 0 }, "SipSignalingPort 0 is out of range"],
    [{ fqdn: "sbc.contoso.com", sipSignalingPort: 65536 }, "SipSignalingPort 65536 is out of range"],
    [{ fqdn: "sbc.contoso.com", sipSignalingPort: 5061, failoverResponseCodes: "408,5x3" }, '"5x3" is not a SIP response code'],
    [{ fqdn: "sbc.contoso.com", sipSignalingPort: 5061, signalingAddress: "10.0.0.5:5061" }, "without a port"],
    [{ fqdn: "sbc.contoso.com", sipSignalingPort: 5061, signalingAddress: "300.1.2.3" }, "is not a signalling address"],
    [{ fqdn: "sbc.contoso.com", sipSignalingPort: 5061, signalingAddress: "sbc one" }, "is not a signalling address"],
  ])("rejects %j", async (input, message) => {
    const t = await tenant();
    await expectAppError(createGateway(t.ctx, input), "invalid_input", message);
    expect(await voiceSnapshot(t.ctx)).toMatchObject({ gateways: [] });
  });

  it("keeps a signalling address beside the FQDN (host, IPv4 or bracketed IPv6), and clears it back to the FQDN", async () => {
    const t = await tenant();
    const g = await createGateway(t.ctx, { fqdn: "sbc2.contoso.com", sipSignalingPort: 5060, signalingAddress: " 127.0.0.1 " });
    expect(g.signalingAddress).toBe("127.0.0.1");
    expect((await setGateway(t.ctx, "sbc2.contoso.com", { signalingAddress: "[2001:DB8::5]" })).signalingAddress).toBe("[2001:db8::5]");
    expect((await setGateway(t.ctx, "sbc2.contoso.com", { signalingAddress: "SBC2.internal" })).signalingAddress).toBe("sbc2.internal");
    expect((await setGateway(t.ctx, "sbc2.contoso.com", { enabled: true })).signalingAddress).toBe("sbc2.internal");
    expect((await setGateway(t.ctx, "sbc2.contoso.com", { signalingAddress: "" })).signalingAddress).toBeNull();
  });

  it("refuses to remove a gateway a route uses, then removes it once free", async () => {
    const t = await tenant();
    await createGateway(t.ctx, { fqdn: "sbc1.contoso.com", sipSignalingPort: 5061 });
    await createRoute(t.ctx, { name: "R", pstnGateways: ["PSTNGateway:sbc1.contoso.com"] });
    await expectAppError(removeGateway(t.ctx, "sbc1.contoso.com"), "invalid_input", 'route "R"');
    await removeRoute(t.ctx, "R");
    await removeGateway(t.ctx, "sbc1.contoso.com");
    await expectAppError(getGateway(t.ctx, "sbc1.contoso.com"), "not_found");
  });
});

describe("voice routes (New-CsVoiceRoute / New-CsOnlineVoiceRoute)", () => {
  it("defaults the pattern to [0-9]{10}, warns about no usages or gateways, and gives the next free priority", async () => {
    const t = await tenant();
    await addPstnUsage(t.ctx, "US");
    await createGateway(t.ctx, { fqdn: "sbc1.contoso.com", sipSignalingPort: 5061 });
    const first = await createRoute(t.ctx, { name: "Bare" });
    expect(first.route).toMatchObject({ numberPattern: "[0-9]{10}", priority: 0, pstnUsages: [], pstnGateways: [] });
    expect(first.warnings.join(" ")).toContain("no PSTN usages");
    expect(first.warnings.join(" ")).toContain("no PSTN gateways");
    const full = await createRoute(t.ctx, { name: "Full", numberPattern: "^\\+1", pstnUsages: ["us"], pstnGateways: ["SBC1.contoso.com"] });
    expect(full.route).toMatchObject({ priority: 1, pstnUsages: ["US"], pstnGateways: ["sbc1.contoso.com"] });
    expect(full.warnings).toEqual([]);
  });

  it("§6.20: routes at priorities 1 and 2 → a new route without priority gets 3; an explicit taken priority shifts the rest down", async () => {
    const t = await tenant();
    await addPstnUsage(t.ctx, "US");
    await createRoute(t.ctx, { name: "One", priority: 1, pstnUsages: ["US"] });
    await createRoute(t.ctx, { name: "Two", priority: 2, pstnUsages: ["US"] });
    expect((await createRoute(t.ctx, { name: "Three", pstnUsages: ["US"] })).route.priority).toBe(3);
    const inserted = await createRoute(t.ctx, { name: "NewTwo", priority: 2, pstnUsages: ["US"] });
    expect(inserted.warnings.join(" ")).toContain("moved down by one");
    expect((await listRoutes(t.ctx)).map((r) => [r.name, r.priority])).toEqual([
      ["One", 1],
      ["NewTwo", 2],
      ["Two", 3],
      ["Three", 4],
    ]);
    await setRoute(t.ctx, "Three", { priority: 1 });
    expect((await listRoutes(t.ctx)).map((r) => [r.name, r.priority])).toEqual([
      ["Three", 1],
      ["One", 2],
      ["NewTwo", 3],
      ["Two", 4],
    ]);
  });

  it.each([
    ["(a+)+$", "super-linear"],
    ["^(\\d*-)*$", "not valid"],
    ["(\\d)\\1", "not valid"],
    ["(?=1)\\d+", "not valid"],
    ["[0-9", "not valid"],
  ])("rejects the pattern %s with the reason and stores nothing", async (pattern, reason) => {
    const t = await tenant();
    const before = await voiceSnapshot(t.ctx);
    await expectAppError(createRoute(t.ctx, { name: "Bad", numberPattern: pattern }), "invalid_input", new RegExp(reason));
    expect(await voiceSnapshot(t.ctx)).toEqual(before);
    await createRoute(t.ctx, { name: "Good", numberPattern: "^\\+1" });
    await expectAppError(setRoute(t.ctx, "Good", { numberPattern: pattern }), "invalid_input");
    expect((await listRoutes(t.ctx))[0]?.numberPattern).toBe("^\\+1");
  });

  it("rejects a route naming a missing usage or gateway, saying which and how to add it", async () => {
    const t = await tenant();
    await addPstnUsage(t.ctx, "US");
    const before = await voiceSnapshot(t.ctx);
    await expectAppError(
      createRoute(t.ctx, { name: "R", pstnUsages: ["US", "Mars"] }),
      "not_found",
      '"Mars"',
      "callplane voice usages add Mars",
    );
    await expectAppError(createRoute(t.ctx, { name: "R", pstnGateways: ["nope.contoso.com"] }), "not_found", '"nope.contoso.com"');
    expect(await voiceSnapshot(t.ctx)).toEqual(before);
  });

  it("SuppressCallerId needs a valid AlternateCallerId", async () => {
    const t = await tenant();
    await expectAppError(createRoute(t.ctx, { name: "R", suppressCallerId: true }), "invalid_input", "needs an AlternateCallerId");
    await expectAppError(
      createRoute(t.ctx, { name: "R", suppressCallerId: true, alternateCallerId: "+0123" }),
      "invalid_input",
      "not valid",
    );
    const ok = await createRoute(t.ctx, { name: "R", suppressCallerId: true, alternateCallerId: "+14255550100;ext=100" });
    expect(ok.route).toMatchObject({ suppressCallerId: true, alternateCallerId: "+14255550100;ext=100" });
    await expectAppError(setRoute(t.ctx, "R", { alternateCallerId: null }), "invalid_input", "needs an AlternateCallerId");
  });

  it("refuses a duplicate name, case-insensitively", async () => {
    const t = await tenant();
    await createRoute(t.ctx, { name: "Local" });
    await expectAppError(createRoute(t.ctx, { name: "LOCAL" }), "duplicate", "already exists");
  });
});

describe("voice routing policies", () => {
  it("§6.22: Global always exists; a null policy name is Global", async () => {
    const t = await tenant();
    const g = await getEffectivePolicy(t.ctx, null);
    expect(g).toEqual({ identity: "Global", scope: "global", description: null, pstnUsages: [] });
    expect((await listPolicies(t.ctx)).map((p) => p.identity)).toEqual(["Global"]);
    expect(await listAuditEvents(t.ctx, { operation: "voice-routing-policy.create" })).toHaveLength(1);
  });

  it("creates per-user policies with ordered existing usages; Tag: is accepted, Site: refused", async () => {
    const t = await tenant();
    await setPstnUsages(t.ctx, { replace: ["US", "Intl"] });
    const p = await createPolicy(t.ctx, { identity: "Tag:Sales", pstnUsages: ["intl", "us"] });
    expect(p).toEqual({ identity: "Sales", scope: "user", description: null, pstnUsages: ["Intl", "US"] });
    expect((await getEffectivePolicy(t.ctx, "sales")).identity).toBe("Sales");
    await expectAppError(createPolicy(t.ctx, { identity: "Site:Redmond" }), "policy_not_allowed", "site-level");
    await expectAppError(createPolicy(t.ctx, { identity: "Global" }), "duplicate", "always exists");
    await expectAppError(createPolicy(t.ctx, { identity: "X", pstnUsages: ["Mars"] }), "not_found", '"Mars"');
    await expectAppError(setPolicy(t.ctx, "Sales", { pstnUsages: ["US", "US"] }), "invalid_input", "more than once");
    expect((await setPolicy(t.ctx, "Global", { pstnUsages: ["US"] })).pstnUsages).toEqual(["US"]);
    await expectAppError(getEffectivePolicy(t.ctx, "Nope"), "not_found", '"Nope"');
  });

  it("refuses to remove a policy granted to users, counting them; Global resets instead", async () => {
    const t = await tenant();
    await addPstnUsage(t.ctx, "US");
    await createPolicy(t.ctx, { identity: "Sales", pstnUsages: ["US"] });
    const a = await createUser(t.ctx, { userPrincipalName: t.upn("a"), displayName: "A" });
    const b = await createUser(t.ctx, { userPrincipalName: t.upn("b"), displayName: "B" });
    await t.ctx.db.execute(sql`update users set on_prem_voice_routing_policy = 'sales' where id = ${a.id}`);
    await t.ctx.db.execute(sql`update users set online_voice_routing_policy = 'Sales' where id = ${b.id}`);
    await expectAppError(removePolicy(t.ctx, "Sales"), "invalid_input", "granted to 2 users");
    await t.ctx.db.execute(
      sql`update users set on_prem_voice_routing_policy = null, online_voice_routing_policy = null where tenant_id = ${t.ctx.tenantId}`,
    );
    await removePolicy(t.ctx, "Sales");
    await setPolicy(t.ctx, "Global", { pstnUsages: ["US"] });
    expect(await removePolicy(t.ctx, "Global")).toMatchObject({ identity: "Global", pstnUsages: [] });
    expect((await listPolicies(t.ctx)).map((p) => p.identity)).toEqual(["Global"]);
  });
});
