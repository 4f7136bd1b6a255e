import { z } from "zod";
import { userView } from "../directory/users.schemas.ts";
import { bulkReport, jobView } from "../jobs/jobs.schemas.ts";

export const importBody = z.strictObject({
  format: z.enum(["csv", "ldif"]).optional().describe("default: from the file name's extension"),
  fileName: z.string().min(1).max(260),
  content: z.string().max(60_000_000),
  full: z.boolean().optional().describe("The file is the whole directory: objects absent from it are marked deleted"),
});

export const importResult = z.object({
  source: z.string(),
  full: z.boolean(),
  read: z.number(),
  created: z.number(),
  updated: z.number(),
  restored: z.number(),
  unchanged: z.number(),
  deleted: z.number(),
});

export const syncBody = z.strictObject({ dryRun: z.boolean().optional() });

export const syncResult = z.object({
  dryRun: z.boolean(),
  created: z.number(),
  updated: z.number(),
  deleted: z.number(),
  unchanged: z.number(),
  conflicts: z.array(
    z.object({
      userPrincipalName: z.string(),
      immutableId: z.string(),
      attribute: z.enum(["userPrincipalName", "sipAddress", "alias"]),
      value: z.string(),
      heldBy: z.string(),
      message: z.string(),
    }),
  ),
  changes: z.array(
    z.object({
      userPrincipalName: z.string(),
      action: z.enum(["create", "update", "restore", "soft-match", "delete"]),
      fields: z.array(z.string()),
    }),
  ),
  changesTotal: z.number(),
  message: z.string(),
});

export const onPremUserView = z.object({
  immutableId: z.string(),
  userPrincipalName: z.string(),
  displayName: z.string(),
  alias: z.string().nullable(),
  usageLocation: z.string().nullable(),
  sipAddress: z.string().nullable(),
  sipEnabled: z.boolean(),
  registrarPool: z.string().nullable(),
  hostingProvider: z.string().nullable(),
  enterpriseVoiceEnabled: z.boolean(),
  lineUri: z.string().nullable(),
  voiceRoutingPolicy: z.string().nullable(),
  deleted: z.boolean(),
  source: z.string(),
  onlineUserId: z.string().nullable(),
  updatedAt: z.string(),
});

export const onPremChange = z.object({
  user: onPremUserView,
  changed: z.boolean(),
  warnings: z.array(z.string()),
  next: z.string(),
});

export const enableOnPremBody = z.strictObject({
  registrarPool: z.string().max(253).optional(),
  hostingProviderProxyFqdn: z.string().max(253).optional(),
  sipAddress: z.string().max(330).optional(),
  sipAddressType: z.enum(["FirstLastName", "EmailAddress", "UserPrincipalName", "SamAccountName"]).optional(),
  sipDomain: z.string().max(253).optional(),
});

export const setOnPremBody = z.strictObject({
  enterpriseVoiceEnabled: z.boolean().optional(),
  lineUri: z.string().max(64).nullable().optional().describe("tel:+E164[;ext=N]; null removes it"),
});

export const policyBody = z.strictObject({
  policyName: z.string().max(256).nullable().describe("a per-user policy; null (or none/Global) for the Global policy"),
});

export const onlineVoiceChange = z.object({ user: userView, changed: z.boolean(), warnings: z.array(z.string()) });

export const setOnlineVoiceBody = z.strictObject({
  enterpriseVoiceEnabled: z.boolean().optional(),
  hostedVoicemail: z.boolean().optional(),
});

const moveOptions = {
  target: z.string().min(1).max(253).describe("online, sipfed.online.lync.com, or a registrar pool FQDN"),
  bypassEnterpriseVoiceCheck: z.boolean().optional(),
  bypassAudioConferencingCheck: z.boolean().optional(),
  force: z.boolean().optional().describe("contacts and scheduled meetings are not migrated and are lost"),
  dryRun: z.boolean().optional(),
};

export const moveBody = z.strictObject(moveOptions);

export const moveReportRow = z.object({
  user: z.string(),
  startTime: z.string(),
  result: z.string(),
  target: z.string(),
  changed: z.boolean(),
  dryRun: z.boolean(),
  notes: z.array(z.string()),
});

export const bulkMoveBody = z.strictObject({
  ...moveOptions,
  userList: z.string().max(10_000_000).optional(),
  identities: z.array(z.string().max(512)).max(1_000_000).optional(),
  csvBase64: z.string().max(60_000_000).optional(),
  csvName: z.string().max(260).optional(),
  wait: z.boolean().optional().describe("Run to the end before answering (otherwise 202 and follow /jobs/{id})"),
});

export const bulkMoveStart = z.object({
  job: jobView,
  resumed: z.boolean(),
  input: z.object({
    source: z.enum(["user-list", "csv"]),
    count: z.number(),
    duplicates: z.number(),
    skipped: z.array(z.object({ line: z.number(), reason: z.string() })),
    column: z.string().nullable(),
  }),
  report: bulkReport.nullable(),
});

export const checklistView = z.object({
  userPrincipalName: z.string(),
  interpretedUserType: z.string().nullable(),
  done: z.boolean(),
  next: z.string().nullable(),
  steps: z.array(
    z.object({
      id: z.string(),
      title: z.string(),
      done: z.boolean(),
      note: z.string().nullable(),
      command: z.string().nullable(),
    }),
  ),
});
