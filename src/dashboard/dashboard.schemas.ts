import { z } from "zod";
import { interpretedUserType } from "../directory/users.schemas.ts";
import { jobView } from "../jobs/jobs.schemas.ts";

/** One directory sync run, read back from the audit events it wrote (one transaction, one timestamp). */
export const syncRunView = z.object({
  /** The run's audit event: the run's id in `GET /directory/sync-runs/{id}`. */
  id: z.number(),
  at: z.string(),
  actor: z.string(),
  created: z.number(),
  updated: z.number(),
  deleted: z.number(),
  unchanged: z.number(),
  /** Objects left out because another user holds their UPN, SIP address or alias. */
  conflicts: z.number(),
  /** Every change the run recorded (created + updated + deleted). */
  changes: z.number(),
});

export const syncRunList = z.object({
  /** The last time sync wrote a user, including users written by the demo or an import with no audited run. */
  lastSyncedAt: z.string().nullable(),
  runs: z.array(syncRunView),
});

export const syncRunChange = z.object({
  eventId: z.number(),
  action: z.enum(["create", "update", "restore", "soft-match", "delete"]),
  userId: z.string().nullable(),
  userPrincipalName: z.string().nullable(),
  /** The synchronised attributes that changed (updates), e.g. onPremLineUri. */
  fields: z.array(z.string()),
  before: z.unknown(),
  after: z.unknown(),
});

export const syncRunDetail = z.object({
  run: syncRunView,
  changes: z.array(syncRunChange),
  /** All changes of the run; `changes` holds at most the first 1,000. */
  changesTotal: z.number(),
});

export const dashboardView = z.object({
  users: z.object({
    total: z.number(),
    synced: z.number(),
    cloudOnly: z.number(),
    /** Soft-deleted by sync: hidden from lists, counted here. */
    softDeleted: z.number(),
  }),
  /** Users by audio conferencing provider (Microsoft, a third party, or none), largest first. */
  byProvider: z.array(z.object({ provider: z.string(), users: z.number() })),
  readyForAudioConferencing: z.number(),
  licences: z.array(
    z.object({ skuPartNumber: z.string(), name: z.string(), seats: z.number(), consumed: z.number(), available: z.number() }),
  ),
  /** Every lifecycle state (InterpretedUserType) in the seed's order, with its user count (0 included). */
  lifecycle: z.array(z.object({ state: interpretedUserType, users: z.number() })),
  recentJobs: z.array(jobView),
  lastSync: syncRunView.nullable(),
  /** When sync (or the demo) last wrote a user, even with no recorded run. */
  lastSyncedAt: z.string().nullable(),
});

export type DashboardView = z.infer<typeof dashboardView>;
export type SyncRunView = z.infer<typeof syncRunView>;
export type SyncRunDetail = z.infer<typeof syncRunDetail>;
export type SyncRunList = z.infer<typeof syncRunList>;
