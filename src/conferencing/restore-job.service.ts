import { sql } from "drizzle-orm";
import type { Ctx } from "../core/context.ts";
import { AppError } from "../core/errors.ts";
import {
  type BatchResult,
  type BulkReport,
  bulkReport,
  findResumableJob,
  getJob,
  type ItemOutcome,
  type JobView,
  type PendingItem,
  planJob,
  registerJobHandler,
  runJob,
  startJobInBackground,
} from "../jobs/jobs.service.ts";
import { sendSoon } from "../notify/outbox.service.ts";
import { rows } from "../store/db.ts";
import { dialInMailSender } from "./dial-in.service.ts";
import { applyRestores, loadRestoreStates, type RestoreWrite } from "./dial-in.writer.ts";
import { decideRestore } from "./dial-in-decision.ts";

export const RESTORE_JOB = "restore";

/**
 * Undoes a bulk job: every user it changed goes back to the provider and dial-in settings archived
 * when the job changed them. Runs as a job of its own, in batches, and is itself undoable.
 */
export async function restoreJob(
  ctx: Ctx,
  sourceJobId: string,
  opts: { wait: boolean; dryRun?: boolean },
): Promise<{ job: JobView; report: BulkReport | null }> {
  const source = await getJob(ctx, sourceJobId);
  const params = { sourceJob: sourceJobId, sourceKind: source.kind };
  // An unfinished restore of this job (interrupted, or killed after its last batch) is continued, not begun again.
  const unfinished = await findResumableJob(ctx, RESTORE_JOB, opts.dryRun === true, params);
  if (unfinished) return runRestore(ctx, unfinished.id, opts.wait);
  if (source.dryRun)
    throw new AppError("nothing_to_restore", `Job ${sourceJobId} was a dry run: it changed nothing, so there is nothing to restore.`);
  const [pending] = await rows<{ n: string | number }>(
    ctx.db,
    sql`select count(*) as n from archives where job_id = ${sourceJobId} and restored_at is null`,
  );
  if (Number(pending?.n ?? 0) === 0) {
    throw new AppError(
      "nothing_to_restore",
      `Job ${sourceJobId} has nothing left to restore: it changed no user, or they were restored already.`,
    );
  }
  const { job } = await planJob(ctx, {
    kind: RESTORE_JOB,
    dryRun: opts.dryRun === true,
    params,
    items: (jobId) => sql`
      insert into job_items (job_id, seq, identity, user_id, detail)
      select ${jobId}::uuid, row_number() over (order by a.id), u.user_principal_name, a.user_id, jsonb_build_object('archiveId', a.id)
      from archives a join users u on u.id = a.user_id
      where a.job_id = ${sourceJobId} and a.restored_at is null`,
  });
  return runRestore(ctx, job.id, opts.wait);
}

async function runRestore(ctx: Ctx, jobId: string, wait: boolean): Promise<{ job: JobView; report: BulkReport | null }> {
  if (!wait) return { job: await startJobInBackground(ctx, jobId), report: null };
  await runJob(ctx, jobId);
  return { job: await getJob(ctx, jobId), report: await bulkReport(ctx, jobId) };
}

registerJobHandler({
  kind: RESTORE_JOB,
  permission: "conferencing.bulk",
  batchSize: 2000,
  async prepare(ctx, job) {
    const rules = { job: true, dryRun: job.dryRun };
    // Each restored user is told their previous details are back, when the tenant sends emails.
    const sender = await dialInMailSender(ctx);
    return async (tx: Ctx, items: PendingItem[]): Promise<BatchResult> => {
      // Under the users' locks, as every conferencing writer takes them: a single change racing the batch is seen, never lost.
      const states = await loadRestoreStates(
        tx,
        items.map((i) => ({ userId: i.userId, archiveId: Number(i.detail?.archiveId ?? 0), name: i.identity })),
      );
      const outcomes: ItemOutcome[] = [];
      const writes: RestoreWrite[] = [];
      items.forEach((item, i) => {
        const state = states[i];
        if (!state) return;
        const d = decideRestore(state, rules);
        outcomes.push({ seq: item.seq, outcome: d.outcome, failed: d.kind === "fail", changed: d.kind === "restore", message: d.message });
        if (d.kind !== "restore" || !state.user) return;
        writes.push({
          userId: state.user.userId,
          archiveId: d.archive.id,
          data: d.archive.data,
          now: { provider: state.user.provider, dialIn: state.user.dialIn, acpEntries: state.user.acpEntries },
          recipient: state.user,
        });
      });
      if (job.dryRun || writes.length === 0) return { outcomes };
      const mailIds = await applyRestores(tx, writes, { jobId: job.id, archiveOperation: RESTORE_JOB, audit: "archived", mail: sender });
      if (mailIds.length === 0) return { outcomes };
      return {
        outcomes,
        afterCommit: {
          run: async () => sendSoon(ctx, mailIds),
          items: [],
          failure: "Restored; the email is queued in the outbox but its delivery could not be started (`callplane mail list` shows it)",
        },
      };
    };
  },
});
