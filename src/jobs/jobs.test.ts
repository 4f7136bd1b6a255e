import { parse } from "csv-parse/sync";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countOf, expectAppError, makeUser, newTenant, outboxCount } from "../../test/support/fixtures.ts";
import { openTestRuntime, type TestRuntime } from "../../test/support/store.ts";
import { setBridge } from "../conferencing/bridges.service.ts";
import { getConferencingSummary } from "../conferencing/dial-in.service.ts";
import { MOVE_TO_MICROSOFT, moveUsersToMicrosoft, planMoveToMicrosoft } from "../conferencing/move-to-microsoft.service.ts";
import type { Ctx } from "../core/context.ts";
import { buildDemoTenant } from "../demo/demo.service.ts";
import {
  createJob,
  exportJobResultsCsv,
  getJob,
  listJobResults,
  listJobs,
  resumeJob,
  runJob,
  startJobInBackground,
  stopRunningJobs,
} from "./jobs.service.ts";

let rt: TestRuntime;

beforeAll(async () => {
  rt = await openTestRuntime();
});

afterAll(async () => {
  await rt?.close();
});

/** Users the job has put on Microsoft so far, counted in the store rather than from the job's own numbers. */
async function onMicrosoftFromJob(ctx: Ctx, jobId: string): Promise<number> {
  return countOf(
    ctx,
    sql`select count(*) as n from job_items i join dial_in_users d on d.user_id = i.user_id
        where i.job_id = ${jobId} and exists (select 1 from archives a where a.job_id = ${jobId} and a.user_id = i.user_id)`,
  );
}

describe("an interrupted bulk move", () => {
  it("stops after the batch in hand, is found again by the same command, and finishes without changing anyone twice", async () => {
    // Big enough for two batches of the move (4,000 users each).
    const demo = await buildDemoTenant(rt.store.db, rt.env, { users: 5600, name: "DemoResume", seed: 11 });
    const ctx = await rt.ctx(demo.tenant.id, "admin:resume");
    const ready = (await getConferencingSummary(ctx)).readyForAudioConferencing;
    expect(ready).toBeGreaterThan(4000);
    const mailsBefore = await outboxCount(rt);

    // Start the job, and ask it to stop as soon as its first batch is committed (as Ctrl-C or a shutdown does).
    const plan = await planMoveToMicrosoft(ctx, { ready: true });
    expect(plan.job.total).toBe(ready);
    let stopped: Promise<string[]> | undefined;
    const run = runJob(ctx, plan.job.id, () => {
      stopped ??= stopRunningJobs();
    });
    const interrupted = await run;
    expect(await stopped).toEqual([plan.job.id]);

    expect(interrupted).toMatchObject({ status: "pending", processed: 4000, total: ready });
    expect(interrupted.error).toContain("Interrupted: run the same command again");
    // Exactly the committed batch changed: users, results and emails agree.
    expect(await onMicrosoftFromJob(ctx, plan.job.id)).toBe(4000);
    expect(interrupted.summary.changed).toBe(4000);
    expect((await listJobResults(ctx, plan.job.id, { offset: 4000, limit: 1 }))[0]).toMatchObject({ outcome: "pending" });
    expect((await outboxCount(rt)) - mailsBefore).toBe(4000);
    expect((await getConferencingSummary(ctx)).readyForAudioConferencing).toBe(ready - 4000);
    // Planning the same command finds the interrupted job (findResumableJob) instead of creating another.
    const replanned = await planMoveToMicrosoft(ctx, { ready: true });
    expect(replanned).toMatchObject({ resumed: true, job: { id: plan.job.id, kind: MOVE_TO_MICROSOFT, processed: 4000 } });
    expect(await listJobs(ctx, {})).toHaveLength(1);

    // The same command again resumes that job rather than starting over.
    const again = await moveUsersToMicrosoft(ctx, { ready: true }, { wait: true });

    expect(again.resumed).toBe(true);
    expect(again.job.id).toBe(plan.job.id);
    expect(again.report?.job).toMatchObject({ status: "completed", processed: ready, error: null });
    expect(again.report?.summary).toEqual({ changed: ready, unchanged: 0, failed: 0 });
    expect((await getConferencingSummary(ctx)).readyForAudioConferencing).toBe(0);

    // Nobody was changed twice: one audit event, one archive and one email per user.
    const auditedTwice = await countOf(
      ctx,
      sql`select count(*) as n from (select target_id from audit_events where job_id = ${plan.job.id} group by target_id having count(*) > 1) x`,
    );
    const audited = await countOf(ctx, sql`select count(distinct target_id) as n from audit_events where job_id = ${plan.job.id}`);
    const archivedTwice = await countOf(
      ctx,
      sql`select count(*) as n from (select user_id from archives where job_id = ${plan.job.id} group by user_id having count(*) > 1) x`,
    );
    expect(auditedTwice).toBe(0);
    expect(audited).toBe(ready);
    expect(archivedTwice).toBe(0);
    expect(await onMicrosoftFromJob(ctx, plan.job.id)).toBe(ready);
    expect((await outboxCount(rt)) - mailsBefore).toBe(ready);
    // A finished job is no longer offered for resuming.
    await expectAppError(resumeJob(ctx, plan.job.id, { wait: true }), "job_not_resumable", "already complete");
  });

  it("stopped before its first batch, it changes nobody and resumes from the start", async () => {
    const t = await newTenant(rt);
    await makeUser(t, "a", { provider: "InterCall" });
    await makeUser(t, "b", { provider: "PGi" });
    const plan = await planMoveToMicrosoft(t.ctx, { userList: `${t.upn("a")}, ${t.upn("b")}` });

    startJobInBackground(t.ctx, plan.job.id);
    expect(await stopRunningJobs()).toEqual([plan.job.id]);

    const job = await getJob(t.ctx, plan.job.id);
    expect(job).toMatchObject({ status: "pending", processed: 0, summary: { changed: 0, unchanged: 0, failed: 0 } });
    expect((await getConferencingSummary(t.ctx)).byProvider).toEqual({ InterCall: 1, PGi: 1 });

    const done = await resumeJob(t.ctx, plan.job.id, { wait: true });
    expect(done).toMatchObject({ status: "completed", processed: 2, summary: { changed: 2, unchanged: 0, failed: 0 } });
    expect((await getConferencingSummary(t.ctx)).byProvider).toEqual({ Microsoft: 2 });
  });

  it("that cannot start records why on the job, changes nobody, and runs once the cause is fixed", async () => {
    const t = await newTenant(rt);
    await makeUser(t, "a", { provider: "InterCall" });
    await makeUser(t, "b", { provider: "PGi" });
    const plan = await planMoveToMicrosoft(t.ctx, { userList: `${t.upn("a")}, ${t.upn("b")}` });
    expect(plan.job.params).toMatchObject({ bridge: "Main bridge" });
    await setBridge(t.ctx, "Main bridge", { name: "Renamed bridge" });

    await expectAppError(runJob(t.ctx, plan.job.id), "not_found", '"Main bridge"', "Renamed bridge");

    expect(await getJob(t.ctx, plan.job.id)).toMatchObject({
      status: "failed",
      processed: 0,
      error: expect.stringContaining("Main bridge"),
    });
    expect((await getConferencingSummary(t.ctx)).byProvider).toEqual({ InterCall: 1, PGi: 1 });

    await setBridge(t.ctx, "Renamed bridge", { name: "Main bridge" });
    const done = await resumeJob(t.ctx, plan.job.id, { wait: true });
    expect(done).toMatchObject({ status: "completed", error: null, summary: { changed: 2, unchanged: 0, failed: 0 } });
  });

  it("asked to stop while it fails, runs to the end when resumed later", async () => {
    const t = await newTenant(rt);
    await makeUser(t, "a", { provider: "InterCall" });
    const plan = await planMoveToMicrosoft(t.ctx, { userList: t.upn("a") });
    await setBridge(t.ctx, undefined, { name: "Renamed bridge" });

    startJobInBackground(t.ctx, plan.job.id);
    await stopRunningJobs();
    expect((await getJob(t.ctx, plan.job.id)).status).toBe("failed");

    // The stop request was for that run: it must not stop the next one.
    await setBridge(t.ctx, undefined, { name: "Main bridge" });
    const done = await resumeJob(t.ctx, plan.job.id, { wait: true });
    expect(done).toMatchObject({ status: "completed", processed: 1, summary: { changed: 1 } });
    expect((await getConferencingSummary(t.ctx)).byProvider).toEqual({ Microsoft: 1 });
  });

  it("a dry run is never resumed: each dry run is a fresh preview", async () => {
    const t = await newTenant(rt);
    await makeUser(t, "a", { provider: "InterCall" });
    const first = await planMoveToMicrosoft(t.ctx, { ready: true, dryRun: true });
    const second = await planMoveToMicrosoft(t.ctx, { ready: true, dryRun: true });
    expect(second.resumed).toBe(false);
    expect(second.job.id).not.toBe(first.job.id);
  });
});

describe("jobs", () => {
  it("are listed newest first, per tenant, and can be filtered by kind", async () => {
    const t = await newTenant(rt);
    const other = await newTenant(rt);
    await makeUser(t, "a", { provider: "InterCall" });
    const first = await moveUsersToMicrosoft(t.ctx, { ready: true, dryRun: true }, { wait: true });
    const second = await moveUsersToMicrosoft(t.ctx, { ready: true }, { wait: true });

    expect((await listJobs(t.ctx, {})).map((j) => j.id)).toEqual([second.job.id, first.job.id]);
    expect(await listJobs(t.ctx, { kind: "restore" })).toEqual([]);
    expect(await listJobs(other.ctx, {})).toEqual([]);
    await expectAppError(getJob(other.ctx, second.job.id), "not_found", second.job.id, "callplane jobs list");
  });

  it("say how to find a job when the id is wrong", async () => {
    const t = await newTenant(rt);
    await expectAppError(getJob(t.ctx, "42"), "not_found", '"42" is not a job id', "callplane jobs list");
    await expectAppError(getJob(t.ctx, "11111111-2222-4333-8444-555555555555"), "not_found", "No job has the id");
    await expectAppError(listJobResults(t.ctx, "11111111-2222-4333-8444-555555555555", {}), "not_found");
  });

  it("of a kind this version cannot run are refused, not half-run", async () => {
    const t = await newTenant(rt);
    const job = await createJob(t.ctx, { kind: "from-the-future", dryRun: false, params: {}, items: [{ identity: "x@y.com" }] });
    expect(job).toMatchObject({ status: "pending", total: 1 });
    await expectAppError(runJob(t.ctx, job.id), "job_not_resumable", "from-the-future");
    expect(await getJob(t.ctx, job.id)).toMatchObject({ status: "pending", processed: 0 });
  });

  it("export results a spreadsheet cannot run as formulas", async () => {
    const t = await newTenant(rt);
    const list = ['=HYPERLINK("http://evil")', "+15551234", "@SUM(A1)", "-2+3"].join(";");
    const { job } = await moveUsersToMicrosoft(t.ctx, { userList: list }, { wait: true });

    const csv = await exportJobResultsCsv(t.ctx, job.id);
    const records = parse(csv, { columns: true }) as Record<string, string>[];
    expect(records.map((r) => r.identity)).toEqual(['\'=HYPERLINK("http://evil")', "'+15551234", "'@SUM(A1)", "'-2+3"]);
    expect(records.every((r) => r.outcome === "not-found" && r.error !== "" && r.message === "")).toBe(true);
    expect(csv.endsWith("\r\n")).toBe(true);
  });
});
