// The dashboard and the directory sync runs on the real store: a demo tenant's counts agree with
// what the user list says user by user, and sync runs are read back from what sync recorded.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectAppError, makeUser, newTenant, type TenantFixture } from "../../test/support/fixtures.ts";
import { openTestRuntime, type TestRuntime } from "../../test/support/store.ts";
import { listAuditEvents } from "../audit/audit.service.ts";
import type { Ctx } from "../core/context.ts";
import { buildDemoTenant } from "../demo/demo.service.ts";
import { importDirectory, sourceFromText, syncDirectory } from "../directory/sync.service.ts";
import { getSyncRun, listSyncRuns } from "../directory/sync-runs.service.ts";
import { listUsers } from "../directory/users.service.ts";
import { moveUsers } from "../hybrid/move.service.ts";
import { listSkus } from "../licensing/licensing.service.ts";
import { getDashboard, LIFECYCLE_ORDER } from "./dashboard.service.ts";

let rt: TestRuntime;

beforeAll(async () => {
  rt = await openTestRuntime();
});

afterAll(async () => {
  await rt?.close();
});

describe("dashboard on a demo tenant", () => {
  let ctx: Ctx;

  beforeAll(async () => {
    const t = await newTenant(rt, { bridge: false });
    const demo = await buildDemoTenant(rt.store.db, t.ctx.env, { users: 300, name: `DashDemo${process.pid}` });
    ctx = { ...t.ctx, tenantId: demo.tenant.id, actor: "admin:dashboard-test" };
  });

  it("counts users by lifecycle state exactly as the user list interprets each user", async () => {
    const page = await listUsers(ctx, { limit: 1000 });
    expect(page.items).toHaveLength(300);
    const expected = new Map<string, number>();
    for (const u of page.items) expected.set(u.voice.interpretedUserType, (expected.get(u.voice.interpretedUserType) ?? 0) + 1);

    const d = await getDashboard(ctx);
    expect(d.lifecycle.map((s) => s.state)).toEqual(LIFECYCLE_ORDER);
    for (const s of d.lifecycle) expect(s.users, s.state).toBe(expected.get(s.state) ?? 0);
    // The demo has users in several states, so a dashboard that put everyone in one state would fail above.
    expect(d.lifecycle.filter((s) => s.users > 0).length).toBeGreaterThanOrEqual(4);
    expect(d.users).toEqual({
      total: 300,
      synced: page.items.filter((u) => u.voice.userDirSyncEnabled).length,
      cloudOnly: page.items.filter((u) => !u.voice.userDirSyncEnabled).length,
      softDeleted: 0,
    });
  });

  it("gives users by provider (summing to every user), licences used and free, and the ready count", async () => {
    const d = await getDashboard(ctx);
    expect(d.byProvider.reduce((n, p) => n + p.users, 0)).toBe(300);
    expect(d.byProvider.map((p) => p.users)).toEqual([...d.byProvider.map((p) => p.users)].sort((a, b) => b - a));
    const page = await listUsers(ctx, { limit: 1000 });
    const onMicrosoft = page.items.filter((u) => u.provider.kind === "microsoft").length;
    expect(d.byProvider.find((p) => p.provider === "Microsoft")?.users).toBe(onMicrosoft);
    expect(d.readyForAudioConferencing).toBe(page.items.filter((u) => u.readyForAudioConferencing).length);

    const skus = await listSkus(ctx);
    expect(d.licences.map((l) => l.skuPartNumber)).toEqual(skus.map((s) => s.skuPartNumber));
    for (const l of d.licences) {
      expect(l.consumed + l.available).toBe(l.seats);
      expect(l.consumed).toBe(page.items.filter((u) => u.licences.includes(l.skuPartNumber)).length);
    }
  });

  it("lists the newest jobs first, at most five", async () => {
    expect((await getDashboard(ctx)).recentJobs).toEqual([]);
    const page = await listUsers(ctx, { limit: 6 });
    const ids: string[] = [];
    for (const u of page.items) {
      const bulk = await moveUsers(ctx, { userList: u.userPrincipalName, target: "online", dryRun: true }, { wait: true });
      ids.push(bulk.job.id);
    }
    expect(ids).toHaveLength(6);
    const d = await getDashboard(ctx);
    expect(d.recentJobs.map((j) => j.id)).toEqual(ids.slice(1).reverse());
    expect(d.recentJobs[0]).toMatchObject({ dryRun: true, status: "completed", actor: "admin:dashboard-test" });
  });
});

const guid = (n: number) => `00000000-0000-4000-9000-${n.toString(16).padStart(12, "0")}`;

function csv(t: TenantFixture, objs: { n: number; local: string; name: string; line?: string }[]): string {
  const head =
    "objectGUID,UserPrincipalName,DisplayName,UsageLocation,msRTCSIP-PrimaryUserAddress,RegistrarPool,EnterpriseVoiceEnabled,LineUri";
  return [
    head,
    ...objs.map((o) =>
      [
        guid(o.n),
        t.upn(o.local),
        o.name,
        "US",
        `sip:${t.upn(o.local)}`,
        "pool01.contoso.com",
        o.line ? "true" : "false",
        o.line ?? "",
      ].join(","),
    ),
  ].join("\n");
}

describe("directory sync runs", () => {
  it("reads each run from the audit log: when, who, created/updated/deleted/unchanged, and user by user", async () => {
    const t = await newTenant(rt, { bridge: false });
    await makeUser(t, "cloud", { licensed: false });
    expect(await listSyncRuns(t.ctx)).toEqual({ lastSyncedAt: null, runs: [] });
    expect(await getDashboard(t.ctx)).toMatchObject({ lastSync: null, lastSyncedAt: null });

    const ann = { n: 1, local: "ann", name: "Ann Lee" };
    const bob = { n: 2, local: "bob", name: "Bob Stone" };
    const people = [ann, bob, { n: 3, local: "cy", name: "Cy Young" }];
    await importDirectory(t.ctx, sourceFromText("csv", "ad.csv", csv(t, people)));
    // A dry run changes nothing and records no run.
    await syncDirectory(t.ctx, { dryRun: true });
    expect((await listSyncRuns(t.ctx)).runs).toEqual([]);

    const syncer = { ...t.ctx, actor: "account:alice" };
    await syncDirectory(syncer);
    const afterFirst = await listSyncRuns(t.ctx);
    expect(afterFirst.runs).toHaveLength(1);
    expect(afterFirst.runs[0]).toMatchObject({ actor: "account:alice", created: 3, updated: 0, deleted: 0, unchanged: 0, changes: 3 });
    expect(afterFirst.lastSyncedAt).not.toBeNull();

    // Bob gets a line URI, Cy leaves the directory (a full export without him).
    const second = [ann, { ...bob, line: "tel:+14255550123" }];
    await importDirectory(t.ctx, sourceFromText("csv", "ad.csv", csv(t, second)), { full: true });
    await syncDirectory({ ...t.ctx, actor: "account:bea" });
    // Nothing left to do: a run that says so.
    await syncDirectory({ ...t.ctx, actor: "account:cal" });

    const { runs: all } = await listSyncRuns(t.ctx);
    expect(all.map((r) => [r.actor, r.created, r.updated, r.deleted, r.unchanged])).toEqual([
      ["account:cal", 0, 0, 0, 2],
      ["account:bea", 0, 1, 1, 1],
      ["account:alice", 3, 0, 0, 0],
    ]);
    expect((await getSyncRun(t.ctx, all[0]?.id ?? 0)).changes).toEqual([]);
    const runs = all.slice(1);
    const latest = runs[0];
    if (!latest) throw new Error("no run");
    expect(Date.parse(latest.at)).toBeGreaterThanOrEqual(Date.parse(runs[1]?.at ?? ""));

    const detail = await getSyncRun(t.ctx, latest.id);
    expect(detail.run).toEqual(latest);
    const byUpn = Object.fromEntries(detail.changes.map((c) => [c.userPrincipalName, c]));
    expect(Object.keys(byUpn).sort()).toEqual([t.upn("bob"), t.upn("cy")]);
    expect(byUpn[t.upn("bob")]).toMatchObject({ action: "update", after: { onPremLineUri: "tel:+14255550123" } });
    expect(byUpn[t.upn("bob")]?.fields).toContain("onPremLineUri");
    expect(byUpn[t.upn("cy")]).toMatchObject({ action: "delete", fields: [] });

    const first = await getSyncRun(t.ctx, runs[1]?.id ?? 0);
    expect(first.changes.map((c) => c.action)).toEqual(["create", "create", "create"]);

    const d = await getDashboard(t.ctx);
    expect(d.lastSync).toEqual(all[0]);
    expect(d.lastSyncedAt).toBe((await listSyncRuns(t.ctx)).lastSyncedAt);
    expect(Date.parse(d.lastSyncedAt ?? "")).toBeGreaterThanOrEqual(Date.parse(latest.at));
    expect((await listAuditEvents(t.ctx, { operation: "directory.sync" })).length).toBe(3);
    expect(d.users).toMatchObject({ total: 3, synced: 2, cloudOnly: 1, softDeleted: 1 });
    expect(d.lifecycle.find((s) => s.state === "SoftDeletedUser")?.users).toBe(1);

    await expectAppError(getSyncRun(t.ctx, 999_999_999), "not_found");
    // Another tenant's run is not this tenant's.
    const other = await newTenant(rt, { bridge: false });
    await expectAppError(getSyncRun(other.ctx, latest.id), "not_found");
  });
});
