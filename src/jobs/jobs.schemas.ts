import { z } from "zod";

export const jobView = z.object({
  id: z.string(),
  kind: z.string(),
  status: z.enum(["pending", "running", "completed", "failed"]),
  dryRun: z.boolean(),
  params: z.record(z.string(), z.unknown()),
  total: z.number(),
  processed: z.number(),
  summary: z.object({ changed: z.number(), unchanged: z.number(), failed: z.number() }),
  notices: z.number().describe("users changed who must be told something that failed afterwards (an email): see each result's notice"),
  actor: z.string(),
  error: z.string().nullable(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
});

export const bulkReport = z.object({
  job: jobView,
  dryRun: z.boolean(),
  summary: z.object({ changed: z.number(), unchanged: z.number(), failed: z.number() }),
  results: z.array(z.object({ identity: z.string(), outcome: z.string(), message: z.string(), notice: z.string().optional() })),
});

export const jobResult = z.object({
  seq: z.number(),
  identity: z.string(),
  userId: z.string().nullable(),
  outcome: z.string(),
  message: z.string(),
  failed: z.boolean(),
  changed: z.boolean(),
  processedAt: z.string().nullable().describe("when the item's batch ran (the StartTime of a Move-CsUser -Report row)"),
  notice: z.string().nullable().describe("what failed after the user's change was made, e.g. the email could not be written"),
});
