// Concurrent writers on one store, and two nodes on one PostgreSQL: no lost update, an exact audit
// chain, one job per command, and a single-user change racing a bulk batch is that user's outcome.
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enableDialIn, setDialIn } from "../../src/conferencing/dial-in.service.ts";
import { moveUsersToMicrosoft, planMoveToMicrosoft } from "../../src/conferencing/move-to-microsoft.service.ts";
import type { Ctx } from "../../src/core/context.ts";
import { AppError } from "../../src/core/errors.ts";
import { buildDemoTenant } from "../../src/demo/demo.service.ts";
import { getJob, listJobResults, runJob } from "../../src/jobs/jobs.service.ts";
import { openRuntime, type Runtime } from "../../src/runtime.ts";
import { rows } from "../../src/store/db.ts";
import { openTestRuntime, type TestRuntime } from "../support/store.ts";

let rt: TestRuntime;
/** A second node on the same store: its own pool and runner id on PostgreSQL; the same process on PGlite. */
let node2: Runtime;

beforeAll(async () => {
  rt = await openTestRuntime();
  node2 = rt.databaseUrl ? await openRuntime({ databaseUrl: rt.databaseUrl, outboxDir: rt.outboxDir }) : rt;
});

afterAll(async () => {
  if (node2 && node2 !== rt) await node2.close();
  await rt?.close();
});

async function readyUsers(ctx: Ctx, limit: number): Promise<{ id: string; upn: string }[]> {
  return rows<{ id: string; upn: string }>(
    ctx.db,
    sql`select u.id, u.user_principal_name as upn from users u
        where u.tenant_id = ${ctx.tenantId} and not exists (select 1 from dial_in_users d where d.user_id = u.id)
          and exists (select 1 from licence_assignments la join skus s on s.id = la.sku_id
                      where la.user_id = u.id and s.service_plans && array['MCOMEETADV']::text[])
        order by u.user_principal_name limit ${limit}`,
  );
}

describe("concurrent changes to the same users", () => {
  it("two changes to one user's dial-in settings at the same moment both land, and the audit chain stays exact", async () => {
    const demo = await buildDemoTenant(rt.store.db, rt.env, { users: 1500, name: "LostUpdates", seed: 3 });
    const ctx = await rt.ctx(demo.tenant.id, "admin:a");
    const ctx2 = await node2.ctx(demo.tenant.id, "admin:b");
    const users = await readyUsers(ctx, 300);
    await moveUsersToMicrosoft(ctx, { identities: users.map((u) => u.upn) }, { wait: true });
    await Promise.all(users.map((u) => setDialIn(ctx, u.upn, { allowPstnOnlyMeetings: false })));

    const setEvents = async () =>
      Number(
        (
          await rows<{ n: string }>(
            ctx.db,
            sql`select count(*) as n from audit_events where tenant_id = ${ctx.tenantId} and operation = 'conferencing.set'`,
          )
        )[0]?.n,
      );
    const eventsBefore = await setEvents();

    // For every user at once: one node turns PSTN-only meetings on while the other resets the PIN.
    const outcomes = await Promise.allSettled(
      users.flatMap((u) => [
        setDialIn(ctx, u.upn, { allowPstnOnlyMeetings: true }),
        setDialIn(ctx2, u.upn, { resetLeaderPin: true, allowTollFreeDialIn: false }),
      ]),
    );
    const failures = outcomes.filter((o) => o.status === "rejected");
    expect(failures.map((f) => String((f as PromiseRejectedResult).reason))).toEqual([]);

    const lost = await rows<{ upn: string }>(
      ctx.db,
      sql`select u.user_principal_name as upn from dial_in_users d join users u on u.id = d.user_id
          where u.id in (select (jsonb_array_elements_text(${JSON.stringify(users.map((u) => u.id))}::jsonb))::uuid)
            and (not d.allow_pstn_only_meetings or d.allow_toll_free_dial_in)`,
    );
    expect(lost, "users whose change was lost").toEqual([]);

    // The audit chain: each event's "before" is the previous event's "after", for every user.
    const events = await rows<{ target_id: string; before: Record<string, unknown>; after: Record<string, unknown> }>(
      ctx.db,
      sql`select target_id, before, after from audit_events
          where tenant_id = ${ctx.tenantId} and operation = 'conferencing.set' order by target_id, id`,
    );
    const strip = (v: Record<string, unknown>) => {
      const { pinReset: _p, ...rest } = v;
      return rest;
    };
    let broken = 0;
    for (let i = 1; i < events.length; i++) {
      const prev = events[i - 1];
      const cur = events[i];
      if (!prev || !cur || prev.target_id !== cur.target_id) continue;
      if (JSON.stringify(strip(cur.before)) !== JSON.stringify(strip(prev.after))) broken++;
    }
    expect(broken, "audit events whose before is not the previous after").toBe(0);
    // Two events per user for the two racing changes: none lost, none doubled.
    expect(events.length - eventsBefore).toBe(users.length * 2);
  });
});

describe("one bulk command sent to two nodes at once", () => {
  it("plans one job, runs it once, and the loser is told who runs it", async () => {
    const demo = await buildDemoTenant(rt.store.db, rt.env, { users: 2500, name: "DuplicateJobs", seed: 4 });
    const ctx = await rt.ctx(demo.tenant.id, "admin:a");
    const ctx2 = await node2.ctx(demo.tenant.id, "admin:b");
    const [a, b] = await Promise.all([planMoveToMicrosoft(ctx, { ready: true }), planMoveToMicrosoft(ctx2, { ready: true })]);
    expect(a.job.id).toBe(b.job.id);
    const jobs = await rows<{ n: string }>(ctx.db, sql`select count(*) as n from jobs where tenant_id = ${ctx.tenantId}`);
    expect(Number(jobs[0]?.n)).toBe(1);

    // Both nodes asked to run it: one runs it, the other joins (same process) or is refused naming the lease.
    const runs = await Promise.allSettled([runJob(ctx, a.job.id), runJob(ctx2, a.job.id)]);
    const refused = runs.filter((r) => r.status === "rejected").map((r) => (r as PromiseRejectedResult).reason);
    for (const e of refused) {
      expect(e).toBeInstanceOf(AppError);
      expect((e as AppError).code).toBe("job_claimed");
      expect((e as AppError).message).toMatch(/lease on it ends at \d{4}-\d\d-\d\dT/);
    }
    if (node2 === rt) expect(refused).toEqual([]);
    const job = await getJob(ctx, a.job.id);
    expect(job).toMatchObject({ status: "completed", error: null, processed: job.total });
    const [twice] = await rows<{ n: string }>(
      ctx.db,
      sql`select count(*) as n from (select user_id from archives where job_id = ${a.job.id} group by user_id having count(*) > 1) x`,
    );
    expect(Number(twice?.n)).toBe(0);
  });
});

describe("a single-user enable racing a bulk batch over the same users", () => {
  it("is that user's outcome (already on Microsoft), never the batch's failure", async () => {
    const demo = await buildDemoTenant(rt.store.db, rt.env, { users: 6000, name: "RaceSingle", seed: 5 });
    const ctx = await rt.ctx(demo.tenant.id, "admin:bulk");
    const ctx2 = await node2.ctx(demo.tenant.id, "admin:single");
    const users = await readyUsers(ctx, 3000);
    const plan = await planMoveToMicrosoft(ctx, { identities: users.map((u) => u.upn) });
    // Every 20th user is enabled on its own while the job runs.
    const singles = users.filter((_, i) => i % 20 === 7);
    const [bulk, ...single] = await Promise.allSettled([
      runJob(ctx, plan.job.id),
      ...singles.map((u) => enableDialIn(ctx2, u.upn, { replaceProvider: true })),
    ]);
    expect(bulk.status === "rejected" ? String(bulk.reason) : "").toBe("");
    expect(single.filter((s) => s.status === "rejected").map((s) => String((s as PromiseRejectedResult).reason))).toEqual([]);
    const job = await getJob(ctx, plan.job.id);
    expect(job).toMatchObject({ status: "completed", error: null });
    const results = await listJobResults(ctx, plan.job.id, { limit: 50000 });
    expect(results.filter((r) => r.failed)).toEqual([]);
    const singleUpns = new Set(singles.map((u) => u.upn));
    for (const r of results) {
      if (!singleUpns.has(r.identity)) expect(r.outcome, r.identity).toBe("changed");
      else expect(["changed", "already-microsoft"]).toContain(r.outcome);
    }
    // Each user has exactly one enable, whichever writer won.
    const [enables] = await rows<{ n: string; users: string }>(
      ctx.db,
      sql`select count(*) as n, count(distinct target_id) as users from audit_events
          where tenant_id = ${ctx.tenantId} and operation = 'conferencing.enable'
            and target_id in (select jsonb_array_elements_text(${JSON.stringify(users.map((u) => u.id))}::jsonb))`,
    );
    expect(Number(enables?.n)).toBe(users.length);
    expect(Number(enables?.users)).toBe(users.length);
  });
});
