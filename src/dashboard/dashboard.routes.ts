import { z } from "zod";
import { getSyncRun, listSyncRuns } from "../directory/sync-runs.service.ts";
import type { CtxOf } from "../http/server.ts";
import { type Api, errors } from "../http/types.ts";
import { dashboardView, syncRunDetail, syncRunList } from "./dashboard.schemas.ts";
import { getDashboard } from "./dashboard.service.ts";

/** The admin center's read models: the dashboard and the directory sync runs. */
export function dashboardRoutes(api: Api, ctxOf: CtxOf): void {
  api.get(
    "/dashboard",
    {
      schema: {
        tags: ["dashboard"],
        summary: "The tenant at a glance: users by provider and lifecycle state, licences used and free, recent jobs, the last sync",
        response: { 200: dashboardView, ...errors },
      },
    },
    async (req) => getDashboard(await ctxOf(req)),
  );
  api.get(
    "/directory/sync-runs",
    {
      schema: {
        tags: ["hybrid voice"],
        summary: "Directory sync runs that changed something, newest first (read from the audit log)",
        querystring: z.strictObject({ limit: z.coerce.number().int().min(1).max(200).optional() }),
        response: { 200: syncRunList, ...errors },
      },
    },
    async (req) => listSyncRuns(await ctxOf(req), req.query),
  );
  api.get(
    "/directory/sync-runs/:id",
    {
      schema: {
        tags: ["hybrid voice"],
        summary: "One directory sync run and what it changed, user by user",
        params: z.object({ id: z.coerce.number().int().min(1) }),
        response: { 200: syncRunDetail, ...errors },
      },
    },
    async (req) => getSyncRun(await ctxOf(req), req.params.id),
  );
}
