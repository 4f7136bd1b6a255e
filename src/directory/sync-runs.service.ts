import { sql } from "drizzle-orm";
import type { Ctx } from "../core/context.ts";
import { AppError } from "../core/errors.ts";
import type { SyncRunDetail, SyncRunList, SyncRunView } from "../dashboard/dashboard.schemas.ts";
import { rows } from "../store/db.ts";

/*
 * A directory sync writes one audit event per user it changes (`user.sync.create|update|restore|soft-match|delete`),
 * all in one transaction, so all with the same timestamp and actor: that (at, actor) group is the run. A sync
 * with nothing to do writes no event, so it leaves no run here; `lastSyncedAt` (the newest users.last_synced_at)
 * still tells when sync (or the demo) last wrote a user.
 */

const MAX_CHANGES = 1000;

interface RunRow {
  id: string | number;
  at: Date | string;
  actor: string;
  created: string | number;
  updated: string | number;
  deleted: string | number;
  changes: string | number;
}

const runSelect = sql`select min(id) as id, at, actor,
    count(*) filter (where operation = 'user.sync.create') as created,
    count(*) filter (where operation in ('user.sync.update', 'user.sync.restore', 'user.sync.soft-match')) as updated,
    count(*) filter (where operation = 'user.sync.delete') as deleted,
    count(*) as changes
  from audit_events`;

function toRun(r: RunRow): SyncRunView {
  return {
    id: Number(r.id),
    at: new Date(r.at).toISOString(),
    actor: r.actor,
    created: Number(r.created),
    updated: Number(r.updated),
    deleted: Number(r.deleted),
    changes: Number(r.changes),
  };
}

/** The tenant's directory sync runs that changed something, newest first. */
export async function listSyncRuns(ctx: Ctx, q: { limit?: number } = {}): Promise<SyncRunList> {
  const limit = Math.min(Math.max(q.limit ?? 20, 1), 200);
  const runs = await rows<RunRow>(
    ctx.db,
    sql`${runSelect} where tenant_id = ${ctx.tenantId} and operation like 'user.sync.%'
        group by at, actor order by at desc limit ${limit}`,
  );
  const [last] = await rows<{ at: Date | string | null }>(
    ctx.db,
    sql`select max(last_synced_at) as at from users where tenant_id = ${ctx.tenantId}`,
  );
  return { lastSyncedAt: last?.at ? new Date(last.at).toISOString() : null, runs: runs.map(toRun) };
}

/** One sync run and what it changed, user by user (the first 1,000 changes). */
export async function getSyncRun(ctx: Ctx, id: number): Promise<SyncRunDetail> {
  const [run] = await rows<RunRow>(
    ctx.db,
    sql`${runSelect} where tenant_id = ${ctx.tenantId} and operation like 'user.sync.%'
          and (at, actor) = (select at, actor from audit_events where id = ${id} and tenant_id = ${ctx.tenantId} and operation like 'user.sync.%')
        group by at, actor`,
  );
  if (!run) {
    throw new AppError("not_found", `There is no directory sync run ${id}: list the runs with GET /api/v1/directory/sync-runs.`);
  }
  const events = await rows<{
    id: string | number;
    operation: string;
    target_id: string | null;
    before: unknown;
    after: unknown;
    upn: string | null;
  }>(
    ctx.db,
    sql`select e.id, e.operation, e.target_id, e.before, e.after, u.user_principal_name as upn
        from audit_events e
        left join users u on u.tenant_id = e.tenant_id and u.id = e.target_id::uuid
        where e.tenant_id = ${ctx.tenantId} and e.operation like 'user.sync.%'
          and (e.at, e.actor) = (select at, actor from audit_events where id = ${id} and tenant_id = ${ctx.tenantId})
        order by e.id limit ${MAX_CHANGES}`,
  );
  const view = toRun(run);
  return {
    run: view,
    changesTotal: view.changes,
    changes: events.map((e) => {
      const action = e.operation.slice("user.sync.".length) as SyncRunDetail["changes"][number]["action"];
      const before = e.before ?? null;
      const after = e.after ?? null;
      const fields = action === "create" || action === "delete" ? [] : Object.keys((after ?? {}) as Record<string, unknown>);
      return { eventId: Number(e.id), action, userId: e.target_id, userPrincipalName: e.upn, fields, before, after };
    }),
  };
}
