import { z } from "zod";

const status = z.enum(["queued", "sending", "sent", "deferred", "failed"]);

export const mailView = z.object({
  id: z.string(),
  messageId: z.string().describe("the Message-ID header: a message sent again after a crash carries the same one"),
  kind: z.string(),
  userId: z.string().nullable(),
  jobId: z.string().nullable(),
  to: z.string(),
  subject: z.string(),
  status,
  attempts: z.number(),
  lastError: z.string().nullable().describe("the mail server's answer or why the message cannot be sent"),
  createdAt: z.string(),
  nextAttemptAt: z.string().nullable(),
  sentAt: z.string().nullable(),
});

export const mailDetail = mailView.extend({
  from: z.string(),
  fromName: z.string(),
  toName: z.string(),
  lines: z.array(z.string()),
  conferenceId: z.string().nullable(),
  tollNumber: z.string().nullable(),
  tollFreeNumber: z.string().nullable(),
  hasPin: z.boolean().describe("whether the stored copy still holds a PIN (until the mail server accepts the message); never shown"),
  history: z.array(z.object({ at: z.string(), status: z.string(), detail: z.string(), attempt: z.number().optional() })),
});

export const mailQueueView = z.object({
  queued: z.number(),
  sending: z.number(),
  sent: z.number(),
  deferred: z.number(),
  failed: z.number(),
});

export const mailOutcome = z.object({
  id: z.string(),
  to: z.string(),
  status: status.describe("sending: delivery had not finished when the change answered, and goes on"),
  error: z.string().nullable(),
});

export const mailRetried = z.object({
  retried: z.number(),
  delivered: z.array(mailOutcome).describe("how the retried message went (one by id); every failed one is delivered in the background"),
});

export const mailListQuery = z.strictObject({
  status: status.optional(),
  user: z.uuid().optional(),
  job: z.uuid().optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  offset: z.coerce.number().int().min(0).max(10_000_000).optional(),
});
