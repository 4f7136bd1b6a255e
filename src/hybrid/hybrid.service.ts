import { sql } from "drizzle-orm";
import { recordAudit } from "../audit/audit.service.ts";
import { type Ctx, inTransaction } from "../core/context.ts";
import { AppError, atField } from "../core/errors.ts";
import { ON_PREM_HOSTING_PROVIDER, ONLINE_HOSTING_PROVIDER, type OnPremUserObject } from "../directory/directory-source.ts";
import { changedFields, currentValues, type ObjectRow, syncedUserSelect, syncedValues, toObject } from "../directory/sync.service.ts";
import { getUserById, PHONE_SYSTEM_PLAN, resolveIdentities, type UserView } from "../directory/users.service.ts";
import { rows } from "../store/db.ts";
import { buildChecklist, type Checklist } from "./lifecycle.ts";
import { normalizeLineUri } from "./line-uri.ts";

/** An on-premises user object (Get-CsUser on the SfB Server side). */
export interface OnPremUserView extends OnPremUserObject {
  deleted: boolean;
  /** Where the object was loaded from or last changed by, e.g. `ldif:users.ldif` or `callplane`. */
  source: string;
  /** The online user synchronised from this object, if any. */
  onlineUserId: string | null;
  updatedAt: string;
}

export interface OnPremChange {
  user: OnPremUserView;
  changed: boolean;
  warnings: string[];
  /** Changes on-premises reach the online user with the next sync. */
  next: string;
}

export interface OnlineVoiceChange {
  user: UserView;
  changed: boolean;
  warnings: string[];
}

/** A directory object row as the sync reads it, plus what the on-premises commands also need. */
interface ObjectRowFull extends ObjectRow {
  id: string;
  source: string;
  updated_at: Date | string;
  online_user_id: string | null;
}

const objectSelect = sql`select o.id, o.immutable_id, o.user_principal_name, o.display_name, o.alias, o.usage_location, o.sip_address,
  o.sip_enabled, o.registrar_pool, o.hosting_provider, o.enterprise_voice_enabled, o.line_uri, o.voice_routing_policy, o.source,
  o.deleted_at, o.updated_at,
  (select u.id from users u where u.tenant_id = o.tenant_id and u.immutable_id = o.immutable_id) as online_user_id
  from directory_objects o`;

function toView(r: ObjectRowFull): OnPremUserView {
  return {
    ...toObject(r),
    deleted: r.deleted_at !== null,
    source: r.source,
    onlineUserId: r.online_user_id,
    updatedAt: new Date(r.updated_at).toISOString(),
  };
}

/** The remedy the seed gives for a user created online: it cannot be enabled for hybrid voice. */
export function cloudOnlyError(upn: string, what: string): AppError {
  return new AppError(
    "cloud_only_user",
    `${upn} was created online (cloud-only, not synchronised from the on-premises directory), so it cannot be ${what}: create a new account for the user in the on-premises directory, configure it there (\`callplane onprem enable-user\`, \`callplane onprem set-user\`), and synchronise it (\`callplane directory import FILE\`, \`callplane directory sync\`).`,
  );
}

/** Finds the on-premises object for an identity: UPN, SIP address, alias, immutable id or the online user's object id. */
async function findObject(ctx: Ctx, identity: string, what: string): Promise<ObjectRowFull> {
  const key = identity.trim().toLowerCase();
  if (!key) throw new AppError("invalid_input", "The user identity is empty: give a UPN, SIP address, alias or immutable id.");
  const sip = key.startsWith("sip:") ? key : `sip:${key}`;
  const found = await rows<ObjectRowFull>(
    ctx.db,
    sql`${objectSelect} where o.tenant_id = ${ctx.tenantId} and o.deleted_at is null
        and (lower(o.user_principal_name) = ${key} or lower(o.sip_address) = ${sip} or lower(o.alias) = ${key}
             or lower(o.immutable_id) = ${key}
             or o.immutable_id = (select u.immutable_id from users u where u.tenant_id = ${ctx.tenantId} and u.id::text = ${key}))`,
  );
  if (found.length === 1 && found[0]) return found[0];
  if (found.length > 1) {
    throw new AppError(
      "ambiguous_identity",
      `"${identity.trim()}" matches ${found.length} on-premises users (${found.map((f) => f.user_principal_name).join(", ")}): use the UPN.`,
    );
  }
  const online = (await resolveIdentities(ctx, [key])).get(key) ?? [];
  const [onlyId] = online;
  if (online.length === 1 && onlyId) {
    const user = await getUserById(ctx, onlyId);
    if (!user.voice.userDirSyncEnabled) throw cloudOnlyError(user.userPrincipalName, what);
    throw new AppError(
      "user_not_found",
      `${user.userPrincipalName} is synchronised but its on-premises object is not in Callplane's directory mirror: import it with \`callplane directory import FILE\`.`,
    );
  }
  throw new AppError(
    "user_not_found",
    `No on-premises user matches "${identity.trim()}": import the directory with \`callplane directory import FILE\`, or check the spelling.`,
  );
}

async function objectById(ctx: Ctx, id: string): Promise<OnPremUserView> {
  const [r] = await rows<ObjectRowFull>(ctx.db, sql`${objectSelect} where o.id = ${id}`);
  if (!r) throw new AppError("internal", "The on-premises object disappeared.");
  return toView(r);
}

/** Get-CsUser (on-premises): one directory object. */
export async function getOnPremUser(ctx: Ctx, identity: string): Promise<OnPremUserView> {
  return toView(await findObject(ctx, identity, "shown"));
}

const NEXT_SYNC = "Run `callplane directory sync` to carry the change to the online user.";
const FQDN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;

export type SipAddressType = "FirstLastName" | "EmailAddress" | "UserPrincipalName" | "SamAccountName";

export interface EnableOnPremInput {
  registrarPool?: string;
  hostingProviderProxyFqdn?: string;
  sipAddress?: string;
  sipAddressType?: SipAddressType;
  sipDomain?: string;
}

function sipFor(o: ObjectRowFull, input: EnableOnPremInput): string {
  const domain = input.sipDomain?.trim().toLowerCase();
  if (domain !== undefined && !FQDN.test(domain))
    throw new AppError("invalid_input", `--sip-domain "${input.sipDomain}" is not a domain name.`);
  let address: string;
  if (input.sipAddress) {
    address = input.sipAddress.trim().replace(/^sip:/i, "");
  } else {
    const type = input.sipAddressType;
    const upnDomain = o.user_principal_name.split("@")[1] ?? "";
    const needDomain = () => {
      if (!domain) throw new AppError("invalid_input", `--sip-address-type ${type} needs --sip-domain (e.g. --sip-domain ${upnDomain}).`);
      return domain;
    };
    if (type === "UserPrincipalName") address = o.user_principal_name;
    // The mirror holds no mail attribute; the UPN is the user's primary address in a synchronised tenant.
    else if (type === "EmailAddress") address = o.user_principal_name;
    else if (type === "SamAccountName") {
      if (!o.alias)
        throw new AppError("invalid_input", `${o.user_principal_name} has no sAMAccountName/alias: give --sip-address instead.`);
      address = `${o.alias}@${needDomain()}`;
    } else if (type === "FirstLastName") {
      const parts = o.display_name
        .toLowerCase()
        .normalize("NFD")
        .replace(/[\u0300-\u036f]/g, "")
        .split(/\s+/)
        .filter(Boolean);
      const local = parts
        .map((p) => p.replace(/[^a-z0-9]/g, ""))
        .filter(Boolean)
        .join(".");
      if (!local) throw new AppError("invalid_input", `${o.user_principal_name} has no usable display name: give --sip-address instead.`);
      address = `${local}@${needDomain()}`;
    } else {
      throw new AppError(
        "invalid_input",
        "Give --sip-address, or --sip-address-type FirstLastName|EmailAddress|UserPrincipalName|SamAccountName.",
      );
    }
  }
  if (!/^[^\s@]+@[a-z0-9-]+(\.[a-z0-9-]+)+$/i.test(address)) {
    throw new AppError("invalid_input", `"${address}" is not a SIP address: give one such as sip:alice@contoso.com.`);
  }
  return `sip:${address.toLowerCase()}`;
}

/** Enable-CsUser: enables an on-premises user for Skype for Business Server, on a pool or hosted online. */
export async function enableOnPremUser(ctx: Ctx, identity: string, input: EnableOnPremInput): Promise<OnPremChange> {
  const pool = input.registrarPool?.trim().toLowerCase();
  const proxy = input.hostingProviderProxyFqdn?.trim().toLowerCase();
  if (Boolean(pool) === Boolean(proxy)) {
    throw new AppError(
      "invalid_input",
      `Give exactly one of --registrar-pool POOL (homed on-premises) or --hosting-provider-proxy-fqdn ${ONLINE_HOSTING_PROVIDER} (homed online).`,
    );
  }
  if (pool && !FQDN.test(pool))
    throw new AppError("invalid_input", `Registrar pool "${input.registrarPool}" is not an FQDN such as pool01.contoso.com.`);
  if (proxy && proxy !== ONLINE_HOSTING_PROVIDER) {
    throw new AppError(
      "invalid_input",
      `The only hosting provider is ${ONLINE_HOSTING_PROVIDER}; "${input.hostingProviderProxyFqdn}" is not known.`,
    );
  }
  if (Boolean(input.sipAddress) === Boolean(input.sipAddressType)) {
    throw new AppError(
      "invalid_input",
      "Give exactly one of --sip-address or --sip-address-type FirstLastName|EmailAddress|UserPrincipalName|SamAccountName.",
    );
  }
  return inTransaction(ctx, async (tx) => {
    const o = await findObject(tx, identity, "enabled for Skype for Business or hybrid voice");
    if (o.sip_enabled) {
      throw new AppError(
        "already_enabled",
        `${o.user_principal_name} is already enabled for Skype for Business (${o.sip_address}, ${o.registrar_pool ?? o.hosting_provider}): change its voice settings with \`callplane onprem set-user ${o.user_principal_name} …\`.`,
      );
    }
    const sip = sipFor(o, input);
    const [clash] = await rows<{ upn: string }>(
      tx.db,
      sql`select user_principal_name as upn from directory_objects where tenant_id = ${tx.tenantId} and deleted_at is null
            and lower(sip_address) = ${sip} and id <> ${o.id}
          union all
          select user_principal_name from users where tenant_id = ${tx.tenantId} and deleted_at is null
            and lower(sip_address) = ${sip} and immutable_id is distinct from ${o.immutable_id}
          limit 1`,
    );
    if (clash) throw new AppError("duplicate", `${sip} is already the SIP address of ${clash.upn}: choose another with --sip-address.`);
    const before = toView(o);
    await tx.db.execute(sql`update directory_objects set sip_enabled = true, sip_address = ${sip}, registrar_pool = ${pool ?? null},
        hosting_provider = ${pool ? ON_PREM_HOSTING_PROVIDER : ONLINE_HOSTING_PROVIDER}, source = 'callplane', updated_at = now()
      where id = ${o.id}`);
    const after = await objectById(tx, o.id);
    await recordAudit(tx, [{ operation: "onprem.enable", targetType: "directory_object", targetId: o.immutable_id, before, after }]);
    return { user: after, changed: true, warnings: [], next: NEXT_SYNC };
  });
}

export interface SetOnPremInput {
  enterpriseVoiceEnabled?: boolean;
  /** null removes the line URI. */
  lineUri?: string | null;
}

function notSfbEnabled(o: ObjectRowFull): AppError {
  return new AppError(
    "not_enabled",
    `${o.user_principal_name} has never been enabled for Skype for Business, and Set-CsUser works only on enabled users: first run \`callplane onprem enable-user ${o.user_principal_name} --registrar-pool POOL --sip-address-type UserPrincipalName\` (or \`--hosting-provider-proxy-fqdn ${ONLINE_HOSTING_PROVIDER} --sip-address sip:…\` to home the user online).`,
  );
}

/** Set-CsUser (on-premises): Enterprise Voice and the line URI, unique in the tenant. */
export async function setOnPremUser(ctx: Ctx, identity: string, input: SetOnPremInput): Promise<OnPremChange> {
  if (input.enterpriseVoiceEnabled === undefined && input.lineUri === undefined) {
    throw new AppError("invalid_input", "Nothing to change: give --enterprise-voice-enabled true|false and/or --line-uri tel:+E164.");
  }
  const lineUri =
    input.lineUri === undefined || input.lineUri === null
      ? input.lineUri
      : atField("body.lineUri", () => normalizeLineUri(input.lineUri ?? ""));
  return inTransaction(ctx, async (tx) => {
    const o = await findObject(tx, identity, "enabled for hybrid voice");
    if (!o.sip_enabled) throw notSfbEnabled(o);
    if (lineUri) {
      const [holder] = await rows<{ upn: string }>(
        tx.db,
        sql`select user_principal_name as upn from directory_objects where tenant_id = ${tx.tenantId} and deleted_at is null
              and line_uri = ${lineUri} and id <> ${o.id} limit 1`,
      );
      if (holder) {
        throw new AppError(
          "duplicate",
          `Line URI ${lineUri} is already assigned to ${holder.upn}: line URIs are unique in the tenant; remove it there first or choose another number.`,
        );
      }
    }
    const ev = input.enterpriseVoiceEnabled ?? o.enterprise_voice_enabled;
    const line = lineUri === undefined ? o.line_uri : lineUri;
    const warnings: string[] = [];
    if (ev && !line)
      warnings.push(`Enterprise Voice is on for ${o.user_principal_name} but there is no line URI: give one with --line-uri tel:+E164.`);
    const changed = ev !== o.enterprise_voice_enabled || line !== o.line_uri;
    const before = toView(o);
    if (changed) {
      await tx.db.execute(sql`update directory_objects set enterprise_voice_enabled = ${ev}, line_uri = ${line}, source = 'callplane', updated_at = now()
        where id = ${o.id}`);
    }
    const after = await objectById(tx, o.id);
    if (changed)
      await recordAudit(tx, [{ operation: "onprem.set", targetType: "directory_object", targetId: o.immutable_id, before, after }]);
    return { user: after, changed, warnings, next: changed ? NEXT_SYNC : "Nothing changed." };
  });
}

interface PolicyRow {
  identity: string;
}

/** A per-user voice routing policy by name (`Tag:` prefix allowed); null for none. Site policies are refused with `siteMessage`. */
async function findPolicy(ctx: Ctx, name: string, siteMessage: string): Promise<string> {
  const n = name.trim().replace(/^tag:/i, "");
  if (/^site:/i.test(n)) throw new AppError("policy_not_allowed", siteMessage);
  const [p] = await rows<PolicyRow>(
    ctx.db,
    sql`select identity from voice_routing_policies where tenant_id = ${ctx.tenantId} and lower(identity) = ${n.toLowerCase()}`,
  );
  if (!p) {
    throw new AppError(
      "not_found",
      `There is no voice routing policy "${n}": list them with \`callplane voice policies list\`, or create it first.`,
    );
  }
  if (/^site:/i.test(p.identity)) throw new AppError("policy_not_allowed", siteMessage);
  return p.identity;
}

/** Grant-CsVoiceRoutingPolicy (on-premises): a per-user policy, or null/"Global" for the global one. */
export async function grantOnPremVoiceRoutingPolicy(ctx: Ctx, identity: string, policyName: string | null): Promise<OnPremChange> {
  return inTransaction(ctx, async (tx) => {
    const o = await findObject(tx, identity, "given a voice routing policy for hybrid voice");
    if (!o.sip_enabled) throw notSfbEnabled(o);
    const wanted =
      policyName === null || /^(global|none)$/i.test(policyName.trim())
        ? null
        : await findPolicy(
            tx,
            policyName,
            "Site-level voice routing policies apply by site and cannot be granted to a user: grant a per-user policy, or none for Global.",
          );
    const changed = wanted !== o.voice_routing_policy;
    const before = toView(o);
    if (changed) {
      await tx.db.execute(
        sql`update directory_objects set voice_routing_policy = ${wanted}, source = 'callplane', updated_at = now() where id = ${o.id}`,
      );
    }
    const after = await objectById(tx, o.id);
    if (changed)
      await recordAudit(tx, [
        { operation: "onprem.grant-policy", targetType: "directory_object", targetId: o.immutable_id, before, after },
      ]);
    return { user: after, changed, warnings: [], next: changed ? NEXT_SYNC : "Nothing changed." };
  });
}

async function resolveOnline(ctx: Ctx, identity: string): Promise<UserView> {
  const key = identity.trim().toLowerCase();
  const ids = (await resolveIdentities(ctx, [key])).get(key) ?? [];
  const [only] = ids;
  if (ids.length === 1 && only) return getUserById(ctx, only);
  if (ids.length > 1)
    throw new AppError("ambiguous_identity", `"${identity.trim()}" matches ${ids.length} users: use the UPN or object id.`);
  throw new AppError(
    "user_not_found",
    `No user matches "${identity.trim()}": check the spelling, or find the user with \`callplane users list --search\`.`,
  );
}

export interface SetOnlineVoiceInput {
  enterpriseVoiceEnabled?: boolean;
  hostedVoicemail?: boolean;
}

/** Set-CsUser (online): Enterprise Voice and hosted voicemail for a user homed online, with a Phone System licence. */
export async function setOnlineVoice(ctx: Ctx, identity: string, input: SetOnlineVoiceInput): Promise<OnlineVoiceChange> {
  if (input.enterpriseVoiceEnabled === undefined && input.hostedVoicemail === undefined) {
    throw new AppError(
      "invalid_input",
      "Nothing to change: give --enterprise-voice-enabled true|false and/or --hosted-voicemail true|false.",
    );
  }
  return inTransaction(ctx, async (tx) => {
    const before = await resolveOnline(tx, identity);
    const upn = before.userPrincipalName;
    if (before.voice.homing === "on-premises") {
      throw new AppError(
        "not_enabled",
        `${upn} is homed on-premises (${before.voice.onPremRegistrarPool ?? "a pool"}): set Enterprise Voice on-premises with \`callplane onprem set-user ${upn} --enterprise-voice-enabled true\`, or move the user online first with \`callplane users move ${upn} --target online\`.`,
      );
    }
    const enabling = input.enterpriseVoiceEnabled === true || input.hostedVoicemail === true;
    if (enabling && !before.servicePlans.includes(PHONE_SYSTEM_PLAN)) {
      throw new AppError(
        "licence_required",
        `${upn} has no Phone System licence (MCOEV), which online Enterprise Voice and hosted voicemail need: assign one with \`callplane licences assign ${upn} --sku MCOEV\`.`,
      );
    }
    const ev = input.enterpriseVoiceEnabled ?? before.voice.enterpriseVoiceEnabled;
    const vm = input.hostedVoicemail ?? before.voice.hostedVoicemail;
    const changed = ev !== before.voice.enterpriseVoiceEnabled || vm !== before.voice.hostedVoicemail;
    const warnings: string[] = [];
    if (ev && !before.voice.lineUri) {
      warnings.push(`${upn} has no line URI: set it on-premises with \`callplane onprem set-user ${upn} --line-uri tel:+E164\` and sync.`);
    }
    if (!changed) return { user: before, changed, warnings };
    await tx.db.execute(
      sql`update users set enterprise_voice_enabled = ${ev}, hosted_voicemail = ${vm}, updated_at = now() where id = ${before.id}`,
    );
    const after = await getUserById(tx, before.id);
    await recordAudit(tx, [
      { operation: "user.set-voice", targetType: "user", targetId: before.id, before: before.voice, after: after.voice },
    ]);
    return { user: after, changed, warnings };
  });
}

/** Grant-CsOnlineVoiceRoutingPolicy: a per-user policy, or null/"none" for Global; site policies are refused online. */
export async function grantOnlineVoiceRoutingPolicy(ctx: Ctx, identity: string, policyName: string | null): Promise<OnlineVoiceChange> {
  return inTransaction(ctx, async (tx) => {
    const before = await resolveOnline(tx, identity);
    const wanted =
      policyName === null || /^(global|none)$/i.test(policyName.trim())
        ? null
        : await findPolicy(
            tx,
            policyName,
            `Online users may only have the Global or a per-user voice routing policy, not a site-level one: grant a per-user policy to ${before.userPrincipalName}, or none for Global.`,
          );
    const changed = wanted !== before.voice.onlineVoiceRoutingPolicy;
    if (!changed) return { user: before, changed, warnings: [] };
    await tx.db.execute(sql`update users set online_voice_routing_policy = ${wanted}, updated_at = now() where id = ${before.id}`);
    const after = await getUserById(tx, before.id);
    await recordAudit(tx, [
      {
        operation: "user.grant-online-voice-routing-policy",
        targetType: "user",
        targetId: before.id,
        before: before.voice,
        after: after.voice,
      },
    ]);
    return { user: after, changed, warnings: [] };
  });
}

export interface UserChecklist extends Checklist {
  userPrincipalName: string;
}

/** The seed's steps for one user, each done or missing with the command that does it. */
export async function getChecklist(ctx: Ctx, identity: string): Promise<UserChecklist> {
  let user: UserView | null = null;
  let object: ObjectRowFull | null = null;
  try {
    user = await resolveOnline(ctx, identity);
  } catch (err) {
    if (!(err instanceof AppError && err.code === "user_not_found")) throw err;
  }
  if (user?.voice.immutableId) {
    const [o] = await rows<ObjectRowFull>(
      ctx.db,
      sql`${objectSelect} where o.tenant_id = ${ctx.tenantId} and o.immutable_id = ${user.voice.immutableId}`,
    );
    object = o ?? null;
  } else if (!user) {
    object = await findObject(ctx, identity, "checked");
  }
  let syncPending = false;
  if (user && object) {
    const [u] = await rows<Parameters<typeof currentValues>[0]>(ctx.db, sql`${syncedUserSelect} where id = ${user.id}`);
    if (u) {
      const cur = currentValues(u);
      syncPending = changedFields(cur, syncedValues(toObject(object), cur.usageLocation)).length > 0;
    }
  }
  const [dial] = user
    ? await rows<{ n: number }>(ctx.db, sql`select count(*)::int as n from dial_in_users where user_id = ${user.id}`)
    : [];
  const checklist = buildChecklist({
    identity: user?.userPrincipalName ?? object?.user_principal_name ?? identity,
    online: user
      ? {
          synced: user.voice.userDirSyncEnabled,
          deleted: user.voice.deletedAt !== null,
          homing: user.voice.homing,
          onPremSipEnabled: user.voice.onPremSipEnabled,
          onPremEnterpriseVoiceEnabled: user.voice.onPremEnterpriseVoiceEnabled,
          onPremLineUri: user.voice.onPremLineUri,
          enterpriseVoiceEnabled: user.voice.enterpriseVoiceEnabled,
          hostedVoicemail: user.voice.hostedVoicemail,
        }
      : null,
    directory: object
      ? {
          deleted: object.deleted_at !== null,
          sipEnabled: object.sip_enabled,
          enterpriseVoiceEnabled: object.enterprise_voice_enabled,
          lineUri: object.line_uri,
          voiceRoutingPolicy: object.voice_routing_policy,
          syncPending,
        }
      : null,
    servicePlans: user?.servicePlans ?? [],
    dialInOnMicrosoft: (dial?.n ?? 0) > 0,
  });
  return { userPrincipalName: user?.userPrincipalName ?? object?.user_principal_name ?? identity, ...checklist };
}
