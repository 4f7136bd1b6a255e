import { z } from "zod";
import type { CtxOf } from "../http/server.ts";
import { type Api, errors } from "../http/types.ts";
import { listAuditEvents } from "./audit.service.ts";

export const auditEventView = z.object({
  id: z.number(),
  at: z.string(),
  actor: z.string().describe("the principal: account:NAME, token:NAME/ID, local:OSUSER or system"),
  source: z.string().describe("where the request came from: ip:ADDRESS, cli:in-process"),
  operation: z.string(),
  targetType: z.string(),
  targetId: z.string().nullable(),
  jobId: z.string().nullable(),
  before: z.unknown(),
  after: z.unknown(),
});

export function auditRoutes(api: Api, ctxOf: CtxOf): void {
  api.get(
    "/audit",
    {
      schema: {
        tags: ["audit"],
        summary: "List audit events, newest first (read only: events cannot be changed or deleted)",
        querystring: z.strictObject({
          operation: z.string().max(100).optional().describe("e.g. conferencing.* or licence.assign"),
          target: z.string().max(100).optional(),
          actor: z.string().max(200).optional(),
          job: z.uuid().optional(),
          before: z.coerce.number().int().min(1).optional(),
          from: z.iso.datetime({ offset: true }).optional().describe("events at or after this time, e.g. 2026-11-23T00:00:00Z"),
          to: z.iso.datetime({ offset: true }).optional().describe("events before this time"),
          limit: z.coerce.number().int().min(1).max(1000).optional(),
        }),
        response: { 200: z.array(auditEventView), ...errors },
      },
    },
    async (req) => listAuditEvents(await ctxOf(req), { ...req.query, jobId: req.query.job }),
  );
}
