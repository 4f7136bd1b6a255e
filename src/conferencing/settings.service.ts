import { type SQL, sql } from "drizzle-orm";
import { recordAudit } from "../audit/audit.service.ts";
import { type Ctx, inTransaction } from "../core/context.ts";
import { AppError, atField } from "../core/errors.ts";
import { isMailAddress } from "../notify/render.ts";
import { rows } from "../store/db.ts";
import { validatePinLength } from "./pin.ts";

/** Set-CsOnlineDialInConferencingTenantSettings. */
export interface ConferencingSettings {
  pinLength: number;
  automaticallySendEmailsToUsers: boolean;
  allowPstnOnlyMeetingsByDefault: boolean;
  automaticallyReplaceAcpProvider: boolean;
  sendEmailFromOverride: boolean;
  sendEmailFromAddress: string | null;
  sendEmailFromDisplayName: string | null;
  enableEntryExitNotifications: boolean;
  enableNameRecording: boolean;
  entryExitAnnouncementsType: "UseNames" | "ToneOnly";
  maskPstnNumbersType: "MaskedForExternalUsers" | "MaskedForAllUsers" | "NoMasking";
}

interface SettingsRow {
  pin_length: number;
  automatically_send_emails_to_users: boolean;
  allow_pstn_only_meetings_by_default: boolean;
  automatically_replace_acp_provider: boolean;
  send_email_from_override: boolean;
  send_email_from_address: string | null;
  send_email_from_display_name: string | null;
  enable_entry_exit_notifications: boolean;
  enable_name_recording: boolean;
  entry_exit_announcements_type: string;
  mask_pstn_numbers_type: string;
}

function toSettings(r: SettingsRow): ConferencingSettings {
  return {
    pinLength: r.pin_length,
    automaticallySendEmailsToUsers: r.automatically_send_emails_to_users,
    allowPstnOnlyMeetingsByDefault: r.allow_pstn_only_meetings_by_default,
    automaticallyReplaceAcpProvider: r.automatically_replace_acp_provider,
    sendEmailFromOverride: r.send_email_from_override,
    sendEmailFromAddress: r.send_email_from_address,
    sendEmailFromDisplayName: r.send_email_from_display_name,
    enableEntryExitNotifications: r.enable_entry_exit_notifications,
    enableNameRecording: r.enable_name_recording,
    entryExitAnnouncementsType: r.entry_exit_announcements_type === "ToneOnly" ? "ToneOnly" : "UseNames",
    maskPstnNumbersType:
      r.mask_pstn_numbers_type === "MaskedForAllUsers" || r.mask_pstn_numbers_type === "NoMasking"
        ? r.mask_pstn_numbers_type
        : "MaskedForExternalUsers",
  };
}

export async function getConferencingSettings(ctx: Ctx): Promise<ConferencingSettings> {
  const [r] = await rows<SettingsRow>(ctx.db, sql`select * from conferencing_settings where tenant_id = ${ctx.tenantId}`);
  if (!r) throw new AppError("not_found", "The tenant has no conferencing settings.");
  return toSettings(r);
}

export type SettingsPatch = Partial<ConferencingSettings>;

const columns: Record<keyof ConferencingSettings, string> = {
  pinLength: "pin_length",
  automaticallySendEmailsToUsers: "automatically_send_emails_to_users",
  allowPstnOnlyMeetingsByDefault: "allow_pstn_only_meetings_by_default",
  automaticallyReplaceAcpProvider: "automatically_replace_acp_provider",
  sendEmailFromOverride: "send_email_from_override",
  sendEmailFromAddress: "send_email_from_address",
  sendEmailFromDisplayName: "send_email_from_display_name",
  enableEntryExitNotifications: "enable_entry_exit_notifications",
  enableNameRecording: "enable_name_recording",
  entryExitAnnouncementsType: "entry_exit_announcements_type",
  maskPstnNumbersType: "mask_pstn_numbers_type",
};

/** Changes tenant conferencing settings. A new PIN length applies only to PINs generated from now on. */
export async function setConferencingSettings(ctx: Ctx, patch: SettingsPatch): Promise<ConferencingSettings> {
  return inTransaction(ctx, async (tx) => {
    const before = await getConferencingSettings(tx);
    const next: ConferencingSettings = { ...before };
    for (const [key, value] of Object.entries(patch) as [keyof ConferencingSettings, unknown][]) {
      if (value !== undefined) (next as unknown as Record<string, unknown>)[key] = value;
    }
    next.pinLength = atField("body.pinLength", () => validatePinLength(next.pinLength));
    // The outbox's own rule for an address (one plain local@domain.tld), so a setting it accepts can be sent from.
    if (next.sendEmailFromAddress !== null && !isMailAddress(next.sendEmailFromAddress)) {
      throw new AppError(
        "invalid_input",
        `Send-email-from address "${next.sendEmailFromAddress.replace(/[\r\n]+/g, " ").slice(0, 200)}" is not an email address: give one plain address such as conferencing@contoso.com (no display name, spaces, line breaks or lists).`,
      );
    }
    if (next.sendEmailFromDisplayName !== null && /[\r\n\t\0]/.test(next.sendEmailFromDisplayName)) {
      throw new AppError(
        "invalid_input",
        "Send-email-from display name must be one line: remove the line breaks and tabs from --send-email-from-display-name.",
      );
    }
    if (next.sendEmailFromOverride && (!next.sendEmailFromAddress || !next.sendEmailFromDisplayName?.trim())) {
      throw new AppError(
        "invalid_input",
        "Send-email-from override needs both a from address and a display name: set --send-email-from-address and --send-email-from-display-name as well.",
      );
    }
    const sets: SQL[] = [sql`updated_at = now()`];
    for (const key of Object.keys(columns) as (keyof ConferencingSettings)[]) {
      if (next[key] !== before[key]) sets.push(sql`${sql.identifier(columns[key])} = ${next[key]}`);
    }
    if (sets.length === 1) return before;
    await tx.db.execute(sql`update conferencing_settings set ${sql.join(sets, sql`, `)} where tenant_id = ${tx.tenantId}`);
    const after = await getConferencingSettings(tx);
    await recordAudit(tx, [{ operation: "conferencing.settings.set", targetType: "tenant", targetId: tx.tenantId, before, after }]);
    return after;
  });
}

/** Remove-CsOnlineDialInConferencingTenantSettings: back to the defaults. */
export async function resetConferencingSettings(ctx: Ctx): Promise<ConferencingSettings> {
  return inTransaction(ctx, async (tx) => {
    const before = await getConferencingSettings(tx);
    await tx.db.execute(sql`delete from conferencing_settings where tenant_id = ${tx.tenantId}`);
    await tx.db.execute(sql`insert into conferencing_settings (tenant_id) values (${tx.tenantId})`);
    const after = await getConferencingSettings(tx);
    await recordAudit(tx, [{ operation: "conferencing.settings.reset", targetType: "tenant", targetId: tx.tenantId, before, after }]);
    return after;
  });
}
