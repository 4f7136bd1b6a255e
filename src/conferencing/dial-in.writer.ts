// Reads and writes of Microsoft dial-in for many users at once, shared by the single-user commands and the
// bulk jobs: a single user is a batch of one. Each loader locks its users (in id order, as every writer of a
// user's conferencing state does) before reading, so a change racing this one is either read or waits.
import { sql } from "drizzle-orm";
import { recordAudit } from "../audit/audit.service.ts";
import type { Ctx } from "../core/context.ts";
import { AUDIO_CONFERENCING_PLANS_SQL, hasAudioConferencingLicence, lockUsers } from "../directory/users.service.ts";
import { enqueueMail } from "../notify/outbox.service.ts";
import { rows } from "../store/db.ts";
import {
  type ArchiveData,
  type ArchiveFound,
  auditSnapshot,
  type DialInSnapshot,
  type EnableState,
  MICROSOFT_DOMAIN,
  type RestoreState,
} from "./dial-in-decision.ts";
import { enabledMail, type MailRecipient, type MailSender, restoredMail } from "./dial-in-mail.ts";
import type { AcpEntry } from "./providers.service.ts";

/** SQL: user_acp_entries row `e` as an AcpEntry. */
const acpEntryJson = sql`jsonb_build_object('name', e.name, 'domain', e.domain, 'tollNumber', e.toll_number,
  'tollFreeNumbers', to_jsonb(e.toll_free_numbers), 'participantPasscode', e.participant_passcode, 'url', e.url, 'isDefault', e.is_default)`;

/** SQL: the order entries are listed, archived and audited in (as listUserAcpEntries lists them). */
const acpEntryOrder = sql`e.is_default desc, e.created_at, e.name`;

/** SQL: the provider a user with entries shows (as the user views name it): the default entry, else the oldest. */
const acpProviderOf = (userId: ReturnType<typeof sql>) =>
  sql`(select e.name from user_acp_entries e where e.user_id = ${userId} order by e.is_default desc, e.created_at limit 1)`;

/** An entry read back as JSON, its fields in the order the API has always listed them. */
function acpEntry(e: AcpEntry): AcpEntry {
  return {
    name: e.name,
    domain: e.domain,
    tollNumber: e.tollNumber,
    tollFreeNumbers: e.tollFreeNumbers,
    participantPasscode: e.participantPasscode,
    url: e.url,
    isDefault: e.isDefault,
  };
}

const uuidList = (ids: readonly string[]) => sql`(select (jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb))::uuid)`;

interface EnableStateRow {
  id: string;
  user_principal_name: string;
  display_name: string;
  licensed: boolean;
  on_microsoft: boolean;
  provider: string | null;
}

/** Locks the users and reads what enabling decides from, in one query; users that no longer exist are absent. */
export async function loadEnableStates(tx: Ctx, userIds: readonly string[]): Promise<Map<string, EnableState>> {
  const ids = [...new Set(userIds)];
  if (ids.length === 0) return new Map();
  await lockUsers(tx, ids);
  // The tenant's Audio Conferencing SKUs are looked up once per statement (an init plan): per user, the licence
  // check is then one index probe.
  const found = await rows<EnableStateRow>(
    tx.db,
    sql`select u.id, u.user_principal_name, u.display_name,
          exists (select 1 from licence_assignments la where la.user_id = u.id
                  and la.sku_id = any(array(select s.id from skus s
                                            where s.tenant_id = ${tx.tenantId} and s.service_plans && ${AUDIO_CONFERENCING_PLANS_SQL}))) as licensed,
          exists (select 1 from dial_in_users d where d.user_id = u.id) as on_microsoft,
          ${acpProviderOf(sql`u.id`)} as provider
        from users u
        where u.tenant_id = ${tx.tenantId} and u.id in ${uuidList(ids)}`,
  );
  return new Map(
    found.map((r) => [
      r.id,
      {
        userId: r.id,
        userPrincipalName: r.user_principal_name,
        displayName: r.display_name,
        licensed: r.licensed,
        onMicrosoft: r.on_microsoft,
        provider: r.provider,
      },
    ]),
  );
}

/** One user's Microsoft dial-in as it is turned on: what it replaces, the numbers, and the new PIN. */
export interface EnableWrite {
  userId: string;
  userPrincipalName: string;
  displayName: string;
  /** The third-party provider replaced (its entries are archived and removed), or null. */
  previousProvider: string | null;
  bridgeId: string;
  conferenceId: string;
  serviceNumber: string | null;
  tollFreeServiceNumber: string | null;
  allowPstnOnlyMeetings: boolean;
  allowTollFreeDialIn: boolean;
  /** Shown and emailed once; only its hash is stored. */
  pin: string;
  pinHash: string;
}

/** A user whose dial-in was turned on: everything the answer and the email need. */
export interface Enabled extends Omit<EnableWrite, "pinHash"> {
  /** The third-party entries archived and removed. */
  replacedEntries: AcpEntry[];
  /** The user's email (new details and PIN), queued in this transaction; null when none is sent. */
  mailId: string | null;
}

export interface EnableWriteOptions {
  jobId: string | null;
  /** The archive's operation: the command's (`conferencing.enable`, `licence.assign`) or the job's kind. */
  archiveOperation: string;
  auditOperation: string;
  /**
   * The audit `after` each caller has always written, kept so the log reads as before: `settings` (the single
   * command: the dial-in settings with allowPstnOnlyMeetings and allowTollFreeDialIn) or `move` (the bulk move: the
   * Microsoft domain instead of those two).
   */
  auditAfter: "settings" | "move";
  /** Email each user their new details and PIN (queued in this transaction) from this sender; null: send none. */
  mail: MailSender | null;
}

/**
 * Turns Microsoft dial-in on for many users in one statement: archives what each replaces (read before the
 * delete, as all parts of a statement see one snapshot), drops the third-party entries, adds the dial-in rows
 * and the audit events. Returns the users in the order given.
 */
export async function applyEnables(tx: Ctx, writes: readonly EnableWrite[], o: EnableWriteOptions): Promise<Enabled[]> {
  if (writes.length === 0) return [];
  const payload = JSON.stringify(
    writes.map((w, n) => ({
      n,
      user_id: w.userId,
      provider: w.previousProvider,
      bridge_id: w.bridgeId,
      conference_id: w.conferenceId,
      pin_hash: w.pinHash,
      service_number: w.serviceNumber,
      toll_free_service_number: w.tollFreeServiceNumber,
      allow_pstn_only_meetings: w.allowPstnOnlyMeetings,
      allow_toll_free_dial_in: w.allowTollFreeDialIn,
    })),
  );
  const afterExtra =
    o.auditAfter === "move"
      ? sql`jsonb_build_object('domain', ${MICROSOFT_DOMAIN}::text)`
      : sql`jsonb_build_object('allowPstnOnlyMeetings', i.allow_pstn_only_meetings, 'allowTollFreeDialIn', i.allow_toll_free_dial_in)`;
  const replaced = await rows<{ user_id: string; acp: AcpEntry[] }>(
    tx.db,
    sql`
    with input as (
      select * from jsonb_to_recordset(${payload}::jsonb) as x(n int, user_id uuid, provider text, bridge_id uuid, conference_id text,
        pin_hash text, service_number text, toll_free_service_number text, allow_pstn_only_meetings boolean, allow_toll_free_dial_in boolean)),
    old as (
      select e.user_id, jsonb_agg(${acpEntryJson} order by ${acpEntryOrder}) as acp
      from user_acp_entries e join input i on i.user_id = e.user_id
      group by e.user_id),
    archived as (
      insert into archives (tenant_id, user_id, job_id, operation, data)
      select ${tx.tenantId}::uuid, i.user_id, ${o.jobId}::uuid, ${o.archiveOperation},
             jsonb_build_object('provider', i.provider, 'acpEntries', coalesce(o.acp, '[]'::jsonb), 'dialIn', null)
      from input i left join old o on o.user_id = i.user_id order by i.n),
    dropped as (
      delete from user_acp_entries e using input i where e.user_id = i.user_id),
    enabled as (
      insert into dial_in_users (user_id, tenant_id, bridge_id, conference_id, pin_hash, service_number,
                                 toll_free_service_number, allow_pstn_only_meetings, allow_toll_free_dial_in)
      select i.user_id, ${tx.tenantId}::uuid, i.bridge_id, i.conference_id, i.pin_hash, i.service_number,
             i.toll_free_service_number, i.allow_pstn_only_meetings, i.allow_toll_free_dial_in
      from input i),
    audited as (
      insert into audit_events (tenant_id, actor, source, operation, target_type, target_id, job_id, before, after)
      select ${tx.tenantId}::uuid, ${tx.actor}, ${tx.source ?? "internal"}, ${o.auditOperation}, 'user', i.user_id::text, ${o.jobId}::uuid,
             jsonb_build_object('provider', i.provider, 'acpEntries', coalesce(o.acp, '[]'::jsonb)),
             jsonb_build_object('provider', 'Microsoft', 'bridgeId', i.bridge_id::text, 'conferenceId', i.conference_id,
               'serviceNumber', i.service_number, 'tollFreeServiceNumber', i.toll_free_service_number, 'pinReset', true) || ${afterExtra}
      from input i left join old o on o.user_id = i.user_id order by i.n)
    select o.user_id, o.acp from old o`,
  );
  const entriesOf = new Map(replaced.map((r) => [r.user_id, r.acp.map(acpEntry)]));
  const enabled = writes.map(({ pinHash: _stored, ...w }) => ({ ...w, replacedEntries: entriesOf.get(w.userId) ?? [] }));
  const sender = o.mail;
  const mailIds = sender
    ? await enqueueMail(
        tx,
        enabled.map((e) => ({ userId: e.userId, jobId: o.jobId, kind: "dial-in.enabled", mail: enabledMail(sender, e) })),
      )
    : [];
  return enabled.map((e, i) => ({ ...e, mailId: mailIds[i] ?? null }));
}

/** Whom a restore concerns: a user and its archive (a job's item), or a user's most recent unrestored archive (archiveId null). */
export interface RestoreTarget {
  userId: string | null;
  archiveId: number | null;
  /** How messages name the user (a job item's identity); the UPN when not given. */
  name?: string;
}

interface ArchiveRow {
  id: string | number;
  user_id: string;
  data: ArchiveData;
  operation: string;
  created_at: Date | string;
  restored_at: Date | string | null;
}

interface CurrentRow {
  user_id: string;
  user_principal_name: string;
  display_name: string;
  licensed: boolean;
  dial_in: DialInSnapshot | null;
  acp: AcpEntry[];
}

const archiveColumns = sql`a.id, a.user_id, a.data, a.operation, a.created_at, a.restored_at`;

function archiveFound(a: ArchiveRow): ArchiveFound {
  return {
    id: Number(a.id),
    operation: a.operation,
    createdAt: new Date(a.created_at).toISOString(),
    restored: a.restored_at !== null,
    data: a.data,
  };
}

/**
 * Locks the users and reads what a restore decides from: the archive, the user's dial-in and entries now, and
 * who holds the conference IDs the archives would bring back. A fixed number of queries for any number of targets;
 * one state per target, in order.
 */
export async function loadRestoreStates(tx: Ctx, targets: readonly RestoreTarget[]): Promise<RestoreState[]> {
  const userIds = [...new Set(targets.flatMap((t) => (t.userId ? [t.userId] : [])))];
  await lockUsers(tx, userIds);
  const archiveIds = targets.flatMap((t) => (t.archiveId !== null ? [t.archiveId] : []));
  const latestFor = [...new Set(targets.flatMap((t) => (t.archiveId === null && t.userId ? [t.userId] : [])))];
  const byId = archiveIds.length
    ? await rows<ArchiveRow>(
        tx.db,
        sql`select ${archiveColumns} from archives a
            where a.tenant_id = ${tx.tenantId} and a.id in (select (jsonb_array_elements_text(${JSON.stringify(archiveIds)}::jsonb))::bigint)`,
      )
    : [];
  const latest = latestFor.length
    ? await rows<ArchiveRow>(
        tx.db,
        sql`select distinct on (a.user_id) ${archiveColumns} from archives a
            where a.user_id in ${uuidList(latestFor)} and a.restored_at is null
            order by a.user_id, a.id desc`,
      )
    : [];
  const archiveById = new Map(byId.map((a) => [Number(a.id), a]));
  const latestOf = new Map(latest.map((a) => [a.user_id, a]));
  const current = userIds.length
    ? await rows<CurrentRow>(
        tx.db,
        sql`select u.id as user_id, u.user_principal_name, u.display_name, ${hasAudioConferencingLicence} as licensed,
              (select jsonb_build_object('bridgeId', d.bridge_id, 'conferenceId', d.conference_id, 'pinHash', d.pin_hash,
                  'serviceNumber', d.service_number, 'tollFreeServiceNumber', d.toll_free_service_number,
                  'allowPstnOnlyMeetings', d.allow_pstn_only_meetings, 'allowTollFreeDialIn', d.allow_toll_free_dial_in)
               from dial_in_users d where d.user_id = u.id) as dial_in,
              coalesce((select jsonb_agg(${acpEntryJson} order by ${acpEntryOrder}) from user_acp_entries e where e.user_id = u.id),
                       '[]'::jsonb) as acp
            from users u where u.tenant_id = ${tx.tenantId} and u.id in ${uuidList(userIds)}`,
      )
    : [];
  const currentOf = new Map(current.map((c) => [c.user_id, c]));
  // Conference IDs the archives want back, and who holds them now.
  const wanted = [...byId, ...latest]
    .map((a) => a.data.dialIn)
    .filter((d): d is DialInSnapshot => d !== null)
    .map((d) => ({ bridge_id: d.bridgeId, conference_id: d.conferenceId }));
  const holders = wanted.length
    ? await rows<{ bridge_id: string; conference_id: string; user_id: string; user_principal_name: string }>(
        tx.db,
        sql`select d.bridge_id, d.conference_id, d.user_id, u.user_principal_name from dial_in_users d
            join users u on u.id = d.user_id
            join jsonb_to_recordset(${JSON.stringify(wanted)}::jsonb) as w(bridge_id uuid, conference_id text)
              on d.bridge_id = w.bridge_id and d.conference_id = w.conference_id`,
      )
    : [];
  const heldBy = new Map(holders.map((h) => [`${h.bridge_id}/${h.conference_id}`, h]));
  return targets.map((t) => {
    const a = t.archiveId !== null ? archiveById.get(t.archiveId) : t.userId ? latestOf.get(t.userId) : undefined;
    const now = t.userId ? currentOf.get(t.userId) : undefined;
    const d = a?.data.dialIn;
    const holder = d ? heldBy.get(`${d.bridgeId}/${d.conferenceId}`) : undefined;
    return {
      name: t.name ?? now?.user_principal_name ?? "",
      user: now
        ? {
            userId: now.user_id,
            userPrincipalName: now.user_principal_name,
            displayName: now.display_name,
            licensed: now.licensed,
            provider: now.dial_in ? "Microsoft" : (now.acp[0]?.name ?? null),
            dialIn: now.dial_in,
            acpEntries: now.acp,
          }
        : null,
      archive: a ? archiveFound(a) : null,
      conferenceIdHeldBy: holder && holder.user_id !== t.userId ? holder.user_principal_name : null,
    };
  });
}

/** One user's restore: the archive put back, and the state it replaces (archived in turn). */
export interface RestoreWrite {
  userId: string;
  archiveId: number;
  data: ArchiveData;
  now: { provider: string | null; dialIn: DialInSnapshot | null; acpEntries: AcpEntry[] };
  /** Who is told their previous details are back. */
  recipient: MailRecipient;
}

export interface RestoreWriteOptions {
  jobId: string | null;
  /** The operation of the archive that keeps what each restore replaces: `conferencing.restore`, or the job's kind. */
  archiveOperation: string;
  /**
   * The audit form each caller has always written, kept so the log reads as before: `read-back` (the single
   * restore: the provider before, and the state after as read back from the store) or `archived` (a restore job:
   * no provider before, and the archive it put back as the state after).
   */
  audit: "read-back" | "archived";
  /** Email each restored user (queued in this transaction) from this sender; null: send none. */
  mail: MailSender | null;
}

/**
 * Puts archives back for many users in a fixed number of statements: archive now, replace, mark restored,
 * audit, and queue each user's "your previous details are back" email. Returns the queued messages' ids.
 */
export async function applyRestores(tx: Ctx, writes: readonly RestoreWrite[], o: RestoreWriteOptions): Promise<string[]> {
  if (writes.length === 0) return [];
  const sender = o.mail;
  const mailIds = sender
    ? await enqueueMail(
        tx,
        writes.map((w) => ({
          userId: w.userId,
          jobId: o.jobId,
          kind: "dial-in.restored",
          mail: restoredMail(sender, w.recipient, w.data),
        })),
      )
    : [];
  const ids = writes.map((w) => w.userId);
  const nowArchives = writes.map((w) => ({
    user_id: w.userId,
    data: { provider: w.now.provider, acpEntries: w.now.acpEntries, dialIn: w.now.dialIn } satisfies ArchiveData,
  }));
  await tx.db.execute(sql`insert into archives (tenant_id, user_id, job_id, operation, data)
    select ${tx.tenantId}::uuid, x.user_id, ${o.jobId}::uuid, ${o.archiveOperation}, x.data
    from jsonb_to_recordset(${JSON.stringify(nowArchives)}::jsonb) as x(user_id uuid, data jsonb)`);
  await tx.db.execute(sql`delete from dial_in_users where user_id in ${uuidList(ids)}`);
  await tx.db.execute(sql`delete from user_acp_entries where user_id in ${uuidList(ids)}`);
  await insertAcpEntries(
    tx,
    writes.map((w) => ({ userId: w.userId, entries: w.data.acpEntries })),
  );
  const dialIns = writes.flatMap((w) => (w.data.dialIn ? [{ user_id: w.userId, ...w.data.dialIn }] : []));
  if (dialIns.length) {
    await tx.db.execute(sql`insert into dial_in_users (user_id, tenant_id, bridge_id, conference_id, pin_hash, service_number,
        toll_free_service_number, allow_pstn_only_meetings, allow_toll_free_dial_in)
      select x.user_id, ${tx.tenantId}::uuid, x."bridgeId", x."conferenceId", x."pinHash", x."serviceNumber",
             x."tollFreeServiceNumber", x."allowPstnOnlyMeetings", x."allowTollFreeDialIn"
      from jsonb_to_recordset(${JSON.stringify(dialIns)}::jsonb) as x(user_id uuid, "bridgeId" uuid, "conferenceId" text,
        "pinHash" text, "serviceNumber" text, "tollFreeServiceNumber" text, "allowPstnOnlyMeetings" boolean, "allowTollFreeDialIn" boolean)`);
  }
  await tx.db.execute(sql`update archives set restored_at = now()
    where id in (select (jsonb_array_elements_text(${JSON.stringify(writes.map((w) => w.archiveId))}::jsonb))::bigint)`);
  if (o.audit === "archived") {
    await recordAudit(
      tx,
      writes.map((w) => ({
        operation: "conferencing.restore",
        targetType: "user",
        targetId: w.userId,
        jobId: o.jobId,
        before: { dialIn: auditSnapshot(w.now.dialIn), acpEntries: w.now.acpEntries },
        after: { provider: w.data.provider, dialIn: auditSnapshot(w.data.dialIn), acpEntries: w.data.acpEntries, archiveId: w.archiveId },
      })),
    );
    return mailIds;
  }
  const payload = JSON.stringify(
    writes.map((w) => ({
      user_id: w.userId,
      archive_id: w.archiveId,
      before: { provider: w.now.provider, dialIn: auditSnapshot(w.now.dialIn), acpEntries: w.now.acpEntries },
    })),
  );
  await tx.db.execute(sql`
    insert into audit_events (tenant_id, actor, source, operation, target_type, target_id, job_id, before, after)
    select ${tx.tenantId}::uuid, ${tx.actor}, ${tx.source ?? "internal"}, 'conferencing.restore', 'user', x.user_id::text, ${o.jobId}::uuid,
           x.before,
           jsonb_build_object(
             'provider', case when d.user_id is not null then 'Microsoft' else ${acpProviderOf(sql`x.user_id`)} end,
             'dialIn', case when d.user_id is null then null else jsonb_build_object('provider', 'Microsoft', 'bridgeId', d.bridge_id,
               'conferenceId', d.conference_id, 'serviceNumber', d.service_number, 'tollFreeServiceNumber', d.toll_free_service_number,
               'allowPstnOnlyMeetings', d.allow_pstn_only_meetings, 'allowTollFreeDialIn', d.allow_toll_free_dial_in) end,
             'acpEntries', coalesce((select jsonb_agg(${acpEntryJson} order by ${acpEntryOrder}) from user_acp_entries e
                                     where e.user_id = x.user_id), '[]'::jsonb),
             'archiveId', x.archive_id)
    from jsonb_to_recordset(${payload}::jsonb) as x(user_id uuid, archive_id bigint, before jsonb)
    left join dial_in_users d on d.user_id = x.user_id`);
  return mailIds;
}

/** Inserts archived provider entries for many users in one statement. */
export async function insertAcpEntries(ctx: Ctx, items: { userId: string; entries: AcpEntry[] }[]): Promise<void> {
  const flat = items.flatMap((i) =>
    i.entries.map((e) => ({
      user_id: i.userId,
      name: e.name,
      domain: e.domain,
      toll_number: e.tollNumber,
      toll_free_numbers: e.tollFreeNumbers,
      participant_passcode: e.participantPasscode,
      url: e.url,
      is_default: e.isDefault,
    })),
  );
  if (flat.length === 0) return;
  await ctx.db.execute(sql`
    insert into user_acp_entries (tenant_id, user_id, name, domain, toll_number, toll_free_numbers, participant_passcode, url, is_default)
    select ${ctx.tenantId}::uuid, x.user_id, x.name, x.domain, x.toll_number,
           coalesce((select array_agg(v) from jsonb_array_elements_text(x.toll_free_numbers) v), '{}'::text[]),
           x.participant_passcode, x.url, x.is_default
    from jsonb_to_recordset(${JSON.stringify(flat)}::jsonb)
      as x(user_id uuid, name text, domain text, toll_number text, toll_free_numbers jsonb, participant_passcode text, url text, is_default boolean)`);
}
