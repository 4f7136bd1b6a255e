// The API's answers and bodies as the browser sees them, inferred from the server's zod schemas.
import type { z } from "zod";
import type {
  bridgeView,
  dialInChange,
  dialInView,
  moveBody,
  moveStart,
  providerView,
  restoreView,
  serviceNumberView,
  settingsPatch,
  settingsView,
  summaryView,
} from "../../src/conferencing/conferencing.schemas.ts";
import type { interpretedUserType, userListQuery, userPage, userView } from "../../src/directory/users.schemas.ts";
import type {
  bulkMoveBody,
  bulkMoveStart,
  checklistView,
  moveReportRow,
  onlineVoiceChange,
  onPremChange,
} from "../../src/hybrid/hybrid.schemas.ts";
import type { bulkReport, jobResult, jobView } from "../../src/jobs/jobs.schemas.ts";
import type { skuView } from "../../src/licensing/licensing.routes.ts";
import type { mailDetail, mailQueueView, mailRetried, mailView } from "../../src/notify/mail.schemas.ts";
import type { policyView } from "../../src/voice/voice.schemas.ts";

export type User = z.infer<typeof userView>;
export type UserPage = z.infer<typeof userPage>;
export type UserListQuery = z.input<typeof userListQuery>;
export type LifecycleState = z.infer<typeof interpretedUserType>;
export type Checklist = z.infer<typeof checklistView>;
export type OnlineVoiceChange = z.infer<typeof onlineVoiceChange>;
export type OnPremChange = z.infer<typeof onPremChange>;
export type MoveReportRow = z.infer<typeof moveReportRow>;
export type VoiceRoutingPolicy = z.infer<typeof policyView>;
export type Sku = z.infer<typeof skuView>;
export type Provider = z.infer<typeof providerView>;
export type DialIn = z.infer<typeof dialInView>;
export type DialInChange = z.infer<typeof dialInChange>;
export type RestoreResult = z.infer<typeof restoreView>;
export type Bridge = z.infer<typeof bridgeView>;
export type ServiceNumber = z.infer<typeof serviceNumberView>;
export type Settings = z.infer<typeof settingsView>;
export type SettingsPatch = z.infer<typeof settingsPatch>;
export type Summary = z.infer<typeof summaryView>;
export type MoveBody = z.input<typeof moveBody>;
export type MoveStart = z.infer<typeof moveStart>;
export type UserMoveBody = z.input<typeof bulkMoveBody>;
export type UserMoveStart = z.infer<typeof bulkMoveStart>;
export type Job = z.infer<typeof jobView>;
export type JobResult = z.infer<typeof jobResult>;
export type BulkReport = z.infer<typeof bulkReport>;
export type Mail = z.infer<typeof mailView>;
export type MailStatus = Mail["status"];
export type MailDetail = z.infer<typeof mailDetail>;
export type MailQueue = z.infer<typeof mailQueueView>;
export type MailRetried = z.infer<typeof mailRetried>;

/** The lifecycle states (InterpretedUserType) in the seed's order, with what each means. */
export const lifecycleStates: { id: LifecycleState; label: string }[] = [
  { id: "HybridOnpremSfBUserNeedsProvisioning", label: "On-premises, needs provisioning" },
  { id: "HybridOnpremSfBUser", label: "On-premises, ready to move" },
  { id: "HybridOnlineSfBUserNeedsProvisioning", label: "Online, needs voice settings" },
  { id: "HybridOnlineSfBUser", label: "Online, done" },
  { id: "CloudOnlyUser", label: "Cloud only" },
];

export function lifecycleLabel(id: string | null | undefined): string {
  return lifecycleStates.find((s) => s.id === id)?.label ?? id ?? "—";
}
