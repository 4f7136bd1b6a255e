import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import { recordAudit } from "../audit/audit.service.ts";
import { type Ctx, inTransaction } from "../core/context.ts";
import { AppError } from "../core/errors.ts";
import { rows } from "../store/db.ts";
import { CsvDirectorySource } from "./csv-source.ts";
import {
  type DirectorySource,
  MAX_OBJECTS_PER_IMPORT,
  ONLINE_HOSTING_PROVIDER,
  type OnPremUserObject,
  shorten,
  tooLongAttribute,
  tooLongMessage,
} from "./directory-source.ts";
import { LdifDirectorySource } from "./ldif-source.ts";

const CHUNK = 5000;

function chunks<T>(list: T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

/** The fields an import compares and writes, in the order of the table. */
const OBJECT_FIELDS = [
  "userPrincipalName",
  "displayName",
  "alias",
  "usageLocation",
  "sipAddress",
  "sipEnabled",
  "registrarPool",
  "hostingProvider",
  "enterpriseVoiceEnabled",
  "lineUri",
  "voiceRoutingPolicy",
] as const satisfies readonly (keyof OnPremUserObject)[];

export interface ObjectRow {
  immutable_id: string;
  user_principal_name: string;
  display_name: string;
  alias: string | null;
  usage_location: string | null;
  sip_address: string | null;
  sip_enabled: boolean;
  registrar_pool: string | null;
  hosting_provider: string | null;
  enterprise_voice_enabled: boolean;
  line_uri: string | null;
  voice_routing_policy: string | null;
  deleted_at: Date | string | null;
}

const objectSelect = sql`select immutable_id, user_principal_name, display_name, alias, usage_location, sip_address, sip_enabled,
  registrar_pool, hosting_provider, enterprise_voice_enabled, line_uri, voice_routing_policy, deleted_at from directory_objects`;

export function toObject(r: ObjectRow): OnPremUserObject {
  return {
    immutableId: r.immutable_id,
    userPrincipalName: r.user_principal_name,
    displayName: r.display_name,
    alias: r.alias,
    usageLocation: r.usage_location,
    sipAddress: r.sip_address,
    sipEnabled: r.sip_enabled,
    registrarPool: r.registrar_pool,
    hostingProvider: r.hosting_provider,
    enterpriseVoiceEnabled: r.enterprise_voice_enabled,
    lineUri: r.line_uri,
    voiceRoutingPolicy: r.voice_routing_policy,
  };
}

export interface ImportResult {
  source: string;
  full: boolean;
  read: number;
  created: number;
  updated: number;
  /** Objects that were marked deleted and are in the file again. */
  restored: number;
  unchanged: number;
  /** With `full`: objects not in the file, now marked deleted. */
  deleted: number;
}

/** A directory source for file content the CLI or the API was given. */
export function sourceFromText(format: "csv" | "ldif", fileName: string, content: string): DirectorySource {
  return format === "csv" ? CsvDirectorySource.fromText(content, fileName) : LdifDirectorySource.fromText(content, fileName);
}

/**
 * Loads a directory source into the on-premises mirror (`directory_objects`), set-based. With `full`,
 * objects absent from the source are marked deleted (the source is the whole directory).
 */
export async function importDirectory(ctx: Ctx, source: DirectorySource, opts: { full?: boolean } = {}): Promise<ImportResult> {
  const objects: OnPremUserObject[] = [];
  for await (const o of source.objects()) {
    if (objects.length >= MAX_OBJECTS_PER_IMPORT) {
      throw new AppError(
        "invalid_input",
        `${source.name} holds more than ${MAX_OBJECTS_PER_IMPORT.toLocaleString("en-US")} user objects, more than one import takes: import it in parts (without --full).`,
      );
    }
    // The file parsers refuse these with the line; this holds for any source.
    const long = tooLongAttribute(o);
    if (long) {
      throw new AppError(
        "invalid_input",
        `${source.name}: the object ${shorten(o.userPrincipalName)} (immutable id ${shorten(o.immutableId)}): ${tooLongMessage(long)}.`,
      );
    }
    objects.push(o);
  }
  return inTransaction(ctx, async (tx) => {
    const existing = new Map<string, ObjectRow>();
    for (const r of await rows<ObjectRow>(tx.db, sql`${objectSelect} where tenant_id = ${tx.tenantId}`)) existing.set(r.immutable_id, r);
    const write: OnPremUserObject[] = [];
    let created = 0;
    let updated = 0;
    let restored = 0;
    for (const o of objects) {
      const cur = existing.get(o.immutableId);
      if (!cur) created++;
      else if (cur.deleted_at !== null) restored++;
      else {
        const was = toObject(cur);
        if (OBJECT_FIELDS.every((f) => was[f] === o[f])) continue;
        updated++;
      }
      write.push(o);
    }
    // Free line URIs and UPNs the file takes away from other objects first, so a swap is not a clash.
    for (const part of chunks(write)) {
      await tx.db.execute(sql`
        insert into directory_objects (tenant_id, immutable_id, user_principal_name, display_name, alias, usage_location, sip_address,
          sip_enabled, registrar_pool, hosting_provider, enterprise_voice_enabled, line_uri, voice_routing_policy, source)
        select ${tx.tenantId}::uuid, x."immutableId", x."userPrincipalName", x."displayName", x.alias, x."usageLocation", x."sipAddress",
          x."sipEnabled", x."registrarPool", x."hostingProvider", x."enterpriseVoiceEnabled", x."lineUri", x."voiceRoutingPolicy", ${source.name}
        from jsonb_to_recordset(${JSON.stringify(part)}::jsonb) as x("immutableId" text, "userPrincipalName" text, "displayName" text,
          alias text, "usageLocation" text, "sipAddress" text, "sipEnabled" boolean, "registrarPool" text, "hostingProvider" text,
          "enterpriseVoiceEnabled" boolean, "lineUri" text, "voiceRoutingPolicy" text)
        on conflict (tenant_id, immutable_id) do update set
          user_principal_name = excluded.user_principal_name, display_name = excluded.display_name, alias = excluded.alias,
          usage_location = excluded.usage_location, sip_address = excluded.sip_address, sip_enabled = excluded.sip_enabled,
          registrar_pool = excluded.registrar_pool, hosting_provider = excluded.hosting_provider,
          enterprise_voice_enabled = excluded.enterprise_voice_enabled, line_uri = excluded.line_uri,
          voice_routing_policy = excluded.voice_routing_policy, source = excluded.source, updated_at = now(), deleted_at = null`);
    }
    let deleted = 0;
    if (opts.full) {
      const inFile = new Set(objects.map((o) => o.immutableId));
      const gone = [...existing.values()].filter((r) => r.deleted_at === null && !inFile.has(r.immutable_id)).map((r) => r.immutable_id);
      for (const part of chunks(gone)) {
        await tx.db.execute(sql`update directory_objects set deleted_at = now(), updated_at = now()
          where tenant_id = ${tx.tenantId} and immutable_id = any(array(select jsonb_array_elements_text(${JSON.stringify(part)}::jsonb)))`);
      }
      deleted = gone.length;
    }
    // PGlite has no autovacuum: fresh statistics keep the sync's join an index join after a large import.
    if (write.length > 1000) await tx.db.execute(sql`analyze directory_objects`);
    const result: ImportResult = {
      source: source.name,
      full: opts.full ?? false,
      read: objects.length,
      created,
      updated,
      restored,
      unchanged: objects.length - write.length,
      deleted,
    };
    await recordAudit(tx, [{ operation: "directory.import", targetType: "directory", targetId: source.name, after: result }]);
    return result;
  });
}

/** The user columns sync writes, from the object. */
interface SyncedValues {
  userPrincipalName: string;
  displayName: string;
  alias: string | null;
  usageLocation: string | null;
  sipAddress: string | null;
  onPremSipEnabled: boolean;
  onPremRegistrarPool: string | null;
  hostingProvider: string | null;
  onPremEnterpriseVoiceEnabled: boolean;
  onPremLineUri: string | null;
  onPremVoiceRoutingPolicy: string | null;
  homing: "online" | "on-premises";
}

/** Homed online once the hosting provider is Microsoft's; on a pool while it is `SRV:` (or any pool). */
export function homingOf(hostingProvider: string | null, sipEnabled: boolean): "online" | "on-premises" {
  if (!sipEnabled || !hostingProvider) return "online";
  return hostingProvider.toLowerCase() === ONLINE_HOSTING_PROVIDER ? "online" : "on-premises";
}

/** What the online user should hold for an object; the usage location is kept when the object has none. */
export function syncedValues(o: OnPremUserObject, currentUsageLocation: string | null): SyncedValues {
  return {
    userPrincipalName: o.userPrincipalName,
    displayName: o.displayName,
    alias: o.alias,
    usageLocation: o.usageLocation ?? currentUsageLocation,
    sipAddress: o.sipAddress,
    onPremSipEnabled: o.sipEnabled,
    onPremRegistrarPool: o.registrarPool,
    hostingProvider: o.hostingProvider,
    onPremEnterpriseVoiceEnabled: o.enterpriseVoiceEnabled,
    onPremLineUri: o.lineUri,
    onPremVoiceRoutingPolicy: o.voiceRoutingPolicy,
    homing: homingOf(o.hostingProvider, o.sipEnabled),
  };
}

interface SyncedUserRow {
  id: string;
  immutable_id: string | null;
  user_principal_name: string;
  display_name: string;
  alias: string | null;
  usage_location: string | null;
  sip_address: string | null;
  on_prem_sip_enabled: boolean;
  on_prem_registrar_pool: string | null;
  hosting_provider: string | null;
  on_prem_enterprise_voice_enabled: boolean;
  on_prem_line_uri: string | null;
  on_prem_voice_routing_policy: string | null;
  homing: string;
  deleted_at: Date | string | null;
}

export function currentValues(u: SyncedUserRow): SyncedValues {
  return {
    userPrincipalName: u.user_principal_name,
    displayName: u.display_name,
    alias: u.alias,
    usageLocation: u.usage_location,
    sipAddress: u.sip_address,
    onPremSipEnabled: u.on_prem_sip_enabled,
    onPremRegistrarPool: u.on_prem_registrar_pool,
    hostingProvider: u.hosting_provider,
    onPremEnterpriseVoiceEnabled: u.on_prem_enterprise_voice_enabled,
    onPremLineUri: u.on_prem_line_uri,
    onPremVoiceRoutingPolicy: u.on_prem_voice_routing_policy,
    homing: u.homing === "on-premises" ? "on-premises" : "online",
  };
}

/** The synchronised attributes that differ between the user and what the object says. */
export function changedFields(cur: SyncedValues, want: SyncedValues): (keyof SyncedValues)[] {
  return (Object.keys(want) as (keyof SyncedValues)[]).filter((k) => cur[k] !== want[k]);
}

type Prefixed<T> = { [K in keyof T as `u_${string & K}`]: T[K] };

export const syncedUserSelect = sql`select id, immutable_id, user_principal_name, display_name, alias, usage_location, sip_address,
  on_prem_sip_enabled, on_prem_registrar_pool, hosting_provider, on_prem_enterprise_voice_enabled, on_prem_line_uri,
  on_prem_voice_routing_policy, homing, deleted_at from users`;

export type SyncAction = "create" | "update" | "restore" | "soft-match" | "delete";

export interface SyncChange {
  userPrincipalName: string;
  action: SyncAction;
  /** The attributes that changed (for updates), e.g. `onPremLineUri`. */
  fields: string[];
}

/** An object the sync left alone because an attribute it carries is held by another online user. */
export interface SyncConflict {
  userPrincipalName: string;
  immutableId: string;
  attribute: "userPrincipalName" | "sipAddress" | "alias";
  value: string;
  /** The online user that holds the value (or the other object that wants it). */
  heldBy: string;
  message: string;
}

export interface SyncResult {
  dryRun: boolean;
  created: number;
  updated: number;
  deleted: number;
  unchanged: number;
  /** Objects not synchronised because of a clash; everything else was. */
  conflicts: SyncConflict[];
  /** Per-user changes, at most 1,000 (see `changesTotal`). */
  changes: SyncChange[];
  changesTotal: number;
  message: string;
}

const MAX_CHANGES_SHOWN = 1000;

/**
 * On-premises → online (Azure AD Connect): creates synchronised users for new objects (a cloud user
 * with the same UPN and no anchor is soft-matched, as Azure AD does), updates what changed, restores
 * users whose object is back, and soft-deletes users whose object is gone. Idempotent.
 */
export async function syncDirectory(ctx: Ctx, opts: { dryRun?: boolean } = {}): Promise<SyncResult> {
  return inTransaction(ctx, async (tx) => {
    // Only the objects whose user is missing or differs come back: a sync with nothing to do reads no rows.
    const pending = await rows<ObjectRow & { u_id: string | null } & Prefixed<SyncedUserRow>>(
      tx.db,
      sql`select o.immutable_id, o.user_principal_name, o.display_name, o.alias, o.usage_location, o.sip_address, o.sip_enabled,
            o.registrar_pool, o.hosting_provider, o.enterprise_voice_enabled, o.line_uri, o.voice_routing_policy, o.deleted_at,
            u.id as u_id, u.immutable_id as u_immutable_id, u.user_principal_name as u_user_principal_name, u.display_name as u_display_name,
            u.alias as u_alias, u.usage_location as u_usage_location, u.sip_address as u_sip_address,
            u.on_prem_sip_enabled as u_on_prem_sip_enabled, u.on_prem_registrar_pool as u_on_prem_registrar_pool,
            u.hosting_provider as u_hosting_provider, u.on_prem_enterprise_voice_enabled as u_on_prem_enterprise_voice_enabled,
            u.on_prem_line_uri as u_on_prem_line_uri, u.on_prem_voice_routing_policy as u_on_prem_voice_routing_policy,
            u.homing as u_homing, u.deleted_at as u_deleted_at
          from directory_objects o
          left join users u on u.tenant_id = o.tenant_id and u.immutable_id = o.immutable_id
          where o.tenant_id = ${tx.tenantId} and o.deleted_at is null
            and (u.id is null or u.deleted_at is not null
              or u.user_principal_name is distinct from o.user_principal_name or u.display_name is distinct from o.display_name
              or u.alias is distinct from o.alias or (o.usage_location is not null and u.usage_location is distinct from o.usage_location)
              or u.sip_address is distinct from o.sip_address or u.on_prem_sip_enabled <> o.sip_enabled
              or u.on_prem_registrar_pool is distinct from o.registrar_pool or u.hosting_provider is distinct from o.hosting_provider
              or u.on_prem_enterprise_voice_enabled <> o.enterprise_voice_enabled or u.on_prem_line_uri is distinct from o.line_uri
              or u.on_prem_voice_routing_policy is distinct from o.voice_routing_policy
              or u.homing <> (case when not o.sip_enabled or o.hosting_provider is null then 'online'
                                   when lower(o.hosting_provider) = ${ONLINE_HOSTING_PROVIDER} then 'online' else 'on-premises' end))
          order by lower(o.user_principal_name)`,
    );
    const [totals] = await rows<{ n: number }>(
      tx.db,
      sql`select count(*)::int as n from directory_objects where tenant_id = ${tx.tenantId} and deleted_at is null`,
    );
    // A value an earlier version let into the mirror, longer than the directory allows: that object is
    // left out, with a message, and the rest is synchronised.
    const overlong: string[] = [];
    const objects = pending.map(toObject).filter((o) => {
      const long = tooLongAttribute(o);
      if (long) {
        overlong.push(
          `the on-premises user ${shorten(o.userPrincipalName)} (immutable id ${shorten(o.immutableId)}): ${tooLongMessage(long)}, then import and synchronise again`,
        );
      }
      return !long;
    });
    const users = new Map<string, SyncedUserRow>();
    for (const r of pending) {
      if (r.u_id === null) continue;
      users.set(r.immutable_id, {
        id: r.u_id,
        immutable_id: r.u_immutable_id,
        user_principal_name: r.u_user_principal_name,
        display_name: r.u_display_name,
        alias: r.u_alias,
        usage_location: r.u_usage_location,
        sip_address: r.u_sip_address,
        on_prem_sip_enabled: r.u_on_prem_sip_enabled,
        on_prem_registrar_pool: r.u_on_prem_registrar_pool,
        hosting_provider: r.u_hosting_provider,
        on_prem_enterprise_voice_enabled: r.u_on_prem_enterprise_voice_enabled,
        on_prem_line_uri: r.u_on_prem_line_uri,
        on_prem_voice_routing_policy: r.u_on_prem_voice_routing_policy,
        homing: r.u_homing,
        deleted_at: r.u_deleted_at,
      });
    }
    const departed = await rows<{ id: string; user_principal_name: string }>(
      tx.db,
      sql`select u.id, u.user_principal_name from users u
          where u.tenant_id = ${tx.tenantId} and u.immutable_id is not null and u.deleted_at is null
            and not exists (select 1 from directory_objects o
                            where o.tenant_id = u.tenant_id and o.immutable_id = u.immutable_id and o.deleted_at is null)
          order by lower(u.user_principal_name)`,
    );
    const unmatched = objects.filter((o) => !users.has(o.immutableId)).map((o) => o.userPrincipalName.toLowerCase());
    const softMatch = new Map<string, SyncedUserRow>();
    for (const part of chunks(unmatched)) {
      const found = await rows<SyncedUserRow>(
        tx.db,
        sql`${syncedUserSelect} where tenant_id = ${tx.tenantId} and immutable_id is null and deleted_at is null
            and lower(user_principal_name) = any(array(select jsonb_array_elements_text(${JSON.stringify(part)}::jsonb)))`,
      );
      for (const u of found) softMatch.set(u.user_principal_name.toLowerCase(), u);
    }

    const creates: (SyncedValues & { id: string; immutableId: string })[] = [];
    const updates: (SyncedValues & { id: string; immutableId: string })[] = [];
    const deletes: string[] = [];
    const changes: SyncChange[] = [];
    const audits: Parameters<typeof recordAudit>[1] = [];
    let unchanged = (totals?.n ?? 0) - objects.length - overlong.length;
    for (const o of objects) {
      const u = users.get(o.immutableId) ?? softMatch.get(o.userPrincipalName.toLowerCase());
      if (!u) {
        const id = randomUUID();
        const want = syncedValues(o, null);
        creates.push({ ...want, id, immutableId: o.immutableId });
        changes.push({ userPrincipalName: o.userPrincipalName, action: "create", fields: [] });
        audits.push({ operation: "user.sync.create", targetType: "user", targetId: id, after: { immutableId: o.immutableId, ...want } });
        continue;
      }
      const cur = currentValues(u);
      const want = syncedValues(o, cur.usageLocation);
      const fields = changedFields(cur, want);
      const action: SyncAction | null =
        u.immutable_id === null ? "soft-match" : u.deleted_at !== null ? "restore" : fields.length > 0 ? "update" : null;
      if (!action) {
        unchanged++;
        continue;
      }
      updates.push({ ...want, id: u.id, immutableId: o.immutableId });
      changes.push({ userPrincipalName: o.userPrincipalName, action, fields });
      const pick = (v: SyncedValues) => Object.fromEntries(fields.map((f) => [f, v[f]]));
      audits.push({ operation: `user.sync.${action}`, targetType: "user", targetId: u.id, before: pick(cur), after: pick(want) });
    }
    for (const u of departed) {
      deletes.push(u.id);
      changes.push({ userPrincipalName: u.user_principal_name, action: "delete", fields: [] });
      audits.push({
        operation: "user.sync.delete",
        targetType: "user",
        targetId: u.id,
        before: { userPrincipalName: u.user_principal_name },
      });
    }

    const conflicts = await findConflicts(tx, [...creates, ...updates], deletes);
    if (conflicts.length > 0) {
      // Leave the clashing objects out (as Azure AD Connect does: an export error per object); sync the rest.
      const blocked = new Set(conflicts.map((c) => c.immutableId));
      const keep = <T extends { immutableId: string }>(list: T[]) => list.filter((x) => !blocked.has(x.immutableId));
      const blockedIds = new Set([...creates, ...updates].filter((x) => blocked.has(x.immutableId)).map((x) => x.id));
      creates.splice(0, creates.length, ...keep(creates));
      updates.splice(0, updates.length, ...keep(updates));
      const blockedUpns = new Set(conflicts.map((c) => c.userPrincipalName.toLowerCase()));
      const keptChanges = changes.filter((c) => c.action === "delete" || !blockedUpns.has(c.userPrincipalName.toLowerCase()));
      changes.splice(0, changes.length, ...keptChanges);
      const keptAudits = audits.filter((a) => !blockedIds.has(a.targetId ?? ""));
      audits.splice(0, audits.length, ...keptAudits);
    }

    if (!opts.dryRun) {
      const cols = sql`"userPrincipalName" text, "displayName" text, alias text, "usageLocation" text, "sipAddress" text,
        "onPremSipEnabled" boolean, "onPremRegistrarPool" text, "hostingProvider" text, "onPremEnterpriseVoiceEnabled" boolean,
        "onPremLineUri" text, "onPremVoiceRoutingPolicy" text, homing text, id uuid, "immutableId" text`;
      // Soft-deletes first: a departed user's line URI or UPN may now belong to someone else.
      for (const part of chunks(deletes)) {
        await tx.db.execute(sql`update users set deleted_at = now(), updated_at = now(), last_synced_at = now()
          where tenant_id = ${tx.tenantId} and id = any(array(select (jsonb_array_elements_text(${JSON.stringify(part)}::jsonb))::uuid))`);
      }
      for (const part of chunks(updates)) {
        await tx.db.execute(sql`update users u set user_principal_name = x."userPrincipalName", display_name = x."displayName",
            alias = x.alias, usage_location = x."usageLocation", sip_address = x."sipAddress", on_prem_sip_enabled = x."onPremSipEnabled",
            on_prem_registrar_pool = x."onPremRegistrarPool", hosting_provider = x."hostingProvider",
            on_prem_enterprise_voice_enabled = x."onPremEnterpriseVoiceEnabled", on_prem_line_uri = x."onPremLineUri",
            on_prem_voice_routing_policy = x."onPremVoiceRoutingPolicy", homing = x.homing, immutable_id = x."immutableId",
            source = 'on-premises', deleted_at = null, last_synced_at = now(), updated_at = now()
          from jsonb_to_recordset(${JSON.stringify(part)}::jsonb) as x(${cols})
          where u.tenant_id = ${tx.tenantId} and u.id = x.id`);
      }
      for (const part of chunks(creates)) {
        await tx.db.execute(sql`insert into users (id, tenant_id, user_principal_name, display_name, alias, usage_location, sip_address,
            source, immutable_id, last_synced_at, homing, on_prem_sip_enabled, on_prem_registrar_pool, hosting_provider,
            on_prem_enterprise_voice_enabled, on_prem_line_uri, on_prem_voice_routing_policy)
          select x.id, ${tx.tenantId}::uuid, x."userPrincipalName", x."displayName", x.alias, x."usageLocation", x."sipAddress",
            'on-premises', x."immutableId", now(), x.homing, x."onPremSipEnabled", x."onPremRegistrarPool", x."hostingProvider",
            x."onPremEnterpriseVoiceEnabled", x."onPremLineUri", x."onPremVoiceRoutingPolicy"
          from jsonb_to_recordset(${JSON.stringify(part)}::jsonb) as x(${cols})`);
      }
      for (const part of chunks(audits)) await recordAudit(tx, part);
      // The run itself, even when it found nothing to do: "when did sync last run, and what did it do".
      await recordAudit(tx, [
        {
          operation: "directory.sync",
          targetType: "directory",
          targetId: null,
          after: {
            created: creates.length,
            updated: updates.length,
            deleted: deletes.length,
            unchanged,
            conflicts: conflicts.length,
          },
        },
      ]);
      if (creates.length + updates.length > 1000) await tx.db.execute(sql`analyze users`);
    }
    const created = creates.length;
    const updated = updates.length;
    const deleted = deletes.length;
    const verb = opts.dryRun ? "would be" : "";
    const clashes =
      conflicts.length === 0
        ? ""
        : ` ${conflicts.length} object${conflicts.length === 1 ? " was" : "s were"} not synchronised because of a clash (see conflicts): ${conflicts[0]?.message}`;
    const tooLong =
      overlong.length === 0
        ? ""
        : ` ${overlong.length} object${overlong.length === 1 ? " was" : "s were"} not synchronised because a value is too long: ${overlong[0]}.`;
    const message =
      created + updated + deleted === 0 && conflicts.length === 0 && overlong.length === 0
        ? `Nothing to synchronise: all ${unchanged} on-premises users are already up to date online.`
        : `${created} created, ${updated} updated, ${deleted} soft-deleted ${verb ? `(${verb} — dry run, nothing changed)` : ""}; ${unchanged} unchanged.`.replace(
            " ;",
            ";",
          ) +
          clashes +
          tooLong;
    return {
      dryRun: opts.dryRun ?? false,
      created,
      updated,
      deleted,
      unchanged,
      conflicts: conflicts.slice(0, MAX_CHANGES_SHOWN),
      changes: changes.slice(0, MAX_CHANGES_SHOWN),
      changesTotal: changes.length,
      message,
    };
  });
}

const ATTRIBUTE_LABEL: Record<SyncConflict["attribute"], string> = {
  userPrincipalName: "user principal name",
  sipAddress: "SIP address",
  alias: "alias",
};

/**
 * The objects whose user principal name, SIP address or alias is already held by an online user the
 * sync does not own for them (a cloud-only user, another synced user, a soft-deleted user — it keeps its
 * values so that it can be restored), or wanted by two objects at once. A user the sync is updating is
 * judged by its new values.
 */
async function findConflicts(
  tx: Ctx,
  wanted: (SyncedValues & { id: string; immutableId: string })[],
  departing: string[],
): Promise<SyncConflict[]> {
  if (wanted.length === 0) return [];
  const attrs = ["userPrincipalName", "sipAddress", "alias"] as const;
  const conflicts: SyncConflict[] = [];
  const blocked = new Set<string>();
  const add = (w: (typeof wanted)[number], attribute: SyncConflict["attribute"], value: string, heldBy: string, how: string) => {
    if (blocked.has(w.immutableId)) return;
    blocked.add(w.immutableId);
    conflicts.push({
      userPrincipalName: w.userPrincipalName,
      immutableId: w.immutableId,
      attribute,
      value,
      heldBy,
      message: `The on-premises user ${w.userPrincipalName} (immutable id ${w.immutableId}) has the ${ATTRIBUTE_LABEL[attribute]} ${value}, which ${how}. Give one of them another ${ATTRIBUTE_LABEL[attribute]} (on-premises for a synchronised user; \`callplane users set\` or \`callplane users remove\` for a cloud-only one), then run \`callplane directory sync\` again.`,
    });
  };
  // Two objects wanting one value.
  for (const attribute of attrs) {
    const first = new Map<string, (typeof wanted)[number]>();
    for (const w of wanted) {
      const v = w[attribute];
      if (!v) continue;
      const key = v.toLowerCase();
      const other = first.get(key);
      if (!other) first.set(key, w);
      else add(w, attribute, v, other.userPrincipalName, `the on-premises user ${other.userPrincipalName} has too`);
    }
  }
  const exclude = JSON.stringify(wanted.map((w) => w.id));
  const leaving = new Set(departing);
  const values = (a: (typeof attrs)[number]) => JSON.stringify(wanted.flatMap((w) => (w[a] ? [w[a].toLowerCase()] : [])));
  const holders = await rows<{
    id: string;
    user_principal_name: string;
    sip_address: string | null;
    alias: string | null;
    immutable_id: string | null;
    deleted_at: string | null;
  }>(
    tx.db,
    sql`select id, user_principal_name, sip_address, alias, immutable_id, deleted_at from users
        where tenant_id = ${tx.tenantId}
          and id <> all(array(select (jsonb_array_elements_text(${exclude}::jsonb))::uuid))
          and (lower(user_principal_name) = any(array(select jsonb_array_elements_text(${values("userPrincipalName")}::jsonb)))
            or lower(sip_address) = any(array(select jsonb_array_elements_text(${values("sipAddress")}::jsonb)))
            or lower(alias) = any(array(select jsonb_array_elements_text(${values("alias")}::jsonb))))`,
  );
  if (holders.length === 0) return conflicts;
  const heldBy = new Map<string, (typeof holders)[number]>();
  for (const h of holders) {
    heldBy.set(`userPrincipalName:${h.user_principal_name.toLowerCase()}`, h);
    if (h.sip_address) heldBy.set(`sipAddress:${h.sip_address.toLowerCase()}`, h);
    if (h.alias) heldBy.set(`alias:${h.alias.toLowerCase()}`, h);
  }
  for (const w of wanted) {
    for (const attribute of attrs) {
      const v = w[attribute];
      const h = v ? heldBy.get(`${attribute}:${v.toLowerCase()}`) : undefined;
      if (!v || !h) continue;
      const who =
        h.deleted_at !== null || leaving.has(h.id)
          ? `the soft-deleted user ${h.user_principal_name} still holds (restore its object on-premises, or give the new object another value)`
          : h.immutable_id === null
            ? `the cloud-only user ${h.user_principal_name} already holds`
            : `the synchronised user ${h.user_principal_name} already holds`;
      add(w, attribute, v, h.user_principal_name, who);
    }
  }
  return conflicts;
}

/** Throws when the format is not one the importer reads. */
export function formatOf(fileName: string, format?: string): "csv" | "ldif" {
  const f = (format ?? fileName.split(".").pop() ?? "").toLowerCase();
  if (f === "csv" || f === "ldif") return f;
  throw new AppError("invalid_input", `Cannot tell the format of ${fileName}: give --format csv or --format ldif.`);
}
