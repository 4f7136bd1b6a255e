import { sql } from "drizzle-orm";
import { recordAudit } from "../audit/audit.service.ts";
import { type Ctx, inTransaction } from "../core/context.ts";
import { AppError, type ErrorCode } from "../core/errors.ts";
import { parseIdentityArray, parseIdentityCsv, parseUserList } from "../core/identity-list.ts";
import { ON_PREM_HOSTING_PROVIDER, ONLINE_HOSTING_PROVIDER } from "../directory/directory-source.ts";
import { AUDIO_CONFERENCING_PLANS, forEachResolvedItem, resolveJobItems, resolveUserId } from "../directory/users.service.ts";
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
import { rows } from "../store/db.ts";
import { cloudOnlyError } from "./hybrid.service.ts";

export const MOVE_USERS = "move-users";

export interface MoveOptions {
  /** `online` (or sipfed.online.lync.com), or an on-premises registrar pool FQDN. */
  target: string;
  bypassEnterpriseVoiceCheck?: boolean;
  bypassAudioConferencingCheck?: boolean;
  force?: boolean;
  dryRun?: boolean;
}

/** What a move decides from, per user: the online user, its on-premises object and licences. */
export interface MoveState {
  userId: string;
  userPrincipalName: string;
  synced: boolean;
  objectId: string | null;
  sipEnabled: boolean;
  hostingProvider: string | null;
  registrarPool: string | null;
  enterpriseVoiceEnabled: boolean;
  servicePlans: string[];
  dialInOnMicrosoft: boolean;
}

export type MoveDecision =
  | { kind: "fail"; code: ErrorCode; outcome: string; message: string }
  | { kind: "noop"; message: string }
  | { kind: "move"; toOnline: boolean; pool: string | null; notes: string[] };

const FQDN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;

/** Reads `online`, the online proxy FQDN, or a pool FQDN. */
export function parseTarget(target: string): { online: true } | { online: false; pool: string } {
  const t = target.trim().toLowerCase();
  if (t === "online" || t === ONLINE_HOSTING_PROVIDER) return { online: true };
  if (!FQDN.test(t)) {
    throw new AppError("invalid_input", `--target "${target}" is neither online nor a registrar pool FQDN such as pool01.contoso.com.`);
  }
  return { online: false, pool: t };
}

/** Move-CsUser's preconditions and effects for one user. Pure. */
export function decideMove(s: MoveState, o: MoveOptions): MoveDecision {
  const upn = s.userPrincipalName;
  const target = parseTarget(o.target);
  if (!s.synced) {
    return {
      kind: "fail",
      code: "cloud_only_user",
      outcome: "cloud-only",
      message: cloudOnlyError(upn, "moved between on-premises and online").message,
    };
  }
  if (!s.objectId) {
    return {
      kind: "fail",
      code: "user_not_found",
      outcome: "not-found",
      message: `${upn} was not found on-premises (its object is not in the directory mirror): import it with \`callplane directory import FILE\`.`,
    };
  }
  if (!s.sipEnabled) {
    return {
      kind: "fail",
      code: "not_enabled",
      outcome: "not-enabled",
      message: `${upn} is not enabled for Skype for Business on-premises, so there is nothing to move: enable it with \`callplane onprem enable-user ${upn} --registrar-pool POOL --sip-address-type UserPrincipalName\`, or home it online directly with \`--hosting-provider-proxy-fqdn ${ONLINE_HOSTING_PROVIDER}\`.`,
    };
  }
  const online = s.hostingProvider?.toLowerCase() === ONLINE_HOSTING_PROVIDER;
  const plans = s.servicePlans;
  const dataNote = (toOnline: boolean) =>
    o.force
      ? "Moved with --force: the user's contacts and scheduled meetings were not migrated and are lost; they cannot be recovered."
      : toOnline
        ? "Contacts were migrated. Scheduled meetings are queued for the Meeting Migration Service and converted at least 90 minutes after the move (typically about 2 hours). The user must sign in within 30 days."
        : "Scheduled meetings are queued for migration. Contacts are not moved from online back to on-premises (since 2023-11-10).";
  if (target.online) {
    if (online) return { kind: "noop", message: `WARNING: ${upn} is already homed online; nothing was changed.` };
    if (!plans.includes("MCOSTANDARD") && !plans.includes("TEAMS1")) {
      return {
        kind: "fail",
        code: "licence_required",
        outcome: "no-licence",
        message: `${upn} has neither a Skype for Business Online (Plan 2) nor a Teams licence, which the move needs: assign one with \`callplane licences assign ${upn} --sku MCOSTANDARD\`.`,
      };
    }
    const notes: string[] = [];
    if (s.enterpriseVoiceEnabled && !plans.includes("MCOEV")) {
      if (!o.bypassEnterpriseVoiceCheck) {
        return {
          kind: "fail",
          code: "licence_required",
          outcome: "no-licence",
          message: `${upn} is enabled for Enterprise Voice but has no Phone System licence (MCOEV): assign one with \`callplane licences assign ${upn} --sku MCOEV\`, or move anyway with --bypass-enterprise-voice-check (the user then cannot make or receive PSTN calls online).`,
        };
      }
      notes.push("Moved without a Phone System licence (--bypass-enterprise-voice-check): no PSTN calls online until MCOEV is assigned.");
    }
    const ac = plans.some((p) => (AUDIO_CONFERENCING_PLANS as readonly string[]).includes(p));
    if (s.dialInOnMicrosoft && !ac) {
      if (!o.bypassAudioConferencingCheck) {
        return {
          kind: "fail",
          code: "licence_required",
          outcome: "no-licence",
          message: `${upn} has Microsoft dial-in conferencing but no Audio Conferencing licence (MCOMEETADV): assign one with \`callplane licences assign ${upn} --sku MCOMEETADV\` (before the move, so meetings migrate once), or move anyway with --bypass-audio-conferencing-check.`,
        };
      }
      notes.push("Moved without an Audio Conferencing licence (--bypass-audio-conferencing-check).");
    }
    return { kind: "move", toOnline: true, pool: null, notes: [dataNote(true), ...notes] };
  }
  if (!online && s.registrarPool?.toLowerCase() === target.pool) {
    return { kind: "noop", message: `WARNING: ${upn} is already homed on ${target.pool}; nothing was changed.` };
  }
  return { kind: "move", toOnline: false, pool: target.pool, notes: online ? [dataNote(false)] : [] };
}

interface StateRow {
  id: string;
  user_principal_name: string;
  immutable_id: string | null;
  source: string;
  object_id: string | null;
  sip_enabled: boolean | null;
  hosting_provider: string | null;
  registrar_pool: string | null;
  enterprise_voice_enabled: boolean | null;
  plans: string[] | null;
  dial_in: boolean;
}

async function readStates(ctx: Ctx, ids: string[]): Promise<Map<string, MoveState>> {
  if (ids.length === 0) return new Map();
  const found = await rows<StateRow>(
    ctx.db,
    sql`select u.id, u.user_principal_name, u.immutable_id, u.source, o.id as object_id, o.sip_enabled, o.hosting_provider,
          o.registrar_pool, o.enterprise_voice_enabled, lic.plans,
          exists (select 1 from dial_in_users d where d.user_id = u.id) as dial_in
        from users u
        left join directory_objects o on o.tenant_id = u.tenant_id and o.immutable_id = u.immutable_id and o.deleted_at is null
        left join lateral (
          select array_agg(distinct p.plan) as plans from licence_assignments la join skus s on s.id = la.sku_id
          cross join lateral unnest(s.service_plans) as p(plan) where la.user_id = u.id) lic on true
        where u.tenant_id = ${ctx.tenantId} and u.deleted_at is null
          and u.id in (select (jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb))::uuid)`,
  );
  return new Map(
    found.map((r) => [
      r.id,
      {
        userId: r.id,
        userPrincipalName: r.user_principal_name,
        synced: r.source === "on-premises" && r.immutable_id !== null,
        objectId: r.object_id,
        sipEnabled: r.sip_enabled ?? false,
        hostingProvider: r.hosting_provider,
        registrarPool: r.registrar_pool,
        enterpriseVoiceEnabled: r.enterprise_voice_enabled ?? false,
        servicePlans: (r.plans ?? []).filter((p): p is string => typeof p === "string"),
        dialInOnMicrosoft: r.dial_in,
      },
    ]),
  );
}

interface MoveWrite {
  userId: string;
  objectId: string;
  hostingProvider: string;
  pool: string | null;
  homing: "online" | "on-premises";
  before: { hostingProvider: string | null; registrarPool: string | null };
}

function writeOf(s: MoveState, d: Extract<MoveDecision, { kind: "move" }>): MoveWrite {
  return {
    userId: s.userId,
    objectId: s.objectId ?? "",
    hostingProvider: d.toOnline ? ONLINE_HOSTING_PROVIDER : ON_PREM_HOSTING_PROVIDER,
    pool: d.pool,
    homing: d.toOnline ? "online" : "on-premises",
    before: { hostingProvider: s.hostingProvider, registrarPool: s.registrarPool },
  };
}

/** Sets the home on the directory object and the online user, for many users in two statements. */
async function applyMoves(tx: Ctx, moves: MoveWrite[], jobId: string | null, force: boolean): Promise<void> {
  if (moves.length === 0) return;
  const payload = JSON.stringify(moves);
  await tx.db.execute(sql`update directory_objects o set hosting_provider = x."hostingProvider", registrar_pool = x.pool,
      source = 'callplane', updated_at = now()
    from jsonb_to_recordset(${payload}::jsonb) as x("objectId" uuid, "hostingProvider" text, pool text)
    where o.id = x."objectId" and o.tenant_id = ${tx.tenantId}`);
  await tx.db.execute(sql`update users u set hosting_provider = x."hostingProvider", on_prem_registrar_pool = x.pool,
      homing = x.homing, updated_at = now()
    from jsonb_to_recordset(${payload}::jsonb) as x("userId" uuid, "hostingProvider" text, pool text, homing text)
    where u.id = x."userId" and u.tenant_id = ${tx.tenantId}`);
  await recordAudit(
    tx,
    moves.map((m) => ({
      operation: "user.move",
      targetType: "user",
      targetId: m.userId,
      jobId,
      before: m.before,
      after: { hostingProvider: m.hostingProvider, registrarPool: m.pool, homing: m.homing, force },
    })),
  );
}

/** One row of Move-CsUser's `-Report`. */
export interface MoveReportRow {
  user: string;
  startTime: string;
  /** "Success", a warning (already at the target) or the error. */
  result: string;
  target: string;
  changed: boolean;
  dryRun: boolean;
  notes: string[];
}

/** Move-CsUser for one user; a failed precondition is an error and nothing changes. */
export async function moveUser(ctx: Ctx, identity: string, opts: MoveOptions): Promise<MoveReportRow> {
  const target = parseTarget(opts.target);
  const startTime = new Date().toISOString();
  const targetName = target.online ? ONLINE_HOSTING_PROVIDER : target.pool;
  return inTransaction(ctx, async (tx) => {
    const id = await resolveUserId(tx, identity);
    const state = (await readStates(tx, [id])).get(id);
    if (!state) throw new AppError("user_not_found", `No user matches "${identity}".`);
    const d = decideMove(state, opts);
    const row = { user: state.userPrincipalName, startTime, target: targetName, dryRun: opts.dryRun === true };
    if (d.kind === "fail") throw new AppError(d.code, d.message);
    if (d.kind === "noop") return { ...row, result: d.message, changed: false, notes: [] };
    if (!opts.dryRun) await applyMoves(tx, [writeOf(state, d)], null, opts.force === true);
    return { ...row, result: "Success", changed: true, notes: opts.dryRun ? d.notes.map((n) => `(dry run) ${n}`) : d.notes };
  });
}

export interface BulkMoveInput extends MoveOptions {
  /** Comma-separated identities, as -UserList. */
  userList?: string;
  identities?: string[];
  csv?: { content: Buffer; name: string };
}

export interface BulkMoveStart {
  job: JobView;
  resumed: boolean;
  input: {
    source: "user-list" | "csv";
    count: number;
    duplicates: number;
    skipped: { line: number; reason: string }[];
    column: string | null;
  };
  report: BulkReport | null;
}

/** Move-CsUser -UserList / a CSV: a resumable job, one report row per user; bad input changes nothing. */
export async function moveUsers(
  ctx: Ctx,
  input: BulkMoveInput,
  opts: { wait: boolean; onProgress?: ProgressListener },
): Promise<BulkMoveStart> {
  const given = [input.userList !== undefined, input.identities !== undefined, input.csv !== undefined].filter(Boolean).length;
  if (given !== 1) {
    throw new AppError(
      "invalid_input",
      given === 0
        ? 'Say which users to move: --user-list "a@contoso.com,b@contoso.com" or --csv users.csv.'
        : "Give only one of --user-list and --csv.",
    );
  }
  const target = parseTarget(input.target);
  let identities: string[];
  let info: BulkMoveStart["input"];
  if (input.csv) {
    const parsed = parseIdentityCsv(input.csv.content, input.csv.name);
    identities = parsed.identities;
    info = { source: "csv", count: identities.length, duplicates: parsed.duplicates, skipped: parsed.skipped, column: parsed.column };
  } else {
    const parsed = input.userList !== undefined ? parseUserList(input.userList) : parseIdentityArray(input.identities ?? []);
    identities = parsed.identities;
    info = { source: "user-list", count: identities.length, duplicates: parsed.duplicates, skipped: [], column: null };
  }
  if (identities.length === 0) throw new AppError("invalid_input", "The user list is empty: give at least one identity.");
  const dryRun = input.dryRun === true;
  const common = {
    target: target.online ? "online" : target.pool,
    bypassEnterpriseVoiceCheck: input.bypassEnterpriseVoiceCheck === true,
    bypassAudioConferencingCheck: input.bypassAudioConferencingCheck === true,
    force: input.force === true,
  };
  const params = { source: info.source, identities, ...common };
  const { job, resumed } = await planJob(ctx, {
    kind: MOVE_USERS,
    dryRun,
    params: { ...common, source: info.source, identityCount: identities.length, identities: identitySample(identities) },
    fingerprintOf: params,
    items: identities.map((identity) => ({ identity })),
  });
  if (!opts.wait) return { job: await startJobInBackground(ctx, job.id), resumed, input: info, report: null };
  await runJob(ctx, job.id, opts.onProgress);
  const report = await bulkReport(ctx, job.id);
  return { job: report.job, resumed, input: info, report };
}

registerJobHandler({
  kind: MOVE_USERS,
  permission: "users.move",
  batchSize: 2000,
  async prepare(_ctx, job) {
    const opts: MoveOptions = {
      target: typeof job.params.target === "string" ? job.params.target : "online",
      bypassEnterpriseVoiceCheck: job.params.bypassEnterpriseVoiceCheck === true,
      bypassAudioConferencingCheck: job.params.bypassAudioConferencingCheck === true,
      force: job.params.force === true,
    };
    const seen = new Map<string, number>();
    return async (tx: Ctx, items: PendingItem[]): Promise<BatchResult> => {
      const { userIdOf, failures } = await resolveJobItems(tx, items);
      const outcomes: ItemOutcome[] = [...failures];
      const states = await readStates(tx, [...new Set(userIdOf.values())]);
      const writes: MoveWrite[] = [];
      forEachResolvedItem(
        items,
        userIdOf,
        states,
        seen,
        outcomes,
        (st) => st.userPrincipalName,
        (item, userId, state) => {
          const d = decideMove(state, opts);
          if (d.kind === "fail") {
            outcomes.push({ seq: item.seq, userId, outcome: d.outcome, failed: true, changed: false, message: d.message });
          } else if (d.kind === "noop") {
            outcomes.push({ seq: item.seq, userId, outcome: "already-at-target", failed: false, changed: false, message: d.message });
          } else {
            if (!job.dryRun) writes.push(writeOf(state, d));
            outcomes.push({
              seq: item.seq,
              userId,
              outcome: "moved",
              failed: false,
              changed: true,
              message: `${job.dryRun ? "Would succeed" : "Success"}. ${d.notes.join(" ")}`.trim(),
            });
          }
        },
      );
      await applyMoves(tx, writes, job.id, opts.force === true);
      return { outcomes };
    };
  },
});
