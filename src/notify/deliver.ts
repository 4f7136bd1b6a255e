import { recordAudit } from "../audit/audit.service.ts";
import { type Ctx, inTransaction } from "../core/context.ts";
import { type DialInEmail, writeOutbox } from "./email.ts";

export interface Delivered {
  /** Where the email was written, when it was. */
  emailFile: string | null;
  /** What the administrator must be told because the email could not be written, or null. */
  warning: string | null;
}

/**
 * Writes a committed change's email. Its failure never undoes or hides the change: the caller gets
 * the change with a warning, and the failure is recorded on the user in the audit log.
 */
export async function deliverAfterCommit(ctx: Ctx, mail: DialInEmail | null, userId: string, pinLost: boolean): Promise<Delivered> {
  if (!mail) return { emailFile: null, warning: null };
  try {
    const [file] = await writeOutbox(ctx.env.outboxDir, [mail]);
    return { emailFile: file ?? null, warning: null };
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    const warning = `The change was made, but the email to ${mail.to} could not be written (${reason}).${
      pinLost ? " Its new PIN is not known to anyone: reset the PIN to send a new one." : " Tell the user their new details yourself."
    }`;
    try {
      await inTransaction(ctx, (tx) =>
        recordAudit(tx, [{ operation: "notify.failed", targetType: "user", targetId: userId, before: null, after: { notice: warning } }]),
      );
    } catch (auditErr) {
      process.stderr.write(
        `callplane: ${warning} Recording this in the audit log failed too: ${auditErr instanceof Error ? auditErr.message : String(auditErr)}\n`,
      );
    }
    return { emailFile: null, warning };
  }
}
