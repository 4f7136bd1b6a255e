import { createHash } from "node:crypto";
import { sql } from "drizzle-orm";
import { type Ctx, inTransaction } from "../core/context.ts";
import { AppError, translateError } from "../core/errors.ts";
import { rows } from "../store/db.ts";

export type JobStatus = "pending" | "running" | "completed" | "failed";

export interface JobSummary {
  changed: number;
  unchanged: number;
  failed: number;
}

export interface JobView {
  id: string;
  kind: string;
  status: JobStatus;
  dryRun: boolean;
  params: Record<string, unknown>;
  total: number;
  processed: number;
  summary: JobSummary;
  actor: string;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface JobResult {
  seq: number;
  identity: string;
  userId: string | null;
  outcome: string;
  message: string;
  failed: boolean;
  changed: boolean;
  /** When the item's batch ran (a -Report row's StartTime); null while pending. */
  processedAt: string | null;
}

export interface PendingItem {
  seq: number;
  identity: string;
  userId: string | null;
  detail: Record<string, unknown> | null;
}

export interface ItemOutcome {
  seq: number;
  userId?: string | null;
  outcome: string;
  message: string;
  failed: boolean;
  changed: boolean;
}

export interface BatchResult {
  outcomes: ItemOutcome[];
  /** Work that must wait for the commit, such as writing emails. */
  afterCommit?: () => Promise<void>;
}

/** A kind of bulk job: how to process a batch of its items inside one transaction. */
export interface JobHandler {
  kind: string;
  batchSize: number;
  /** Prepares per-run state (e.g. conference IDs already held) and returns the batch processor. */
  prepare(ctx: Ctx, job: JobView): Promise<(tx: Ctx, items: PendingItem[]) => Promise<BatchResult>>;
}

const handlers = new Map<string, JobHandler>();

export function registerJobHandler(handler: JobHandler): void {
  handlers.set(handler.kind, handler);
}

interface JobRow {
  id: string;
  kind: string;
  status: string;
  dry_run: boolean;
  params: Record<string, unknown>;
  total: number;
  processed: number;
  actor: string;
  error: string | null;
  created_at: Date | string;
  started_at: Date | string | null;
  finished_at: Date | string | null;
  runner_id: string | null;
  changed: string | number;
  failed: string | number;
  unchanged: string | number;
}

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

function toJob(r: JobRow): JobView {
  return {
    id: r.id,
    kind: r.kind,
    status: (["pending", "running", "completed", "failed"].includes(r.status) ? r.status : "failed") as JobStatus,
    dryRun: r.dry_run,
    params: r.params,
    total: r.total,
    processed: r.processed,
    summary: { changed: Number(r.changed), unchanged: Number(r.unchanged), failed: Number(r.failed) },
    actor: r.actor,
    error: r.error,
    createdAt: new Date(r.created_at).toISOString(),
    startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at),
  };
}

const jobSelect = sql`
  select j.*, c.changed, c.failed, c.unchanged from jobs j
  cross join lateral (
    select count(*) filter (where i.changed) as changed,
           count(*) filter (where i.failed) as failed,
           count(*) filter (where i.outcome is not null and not i.changed and not i.failed) as unchanged
    from job_items i where i.job_id = j.id) c`;

export async function getJob(ctx: Ctx, id: string): Promise<JobView> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) throw new AppError("not_found", `"${id}" is not a job id: list jobs with \`callplane jobs list\`.`);
  const [r] = await rows<JobRow>(ctx.db, sql`${jobSelect} where j.tenant_id = ${ctx.tenantId} and j.id = ${id}`);
  if (!r) throw new AppError("not_found", `No job has the id ${id}: list jobs with \`callplane jobs list\`.`);
  return toJob(r);
}

export async function listJobs(ctx: Ctx, q: { limit?: number; kind?: string }): Promise<JobView[]> {
  const limit = Math.min(Math.max(q.limit ?? 20, 1), 200);
  const result = await rows<JobRow>(
    ctx.db,
    sql`${jobSelect} where j.tenant_id = ${ctx.tenantId} ${q.kind ? sql`and j.kind = ${q.kind}` : sql``}
        order by j.created_at desc limit ${limit}`,
  );
  return result.map(toJob);
}

export async function listJobResults(
  ctx: Ctx,
  jobId: string,
  q: { offset?: number; limit?: number; outcome?: string; failedOnly?: boolean },
): Promise<JobResult[]> {
  await getJob(ctx, jobId);
  const limit = Math.min(Math.max(q.limit ?? 1000, 1), 200000);
  const result = await rows<{
    seq: number;
    identity: string;
    user_id: string | null;
    outcome: string | null;
    message: string | null;
    failed: boolean;
    changed: boolean;
    processed_at: string | Date | null;
  }>(
    ctx.db,
    sql`select seq, identity, user_id, outcome, message, failed, changed, processed_at from job_items
        where job_id = ${jobId}
          ${q.outcome ? sql`and outcome = ${q.outcome}` : sql``}
          ${q.failedOnly ? sql`and failed` : sql``}
        order by seq limit ${limit} offset ${Math.max(q.offset ?? 0, 0)}`,
  );
  return result.map((r) => ({
    seq: r.seq,
    identity: r.identity,
    userId: r.user_id,
    outcome: r.outcome ?? "pending",
    message: r.message ?? "Not processed yet: resume the job to finish it.",
    failed: r.failed,
    changed: r.changed,
    processedAt: r.processed_at === null ? null : new Date(r.processed_at).toISOString(),
  }));
}

function csvCell(v: string): string {
  // Cells starting with a formula character are quoted with a leading ' so spreadsheets do not run them.
  const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** The job's per-user results as CSV, with an error column that is empty for users that did not fail. */
export async function exportJobResultsCsv(ctx: Ctx, jobId: string): Promise<string> {
  const results = await listJobResults(ctx, jobId, { limit: 200000 });
  const lines = ["seq,identity,user_id,outcome,changed,message,error,processed_at"];
  for (const r of results) {
    lines.push(
      [
        String(r.seq),
        r.identity,
        r.userId ?? "",
        r.outcome,
        String(r.changed),
        r.failed ? "" : r.message,
        r.failed ? r.message : "",
        r.processedAt ?? "",
      ]
        .map(csvCell)
        .join(","),
    );
  }
  return `${lines.join("\r\n")}\r\n`;
}

export function fingerprint(kind: string, dryRun: boolean, params: unknown): string {
  return createHash("sha256").update(JSON.stringify({ kind, dryRun, params })).digest("hex");
}

/** Creates a job and its items. `items` is either a list or SQL that inserts them (set-based planning). */
export async function createJob(
  ctx: Ctx,
  input: {
    kind: string;
    dryRun: boolean;
    params: Record<string, unknown>;
    /** What makes two runs "the same command"; defaults to `params`. */
    fingerprintOf?: unknown;
    items: { identity: string; userId?: string | null; detail?: Record<string, unknown> }[] | ((jobId: string) => ReturnType<typeof sql>);
  },
): Promise<JobView> {
  return inTransaction(ctx, async (tx) => {
    const [job] = await rows<{ id: string }>(
      tx.db,
      sql`insert into jobs (tenant_id, kind, dry_run, params, fingerprint, actor)
          values (${tx.tenantId}, ${input.kind}, ${input.dryRun}, ${JSON.stringify(input.params)}::jsonb,
                  ${fingerprint(input.kind, input.dryRun, input.fingerprintOf ?? input.params)}, ${tx.actor}) returning id`,
    );
    if (!job) throw new AppError("internal", "The job was not created.");
    if (typeof input.items === "function") {
      await tx.db.execute(input.items(job.id));
    } else {
      const chunk = 10000;
      for (let i = 0; i < input.items.length; i += chunk) {
        const part = input.items.slice(i, i + chunk).map((it, j) => ({
          seq: i + j + 1,
          identity: it.identity,
          user_id: it.userId ?? null,
          detail: it.detail ?? null,
        }));
        await tx.db.execute(sql`insert into job_items (job_id, seq, identity, user_id, detail)
          select ${job.id}::uuid, x.seq, x.identity, x.user_id, x.detail
          from jsonb_to_recordset(${JSON.stringify(part)}::jsonb) as x(seq int, identity text, user_id uuid, detail jsonb)`);
      }
    }
    await tx.db.execute(sql`update jobs set total = (select count(*) from job_items where job_id = ${job.id}) where id = ${job.id}`);
    return getJob(tx, job.id);
  });
}

/** An unfinished job of the same kind and parameters, whose runner is gone: re-running the command resumes it. */
export async function findResumableJob(ctx: Ctx, kind: string, dryRun: boolean, params: unknown): Promise<JobView | undefined> {
  if (dryRun) return undefined;
  const [r] = await rows<{ id: string }>(
    ctx.db,
    sql`select id from jobs where tenant_id = ${ctx.tenantId} and fingerprint = ${fingerprint(kind, dryRun, params)}
          and status <> 'completed' and processed < total
        order by created_at desc limit 1`,
  );
  if (!r || running.has(r.id)) return undefined;
  return getJob(ctx, r.id);
}

/** Jobs this process is running now. */
const running = new Map<string, Promise<JobView>>();
/** Jobs asked to stop after their current batch (Ctrl-C, shutdown). */
const stopping = new Set<string>();

/**
 * Asks every job this process runs to stop after the batch in hand, and waits for them. They stay
 * resumable: re-running the same command, or `jobs resume`, finishes them.
 */
export async function stopRunningJobs(): Promise<string[]> {
  const ids = [...running.keys()];
  for (const id of ids) stopping.add(id);
  await Promise.allSettled([...running.values()]);
  return ids;
}

export type ProgressListener = (job: { processed: number; total: number }) => void;

const STALE_SECONDS = 60;

/**
 * Runs a job's pending items, a batch per transaction; each batch commits its users' changes
 * and their results together, so an interrupted job resumes exactly where it stopped.
 */
export async function runJob(ctx: Ctx, jobId: string, onProgress?: ProgressListener): Promise<JobView> {
  const already = running.get(jobId);
  if (already) return already;
  const run = runJobOnce(ctx, jobId, onProgress).finally(() => {
    running.delete(jobId);
    // A stop request is for this run only; left behind (the run failed or finished first) it would stop the next.
    stopping.delete(jobId);
  });
  running.set(jobId, run);
  return run;
}

async function runJobOnce(ctx: Ctx, jobId: string, onProgress?: ProgressListener): Promise<JobView> {
  const job = await getJob(ctx, jobId);
  const handler = handlers.get(job.kind);
  if (!handler) throw new AppError("job_not_resumable", `Jobs of kind ${job.kind} cannot be run by this version of Callplane.`);
  if (job.status === "completed") return job;
  const claimed = await rows<{ id: string }>(
    ctx.db,
    sql`update jobs set status = 'running', runner_id = ${ctx.env.runnerId}, heartbeat_at = now(), error = null,
          started_at = coalesce(started_at, now())
        where id = ${jobId} and (runner_id is null or runner_id = ${ctx.env.runnerId} or status <> 'running'
          or ${ctx.env.exclusiveStore} or heartbeat_at < now() - make_interval(secs => ${STALE_SECONDS}))
        returning id`,
  );
  if (claimed.length === 0) {
    throw new AppError(
      "job_not_resumable",
      `Job ${jobId} is being run by another Callplane process: wait for it, or follow it with \`callplane jobs show ${jobId}\`.`,
    );
  }
  let processBatch: (tx: Ctx, items: PendingItem[]) => Promise<BatchResult>;
  let processed = job.processed;
  let retries = 0;
  // Items are taken in seq order; the cursor keeps each batch's read from rescanning finished items.
  let afterSeq = 0;
  const effects: Promise<void>[] = [];
  try {
    // Inside the try: a job that cannot even start (its bridge was renamed) is marked failed, with the reason.
    processBatch = await handler.prepare(ctx, job);
    for (;;) {
      const pending = await rows<{ seq: number; identity: string; user_id: string | null; detail: Record<string, unknown> | null }>(
        ctx.db,
        sql`select seq, identity, user_id, detail from job_items where job_id = ${jobId} and seq > ${afterSeq} and outcome is null
            order by seq limit ${handler.batchSize}`,
      );
      if (pending.length === 0) break;
      if (stopping.has(jobId)) {
        stopping.delete(jobId);
        await Promise.allSettled(effects.splice(0));
        await ctx.db.execute(sql`update jobs set status = 'pending', runner_id = null,
            error = 'Interrupted: run the same command again, or resume the job, to finish it.' where id = ${jobId}`);
        return getJob(ctx, jobId);
      }
      const items = pending.map((p) => ({ seq: p.seq, identity: p.identity, userId: p.user_id, detail: p.detail }));
      let result: BatchResult;
      try {
        result = await inTransaction(ctx, async (tx) => {
          const r = await processBatch(tx, items);
          await saveOutcomes(tx, jobId, r.outcomes);
          await tx.db.execute(sql`update jobs set processed = processed + ${r.outcomes.length}, heartbeat_at = now() where id = ${jobId}`);
          return r;
        });
      } catch (err) {
        const e = translateError(err);
        // Another writer took a conference ID we picked: start the batch again with fresh state.
        if (e instanceof AppError && e.code === "conference_id_taken" && retries < 3) {
          retries++;
          processBatch = await handler.prepare(ctx, job);
          continue;
        }
        throw e;
      }
      retries = 0;
      afterSeq = items[items.length - 1]?.seq ?? afterSeq;
      processed += result.outcomes.length;
      // Post-commit work (writing emails) overlaps the next batches; at most four are in flight.
      if (result.afterCommit) effects.push(result.afterCommit());
      // The store's replies chain microtasks only, so the event loop would not read the email worker's
      // "written" messages until the job ends: yield once a batch, or the bound below waits on them.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (effects.length > 4) await effects.shift();
      onProgress?.({ processed, total: job.total });
    }
    await Promise.all(effects.splice(0));
    await ctx.db.execute(sql`update jobs set status = 'completed', finished_at = now(), heartbeat_at = now() where id = ${jobId}`);
  } catch (err) {
    await Promise.allSettled(effects);
    const e = translateError(err);
    const message = e instanceof Error ? e.message : String(e);
    await ctx.db.execute(sql`update jobs set status = 'failed', error = ${message}, heartbeat_at = now() where id = ${jobId}`);
    throw e;
  }
  return getJob(ctx, jobId);
}

async function saveOutcomes(ctx: Ctx, jobId: string, outcomes: ItemOutcome[]): Promise<void> {
  if (outcomes.length === 0) return;
  const payload = JSON.stringify(
    outcomes.map((o) => ({
      seq: o.seq,
      user_id: o.userId ?? null,
      outcome: o.outcome,
      message: o.message,
      failed: o.failed,
      changed: o.changed,
    })),
  );
  await ctx.db.execute(sql`
    update job_items i set outcome = x.outcome, message = x.message, failed = x.failed, changed = x.changed,
                           user_id = coalesce(x.user_id, i.user_id), processed_at = now()
    from jsonb_to_recordset(${payload}::jsonb) as x(seq int, user_id uuid, outcome text, message text, failed boolean, changed boolean)
    where i.job_id = ${jobId} and i.seq = x.seq`);
}

/** Starts (or continues) a job in the background of this process. Errors end up on the job record. */
export function startJobInBackground(ctx: Ctx, jobId: string): void {
  runJob(ctx, jobId).catch(() => {
    // Already recorded on the job as status failed, with the error message.
  });
}

/** The `{job, dryRun, summary, results}` answer every bulk command gives. */
export interface BulkReport {
  job: JobView;
  dryRun: boolean;
  summary: JobSummary;
  results: { identity: string; outcome: string; message: string }[];
}

export async function bulkReport(ctx: Ctx, jobId: string): Promise<BulkReport> {
  const job = await getJob(ctx, jobId);
  const results = await listJobResults(ctx, jobId, { limit: 200000 });
  return {
    job,
    dryRun: job.dryRun,
    summary: job.summary,
    results: results.map((r) => ({ identity: r.identity, outcome: r.outcome, message: r.message })),
  };
}

/** Resumes a job that was interrupted or failed part way. */
export async function resumeJob(ctx: Ctx, jobId: string, opts: { wait: boolean }): Promise<JobView> {
  const job = await getJob(ctx, jobId);
  if (job.status === "completed") {
    throw new AppError("job_not_resumable", `Job ${jobId} is already complete: nothing is left to do.`);
  }
  if (opts.wait) return runJob(ctx, jobId);
  startJobInBackground(ctx, jobId);
  return getJob(ctx, jobId);
}
