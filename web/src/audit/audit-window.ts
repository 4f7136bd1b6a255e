// One page of the audit log for the filters. The API filters by actor, operation, target and job and
// pages back by id; it has no time range yet, so a range is read as the pages that overlap it
// (events come newest first, so the walk stops at the first event older than `from`).
import { apiGet } from "../api.ts";
import type { AuditEvent } from "../dashboard/types.ts";

export interface AuditFilters {
  actor: string;
  operation: string;
  target: string;
  /** ISO instants (from a datetime-local field), or "". */
  from: string;
  to: string;
}

export interface AuditPage {
  events: AuditEvent[];
  /** The cursor of the next (older) page, or null at the end of the log or the range. */
  next: number | null;
  /** True when the walk stopped at its request budget before filling the page. */
  partial: boolean;
}

const BATCH = 200;
const MAX_REQUESTS = 10;

export async function loadAuditPage(f: AuditFilters, before: number | null, pageSize: number): Promise<AuditPage> {
  const from = f.from ? Date.parse(f.from) : Number.NEGATIVE_INFINITY;
  const to = f.to ? Date.parse(f.to) : Number.POSITIVE_INFINITY;
  const ranged = Number.isFinite(from) || Number.isFinite(to);
  const query = { actor: f.actor.trim(), operation: f.operation.trim(), target: f.target.trim() };
  if (!ranged) {
    const events = await apiGet<AuditEvent[]>("/audit", { ...query, before: before ?? undefined, limit: pageSize });
    const last = events[events.length - 1];
    return { events, next: events.length === pageSize && last ? last.id : null, partial: false };
  }
  const out: AuditEvent[] = [];
  let cursor = before;
  for (let i = 0; i < MAX_REQUESTS; i++) {
    const batch = await apiGet<AuditEvent[]>("/audit", { ...query, before: cursor ?? undefined, limit: BATCH });
    for (const e of batch) {
      const at = Date.parse(e.at);
      if (at < from) return { events: out, next: null, partial: false };
      cursor = e.id;
      if (at > to) continue;
      out.push(e);
      if (out.length === pageSize) return { events: out, next: e.id, partial: false };
    }
    if (batch.length < BATCH) return { events: out, next: null, partial: false };
  }
  return { events: out, next: cursor, partial: true };
}
