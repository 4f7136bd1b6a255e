import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  archivesOf,
  countOf,
  emailsTo,
  expectAppError,
  expectNoPinHash,
  makeUser,
  newTenant,
  pinHashOf,
  pinInEmail,
  type TenantFixture,
  tenantSnapshot,
} from "../../test/support/fixtures.ts";
import { openTestRuntime, type TestRuntime } from "../../test/support/store.ts";
import { listAuditEvents } from "../audit/audit.service.ts";
import { buildDemoTenant } from "../demo/demo.service.ts";
import { getUser } from "../directory/users.service.ts";
import { getJob } from "../jobs/jobs.service.ts";
import { assignLicence, removeLicence } from "../licensing/licensing.service.ts";
import { mailIdle } from "../notify/outbox.service.ts";
import { rows } from "../store/db.ts";
import { disableDialIn, enableDialIn, getConferencingSummary, getDialIn, restoreUser, setDialIn } from "./dial-in.service.ts";
import { moveUsersToMicrosoft } from "./move-to-microsoft.service.ts";
import { verifyPin } from "./pin.ts";
import { getUserAcp } from "./providers.service.ts";
import { restoreJob } from "./restore-job.service.ts";
import { setConferencingSettings } from "./settings.service.ts";

let rt: TestRuntime;

beforeAll(async () => {
  rt = await openTestRuntime();
});

afterAll(async () => {
  await rt?.close();
});

/** The part of a tenant snapshot that says who has which provider, with which details. */
async function providerState(t: TenantFixture | { ctx: TenantFixture["ctx"] }): Promise<{ acp: unknown; dialIn: unknown }> {
  const s = await tenantSnapshot(t.ctx);
  return { acp: s.acp, dialIn: s.dial_in };
}

describe("restoreUser", () => {
  it("takes a user back to InterCall with the very same entry after an enable, releasing the conference ID", async () => {
    const t = await newTenant(rt);
    const user = await makeUser(t, "back", { provider: "InterCall" });
    const entryBefore = await getUserAcp(t.ctx, user.userPrincipalName);
    const stateBefore = await providerState(t);
    const enabled = await enableDialIn(t.ctx, user.userPrincipalName, { replaceProvider: true });

    const result = await restoreUser(t.ctx, user.userPrincipalName);

    expect(result).toMatchObject({ changed: true, provider: "InterCall", dialIn: null });
    expect(result.message).toContain(`Restored ${user.userPrincipalName} to InterCall as it was before conferencing.enable`);
    expect(result.acpEntries).toEqual(entryBefore);
    expect(await getUserAcp(t.ctx, user.userPrincipalName)).toEqual(entryBefore);
    expect((await getUser(t.ctx, user.id)).provider).toEqual({ kind: "third-party", name: "InterCall" });
    expect(await providerState(t)).toEqual(stateBefore);
    await expectAppError(getDialIn(t.ctx, user.userPrincipalName), "not_microsoft_provider");

    // The enable's archive is used up; what the restore replaced is archived in turn.
    const archives = await archivesOf(t.ctx, user.id);
    expect(archives.map((a) => [a.operation, a.restored])).toEqual([
      ["conferencing.enable", true],
      ["conferencing.restore", false],
    ]);
    expect(archives[1]?.data).toMatchObject({ provider: "Microsoft", dialIn: { conferenceId: enabled.dialIn?.conferenceId } });

    const [event] = await listAuditEvents(t.ctx, { target: user.id, operation: "conferencing.restore" });
    expect(event).toMatchObject({
      actor: "admin:test",
      before: { provider: "Microsoft", dialIn: { conferenceId: enabled.dialIn?.conferenceId } },
      after: { provider: "InterCall", dialIn: null, archiveId: archives[0]?.id },
    });
    expectNoPinHash(event);
    expectNoPinHash(result);

    // The conference ID is free again.
    const other = await makeUser(t, "other", { provider: "InterCall" });
    const taken = await enableDialIn(t.ctx, other.userPrincipalName, { replaceProvider: true, conferenceId: enabled.dialIn?.conferenceId });
    expect(taken.dialIn?.conferenceId).toBe(enabled.dialIn?.conferenceId);
  });

  it("undoes the undo: restoring again brings back the same conference ID and PIN", async () => {
    const t = await newTenant(rt);
    const user = await makeUser(t, "twice", { provider: "InterCall" });
    const enabled = await enableDialIn(t.ctx, user.userPrincipalName, { replaceProvider: true });
    const hash = await pinHashOf(t.ctx, user.id);
    await restoreUser(t.ctx, user.userPrincipalName);

    const again = await restoreUser(t.ctx, user.userPrincipalName);

    expect(again.provider).toBe("Microsoft");
    expect(again.dialIn).toMatchObject({ conferenceId: enabled.dialIn?.conferenceId, serviceNumber: enabled.dialIn?.serviceNumber });
    expect(await pinHashOf(t.ctx, user.id)).toBe(hash);
    expect(verifyPin(enabled.pin ?? "", hash ?? "", rt.env.pinKey)).toBe(true);
    expect(await getUserAcp(t.ctx, user.userPrincipalName)).toEqual([]);
  });

  it("brings back the conference ID a reset replaced", async () => {
    const t = await newTenant(rt);
    const user = await makeUser(t, "resetter", { provider: "PGi" });
    await enableDialIn(t.ctx, user.userPrincipalName, { replaceProvider: true, conferenceId: "2468024" });
    await setDialIn(t.ctx, user.userPrincipalName, { resetConferenceId: true });
    expect((await getDialIn(t.ctx, user.userPrincipalName)).conferenceId).not.toBe("2468024");

    const result = await restoreUser(t.ctx, user.userPrincipalName);

    expect(result.dialIn?.conferenceId).toBe("2468024");
    expect((await getDialIn(t.ctx, user.userPrincipalName)).conferenceId).toBe("2468024");
  });

  it("says when there is nothing to restore", async () => {
    const t = await newTenant(rt);
    const user = await makeUser(t, "fresh", { provider: "InterCall" });
    await expectAppError(restoreUser(t.ctx, user.userPrincipalName), "nothing_to_restore", user.userPrincipalName);
  });

  it("refuses, changing nothing, when the archived conference ID is now someone else's", async () => {
    const t = await newTenant(rt);
    const first = await makeUser(t, "first", { provider: "InterCall" });
    await enableDialIn(t.ctx, first.userPrincipalName, { replaceProvider: true, conferenceId: "1357913" });
    await disableDialIn(t.ctx, first.userPrincipalName, {});
    const second = await makeUser(t, "second", { provider: "InterCall" });
    await enableDialIn(t.ctx, second.userPrincipalName, { replaceProvider: true, conferenceId: "1357913" });
    const before = await tenantSnapshot(t.ctx);

    await expectAppError(
      restoreUser(t.ctx, first.userPrincipalName),
      "conference_id_taken",
      first.userPrincipalName,
      "1357913",
      second.userPrincipalName,
      "Nothing was changed",
    );
    expect(await tenantSnapshot(t.ctx)).toEqual(before);
  });

  it("does not put Microsoft dial-in back for a user whose licence was removed", async () => {
    const t = await newTenant(rt);
    const user = await makeUser(t, "unlicensed.later");
    await removeLicence(t.ctx, user.userPrincipalName, "MCOMEETADV");
    const before = await tenantSnapshot(t.ctx);

    await expectAppError(
      restoreUser(t.ctx, user.userPrincipalName),
      "licence_required",
      user.userPrincipalName,
      `callplane licences assign ${user.userPrincipalName} --sku MCOMEETADV`,
    );
    expect(await tenantSnapshot(t.ctx)).toEqual(before);
    expect((await getUser(t.ctx, user.id)).provider.kind).toBe("none");
  });
});

describe("restoreJob", () => {
  it("undoes a whole bulk move: every user back to their provider and entries, and it can be undone in turn", async () => {
    const demo = await buildDemoTenant(rt.store.db, rt.env, { users: 300, name: "DemoRestore", seed: 3 });
    const ctx = await rt.ctx(demo.tenant.id, "admin:restore");
    await setConferencingSettings(ctx, { automaticallySendEmailsToUsers: false });
    const countsBefore = (await getConferencingSummary(ctx)).byProvider;
    const stateBefore = await providerState({ ctx });
    const move = await moveUsersToMicrosoft(ctx, { ready: true }, { wait: true });
    const moved = move.report?.summary.changed ?? 0;
    expect(moved).toBeGreaterThan(100);
    const stateAfterMove = await providerState({ ctx });

    const { job, report } = await restoreJob(ctx, move.job.id, { wait: true });

    expect(job).toMatchObject({
      kind: "restore",
      status: "completed",
      params: { sourceJob: move.job.id, sourceKind: "move-to-microsoft" },
    });
    expect(report?.summary).toEqual({ changed: moved, unchanged: 0, failed: 0 });
    expect((await getConferencingSummary(ctx)).byProvider).toEqual(countsBefore);
    expect(await providerState({ ctx })).toEqual(stateBefore);
    expect(await countOf(ctx, sql`select count(*) as n from archives where job_id = ${move.job.id} and restored_at is null`)).toBe(0);

    // One restore event per user, under the restore job, without PIN hashes.
    const perUser = await countOf(
      ctx,
      sql`select count(*) as n from (select target_id from audit_events where job_id = ${job.id} group by target_id having count(*) = 1) x`,
    );
    expect(perUser).toBe(moved);
    const events = await listAuditEvents(ctx, { jobId: job.id, limit: 1000 });
    expect(events.every((e) => e.operation === "conferencing.restore" && e.actor === "admin:restore")).toBe(true);
    expectNoPinHash(events);

    // Nothing is left to restore from the move; a second attempt says so.
    const jobsBefore = await countOf(ctx, sql`select count(*) as n from jobs where tenant_id = ${ctx.tenantId}`);
    await expectAppError(restoreJob(ctx, move.job.id, { wait: true }), "nothing_to_restore", move.job.id, "restored already");
    expect(await countOf(ctx, sql`select count(*) as n from jobs where tenant_id = ${ctx.tenantId}`)).toBe(jobsBefore);

    // Undoing the restore puts back the very dial-in settings the move gave (same conference IDs and PIN hashes).
    const redo = await restoreJob(ctx, job.id, { wait: true });
    expect(redo.report?.summary.changed).toBe(moved);
    expect(await providerState({ ctx })).toEqual(stateAfterMove);
  });

  it("does not bring Microsoft dial-in back for a user who lost the licence, and restores the others", async () => {
    const t = await newTenant(rt);
    await makeUser(t, "keeps", { provider: "InterCall" });
    await makeUser(t, "loses", { provider: "InterCall" });
    const move = await moveUsersToMicrosoft(t.ctx, { ready: true }, { wait: true });
    const afterMove = await getDialIn(t.ctx, t.upn("keeps"));
    const undo = await restoreJob(t.ctx, move.job.id, { wait: true });
    // Back on InterCall, the licence goes; undoing the restore would put the user on Microsoft again.
    await removeLicence(t.ctx, t.upn("loses"), "MCOMEETADV");

    const redo = await restoreJob(t.ctx, undo.job.id, { wait: true });

    expect(redo.report?.summary).toEqual({ changed: 1, unchanged: 0, failed: 1 });
    const loses = redo.report?.results.find((r) => r.identity === t.upn("loses"));
    expect(loses?.outcome).toBe("no-licence");
    expect(loses?.message).toContain(`callplane licences assign ${t.upn("loses")} --sku MCOMEETADV`);
    expect((await getUser(t.ctx, t.upn("loses"))).provider).toEqual({ kind: "third-party", name: "InterCall" });
    expect(await getDialIn(t.ctx, t.upn("keeps"))).toMatchObject({ conferenceId: afterMove.conferenceId });

    // With the licence back, restoring the job again finishes the one left.
    await assignLicence(t.ctx, t.upn("loses"), "MCOMEETADV");
    const rest = await restoreJob(t.ctx, undo.job.id, { wait: true });
    expect(rest.report?.results.map((r) => [r.identity, r.outcome])).toEqual([[t.upn("loses"), "restored"]]);
    expect((await getUser(t.ctx, t.upn("loses"))).provider.kind).toBe("microsoft");
  });

  it("previews with a dry run without changing anything", async () => {
    const t = await newTenant(rt);
    await makeUser(t, "a", { provider: "InterCall" });
    await makeUser(t, "b", { provider: "PGi" });
    const move = await moveUsersToMicrosoft(t.ctx, { ready: true }, { wait: true });
    const before = await tenantSnapshot(t.ctx);

    const dry = await restoreJob(t.ctx, move.job.id, { wait: true, dryRun: true });

    expect(dry.report?.summary).toEqual({ changed: 2, unchanged: 0, failed: 0 });
    expect(dry.report?.results.map((r) => r.message)).toEqual([
      `Would restore ${t.upn("a")} to InterCall.`,
      `Would restore ${t.upn("b")} to PGi.`,
    ]);
    expect(await tenantSnapshot(t.ctx)).toEqual({ ...before, jobs: (before.jobs as number) + 1 });
  });

  it("refuses to restore a dry run or an unknown job", async () => {
    const t = await newTenant(rt);
    await makeUser(t, "dry", { provider: "InterCall" });
    const dry = await moveUsersToMicrosoft(t.ctx, { ready: true, dryRun: true }, { wait: true });
    await expectAppError(restoreJob(t.ctx, dry.job.id, { wait: true }), "nothing_to_restore", "dry run");
    await expectAppError(restoreJob(t.ctx, "00000000-0000-4000-8000-000000000000", { wait: true }), "not_found", "callplane jobs list");
    await expectAppError(restoreJob(t.ctx, "not-a-job", { wait: true }), "not_found", '"not-a-job"');
  });

  it("reports users deleted since the job, and restores the others", async () => {
    const t = await newTenant(rt);
    await makeUser(t, "keep", { provider: "InterCall" });
    await makeUser(t, "drop", { provider: "InterCall" });
    const move = await moveUsersToMicrosoft(t.ctx, { ready: true }, { wait: true });
    const { deleteUser } = await import("../directory/users.service.ts");
    await deleteUser(t.ctx, t.upn("drop"));

    const { report } = await restoreJob(t.ctx, move.job.id, { wait: true });

    expect(report?.results.map((r) => [r.identity, r.outcome])).toEqual([[t.upn("keep"), "restored"]]);
    expect((await getUser(t.ctx, t.upn("keep"))).provider.name).toBe("InterCall");
    expect((await getJob(t.ctx, move.job.id)).status).toBe("completed");
  });

  it("leaves users the job did not change alone", async () => {
    const t = await newTenant(rt);
    await makeUser(t, "moved", { provider: "InterCall" });
    const untouched = await makeUser(t, "untouched");
    const dialIn = await getDialIn(t.ctx, untouched.userPrincipalName);
    const move = await moveUsersToMicrosoft(t.ctx, { userList: `${t.upn("moved")}, ${t.upn("untouched")}` }, { wait: true });
    expect(move.report?.summary).toEqual({ changed: 1, unchanged: 1, failed: 0 });

    await restoreJob(t.ctx, move.job.id, { wait: true });

    expect(await getDialIn(t.ctx, untouched.userPrincipalName)).toEqual(dialIn);
    expect((await getUser(t.ctx, t.upn("moved"))).provider.name).toBe("InterCall");
    // A licence assigned later is not touched by the restore either.
    expect((await assignLicence(t.ctx, t.upn("moved"), "MCOSTANDARD")).changed).toBe(true);
  });
});

describe("audit log", () => {
  it("holds no PIN hash anywhere in the store after everything this file did", async () => {
    const [r] = await rows<{ total: string | number; leaking: string | number }>(
      rt.store.db,
      sql`select count(*) as total,
                 count(*) filter (where coalesce(before::text, '') like '%hmac-sha256$%' or coalesce(after::text, '') like '%hmac-sha256$%') as leaking
          from audit_events`,
    );
    expect(Number(r?.total)).toBeGreaterThan(100);
    expect(Number(r?.leaking)).toBe(0);
  });
});

describe("the email an undo sends", () => {
  it("tells a restored user their previous provider and details are back: a third party's numbers, or Microsoft's with their city", async () => {
    const t = await newTenant(rt);
    const user = await makeUser(t, "told", { provider: "InterCall" });
    const entry = (await getUserAcp(t.ctx, user.userPrincipalName))[0];
    const enabled = await enableDialIn(t.ctx, user.userPrincipalName, { replaceProvider: true });

    const back = await restoreUser(t.ctx, user.userPrincipalName);
    expect(back.mail).toMatchObject({ to: user.userPrincipalName, status: "sent", error: null });
    expect(back.warning).toBeNull();
    const [, told] = await emailsTo(rt, user.userPrincipalName);
    expect(told).toMatch(/^Subject: Your previous audio conferencing details are back\r?$/m);
    expect(told).toContain("your audio conferencing provider is InterCall again, with the details you had before");
    if (entry?.tollNumber) expect(told).toContain(`InterCall toll number: ${entry.tollNumber}`);
    expect(pinInEmail(told ?? "")).toBeUndefined();

    // Undoing the undo: Microsoft's conference ID and numbers (with their place) are back, the PIN is not sent.
    const again = await restoreUser(t.ctx, user.userPrincipalName);
    expect(again.mail?.status).toBe("sent");
    const last = (await emailsTo(rt, user.userPrincipalName)).at(-1) ?? "";
    expect(last).toContain(`Conference ID: ${enabled.dialIn?.conferenceId}`);
    expect(last).toMatch(/Dial-in number \(toll\): \+\d+ \([^)]+\)/);
    expect(last).toContain("Your previous leader PIN works again.");
    expect(pinInEmail(last)).toBeUndefined();
  });

  it("a restore job emails every user it puts back, and none when the tenant sends no emails", async () => {
    const demo = await buildDemoTenant(rt.store.db, rt.env, { users: 120, seed: 77, name: "Undo Mail", domain: "undomail.example" });
    const ctx = await rt.ctx(demo.tenant.id, "test");
    const move = await moveUsersToMicrosoft(ctx, { fromProvider: "InterCall" }, { wait: true });
    const moved = move.report?.summary.changed ?? 0;
    expect(moved).toBeGreaterThan(0);
    const undo = await restoreJob(ctx, move.job.id, { wait: true });
    expect(undo.report?.summary.changed).toBe(moved);
    await mailIdle(rt.env);
    const [told] = await rows<{ n: number }>(
      ctx.db,
      sql`select count(*)::int as n from mail_messages where job_id = ${undo.job.id} and kind = 'dial-in.restored' and status = 'sent'`,
    );
    expect(told?.n).toBe(moved);

    await setConferencingSettings(ctx, { automaticallySendEmailsToUsers: false });
    const move2 = await moveUsersToMicrosoft(ctx, { fromProvider: "InterCall" }, { wait: true });
    const undo2 = await restoreJob(ctx, move2.job.id, { wait: true });
    expect(undo2.report?.summary.changed).toBe(moved);
    const [quiet] = await rows<{ n: number }>(ctx.db, sql`select count(*)::int as n from mail_messages where job_id = ${undo2.job.id}`);
    expect(quiet?.n).toBe(0);
  });
});
