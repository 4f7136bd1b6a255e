/**
 * Where a user stands in the hybrid voice workflow (the reference's InterpretedUserType), and the
 * checklist of the seed's steps. Pure: the service reads the state, these functions interpret it.
 */

export type InterpretedUserType =
  | "CloudOnlyUser"
  | "SoftDeletedUser"
  | "HybridOnpremSfBUserNeedsProvisioning"
  | "HybridOnpremSfBUser"
  | "HybridOnlineSfBUserNeedsProvisioning"
  | "HybridOnlineSfBUser";

/** What the online directory holds for a user (synchronised On-Prem* fields and online voice settings). */
export interface OnlineVoiceState {
  synced: boolean;
  deleted: boolean;
  homing: "online" | "on-premises";
  onPremSipEnabled: boolean;
  onPremEnterpriseVoiceEnabled: boolean;
  onPremLineUri: string | null;
  enterpriseVoiceEnabled: boolean;
  hostedVoicemail: boolean;
}

/**
 * - HybridOnpremSfBUserNeedsProvisioning: synced, homed on-premises, not yet SfB-enabled with Enterprise Voice and a line URI.
 * - HybridOnpremSfBUser: homed on-premises, ready to move.
 * - HybridOnlineSfBUserNeedsProvisioning: moved online; online Enterprise Voice or hosted voicemail still off.
 * - HybridOnlineSfBUser: moved online, Enterprise Voice and hosted voicemail on.
 */
export function interpretUserType(s: OnlineVoiceState): InterpretedUserType {
  if (s.deleted) return "SoftDeletedUser";
  if (!s.synced) return "CloudOnlyUser";
  if (s.homing === "on-premises" || !s.onPremSipEnabled) {
    return s.onPremSipEnabled && s.onPremEnterpriseVoiceEnabled && s.onPremLineUri
      ? "HybridOnpremSfBUser"
      : "HybridOnpremSfBUserNeedsProvisioning";
  }
  return s.enterpriseVoiceEnabled && s.hostedVoicemail ? "HybridOnlineSfBUser" : "HybridOnlineSfBUserNeedsProvisioning";
}

/** The on-premises object as the checklist needs it (null when the user has none). */
export interface DirectoryState {
  deleted: boolean;
  sipEnabled: boolean;
  enterpriseVoiceEnabled: boolean;
  lineUri: string | null;
  voiceRoutingPolicy: string | null;
  /** The online user differs from the object in a synchronised attribute: a sync is due. */
  syncPending: boolean;
}

export interface ChecklistInput {
  identity: string;
  online: OnlineVoiceState | null;
  directory: DirectoryState | null;
  servicePlans: string[];
  /** Holds Microsoft dial-in (then the move needs Audio Conferencing). */
  dialInOnMicrosoft: boolean;
}

export type ChecklistStepId =
  | "synced"
  | "sfb-enabled"
  | "enterprise-voice"
  | "voice-routing-policy"
  | "licences"
  | "moved-online"
  | "online-voice";

export interface ChecklistStep {
  id: ChecklistStepId;
  title: string;
  done: boolean;
  /** What is missing or worth knowing, in a sentence. */
  note: string | null;
  /** The Callplane command that does this step, when it is not done. */
  command: string | null;
}

export interface Checklist {
  interpretedUserType: InterpretedUserType | null;
  done: boolean;
  steps: ChecklistStep[];
  /** The first step not done. */
  next: ChecklistStepId | null;
}

const has = (plans: string[], p: string) => plans.includes(p);

/** The seed's steps, in order, each done or missing with the command that does it. */
export function buildChecklist(i: ChecklistInput): Checklist {
  const id = i.identity;
  const d = i.directory && !i.directory.deleted ? i.directory : null;
  const o = i.online && !i.online.deleted ? i.online : null;
  const steps: ChecklistStep[] = [];
  const step = (s: ChecklistStep) => steps.push(s);

  const synced = o?.synced === true && d !== null && !d.syncPending;
  step({
    id: "synced",
    title: "On-premises account synchronised to the online directory",
    done: synced,
    note:
      o && !o.synced
        ? "The user was created online (cloud-only) and cannot be enabled for hybrid voice: create the account on-premises, configure it there, and synchronise it."
        : d === null
          ? "There is no on-premises object for this user."
          : o === null
            ? "The on-premises object has not been synchronised yet."
            : d.syncPending
              ? "On-premises changes are waiting for the next sync."
              : null,
    command: synced ? null : d === null ? "callplane directory import FILE  (then callplane directory sync)" : "callplane directory sync",
  });
  step({
    id: "sfb-enabled",
    title: "Enabled for Skype for Business Server (Enable-CsUser)",
    done: d?.sipEnabled ?? false,
    note: null,
    command: d?.sipEnabled ? null : `callplane onprem enable-user ${id} --registrar-pool POOL --sip-address-type UserPrincipalName`,
  });
  const evDone = (d?.enterpriseVoiceEnabled ?? false) && Boolean(d?.lineUri);
  step({
    id: "enterprise-voice",
    title: "Enterprise Voice with a line URI, while homed on-premises (Set-CsUser)",
    done: evDone,
    note: d?.enterpriseVoiceEnabled && !d.lineUri ? "Enterprise Voice is on but there is no line URI: the user has no phone number." : null,
    command: evDone ? null : `callplane onprem set-user ${id} --enterprise-voice-enabled true --line-uri tel:+E164`,
  });
  const policyDone = Boolean(d?.voiceRoutingPolicy);
  step({
    id: "voice-routing-policy",
    title: "Voice routing policy (Grant-CsVoiceRoutingPolicy)",
    done: policyDone,
    note: d && !policyDone ? "No per-user policy: the Global voice routing policy applies." : null,
    command: policyDone ? null : `callplane onprem grant-policy ${id} --voice-routing-policy NAME`,
  });
  const plans = i.servicePlans;
  const missing: string[] = [];
  if (!has(plans, "MCOSTANDARD") && !has(plans, "TEAMS1")) missing.push("Skype for Business Online Plan 2 (MCOSTANDARD) or Teams (TEAMS1)");
  if (!has(plans, "MCOEV")) missing.push("Phone System (MCOEV)");
  if (i.dialInOnMicrosoft && !has(plans, "MCOMEETADV") && !has(plans, "MCOMEETADD")) missing.push("Audio Conferencing (MCOMEETADV)");
  step({
    id: "licences",
    title: "Licences: Skype for Business Online Plan 2 or Teams, and Phone System",
    done: o !== null && missing.length === 0,
    note: missing.length ? `Missing: ${missing.join(", ")}.` : null,
    command:
      o !== null && missing.length === 0 ? null : `callplane licences assign ${id} --sku ${has(plans, "MCOEV") ? "MCOSTANDARD" : "MCOEV"}`,
  });
  const moved = o !== null && o.homing === "online" && o.onPremSipEnabled;
  step({
    id: "moved-online",
    title: "Moved online (Move-CsUser)",
    done: moved,
    note: null,
    command: moved ? null : `callplane users move ${id} --target online`,
  });
  const onlineVoice = moved && o.enterpriseVoiceEnabled && o.hostedVoicemail;
  step({
    id: "online-voice",
    title: "Enterprise Voice and hosted voicemail online (Set-CsUser)",
    done: onlineVoice,
    note: null,
    command: onlineVoice ? null : `callplane users set-voice ${id} --enterprise-voice-enabled true --hosted-voicemail true`,
  });
  const next = steps.find((s) => !s.done)?.id ?? null;
  return { interpretedUserType: i.online ? interpretUserType(i.online) : null, done: next === null, steps, next };
}
