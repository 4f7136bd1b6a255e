import { Readable } from "node:stream";
import { z } from "zod";
import type { CtxOf } from "../http/server.ts";
import { type Api, errors, queryBool } from "../http/types.ts";
import { jobResult, jobView } from "./jobs.schemas.ts";
import { getJob, listJobResults, listJobs, RESULTS_PAGE_MAX, resumeJob, streamJobResultsCsv } from "./jobs.service.ts";

const jobParam = z.object({ id: z.uuid() });

export function jobRoutes(api: Api, ctxOf: CtxOf): void {
  api.get(
    "/jobs",
    {
      schema: {
        tags: ["jobs"],
        summary: "List bulk jobs, newest first",
        querystring: z.strictObject({ kind: z.string().max(64).optional(), limit: z.coerce.number().int().min(1).max(200).optional() }),
        response: { 200: z.array(jobView), ...errors },
      },
    },
    async (req) => listJobs(await ctxOf(req), req.query),
  );
  api.get(
    "/jobs/:id",
    { schema: { tags: ["jobs"], summary: "Show a job and its progress", params: jobParam, response: { 200: jobView, ...errors } } },
    async (req) => getJob(await ctxOf(req), req.params.id),
  );
  api.get(
    "/jobs/:id/results",
    {
      schema: {
        tags: ["jobs"],
        summary: "A job's per-user results, a page at a time (a full page carries a Link header to the next)",
        params: jobParam,
        querystring: z.strictObject({
          outcome: z.string().max(64).optional(),
          failed: queryBool.optional(),
          afterSeq: z.coerce.number().int().min(0).optional().describe("the last seq of the previous page: the next page starts after it"),
          offset: z.coerce.number().int().min(0).max(10_000_000).optional(),
          limit: z.coerce.number().int().min(1).max(RESULTS_PAGE_MAX).optional(),
        }),
        response: { 200: z.array(jobResult), ...errors },
      },
    },
    async (req, reply) => {
      const limit = req.query.limit ?? 1000;
      const page = await listJobResults(await ctxOf(req), req.params.id, { ...req.query, limit, failedOnly: req.query.failed });
      // A full page may not be the last: say where the next one starts, so no caller mistakes a page for the whole.
      const last = page[page.length - 1];
      if (page.length === limit && last) {
        const next = new URLSearchParams({ afterSeq: String(last.seq), limit: String(limit) });
        if (req.query.outcome) next.set("outcome", req.query.outcome);
        if (req.query.failed) next.set("failed", "true");
        reply.header("link", `</api/v1/jobs/${req.params.id}/results?${next}>; rel="next"`);
      }
      return page;
    },
  );
  api.get(
    "/jobs/:id/results.csv",
    {
      schema: {
        tags: ["jobs"],
        summary: "A job's per-user results as CSV, with an error column",
        params: jobParam,
        produces: ["text/csv"],
      },
    },
    async (req, reply) => {
      const chunks = streamJobResultsCsv(await ctxOf(req), req.params.id);
      // The first chunk (the header) comes after the job is found, so an unknown job is a 404, not an empty file.
      const first = await chunks.next();
      async function* all() {
        if (!first.done) yield first.value;
        yield* chunks;
      }
      return reply
        .header("content-type", "text/csv; charset=utf-8")
        .header("content-disposition", `attachment; filename="job-${req.params.id}.csv"`)
        .send(Readable.from(all()));
    },
  );
  api.post(
    "/jobs/:id/resume",
    {
      schema: {
        tags: ["jobs"],
        summary: "Finish a job that was interrupted or failed part way",
        params: jobParam,
        body: z.strictObject({ wait: z.boolean().optional() }).nullish(),
        response: { 200: jobView, 202: jobView, ...errors },
      },
    },
    async (req, reply) => {
      const wait = req.body?.wait === true;
      const job = await resumeJob(await ctxOf(req), req.params.id, { wait });
      return reply.status(wait ? 200 : 202).send(job);
    },
  );
}
