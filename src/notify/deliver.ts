// How a single change hands its email to the outbox: queued in the change's own transaction, delivered
// right after it commits. Whatever the mail server does, the change stands and the message is kept.
import type { Ctx } from "../core/context.ts";
import type { DialInEmail } from "./email.ts";
import { deliverNow, enqueueMail, type MailOutcome, mailWarning } from "./outbox.service.ts";

export type DialInMailKind = "dial-in.enabled" | "dial-in.changed" | "dial-in.pin-reset" | "dial-in.disabled" | "dial-in.restored";

/** Queues a change's email in its transaction; returns the message's id (null when there is none to send). */
export async function queueMail(tx: Ctx, userId: string, kind: DialInMailKind, mail: DialInEmail | null): Promise<string | null> {
  if (!mail) return null;
  const [id] = await enqueueMail(tx, [{ userId, kind, mail }]);
  return id ?? null;
}

export interface Delivered {
  /** The message and how its delivery went, or null when the change sends none. */
  mail: MailOutcome | null;
  /** What the administrator must be told about that delivery, or null. */
  warning: string | null;
}

/** Delivers a committed change's email (waiting a few seconds at most); never throws, never undoes the change. */
export async function deliverAfterCommit(ctx: Ctx, mailId: string | null): Promise<Delivered> {
  if (!mailId) return { mail: null, warning: null };
  try {
    const [outcome] = await deliverNow(ctx, [mailId]);
    return { mail: outcome ?? null, warning: mailWarning(outcome) };
  } catch (err) {
    // The message is queued (committed with the change): the server's worker delivers it later.
    return {
      mail: null,
      warning: `The change was made; its email is queued but could not be sent now (${err instanceof Error ? err.message : String(err)}): \`callplane mail list\` shows it.`,
    };
  }
}
