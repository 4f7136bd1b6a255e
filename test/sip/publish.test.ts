// `voice publish` end to end: a tenant's voice routing, built with Callplane's own services, published
// to a real Kamailio (the generated kamailio.cfg), and calls placed by SIPp as the tenant's users reach
// the SIPp gateway `voice test-route` names, with the number it names. Then a change in Callplane, a
// publish, and the next call follows it; a rollback; drift read back from Kamailio; Kamailio down
// while publishing (a clear error, nothing recorded) and back; and the SIP error of an unroutable call.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Ctx } from "../../src/core/context.ts";
import { createUser } from "../../src/directory/users.service.ts";
import { grantOnlineVoiceRoutingPolicy } from "../../src/hybrid/hybrid.service.ts";
import { rows } from "../../src/store/db.ts";
import { createDialPlan } from "../../src/voice/dial-plans.service.ts";
import {
  addProxy,
  catchUpProxies,
  planPublish,
  publishStatus,
  publishVoice,
  removeProxy,
} from "../../src/voice/kamailio/publish.service.ts";
import { testRoute } from "../../src/voice/test-tools.service.ts";
import { addPstnUsage, createGateway, createPolicy, createRoute, setGateway, setPolicy, setRoute } from "../../src/voice/voice.service.ts";
import { expectAppError, newTenant } from "../support/fixtures.ts";
import { describeKamailio, type KamailioInstance, startKamailio } from "../support/kamailio.ts";
import { type Call, type CallResult, placeCalls, type SippGateway, sippMissing, startGateway } from "../support/sipp.ts";
import { openTestRuntime, type TestRuntime } from "../support/store.ts";

let rt: TestRuntime;
let ctx: Ctx;
let kam: KamailioInstance;
let dir: string;
const gw: Record<string, SippGateway> = {};

/** Users, by the From user part they call with (their line URI), with what sets them apart. */
const users = [
  { upn: "alice@contoso.com", line: "+14255550101", homing: "online", policy: "Intl", dialPlan: "US" },
  { upn: "bob@contoso.com", line: "+14255550102", homing: "online", policy: null, dialPlan: "US" },
  { upn: "carol@contoso.com", line: "+442071230103", homing: "online", policy: "UK", dialPlan: "GB" },
  { upn: "dave@contoso.com", line: "+14255550104", homing: "on-premises", policy: "Intl", dialPlan: null },
  { upn: "erin@contoso.com", line: "+14255550105", homing: "online", policy: "NoUsages", dialPlan: "US" },
  { upn: "frank@contoso.com", line: "+33155550106", homing: "online", policy: "UK", dialPlan: null },
];

/** Dialled numbers: extensions, national and international in both plans, letters, emergency, nonsense. */
function numbers(): string[] {
  const out = ["0106", "0199", "911", "999", "112", "4255550199", "14255550199", "+14255550199", "2065550100", "+12065550100"];
  out.push("+442071234567", "02071234567", "07700900123", "+447700900123", "+33155550199", "0033155550199", "+4930123456");
  out.push("+81312345678", "+99123456", "+99887766", "12345", "00442071234567", "011442071234567", "+1800555", "5550100");
  for (let i = 0; i < 25; i++) out.push(i % 2 ? `+4420${7000000 + i * 37}` : `425555${(1000 + i * 13).toString().slice(-4)}`);
  return out;
}

/** What `voice test-route` says for a user and number, as a SIP outcome: the gateways it may reach, or the error. */
async function expected(upn: string, dialled: string) {
  const t = await testRoute(ctx, { user: upn, number: dialled });
  const enabled = new Set(Object.values(gw).map((g) => g.name));
  const gateways = t.gateways.map((g) => g.split(".")[0] ?? g).filter((g) => enabled.has(g));
  return { t, gateways };
}

describeKamailio(
  "voice publish to a real Kamailio, calls placed by SIPp",
  () => {
    beforeAll(async () => {
      rt = await openTestRuntime();
      ctx = (await newTenant(rt)).ctx;
      dir = mkdtempSync(path.join(os.tmpdir(), "callplane-publish-"));
      kam = await startKamailio();
      for (const [name, behaviour] of [
        ["gwa", "answer"],
        ["gwb", "answer"],
        ["gwc", "reject503"],
        ["gwd", "answer"],
      ] as const) {
        gw[name] = await startGateway(name, behaviour, dir);
      }
      for (const u of ["Local", "LongDistance", "International", "UK"]) await addPstnUsage(ctx, u);
      for (const g of Object.values(gw)) {
        await createGateway(ctx, {
          fqdn: `${g.name}.contoso.com`,
          signalingAddress: g.host,
          sipSignalingPort: g.port,
          enabled: true,
          failoverTimeSeconds: 2,
        });
      }
      const route = (name: string, numberPattern: string, priority: number, pstnUsages: string[], gateways: string[]) =>
        createRoute(ctx, { name, numberPattern, priority, pstnUsages, pstnGateways: gateways.map((g) => `${g}.contoso.com`) });
      await route("Redmond", "^\\+1425\\d{7}$", 0, ["Local"], ["gwa"]);
      await route("US", "^\\+1[2-9]\\d{9}$", 1, ["LongDistance"], ["gwa", "gwb"]);
      await route("UK-via-503", "^\\+44\\d+$", 2, ["UK", "International"], ["gwc"]);
      await route("UK-backup", "^\\+44\\d+$", 3, ["UK", "International"], ["gwd"]);
      await route("World", "^\\+[2-9]\\d{6,14}$", 4, ["International"], ["gwb"]);
      await createPolicy(ctx, { identity: "Intl", pstnUsages: ["Local", "LongDistance", "International"] });
      await createPolicy(ctx, { identity: "UK", pstnUsages: ["UK", "International"] });
      await createPolicy(ctx, { identity: "NoUsages", pstnUsages: [] });
      // Global: local calls only.
      await setPolicy(ctx, "Global", { pstnUsages: ["Local"] });
      await createDialPlan(ctx, {
        identity: "US",
        normalizationRules: [
          { name: "Ext", pattern: "^(\\d{4})$", translation: "+1425555$1", priority: 0 },
          { name: "NANP10", pattern: "^([2-9]\\d{9})$", translation: "+1$1", priority: 1 },
          { name: "NANP11", pattern: "^1(\\d{10})$", translation: "+1$1", priority: 2 },
          { name: "Intl011", pattern: "^011(\\d+)$", translation: "+$1", priority: 3 },
        ],
      });
      await createDialPlan(ctx, {
        identity: "GB",
        normalizationRules: [
          { name: "National", pattern: "^0([1-9]\\d{8,9})$", translation: "+44$1", priority: 0 },
          { name: "Intl00", pattern: "^00(\\d+)$", translation: "+$1", priority: 1 },
        ],
      });
      for (const u of users) {
        const { id } = await createUser(ctx, { userPrincipalName: u.upn });
        await rt.store.db.execute(sql`update users set on_prem_line_uri = ${`tel:${u.line}`}, homing = ${u.homing},
            online_voice_routing_policy = ${u.homing === "online" ? u.policy : null},
            on_prem_voice_routing_policy = ${u.homing === "online" ? null : u.policy}, tenant_dial_plan = ${u.dialPlan}
          where id = ${id}`);
      }
      await addProxy(ctx, { name: "proxy1", rpcAddress: kam.rpcAddress, dataDir: kam.dataDir });
    }, 120_000);

    afterAll(async () => {
      await Promise.all(Object.values(gw).map((g) => g.stop()));
      await kam?.stop();
      await rt?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    /** Places the calls, then checks each against `voice test-route`; returns the disagreements. */
    async function compare(calls: Call[], name: string): Promise<{ results: CallResult[]; wrong: string[] }> {
      const results = await placeCalls({ proxy: `${kam.host}:${kam.sipPort}`, calls, dir, name, rate: 100 });
      const wrong: string[] = [];
      for (const [i, r] of results.entries()) {
        const c = calls[i];
        const u = users.find((x) => x.line === c?.caller);
        if (!c || !u) continue;
        if (!/^\+?[0-9*#]{1,64}$/.test(c.dialled)) {
          if (r.ok || r.code !== 484) wrong.push(`${u.upn} dialling ${c.dialled}: expected 484, got ${r.ok ? `200 at ${r.gw}` : r.code}`);
          continue;
        }
        const { t, gateways } = await expected(u.upn, c.dialled);
        const say = (m: string) =>
          wrong.push(
            `${u.upn} dialling ${c.dialled}: ${m} (test-route: ${JSON.stringify({ route: t.route, gateways: t.gateways, number: t.routedNumber, backups: t.backupRoutes })})`,
          );
        if (!t.route) {
          const code = t.policy && t.warnings.some((w) => /has no PSTN usages/.test(w)) ? 403 : 404;
          if (r.ok || r.code !== code) say(`expected ${code}, got ${r.ok ? `200 at ${r.gw}` : `${r.code} ${r.reason}`}`);
          continue;
        }
        if (!r.ok) {
          say(`expected a gateway of ${t.route}, got ${r.code} ${r.reason}`);
          continue;
        }
        // gwc answers 503: a route whose only gateway is gwc fails over to its backup route's gateways.
        const backupGateways = t.backupRoutes.length ? ["gwd"] : [];
        const allowed = gateways.includes("gwc") ? [...gateways.filter((g) => g !== "gwc"), ...backupGateways] : gateways;
        if (!allowed.includes(r.gw)) say(`reached ${r.gw}, expected one of ${allowed.join(", ")}`);
        if (r.num !== t.routedNumber) say(`the gateway saw ${r.num}, test-route routes ${t.routedNumber}`);
      }
      return { results, wrong };
    }

    it("publishes generation 1 and 300 calls, every (user, number) pair, go where `voice test-route` says", async () => {
      const published = await publishVoice(ctx);
      expect(published).toMatchObject({ generation: 1, proxies: [{ name: "proxy1", ok: true, generation: 1 }], warning: null });
      expect(published.counts).toMatchObject({ users: 6, routes: 5, gateways: 4, dialPlans: 3 });
      const calls: Call[] = users.flatMap((u) => numbers().map((n) => ({ caller: u.line, dialled: n })));
      calls.push({ caller: "+14255550101", dialled: "42555A0199" }, { caller: "+14255550101", dialled: "9".repeat(70) });
      expect(new Set(calls.map((c) => `${c.caller} ${c.dialled}`)).size).toBeGreaterThanOrEqual(300);
      const { results, wrong } = await compare(calls, "uac1");
      expect(wrong).toEqual([]);
      // The calls covered routed calls, failover to a backup route, and refusals.
      expect(results.filter((r) => r.ok).length).toBeGreaterThan(100);
      expect(results.some((r) => r.ok && r.gw === "gwd")).toBe(true);
      expect(results.some((r) => !r.ok && r.code === 404)).toBe(true);
      expect(results.some((r) => !r.ok && r.code === 403)).toBe(true);
      const status = await publishStatus(ctx);
      expect(status).toMatchObject({ generation: 1, unpublishedChanges: false, compileError: null });
      expect(status.proxies).toEqual([
        expect.objectContaining({ name: "proxy1", reachable: true, generation: 1, matches: true, drift: [] }),
      ]);
    }, 180_000);

    it("a change in Callplane, published, is what the next call follows; a rollback puts the old routing back", async () => {
      // Before: bob (Global: Local only) cannot call long distance; his US route goes to gwa or gwb.
      const before = await placeCalls({
        proxy: `${kam.host}:${kam.sipPort}`,
        calls: [{ caller: "+14255550102", dialled: "2065550100" }],
        dir,
        name: "uac2",
      });
      expect(before[0]).toMatchObject({ ok: false, code: 404 });
      await grantOnlineVoiceRoutingPolicy(ctx, "bob@contoso.com", "Intl");
      await setRoute(ctx, "Redmond", { pstnGateways: ["gwd.contoso.com"] });
      expect((await publishStatus(ctx)).unpublishedChanges).toBe(true);
      // The impact preview, before anything is published: Redmond calls change gateway, bob's long distance becomes routable.
      const plan = await planPublish(ctx, { listed: [{ dialled: "2065550100", user: "bob@contoso.com" }] });
      expect(plan.liveGeneration).toBe(1);
      expect(plan.changed.gateways).toBeGreaterThan(0);
      expect(plan.examples.gateways[0]).toMatchObject({
        before: { gateways: ["gwa.contoso.com"] },
        after: { gateways: ["gwd.contoso.com"] },
      });
      expect(plan.changed.routable).toBeGreaterThan(0);
      expect(plan.examples.routable.every((e) => e.user === "bob@contoso.com" && e.before.route === null && e.after.route !== null)).toBe(
        true,
      );
      expect((await publishStatus(ctx)).generation).toBe(1);
      const second = await publishVoice(ctx);
      expect(second.generation).toBe(2);
      // Bob calls as +14255550102, 14255550102 and bob (his SIP address): three keys changed.
      expect(second.changes.callers.changed).toBe(3);
      const after = await placeCalls({
        proxy: `${kam.host}:${kam.sipPort}`,
        calls: [
          { caller: "+14255550102", dialled: "2065550100" },
          { caller: "+14255550101", dialled: "0106" },
        ],
        dir,
        name: "uac3",
      });
      expect(after[0]).toMatchObject({ ok: true, num: "+12065550100" });
      expect(after[1]).toMatchObject({ ok: true, gw: "gwd", num: "+14255550106" });

      const back = await publishVoice(ctx, { rollback: 1 });
      expect(back).toMatchObject({ generation: 3, rollbackOf: 1 });
      const rolled = await placeCalls({
        proxy: `${kam.host}:${kam.sipPort}`,
        calls: [
          { caller: "+14255550102", dialled: "2065550100" },
          { caller: "+14255550101", dialled: "0106" },
        ],
        dir,
        name: "uac4",
      });
      expect(rolled[0]).toMatchObject({ ok: false, code: 404 });
      expect(rolled[1]).toMatchObject({ ok: true, gw: "gwa" });
      // Callplane now holds a configuration that differs from what runs: status says so.
      const status = await publishStatus(ctx);
      expect(status).toMatchObject({ generation: 3, rollbackOf: 1, unpublishedChanges: true });
      expect(status.proxies[0]).toMatchObject({ generation: 3, matches: true });
      const [audit] = await rows<{ n: number }>(
        rt.store.db,
        sql`select count(*)::int as n from audit_events where tenant_id = ${ctx.tenantId} and operation like 'voice.publish%'`,
      );
      expect(audit?.n).toBe(3);
    }, 120_000);

    it("publishing while Kamailio is down names the address and records nothing; Kamailio restarted comes back on its generation", async () => {
      await kam.down();
      await setGateway(ctx, "gwb.contoso.com", { failoverTimeSeconds: 3 });
      await expectAppError(publishVoice(ctx), "unavailable", kam.rpcAddress);
      const status = await publishStatus(ctx);
      expect(status.generation).toBe(3);
      expect(status.proxies[0]).toMatchObject({ reachable: false, matches: false });
      await kam.up();
      expect((await publishStatus(ctx)).proxies[0]).toMatchObject({ reachable: true, generation: 3, matches: true });
      const next = await publishVoice(ctx);
      expect(next).toMatchObject({ generation: 4, proxies: [{ ok: true, generation: 4 }] });
      const call = await placeCalls({
        proxy: `${kam.host}:${kam.sipPort}`,
        calls: [{ caller: "+14255550101", dialled: "0106" }],
        dir,
        name: "uac5",
      });
      expect(call[0]).toMatchObject({ ok: true, gw: "gwd" });
    }, 120_000);

    it("publishes to every proxy in the list; one that was down keeps its generation, then catches up when it answers", async () => {
      const second = await startKamailio();
      try {
        await addProxy(ctx, { name: "proxy2", rpcAddress: second.rpcAddress, dataDir: second.dataDir });
        await second.down();
        const partial = await publishVoice(ctx);
        expect(partial.generation).toBe(5);
        expect(partial.proxies).toEqual([
          expect.objectContaining({ name: "proxy1", ok: true, generation: 5 }),
          expect.objectContaining({ name: "proxy2", ok: false, generation: null, error: expect.stringContaining(second.rpcAddress) }),
        ]);
        expect(partial.warning).toContain("proxy2");
        expect((await publishStatus(ctx)).proxies.map((p) => [p.name, p.reachable, p.generation])).toEqual([
          ["proxy1", true, 5],
          ["proxy2", false, null],
        ]);
        await second.up();
        expect(await catchUpProxies(ctx)).toEqual([expect.objectContaining({ name: "proxy2", ok: true, generation: 5 })]);
        const status = await publishStatus(ctx);
        expect(status.proxies.map((p) => [p.name, p.generation, p.matches])).toEqual([
          ["proxy1", 5, true],
          ["proxy2", 5, true],
        ]);
        const call = await placeCalls({
          proxy: `${second.host}:${second.sipPort}`,
          calls: [{ caller: "+14255550101", dialled: "0106" }],
          dir,
          name: "uac6",
        });
        expect(call[0]).toMatchObject({ ok: true, gw: "gwd", num: "+14255550106" });
        expect(await catchUpProxies(ctx)).toEqual([]);
      } finally {
        await removeProxy(ctx, "proxy2");
        await second.stop();
      }
    }, 120_000);

    it("SIPp placing 50 calls/s through four publishes: no call fails, each is routed by the old or the new generation", async () => {
      const calls: Call[] = Array.from({ length: 300 }, (_, i) => ({
        caller: "+14255550101",
        dialled: String(1000 + (i % 9000)).padStart(4, "0"),
      }));
      const running = placeCalls({ proxy: `${kam.host}:${kam.sipPort}`, calls, dir, name: "uac-load", rate: 50, timeoutMs: 60_000 });
      const generations: number[] = [];
      for (let i = 0; i < 4; i++) {
        await new Promise((r) => setTimeout(r, 1000));
        await setRoute(ctx, "Redmond", { pstnGateways: [i % 2 ? "gwd.contoso.com" : "gwa.contoso.com"] });
        generations.push((await publishVoice(ctx)).generation);
      }
      const results = await running;
      expect(generations).toHaveLength(4);
      const failed = results.filter((r) => !r.ok);
      expect(failed).toEqual([]);
      // Every call reached one of the two gateways the route had, with the number the Ext rule makes.
      for (const [i, r] of results.entries()) {
        expect(r.ok && ["gwa", "gwd"].includes(r.gw) && r.num === `+1425555${calls[i]?.dialled}`, JSON.stringify(r)).toBe(true);
      }
      // Both gateways took calls: the switches happened while calls were placed.
      expect(new Set(results.map((r) => (r.ok ? r.gw : ""))).size).toBe(2);
      // A publish asked for while another runs is refused at once, naming why; the first one goes through.
      const both = await Promise.allSettled([publishVoice(ctx), publishVoice(ctx)]);
      expect(both[0]).toMatchObject({ status: "fulfilled", value: { generation: 10 } });
      expect(both[1]).toMatchObject({ status: "rejected", reason: { code: "publish_in_progress" } });
    }, 120_000);

    it("refuses a rule Kamailio cannot run exactly, naming it, and publishes nothing", async () => {
      await createDialPlan(ctx, {
        identity: "Odd",
        normalizationRules: [
          { name: "TenGroups", pattern: "^(\\d)(\\d)(\\d)(\\d)(\\d)(\\d)(\\d)(\\d)(\\d)(\\d)(\\d)$", translation: "+$11", priority: 0 },
        ],
      });
      await rt.store.db.execute(
        sql`update users set tenant_dial_plan = 'Odd' where tenant_id = ${ctx.tenantId} and user_principal_name = 'frank@contoso.com'`,
      );
      await expectAppError(publishVoice(ctx), "invalid_input", "TenGroups");
      expect((await publishStatus(ctx)).generation).toBe(10);
    }, 60_000);
  },
  sippMissing(),
);
