import { z } from "zod";
import type { CtxOf } from "../http/server.ts";
import { type Api, errors } from "../http/types.ts";
import { mailDetail, mailListQuery, mailQueueView, mailRetried, mailView } from "./mail.schemas.ts";
import { getMail, listMail, mailQueue, retryMail } from "./outbox.service.ts";

const tags = ["mail"];

export function mailRoutes(api: Api, ctxOf: CtxOf): void {
  api.get(
    "/mail",
    {
      schema: {
        tags,
        summary: "The outbox: messages to users, newest first, by status, user or job",
        querystring: mailListQuery,
        response: { 200: z.array(mailView), ...errors },
      },
    },
    async (req) => listMail(await ctxOf(req), { ...req.query, userId: req.query.user, jobId: req.query.job }),
  );
  api.get(
    "/mail/queue",
    { schema: { tags, summary: "How many messages are in each state", response: { 200: mailQueueView, ...errors } } },
    async (req) => mailQueue(await ctxOf(req)),
  );
  api.get(
    "/mail/:id",
    {
      schema: {
        tags,
        summary: "One message: headers, content (never the PIN) and every delivery attempt",
        params: z.object({ id: z.uuid() }),
        response: { 200: mailDetail, ...errors },
      },
    },
    async (req) => getMail(await ctxOf(req), req.params.id),
  );
  api.post(
    "/mail/retry",
    {
      schema: {
        tags,
        summary: "Send a failed or deferred message again now (id), or every failed one (failed: true)",
        body: z.union([z.strictObject({ id: z.uuid() }), z.strictObject({ failed: z.literal(true) })]),
        response: { 200: mailRetried, ...errors },
      },
    },
    async (req) => retryMail(await ctxOf(req), req.body),
  );
}
