// The dial-in emails users get, built in one place for the single commands and the bulk move. Pure.
import type { DialInEmail } from "../notify/email.ts";
import type { ArchiveData } from "./dial-in-decision.ts";
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

/**
 * The email of a user an undo put back (new: the reference sends none): their previous provider and
 * details are back. Microsoft's come with the conference ID and numbers (the PIN they had works again;
 * it is never sent), a third-party provider's with the numbers and passcode it holds.
 */
export function restoredMail(sender: MailSender, to: MailRecipient, data: ArchiveData): DialInEmail {
  const subject = "Your previous audio conferencing details are back";
  if (data.dialIn) {
    return dialInMail(
      sender,
      to,
      subject,
      [
        "An administrator undid a recent change: your Microsoft dial-in conferencing details are as they were before it.",
        "Your previous leader PIN works again.",
      ],
      data.dialIn,
      null,
    );
  }
  const entry = data.acpEntries.find((e) => e.isDefault) ?? data.acpEntries[0];
  if (!entry) {
    return dialInMail(
      sender,
      to,
      subject,
      [
        "An administrator undid a recent change: you have no audio conferencing provider again, so people cannot join your meetings by phone.",
      ],
      null,
      null,
    );
  }
  return dialInMail(
    sender,
    to,
    subject,
    [
      `An administrator undid a recent change: your audio conferencing provider is ${entry.name} again, with the details you had before.`,
      ...(entry.tollNumber ? [`${entry.name} toll number: ${entry.tollNumber}`] : []),
      ...(entry.tollFreeNumbers.length ? [`${entry.name} toll-free numbers: ${entry.tollFreeNumbers.join(", ")}`] : []),
      ...(entry.participantPasscode ? [`Participant passcode: ${entry.participantPasscode}`] : []),
      ...(entry.url ? [`Meeting link: ${entry.url}`] : []),
    ],
    null,
    null,
  );
}
