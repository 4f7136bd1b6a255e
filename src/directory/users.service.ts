import { type SQL, sql } from "drizzle-orm";
import { recordAudit } from "../audit/audit.service.ts";
import { findProvider } from "../conferencing/providers.service.ts";
import { type Ctx, inTransaction } from "../core/context.ts";
import { AppError } from "../core/errors.ts";
import { type InterpretedUserType, interpretUserType } from "../hybrid/lifecycle.ts";
import { rows } from "../store/db.ts";

/** Service plans that give a user Audio Conferencing (the reference system has used both names). */
export const AUDIO_CONFERENCING_PLANS = ["MCOMEETADV", "MCOMEETADD"] as const;
export const PHONE_SYSTEM_PLAN = "MCOEV";

/** SQL: the Audio Conferencing service plans as a text[] literal. */
export const AUDIO_CONFERENCING_PLANS_SQL = sql.raw(`array[${AUDIO_CONFERENCING_PLANS.map((p) => `'${p}'`).join(",")}]::text[]`);

/** SQL: the user `u` holds an Audio Conferencing licence. */
export const hasAudioConferencingLicence = sql`exists (
  select 1 from licence_assignments la join skus s on s.id = la.sku_id
  where la.user_id = u.id and s.service_plans && ${AUDIO_CONFERENCING_PLANS_SQL})`;

export type ProviderKind = "microsoft" | "third-party" | "none";

export interface UserView {
  id: string;
  userPrincipalName: string;
  sipAddress: string | null;
  alias: string | null;
  displayName: string;
  usageLocation: string | null;
  source: "on-premises" | "cloud";
  licences: string[];
  servicePlans: string[];
  audioConferencingLicensed: boolean;
  provider: { kind: ProviderKind; name: string | null };
  /** Licensed for Audio Conferencing but not yet on Microsoft: the admin-center banner counts these. */
  readyForAudioConferencing: boolean;
  voice: UserVoiceView;
  createdAt: string;
  updatedAt: string;
}

/** Get-CsOnlineUser's sync and voice fields. */
export interface UserVoiceView {
  /** UserDirSyncEnabled: synchronised from the on-premises directory. */
  userDirSyncEnabled: boolean;
  immutableId: string | null;
  lastSyncedAt: string | null;
  /** Set when the on-premises object is gone: the user is soft-deleted (hidden from lists and identity resolution). */
  deletedAt: string | null;
  homing: "online" | "on-premises";
  /** OnPremHostingProvider: `SRV:` on a pool, `sipfed.online.lync.com` online. */
  onPremHostingProvider: string | null;
  onPremRegistrarPool: string | null;
  onPremSipEnabled: boolean;
  onPremEnterpriseVoiceEnabled: boolean;
  onPremLineUri: string | null;
  /** LineURI: the on-premises line URI is kept as the user's line URI. */
  lineUri: string | null;
  onPremVoiceRoutingPolicy: string | null;
  enterpriseVoiceEnabled: boolean;
  hostedVoicemail: boolean;
  /** The assigned online voice routing policy; null means Global. */
  onlineVoiceRoutingPolicy: string | null;
  effectiveOnlineVoiceRoutingPolicy: string;
  tenantDialPlan: string | null;
  interpretedUserType: InterpretedUserType;
}

interface UserRow {
  id: string;
  user_principal_name: string;
  sip_address: string | null;
  alias: string | null;
  display_name: string;
  usage_location: string | null;
  source: string;
  skus: string[] | null;
  plans: string[] | null;
  on_microsoft: boolean;
  acp_name: string | null;
  immutable_id: string | null;
  last_synced_at: Date | string | null;
  deleted_at: Date | string | null;
  homing: string;
  hosting_provider: string | null;
  on_prem_registrar_pool: string | null;
  on_prem_sip_enabled: boolean;
  on_prem_enterprise_voice_enabled: boolean;
  on_prem_line_uri: string | null;
  on_prem_voice_routing_policy: string | null;
  enterprise_voice_enabled: boolean;
  hosted_voicemail: boolean;
  online_voice_routing_policy: string | null;
  tenant_dial_plan: string | null;
  created_at: Date | string;
  updated_at: Date | string;
}

const userSelect = sql`
  select u.id, u.user_principal_name, u.sip_address, u.alias, u.display_name, u.usage_location, u.source,
         u.created_at, u.updated_at, u.immutable_id, u.last_synced_at, u.deleted_at, u.homing, u.hosting_provider,
         u.on_prem_registrar_pool, u.on_prem_sip_enabled, u.on_prem_enterprise_voice_enabled, u.on_prem_line_uri,
         u.on_prem_voice_routing_policy, u.enterprise_voice_enabled, u.hosted_voicemail, u.online_voice_routing_policy,
         u.tenant_dial_plan, lic.skus, lic.plans,
         (d.user_id is not null) as on_microsoft, acp.name as acp_name
  from users u
  left join lateral (
    select array_agg(distinct s.sku_part_number) as skus, array_agg(distinct p.plan) as plans
    from licence_assignments la join skus s on s.id = la.sku_id
    cross join lateral unnest(s.service_plans) as p(plan)
    where la.user_id = u.id) lic on true
  left join dial_in_users d on d.user_id = u.id
  left join lateral (
    select e.name from user_acp_entries e where e.user_id = u.id
    order by e.is_default desc, e.created_at limit 1) acp on true`;

function toView(r: UserRow): UserView {
  const plans = (r.plans ?? []).filter((p): p is string => typeof p === "string").sort();
  const licensed = plans.some((p) => (AUDIO_CONFERENCING_PLANS as readonly string[]).includes(p));
  const provider: UserView["provider"] = r.on_microsoft
    ? { kind: "microsoft", name: "Microsoft" }
    : r.acp_name
      ? { kind: "third-party", name: r.acp_name }
      : { kind: "none", name: null };
  return {
    id: r.id,
    userPrincipalName: r.user_principal_name,
    sipAddress: r.sip_address,
    alias: r.alias,
    displayName: r.display_name,
    usageLocation: r.usage_location,
    source: r.source === "on-premises" ? "on-premises" : "cloud",
    licences: (r.skus ?? []).filter((s): s is string => typeof s === "string").sort(),
    servicePlans: plans,
    audioConferencingLicensed: licensed,
    provider,
    readyForAudioConferencing: licensed && provider.kind !== "microsoft",
    voice: toVoiceView(r),
    createdAt: new Date(r.created_at).toISOString(),
    updatedAt: new Date(r.updated_at).toISOString(),
  };
}

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

function toVoiceView(r: UserRow): UserVoiceView {
  const synced = r.source === "on-premises" && r.immutable_id !== null;
  const homing = r.homing === "on-premises" ? "on-premises" : "online";
  return {
    userDirSyncEnabled: synced,
    immutableId: r.immutable_id,
    lastSyncedAt: iso(r.last_synced_at),
    deletedAt: iso(r.deleted_at),
    homing,
    onPremHostingProvider: r.hosting_provider,
    onPremRegistrarPool: r.on_prem_registrar_pool,
    onPremSipEnabled: r.on_prem_sip_enabled,
    onPremEnterpriseVoiceEnabled: r.on_prem_enterprise_voice_enabled,
    onPremLineUri: r.on_prem_line_uri,
    lineUri: r.on_prem_line_uri,
    onPremVoiceRoutingPolicy: r.on_prem_voice_routing_policy,
    enterpriseVoiceEnabled: r.enterprise_voice_enabled,
    hostedVoicemail: r.hosted_voicemail,
    onlineVoiceRoutingPolicy: r.online_voice_routing_policy,
    effectiveOnlineVoiceRoutingPolicy: r.online_voice_routing_policy ?? "Global",
    tenantDialPlan: r.tenant_dial_plan,
    interpretedUserType: interpretUserType({
      synced,
      deleted: r.deleted_at !== null,
      homing,
      onPremSipEnabled: r.on_prem_sip_enabled,
      onPremEnterpriseVoiceEnabled: r.on_prem_enterprise_voice_enabled,
      onPremLineUri: r.on_prem_line_uri,
      enterpriseVoiceEnabled: r.enterprise_voice_enabled,
      hostedVoicemail: r.hosted_voicemail,
    }),
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Resolves many identities in one round trip: object id, UPN, SIP address (with or without `sip:`),
 * alias, and, only when nothing else matches, display name. Case-insensitive.
 * Returns, for each key as given (lowercased), the ids of the users it matches.
 */
export async function resolveIdentities(ctx: Ctx, identities: string[]): Promise<Map<string, string[]>> {
  const keys = [...new Set(identities.map((i) => i.trim().toLowerCase()).filter((k) => k.length > 0))];
  const out = new Map<string, string[]>();
  if (keys.length === 0) return out;
  const list = (values: string[]) => sql`array(select jsonb_array_elements_text(${JSON.stringify(values)}::jsonb))`;
  const ids = keys.filter((k) => UUID.test(k));
  // First the identifiers almost every list uses (UPN, object id); then, for what is left, SIP address,
  // alias and display name. Each condition is "indexed column = any(array)", so the planner ORs
  // index scans whether there is one key or thousands.
  const primary = await rows<{ id: string; upn: string }>(
    ctx.db,
    sql`select u.id, lower(u.user_principal_name) as upn from users u
        where u.tenant_id = ${ctx.tenantId} and u.deleted_at is null
          and (lower(u.user_principal_name) = any(${list(keys)})
            ${ids.length ? sql`or u.id = any(array(select (jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb))::uuid))` : sql``})`,
  );
  const best = new Map<string, { ids: Set<string> }>();
  const add = (k: string | null, id: string, into: Map<string, { ids: Set<string> }>) => {
    if (k === null) return;
    const cur = into.get(k) ?? { ids: new Set<string>() };
    cur.ids.add(id);
    into.set(k, cur);
  };
  for (const f of primary) {
    add(f.id, f.id, best);
    add(f.upn, f.id, best);
  }
  const rest = keys.filter((k) => !best.has(k));
  if (rest.length > 0) {
    const sips = rest.map((k) => (k.startsWith("sip:") ? k : `sip:${k}`));
    const found = await rows<{ id: string; sip: string | null; alias: string | null; dn: string }>(
      ctx.db,
      sql`select u.id, lower(u.sip_address) as sip, lower(u.alias) as alias, lower(u.display_name) as dn
          from users u
          where u.tenant_id = ${ctx.tenantId} and u.deleted_at is null
            and (lower(u.sip_address) = any(${list(sips)})
              or lower(u.alias) = any(${list(rest)})
              or lower(u.display_name) = any(${list(rest)}))`,
    );
    const exact = new Map<string, { ids: Set<string> }>();
    const byName = new Map<string, { ids: Set<string> }>();
    for (const f of found) {
      add(f.alias, f.id, exact);
      if (f.sip) {
        add(f.sip, f.id, exact);
        add(f.sip.slice(4), f.id, exact);
      }
      add(f.dn, f.id, byName);
    }
    // SIP address and alias rank before display names, which only count when nothing else matches.
    for (const k of rest) {
      const hit = exact.get(k) ?? byName.get(k);
      if (hit) best.set(k, hit);
    }
  }
  for (const k of keys) out.set(k, [...(best.get(k)?.ids ?? [])]);
  return out;
}

/** A bulk job's items resolved to users: each item's user id, or a failed outcome saying why not. */
export interface ResolvedItems {
  userIdOf: Map<number, string>;
  failures: { seq: number; outcome: "not-found"; failed: true; changed: false; message: string }[];
}

/** Resolves the items of a bulk job batch (those without a user id yet) in one round trip. */
export async function resolveJobItems(
  ctx: Ctx,
  items: readonly { seq: number; identity: string; userId: string | null }[],
): Promise<ResolvedItems> {
  const resolved = await resolveIdentities(
    ctx,
    items.filter((i) => !i.userId).map((i) => i.identity),
  );
  const userIdOf = new Map<number, string>();
  const failures: ResolvedItems["failures"] = [];
  for (const item of items) {
    if (item.userId) {
      userIdOf.set(item.seq, item.userId);
      continue;
    }
    const ids = resolved.get(item.identity.trim().toLowerCase()) ?? [];
    const [only] = ids;
    if (ids.length === 1 && only) {
      userIdOf.set(item.seq, only);
      continue;
    }
    failures.push({
      seq: item.seq,
      outcome: "not-found",
      failed: true,
      changed: false,
      message:
        ids.length === 0
          ? `There was an error while retrieving user ${item.identity}: no user has this UPN, SIP address, alias or object id.`
          : `${item.identity} matches ${ids.length} users: give the UPN or object id instead.`,
    });
  }
  return { userIdOf, failures };
}

/** An item outcome as the job runner stores it. */
interface ItemFailure {
  seq: number;
  userId: string;
  outcome: string;
  failed: boolean;
  changed: false;
  message: string;
}

/**
 * Walks a batch's resolved items with their user state, recording the two outcomes every bulk job
 * shares — the user is gone since planning, or the item is the same user as an earlier one — and
 * calling `fn` for the rest. `seen` lives for the whole run so duplicates across batches are caught.
 */
export function forEachResolvedItem<S>(
  items: readonly { seq: number; identity: string }[],
  userIdOf: Map<number, string>,
  states: Map<string, S>,
  seen: Map<string, number>,
  outcomes: ItemFailure[] | { push(o: ItemFailure): unknown },
  upnOf: (state: S) => string,
  fn: (item: { seq: number; identity: string }, userId: string, state: S) => void,
): void {
  for (const item of items) {
    const userId = userIdOf.get(item.seq);
    if (!userId) continue;
    const state = states.get(userId);
    if (state === undefined) {
      outcomes.push({
        seq: item.seq,
        userId,
        outcome: "not-found",
        failed: true,
        changed: false,
        message: `User ${item.identity} no longer exists.`,
      });
      continue;
    }
    const first = seen.get(userId);
    if (first !== undefined && first !== item.seq) {
      outcomes.push({
        seq: item.seq,
        userId,
        outcome: "duplicate",
        failed: false,
        changed: false,
        message: `${item.identity} is the same user as item ${first} (${upnOf(state)}); handled there.`,
      });
      continue;
    }
    seen.set(userId, item.seq);
    fn(item, userId, state);
  }
}

/**
 * Locks users' rows for the caller's transaction, in id order (as every writer takes them, so two
 * writers never wait on each other in a cycle): a concurrent change to the same user waits, and
 * reads made after this see its result, so no change is lost.
 */
export async function lockUsers(ctx: Ctx, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await ctx.db.execute(sql`select id from users
      where id in (select (jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb))::uuid) order by id for update`);
}

/** Finds one user by any identity, or says clearly that none or several match. */
export async function resolveUserId(ctx: Ctx, identity: string): Promise<string> {
  const key = identity.trim().toLowerCase();
  if (!key) throw new AppError("invalid_input", "The user identity is empty: give a UPN, SIP address, alias or object id.");
  const ids = (await resolveIdentities(ctx, [key])).get(key) ?? [];
  const [only] = ids;
  if (ids.length === 1 && only) return only;
  if (ids.length === 0) {
    throw new AppError(
      "user_not_found",
      `No user matches "${identity.trim()}": check the spelling, or find the user with \`callplane users list --search ${identity.trim().split("@")[0]}\`.`,
    );
  }
  const views = await Promise.all(ids.slice(0, 5).map((id) => getUserById(ctx, id)));
  throw new AppError(
    "ambiguous_identity",
    `"${identity.trim()}" matches ${ids.length} users (${views.map((v) => v.userPrincipalName).join(", ")}): use the UPN or object id instead.`,
  );
}

export async function getUserById(ctx: Ctx, id: string): Promise<UserView> {
  const [r] = await rows<UserRow>(ctx.db, sql`${userSelect} where u.tenant_id = ${ctx.tenantId} and u.id = ${id}`);
  if (!r) throw new AppError("user_not_found", `No user has the object id ${id}.`);
  return toView(r);
}

/** Get-CsOnlineUser for one identity. */
export async function getUser(ctx: Ctx, identity: string): Promise<UserView> {
  return getUserById(ctx, await resolveUserId(ctx, identity));
}

export interface ListUsersQuery {
  /** `microsoft`, `third-party`, `none`, or a provider name such as `InterCall`. */
  provider?: string;
  /** Holds (true) or lacks (false) an Audio Conferencing licence. */
  licensed?: boolean;
  readyForAudioConferencing?: boolean;
  source?: "on-premises" | "cloud";
  homing?: "online" | "on-premises";
  lifecycle?: InterpretedUserType;
  search?: string;
  sort?: UserSortKey;
  order?: "asc" | "desc";
  limit?: number;
  offset?: number;
  /** false: skip counting the matches (counted false); the page alone is much cheaper on a large tenant. */
  count?: boolean;
}

export type UserSortKey = "userPrincipalName" | "displayName" | "provider" | "lifecycle";

export interface UserPage {
  /** The users the filters match; without counting (count: false), those up to the end of this page. */
  total: number;
  counted: boolean;
  limit: number;
  offset: number;
  items: UserView[];
}

function providerFilter(provider: string): SQL {
  const p = provider.trim().toLowerCase();
  const noDialIn = sql`not exists (select 1 from dial_in_users d2 where d2.user_id = u.id)`;
  if (p === "microsoft") return sql`exists (select 1 from dial_in_users d2 where d2.user_id = u.id)`;
  if (p === "third-party" || p === "thirdparty") {
    return sql`${noDialIn} and exists (select 1 from user_acp_entries e where e.user_id = u.id)`;
  }
  if (p === "none") return sql`${noDialIn} and not exists (select 1 from user_acp_entries e where e.user_id = u.id)`;
  return sql`${noDialIn} and exists (select 1 from user_acp_entries e where e.user_id = u.id and lower(e.name) = ${p})`;
}

type LifecycleInputs = [boolean, boolean, boolean, boolean, boolean, boolean, boolean, boolean];

/**
 * Every combination of the rule's eight inputs, with the state lifecycle.ts gives it: the SQL filter
 * and sort are built from this table, so the rule itself lives only in `interpretUserType`.
 */
const LIFECYCLE_TABLE: { inputs: LifecycleInputs; state: InterpretedUserType }[] = Array.from({ length: 256 }, (_, n) => {
  const inputs = Array.from({ length: 8 }, (_, i) => ((n >> i) & 1) === 1) as LifecycleInputs;
  const [synced, deleted, onPrem, sip, ev, hasLine, onlineEv, vm] = inputs;
  const state = interpretUserType({
    synced,
    deleted,
    homing: onPrem ? "on-premises" : "online",
    onPremSipEnabled: sip,
    onPremEnterpriseVoiceEnabled: ev,
    onPremLineUri: hasLine ? "tel:" : null,
    enterpriseVoiceEnabled: onlineEv,
    hostedVoicemail: vm,
  });
  return { inputs, state };
});

/** SQL: the rule's eight inputs as one integer (bit i = input i), so a state is a set of codes. */
const LIFECYCLE_CODE_SQL = sql`((u.source = 'on-premises' and u.immutable_id is not null)::int
  | ((u.deleted_at is not null)::int << 1) | ((u.homing = 'on-premises')::int << 2) | (u.on_prem_sip_enabled::int << 3)
  | (u.on_prem_enterprise_voice_enabled::int << 4) | ((u.on_prem_line_uri is not null)::int << 5)
  | (u.enterprise_voice_enabled::int << 6) | (u.hosted_voicemail::int << 7))`;

/** SQL: user `u` is in the lifecycle state. */
function lifecycleIs(state: InterpretedUserType): SQL {
  const codes = LIFECYCLE_TABLE.flatMap((t, code) => (t.state === state ? [code] : []));
  if (codes.length === 0) return sql`false`;
  return sql`${LIFECYCLE_CODE_SQL} in (${sql.raw(codes.join(","))})`;
}

/** The lifecycle states in the seed's order, for sorting by state. */
const LIFECYCLE_SORT: readonly InterpretedUserType[] = [
  "HybridOnpremSfBUserNeedsProvisioning",
  "HybridOnpremSfBUser",
  "HybridOnlineSfBUserNeedsProvisioning",
  "HybridOnlineSfBUser",
  "CloudOnlyUser",
  "SoftDeletedUser",
];

/** SQL: the position of `u`'s lifecycle state in LIFECYCLE_SORT, by a lookup of its input code. */
const LIFECYCLE_RANK_SQL = sql`(${sql.raw(`array[${LIFECYCLE_TABLE.map((t) => LIFECYCLE_SORT.indexOf(t.state)).join(",")}]::int[]`)})[${LIFECYCLE_CODE_SQL} + 1]`;

function sortKey(sort: UserSortKey | undefined): SQL {
  switch (sort) {
    case "displayName":
      return sql`lower(u.display_name)`;
    case "provider":
      // Microsoft, then the third party's name, then no provider (empty) — as the Provider column
      // reads; the joins come from sortJoin.
      return sql`(case when sd.user_id is not null then 'microsoft' else coalesce(sa.name, '') end)`;
    case "lifecycle":
      return LIFECYCLE_RANK_SQL;
    default:
      return sql`lower(u.user_principal_name)`;
  }
}

/** The joins a sort key needs: for the provider, set-based joins rather than a lookup per user. */
function sortJoin(ctx: Ctx, sort: UserSortKey | undefined): SQL {
  if (sort !== "provider") return sql``;
  return sql`left join dial_in_users sd on sd.user_id = u.id
    left join (select distinct on (e.user_id) e.user_id, lower(e.name) as name from user_acp_entries e
               where e.tenant_id = ${ctx.tenantId} order by e.user_id, e.is_default desc, e.created_at) sa on sa.user_id = u.id`;
}

function userWhere(ctx: Ctx, q: ListUsersQuery): SQL {
  // Soft-deleted users (their on-premises object is gone) are kept for restore and audit, never listed.
  const parts: SQL[] = [sql`u.tenant_id = ${ctx.tenantId}`, sql`u.deleted_at is null`];
  if (q.provider) parts.push(providerFilter(q.provider));
  if (q.licensed === true) parts.push(hasAudioConferencingLicence);
  if (q.licensed === false) parts.push(sql`not ${hasAudioConferencingLicence}`);
  if (q.readyForAudioConferencing === true) {
    parts.push(sql`${hasAudioConferencingLicence} and not exists (select 1 from dial_in_users d3 where d3.user_id = u.id)`);
  }
  if (q.readyForAudioConferencing === false) {
    parts.push(sql`not (${hasAudioConferencingLicence} and not exists (select 1 from dial_in_users d3 where d3.user_id = u.id))`);
  }
  if (q.source) parts.push(sql`u.source = ${q.source}`);
  if (q.homing) parts.push(sql`u.homing = ${q.homing}`);
  if (q.lifecycle) parts.push(lifecycleIs(q.lifecycle));
  if (q.search?.trim()) {
    const like = `%${q.search.trim().toLowerCase().replaceAll("\\", "\\\\").replaceAll("%", "\\%").replaceAll("_", "\\_")}%`;
    parts.push(
      sql`(lower(u.user_principal_name) like ${like} or lower(u.display_name) like ${like} or lower(coalesce(u.sip_address, '')) like ${like} or lower(coalesce(u.alias, '')) like ${like})`,
    );
  }
  return sql.join(parts, sql` and `);
}

/** Lists users a page at a time, with the admin center's filters. */
export async function listUsers(ctx: Ctx, q: ListUsersQuery): Promise<UserPage> {
  const limit = Math.min(Math.max(q.limit ?? 100, 0), 1000);
  const offset = Math.max(q.offset ?? 0, 0);
  if (q.provider && !["microsoft", "third-party", "thirdparty", "none"].includes(q.provider.trim().toLowerCase())) {
    // A misspelt provider must not read as "nobody uses it".
    await findProvider(ctx, q.provider);
  }
  const where = userWhere(ctx, q);
  const dir = q.order === "desc" ? sql`desc` : sql`asc`;
  const [count] =
    q.count === false ? [] : await rows<{ n: string | number }>(ctx.db, sql`select count(*) as n from users u where ${where}`);
  // Two steps: the page's ids from the users table alone (an index walk for the default order),
  // then the full rows of those ids only — the licence and provider joins never run for the rows
  // skipped by the offset or beaten by the sort.
  const ids =
    limit === 0
      ? []
      : await rows<{ id: string }>(
          ctx.db,
          sql`select u.id from users u ${sortJoin(ctx, q.sort)} where ${where}
              order by ${sortKey(q.sort)} ${dir}${q.sort && q.sort !== "userPrincipalName" ? sql`, lower(u.user_principal_name) ${dir}` : sql``}
              limit ${limit} offset ${offset}`,
        );
  const found =
    ids.length === 0
      ? []
      : await rows<UserRow>(
          ctx.db,
          sql`${userSelect} where u.tenant_id = ${ctx.tenantId} and u.id = any(array(select (jsonb_array_elements_text(${JSON.stringify(ids.map((r) => r.id))}::jsonb))::uuid))`,
        );
  const byId = new Map(found.map((r) => [r.id, r]));
  const items = ids.map((r) => byId.get(r.id)).filter((r): r is UserRow => r !== undefined);
  if (q.count === false) return { total: offset + items.length, counted: false, limit, offset, items: items.map(toView) };
  return { total: Number(count?.n ?? 0), counted: true, limit, offset, items: items.map(toView) };
}

/** The number the admin center's banner shows: users licensed for Audio Conferencing not on Microsoft. */
export async function countReadyForAudioConferencing(ctx: Ctx): Promise<number> {
  const [r] = await rows<{ n: string | number }>(
    ctx.db,
    sql`select count(*) as n from users u where ${userWhere(ctx, { readyForAudioConferencing: true })}`,
  );
  return Number(r?.n ?? 0);
}

export interface CreateUserInput {
  userPrincipalName: string;
  displayName?: string;
  sipAddress?: string;
  alias?: string;
  usageLocation?: string;
  source?: "on-premises" | "cloud";
}

const UPN = /^[^\s@]+@[a-z0-9-]+(\.[a-z0-9-]+)+$/i;

function normalizeSip(sip: string): string {
  const s = sip.trim();
  const bare = s.toLowerCase().startsWith("sip:") ? s.slice(4) : s;
  if (!UPN.test(bare)) {
    throw new AppError("invalid_input", `"${sip}" is not a SIP address: give one such as sip:alice@contoso.com.`);
  }
  return `sip:${bare}`;
}

function normalizeUsageLocation(loc: string): string {
  const l = loc.trim().toUpperCase();
  if (!/^[A-Z]{2}$/.test(l)) {
    throw new AppError("invalid_input", `Usage location "${loc}" is not a two-letter country code: use one such as US, GB or FR.`);
  }
  return l;
}

/** Adds a user to the online directory. */
export async function createUser(ctx: Ctx, input: CreateUserInput): Promise<UserView> {
  const upn = input.userPrincipalName.trim();
  if (!UPN.test(upn)) {
    throw new AppError("invalid_input", `"${input.userPrincipalName}" is not a user principal name: give one such as alice@contoso.com.`);
  }
  const sip = normalizeSip(input.sipAddress ?? upn);
  const alias = input.alias?.trim() || null;
  const displayName = input.displayName?.trim() || upn.split("@")[0] || upn;
  const usageLocation = input.usageLocation ? normalizeUsageLocation(input.usageLocation) : null;
  return inTransaction(ctx, async (tx) => {
    const [row] = await rows<{ id: string }>(
      tx.db,
      sql`insert into users (tenant_id, user_principal_name, sip_address, alias, display_name, usage_location, source)
          values (${tx.tenantId}, ${upn}, ${sip}, ${alias}, ${displayName}, ${usageLocation}, ${input.source ?? "cloud"})
          returning id`,
    );
    if (!row) throw new AppError("internal", "The user was not created.");
    const view = await getUserById(tx, row.id);
    await recordAudit(tx, [{ operation: "user.create", targetType: "user", targetId: row.id, after: view }]);
    return view;
  });
}

export interface UpdateUserInput {
  displayName?: string;
  usageLocation?: string | null;
  sipAddress?: string;
  alias?: string | null;
}

const ON_PREM_ATTRIBUTES: [keyof UpdateUserInput, string][] = [
  ["displayName", "display name"],
  ["sipAddress", "SIP address"],
  ["alias", "alias"],
];

/**
 * A synchronised user's UPN, display name, SIP address, alias and voice attributes belong to the
 * on-premises directory; the usage location too when the object carries one (else it is set online,
 * as licences need it). Editing them online would be overwritten by the next sync, so it is refused.
 */
async function refuseOnPremisesAuthority(ctx: Ctx, user: UserView, input: UpdateUserInput): Promise<void> {
  if (!user.voice.userDirSyncEnabled) return;
  const fields = ON_PREM_ATTRIBUTES.filter(([k]) => input[k] !== undefined).map(([, label]) => label);
  if (input.usageLocation !== undefined) {
    const [o] = await rows<{ usage_location: string | null }>(
      ctx.db,
      sql`select usage_location from directory_objects where tenant_id = ${ctx.tenantId} and immutable_id = ${user.voice.immutableId}`,
    );
    if (o?.usage_location) fields.push("usage location");
  }
  if (fields.length === 0) return;
  throw new AppError(
    "on_premises_authority",
    `${user.userPrincipalName} is synchronised from the on-premises directory, which is the source of authority for its ${fields.join(", ")}: edit it on-premises (in the directory, then \`callplane directory import FILE\`; voice attributes with \`callplane onprem set-user ${user.userPrincipalName} …\`) and run \`callplane directory sync\`.`,
  );
}

/** Changes a user's directory attributes. */
export async function updateUser(ctx: Ctx, identity: string, input: UpdateUserInput): Promise<UserView> {
  return inTransaction(ctx, async (tx) => {
    const id = await resolveUserId(tx, identity);
    const before = await getUserById(tx, id);
    await refuseOnPremisesAuthority(tx, before, input);
    const sets: SQL[] = [sql`updated_at = now()`];
    if (input.displayName !== undefined) {
      const d = input.displayName.trim();
      if (!d) throw new AppError("invalid_input", "The display name is empty: give the user's name.");
      sets.push(sql`display_name = ${d}`);
    }
    if (input.usageLocation !== undefined) {
      sets.push(sql`usage_location = ${input.usageLocation === null ? null : normalizeUsageLocation(input.usageLocation)}`);
    }
    if (input.sipAddress !== undefined) sets.push(sql`sip_address = ${normalizeSip(input.sipAddress)}`);
    if (input.alias !== undefined) sets.push(sql`alias = ${input.alias?.trim() || null}`);
    await tx.db.execute(sql`update users set ${sql.join(sets, sql`, `)} where id = ${id}`);
    const after = await getUserById(tx, id);
    await recordAudit(tx, [{ operation: "user.update", targetType: "user", targetId: id, before, after }]);
    return after;
  });
}

/** Removes a user and everything held for them; the conference ID is released. */
export async function deleteUser(ctx: Ctx, identity: string): Promise<UserView> {
  return inTransaction(ctx, async (tx) => {
    const id = await resolveUserId(tx, identity);
    const before = await getUserById(tx, id);
    await tx.db.execute(sql`delete from users where id = ${id}`);
    await recordAudit(tx, [{ operation: "user.delete", targetType: "user", targetId: id, before }]);
    return before;
  });
}
