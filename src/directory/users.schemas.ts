import { z } from "zod";

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
  total: z.number(),
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
