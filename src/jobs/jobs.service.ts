import { createHash } from "node:crypto";
import { sql } from "drizzle-orm";
import { recordAudit } from "../audit/audit.service.ts";
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
  /** Items whose change was made but who must be told something that failed after it (an email). */
  notices: number;
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
  /** What failed after the change committed (the email could not be written), or null. */
  notice: string | null;
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

/** Work that must wait for a batch's commit (writing emails), and whom its failure concerns. */
export interface AfterCommit {
  run: () => Promise<void>;
  /** The items (and their users) told if it fails. */
  items: { seq: number; userId: string }[];
  /** What failed, as the user is told: "The dial-in email could not be written". */
  failure: string;
}

export interface BatchResult {
  outcomes: ItemOutcome[];
  afterCommit?: AfterCommit;
}

/** A kind of bulk job: how to process a batch of its items inside one transaction. */
export interface JobHandler {
  kind: string;
  /** The permission starting (and so resuming) such a job needs. */
  permission: string;
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
  notices: string | number;
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
    notices: Number(r.notices),
    actor: r.actor,
    error: r.error,
    createdAt: new Date(r.created_at).toISOString(),
    startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at),
  };
}

const jobSelect = sql`
  select j.*, c.changed, c.failed, c.unchanged, c.notices from jobs j
  cross join lateral (
    select count(*) filter (where i.changed) as changed,
           count(*) filter (where i.failed) as failed,
           count(*) filter (where i.outcome is not null and not i.changed and not i.failed) as unchanged,
           count(*) filter (where i.notice is not null) as notices
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

interface ResultRow {
  seq: number;
  identity: string;
  user_id: string | null;
  outcome: string | null;
  message: string | null;
  failed: boolean;
  changed: boolean;
  processed_at: string | Date | null;
  notice: string | null;
}

function toResult(r: ResultRow): JobResult {
  return {
    seq: r.seq,
    identity: r.identity,
    userId: r.user_id,
    outcome: r.outcome ?? "pending",
    message: r.message ?? "Not processed yet: resume the job to finish it.",
    failed: r.failed,
    changed: r.changed,
    processedAt: r.processed_at === null ? null : new Date(r.processed_at).toISOString(),
    notice: r.notice,
  };
}

/** The most results one page holds; every row is reachable by paging (`afterSeq`). */
export const RESULTS_PAGE_MAX = 200_000;

async function resultPage(
  ctx: Ctx,
  jobId: string,
  q: { afterSeq?: number; offset?: number; limit: number; outcome?: string; failedOnly?: boolean },
): Promise<JobResult[]> {
  const result = await rows<ResultRow>(
    ctx.db,
    sql`select seq, identity, user_id, outcome, message, failed, changed, processed_at, notice from job_items
        where job_id = ${jobId} and seq > ${q.afterSeq ?? 0}
          ${q.outcome ? sql`and outcome = ${q.outcome}` : sql``}
          ${q.failedOnly ? sql`and failed` : sql``}
        order by seq limit ${q.limit} offset ${Math.max(q.offset ?? 0, 0)}`,
  );
  return result.map(toResult);
}

/** A page of a job's per-user results, in seq order: `afterSeq` (the last seq seen) pages without cost. */
export async function listJobResults(
  ctx: Ctx,
  jobId: string,
  q: { afterSeq?: number; offset?: number; limit?: number; outcome?: string; failedOnly?: boolean },
): Promise<JobResult[]> {
  await getJob(ctx, jobId);
  return resultPage(ctx, jobId, { ...q, limit: Math.min(Math.max(q.limit ?? 1000, 1), RESULTS_PAGE_MAX) });
}

/** Every result of a job, page by page in seq order, never all in one query. */
export async function* allJobResults(ctx: Ctx, jobId: string): AsyncGenerator<JobResult[]> {
  await getJob(ctx, jobId);
  let afterSeq = 0;
  for (;;) {
    const page = await resultPage(ctx, jobId, { afterSeq, limit: 10_000 });
    if (page.length === 0) return;
    yield page;
    afterSeq = page[page.length - 1]?.seq ?? afterSeq;
  }
}

function csvCell(v: string): string {
  // Cells starting with a formula character are quoted with a leading ' so spreadsheets do not run them.
  const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** The job's per-user results as CSV (every row), for callers that want it whole. */
export async function exportJobResultsCsv(ctx: Ctx, jobId: string): Promise<string> {
  let csv = "";
  for await (const chunk of streamJobResultsCsv(ctx, jobId)) csv += chunk;
  return csv;
}

/** The job's per-user results as CSV, streamed page by page: an error column (empty for users that did not fail) and a notice column. */
export async function* streamJobResultsCsv(ctx: Ctx, jobId: string): AsyncGenerator<string> {
  const pages = allJobResults(ctx, jobId);
  // The first page is read before the header is sent, so an unknown job is an error, not an empty file.
  const first = await pages.next();
  yield "seq,identity,user_id,outcome,changed,message,error,processed_at,notice\r\n";
  const lines = (results: JobResult[]) =>
    results
      .map(
        (r) =>
          `${[
            String(r.seq),
            r.identity,
            r.userId ?? "",
            r.outcome,
            String(r.changed),
            r.failed ? "" : r.message,
            r.failed ? r.message : "",
            r.processedAt ?? "",
            r.notice ?? "",
          ]
            .map(csvCell)
            .join(",")}\r\n`,
      )
      .join("");
  if (first.done) return;
  yield lines(first.value);
  for await (const page of pages) yield lines(page);
}

export function fingerprint(kind: string, dryRun: boolean, params: unknown): string {
  return createHash("sha256").update(JSON.stringify({ kind, dryRun, params })).digest("hex");
}

/** Longest identity a job item keeps (Active Directory's UPN limit is 1,024 characters); longer ones cannot match a user. */
const MAX_IDENTITY = 1024;

/** The few identities a job's params show as a sample, each cut short: params stay small however big the input. */
export function identitySample(identities: string[]): string[] {
  return identities.slice(0, 20).map((i) => (i.length > 256 ? `${i.slice(0, 255)}…` : i));
}

export interface JobInput {
  kind: string;
  dryRun: boolean;
  params: Record<string, unknown>;
  /** What makes two runs "the same command"; defaults to `params`. */
  fingerprintOf?: unknown;
  items: { identity: string; userId?: string | null; detail?: Record<string, unknown> }[] | ((jobId: string) => ReturnType<typeof sql>);
}

/** Creates a job and its items. `items` is either a list or SQL that inserts them (set-based planning). */
export async function createJob(ctx: Ctx, input: JobInput): Promise<JobView> {
  return (await planJob(ctx, input)).job;
}

/**
 * Creates a job and its items, or finds the unfinished job of the same command: at most one exists
 * (a unique index), so two nodes given the same command at once share one job, and re-running a
 * command after a crash continues it.
 */
export async function planJob(ctx: Ctx, input: JobInput): Promise<{ job: JobView; resumed: boolean }> {
  const paramsJson = JSON.stringify(input.params);
  if (paramsJson.length > 64 * 1024) throw new AppError("internal", `The job's parameters are too large (${paramsJson.length} bytes).`);
  const print = fingerprint(input.kind, input.dryRun, input.fingerprintOf ?? input.params);
  if (!input.dryRun) {
    const found = await findJobByFingerprint(ctx, print);
    if (found) return { job: found, resumed: true };
  }
  return inTransaction(ctx, async (tx) => {
    const [job] = await rows<{ id: string }>(
      tx.db,
      sql`insert into jobs (tenant_id, kind, dry_run, params, fingerprint, actor)
          values (${tx.tenantId}, ${input.kind}, ${input.dryRun}, ${paramsJson}::jsonb, ${print}, ${tx.actor})
          on conflict (tenant_id, fingerprint) where status <> 'completed' and not dry_run do nothing
          returning id`,
    );
    if (!job) {
      // Planned meanwhile by another request or node (the insert waited for it to commit): that job it is.
      const found = await findJobByFingerprint(tx, print);
      if (!found) throw new AppError("internal", "The job was neither created nor found: run the command again.");
      return { job: found, resumed: true };
    }
    if (typeof input.items === "function") {
      await tx.db.execute(input.items(job.id));
    } else {
      const chunk = 10000;
      for (let i = 0; i < input.items.length; i += chunk) {
        const part = input.items.slice(i, i + chunk).map((it, j) => ({
          seq: i + j + 1,
          identity: it.identity.length > MAX_IDENTITY ? `${it.identity.slice(0, MAX_IDENTITY)}…` : it.identity,
          user_id: it.userId ?? null,
          detail: it.detail ?? null,
        }));
        await tx.db.execute(sql`insert into job_items (job_id, seq, identity, user_id, detail)
          select ${job.id}::uuid, x.seq, x.identity, x.user_id, x.detail
          from jsonb_to_recordset(${JSON.stringify(part)}::jsonb) as x(seq int, identity text, user_id uuid, detail jsonb)`);
      }
    }
    await tx.db.execute(sql`update jobs set total = (select count(*) from job_items where job_id = ${job.id}) where id = ${job.id}`);
    return { job: await getJob(tx, job.id), resumed: false };
  });
}

async function findJobByFingerprint(ctx: Ctx, print: string): Promise<JobView | undefined> {
  const [r] = await rows<{ id: string }>(
    ctx.db,
    sql`select id from jobs where tenant_id = ${ctx.tenantId} and fingerprint = ${print} and status <> 'completed' and not dry_run
        order by created_at desc limit 1`,
  );
  return r ? getJob(ctx, r.id) : undefined;
}

/**
 * The unfinished job of the same kind and parameters: re-running the command continues it, also
 * when a crash came after its last batch (it is then completed without redoing anything).
 */
export async function findResumableJob(ctx: Ctx, kind: string, dryRun: boolean, params: unknown): Promise<JobView | undefined> {
  if (dryRun) return undefined;
  return findJobByFingerprint(ctx, fingerprint(kind, dryRun, params));
}

/** Jobs this process is running now. */
const running = new Map<string, Promise<JobView>>();
/** Jobs asked to stop after their current batch (Ctrl-C, shutdown). */
const stopping = new Set<string>();

/** True while this process runs the job. */
export function isJobRunningHere(jobId: string): boolean {
  return running.has(jobId);
}

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

/**
 * How long a runner's claim on a job lasts unless renewed (renewed every third of it while the job
 * runs, and by every batch). A node that dies leaves its job to any other node after this time.
 */
export function leaseSeconds(): number {
  const fromEnv = Number(process.env.CALLPLANE_JOB_LEASE_SECONDS);
  return Number.isFinite(fromEnv) && fromEnv >= 1 && fromEnv <= 3600 ? fromEnv : 30;
}

/** A claim on a job: the fencing token every batch must still hold when it commits. */
interface Lease {
  jobId: string;
  token: number;
}

/** The runner lost its claim (it stalled past its lease and another node took the job over). */
class LeaseLost extends Error {}

/**
 * Claims a job for this process: it must be unfinished and not held by a live runner of another
 * process. Raises the fencing token, so a stalled former owner can no longer commit a batch.
 * Throws `job_claimed` (409), naming when the other runner's lease ends, when it cannot.
 */
async function claimJob(ctx: Ctx, jobId: string): Promise<Lease | "completed"> {
  const lease = leaseSeconds();
  const [claimed] = await rows<{ lease_token: string | number }>(
    ctx.db,
    sql`update jobs set status = 'running', runner_id = ${ctx.env.runnerId}, lease_token = lease_token + 1,
          lease_expires_at = now() + make_interval(secs => ${lease}), heartbeat_at = now(), error = null,
          started_at = coalesce(started_at, now())
        where id = ${jobId} and tenant_id = ${ctx.tenantId} and status <> 'completed'
          -- A batch in progress holds the job's row: its runner is alive, so the claim fails at once rather than waiting.
          and id in (select j.id from jobs j where j.id = ${jobId} for update skip locked)
          and (status <> 'running' or runner_id = ${ctx.env.runnerId} or ${ctx.env.exclusiveStore}
               or coalesce(lease_expires_at, heartbeat_at + make_interval(secs => ${lease}), now()) < now())
        returning lease_token`,
  );
  if (claimed) return { jobId, token: Number(claimed.lease_token) };
  const [held] = await rows<{ status: string; expires: Date | string | null; seconds: string | number | null }>(
    ctx.db,
    sql`select status, coalesce(lease_expires_at, heartbeat_at + make_interval(secs => ${lease})) as expires,
               ceil(extract(epoch from coalesce(lease_expires_at, heartbeat_at + make_interval(secs => ${lease})) - now())) as seconds
        from jobs where id = ${jobId} and tenant_id = ${ctx.tenantId}`,
  );
  if (!held) throw new AppError("not_found", `No job has the id ${jobId}: list jobs with \`callplane jobs list\`.`);
  if (held.status === "completed") return "completed";
  const until = held.expires ? new Date(held.expires).toISOString() : "soon";
  const seconds = Math.max(Number(held.seconds ?? 0), 1);
  throw new AppError(
    "job_claimed",
    `Job ${jobId} is being run by another Callplane process, whose lease on it ends at ${until} (in ${seconds} s). ` +
      `Follow it with \`callplane jobs show ${jobId}\`; if that process is gone, any Callplane server takes the job over then, or run this again after that time.`,
    [{ path: "leaseExpiresAt", message: until }],
  );
}

/** Extends the lease if this runner still holds it; false when another runner has taken the job. */
async function renewLease(ctx: Ctx, lease: Lease): Promise<boolean> {
  const renewed = await rows<{ id: string }>(
    ctx.db,
    sql`update jobs set lease_expires_at = now() + make_interval(secs => ${leaseSeconds()}), heartbeat_at = now()
        where id = ${lease.jobId} and lease_token = ${lease.token} and status = 'running' returning id`,
  );
  return renewed.length > 0;
}

/**
 * Runs a job's pending items, a batch per transaction; each batch commits its users' changes
 * and their results together, so an interrupted job resumes exactly where it stopped.
 * Throws `job_claimed` when another live process runs it.
 */
export async function runJob(ctx: Ctx, jobId: string, onProgress?: ProgressListener): Promise<JobView> {
  const already = running.get(jobId);
  if (already) return already;
  const start = await startJob(ctx, jobId, onProgress);
  return start.run;
}

type Claim = { job: JobView; handler: JobHandler; lease: Lease } | { done: JobView };

/**
 * Claims a job and starts running it; resolves once the claim is made (or refused), with the run's
 * promise. The claim is in the caller's hands, so a refusal is an answer, never a silent 202. The run
 * is registered before anything is awaited, so a stop request or a second caller in this process finds it.
 */
function startJob(ctx: Ctx, jobId: string, onProgress?: ProgressListener): Promise<{ job: JobView; run: Promise<JobView> }> {
  const already = running.get(jobId);
  if (already) return getJob(ctx, jobId).then((job) => ({ job, run: already }));
  const claim = (async (): Promise<Claim> => {
    const job = await getJob(ctx, jobId);
    const handler = handlers.get(job.kind);
    if (!handler) throw new AppError("job_not_resumable", `Jobs of kind ${job.kind} cannot be run by this version of Callplane.`);
    if (job.status === "completed") return { done: job };
    const lease = await claimJob(ctx, jobId);
    if (lease === "completed") return { done: await getJob(ctx, jobId) };
    return { job: await getJob(ctx, jobId), handler, lease };
  })();
  const run = claim
    .then((c) => ("done" in c ? c.done : runClaimed(ctx, c.job, c.handler, c.lease, onProgress)))
    .finally(() => {
      running.delete(jobId);
      // A stop request is for this run only; left behind (the run failed or finished first) it would stop the next.
      stopping.delete(jobId);
    });
  running.set(jobId, run);
  return claim.then(
    (c) => ({ job: "done" in c ? c.done : c.job, run }),
    async (err) => {
      await run.catch(() => undefined);
      throw err;
    },
  );
}

async function runClaimed(ctx: Ctx, job: JobView, handler: JobHandler, lease: Lease, onProgress?: ProgressListener): Promise<JobView> {
  const jobId = job.id;
  let processBatch: (tx: Ctx, items: PendingItem[]) => Promise<BatchResult>;
  let processed = job.processed;
  let retries = 0;
  // Items are taken in seq order; the cursor keeps each batch's read from rescanning finished items.
  let afterSeq = 0;
  const effects: Promise<void>[] = [];
  // While a batch runs, the lease is renewed in the background; a runner that finds it lost stops.
  let lost = false;
  const renewer = ctx.env.exclusiveStore
    ? undefined
    : setInterval(
        () => {
          renewLease(ctx, lease).then(
            (ok) => {
              if (!ok) lost = true;
            },
            () => undefined,
          );
        },
        Math.max(250, (leaseSeconds() * 1000) / 3),
      );
  renewer?.unref();
  const fenced = sql`id = ${jobId} and lease_token = ${lease.token}`;
  try {
    // Inside the try: a job that cannot even start (its bridge was renamed) is marked failed, with the reason.
    processBatch = await handler.prepare(ctx, job);
    for (;;) {
      if (lost) throw new LeaseLost();
      const pending = await rows<{ seq: number; identity: string; user_id: string | null; detail: Record<string, unknown> | null }>(
        ctx.db,
        sql`select seq, identity, user_id, detail from job_items where job_id = ${jobId} and seq > ${afterSeq} and outcome is null
            order by seq limit ${handler.batchSize}`,
      );
      if (pending.length === 0) break;
      if (stopping.has(jobId)) {
        stopping.delete(jobId);
        await Promise.allSettled(effects.splice(0));
        await ctx.db.execute(sql`update jobs set status = 'pending', runner_id = null, lease_expires_at = null,
            error = 'Interrupted: run the same command again, or resume the job, to finish it.' where ${fenced}`);
        return getJob(ctx, jobId);
      }
      const items = pending.map((p) => ({ seq: p.seq, identity: p.identity, userId: p.user_id, detail: p.detail }));
      const last = pending.length < handler.batchSize;
      let result: BatchResult;
      try {
        result = await inTransaction(ctx, async (tx) => {
          // The fencing check: the job row stays locked until this batch commits, so a node taking the
          // job over waits for it, and a runner whose lease was taken commits nothing.
          const held = await rows<{ id: string }>(
            tx.db,
            sql`update jobs set lease_expires_at = now() + make_interval(secs => ${leaseSeconds()}), heartbeat_at = now()
                where ${fenced} and status = 'running' returning id`,
          );
          if (held.length === 0) throw new LeaseLost();
          const r = await processBatch(tx, items);
          await saveOutcomes(tx, jobId, r.outcomes);
          // The last batch completes the job in its own transaction: a crash after it leaves nothing running.
          await tx.db.execute(sql`update jobs set processed = processed + ${r.outcomes.length}
              ${
                last
                  ? sql`, status = case when exists (select 1 from job_items where job_id = ${jobId} and outcome is null) then status else 'completed' end,
                  finished_at = case when exists (select 1 from job_items where job_id = ${jobId} and outcome is null) then null else now() end`
                  : sql``
              }
              where id = ${jobId}`);
          return r;
        });
      } catch (err) {
        if (err instanceof LeaseLost) throw err;
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
      // Post-commit work (writing emails) overlaps the next batches; at most four are in flight. Its failure
      // is told on each of its users, never decides the batch's fate, and never escapes as a rejection.
      if (result.afterCommit) effects.push(runAfterCommit(ctx, jobId, result.afterCommit));
      // The store's replies chain microtasks only, so the event loop would not read the email worker's
      // "written" messages until the job ends: yield once a batch, or the bound below waits on them.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (effects.length > 4) await effects.shift();
      onProgress?.({ processed, total: job.total });
    }
    await Promise.all(effects.splice(0));
    await ctx.db.execute(sql`update jobs set status = 'completed', finished_at = coalesce(finished_at, now()), heartbeat_at = now(),
        lease_expires_at = null where ${fenced}`);
  } catch (err) {
    await Promise.allSettled(effects);
    // Another node owns the job now: leave it to that node, and record nothing over its work.
    if (err instanceof LeaseLost) return getJob(ctx, jobId);
    const e = translateError(err);
    const message = e instanceof Error ? e.message : String(e);
    await ctx.db.execute(sql`update jobs set status = 'failed', error = ${message}, heartbeat_at = now(), lease_expires_at = null
        where ${fenced}`);
    throw e;
  } finally {
    if (renewer) clearInterval(renewer);
  }
  return getJob(ctx, jobId);
}

/**
 * Runs a batch's post-commit work. A failure is recorded on the job (each item's notice) and on each
 * user (an audit event), in a transaction of its own; nothing escapes, so nothing can crash the process.
 */
async function runAfterCommit(ctx: Ctx, jobId: string, work: AfterCommit): Promise<void> {
  try {
    await work.run();
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    const notice = `${work.failure}: ${reason}`;
    try {
      await recordNotices(ctx, jobId, work.items, notice);
    } catch (recordErr) {
      process.stderr.write(
        `callplane: job ${jobId}: ${notice}; recording it failed too: ${recordErr instanceof Error ? recordErr.message : String(recordErr)}\n`,
      );
    }
  }
}

/** Tells each item's user what went wrong after their change committed: on the job item and in the audit log. */
async function recordNotices(ctx: Ctx, jobId: string, items: { seq: number; userId: string }[], notice: string): Promise<void> {
  if (items.length === 0) return;
  const seqs = JSON.stringify(items.map((i) => i.seq));
  await inTransaction(ctx, async (tx) => {
    await tx.db.execute(sql`update job_items set notice = ${notice}
        where job_id = ${jobId} and seq in (select (jsonb_array_elements_text(${seqs}::jsonb))::int)`);
    await recordAudit(
      tx,
      items.map((i) => ({ operation: "notify.failed", targetType: "user", targetId: i.userId, jobId, before: null, after: { notice } })),
    );
  });
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

/**
 * Claims a job and runs it in the background of this process; answers once the claim is made, so a
 * job another live process holds is refused (`job_claimed`) rather than accepted and left idle.
 * Errors of the run end up on the job record.
 */
export async function startJobInBackground(ctx: Ctx, jobId: string): Promise<JobView> {
  const { job, run } = await startJob(ctx, jobId);
  run.catch(() => {
    // Already recorded on the job as status failed, with the error message.
  });
  return job;
}

/**
 * Finds jobs whose runner is gone (status running, lease expired; on the embedded store, any running
 * job this process does not run) and takes each over, as the actor who started it. Every server calls
 * this periodically, so a node killed mid-job never leaves its job waiting for a human.
 */
export async function recoverOrphanedJobs(
  db: Ctx["db"],
  env: Ctx["env"],
  ctxFor: (tenantId: string, actor: string) => Promise<Ctx>,
): Promise<string[]> {
  const orphans = await rows<{ id: string; tenant_id: string; actor: string }>(
    db,
    sql`select id, tenant_id, actor from jobs
        where status = 'running'
          and (${env.exclusiveStore}
               or coalesce(lease_expires_at, heartbeat_at + make_interval(secs => ${leaseSeconds()}), now()) < now())
        order by created_at limit 20`,
  );
  const taken: string[] = [];
  for (const o of orphans) {
    if (running.has(o.id)) continue;
    try {
      await startJobInBackground(await ctxFor(o.tenant_id, o.actor), o.id);
      taken.push(o.id);
    } catch {
      // Another node took it first, or its tenant is gone: nothing for this node to do.
    }
  }
  return taken;
}

/** The `{job, dryRun, summary, results}` answer every bulk command gives. */
export interface BulkReport {
  job: JobView;
  dryRun: boolean;
  summary: JobSummary;
  /** `notice` only where something failed after the user's change (the email could not be written). */
  results: { identity: string; outcome: string; message: string; notice?: string }[];
}

/** The whole report: every user's result (read page by page), however many there are. */
export async function bulkReport(ctx: Ctx, jobId: string): Promise<BulkReport> {
  const job = await getJob(ctx, jobId);
  const results: BulkReport["results"] = [];
  for await (const page of allJobResults(ctx, jobId)) {
    for (const r of page) {
      results.push({ identity: r.identity, outcome: r.outcome, message: r.message, ...(r.notice ? { notice: r.notice } : {}) });
    }
  }
  return { job, dryRun: job.dryRun, summary: job.summary, results };
}

/** Resumes a job that was interrupted or failed part way. */
export async function resumeJob(ctx: Ctx, jobId: string, opts: { wait: boolean }): Promise<JobView> {
  const job = await getJob(ctx, jobId);
  if (job.status === "completed") {
    throw new AppError("job_not_resumable", `Job ${jobId} is already complete: nothing is left to do.`);
  }
  const handler = handlers.get(job.kind);
  // Resuming does what starting did: it needs the permission that starting the job needs.
  if (handler && ctx.permissions && !ctx.permissions.has(handler.permission)) {
    throw new AppError(
      "forbidden",
      `Resuming job ${jobId} (${job.kind}) needs the permission ${handler.permission}, which starting it needs: ask someone who may start such jobs.`,
    );
  }
  if (opts.wait) return runJob(ctx, jobId);
  return startJobInBackground(ctx, jobId);
}
