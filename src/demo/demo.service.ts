import { randomBytes } from "node:crypto";
import { sql } from "drizzle-orm";
import { addServiceNumber, createBridge, setBridge } from "../conferencing/bridges.service.ts";
import { ConferenceIdAllocator } from "../conferencing/conference-id.ts";
import { generatePin, hashPin } from "../conferencing/pin.ts";
import type { AppEnv, Ctx } from "../core/context.ts";
import { AppError } from "../core/errors.ts";
import { pick, type Rng, seededRng, uuidFromRng } from "../core/random.ts";
import { syncDirectory } from "../directory/sync.service.ts";
import type { Db } from "../store/db.ts";
import { rows } from "../store/db.ts";
import { type CreatedBy, createTenant, type Tenant } from "../tenancy/tenant.service.ts";
import { buildDemoVoiceConfig } from "../voice/voice-demo.ts";

const firstNames = [
  "Alex",
  "Ana",
  "Ben",
  "Chloe",
  "Daniel",
  "Elena",
  "Fatima",
  "George",
  "Hana",
  "Ivan",
  "Julia",
  "Kenji",
  "Laura",
  "Mohammed",
  "Nina",
  "Oliver",
  "Priya",
  "Quentin",
  "Rosa",
  "Samuel",
  "Tara",
  "Umar",
  "Valeria",
  "William",
  "Xin",
  "Yara",
  "Zoe",
  "Amelie",
  "Bruno",
  "Carmen",
  "Dmitri",
  "Emma",
  "Felix",
  "Grace",
  "Hugo",
  "Ines",
  "Jonas",
  "Kira",
  "Lucas",
  "Maya",
];
const lastNames = [
  "Adams",
  "Bauer",
  "Chen",
  "Dubois",
  "Evans",
  "Fischer",
  "Garcia",
  "Haddad",
  "Ito",
  "Jensen",
  "Kowalski",
  "Lopez",
  "Martin",
  "Nakamura",
  "Okafor",
  "Patel",
  "Quinn",
  "Rossi",
  "Schmidt",
  "Tanaka",
  "Ueda",
  "Varga",
  "Weber",
  "Xu",
  "Yilmaz",
  "Zhang",
  "Moreau",
  "Silva",
  "Novak",
  "Kim",
  "Murphy",
  "Larsen",
  "Costa",
  "Singh",
  "Nguyen",
  "Ahmed",
];

/** Usage locations, weighted like a company headquartered in the US with offices abroad. */
const locations: [string, number][] = [
  ["US", 50],
  ["GB", 18],
  ["FR", 10],
  ["DE", 10],
  ["AU", 6],
  ["JP", 6],
];

const thirdParties: { name: string; weight: number; toll: string; tollFree: string }[] = [
  { name: "InterCall", weight: 40, toll: "+14255550150", tollFree: "+18665550150" },
  { name: "PGi", weight: 25, toll: "+14255550160", tollFree: "+18665550160" },
  { name: "BT Conferencing", weight: 20, toll: "+442079460150", tollFree: "+448081570150" },
  { name: "Arkadin", weight: 15, toll: "+33199000150", tollFree: "+33805000150" },
];

/** The bridge's service numbers: fictional-use ranges in each country. */
const demoNumbers = [
  { number: "+14255550100", type: "toll", city: "Redmond", country: "US", primaryLanguage: "en-US" },
  { number: "+12065550100", type: "toll", city: "Seattle", country: "US", primaryLanguage: "en-US" },
  { number: "+18665550100", type: "toll-free", city: null, country: "US", primaryLanguage: "en-US" },
  { number: "+442079460100", type: "toll", city: "London", country: "GB", primaryLanguage: "en-GB" },
  { number: "+448081570100", type: "toll-free", city: null, country: "GB", primaryLanguage: "en-GB" },
  { number: "+33199000100", type: "toll", city: "Paris", country: "FR", primaryLanguage: "fr-FR" },
  { number: "+4930901820100", type: "toll", city: "Berlin", country: "DE", primaryLanguage: "de-DE" },
  { number: "+61255500100", type: "toll", city: "Sydney", country: "AU", primaryLanguage: "en-AU" },
  { number: "+81355500100", type: "toll", city: "Tokyo", country: "JP", primaryLanguage: "ja-JP" },
] as const;

function weighted<T>(rng: Rng, items: [T, number][]): T {
  const total = items.reduce((s, [, w]) => s + w, 0);
  let r = rng.int(total);
  for (const [item, w] of items) {
    if (r < w) return item;
    r -= w;
  }
  const last = items[items.length - 1];
  if (!last) throw new AppError("internal", "Nothing to pick from.");
  return last[0];
}

/**
 * The hybrid voice state of the i-th on-premises demo user, by index so the random sequence (and
 * so every other demo figure) is unchanged: 20% not SfB-enabled, 40% Enterprise Voice with a line
 * URI on a pool, 20% on a pool without voice, 20% moved online (half of them with online voice).
 */
function demoVoice(i: number) {
  const kind = i % 10;
  const immutable_id = `d0000000-0000-4000-8000-${i.toString(16).padStart(12, "0")}`;
  const line = `tel:+1425${String(2000000 + i).padStart(7, "0")}`;
  if (kind < 2)
    return { immutable_id, sip_enabled: false, pool: null, hosting: null, homing: "online", ev: false, line: null, online_ev: false };
  if (kind < 6)
    return {
      immutable_id,
      sip_enabled: true,
      pool: "pool01.contoso.com",
      hosting: "SRV:",
      homing: "on-premises",
      ev: true,
      line,
      online_ev: false,
    };
  if (kind < 8)
    return {
      immutable_id,
      sip_enabled: true,
      pool: "pool01.contoso.com",
      hosting: "SRV:",
      homing: "on-premises",
      ev: false,
      line: null,
      online_ev: false,
    };
  return {
    immutable_id,
    sip_enabled: true,
    pool: null,
    hosting: "sipfed.online.lync.com",
    homing: "online",
    ev: true,
    line,
    online_ev: kind === 8,
  };
}

export interface DemoOptions {
  users: number;
  seed?: string | number;
  name?: string;
  domain?: string;
}

export interface DemoSummary {
  tenant: Tenant;
  users: number;
  licensedForAudioConferencing: number;
  byProvider: Record<string, number>;
  bridge: string;
  serviceNumbers: number;
}

async function insertChunks(db: Db, items: unknown[], chunk: number, insert: (json: string) => ReturnType<typeof sql>): Promise<void> {
  for (let i = 0; i < items.length; i += chunk) {
    await db.execute(insert(JSON.stringify(items.slice(i, i + chunk))));
  }
}

/**
 * Builds a realistic, deterministic tenant: users spread over the third-party providers, some
 * unlicensed, some already on Microsoft, and a bridge with numbers in several countries.
 */
export async function buildDemoTenant(
  db: Db,
  env: AppEnv,
  opts: DemoOptions,
  by: CreatedBy = { actor: "system:demo", source: "internal" },
): Promise<DemoSummary> {
  const count = opts.users;
  if (!Number.isInteger(count) || count < 1 || count > 1_000_000) {
    throw new AppError("invalid_input", `--users ${count} is out of range: give a whole number from 1 to 1,000,000.`);
  }
  const seed = opts.seed ?? 1;
  const rng = seededRng(seed);
  const name = opts.name ?? "Contoso";
  const domain = opts.domain ?? `${name.toLowerCase().replace(/[^a-z0-9]+/g, "")}.com`;
  const tenant = await createTenant(db, { name, domain }, by);
  const ctx: Ctx = { db, tenantId: tenant.id, actor: by.actor, source: by.source, env };
  const bridge = await createBridge(ctx, { name: `${name} Audio Conferencing Bridge` });
  for (const n of demoNumbers) {
    await addServiceNumber(ctx, { ...n, city: n.city ?? undefined, bridge: bridge.name });
  }
  await setBridge(ctx, bridge.id, { defaultServiceNumber: "+14255550100", defaultTollFreeServiceNumber: "+18665550100" });

  const skuIds = {
    audio: uuidFromRng(rng),
    phone: uuidFromRng(rng),
    sfb: uuidFromRng(rng),
  };
  await db.execute(sql`insert into skus (id, tenant_id, sku_part_number, name, seats, service_plans) values
    (${skuIds.audio}, ${tenant.id}, 'MCOMEETADV', 'Audio Conferencing', ${Math.ceil(count * 0.95)}, '{MCOMEETADV}'),
    (${skuIds.phone}, ${tenant.id}, 'MCOEV', 'Phone System', ${Math.ceil(count * 0.7)}, '{MCOEV}'),
    (${skuIds.sfb}, ${tenant.id}, 'MCOSTANDARD', 'Skype for Business Online (Plan 2)', ${count}, '{MCOSTANDARD}')`);

  const users: Record<string, unknown>[] = [];
  const licences: { user_id: string; sku_id: string }[] = [];
  const acp: Record<string, unknown>[] = [];
  const dialIns: Record<string, unknown>[] = [];
  const byProvider: Record<string, number> = { Microsoft: 0, none: 0 };
  for (const p of thirdParties) byProvider[p.name] = 0;
  let licensed = 0;
  const allocator = new ConferenceIdAllocator(bridge.conferenceIdLength, [], rng);
  const pinKey = env.pinKey;
  for (let i = 0; i < count; i++) {
    const first = pick(rng, firstNames);
    const last = pick(rng, lastNames);
    const upn = `${first}.${last}${i + 1}@${domain}`.toLowerCase();
    const id = uuidFromRng(rng);
    const onPrem = rng.int(100) < 80;
    const user = {
      id,
      upn,
      sip: `sip:${upn}`,
      alias: `${first[0]}${last}${i + 1}`.toLowerCase(),
      display_name: `${first} ${last}`,
      usage_location: weighted(rng, locations),
      source: onPrem ? "on-premises" : "cloud",
      ...(onPrem ? demoVoice(i) : {}),
    };
    users.push(user);
    licences.push({ user_id: id, sku_id: skuIds.sfb });
    const hasAudio = rng.int(100) < 90;
    if (hasAudio) {
      licences.push({ user_id: id, sku_id: skuIds.audio });
      licensed++;
    }
    if (rng.int(100) < 60) licences.push({ user_id: id, sku_id: skuIds.phone });
    const roll = rng.int(100);
    if (hasAudio && roll < 15) {
      byProvider.Microsoft = (byProvider.Microsoft ?? 0) + 1;
      dialIns.push({
        user_id: id,
        conference_id: allocator.allocate(),
        pin_hash: hashPin(generatePin(5, rng), pinKey, randomBytes(16)),
      });
    } else if (roll < 95) {
      const provider = weighted(
        rng,
        thirdParties.map((p) => [p, p.weight] as [typeof p, number]),
      );
      byProvider[provider.name] = (byProvider[provider.name] ?? 0) + 1;
      acp.push({
        user_id: id,
        name: provider.name,
        domain: `${provider.name.toLowerCase().replace(/[^a-z]/g, "")}.com`,
        toll_number: provider.toll,
        toll_free: [provider.tollFree],
        passcode: String(1000000 + rng.int(9000000)),
        url: `https://join.${provider.name.toLowerCase().replace(/[^a-z]/g, "")}.com/${first.toLowerCase()}${i + 1}`,
      });
    } else {
      byProvider.none = (byProvider.none ?? 0) + 1;
    }
  }
  const chunk = 5000;
  await db.transaction(async (tx) => {
    const t = tx as unknown as Db;
    await insertChunks(
      t,
      users,
      chunk,
      (json) => sql`
      insert into users (id, tenant_id, user_principal_name, sip_address, alias, display_name, usage_location, source,
        immutable_id, last_synced_at, homing, on_prem_sip_enabled, on_prem_registrar_pool, hosting_provider,
        on_prem_enterprise_voice_enabled, on_prem_line_uri, enterprise_voice_enabled, hosted_voicemail)
      select x.id, ${tenant.id}::uuid, x.upn, x.sip, x.alias, x.display_name, x.usage_location, x.source,
        x.immutable_id, case when x.immutable_id is null then null else now() end, coalesce(x.homing, 'online'),
        coalesce(x.sip_enabled, false), x.pool, x.hosting, coalesce(x.ev, false), x.line, coalesce(x.online_ev, false),
        coalesce(x.online_ev, false)
      from jsonb_to_recordset(${json}::jsonb) as x(id uuid, upn text, sip text, alias text, display_name text, usage_location text,
        source text, immutable_id text, homing text, sip_enabled boolean, pool text, hosting text, ev boolean, line text, online_ev boolean)`,
    );
    // The on-premises side of the synchronised users: the directory objects they came from, copied set-based.
    await t.execute(sql`
      insert into directory_objects (tenant_id, immutable_id, user_principal_name, display_name, alias, usage_location, sip_address,
        sip_enabled, registrar_pool, hosting_provider, enterprise_voice_enabled, line_uri, source)
      select tenant_id, immutable_id, user_principal_name, display_name, alias, usage_location, sip_address, on_prem_sip_enabled,
        on_prem_registrar_pool, hosting_provider, on_prem_enterprise_voice_enabled, on_prem_line_uri, 'demo'
      from users where tenant_id = ${tenant.id} and immutable_id is not null`);
    await insertChunks(
      t,
      licences,
      chunk * 2,
      (json) => sql`
      insert into licence_assignments (tenant_id, user_id, sku_id)
      select ${tenant.id}::uuid, x.user_id, x.sku_id from jsonb_to_recordset(${json}::jsonb) as x(user_id uuid, sku_id uuid)`,
    );
    await insertChunks(
      t,
      acp,
      chunk,
      (json) => sql`
      insert into user_acp_entries (tenant_id, user_id, name, domain, toll_number, toll_free_numbers, participant_passcode, url, is_default)
      select ${tenant.id}::uuid, x.user_id, x.name, x.domain, x.toll_number,
             array(select jsonb_array_elements_text(x.toll_free)), x.passcode, x.url, true
      from jsonb_to_recordset(${json}::jsonb) as x(user_id uuid, name text, domain text, toll_number text, toll_free jsonb, passcode text, url text)`,
    );
    await insertChunks(
      t,
      dialIns,
      chunk,
      (json) => sql`
      insert into dial_in_users (user_id, tenant_id, bridge_id, conference_id, pin_hash, service_number, toll_free_service_number)
      select x.user_id, ${tenant.id}::uuid, ${bridge.id}::uuid, x.conference_id, x.pin_hash, '+14255550100', '+18665550100'
      from jsonb_to_recordset(${json}::jsonb) as x(user_id uuid, conference_id text, pin_hash text)`,
    );
    await t.execute(sql`insert into audit_events (tenant_id, actor, source, operation, target_type, target_id, after)
      values (${tenant.id}, ${by.actor}, ${by.source}, 'demo.build', 'tenant', ${tenant.id},
              ${JSON.stringify({ users: count, seed: String(seed), byProvider })}::jsonb)`);
  });
  // The demo wrote both sides consistently; the sync confirms it (and would repair any difference).
  // Statistics first: without them the planner joins 100,000 users to their objects by nested scans.
  await db.execute(sql`analyze`);
  await syncDirectory(ctx);
  await buildDemoVoiceConfig(ctx);
  const [numbers] = await rows<{ n: string | number }>(db, sql`select count(*) as n from service_numbers where tenant_id = ${tenant.id}`);
  return {
    tenant,
    users: count,
    licensedForAudioConferencing: licensed,
    byProvider,
    bridge: bridge.name,
    serviceNumbers: Number(numbers?.n ?? 0),
  };
}
