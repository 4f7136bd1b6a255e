import { type SQL, sql } from "drizzle-orm";
import type { Ctx } from "../core/context.ts";
import { AppError } from "../core/errors.ts";
import { parseIdentityArray, parseIdentityCsv, parseUserList } from "../core/identity-list.ts";
import { cryptoRng } from "../core/random.ts";
import {
  AUDIO_CONFERENCING_PLANS_SQL,
  forEachResolvedItem,
  hasAudioConferencingLicence,
  lockUsers,
  resolveJobItems,
} from "../directory/users.service.ts";
import {
  type BatchResult,
  type BulkReport,
  bulkReport,
  type ItemOutcome,
  identitySample,
  type JobView,
  type PendingItem,
  type ProgressListener,
  planJob,
  registerJobHandler,
  runJob,
  startJobInBackground,
} from "../jobs/jobs.service.ts";
import { prepareOutbox, writeOutbox } from "../notify/email.ts";
import { rows } from "../store/db.ts";
import { findBridge } from "./bridges.service.ts";
import { ConferenceIdAllocator } from "./conference-id.ts";
import { MICROSOFT_DOMAIN } from "./dial-in.service.ts";
import { enabledMail, mailSender } from "./dial-in-mail.ts";
import { generatePin, hashPin } from "./pin.ts";
import { findProvider } from "./providers.service.ts";
import { getConferencingSettings } from "./settings.service.ts";

export const MOVE_TO_MICROSOFT = "move-to-microsoft";

export interface MoveToMicrosoftInput {
  /** Comma-separated identities, as the seed script's -UserList. */
  userList?: string;
  /** Identities already split (API callers). */
  identities?: string[];
  /** A CSV file's bytes and name, as the seed script's -CsvFile. */
  csv?: { content: Buffer; name: string };
  /** Every user whose provider is this one, as the seed script's -ACPProviderName. */
  fromProvider?: string;
  /** Every user the admin center's banner counts: licensed for Audio Conferencing, not on Microsoft. */
  ready?: boolean;
  dryRun?: boolean;
  /** Email each changed user even when the tenant does not send emails automatically. */
  sendEmail?: boolean;
  /** Which bridge to put users on (default: the tenant default bridge). */
  bridge?: string;
}

export interface MoveStart {
  job: JobView;
  /** True when an interrupted run of the same command was found and continued. */
  resumed: boolean;
  /** What the input held before any user was looked at: duplicates collapsed, CSV rows skipped. */
  input: {
    source: "user-list" | "csv" | "provider" | "ready";
    count: number;
    duplicates: number;
    skipped: { line: number; reason: string }[];
    column: string | null;
  };
}

/**
 * Validates the input of a bulk move to Microsoft and creates its job (or finds the interrupted one
 * to resume). Nothing changes for any user until the job runs; bad input changes nothing.
 */
export async function planMoveToMicrosoft(ctx: Ctx, input: MoveToMicrosoftInput): Promise<MoveStart> {
  const given = [
    input.userList !== undefined,
    input.identities !== undefined,
    input.csv !== undefined,
    input.fromProvider !== undefined,
    input.ready === true,
  ].filter(Boolean).length;
  if (given !== 1) {
    throw new AppError(
      "invalid_input",
      given === 0
        ? 'Say which users to move: --user-list "a@contoso.com, b@contoso.com", --csv users.csv, --from-provider InterCall or --ready.'
        : "Give only one of --user-list, --csv, --from-provider and --ready.",
    );
  }
  const dryRun = input.dryRun === true;
  const bridge = await findBridge(ctx, input.bridge);
  const common = { bridge: bridge.name, sendEmail: input.sendEmail === true };
  if (input.ready === true) {
    const selection = sql`${hasAudioConferencingLicence} and not exists (select 1 from dial_in_users d where d.user_id = u.id)`;
    return planSelection(ctx, dryRun, { source: "ready", ...common }, selection);
  }
  if (input.fromProvider !== undefined) {
    const provider = await findProvider(ctx, input.fromProvider);
    const name = provider.identity.toLowerCase();
    const selection = provider.isMicrosoft
      ? sql`exists (select 1 from dial_in_users d where d.user_id = u.id)`
      : sql`not exists (select 1 from dial_in_users d where d.user_id = u.id)
            and exists (select 1 from user_acp_entries e where e.user_id = u.id and lower(e.name) = ${name})`;
    return planSelection(ctx, dryRun, { source: "provider", fromProvider: provider.identity, ...common }, selection);
  }
  let identities: string[];
  let info: MoveStart["input"];
  if (input.csv) {
    const parsed = parseIdentityCsv(input.csv.content, input.csv.name);
    identities = parsed.identities;
    info = { source: "csv", count: identities.length, duplicates: parsed.duplicates, skipped: parsed.skipped, column: parsed.column };
  } else {
    const parsed = input.userList !== undefined ? parseUserList(input.userList) : parseIdentityArray(input.identities ?? []);
    identities = parsed.identities;
    info = { source: "user-list", count: identities.length, duplicates: parsed.duplicates, skipped: [], column: null };
  }
  const params = { source: info.source, identities, ...common };
  const { job, resumed } = await planJob(ctx, {
    kind: MOVE_TO_MICROSOFT,
    dryRun,
    params: { ...common, source: info.source, identityCount: identities.length, identities: identitySample(identities) },
    fingerprintOf: params,
    items: identities.map((identity) => ({ identity })),
  });
  return { job, resumed, input: info };
}

/** A job over every user a SQL condition on `u` selects, planned in one INSERT … SELECT. */
async function planSelection(
  ctx: Ctx,
  dryRun: boolean,
  params: { source: "ready" | "provider" } & Record<string, unknown>,
  selection: SQL,
): Promise<MoveStart> {
  const info = { source: params.source, duplicates: 0, skipped: [], column: null };
  const { job, resumed } = await planJob(ctx, {
    kind: MOVE_TO_MICROSOFT,
    dryRun,
    params,
    items: (jobId) => sql`
      insert into job_items (job_id, seq, identity, user_id)
      select ${jobId}::uuid, row_number() over (order by lower(u.user_principal_name)), u.user_principal_name, u.id
      from users u where u.tenant_id = ${ctx.tenantId} and u.deleted_at is null and ${selection}`,
  });
  return { job, resumed, input: { ...info, count: job.total } };
}

/**
 * The seed's bulk script done right: plans the job and runs it, in this call (`wait`) or in the
 * background (the caller follows the job's progress).
 */
export async function moveUsersToMicrosoft(
  ctx: Ctx,
  input: MoveToMicrosoftInput,
  opts: { wait: boolean; onProgress?: ProgressListener },
): Promise<MoveStart & { report: BulkReport | null }> {
  const start = await planMoveToMicrosoft(ctx, input);
  if (!opts.wait) return { ...start, job: await startJobInBackground(ctx, start.job.id), report: null };
  await runJob(ctx, start.job.id, opts.onProgress);
  const report = await bulkReport(ctx, start.job.id);
  // Waited for, the job is answered as it ended, not as it was planned.
  return { ...start, job: report.job, report };
}

interface StateRow {
  id: string;
  user_principal_name: string;
  display_name: string;
  licensed: boolean;
  on_microsoft: boolean;
  provider: string | null;
}

registerJobHandler({
  kind: MOVE_TO_MICROSOFT,
  permission: "conferencing.bulk",
  batchSize: 4000,
  async prepare(ctx, job) {
    const bridgeName = typeof job.params.bridge === "string" ? job.params.bridge : undefined;
    const bridge = await findBridge(ctx, bridgeName);
    const settings = await getConferencingSettings(ctx);
    const [tenant] = await rows<{ domain: string }>(ctx.db, sql`select domain from tenants where id = ${ctx.tenantId}`);
    const sender = mailSender(settings, tenant?.domain ?? "localhost");
    const held = await rows<{ conference_id: string }>(ctx.db, sql`select conference_id from dial_in_users where bridge_id = ${bridge.id}`);
    // The tenant's Audio Conferencing SKUs, looked up once: per user, the licence check is then one index probe.
    const acSkus = await rows<{ id: string }>(
      ctx.db,
      sql`select id from skus where tenant_id = ${ctx.tenantId} and service_plans && ${AUDIO_CONFERENCING_PLANS_SQL}`,
    );
    const acSkuIds = JSON.stringify(acSkus.map((r) => r.id));
    const allocator = new ConferenceIdAllocator(
      bridge.conferenceIdLength,
      held.map((h) => h.conference_id),
      cryptoRng,
    );
    const sendMail = job.params.sendEmail === true || settings.automaticallySendEmailsToUsers;
    if (sendMail && !job.dryRun) prepareOutbox();
    const seen = new Map<string, number>();

    return async (tx: Ctx, items: PendingItem[]): Promise<BatchResult> => {
      // 1. Who are they: one query for every identity of the batch that is not yet a user id.
      const { userIdOf, failures } = await resolveJobItems(tx, items);
      const outcomes: ItemOutcome[] = [...failures];
      // 2. Their licence and provider: one query, after locking them (in id order, as every writer does), so a
      // single-user change racing this batch either commits first and is seen here, or waits for the batch.
      const ids = [...new Set(userIdOf.values())];
      await lockUsers(tx, ids);
      const states = ids.length
        ? await rows<StateRow>(
            tx.db,
            sql`select u.id, u.user_principal_name, u.display_name,
                  exists (select 1 from licence_assignments la where la.user_id = u.id
                          and la.sku_id = any(array(select (jsonb_array_elements_text(${acSkuIds}::jsonb))::uuid))) as licensed,
                  exists (select 1 from dial_in_users d where d.user_id = u.id) as on_microsoft,
                  (select e.name from user_acp_entries e where e.user_id = u.id order by e.is_default desc, e.created_at limit 1) as provider
                from users u
                where u.tenant_id = ${tx.tenantId}
                  and u.id in (select (jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb))::uuid)`,
          )
        : [];
      const stateOf = new Map(states.map((s) => [s.id, s]));
      // 3. Decide each user's outcome; pick conference IDs and PINs for those that change.
      const changes: {
        seq: number;
        state: StateRow;
        conferenceId: string;
        pin: string;
        pinHash: string;
        previous: string | null;
      }[] = [];
      forEachResolvedItem(
        items,
        userIdOf,
        stateOf,
        seen,
        outcomes,
        (st) => st.user_principal_name,
        (item, userId, state) => {
          const upn = state.user_principal_name;
          if (state.on_microsoft) {
            outcomes.push({
              seq: item.seq,
              userId,
              outcome: "already-microsoft",
              failed: false,
              changed: false,
              message: `The provider of ${upn} is already set to Microsoft.`,
            });
            return;
          }
          if (!state.licensed) {
            outcomes.push({
              seq: item.seq,
              userId,
              outcome: "no-licence",
              failed: true,
              changed: false,
              message: `${upn} does not have a valid Audio Conferencing licence assigned: assign one with \`callplane licences assign ${upn} --sku MCOMEETADV\`.`,
            });
            return;
          }
          const previous = state.provider;
          if (job.dryRun) {
            outcomes.push({
              seq: item.seq,
              userId,
              outcome: "changed",
              failed: false,
              changed: true,
              message: `Would change the provider of ${upn}${previous ? ` from ${previous}` : ""} to Microsoft.`,
            });
            return;
          }
          const conferenceId = allocator.allocate();
          const pin = generatePin(settings.pinLength, cryptoRng);
          changes.push({ seq: item.seq, state, conferenceId, pin, pinHash: hashPin(pin, tx.env.pinKey), previous });
          outcomes.push({
            seq: item.seq,
            userId,
            outcome: "changed",
            failed: false,
            changed: true,
            message: `The provider of ${upn} has changed${previous ? ` from ${previous}` : ""} to Microsoft.`,
          });
        },
      );
      if (changes.length === 0) return { outcomes };
      // 4. Write, in one statement: archive what is replaced (read before the delete, as all parts of a
      // statement see one snapshot), drop the third-party entries, add the dial-in rows, audit.
      const payload = JSON.stringify(changes.map((c) => ({ user_id: c.state.id, conference_id: c.conferenceId, pin_hash: c.pinHash })));
      await tx.db.execute(sql`
        with input as (
          select * from jsonb_to_recordset(${payload}::jsonb) as x(user_id uuid, conference_id text, pin_hash text)),
        old as (
          select e.user_id,
                 (array_agg(e.name order by e.is_default desc, e.created_at))[1] as provider,
                 jsonb_agg(jsonb_build_object('name', e.name, 'domain', e.domain, 'tollNumber', e.toll_number,
                   'tollFreeNumbers', to_jsonb(e.toll_free_numbers), 'participantPasscode', e.participant_passcode,
                   'url', e.url, 'isDefault', e.is_default) order by e.is_default desc, e.created_at) as acp
          from user_acp_entries e join input i on i.user_id = e.user_id
          group by e.user_id),
        archived as (
          insert into archives (tenant_id, user_id, job_id, operation, data)
          select ${tx.tenantId}::uuid, i.user_id, ${job.id}::uuid, ${MOVE_TO_MICROSOFT},
                 jsonb_build_object('provider', o.provider, 'acpEntries', coalesce(o.acp, '[]'::jsonb), 'dialIn', null)
          from input i left join old o on o.user_id = i.user_id),
        dropped as (
          delete from user_acp_entries e using input i where e.user_id = i.user_id),
        enabled as (
          insert into dial_in_users (user_id, tenant_id, bridge_id, conference_id, pin_hash, service_number,
                                     toll_free_service_number, allow_pstn_only_meetings, allow_toll_free_dial_in)
          select i.user_id, ${tx.tenantId}::uuid, ${bridge.id}::uuid, i.conference_id, i.pin_hash, ${bridge.defaultServiceNumber},
                 ${bridge.defaultTollFreeServiceNumber}, ${settings.allowPstnOnlyMeetingsByDefault}, true
          from input i)
        insert into audit_events (tenant_id, actor, operation, target_type, target_id, job_id, before, after)
        select ${tx.tenantId}::uuid, ${tx.actor}, 'conferencing.enable', 'user', i.user_id::text, ${job.id}::uuid,
               jsonb_build_object('provider', o.provider, 'acpEntries', coalesce(o.acp, '[]'::jsonb)),
               jsonb_build_object('provider', 'Microsoft', 'domain', ${MICROSOFT_DOMAIN}::text, 'bridgeId', ${bridge.id}::text,
                 'conferenceId', i.conference_id, 'serviceNumber', ${bridge.defaultServiceNumber}::text,
                 'tollFreeServiceNumber', ${bridge.defaultTollFreeServiceNumber}::text, 'pinReset', true)
        from input i left join old o on o.user_id = i.user_id`);
      if (!sendMail) return { outcomes };
      const mails = changes.map((c) =>
        enabledMail(sender, {
          userPrincipalName: c.state.user_principal_name,
          displayName: c.state.display_name,
          conferenceId: c.conferenceId,
          serviceNumber: bridge.defaultServiceNumber,
          tollFreeServiceNumber: bridge.defaultTollFreeServiceNumber,
          pin: c.pin,
          previousProvider: c.previous,
        }),
      );
      return {
        outcomes,
        afterCommit: {
          run: async () => {
            await writeOutbox(tx.env.outboxDir, mails);
          },
          items: changes.map((c) => ({ seq: c.seq, userId: c.state.id })),
          failure: "Changed, but the dial-in email (with the new PIN) could not be written; reset the PIN to send a new one",
        },
      };
    };
  },
});
