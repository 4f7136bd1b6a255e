import { sql } from "drizzle-orm";
import { recordAudit } from "../audit/audit.service.ts";
import { type Ctx, inTransaction } from "../core/context.ts";
import { AppError, atField } from "../core/errors.ts";
import { cryptoRng, type Rng } from "../core/random.ts";
import { countReadyForAudioConferencing, getUserById, lockUsers, resolveUserId, type UserView } from "../directory/users.service.ts";
import { deliverAfterCommit, queueMail } from "../notify/deliver.ts";
import type { MailOutcome } from "../notify/outbox.service.ts";
import { rows } from "../store/db.ts";
import { type Bridge, findBridge, numberOnBridge } from "./bridges.service.ts";
import { validateConferenceId } from "./conference-id.ts";
import { applyEnables, applyRestores, loadEnableStates, loadRestoreStates } from "./dial-in.writer.ts";
import {
  type ArchiveData,
  auditSnapshot,
  type DialInSnapshot,
  decideEnable,
  decideRestore,
  licenceMessage,
  MICROSOFT_DOMAIN,
  restoredMessage,
} from "./dial-in-decision.ts";
import { dialInMail, type MailSender, mailSender } from "./dial-in-mail.ts";
import { generatePin, hashPin } from "./pin.ts";
import { type AcpEntry, listUserAcpEntries } from "./providers.service.ts";
import { getConferencingSettings } from "./settings.service.ts";

export { type ArchiveData, type DialInSnapshot, MICROSOFT_DOMAIN };

/** A user's Microsoft dial-in conferencing, as shown to administrators (never the PIN hash). */
export interface DialInView {
  userId: string;
  userPrincipalName: string;
  displayName: string;
  provider: "Microsoft";
  domain: string;
  bridge: string;
  conferenceId: string;
  serviceNumber: string | null;
  tollFreeServiceNumber: string | null;
  allowPstnOnlyMeetings: boolean;
  allowTollFreeDialIn: boolean;
  updatedAt: string;
}

export interface DialInChange {
  user: string;
  changed: boolean;
  message: string;
  dialIn: DialInView | null;
  /** The new leader PIN, shown this once. */
  pin: string | null;
  /** What was replaced and archived, so the administrator can see it was kept. */
  replaced: { provider: string | null; acpEntries: AcpEntry[]; conferenceId: string | null } | null;
  /** The email the change sent the user (queued with the change, delivered right after it), or null. */
  mail: MailOutcome | null;
  /** What the administrator must hear about that email (not delivered yet, refused), or null. */
  warning: string | null;
}

interface DialInRow {
  user_id: string;
  bridge_id: string;
  bridge_name: string;
  conference_id: string;
  pin_hash: string;
  service_number: string | null;
  toll_free_service_number: string | null;
  allow_pstn_only_meetings: boolean;
  allow_toll_free_dial_in: boolean;
  updated_at: Date | string;
  user_principal_name: string;
  display_name: string;
}

function toView(r: DialInRow): DialInView {
  return {
    userId: r.user_id,
    userPrincipalName: r.user_principal_name,
    displayName: r.display_name,
    provider: "Microsoft",
    domain: MICROSOFT_DOMAIN,
    bridge: r.bridge_name,
    conferenceId: r.conference_id,
    serviceNumber: r.service_number,
    tollFreeServiceNumber: r.toll_free_service_number,
    allowPstnOnlyMeetings: r.allow_pstn_only_meetings,
    allowTollFreeDialIn: r.allow_toll_free_dial_in,
    updatedAt: new Date(r.updated_at).toISOString(),
  };
}

const dialInSelect = sql`
  select d.user_id, d.bridge_id, b.name as bridge_name, d.conference_id, d.pin_hash, d.service_number,
         d.toll_free_service_number, d.allow_pstn_only_meetings, d.allow_toll_free_dial_in, d.updated_at,
         u.user_principal_name, u.display_name
  from dial_in_users d join bridges b on b.id = d.bridge_id join users u on u.id = d.user_id`;

async function loadDialIn(ctx: Ctx, userId: string): Promise<DialInRow | undefined> {
  const [r] = await rows<DialInRow>(ctx.db, sql`${dialInSelect} where d.user_id = ${userId}`);
  return r;
}

function snapshot(r: DialInRow): DialInSnapshot {
  return {
    bridgeId: r.bridge_id,
    conferenceId: r.conference_id,
    pinHash: r.pin_hash,
    serviceNumber: r.service_number,
    tollFreeServiceNumber: r.toll_free_service_number,
    allowPstnOnlyMeetings: r.allow_pstn_only_meetings,
    allowTollFreeDialIn: r.allow_toll_free_dial_in,
  };
}

/** What the audit log keeps of a dial-in row: everything but the PIN hash. */
export function auditDialIn(r: DialInRow | DialInSnapshot | undefined | null): Record<string, unknown> | null {
  if (!r) return null;
  return auditSnapshot("pin_hash" in r ? snapshot(r) : r);
}

async function archive(ctx: Ctx, userId: string, operation: string, data: ArchiveData, jobId?: string): Promise<number> {
  const [r] = await rows<{ id: string | number }>(
    ctx.db,
    sql`insert into archives (tenant_id, user_id, job_id, operation, data)
        values (${ctx.tenantId}, ${userId}, ${jobId ?? null}, ${operation}, ${JSON.stringify(data)}::jsonb) returning id`,
  );
  return Number(r?.id ?? 0);
}

/** Picks a conference ID not held on the bridge: random candidates, checked in one query. */
async function allocateConferenceId(ctx: Ctx, bridge: Bridge, rng: Rng): Promise<string> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const candidates = Array.from({ length: 16 }, () => {
      const first = 1 + rng.int(9);
      let rest = "";
      for (let i = 1; i < bridge.conferenceIdLength; i++) rest += String(rng.int(10));
      return `${first}${rest}`;
    });
    const held = await rows<{ conference_id: string }>(
      ctx.db,
      sql`select conference_id from dial_in_users where bridge_id = ${bridge.id}
          and conference_id in (select jsonb_array_elements_text(${JSON.stringify(candidates)}::jsonb))`,
    );
    const taken = new Set(held.map((h) => h.conference_id));
    const free = candidates.find((c) => !taken.has(c));
    if (free) return free;
  }
  throw new AppError("conference_id_taken", `The bridge "${bridge.name}" has no free conference IDs left: create another bridge.`);
}

async function assertConferenceIdFree(ctx: Ctx, bridge: Bridge, conferenceId: string, userId: string): Promise<void> {
  const [holder] = await rows<{ user_principal_name: string }>(
    ctx.db,
    sql`select u.user_principal_name from dial_in_users d join users u on u.id = d.user_id
        where d.bridge_id = ${bridge.id} and d.conference_id = ${conferenceId} and d.user_id <> ${userId}`,
  );
  if (holder) {
    throw new AppError(
      "conference_id_taken",
      `Conference ID ${conferenceId} is already held on the bridge "${bridge.name}": choose another, or omit --conference-id to have one generated.`,
    );
  }
}

function licenceError(user: UserView): AppError {
  return new AppError("licence_required", licenceMessage(user.userPrincipalName));
}

async function tenantDomain(ctx: Ctx): Promise<string> {
  const [t] = await rows<{ domain: string }>(ctx.db, sql`select domain from tenants where id = ${ctx.tenantId}`);
  return t?.domain ?? "localhost";
}

/**
 * Who the tenant's dial-in emails come from, when a change sends them: always when asked (`sendEmail`),
 * else when the tenant sends emails automatically. Null: the change sends none.
 */
export async function dialInMailSender(ctx: Ctx, sendEmail = false): Promise<MailSender | null> {
  const settings = await getConferencingSettings(ctx);
  if (!sendEmail && !settings.automaticallySendEmailsToUsers) return null;
  return mailSender(settings, await tenantDomain(ctx));
}

export interface EnableOptions {
  replaceProvider?: boolean;
  bridge?: string;
  conferenceId?: string | number;
  serviceNumber?: string;
  tollFreeServiceNumber?: string;
  allowPstnOnlyMeetings?: boolean;
  allowTollFreeDialIn?: boolean;
  /** Send the user an email even when the tenant does not send them automatically. */
  sendEmail?: boolean;
  /** The audit operation name, when enabling is part of something else (a licence assignment). */
  operation?: string;
  rng?: Rng;
}

interface TxResult {
  userId: string;
  change: DialInChange;
  /** The change's email, queued in its transaction: delivered once it commits. */
  mailId: string | null;
}

/**
 * Enable-CsOnlineDialInConferencingUser inside the caller's transaction: licence check, provider
 * replacement (archived first), conference ID and numbers, a new PIN. The bulk move decides and writes
 * with the same functions (decideEnable, applyEnables).
 */
export async function enableDialInInTx(ctx: Ctx, userId: string, opts: EnableOptions): Promise<TxResult> {
  const state = (await loadEnableStates(ctx, [userId])).get(userId);
  if (!state) throw new AppError("user_not_found", `No user has the object id ${userId}.`);
  const upn = state.userPrincipalName;
  const d = decideEnable(state, { replaceProvider: opts.replaceProvider === true, job: false });
  if (d.kind === "fail") throw new AppError(d.code, d.message);
  if (d.kind === "noop") {
    const current = await loadDialIn(ctx, userId);
    if (!current) throw new AppError("internal", `The dial-in settings of ${upn} were not found.`);
    return {
      userId,
      change: {
        user: upn,
        changed: false,
        message: d.message,
        dialIn: toView(current),
        pin: null,
        replaced: null,
        mail: null,
        warning: null,
      },
      mailId: null,
    };
  }
  const bridge = await findBridge(ctx, opts.bridge);
  const rng = opts.rng ?? cryptoRng;
  let conferenceId: string;
  if (opts.conferenceId !== undefined) {
    conferenceId = validateConferenceId(opts.conferenceId, bridge.conferenceIdLength);
    await assertConferenceIdFree(ctx, bridge, conferenceId, userId);
  } else {
    conferenceId = await allocateConferenceId(ctx, bridge, rng);
  }
  const serviceNumber = opts.serviceNumber
    ? atField("body.serviceNumber", () => numberOnBridge(bridge, opts.serviceNumber ?? "", "toll"))
    : bridge.defaultServiceNumber;
  const tollFree = opts.tollFreeServiceNumber
    ? atField("body.tollFreeServiceNumber", () => numberOnBridge(bridge, opts.tollFreeServiceNumber ?? "", "toll-free"))
    : bridge.defaultTollFreeServiceNumber;
  const settings = await getConferencingSettings(ctx);
  const sendMail = opts.sendEmail === true || settings.automaticallySendEmailsToUsers;
  const pin = generatePin(settings.pinLength, rng);
  const operation = opts.operation ?? "conferencing.enable";
  // Archived even when nothing third-party is replaced, so a restore can take the user back to no provider.
  const [enabled] = await applyEnables(
    ctx,
    [
      {
        userId,
        userPrincipalName: upn,
        displayName: state.displayName,
        previousProvider: d.previous,
        bridgeId: bridge.id,
        conferenceId,
        serviceNumber,
        tollFreeServiceNumber: tollFree,
        allowPstnOnlyMeetings: opts.allowPstnOnlyMeetings ?? settings.allowPstnOnlyMeetingsByDefault,
        allowTollFreeDialIn: opts.allowTollFreeDialIn ?? true,
        pin,
        pinHash: hashPin(pin, ctx.env.pinKey),
      },
    ],
    {
      jobId: null,
      archiveOperation: operation,
      auditOperation: operation,
      auditAfter: "settings",
      mail: sendMail ? mailSender(settings, await tenantDomain(ctx)) : null,
    },
  );
  const row = await loadDialIn(ctx, userId);
  if (!enabled || !row) throw new AppError("internal", "The dial-in settings were not saved.");
  return {
    userId,
    change: {
      user: upn,
      changed: true,
      message: d.message,
      dialIn: toView(row),
      pin,
      replaced: d.previous !== null ? { provider: d.previous, acpEntries: enabled.replacedEntries, conferenceId: null } : null,
      mail: null,
      warning: null,
    },
    mailId: enabled.mailId,
  };
}

/** Delivers the change's email once it is committed; how that went comes back with the change, never as an error. */
async function deliver(ctx: Ctx, result: TxResult): Promise<DialInChange> {
  return { ...result.change, ...(await deliverAfterCommit(ctx, result.mailId)) };
}

/** Enable-CsOnlineDialInConferencingUser: makes Microsoft the user's audio conferencing provider. */
export async function enableDialIn(ctx: Ctx, identity: string, opts: EnableOptions): Promise<DialInChange> {
  const result = await inTransaction(ctx, async (tx) => enableDialInInTx(tx, await resolveUserId(tx, identity), opts));
  return deliver(ctx, result);
}

export interface SetOptions {
  bridge?: string;
  serviceNumber?: string;
  tollFreeServiceNumber?: string;
  allowPstnOnlyMeetings?: boolean;
  allowTollFreeDialIn?: boolean;
  resetLeaderPin?: boolean;
  conferenceId?: string | number;
  resetConferenceId?: boolean;
  sendEmail?: boolean;
  rng?: Rng;
}

async function requireMicrosoft(ctx: Ctx, user: UserView): Promise<DialInRow> {
  const current = await loadDialIn(ctx, user.id);
  if (current) return current;
  if (user.provider.kind === "third-party") {
    throw new AppError(
      "not_microsoft_provider",
      `${user.userPrincipalName} uses ${user.provider.name}, not Microsoft: change the provider with \`callplane conferencing enable ${user.userPrincipalName} --replace-provider\`, or edit the ${user.provider.name} entry with \`callplane conferencing acp set\`.`,
    );
  }
  throw new AppError(
    "not_enabled",
    `${user.userPrincipalName} is not enabled for Microsoft dial-in conferencing: enable it with \`callplane conferencing enable ${user.userPrincipalName}\`.`,
  );
}

/**
 * Set-CsOnlineDialInConferencingUser: default numbers, PSTN-only meetings, a new PIN or conference ID.
 * What it replaces is archived first.
 */
export async function setDialIn(ctx: Ctx, identity: string, opts: SetOptions): Promise<DialInChange> {
  if (opts.conferenceId !== undefined && opts.resetConferenceId) {
    throw new AppError("invalid_input", "Give either --conference-id or --reset-conference-id, not both.");
  }
  const result = await inTransaction(ctx, async (tx): Promise<TxResult> => {
    const userId = await resolveUserId(tx, identity);
    // Read under the user's lock: a concurrent change to the same user waits, so none is lost.
    await lockUsers(tx, [userId]);
    const user = await getUserById(tx, userId);
    const current = await requireMicrosoft(tx, user);
    if (!user.audioConferencingLicensed) throw licenceError(user);
    const bridge = await findBridge(tx, opts.bridge ?? current.bridge_id);
    const movingBridge = bridge.id !== current.bridge_id;
    const rng = opts.rng ?? cryptoRng;
    let conferenceId = current.conference_id;
    if (opts.conferenceId !== undefined) {
      conferenceId = validateConferenceId(opts.conferenceId, bridge.conferenceIdLength);
      await assertConferenceIdFree(tx, bridge, conferenceId, userId);
    } else if (opts.resetConferenceId || (movingBridge && current.conference_id.length !== bridge.conferenceIdLength)) {
      conferenceId = await allocateConferenceId(tx, bridge, rng);
    } else if (movingBridge) {
      await assertConferenceIdFree(tx, bridge, conferenceId, userId);
    }
    const serviceNumber = opts.serviceNumber
      ? atField("body.serviceNumber", () => numberOnBridge(bridge, opts.serviceNumber ?? "", "toll"))
      : movingBridge
        ? bridge.defaultServiceNumber
        : current.service_number;
    const tollFree = opts.tollFreeServiceNumber
      ? atField("body.tollFreeServiceNumber", () => numberOnBridge(bridge, opts.tollFreeServiceNumber ?? "", "toll-free"))
      : movingBridge
        ? bridge.defaultTollFreeServiceNumber
        : current.toll_free_service_number;
    const settings = await getConferencingSettings(tx);
    const pin = opts.resetLeaderPin ? generatePin(settings.pinLength, rng) : null;
    const next = {
      bridgeId: bridge.id,
      conferenceId,
      serviceNumber,
      tollFreeServiceNumber: tollFree,
      allowPstnOnlyMeetings: opts.allowPstnOnlyMeetings ?? current.allow_pstn_only_meetings,
      allowTollFreeDialIn: opts.allowTollFreeDialIn ?? current.allow_toll_free_dial_in,
    };
    const prev = snapshot(current);
    const changedFields = (Object.keys(next) as (keyof typeof next)[]).filter((k) => next[k] !== prev[k]);
    if (changedFields.length === 0 && !pin) {
      return {
        userId,
        change: {
          user: user.userPrincipalName,
          changed: false,
          message: `Nothing to change for ${user.userPrincipalName}.`,
          dialIn: toView(current),
          pin: null,
          replaced: null,
          mail: null,
          warning: null,
        },
        mailId: null,
      };
    }
    await archive(tx, userId, "conferencing.set", { provider: "Microsoft", acpEntries: [], dialIn: prev });
    await tx.db.execute(sql`update dial_in_users set bridge_id = ${next.bridgeId}, conference_id = ${next.conferenceId},
        service_number = ${next.serviceNumber}, toll_free_service_number = ${next.tollFreeServiceNumber},
        allow_pstn_only_meetings = ${next.allowPstnOnlyMeetings}, allow_toll_free_dial_in = ${next.allowTollFreeDialIn},
        ${pin ? sql`pin_hash = ${hashPin(pin, tx.env.pinKey)},` : sql``} updated_at = now()
        where user_id = ${userId}`);
    const row = await loadDialIn(tx, userId);
    if (!row) throw new AppError("internal", "The dial-in settings disappeared.");
    const view = toView(row);
    await recordAudit(tx, [
      {
        operation: "conferencing.set",
        targetType: "user",
        targetId: userId,
        before: auditDialIn(current),
        after: { ...auditDialIn(row), pinReset: pin !== null },
      },
    ]);
    const what = [...changedFields, ...(pin ? ["leaderPin"] : [])];
    const notify = pin !== null || what.some((f) => f === "conferenceId" || f === "serviceNumber" || f === "tollFreeServiceNumber");
    const sendMail = opts.sendEmail === true || (settings.automaticallySendEmailsToUsers && notify);
    return {
      userId,
      change: {
        user: user.userPrincipalName,
        changed: true,
        message: `Changed ${what.join(", ")} for ${user.userPrincipalName}.`,
        dialIn: view,
        pin,
        replaced: { provider: "Microsoft", acpEntries: [], conferenceId: current.conference_id },
        mail: null,
        warning: null,
      },
      mailId: await queueMail(
        tx,
        userId,
        pin !== null ? "dial-in.pin-reset" : "dial-in.changed",
        sendMail
          ? dialInMail(
              mailSender(settings, await tenantDomain(tx)),
              user,
              pin !== null && changedFields.length === 0
                ? "Your new dial-in conferencing PIN"
                : "Your dial-in conferencing details have changed",
              [
                pin !== null && changedFields.length === 0
                  ? "Your leader PIN was reset. Use the new one from now on; the old one no longer works."
                  : "Your dial-in conferencing details have changed. Use these from now on.",
              ],
              view,
              pin,
            )
          : null,
      ),
    };
  });
  return deliver(ctx, result);
}

/** Disable-CsOnlineDialInConferencingUser inside the caller's transaction: archives and releases the conference ID. */
export async function disableDialInInTx(ctx: Ctx, userId: string, opts: { operation?: string; sendEmail?: boolean }): Promise<TxResult> {
  await lockUsers(ctx, [userId]);
  const user = await getUserById(ctx, userId);
  const current = await loadDialIn(ctx, userId);
  if (!current) {
    if (user.provider.kind === "third-party") {
      throw new AppError(
        "not_microsoft_provider",
        `${user.userPrincipalName} uses ${user.provider.name}, not Microsoft: remove that provider with \`callplane conferencing acp remove ${user.userPrincipalName}\` (Remove-CsUserAcp).`,
      );
    }
    throw new AppError(
      "not_enabled",
      `${user.userPrincipalName} is not enabled for Microsoft dial-in conferencing: there is nothing to disable.`,
    );
  }
  const operation = opts.operation ?? "conferencing.disable";
  await archive(ctx, userId, operation, { provider: "Microsoft", acpEntries: [], dialIn: snapshot(current) });
  await ctx.db.execute(sql`delete from dial_in_users where user_id = ${userId}`);
  await recordAudit(ctx, [{ operation, targetType: "user", targetId: userId, before: auditDialIn(current), after: null }]);
  const settings = await getConferencingSettings(ctx);
  const sendMail = opts.sendEmail === true || settings.automaticallySendEmailsToUsers;
  return {
    userId,
    change: {
      user: user.userPrincipalName,
      changed: true,
      message: `Dial-in conferencing is off for ${user.userPrincipalName}; conference ID ${current.conference_id} is released.`,
      dialIn: null,
      pin: null,
      replaced: { provider: "Microsoft", acpEntries: [], conferenceId: current.conference_id },
      mail: null,
      warning: null,
    },
    mailId: await queueMail(
      ctx,
      userId,
      "dial-in.disabled",
      sendMail
        ? dialInMail(
            mailSender(settings, await tenantDomain(ctx)),
            user,
            "Dial-in conferencing is off",
            ["Dial-in conferencing has been turned off for your meetings. Your conference ID and PIN no longer work."],
            null,
            null,
          )
        : null,
    ),
  };
}

/** Disable-CsOnlineDialInConferencingUser. */
export async function disableDialIn(ctx: Ctx, identity: string, opts: { sendEmail?: boolean }): Promise<DialInChange> {
  const result = await inTransaction(ctx, async (tx) => disableDialInInTx(tx, await resolveUserId(tx, identity), opts));
  return deliver(ctx, result);
}

/** Get-CsOnlineDialInConferencingUser for one user; only Microsoft-provider users have one. */
export async function getDialIn(ctx: Ctx, identity: string): Promise<DialInView> {
  const userId = await resolveUserId(ctx, identity);
  const user = await getUserById(ctx, userId);
  return toView(await requireMicrosoft(ctx, user));
}

/** Get-CsOnlineDialInConferencingUser without identity: Microsoft-provider users, at most `resultSize`. */
export async function listDialInUsers(ctx: Ctx, q: { resultSize?: number; offset?: number }): Promise<DialInView[]> {
  const size = q.resultSize ?? 1000;
  if (size <= 0) return [];
  const result = await rows<DialInRow>(
    ctx.db,
    sql`${dialInSelect} where d.tenant_id = ${ctx.tenantId} order by lower(u.user_principal_name)
        limit ${Math.min(size, 100000)} offset ${Math.max(q.offset ?? 0, 0)}`,
  );
  return result.map(toView);
}

export interface RestoreResult {
  user: string;
  changed: boolean;
  message: string;
  provider: string | null;
  dialIn: DialInView | null;
  acpEntries: AcpEntry[];
  /** The email telling the user their previous details are back, or null. */
  mail: MailOutcome | null;
  warning: string | null;
}

/**
 * Puts back what the user's most recent unrestored archive holds; the state it replaces is archived too.
 * A restore job decides and writes with the same functions (decideRestore, applyRestores).
 */
export async function restoreUser(ctx: Ctx, identity: string): Promise<RestoreResult> {
  const { mailId, ...result } = await inTransaction(ctx, async (tx) => {
    const userId = await resolveUserId(tx, identity);
    const [state] = await loadRestoreStates(tx, [{ userId, archiveId: null }]);
    const now = state?.user;
    if (!state || !now) throw new AppError("user_not_found", `No user has the object id ${userId}.`);
    const d = decideRestore(state, { job: false });
    if (d.kind !== "restore") throw new AppError(d.kind === "fail" ? d.code : "nothing_to_restore", d.message);
    const [mailId] = await applyRestores(
      tx,
      [
        {
          userId,
          archiveId: d.archive.id,
          data: d.archive.data,
          now: { provider: now.provider, dialIn: now.dialIn, acpEntries: now.acpEntries },
          recipient: now,
        },
      ],
      { jobId: null, archiveOperation: "conferencing.restore", audit: "read-back", mail: await dialInMailSender(tx) },
    );
    const after = await loadDialIn(tx, userId);
    const afterAcp = await listUserAcpEntries(tx, userId);
    const afterUser = await getUserById(tx, userId);
    return {
      user: state.name,
      changed: true,
      message: restoredMessage(state.name, afterUser.provider.name, d.archive),
      provider: afterUser.provider.name,
      dialIn: after ? toView(after) : null,
      acpEntries: afterAcp,
      mailId: mailId ?? null,
    };
  });
  return { ...result, ...(await deliverAfterCommit(ctx, mailId)) };
}

export interface ConferencingSummary {
  readyForAudioConferencing: number;
  /** The admin center's banner, when there is anyone to move. */
  banner: string | null;
  byProvider: Record<string, number>;
  dialInUsers: number;
}

/** What the audio conferencing page shows at a glance: the banner count and users by provider. */
export async function getConferencingSummary(ctx: Ctx): Promise<ConferencingSummary> {
  const ready = await countReadyForAudioConferencing(ctx);
  const counts = await rows<{ provider: string; n: string | number }>(
    ctx.db,
    sql`select case when d.user_id is not null then 'Microsoft' else coalesce(e.name, 'none') end as provider, count(*) as n
        from users u
        left join dial_in_users d on d.user_id = u.id
        left join lateral (select name from user_acp_entries x where x.user_id = u.id order by x.is_default desc, x.created_at limit 1) e on true
        where u.tenant_id = ${ctx.tenantId} and u.deleted_at is null
        group by 1 order by 1`,
  );
  const byProvider = Object.fromEntries(counts.map((c) => [c.provider, Number(c.n)]));
  return {
    readyForAudioConferencing: ready,
    banner:
      ready > 0
        ? `${ready} user${ready === 1 ? " has" : "s have"} an Audio Conferencing licence but don't have Microsoft as their audio conferencing provider. Move them with \`callplane conferencing move-to-microsoft --ready\`.`
        : null,
    byProvider,
    dialInUsers: byProvider.Microsoft ?? 0,
  };
}
