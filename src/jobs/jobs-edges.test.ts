import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildTestServer } from "../../test/support/auth.ts";
import { makeUser, newTenant } from "../../test/support/fixtures.ts";
import { openTestRuntime, type TestRuntime } from "../../test/support/store.ts";
import { moveUsersToMicrosoft, planMoveToMicrosoft } from "../conferencing/move-to-microsoft.service.ts";
import { rows } from "../store/db.ts";
import { bulkReport, createJob, exportJobResultsCsv, listJobResults } from "./jobs.service.ts";

let rt: TestRuntime;

beforeAll(async () => {
  rt = await openTestRuntime();
});

afterAll(async () => {
  await rt?.close();
});

describe("resuming a job", () => {
  it("needs the permission that starting it needs: a voice administrator cannot drive a conferencing bulk move", async () => {
    const t = await newTenant(rt);
    await makeUser(t, "resume-a", { provider: "InterCall" });
    const plan = await planMoveToMicrosoft(t.ctx, { userList: t.upn("resume-a") });
    const voice = await buildTestServer(rt, "voice-admin");
    const conferencing = await buildTestServer(rt, "conferencing-admin");
    try {
      const headers = { "x-callplane-tenant": t.ctx.tenantId };
      const refused = await voice.inject({ method: "POST", url: `/api/v1/jobs/${plan.job.id}/resume`, headers, payload: { wait: true } });
      expect(refused.statusCode).toBe(403);
      expect(refused.json().error.message).toContain("conferencing.bulk");
      const allowed = await conferencing.inject({
        method: "POST",
        url: `/api/v1/jobs/${plan.job.id}/resume`,
        headers,
        payload: { wait: true },
      });
      expect(allowed.statusCode, allowed.body).toBe(200);
      expect(allowed.json()).toMatchObject({ status: "completed", summary: { changed: 1 } });
    } finally {
      await voice.close();
      await conferencing.close();
    }
  });
});

describe("a job killed after its last batch (as an older version could leave it)", () => {
  it("is finished by re-running the same command: no new job, nobody changed twice", async () => {
    const t = await newTenant(rt);
    await makeUser(t, "last-a", { provider: "InterCall" });
    await makeUser(t, "last-b", { provider: "PGi" });
    const input = { userList: `${t.upn("last-a")}, ${t.upn("last-b")}` };
    const first = await moveUsersToMicrosoft(t.ctx, input, { wait: true });
    expect(first.report?.summary.changed).toBe(2);
    // Every item done, but the job left running by a runner that is gone.
    await t.ctx.db.execute(sql`update jobs set status = 'running', finished_at = null, runner_id = 'dead',
        lease_expires_at = now() - interval '1 minute' where id = ${first.job.id}`);
    const again = await moveUsersToMicrosoft(t.ctx, input, { wait: true });
    expect(again.resumed).toBe(true);
    expect(again.job.id).toBe(first.job.id);
    expect(again.job).toMatchObject({ status: "completed", processed: 2 });
    const jobs = await rows<{ n: string }>(t.ctx.db, sql`select count(*) as n from jobs where tenant_id = ${t.ctx.tenantId}`);
    expect(Number(jobs[0]?.n)).toBe(1);
    const archives = await rows<{ n: string }>(t.ctx.db, sql`select count(*) as n from archives where job_id = ${first.job.id}`);
    expect(Number(archives[0]?.n)).toBe(2);
  });
});

describe("a job's parameters", () => {
  it("stay small however large the identities sent: a sample of short identities, never the whole input", async () => {
    const t = await newTenant(rt);
    const huge = Array.from({ length: 30 }, (_, i) => `${String(i).padStart(3, "0")}${"x".repeat(300_000)}@contoso.com`);
    const plan = await planMoveToMicrosoft(t.ctx, { identities: huge, dryRun: true });
    expect(JSON.stringify(plan.job.params).length).toBeLessThan(10_000);
    expect(plan.job.params).toMatchObject({ identityCount: 30 });
    const results = await listJobResults(t.ctx, plan.job.id, { limit: 100 });
    expect(results.every((r) => r.identity.length <= 1025)).toBe(true);
  });
});

describe("a job with more results than any page", () => {
  it("reports, exports and pages every row: 210,000 of them (more than the old cap of 200,000)", async () => {
    const t = await newTenant(rt, { bridge: false });
    const job = await createJob(t.ctx, { kind: "move-to-microsoft", dryRun: true, params: { source: "big" }, items: [] });
    const n = 210_000;
    await t.ctx.db.execute(sql`insert into job_items (job_id, seq, identity, outcome, message, failed, changed, processed_at)
      select ${job.id}::uuid, g, 'user' || g || '@big.example.com', 'not-found', 'No user', true, false, now()
      from generate_series(1, ${n}) g`);
    await t.ctx.db.execute(sql`update jobs set total = ${n}, processed = ${n}, status = 'completed' where id = ${job.id}`);

    const report = await bulkReport(t.ctx, job.id);
    expect(report.results).toHaveLength(n);
    expect(report.results[n - 1]?.identity).toBe(`user${n}@big.example.com`);

    const csv = await exportJobResultsCsv(t.ctx, job.id);
    const lines = csv.trimEnd().split("\r\n");
    expect(lines).toHaveLength(n + 1);
    expect(lines[n]).toMatch(new RegExp(`^${n},user${n}@big\\.example\\.com,`));

    // Paging by the last seq seen walks every row once.
    let seen = 0;
    for (let after = 0; ; ) {
      const page = await listJobResults(t.ctx, job.id, { afterSeq: after, limit: 50_000 });
      if (page.length === 0) break;
      seen += page.length;
      after = page[page.length - 1]?.seq ?? after;
    }
    expect(seen).toBe(n);

    // Over HTTP the CSV streams every row too.
    const app = await buildTestServer(rt);
    try {
      const res = await app.inject({
        method: "GET",
        url: `/api/v1/jobs/${job.id}/results.csv`,
        headers: { "x-callplane-tenant": t.ctx.tenantId },
      });
      expect(res.statusCode).toBe(200);
      expect(res.body.trimEnd().split("\r\n")).toHaveLength(n + 1);
      // A full page says where the next starts; the last page does not.
      const page = await app.inject({
        method: "GET",
        url: `/api/v1/jobs/${job.id}/results?limit=1000`,
        headers: { "x-callplane-tenant": t.ctx.tenantId },
      });
      expect(page.headers.link).toBe(`</api/v1/jobs/${job.id}/results?afterSeq=1000&limit=1000>; rel="next"`);
      const tail = await app.inject({
        method: "GET",
        url: `/api/v1/jobs/${job.id}/results?afterSeq=${n - 10}&limit=1000`,
        headers: { "x-callplane-tenant": t.ctx.tenantId },
      });
      expect(tail.json()).toHaveLength(10);
      expect(tail.headers.link).toBeUndefined();
      const missing = await app.inject({
        method: "GET",
        url: "/api/v1/jobs/00000000-0000-4000-8000-000000000000/results.csv",
        headers: { "x-callplane-tenant": t.ctx.tenantId },
      });
      expect(missing.statusCode).toBe(404);
    } finally {
      await app.close();
    }
  }, 120_000);
});
