import { z } from "zod";
import { bulkReport, jobView } from "../jobs/jobs.schemas.ts";
import { mailOutcome } from "../notify/mail.schemas.ts";

export const providerView = z.object({ identity: z.string(), domain: z.string(), url: z.string().nullable(), isMicrosoft: z.boolean() });

export const settingsView = z.object({
  pinLength: z.number(),
  automaticallySendEmailsToUsers: z.boolean(),
  allowPstnOnlyMeetingsByDefault: z.boolean(),
  automaticallyReplaceAcpProvider: z.boolean(),
  sendEmailFromOverride: z.boolean(),
  sendEmailFromAddress: z.string().nullable(),
  sendEmailFromDisplayName: z.string().nullable(),
  enableEntryExitNotifications: z.boolean(),
  enableNameRecording: z.boolean(),
  entryExitAnnouncementsType: z.enum(["UseNames", "ToneOnly"]),
  maskPstnNumbersType: z.enum(["MaskedForExternalUsers", "MaskedForAllUsers", "NoMasking"]),
});

export const settingsPatch = z.strictObject({
  pinLength: z.number().int().optional(),
  automaticallySendEmailsToUsers: z.boolean().optional(),
  allowPstnOnlyMeetingsByDefault: z.boolean().optional(),
  automaticallyReplaceAcpProvider: z.boolean().optional(),
  sendEmailFromOverride: z.boolean().optional(),
  sendEmailFromAddress: z.string().max(320).nullable().optional(),
  sendEmailFromDisplayName: z.string().max(256).nullable().optional(),
  enableEntryExitNotifications: z.boolean().optional(),
  enableNameRecording: z.boolean().optional(),
  entryExitAnnouncementsType: z.enum(["UseNames", "ToneOnly"]).optional(),
  maskPstnNumbersType: z.enum(["MaskedForExternalUsers", "MaskedForAllUsers", "NoMasking"]).optional(),
});

export const serviceNumberView = z.object({
  number: z.string(),
  type: z.enum(["toll", "toll-free"]),
  city: z.string().nullable(),
  country: z.string().nullable(),
  primaryLanguage: z.string(),
  secondaryLanguages: z.array(z.string()),
  bridge: z.string(),
});

export const bridgeView = z.object({
  id: z.string(),
  name: z.string(),
  isDefault: z.boolean(),
  conferenceIdLength: z.number(),
  defaultServiceNumber: z.string().nullable(),
  defaultTollFreeServiceNumber: z.string().nullable(),
  serviceNumbers: z.array(serviceNumberView),
});

export const acpEntryView = z.object({
  name: z.string(),
  domain: z.string(),
  tollNumber: z.string().nullable(),
  tollFreeNumbers: z.array(z.string()),
  participantPasscode: z.string().nullable(),
  url: z.string().nullable(),
  isDefault: z.boolean(),
});

export const setAcpBody = z.strictObject({
  name: z.string().min(1).max(100),
  domain: z.string().max(253).optional(),
  tollNumber: z.string().max(40).nullable().optional(),
  tollFreeNumbers: z.array(z.string().max(40)).max(20).optional(),
  participantPasscode: z.string().max(40).nullable().optional(),
  url: z.string().max(2000).nullable().optional(),
  isDefault: z.boolean().optional(),
});

export const dialInView = z.object({
  userId: z.string(),
  userPrincipalName: z.string(),
  displayName: z.string(),
  provider: z.literal("Microsoft"),
  domain: z.string(),
  bridge: z.string(),
  conferenceId: z.string(),
  serviceNumber: z.string().nullable(),
  tollFreeServiceNumber: z.string().nullable(),
  allowPstnOnlyMeetings: z.boolean(),
  allowTollFreeDialIn: z.boolean(),
  updatedAt: z.string(),
});

export const dialInChange = z.object({
  user: z.string(),
  changed: z.boolean(),
  message: z.string(),
  dialIn: dialInView.nullable(),
  pin: z.string().nullable().describe("The new leader PIN: shown this once, never stored in clear"),
  replaced: z
    .object({ provider: z.string().nullable(), acpEntries: z.array(acpEntryView), conferenceId: z.string().nullable() })
    .nullable(),
  mail: mailOutcome.nullable().describe("the email the change sent the user: queued with the change, delivered right after it"),
  warning: z.string().nullable().describe("what to know about that email: not delivered yet, or refused by the mail server"),
});

const conferenceId = z.union([z.string().max(20), z.number().int()]);

export const enableBody = z.strictObject({
  replaceProvider: z.boolean().optional(),
  bridge: z.string().max(128).optional(),
  conferenceId: conferenceId.optional(),
  serviceNumber: z.string().max(40).optional(),
  tollFreeServiceNumber: z.string().max(40).optional(),
  allowPstnOnlyMeetings: z.boolean().optional(),
  allowTollFreeDialIn: z.boolean().optional(),
  sendEmail: z.boolean().optional(),
});

export const setBody = z.strictObject({
  bridge: z.string().max(128).optional(),
  serviceNumber: z.string().max(40).optional(),
  tollFreeServiceNumber: z.string().max(40).optional(),
  allowPstnOnlyMeetings: z.boolean().optional(),
  allowTollFreeDialIn: z.boolean().optional(),
  resetLeaderPin: z.boolean().optional(),
  conferenceId: conferenceId.optional(),
  resetConferenceId: z.boolean().optional(),
  sendEmail: z.boolean().optional(),
});

export const restoreView = z.object({
  user: z.string(),
  changed: z.boolean(),
  message: z.string(),
  provider: z.string().nullable(),
  dialIn: dialInView.nullable(),
  acpEntries: z.array(acpEntryView),
  mail: mailOutcome.nullable().describe("the email telling the user their previous details are back"),
  warning: z.string().nullable().describe("what to know about that email: not delivered yet, or refused by the mail server"),
});

export const moveBody = z.strictObject({
  userList: z.string().max(10_000_000).optional(),
  identities: z.array(z.string().max(512)).max(1_000_000).optional(),
  csvBase64: z.string().max(60_000_000).optional(),
  csvName: z.string().max(260).optional(),
  fromProvider: z.string().max(100).optional(),
  ready: z.boolean().optional().describe("Every user licensed for Audio Conferencing whose provider is not Microsoft"),
  bridge: z.string().max(128).optional(),
  dryRun: z.boolean().optional(),
  sendEmail: z.boolean().optional(),
  wait: z.boolean().optional().describe("Run to the end before answering (otherwise 202 and follow /jobs/{id})"),
});

export const moveStart = z.object({
  job: jobView,
  resumed: z.boolean(),
  input: z.object({
    source: z.enum(["user-list", "csv", "provider", "ready"]),
    count: z.number(),
    duplicates: z.number(),
    skipped: z.array(z.object({ line: z.number(), reason: z.string() })),
    column: z.string().nullable(),
  }),
  report: bulkReport.nullable(),
});

export const summaryView = z.object({
  readyForAudioConferencing: z.number(),
  banner: z.string().nullable(),
  byProvider: z.record(z.string(), z.number()),
  dialInUsers: z.number(),
});
