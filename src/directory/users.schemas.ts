import { z } from "zod";
import { queryBool } from "../http/types.ts";

export const interpretedUserType = z.enum([
  "CloudOnlyUser",
  "SoftDeletedUser",
  "HybridOnpremSfBUserNeedsProvisioning",
  "HybridOnpremSfBUser",
  "HybridOnlineSfBUserNeedsProvisioning",
  "HybridOnlineSfBUser",
]);

export const userVoiceView = z.object({
  userDirSyncEnabled: z.boolean(),
  immutableId: z.string().nullable(),
  lastSyncedAt: z.string().nullable(),
  deletedAt: z.string().nullable(),
  homing: z.enum(["online", "on-premises"]),
  onPremHostingProvider: z.string().nullable(),
  onPremRegistrarPool: z.string().nullable(),
  onPremSipEnabled: z.boolean(),
  onPremEnterpriseVoiceEnabled: z.boolean(),
  onPremLineUri: z.string().nullable(),
  lineUri: z.string().nullable(),
  onPremVoiceRoutingPolicy: z.string().nullable(),
  enterpriseVoiceEnabled: z.boolean(),
  hostedVoicemail: z.boolean(),
  onlineVoiceRoutingPolicy: z.string().nullable(),
  effectiveOnlineVoiceRoutingPolicy: z.string(),
  tenantDialPlan: z.string().nullable(),
  interpretedUserType,
});

export const userView = z.object({
  id: z.string(),
  userPrincipalName: z.string(),
  sipAddress: z.string().nullable(),
  alias: z.string().nullable(),
  displayName: z.string(),
  usageLocation: z.string().nullable(),
  source: z.enum(["on-premises", "cloud"]),
  licences: z.array(z.string()),
  servicePlans: z.array(z.string()),
  audioConferencingLicensed: z.boolean(),
  provider: z.object({ kind: z.enum(["microsoft", "third-party", "none"]), name: z.string().nullable() }),
  readyForAudioConferencing: z.boolean(),
  voice: userVoiceView,
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const userPage = z.object({
  total: z.number().describe("the number of users the filters match (with count=false: only those up to this page)"),
  counted: z.boolean().describe("false when asked not to count (count=false): total is then a lower bound"),
  limit: z.number(),
  offset: z.number(),
  items: z.array(userView),
});

export const createUserBody = z.strictObject({
  userPrincipalName: z.string().min(3).max(320),
  displayName: z.string().max(256).optional(),
  sipAddress: z.string().max(330).optional(),
  alias: z.string().max(64).optional(),
  usageLocation: z.string().max(2).optional(),
  source: z.enum(["on-premises", "cloud"]).optional(),
});

export const updateUserBody = z.strictObject({
  displayName: z.string().max(256).optional(),
  usageLocation: z.string().max(2).nullable().optional(),
  sipAddress: z.string().max(330).optional(),
  alias: z.string().max(64).nullable().optional(),
});

export const userSortKeys = ["userPrincipalName", "displayName", "provider", "lifecycle"] as const;

/** GET /users: the admin center's filters, sort and page. */
export const userListQuery = z.strictObject({
  provider: z.string().max(100).optional().describe("microsoft, third-party, none, or a provider name"),
  licensed: queryBool.optional().describe("holds an Audio Conferencing licence"),
  readyForAudioConferencing: queryBool.optional(),
  source: z.enum(["on-premises", "cloud"]).optional(),
  homing: z.enum(["online", "on-premises"]).optional().describe("where the user is homed"),
  lifecycle: interpretedUserType.optional().describe("the user's lifecycle state (InterpretedUserType)"),
  search: z.string().max(200).optional(),
  sort: z.enum(userSortKeys).optional().describe("default userPrincipalName"),
  order: z.enum(["asc", "desc"]).optional(),
  limit: z.coerce.number().int().min(0).max(1000).optional(),
  offset: z.coerce.number().int().min(0).optional(),
  count: queryBool
    .optional()
    .describe("false: do not count the matches (counted false) — the page comes sooner; ask for the total with limit=0"),
});
