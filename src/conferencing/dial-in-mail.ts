// The dial-in emails users get, built in one place for the single commands and the bulk move. Pure.
import type { DialInEmail } from "../notify/email.ts";
import type { ConferencingSettings } from "./settings.service.ts";

/** Who a dial-in email comes from. */
export interface MailSender {
  from: string;
  fromName: string;
}

/** The tenant's override address and display name when it sets them, else no-reply@<tenant domain> / "Audio Conferencing". */
export function mailSender(
  settings: Pick<ConferencingSettings, "sendEmailFromOverride" | "sendEmailFromAddress" | "sendEmailFromDisplayName">,
  tenantDomain: string,
): MailSender {
  return {
    from: settings.sendEmailFromOverride && settings.sendEmailFromAddress ? settings.sendEmailFromAddress : `no-reply@${tenantDomain}`,
    fromName:
      settings.sendEmailFromOverride && settings.sendEmailFromDisplayName ? settings.sendEmailFromDisplayName : "Audio Conferencing",
  };
}

export interface MailRecipient {
  userPrincipalName: string;
  displayName: string;
}

/** The numbers an email gives: the user's conference ID and the bridge numbers to dial. */
export interface DialInDetails {
  conferenceId: string;
  serviceNumber: string | null;
  tollFreeServiceNumber: string | null;
}

export function dialInMail(
  sender: MailSender,
  to: MailRecipient,
  subject: string,
  lines: string[],
  details: DialInDetails | null,
  pin: string | null,
): DialInEmail {
  return {
    to: to.userPrincipalName,
    toName: to.displayName,
    from: sender.from,
    fromName: sender.fromName,
    subject,
    conferenceId: details?.conferenceId ?? null,
    tollNumber: details?.serviceNumber ?? null,
    tollFreeNumber: details?.tollFreeServiceNumber ?? null,
    pin,
    lines,
  };
}

/** The email of a user whose provider became Microsoft: the new details, the PIN, and what it replaced. */
export function enabledMail(
  sender: MailSender,
  e: MailRecipient & DialInDetails & { pin: string; previousProvider: string | null },
): DialInEmail {
  return dialInMail(
    sender,
    e,
    "Your dial-in conferencing details",
    [
      e.previousProvider
        ? `Your audio conferencing provider has changed from ${e.previousProvider} to Microsoft. Your old conference details no longer work for new meetings.`
        : "You can now host meetings that people join by phone.",
    ],
    e,
    e.pin,
  );
}
