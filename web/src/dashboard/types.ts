// Types of the dashboard, sync-run, job and audit answers, inferred from the server's zod schemas.
import type { z } from "zod";
import type { auditEventView } from "../../../src/audit/audit.routes.ts";
import type { dashboardView, syncRunDetail, syncRunList, syncRunView } from "../../../src/dashboard/dashboard.schemas.ts";
import type { syncResult } from "../../../src/hybrid/hybrid.schemas.ts";
import type { jobView } from "../../../src/jobs/jobs.schemas.ts";

export type Dashboard = z.infer<typeof dashboardView>;
export type SyncRun = z.infer<typeof syncRunView>;
export type SyncRunList = z.infer<typeof syncRunList>;
export type SyncRunDetail = z.infer<typeof syncRunDetail>;
export type SyncResult = z.infer<typeof syncResult>;
export type Job = z.infer<typeof jobView>;
export type AuditEvent = z.infer<typeof auditEventView>;
