import { sql } from "drizzle-orm";
import type { Ctx } from "../core/context.ts";
import { AppError } from "../core/errors.ts";
import type { SyncRunDetail, SyncRunList, SyncRunView } from "../dashboard/dashboard.schemas.ts";
import { rows } from "../store/db.ts";

/*
 * Every directory sync that is not a dry run writes one `directory.sync` audit event (the run, with its
 * counts), and one `user.sync.create|update|restore|soft-match|delete` event per user it changed, all in
 * one transaction: the same timestamp and actor. The run event's id is the run's id.
 */

const MAX_CHANGES = 1000;

interface RunRow {
  id: string | number;
  at: Date | string;
  actor: string;
  after: { created?: number; updated?: number; deleted?: number; unchanged?: number; conflicts?: number } | null;
}

const runSelect = sql`select id, at, actor, after from audit_events`;

function toRun(r: RunRow): SyncRunView {
  const a = r.after ?? {};
  const created = a.created ?? 0;
  const updated = a.updated ?? 0;
  const deleted = a.deleted ?? 0;
  return {
    id: Number(r.id),
    at: new Date(r.at).toISOString(),
    actor: r.actor,
    created,
    updated,
    deleted,
    unchanged: a.unchanged ?? 0,
    conflicts: a.conflicts ?? 0,
    changes: created + updated + deleted,
  };
}

/** The tenant's directory sync runs, newest first (a run with nothing to do too). */
export async function listSyncRuns(ctx: Ctx, q: { limit?: number } = {}): Promise<SyncRunList> {
  const limit = Math.min(Math.max(q.limit ?? 20, 1), 200);
  const runs = await rows<RunRow>(
    ctx.db,
    sql`${runSelect} where tenant_id = ${ctx.tenantId} and operation = 'directory.sync' order by id desc limit ${limit}`,
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
    sql`${runSelect} where id = ${id} and tenant_id = ${ctx.tenantId} and operation = 'directory.sync'`,
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
