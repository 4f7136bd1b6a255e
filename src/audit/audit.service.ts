import { sql } from "drizzle-orm";
import type { Ctx } from "../core/context.ts";
import { rows } from "../store/db.ts";

export interface AuditInput {
  operation: string;
  targetType: string;
  targetId?: string | null;
  jobId?: string | null;
  before?: unknown;
  after?: unknown;
}

export interface AuditEvent {
  id: number;
  at: string;
  actor: string;
  source: string;
  operation: string;
  targetType: string;
  targetId: string | null;
  jobId: string | null;
  before: unknown;
  after: unknown;
}

/** Writes audit events in the caller's transaction, all in one statement. */
export async function recordAudit(ctx: Ctx, events: AuditInput[]): Promise<void> {
  if (events.length === 0) return;
  const payload = JSON.stringify(
    events.map((e) => ({
      operation: e.operation,
      target_type: e.targetType,
      target_id: e.targetId ?? null,
      job_id: e.jobId ?? null,
      before: e.before ?? null,
      after: e.after ?? null,
    })),
  );
  await ctx.db.execute(sql`
    insert into audit_events (tenant_id, actor, source, operation, target_type, target_id, job_id, before, after)
    select ${ctx.tenantId}::uuid, ${ctx.actor}, ${ctx.source ?? "internal"}, x.operation, x.target_type, x.target_id, x.job_id, x.before, x.after
    from jsonb_to_recordset(${payload}::jsonb)
      as x(operation text, target_type text, target_id text, job_id uuid, before jsonb, after jsonb)`);
}

export interface AuditQuery {
  operation?: string;
  target?: string;
  actor?: string;
  jobId?: string;
  /** Only events with an id lower than this (for paging back in time). */
  before?: number;
  /** Only events at or after this time (ISO 8601). */
  from?: string;
  /** Only events before this time (ISO 8601). */
  to?: string;
  limit?: number;
}

/**
 * The LIKE pattern of an operation filter: `*` is the only wildcard; LIKE's own `%`, `_` and its escape
 * character `\` match themselves (a filter ending in `\` was an invalid pattern, a server error).
 */
function operationPattern(filter: string): string {
  return filter.replace(/[\\%_]/g, "\\$&").replaceAll("*", "%");
}

/** Lists audit events, newest first: the tenant's and the installation's (accounts, API tokens, sign-in). */
export async function listAuditEvents(ctx: Ctx, q: AuditQuery): Promise<AuditEvent[]> {
  const limit = Math.min(Math.max(q.limit ?? 50, 1), 1000);
  const result = await rows<{
    id: string | number;
    at: Date | string;
    actor: string;
    source: string;
    operation: string;
    target_type: string;
    target_id: string | null;
    job_id: string | null;
    before: unknown;
    after: unknown;
  }>(
    ctx.db,
    sql`select id, at, actor, source, operation, target_type, target_id, job_id, before, after
        from audit_events
        where (tenant_id = ${ctx.tenantId} or tenant_id is null)
          ${q.operation ? sql`and operation like ${operationPattern(q.operation)}` : sql``}
          ${q.target ? sql`and target_id = ${q.target}` : sql``}
          ${q.actor ? sql`and actor = ${q.actor}` : sql``}
          ${q.jobId ? sql`and job_id = ${q.jobId}::uuid` : sql``}
          ${q.before ? sql`and id < ${q.before}` : sql``}
          ${q.from ? sql`and at >= ${q.from}::timestamptz` : sql``}
          ${q.to ? sql`and at < ${q.to}::timestamptz` : sql``}
        order by id desc
        limit ${limit}`,
  );
  return result.map((r) => ({
    id: Number(r.id),
    at: new Date(r.at).toISOString(),
    actor: r.actor,
    source: r.source,
    operation: r.operation,
    targetType: r.target_type,
    targetId: r.target_id,
    jobId: r.job_id,
    before: r.before,
    after: r.after,
  }));
}
