import { sql } from "drizzle-orm";
import { type AuditInput, recordAudit } from "../audit/audit.service.ts";
import type { Ctx } from "../core/context.ts";
import { AppError } from "../core/errors.ts";
import { hasAudioConferencingLicence, lockUsers } from "../directory/users.service.ts";
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
import { rows } from "../store/db.ts";
import { type ArchiveData, auditDialIn, type DialInSnapshot, insertAcpEntries } from "./dial-in.service.ts";
import type { AcpEntry } from "./providers.service.ts";

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

interface CurrentRow {
  user_id: string;
  user_principal_name: string;
  licensed: boolean;
  dial_in: DialInSnapshot | null;
  acp: AcpEntry[];
}

registerJobHandler({
  kind: RESTORE_JOB,
  permission: "conferencing.bulk",
  batchSize: 2000,
  async prepare(_ctx, job) {
    return async (tx: Ctx, items: PendingItem[]): Promise<BatchResult> => {
      const archiveIds = items.map((i) => Number(i.detail?.archiveId ?? 0));
      const archives = await rows<{ id: string | number; user_id: string; data: ArchiveData; restored_at: Date | null }>(
        tx.db,
        sql`select id, user_id, data, restored_at from archives
            where tenant_id = ${tx.tenantId} and id in (select (jsonb_array_elements_text(${JSON.stringify(archiveIds)}::jsonb))::bigint)`,
      );
      const archiveById = new Map(archives.map((a) => [Number(a.id), a]));
      // Under the users' locks, as every conferencing writer takes them: a single change racing the batch is seen, never lost.
      await lockUsers(
        tx,
        items.flatMap((i) => (i.userId ? [i.userId] : [])),
      );
      const userIds = JSON.stringify(items.map((i) => i.userId));
      const current = await rows<CurrentRow>(
        tx.db,
        sql`select u.id as user_id, u.user_principal_name, ${hasAudioConferencingLicence} as licensed,
              (select jsonb_build_object('bridgeId', d.bridge_id, 'conferenceId', d.conference_id, 'pinHash', d.pin_hash,
                  'serviceNumber', d.service_number, 'tollFreeServiceNumber', d.toll_free_service_number,
                  'allowPstnOnlyMeetings', d.allow_pstn_only_meetings, 'allowTollFreeDialIn', d.allow_toll_free_dial_in)
               from dial_in_users d where d.user_id = u.id) as dial_in,
              coalesce((select jsonb_agg(jsonb_build_object('name', e.name, 'domain', e.domain, 'tollNumber', e.toll_number,
                  'tollFreeNumbers', to_jsonb(e.toll_free_numbers), 'participantPasscode', e.participant_passcode,
                  'url', e.url, 'isDefault', e.is_default) order by e.is_default desc, e.created_at)
                from user_acp_entries e where e.user_id = u.id), '[]'::jsonb) as acp
            from users u where u.id in (select (jsonb_array_elements_text(${userIds}::jsonb))::uuid)`,
      );
      const currentOf = new Map(current.map((c) => [c.user_id, c]));
      // Conference IDs the archives want back, held now by someone else, cannot be restored.
      const wanted = archives
        .map((a) => a.data.dialIn)
        .filter((d): d is DialInSnapshot => d !== null)
        .map((d) => ({ bridge_id: d.bridgeId, conference_id: d.conferenceId }));
      const clashes = wanted.length
        ? await rows<{ bridge_id: string; conference_id: string; user_id: string }>(
            tx.db,
            sql`select d.bridge_id, d.conference_id, d.user_id from dial_in_users d
                join jsonb_to_recordset(${JSON.stringify(wanted)}::jsonb) as w(bridge_id uuid, conference_id text)
                  on d.bridge_id = w.bridge_id and d.conference_id = w.conference_id`,
          )
        : [];
      const heldBy = new Map(clashes.map((c) => [`${c.bridge_id}/${c.conference_id}`, c.user_id]));
      const outcomes: ItemOutcome[] = [];
      const apply: { userId: string; archiveId: number; data: ArchiveData; now: CurrentRow }[] = [];
      for (const item of items) {
        const arch = archiveById.get(Number(item.detail?.archiveId ?? 0));
        const now = item.userId ? currentOf.get(item.userId) : undefined;
        if (!arch || !now || !item.userId) {
          outcomes.push({
            seq: item.seq,
            outcome: "not-found",
            failed: true,
            changed: false,
            message: `${item.identity} or its archive no longer exists.`,
          });
          continue;
        }
        if (arch.restored_at) {
          outcomes.push({
            seq: item.seq,
            outcome: "already-restored",
            failed: false,
            changed: false,
            message: `${item.identity} was restored already.`,
          });
          continue;
        }
        const d = arch.data.dialIn;
        const holder = d ? heldBy.get(`${d.bridgeId}/${d.conferenceId}`) : undefined;
        if (d && holder && holder !== item.userId) {
          outcomes.push({
            seq: item.seq,
            outcome: "conference-id-taken",
            failed: true,
            changed: false,
            message: `Cannot restore ${item.identity}: conference ID ${d.conferenceId} is now held by another user.`,
          });
          continue;
        }
        if (d && !now.licensed) {
          // As when enabling: Microsoft dial-in is never brought back without the licence.
          outcomes.push({
            seq: item.seq,
            outcome: "no-licence",
            failed: true,
            changed: false,
            message: `Cannot restore ${item.identity} to Microsoft: it does not have a valid Audio Conferencing licence. Assign one with \`callplane licences assign ${item.identity} --sku MCOMEETADV\`, then restore the job again.`,
          });
          continue;
        }
        const back = arch.data.provider ?? "no provider";
        outcomes.push({
          seq: item.seq,
          outcome: "restored",
          failed: false,
          changed: true,
          message: job.dryRun ? `Would restore ${item.identity} to ${back}.` : `Restored ${item.identity} to ${back}.`,
        });
        apply.push({ userId: item.userId, archiveId: Number(arch.id), data: arch.data, now });
      }
      if (job.dryRun || apply.length === 0) return { outcomes };
      const ids = JSON.stringify(apply.map((a) => a.userId));
      const nowArchives = apply.map((a) => ({
        user_id: a.userId,
        data: {
          provider: a.now.dial_in ? "Microsoft" : (a.now.acp[0]?.name ?? null),
          acpEntries: a.now.acp,
          dialIn: a.now.dial_in,
        } satisfies ArchiveData,
      }));
      await tx.db.execute(sql`insert into archives (tenant_id, user_id, job_id, operation, data)
        select ${tx.tenantId}::uuid, x.user_id, ${job.id}::uuid, ${RESTORE_JOB}, x.data
        from jsonb_to_recordset(${JSON.stringify(nowArchives)}::jsonb) as x(user_id uuid, data jsonb)`);
      await tx.db.execute(sql`delete from dial_in_users where user_id in (select (jsonb_array_elements_text(${ids}::jsonb))::uuid)`);
      await tx.db.execute(sql`delete from user_acp_entries where user_id in (select (jsonb_array_elements_text(${ids}::jsonb))::uuid)`);
      await insertAcpEntries(
        tx,
        apply.map((a) => ({ userId: a.userId, entries: a.data.acpEntries })),
      );
      const dialIns = apply.filter((a) => a.data.dialIn).map((a) => ({ user_id: a.userId, ...a.data.dialIn }));
      if (dialIns.length) {
        await tx.db.execute(sql`insert into dial_in_users (user_id, tenant_id, bridge_id, conference_id, pin_hash, service_number,
            toll_free_service_number, allow_pstn_only_meetings, allow_toll_free_dial_in)
          select x.user_id, ${tx.tenantId}::uuid, x."bridgeId", x."conferenceId", x."pinHash", x."serviceNumber",
                 x."tollFreeServiceNumber", x."allowPstnOnlyMeetings", x."allowTollFreeDialIn"
          from jsonb_to_recordset(${JSON.stringify(dialIns)}::jsonb) as x(user_id uuid, "bridgeId" uuid, "conferenceId" text,
            "pinHash" text, "serviceNumber" text, "tollFreeServiceNumber" text, "allowPstnOnlyMeetings" boolean, "allowTollFreeDialIn" boolean)`);
      }
      await tx.db.execute(sql`update archives set restored_at = now()
        where id in (select (jsonb_array_elements_text(${JSON.stringify(apply.map((a) => a.archiveId))}::jsonb))::bigint)`);
      const audits: AuditInput[] = apply.map((a) => ({
        operation: "conferencing.restore",
        targetType: "user",
        targetId: a.userId,
        jobId: job.id,
        before: { dialIn: auditDialIn(a.now.dial_in), acpEntries: a.now.acp },
        after: { provider: a.data.provider, dialIn: auditDialIn(a.data.dialIn), acpEntries: a.data.acpEntries, archiveId: a.archiveId },
      }));
      await recordAudit(tx, audits);
      return { outcomes };
    };
  },
});
