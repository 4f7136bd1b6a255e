// Reads and writes of Microsoft dial-in for many users at once, shared by the single-user command and the
// bulk move: a single user is a batch of one. The loader locks its users (in id order, as every writer of a
// user's conferencing state does) before reading, so a change racing this one is either read or waits.
import { sql } from "drizzle-orm";
import type { Ctx } from "../core/context.ts";
import { AUDIO_CONFERENCING_PLANS_SQL, lockUsers } from "../directory/users.service.ts";
import { rows } from "../store/db.ts";
import { type EnableState, MICROSOFT_DOMAIN } from "./dial-in-decision.ts";
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
  return writes.map(({ pinHash: _stored, ...w }) => ({ ...w, replacedEntries: entriesOf.get(w.userId) ?? [] }));
}
