import { sql } from "drizzle-orm";
import {
  bigint,
  bigserial,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";

const createdAt = () => timestamp("created_at", { withTimezone: true }).notNull().defaultNow();
const updatedAt = () => timestamp("updated_at", { withTimezone: true }).notNull().defaultNow();

export const tenants = pgTable(
  "tenants",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    name: text("name").notNull(),
    domain: text("domain").notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("tenants_name").on(sql`lower(${t.name})`)],
);

/** One row per tenant: Set-CsOnlineDialInConferencingTenantSettings. */
export const conferencingSettings = pgTable("conferencing_settings", {
  tenantId: uuid("tenant_id")
    .primaryKey()
    .references(() => tenants.id, { onDelete: "cascade" }),
  pinLength: integer("pin_length").notNull().default(5),
  automaticallySendEmailsToUsers: boolean("automatically_send_emails_to_users").notNull().default(true),
  allowPstnOnlyMeetingsByDefault: boolean("allow_pstn_only_meetings_by_default").notNull().default(false),
  automaticallyReplaceAcpProvider: boolean("automatically_replace_acp_provider").notNull().default(false),
  sendEmailFromOverride: boolean("send_email_from_override").notNull().default(false),
  sendEmailFromAddress: text("send_email_from_address"),
  sendEmailFromDisplayName: text("send_email_from_display_name"),
  enableEntryExitNotifications: boolean("enable_entry_exit_notifications").notNull().default(true),
  enableNameRecording: boolean("enable_name_recording").notNull().default(true),
  entryExitAnnouncementsType: text("entry_exit_announcements_type").notNull().default("UseNames"),
  maskPstnNumbersType: text("mask_pstn_numbers_type").notNull().default("MaskedForExternalUsers"),
  updatedAt: updatedAt(),
});

export const users = pgTable(
  "users",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: uuid("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    userPrincipalName: text("user_principal_name").notNull(),
    sipAddress: text("sip_address"),
    alias: text("alias"),
    displayName: text("display_name").notNull(),
    usageLocation: text("usage_location"),
    /** `on-premises` (synchronised from the directory) or `cloud` (created online). */
    source: text("source").notNull().default("cloud"),
    /** The on-premises object this user is synchronised from (its immutable id); null for cloud users. */
    immutableId: text("immutable_id"),
    lastSyncedAt: timestamp("last_synced_at", { withTimezone: true }),
    /** Set when the object left the on-premises directory: soft-deleted, kept for restore and audit. */
    deletedAt: timestamp("deleted_at", { withTimezone: true }),
    /** Where the user is homed: `on-premises` (a registrar pool) or `online`. */
    homing: text("homing").notNull().default("online"),
    /** Synchronised from on-premises (source of authority there): SfB enabled, pool, EV, line URI, policy. */
    onPremSipEnabled: boolean("on_prem_sip_enabled").notNull().default(false),
    onPremRegistrarPool: text("on_prem_registrar_pool"),
    /** `SRV:` while homed on-premises, `sipfed.online.lync.com` once moved online. */
    hostingProvider: text("hosting_provider"),
    onPremEnterpriseVoiceEnabled: boolean("on_prem_enterprise_voice_enabled").notNull().default(false),
    onPremLineUri: text("on_prem_line_uri"),
    onPremVoiceRoutingPolicy: text("on_prem_voice_routing_policy"),
    /** Online voice settings (Set-CsUser online, Grant-CsOnlineVoiceRoutingPolicy). */
    enterpriseVoiceEnabled: boolean("enterprise_voice_enabled").notNull().default(false),
    hostedVoicemail: boolean("hosted_voicemail").notNull().default(false),
    onlineVoiceRoutingPolicy: text("online_voice_routing_policy"),
    tenantDialPlan: text("tenant_dial_plan"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("users_tenant_immutable_id").on(t.tenantId, t.immutableId),
    uniqueIndex("users_tenant_on_prem_line_uri").on(t.tenantId, t.onPremLineUri).where(sql`${t.deletedAt} is null`),
    uniqueIndex("users_tenant_upn").on(t.tenantId, sql`lower(${t.userPrincipalName})`),
    uniqueIndex("users_tenant_sip").on(t.tenantId, sql`lower(${t.sipAddress})`),
    uniqueIndex("users_tenant_alias").on(t.tenantId, sql`lower(${t.alias})`),
    index("users_tenant_display_name").on(t.tenantId, sql`lower(${t.displayName})`),
  ],
);

/** A licence (SKU) the tenant has bought, with its seats and service plans. */
export const skus = pgTable(
  "skus",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: uuid("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    skuPartNumber: text("sku_part_number").notNull(),
    name: text("name").notNull(),
    seats: integer("seats").notNull(),
    servicePlans: text("service_plans").array().notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("skus_tenant_part_number").on(t.tenantId, sql`lower(${t.skuPartNumber})`)],
);

export const licenceAssignments = pgTable(
  "licence_assignments",
  {
    tenantId: uuid("tenant_id").notNull(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    skuId: uuid("sku_id")
      .notNull()
      .references(() => skus.id, { onDelete: "restrict" }),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.skuId] }), index("licence_assignments_sku").on(t.skuId)],
);

/** Audio conferencing providers the tenant may use: Microsoft and third parties. */
export const providers = pgTable(
  "providers",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: uuid("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    domain: text("domain").notNull(),
    url: text("url"),
    isMicrosoft: boolean("is_microsoft").notNull().default(false),
  },
  (t) => [uniqueIndex("providers_tenant_name").on(t.tenantId, sql`lower(${t.name})`)],
);

/** Per-user third-party provider entries (Set-CsUserAcp). */
export const userAcpEntries = pgTable(
  "user_acp_entries",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: uuid("tenant_id").notNull(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    domain: text("domain").notNull(),
    tollNumber: text("toll_number"),
    tollFreeNumbers: text("toll_free_numbers").array().notNull().default(sql`'{}'::text[]`),
    participantPasscode: text("participant_passcode"),
    url: text("url"),
    isDefault: boolean("is_default").notNull().default(false),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("user_acp_entries_user_name").on(t.userId, sql`lower(${t.name})`),
    index("user_acp_entries_tenant_name").on(t.tenantId, sql`lower(${t.name})`),
  ],
);

export const bridges = pgTable(
  "bridges",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: uuid("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    isDefault: boolean("is_default").notNull().default(false),
    conferenceIdLength: integer("conference_id_length").notNull().default(7),
    defaultServiceNumber: text("default_service_number"),
    defaultTollFreeServiceNumber: text("default_toll_free_service_number"),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("bridges_tenant_name").on(t.tenantId, sql`lower(${t.name})`)],
);

export const serviceNumbers = pgTable(
  "service_numbers",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: uuid("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    bridgeId: uuid("bridge_id")
      .notNull()
      .references(() => bridges.id, { onDelete: "cascade" }),
    /** E.164 with a leading `+`. */
    number: text("number").notNull(),
    /** `toll` or `toll-free`. */
    type: text("type").notNull(),
    city: text("city"),
    country: text("country"),
    primaryLanguage: text("primary_language").notNull().default("en-US"),
    secondaryLanguages: text("secondary_languages").array().notNull().default(sql`'{}'::text[]`),
  },
  (t) => [uniqueIndex("service_numbers_tenant_number").on(t.tenantId, t.number), index("service_numbers_bridge").on(t.bridgeId)],
);

/** A user's dial-in conferencing on the Microsoft provider. Its existence means the provider is Microsoft. */
/**
 * High-volume tables carry `tenant_id` without a foreign key: the user row they hang off already
 * belongs to the tenant, and per-row FK checks dominated bulk writes.
 */
export const dialInUsers = pgTable(
  "dial_in_users",
  {
    userId: uuid("user_id")
      .primaryKey()
      .references(() => users.id, { onDelete: "cascade" }),
    tenantId: uuid("tenant_id").notNull(),
    bridgeId: uuid("bridge_id")
      .notNull()
      .references(() => bridges.id, { onDelete: "restrict" }),
    conferenceId: text("conference_id").notNull(),
    pinHash: text("pin_hash").notNull(),
    serviceNumber: text("service_number"),
    tollFreeServiceNumber: text("toll_free_service_number"),
    allowPstnOnlyMeetings: boolean("allow_pstn_only_meetings").notNull().default(false),
    allowTollFreeDialIn: boolean("allow_toll_free_dial_in").notNull().default(true),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex("dial_in_users_bridge_conference_id").on(t.bridgeId, t.conferenceId), index("dial_in_users_tenant").on(t.tenantId)],
);

/** What a change replaced, kept so it can be restored: provider entries and earlier dial-in settings. */
export const archives = pgTable(
  "archives",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    tenantId: uuid("tenant_id").notNull(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    jobId: uuid("job_id"),
    operation: text("operation").notNull(),
    /** `{ acpEntries: [...], dialIn: {...} | null }` as they were before the change. */
    data: jsonb("data").notNull(),
    createdAt: createdAt(),
    restoredAt: timestamp("restored_at", { withTimezone: true }),
  },
  (t) => [index("archives_user").on(t.userId, t.id), index("archives_job").on(t.jobId)],
);

export const jobs = pgTable(
  "jobs",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: uuid("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    kind: text("kind").notNull(),
    /** `pending`, `running`, `completed`, `failed`. */
    status: text("status").notNull().default("pending"),
    dryRun: boolean("dry_run").notNull().default(false),
    params: jsonb("params").notNull(),
    /** A hash of kind + params, so re-running the same command finds the interrupted job. */
    fingerprint: text("fingerprint").notNull(),
    total: integer("total").notNull().default(0),
    processed: integer("processed").notNull().default(0),
    actor: text("actor").notNull(),
    runnerId: text("runner_id"),
    heartbeatAt: timestamp("heartbeat_at", { withTimezone: true }),
    /** Fencing token: raised by every claim, checked by each batch, so a runner that lost its lease cannot write. */
    leaseToken: bigint("lease_token", { mode: "number" }).notNull().default(0),
    /** The runner's lease ends here unless renewed; after it, any node may take the job over. */
    leaseExpiresAt: timestamp("lease_expires_at", { withTimezone: true }),
    error: text("error"),
    createdAt: createdAt(),
    startedAt: timestamp("started_at", { withTimezone: true }),
    finishedAt: timestamp("finished_at", { withTimezone: true }),
  },
  (t) => [
    index("jobs_tenant_created").on(t.tenantId, t.createdAt),
    index("jobs_fingerprint").on(t.tenantId, t.fingerprint),
    // One unfinished job per command: two nodes given the same bulk command at once share one job.
    uniqueIndex("jobs_unfinished_fingerprint").on(t.tenantId, t.fingerprint).where(sql`status <> 'completed' and not dry_run`),
    index("jobs_lease").on(t.leaseExpiresAt).where(sql`status = 'running'`),
  ],
);

export const jobItems = pgTable(
  "job_items",
  {
    jobId: uuid("job_id").notNull(),
    seq: integer("seq").notNull(),
    identity: text("identity").notNull(),
    userId: uuid("user_id"),
    /** null while pending; then `changed`, `already-microsoft`, `no-licence`, `not-found`, ... */
    outcome: text("outcome"),
    message: text("message"),
    failed: boolean("failed").notNull().default(false),
    changed: boolean("changed").notNull().default(false),
    detail: jsonb("detail"),
    /** When the item's batch ran (the StartTime of a Move-CsUser -Report row); null while pending. */
    processedAt: timestamp("processed_at", { withTimezone: true }),
    /** Something the user must be told that happened after the change committed (an email that could not be written). */
    notice: text("notice"),
  },
  (t) => [primaryKey({ columns: [t.jobId, t.seq] })],
);

export const auditEvents = pgTable(
  "audit_events",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    /** Null for events about the installation rather than a tenant (accounts, API tokens, sign-in). */
    tenantId: uuid("tenant_id"),
    at: timestamp("at", { withTimezone: true }).notNull().defaultNow(),
    /** The principal: `account:NAME`, `token:NAME/ID`, `local:OSUSER` or `system`. */
    actor: text("actor").notNull(),
    /**
     * Where the request came from (`ip:127.0.0.1`, `cli:in-process`). Statements that do not name it
     * take it from the transaction setting `callplane.source`, which inTransaction sets.
     */
    source: text("source").notNull().default(sql`coalesce(nullif(current_setting('callplane.source', true), ''), 'internal')`),
    operation: text("operation").notNull(),
    targetType: text("target_type").notNull(),
    targetId: text("target_id"),
    jobId: uuid("job_id"),
    before: jsonb("before"),
    after: jsonb("after"),
  },
  (t) => [
    index("audit_events_tenant_at").on(t.tenantId, t.id),
    index("audit_events_target").on(t.targetId),
    // The directory sync runs (one event per run) among millions of others; partial, so bulk writes do not pay for it.
    index("audit_events_sync_runs").on(t.tenantId, t.id).where(sql`${t.operation} = 'directory.sync'`),
  ],
);

/** Server-side secrets (the PIN hashing key). Never exposed through any interface. */
export const secrets = pgTable("secrets", {
  name: text("name").primaryKey(),
  value: text("value").notNull(),
  createdAt: createdAt(),
});

/**
 * The on-premises directory (Active Directory with the SfB Server attributes), as Callplane mirrors it.
 * Fed by a directory source (CSV or LDIF file today, LDAP later) and changed by the on-premises
 * commands (Enable-CsUser, Set-CsUser); `directory sync` carries it to the online users.
 */
export const directoryObjects = pgTable(
  "directory_objects",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: uuid("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    /** The sync anchor (objectGUID / ms-DS-ConsistencyGuid), never reused. */
    immutableId: text("immutable_id").notNull(),
    userPrincipalName: text("user_principal_name").notNull(),
    displayName: text("display_name").notNull(),
    alias: text("alias"),
    usageLocation: text("usage_location"),
    sipAddress: text("sip_address"),
    /** Enable-CsUser: the user is enabled for Skype for Business Server. */
    sipEnabled: boolean("sip_enabled").notNull().default(false),
    registrarPool: text("registrar_pool"),
    /** `SRV:` while homed on a pool; `sipfed.online.lync.com` once moved online. */
    hostingProvider: text("hosting_provider"),
    enterpriseVoiceEnabled: boolean("enterprise_voice_enabled").notNull().default(false),
    /** `tel:+E164[;ext=N]`, unique in the tenant. */
    lineUri: text("line_uri"),
    voiceRoutingPolicy: text("voice_routing_policy"),
    /** Where the object came from, e.g. `ldif:users.ldif`, `csv:export.csv`, `callplane`. */
    source: text("source").notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    deletedAt: timestamp("deleted_at", { withTimezone: true }),
  },
  (t) => [
    uniqueIndex("directory_objects_tenant_immutable_id").on(t.tenantId, t.immutableId),
    uniqueIndex("directory_objects_tenant_upn").on(t.tenantId, sql`lower(${t.userPrincipalName})`).where(sql`${t.deletedAt} is null`),
    uniqueIndex("directory_objects_tenant_line_uri").on(t.tenantId, t.lineUri).where(sql`${t.deletedAt} is null`),
  ],
);

/** The tenant's PSTN usages: one global ordered list (Set-CsPstnUsage / Set-CsOnlinePstnUsage). */
export const pstnUsages = pgTable(
  "pstn_usages",
  {
    tenantId: uuid("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    position: integer("position").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.name] }), uniqueIndex("pstn_usages_tenant_name").on(t.tenantId, sql`lower(${t.name})`)],
);

/** PSTN gateways / session border controllers (New-CsOnlinePSTNGateway). */
export const pstnGateways = pgTable(
  "pstn_gateways",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: uuid("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    fqdn: text("fqdn").notNull(),
    /**
     * Where the SIP proxy sends the gateway's calls (a host name or IP address), beside the FQDN that names
     * it: a gateway can be reached where DNS has no entry for its FQDN. Null: the FQDN itself.
     */
    signalingAddress: text("signaling_address"),
    sipSignalingPort: integer("sip_signaling_port").notNull(),
    enabled: boolean("enabled").notNull().default(false),
    failoverTimeSeconds: integer("failover_time_seconds").notNull().default(10),
    failoverResponseCodes: text("failover_response_codes").notNull().default("408,503,504"),
    sendSipOptions: boolean("send_sip_options").notNull().default(true),
    forwardPai: boolean("forward_pai").notNull().default(false),
    mediaBypass: boolean("media_bypass").notNull().default(false),
    maxConcurrentSessions: integer("max_concurrent_sessions"),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("pstn_gateways_tenant_fqdn").on(t.tenantId, sql`lower(${t.fqdn})`)],
);

/** Voice routes (New-CsVoiceRoute / New-CsOnlineVoiceRoute): number pattern, priority, usages, gateways. */
export const voiceRoutes = pgTable(
  "voice_routes",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: uuid("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    description: text("description"),
    numberPattern: text("number_pattern").notNull(),
    /** Lowest first. */
    priority: integer("priority").notNull(),
    /** Usages this route serves (names from pstn_usages). */
    pstnUsages: text("pstn_usages").array().notNull(),
    /** Gateway FQDNs, tried in random order. */
    pstnGateways: text("pstn_gateways").array().notNull(),
    suppressCallerId: boolean("suppress_caller_id").notNull().default(false),
    alternateCallerId: text("alternate_caller_id"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("voice_routes_tenant_name").on(t.tenantId, sql`lower(${t.name})`),
    index("voice_routes_tenant_priority").on(t.tenantId, t.priority),
  ],
);

/** Voice routing policies: `Global` or a per-user tag, each an ordered list of PSTN usages. */
export const voiceRoutingPolicies = pgTable(
  "voice_routing_policies",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: uuid("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    /** `Global`, or the policy name (Identity `Tag:Name` in the reference). */
    identity: text("identity").notNull(),
    description: text("description"),
    pstnUsages: text("pstn_usages").array().notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex("voice_routing_policies_tenant_identity").on(t.tenantId, sql`lower(${t.identity})`)],
);

/**
 * The SIP proxies (Kamailio) a tenant's voice routing is published to: each is reached over its JSON-RPC
 * address and reads the tables Callplane writes into its data folder.
 */
export const sipProxies = pgTable(
  "sip_proxies",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: uuid("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    /** `127.0.0.1:5080`: where Kamailio answers JSON-RPC over HTTP (xhttp + jsonrpcs, path /RPC). */
    rpcAddress: text("rpc_address").notNull(),
    /** The folder of db_text tables the proxy reads (its `db_url` is `text://` this folder). */
    dataDir: text("data_dir").notNull(),
    /** The generation it was last brought to, and when; null before its first publish. */
    generation: integer("generation"),
    /** Which of its two table slots that generation is in: the next publish writes the other one. */
    slot: integer("slot"),
    publishedAt: timestamp("published_at", { withTimezone: true }),
    /** Why the last publish to it failed (it keeps its previous generation), or null. */
    lastError: text("last_error"),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("sip_proxies_tenant_name").on(t.tenantId, sql`lower(${t.name})`)],
);

/**
 * Each publish of a tenant's voice routing: a numbered generation with what it holds (the compiled tables,
 * so it can be published again by a rollback), who published it and what changed.
 */
export const voicePublications = pgTable(
  "voice_publications",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: uuid("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    generation: integer("generation").notNull(),
    actor: text("actor").notNull(),
    /** The generation it put back, when it was a rollback. */
    rollbackOf: integer("rollback_of"),
    /** SHA-256 of the compiled tables: equal hashes route alike. */
    contentHash: text("content_hash").notNull(),
    /** Counts (users, dial plans, rules, usages, routes, gateways, policies) and what changed since the previous one. */
    summary: jsonb("summary").notNull(),
    /** The compiled generation in slot 0's numbering (dial plan rows, routing and user keys, index → name maps). */
    artifacts: jsonb("artifacts").notNull(),
    /** The configuration it was compiled from (what `voice publish --plan` compares the next one with). */
    input: jsonb("input").notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("voice_publications_tenant_generation").on(t.tenantId, t.generation)],
);

/** Dial plans at global, site or user (tag) scope. */
export const dialPlans = pgTable(
  "dial_plans",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: uuid("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    /** `Global`, `Site:Name` or the tag name. */
    identity: text("identity").notNull(),
    /** `global`, `site` or `user`. */
    scope: text("scope").notNull(),
    description: text("description"),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("dial_plans_tenant_identity").on(t.tenantId, sql`lower(${t.identity})`)],
);

/** Normalization rules of a dial plan (New-CsVoiceNormalizationRule). */
export const normalizationRules = pgTable(
  "normalization_rules",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: uuid("tenant_id").notNull(),
    dialPlanId: uuid("dial_plan_id")
      .notNull()
      .references(() => dialPlans.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    description: text("description"),
    pattern: text("pattern").notNull(),
    translation: text("translation").notNull(),
    /** Among matching rules the lowest wins. */
    priority: integer("priority").notNull(),
    isInternalExtension: boolean("is_internal_extension").notNull().default(false),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("normalization_rules_plan_name").on(t.dialPlanId, sql`lower(${t.name})`)],
);

/** Local accounts for the web admin center: passwords hashed with scrypt (per-password salt). */
export const accounts = pgTable(
  "accounts",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    name: text("name").notNull(),
    /** One of the roles in src/auth/permissions.ts. */
    role: text("role").notNull(),
    passwordHash: text("password_hash").notNull(),
    mustChangePassword: boolean("must_change_password").notNull().default(false),
    /** A one-time password stops working at this time (null: the account's own password, no expiry). */
    passwordExpiresAt: timestamp("password_expires_at", { withTimezone: true }),
    disabledAt: timestamp("disabled_at", { withTimezone: true }),
    createdBy: text("created_by").notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex("accounts_name").on(sql`lower(${t.name})`)],
);

/** API tokens (`cpt_<id>_<secret>`): only the SHA-256 of the secret is kept. */
export const apiTokens = pgTable("api_tokens", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  role: text("role").notNull(),
  secretHash: text("secret_hash").notNull(),
  createdBy: text("created_by").notNull(),
  createdAt: createdAt(),
  expiresAt: timestamp("expires_at", { withTimezone: true }),
  revokedAt: timestamp("revoked_at", { withTimezone: true }),
  lastUsedAt: timestamp("last_used_at", { withTimezone: true }),
});

/** Web sign-in sessions; the cookie's value is never stored, only its SHA-256. */
export const sessions = pgTable(
  "sessions",
  {
    idHash: text("id_hash").primaryKey(),
    accountId: uuid("account_id")
      .notNull()
      .references(() => accounts.id, { onDelete: "cascade" }),
    createdAt: createdAt(),
    lastSeenAt: timestamp("last_seen_at", { withTimezone: true }).notNull().defaultNow(),
    /** The absolute end of the session, whatever its activity. */
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    source: text("source").notNull(),
  },
  (t) => [index("sessions_account").on(t.accountId)],
);

/** Failed sign-ins per username and per address, so the slow-down survives a restart and is shared by nodes. */
export const signInFailures = pgTable("sign_in_failures", {
  /** `user:NAME` or `ip:ADDRESS`. */
  key: text("key").primaryKey(),
  failures: integer("failures").notNull().default(0),
  lastFailureAt: timestamp("last_failure_at", { withTimezone: true }).notNull().defaultNow(),
  blockedUntil: timestamp("blocked_until", { withTimezone: true }),
});

/**
 * The transactional outbox: each message is written in the transaction of the change that causes it,
 * then delivered. Its content is sealed (src/notify/seal.ts) with a key kept outside the store, and a
 * PIN is dropped from it once the mail server has accepted the message.
 */
export const mailMessages = pgTable(
  "mail_messages",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: uuid("tenant_id").notNull(),
    userId: uuid("user_id"),
    jobId: uuid("job_id"),
    /** `dial-in.enabled`, `dial-in.changed`, `dial-in.pin-reset`, `dial-in.disabled`, `dial-in.restored`. */
    kind: text("kind").notNull(),
    toAddress: text("to_address").notNull(),
    subject: text("subject").notNull(),
    /** The message's content, sealed. */
    payload: text("payload").notNull(),
    hasPin: boolean("has_pin").notNull().default(false),
    /** `queued`, `sending`, `sent`, `deferred`, `failed`. */
    status: text("status").notNull().default("queued"),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: timestamp("next_attempt_at", { withTimezone: true }).notNull().defaultNow(),
    claimedBy: text("claimed_by"),
    claimedUntil: timestamp("claimed_until", { withTimezone: true }),
    lastError: text("last_error"),
    /** Each attempt: when, what became of it, the server's answer. */
    history: jsonb("history").notNull().default(sql`'[]'::jsonb`),
    createdAt: createdAt(),
    sentAt: timestamp("sent_at", { withTimezone: true }),
  },
  (t) => [
    // The Message-ID header is `<id@callplane>`, fixed by the row's id: a message sent twice after a crash carries the same one.
    // What a delivery round claims, in the order it claims it; and claims to take back once they run out.
    index("mail_messages_due").on(t.nextAttemptAt).where(sql`status in ('queued', 'deferred')`),
    index("mail_messages_claimed").on(t.claimedUntil).where(sql`status = 'sending'`),
    index("mail_messages_tenant_created").on(t.tenantId, t.createdAt),
    index("mail_messages_user").on(t.userId),
  ],
);
