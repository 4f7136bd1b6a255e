// One page of the audit log for the filters: the API filters by actor, operation, target and time
// range and pages back by event id.
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
}

export async function loadAuditPage(f: AuditFilters, before: number | null, pageSize: number): Promise<AuditPage> {
  const events = await apiGet<AuditEvent[]>("/audit", {
    actor: f.actor.trim(),
    operation: f.operation.trim(),
    target: f.target.trim(),
    from: f.from || undefined,
    to: f.to || undefined,
    before: before ?? undefined,
    limit: pageSize,
  });
  const last = events[events.length - 1];
  return { events, next: events.length === pageSize && last ? last.id : null };
}
