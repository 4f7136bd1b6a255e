// What turning on Microsoft dial-in decides for each user: pure, shared by the single-user command and the
// bulk move (a single user is a batch of one). The writer is in dial-in.writer.ts.
import type { ErrorCode } from "../core/errors.ts";
import type { AcpEntry } from "./providers.service.ts";

export const MICROSOFT_DOMAIN = "resources.lync.com";

/** The stored form of a dial-in row inside an archive; restore needs the PIN hash, nothing shows it. */
export interface DialInSnapshot {
  bridgeId: string;
  conferenceId: string;
  pinHash: string;
  serviceNumber: string | null;
  tollFreeServiceNumber: string | null;
  allowPstnOnlyMeetings: boolean;
  allowTollFreeDialIn: boolean;
}

export interface ArchiveData {
  provider: string | null;
  acpEntries: AcpEntry[];
  dialIn: DialInSnapshot | null;
}

/** What the audit log keeps of a dial-in snapshot: everything but the PIN hash. */
export function auditSnapshot(s: DialInSnapshot | null | undefined): Record<string, unknown> | null {
  if (!s) return null;
  const { pinHash: _hidden, ...rest } = s;
  return { provider: "Microsoft", ...rest };
}

/** What enabling decides from, per user (read under the user's lock). */
export interface EnableState {
  userId: string;
  userPrincipalName: string;
  displayName: string;
  /** Holds an Audio Conferencing licence. */
  licensed: boolean;
  /** Already has Microsoft dial-in. */
  onMicrosoft: boolean;
  /** The third-party provider (the default entry, else the oldest), or null when the user has no entry. */
  provider: string | null;
}

export interface EnableRules {
  /** Replace a third-party provider: the bulk move always does, the single command with --replace-provider. */
  replaceProvider: boolean;
  /** Word outcomes as a bulk job's items (its licence message has always said "assigned"). */
  job: boolean;
  dryRun?: boolean;
}

export type EnableDecision =
  | { kind: "noop"; outcome: "already-microsoft"; message: string }
  | { kind: "fail"; code: ErrorCode; outcome: "no-licence" | "provider-conflict"; message: string }
  | { kind: "change"; outcome: "changed"; previous: string | null; message: string };

/** Enable-CsOnlineDialInConferencingUser's preconditions for one user, and what it replaces. Pure. */
export function decideEnable(s: EnableState, o: EnableRules): EnableDecision {
  const upn = s.userPrincipalName;
  if (s.onMicrosoft) return { kind: "noop", outcome: "already-microsoft", message: `The provider of ${upn} is already set to Microsoft.` };
  if (!s.licensed) {
    return {
      kind: "fail",
      code: "licence_required",
      outcome: "no-licence",
      message: o.job
        ? `${upn} does not have a valid Audio Conferencing licence assigned: assign one with \`callplane licences assign ${upn} --sku MCOMEETADV\`.`
        : licenceMessage(upn),
    };
  }
  const previous = s.provider;
  if (previous !== null && !o.replaceProvider) {
    return {
      kind: "fail",
      code: "provider_conflict",
      outcome: "provider-conflict",
      message: `${upn} uses ${previous} for audio conferencing: run again with --replace-provider to make Microsoft the provider (the ${previous} details are archived and can be restored).`,
    };
  }
  const from = previous ? ` from ${previous}` : "";
  return {
    kind: "change",
    outcome: "changed",
    previous,
    message: o.dryRun
      ? `Would change the provider of ${upn}${from} to Microsoft.`
      : `The provider of ${upn} has changed${from} to Microsoft.`,
  };
}

/** The single commands' answer to a user without an Audio Conferencing licence. */
export function licenceMessage(upn: string): string {
  return `${upn} does not have a valid Audio Conferencing licence: assign one with \`callplane licences assign ${upn} --sku MCOMEETADV\`.`;
}
