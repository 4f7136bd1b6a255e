import { type SQL, sql } from "drizzle-orm";
import type { Ctx } from "../core/context.ts";
import { AppError } from "../core/errors.ts";
import { parseIdentityArray, parseIdentityCsv, parseUserList } from "../core/identity-list.ts";
import { cryptoRng } from "../core/random.ts";
import { forEachResolvedItem, hasAudioConferencingLicence, resolveJobItems } from "../directory/users.service.ts";
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
import { sendSoon } from "../notify/outbox.service.ts";
import { rows } from "../store/db.ts";
import { findBridge } from "./bridges.service.ts";
import { ConferenceIdAllocator } from "./conference-id.ts";
import { dialInMailSender } from "./dial-in.service.ts";
import { applyEnables, type EnableWrite, loadEnableStates } from "./dial-in.writer.ts";
import { decideEnable } from "./dial-in-decision.ts";
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

registerJobHandler({
  kind: MOVE_TO_MICROSOFT,
  permission: "conferencing.bulk",
  batchSize: 4000,
  async prepare(ctx, job) {
    const bridgeName = typeof job.params.bridge === "string" ? job.params.bridge : undefined;
    const bridge = await findBridge(ctx, bridgeName);
    const settings = await getConferencingSettings(ctx);
    // Who the users' emails come from, or null when the move sends none (the rule every dial-in change uses).
    const sender = await dialInMailSender(ctx, job.params.sendEmail === true);
    const held = await rows<{ conference_id: string }>(ctx.db, sql`select conference_id from dial_in_users where bridge_id = ${bridge.id}`);
    const allocator = new ConferenceIdAllocator(
      bridge.conferenceIdLength,
      held.map((h) => h.conference_id),
      cryptoRng,
    );
    const rules = { replaceProvider: true, job: true, dryRun: job.dryRun };
    const seen = new Map<string, number>();

    return async (tx: Ctx, items: PendingItem[]): Promise<BatchResult> => {
      // 1. Who are they: one query for every identity of the batch that is not yet a user id.
      const { userIdOf, failures } = await resolveJobItems(tx, items);
      const outcomes: ItemOutcome[] = [...failures];
      // 2. Their licence and provider: one query, under their locks, so a single-user change racing this
      // batch either commits first and is seen here, or waits for the batch.
      const states = await loadEnableStates(tx, [...userIdOf.values()]);
      // 3. Decide each user's outcome; pick conference IDs and PINs for those that change.
      const writes: EnableWrite[] = [];
      const seqOf = new Map<string, number>();
      forEachResolvedItem(
        items,
        userIdOf,
        states,
        seen,
        outcomes,
        (st) => st.userPrincipalName,
        (item, userId, state) => {
          const d = decideEnable(state, rules);
          outcomes.push({
            seq: item.seq,
            userId,
            outcome: d.outcome,
            failed: d.kind === "fail",
            changed: d.kind === "change",
            message: d.message,
          });
          if (d.kind !== "change" || job.dryRun) return;
          const conferenceId = allocator.allocate();
          const pin = generatePin(settings.pinLength, cryptoRng);
          seqOf.set(userId, item.seq);
          writes.push({
            userId,
            userPrincipalName: state.userPrincipalName,
            displayName: state.displayName,
            previousProvider: d.previous,
            bridgeId: bridge.id,
            conferenceId,
            serviceNumber: bridge.defaultServiceNumber,
            tollFreeServiceNumber: bridge.defaultTollFreeServiceNumber,
            allowPstnOnlyMeetings: settings.allowPstnOnlyMeetingsByDefault,
            allowTollFreeDialIn: true,
            pin,
            pinHash: hashPin(pin, tx.env.pinKey),
          });
        },
      );
      if (writes.length === 0) return { outcomes };
      // 4. Write, in one statement: archive, drop the third-party entries, add the dial-in rows, audit.
      const enabled = await applyEnables(tx, writes, {
        jobId: job.id,
        archiveOperation: MOVE_TO_MICROSOFT,
        auditOperation: "conferencing.enable",
        auditAfter: "move",
        // Each user's email (new details and PIN) is queued with their change, in this transaction.
        mail: sender,
      });
      const mailIds = enabled.flatMap((e) => (e.mailId ? [e.mailId] : []));
      if (mailIds.length === 0) return { outcomes };
      return {
        outcomes,
        afterCommit: {
          // Committed: delivery starts in the background, and the next batch does not wait for it.
          run: async () => sendSoon(ctx, mailIds),
          items: enabled.map((e) => ({ seq: seqOf.get(e.userId) ?? 0, userId: e.userId })),
          failure:
            "Changed; the dial-in email is queued in the outbox but its delivery could not be started (`callplane mail list` shows it)",
        },
      };
    };
  },
});
