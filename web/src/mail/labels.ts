// How the admin center names the outbox's message kinds and states (one name per concept, as the
// CLI's `mail list` spells the states). Presentation only: the server decides a message's fate.
import type { Mail, MailStatus } from "../types.ts";

const KINDS: Record<string, string> = {
  "dial-in.enabled": "Dial-in turned on",
  "dial-in.changed": "Dial-in details changed",
  "dial-in.pin-reset": "PIN reset",
  "dial-in.disabled": "Dial-in turned off",
  "dial-in.restored": "Previous details restored",
};

/** What a message is about, e.g. "PIN reset" for `dial-in.pin-reset` (an unknown kind as it is). */
export function mailKindLabel(kind: string): string {
  return KINDS[kind] ?? kind;
}

/** The states in the order a message goes through them, with their labels. */
export const mailStatuses: { id: MailStatus; label: string; tone: "neutral" | "good" | "warn" | "bad" | "info" }[] = [
  { id: "queued", label: "Queued", tone: "info" },
  { id: "sending", label: "Sending", tone: "info" },
  { id: "sent", label: "Sent", tone: "good" },
  { id: "deferred", label: "Deferred", tone: "warn" },
  { id: "failed", label: "Failed", tone: "bad" },
];

export function isMailStatus(value: string | null): value is MailStatus {
  return mailStatuses.some((s) => s.id === value);
}

export function mailStatusLabel(status: string): string {
  return mailStatuses.find((s) => s.id === status)?.label ?? status;
}

/**
 * Whether to offer Retry for a message: the states the API's retry takes (failed, deferred). A
 * convenience for showing the button; the server decides and says why when it refuses.
 */
export function offersRetry(m: Pick<Mail, "status">): boolean {
  return m.status === "failed" || m.status === "deferred";
}
