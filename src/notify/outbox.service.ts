import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import type { AppEnv, Ctx } from "../core/context.ts";
import { AppError } from "../core/errors.ts";
import { rows } from "../store/db.ts";
import type { DialInEmail } from "./email.ts";
import { isMailAddress, renderMail } from "./render.ts";
import { outboxKey, seal, unseal } from "./seal.ts";

/** A message to queue in the caller's transaction. */
export interface Outgoing {
  userId: string | null;
  jobId?: string | null;
  /** `dial-in.enabled`, `dial-in.changed`, `dial-in.pin-reset`, `dial-in.disabled`, `dial-in.restored`. */
  kind: string;
  mail: DialInEmail;
}

export type MailStatus = "queued" | "sending" | "sent" | "deferred" | "failed";

/** The outbox's retry rhythm: the first retry after `baseMs`, doubling up to an hour; given up after `maxAttempts`. */
export function retryPolicy(): { baseMs: number; maxAttempts: number } {
  const base = Number(process.env.CALLPLANE_MAIL_RETRY_MS);
  return { baseMs: Number.isFinite(base) && base >= 10 ? base : 30_000, maxAttempts: 30 };
}

/** How long the process that queued a message has to deliver it before any server's worker may. */
const FIRST_TRY_MS = 10_000;

/**
 * Queues messages in the caller's transaction (one statement), so a rolled-back change has no message
 * and a committed one always has its own. A message that cannot be sent at all (no valid address) is
 * kept as failed, with the reason, rather than blocking the change.
 */
export async function enqueueMail(tx: Ctx, items: Outgoing[]): Promise<string[]> {
  if (items.length === 0) return [];
  const key = outboxKey(tx.env.pinKey);
  const payload = items.map((it) => {
    const id = randomUUID();
    const problem = !isMailAddress(it.mail.to)
      ? `${it.mail.to ? `"${it.mail.to.slice(0, 200)}" is not a mail address` : "The user has no mail address"}: set the user's address, then \`callplane mail retry ${id}\`.`
      : !isMailAddress(it.mail.from)
        ? `The From address "${it.mail.from.slice(0, 200)}" is not a mail address: fix the tenant's conferencing settings (send email from), then \`callplane mail retry ${id}\`.`
        : null;
    return {
      id,
      user_id: it.userId,
      job_id: it.jobId ?? null,
      kind: it.kind,
      message_id: `<${id}@callplane>`,
      to_address: it.mail.to.slice(0, 320),
      subject: it.mail.subject.slice(0, 500),
      payload: seal(key, it.mail),
      has_pin: it.mail.pin !== null,
      status: problem ? "failed" : "queued",
      last_error: problem,
    };
  });
  await tx.db.execute(sql`
    insert into mail_messages (id, tenant_id, user_id, job_id, kind, message_id, to_address, subject, payload, has_pin, status,
                               last_error, next_attempt_at, history)
    select x.id, ${tx.tenantId}::uuid, x.user_id, x.job_id, x.kind, x.message_id, x.to_address, x.subject, x.payload, x.has_pin,
           x.status, x.last_error, now() + make_interval(secs => ${FIRST_TRY_MS / 1000}),
           jsonb_build_array(jsonb_build_object('at', now(), 'status', x.status, 'detail', coalesce(x.last_error, 'queued')))
    from jsonb_to_recordset(${JSON.stringify(payload)}::jsonb)
      as x(id uuid, user_id uuid, job_id uuid, kind text, message_id text, to_address text, subject text, payload text,
           has_pin boolean, status text, last_error text)`);
  return payload.map((p) => p.id);
}

export interface Delivered {
  id: string;
  userId: string | null;
  to: string;
  status: MailStatus;
  error: string | null;
}

interface Claimed {
  id: string;
  user_id: string | null;
  to_address: string;
  message_id: string;
  payload: string;
  has_pin: boolean;
  attempts: number;
  created_at: Date | string;
}

/**
 * Delivers queued messages: the ones named (right after the change that queued them committed), or
 * every message that is due (the worker). Each is claimed first (`FOR UPDATE SKIP LOCKED`), so two
 * processes never send one message; a process killed mid-send leaves a claim that expires, and the
 * message is sent again with the same Message-ID. Never throws for a message: its fate is recorded.
 */
export async function deliverMail(
  ctx: { db: Ctx["db"]; env: AppEnv },
  which: { ids: string[] } | { due: true; limit?: number },
): Promise<Delivered[]> {
  const transport = ctx.env.mail;
  if (!transport) return [];
  const claimable =
    "ids" in which
      ? which.ids.length === 0
        ? undefined
        : sql`id in (select (jsonb_array_elements_text(${JSON.stringify(which.ids)}::jsonb))::uuid) and status in ('queued', 'deferred')`
      : sql`((status in ('queued', 'deferred') and next_attempt_at <= now()) or (status = 'sending' and claimed_until < now()))`;
  if (!claimable) return [];
  const limit = "ids" in which ? which.ids.length : (which.limit ?? 500);
  const claimed = await rows<Claimed>(
    ctx.db,
    sql`update mail_messages m set status = 'sending', claimed_by = ${ctx.env.runnerId},
          claimed_until = now() + interval '2 minutes', attempts = m.attempts + 1
        where m.id in (select id from mail_messages where ${claimable} order by created_at limit ${limit} for update skip locked)
        returning m.id, m.user_id, m.to_address, m.message_id, m.payload, m.has_pin, m.attempts, m.created_at`,
  );
  if (claimed.length === 0) return [];
  const key = outboxKey(ctx.env.pinKey);
  const policy = retryPolicy();
  const results: {
    id: string;
    status: MailStatus;
    detail: string;
    retry_ms: number;
    payload: string | null;
    user_id: string | null;
    to: string;
  }[] = [];
  // A few sends at a time: the transport's pool and rate limit pace them.
  const queue = [...claimed];
  const workers = Array.from({ length: Math.min(8, queue.length) }, async () => {
    for (let c = queue.shift(); c; c = queue.shift()) {
      let mail: DialInEmail;
      try {
        mail = unseal<DialInEmail>(key, c.payload);
      } catch {
        results.push({
          id: c.id,
          status: "failed",
          detail: "The stored message cannot be opened with this server's PIN key: it was queued with another key.",
          retry_ms: 0,
          payload: null,
          user_id: c.user_id,
          to: c.to_address,
        });
        continue;
      }
      let outcome: Awaited<ReturnType<typeof transport.send>>;
      try {
        outcome = await transport.send(renderMail(mail, c.message_id.replace(/^<|>$/g, ""), new Date(c.created_at)));
      } catch (err) {
        outcome = { ok: false, permanent: true, error: err instanceof Error ? err.message : String(err) };
      }
      if (outcome.ok) {
        // Accepted: the stored copy keeps everything but the PIN.
        results.push({
          id: c.id,
          status: "sent",
          detail: outcome.response,
          retry_ms: 0,
          payload: c.has_pin ? seal(key, { ...mail, pin: null }) : null,
          user_id: c.user_id,
          to: c.to_address,
        });
      } else if (outcome.permanent || c.attempts >= policy.maxAttempts) {
        const detail = outcome.permanent ? outcome.error : `Gave up after ${c.attempts} attempts: ${outcome.error}`;
        results.push({ id: c.id, status: "failed", detail, retry_ms: 0, payload: null, user_id: c.user_id, to: c.to_address });
      } else {
        const retry = Math.min(policy.baseMs * 2 ** (c.attempts - 1), 3_600_000);
        results.push({
          id: c.id,
          status: "deferred",
          detail: outcome.error,
          retry_ms: retry,
          payload: null,
          user_id: c.user_id,
          to: c.to_address,
        });
      }
    }
  });
  await Promise.all(workers);
  await ctx.db.execute(sql`
    update mail_messages m set status = x.status,
      last_error = case when x.status = 'sent' then null else x.detail end,
      sent_at = case when x.status = 'sent' then now() else m.sent_at end,
      next_attempt_at = now() + make_interval(secs => x.retry_ms / 1000.0),
      payload = coalesce(x.payload, m.payload), has_pin = case when x.payload is not null then false else m.has_pin end,
      claimed_by = null, claimed_until = null,
      history = m.history || jsonb_build_array(jsonb_build_object('at', now(), 'status', x.status, 'detail', x.detail, 'attempt', m.attempts))
    from jsonb_to_recordset(${JSON.stringify(results.map(({ user_id: _u, to: _t, ...r }) => r))}::jsonb)
      as x(id uuid, status text, detail text, retry_ms double precision, payload text)
    where m.id = x.id and m.claimed_by = ${ctx.env.runnerId}`);
  return results.map((r) => ({ id: r.id, userId: r.user_id, to: r.to, status: r.status, error: r.status === "sent" ? null : r.detail }));
}

export interface MailView {
  id: string;
  messageId: string;
  kind: string;
  userId: string | null;
  jobId: string | null;
  to: string;
  subject: string;
  status: MailStatus;
  attempts: number;
  lastError: string | null;
  createdAt: string;
  nextAttemptAt: string | null;
  sentAt: string | null;
}

export interface MailDetail extends MailView {
  from: string;
  fromName: string;
  toName: string;
  /** The message's text with the PIN masked: never shown to anyone but its recipient. */
  lines: string[];
  conferenceId: string | null;
  tollNumber: string | null;
  tollFreeNumber: string | null;
  hasPin: boolean;
  history: { at: string; status: string; detail: string; attempt?: number }[];
}

interface MailRow {
  id: string;
  message_id: string;
  kind: string;
  user_id: string | null;
  job_id: string | null;
  to_address: string;
  subject: string;
  status: MailStatus;
  attempts: number;
  last_error: string | null;
  created_at: Date | string;
  next_attempt_at: Date | string;
  sent_at: Date | string | null;
}

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

function toView(r: MailRow): MailView {
  return {
    id: r.id,
    messageId: r.message_id,
    kind: r.kind,
    userId: r.user_id,
    jobId: r.job_id,
    to: r.to_address,
    subject: r.subject,
    status: r.status,
    attempts: r.attempts,
    lastError: r.last_error,
    createdAt: new Date(r.created_at).toISOString(),
    nextAttemptAt: r.status === "queued" || r.status === "deferred" ? iso(r.next_attempt_at) : null,
    sentAt: iso(r.sent_at),
  };
}

const STATUSES = ["queued", "sending", "sent", "deferred", "failed"] as const;

/** The tenant's messages, newest first: by status, user or job. */
export async function listMail(
  ctx: Ctx,
  q: { status?: string; userId?: string; jobId?: string; limit?: number; offset?: number },
): Promise<MailView[]> {
  if (q.status && !(STATUSES as readonly string[]).includes(q.status)) {
    throw new AppError("invalid_input", `"${q.status}" is not a message status: use one of ${STATUSES.join(", ")}.`);
  }
  const limit = Math.min(Math.max(q.limit ?? 100, 1), 1000);
  const result = await rows<MailRow>(
    ctx.db,
    sql`select id, message_id, kind, user_id, job_id, to_address, subject, status, attempts, last_error, created_at, next_attempt_at, sent_at
        from mail_messages where tenant_id = ${ctx.tenantId}
          ${q.status ? sql`and status = ${q.status}` : sql``}
          ${q.userId ? sql`and user_id = ${q.userId}` : sql``}
          ${q.jobId ? sql`and job_id = ${q.jobId}` : sql``}
        order by created_at desc, id limit ${limit} offset ${Math.max(q.offset ?? 0, 0)}`,
  );
  return result.map(toView);
}

/** Counts by status, for the dashboard's queue. */
export async function mailQueue(ctx: Ctx): Promise<Record<MailStatus, number>> {
  const result = await rows<{ status: MailStatus; n: string | number }>(
    ctx.db,
    sql`select status, count(*) as n from mail_messages where tenant_id = ${ctx.tenantId} group by status`,
  );
  const counts = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<MailStatus, number>;
  for (const r of result) counts[r.status] = Number(r.n);
  return counts;
}

/** One message: its headers, content without the PIN, and every attempt. */
export async function getMail(ctx: Ctx, id: string): Promise<MailDetail> {
  if (!/^[0-9a-f-]{36}$/i.test(id))
    throw new AppError("not_found", `"${id}" is not a message id: list messages with \`callplane mail list\`.`);
  const [r] = await rows<MailRow & { payload: string; has_pin: boolean; history: MailDetail["history"] }>(
    ctx.db,
    sql`select * from mail_messages where tenant_id = ${ctx.tenantId} and id = ${id}`,
  );
  if (!r) throw new AppError("not_found", `No message has the id ${id}: list messages with \`callplane mail list\`.`);
  const mail = unseal<DialInEmail>(outboxKey(ctx.env.pinKey), r.payload);
  return {
    ...toView(r),
    from: mail.from,
    fromName: mail.fromName,
    toName: mail.toName,
    lines: mail.lines,
    conferenceId: mail.conferenceId,
    tollNumber: mail.tollNumber,
    tollFreeNumber: mail.tollFreeNumber,
    hasPin: r.has_pin,
    history: r.history,
  };
}

/**
 * Sends failed or deferred messages again now: one by id, or every failed one. A message sent already
 * is not sent twice.
 */
export async function retryMail(ctx: Ctx, which: { id: string } | { failed: true }): Promise<{ retried: number; delivered: Delivered[] }> {
  if ("id" in which) {
    const m = await getMail(ctx, which.id);
    if (m.status === "sent")
      throw new AppError("invalid_input", `Message ${which.id} was delivered already (${m.sentAt}): it is not sent twice.`);
    if (m.status === "sending") throw new AppError("job_claimed", `Message ${which.id} is being sent now: look again in a moment.`);
  }
  const reset = await rows<{ id: string }>(
    ctx.db,
    sql`update mail_messages set status = 'queued', next_attempt_at = now(), attempts = 0,
          history = history || jsonb_build_array(jsonb_build_object('at', now(), 'status', 'queued', 'detail', ${`retried by ${ctx.actor}`}::text))
        where tenant_id = ${ctx.tenantId} and status in ('failed', 'deferred')
          ${"id" in which ? sql`and id = ${which.id}` : sql`and status = 'failed'`}
        returning id`,
  );
  const delivered = await deliverMail(ctx, { ids: reset.map((r) => r.id) });
  return { retried: reset.length, delivered };
}
