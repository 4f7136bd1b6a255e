// What turning on Microsoft dial-in and restoring an archive decide for each user: pure, shared by the
// single-user commands and the bulk jobs (a single user is a batch of one). The writers are in dial-in.writer.ts.
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

/** An archive a restore would put back. */
export interface ArchiveFound {
  id: number;
  operation: string;
  createdAt: string;
  restored: boolean;
  data: ArchiveData;
}

/** What a restore decides from, per user (read under the user's lock). */
export interface RestoreState {
  /** How messages name the user: the UPN, or the identity a job item was planned with. */
  name: string;
  /** The user as it is now, or null when it no longer exists. */
  user: {
    userId: string;
    userPrincipalName: string;
    displayName: string;
    licensed: boolean;
    /** The provider now: Microsoft, the third-party one, or null. */
    provider: string | null;
    dialIn: DialInSnapshot | null;
    acpEntries: AcpEntry[];
  } | null;
  archive: ArchiveFound | null;
  /** Who (UPN) holds the conference ID the archive would bring back, when it is another user; else null. */
  conferenceIdHeldBy: string | null;
}

export interface RestoreRules {
  /** Word and order the checks as a restore job's items do (the single command checks the licence first). */
  job: boolean;
  dryRun?: boolean;
}

export type RestoreDecision =
  | {
      kind: "fail";
      code: ErrorCode;
      outcome: "not-found" | "nothing-to-restore" | "conference-id-taken" | "no-licence";
      message: string;
    }
  | { kind: "noop"; outcome: "already-restored"; message: string }
  | {
      kind: "restore";
      outcome: "restored";
      archive: ArchiveFound;
      /** As a job item reports it; the single command names the provider it reads back (restoredMessage). */
      message: string;
    };

/** Whether an archive can be put back for one user. Pure. */
export function decideRestore(s: RestoreState, o: RestoreRules): RestoreDecision {
  const who = s.name;
  const arch = s.archive;
  if (!arch || !s.user) {
    return o.job
      ? { kind: "fail", code: "user_not_found", outcome: "not-found", message: `${who} or its archive no longer exists.` }
      : {
          kind: "fail",
          code: "nothing_to_restore",
          outcome: "nothing-to-restore",
          message: `Nothing is archived for ${who}: no earlier provider or dial-in settings to go back to.`,
        };
  }
  if (arch.restored) return { kind: "noop", outcome: "already-restored", message: `${who} was restored already.` };
  const d = arch.data.dialIn;
  // Microsoft dial-in needs the licence, as when enabling: never bring it back without one.
  const unlicensed = d !== null && !s.user.licensed;
  if (!o.job && unlicensed) return { kind: "fail", code: "licence_required", outcome: "no-licence", message: licenceMessage(who) };
  if (d && s.conferenceIdHeldBy !== null) {
    return {
      kind: "fail",
      code: "conference_id_taken",
      outcome: "conference-id-taken",
      message: o.job
        ? `Cannot restore ${who}: conference ID ${d.conferenceId} is now held by another user.`
        : `Cannot restore ${who}: conference ID ${d.conferenceId} is now held by ${s.conferenceIdHeldBy}. Nothing was changed.`,
    };
  }
  if (unlicensed) {
    return {
      kind: "fail",
      code: "licence_required",
      outcome: "no-licence",
      message: `Cannot restore ${who} to Microsoft: it does not have a valid Audio Conferencing licence. Assign one with \`callplane licences assign ${who} --sku MCOMEETADV\`, then restore the job again.`,
    };
  }
  const back = arch.data.provider ?? "no provider";
  return {
    kind: "restore",
    outcome: "restored",
    archive: arch,
    message: o.dryRun ? `Would restore ${who} to ${back}.` : `Restored ${who} to ${back}.`,
  };
}

/** The single restore's answer, naming the provider the user has once the archive is back. */
export function restoredMessage(upn: string, providerNow: string | null, arch: Pick<ArchiveFound, "operation" | "createdAt">): string {
  return `Restored ${upn} to ${providerNow ?? "no provider"} as it was before ${arch.operation} on ${arch.createdAt}.`;
}
