import { randomBytes, randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import { recordAudit } from "../audit/audit.service.ts";
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

const regionNames = new Intl.DisplayNames(["en"], { type: "region" });

/** "Redmond, United States" for each service number the tenant has with a city or country: one query. */
async function numberPlaces(tx: Ctx, numbers: (string | null)[]): Promise<Map<string, string>> {
  const wanted = [...new Set(numbers.filter((n): n is string => n !== null))];
  if (wanted.length === 0) return new Map();
  const found = await rows<{ number: string; city: string | null; country: string | null }>(
    tx.db,
    sql`select number, city, country from service_numbers
        where tenant_id = ${tx.tenantId} and number in (select jsonb_array_elements_text(${JSON.stringify(wanted)}::jsonb))`,
  );
  const country = (c: string) => {
    try {
      return regionNames.of(c) ?? c;
    } catch {
      return c;
    }
  };
  return new Map(
    found
      .map((f) => [f.number, [f.city, f.country ? country(f.country) : null].filter(Boolean).join(", ")] as const)
      .filter(([, place]) => place !== ""),
  );
}

/**
 * Queues messages in the caller's transaction (one statement), so a rolled-back change has no message
 * and a committed one always has its own. A message that cannot be sent at all (no valid address) is
 * kept as failed, with the reason, rather than blocking the change.
 */
export async function enqueueMail(tx: Ctx, items: Outgoing[]): Promise<string[]> {
  if (items.length === 0) return [];
  const key = outboxKey(tx.env.pinKey);
  const places = await numberPlaces(
    tx,
    items.flatMap((it) => [it.mail.tollNumber, it.mail.tollFreeNumber]),
  );
  // Fresh random IVs for the whole batch in one draw: one per message, never reused.
  const ivs = randomBytes(12 * items.length);
  const payload = items.map((it0, n) => {
    const it = {
      ...it0,
      mail: {
        ...it0.mail,
        tollPlace: it0.mail.tollNumber ? (places.get(it0.mail.tollNumber) ?? null) : null,
        tollFreePlace: it0.mail.tollFreeNumber ? (places.get(it0.mail.tollFreeNumber) ?? null) : null,
      },
    };
    const id = randomUUID();
    const problem = !isMailAddress(it.mail.to)
      ? `${it.mail.to ? `"${it.mail.to.replace(/[\r\n]+/g, " ").slice(0, 200)}" is not a mail address` : "The user has no mail address"}: this message cannot be delivered, so give the user their details another way (the change itself is made).`
      : !isMailAddress(it.mail.from)
        ? `The From address "${it.mail.from.slice(0, 200)}" is not a mail address: fix the tenant's conferencing settings (send email from), then \`callplane mail retry ${id}\`.`
        : null;
    return {
      id,
      user_id: it.userId,
      job_id: it.jobId ?? null,
      kind: it.kind,
      to_address: it.mail.to.slice(0, 320),
      subject: it.mail.subject.slice(0, 500),
      payload: seal(key, it.mail, ivs.subarray(12 * n, 12 * n + 12)),
      has_pin: it.mail.pin !== null,
      status: problem ? "failed" : "queued",
      last_error: problem,
    };
  });
  // One statement for the lot, and as little per row as can be: the Message-ID is the row's id, due now
  // and the history are the columns' defaults (the history's first entry is the row's creation).
  await tx.db.execute(sql`
    insert into mail_messages (id, tenant_id, user_id, job_id, kind, to_address, subject, payload, has_pin, status, last_error, history)
    select x.id, ${tx.tenantId}::uuid, x.user_id, x.job_id, x.kind, x.to_address, x.subject, x.payload, x.has_pin, x.status, x.last_error,
           case when x.status = 'failed' then jsonb_build_array(jsonb_build_object('at', now(), 'status', 'failed', 'detail', x.last_error))
                else '[]'::jsonb end
    from json_to_recordset(${JSON.stringify(payload)}::json)
      as x(id uuid, user_id uuid, job_id uuid, kind text, to_address text, subject text, payload text,
           has_pin boolean, status text, last_error text)`);
  return payload.map((p) => p.id);
}

/** How long a claim on a message lasts at least (CALLPLANE_MAIL_CLAIM_SECONDS, default 120 s). */
function claimBaseSeconds(): number {
  const n = Number(process.env.CALLPLANE_MAIL_CLAIM_SECONDS);
  return Number.isFinite(n) && n >= 1 ? n : 120;
}

/**
 * Puts messages a sender left `sending` back in the queue: those whose claim ran out (`expired`: the
 * sender is gone or too slow; several servers may share PostgreSQL), or, on the embedded store where
 * only this process can be sending, every claim another runner holds (`others`: a process killed
 * mid-send). Such a message may have reached the server: sent again, it carries the same Message-ID.
 */
async function releaseClaims(ctx: { db: Ctx["db"]; env: AppEnv }, which: "expired" | "others"): Promise<void> {
  if (which === "others" && !ctx.env.exclusiveStore) return;
  await ctx.db.execute(sql`
    update mail_messages set status = 'deferred', next_attempt_at = now(), claimed_by = null, claimed_until = null,
      history = history || jsonb_build_array(jsonb_build_object('at', now(), 'status', 'deferred',
        'detail', 'the process sending it stopped before it knew the outcome; sent again with the same Message-ID'))
    where status = 'sending' and ${which === "expired" ? sql`claimed_until < now()` : sql`claimed_by is distinct from ${ctx.env.runnerId}`}`);
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
      : sql`status in ('queued', 'deferred') and next_attempt_at <= now()`;
  if (!claimable) return [];
  const limit = "ids" in which ? which.ids.length : (which.limit ?? 500);
  // A claim lasts as long as its round can take at the transport's pace: never so short that another
  // process takes a message over while this one is still sending it.
  const claimSeconds = claimBaseSeconds() + (transport.pace ? Math.ceil((2 * limit) / transport.pace) : 0);
  const claimed = await rows<Claimed>(
    ctx.db,
    sql`update mail_messages m set status = 'sending', claimed_by = ${ctx.env.runnerId},
          claimed_until = now() + make_interval(secs => ${claimSeconds}), attempts = m.attempts + 1
        where m.id in (select id from mail_messages where ${claimable} order by next_attempt_at limit ${limit} for update skip locked)
        returning m.id, m.user_id, m.to_address, m.payload, m.has_pin, m.attempts, m.created_at`,
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
        outcome = await transport.send(renderMail(mail, `${c.id}@callplane`, new Date(c.created_at)));
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

/**
 * What this process queued and is delivering now, per runtime (AppEnv), so that a process closing (a CLI
 * command) first delivers what its own changes queued. One delivery round at a time, in chunks, so a claim
 * never outlives what its round can send.
 */
interface Courier {
  pending: string[];
  loop: Promise<void> | undefined;
  inflight: Set<Promise<unknown>>;
  ctx: { db: Ctx["db"]; env: AppEnv };
}
const couriers = new WeakMap<AppEnv, Courier>();
const COURIER_CHUNK = 200;

function courierOf(ctx: { db: Ctx["db"]; env: AppEnv }): Courier {
  let c = couriers.get(ctx.env);
  if (!c) {
    c = { pending: [], loop: undefined, inflight: new Set(), ctx: { db: ctx.db, env: ctx.env } };
    couriers.set(ctx.env, c);
  }
  return c;
}

function report(err: unknown): void {
  process.stderr.write(`callplane: mail delivery failed: ${err instanceof Error ? err.message : String(err)}\n`);
}

/**
 * Right after a change committed: delivers the messages it queued, in the background, and returns at
 * once. Never throws; a message it cannot deliver keeps its fate in the outbox (deferred: the worker of
 * `callplane serve` tries again; failed: `callplane mail retry`).
 */
export function sendSoon(ctx: { db: Ctx["db"]; env: AppEnv }, ids: readonly string[]): void {
  if (ids.length === 0 || !ctx.env.mail) return;
  const c = courierOf(ctx);
  c.pending.push(...ids);
  if (c.loop) return;
  c.loop = (async () => {
    while (c.pending.length > 0) {
      const chunk = c.pending.splice(0, COURIER_CHUNK);
      await deliverMail(c.ctx, { ids: chunk }).catch(report);
    }
  })().finally(() => {
    c.loop = undefined;
  });
}

/** One message's fate as a single change answers it. */
export interface MailOutcome {
  id: string;
  to: string;
  /** `sending` when delivery had not finished by the time the change answered (it goes on). */
  status: MailStatus;
  error: string | null;
}

/**
 * Delivers the messages a single change just queued, waiting at most `waitMs` (the change is made and
 * must answer; the mail server must not hold it). What is not done by then goes on in the background.
 */
export async function deliverNow(ctx: Ctx, ids: readonly string[], waitMs = 5000): Promise<MailOutcome[]> {
  if (ids.length === 0) return [];
  const known = await rows<{ id: string; to_address: string; status: MailStatus; last_error: string | null }>(
    ctx.db,
    sql`select id, to_address, status, last_error from mail_messages
        where id in (select (jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb))::uuid)`,
  );
  const outcome = new Map<string, MailOutcome>(
    known.map((k) => [k.id, { id: k.id, to: k.to_address, status: k.status, error: k.last_error }]),
  );
  const c = courierOf(ctx);
  const delivery = deliverMail(c.ctx, { ids: [...ids] });
  c.inflight.add(delivery);
  void delivery.catch(report).finally(() => c.inflight.delete(delivery));
  let timer: NodeJS.Timeout | undefined;
  const done = await Promise.race([
    delivery.catch(() => [] as Delivered[]),
    new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), waitMs);
    }),
  ]);
  clearTimeout(timer);
  for (const id of ids) {
    const o = outcome.get(id);
    if (!o || o.status === "failed") continue;
    const d = done?.find((x) => x.id === id);
    outcome.set(id, d ? { ...o, status: d.status, error: d.error } : { ...o, status: done === null ? "sending" : o.status });
  }
  return ids.flatMap((id) => outcome.get(id) ?? []);
}

/**
 * What the administrator must hear about a change's email, or null when it was delivered: the change
 * is made whatever this says, and the message is never lost.
 */
export function mailWarning(o: MailOutcome | undefined): string | null {
  if (!o || o.status === "sent") return null;
  const show = `\`callplane mail show ${o.id}\``;
  if (o.status === "failed")
    return `The change was made, but the email to ${o.to} cannot be delivered: ${o.error}. It is kept in the outbox (${show}); once the cause is fixed, \`callplane mail retry ${o.id}\` sends it.`;
  if (o.status === "sending") return `The change was made; the email to ${o.to} is still being delivered (${show} tells how it went).`;
  return `The change was made, but the email to ${o.to} was not delivered yet (${o.error ?? "queued"}): it is kept in the outbox and retried by the server (${show}).`;
}

/**
 * Waits (at most `timeoutMs`) until the messages this process queued have had their delivery attempt:
 * a process closes only after that, so a CLI command's emails leave with it.
 */
export async function mailIdle(env: AppEnv, timeoutMs = 120_000): Promise<void> {
  const c = couriers.get(env);
  if (!c) return;
  const until = Date.now() + timeoutMs;
  while ((c.loop || c.inflight.size > 0) && Date.now() < until) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([c.loop, ...c.inflight]),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, Math.max(0, until - Date.now()));
      }),
    ]);
    clearTimeout(timer);
  }
}

/**
 * The outbox's worker in `callplane serve`: every `intervalMs` it delivers what is due — retries after
 * a 4xx or a connection error, messages whose sender was killed mid-send (their claim ran out), and
 * what another process queued but could not send — in rounds until nothing is due. Claims keep two
 * servers on one PostgreSQL from sending one message twice.
 */
export function startMailWorker(ctx: { db: Ctx["db"]; env: AppEnv }, intervalMs = 1000): { stop(): Promise<void> } {
  let busy: Promise<unknown> | undefined;
  let stopped = false;
  let released = false;
  const tick = () => {
    if (busy || stopped) return;
    busy = (async () => {
      // Claims a killed process left: at once on the embedded store (only this process can be sending),
      // once they run out on PostgreSQL (another server may be sending them now).
      await releaseClaims(ctx, released ? "expired" : "others");
      released = true;
      // Two rounds at a time: one's SQL overlaps the other's sending; claims keep them apart.
      const rounds = async () => {
        for (let round = 0; round < 1000 && !stopped; round++) {
          const done = await deliverMail(ctx, { due: true, limit: COURIER_CHUNK });
          if (done.length < COURIER_CHUNK) break;
        }
      };
      await Promise.all([rounds(), rounds()]);
    })()
      .catch(report)
      .finally(() => {
        busy = undefined;
      });
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  tick();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await busy;
    },
  };
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
    messageId: `<${r.id}@callplane>`,
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
    sql`select id, kind, user_id, job_id, to_address, subject, status, attempts, last_error, created_at, next_attempt_at, sent_at
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
    // The first entry is the row's creation (not stored, to keep queuing a bulk job's messages cheap).
    history: [{ at: new Date(r.created_at).toISOString(), status: "queued", detail: "queued" }, ...r.history],
  };
}

/**
 * Sends failed or deferred messages again now: one by id, or every failed one. A message sent already
 * is not sent twice.
 */
export async function retryMail(
  ctx: Ctx,
  which: { id: string } | { failed: true },
): Promise<{ retried: number; delivered: MailOutcome[] }> {
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
  const ids = reset.map((r) => r.id);
  await recordAudit(ctx, [
    {
      operation: "mail.retry",
      targetType: "mail",
      targetId: "id" in which ? which.id : "failed",
      before: null,
      after: { retried: ids.length },
    },
  ]);
  if ("id" in which) return { retried: ids.length, delivered: await deliverNow(ctx, ids) };
  // Every failed message: delivered in the background, in rounds; `mail list` shows how it goes.
  sendSoon(ctx, ids);
  return { retried: ids.length, delivered: [] };
}
