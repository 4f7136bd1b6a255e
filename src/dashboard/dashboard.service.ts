import { sql } from "drizzle-orm";
import { getConferencingSummary } from "../conferencing/dial-in.service.ts";
import type { Ctx } from "../core/context.ts";
import { listSyncRuns } from "../directory/sync-runs.service.ts";
import { type InterpretedUserType, interpretUserType } from "../hybrid/lifecycle.ts";
import { listJobs } from "../jobs/jobs.service.ts";
import { listSkus } from "../licensing/licensing.service.ts";
import { rows } from "../store/db.ts";
import type { DashboardView } from "./dashboard.schemas.ts";

/** The lifecycle states in the order of the seed's progression, then the two outside it. */
export const LIFECYCLE_ORDER: readonly InterpretedUserType[] = [
  "HybridOnpremSfBUserNeedsProvisioning",
  "HybridOnpremSfBUser",
  "HybridOnlineSfBUserNeedsProvisioning",
  "HybridOnlineSfBUser",
  "CloudOnlyUser",
  "SoftDeletedUser",
];

interface StateGroup {
  synced: boolean;
  deleted: boolean;
  homing: string;
  on_prem_sip_enabled: boolean;
  on_prem_enterprise_voice_enabled: boolean;
  has_line_uri: boolean;
  enterprise_voice_enabled: boolean;
  hosted_voicemail: boolean;
  n: string | number;
}

/**
 * Users by lifecycle state: one pass over the tenant's users grouped by the inputs of the state
 * (at most a few dozen groups), each group interpreted by lifecycle.ts's rule, so the rule lives once.
 */
async function usersByState(ctx: Ctx): Promise<{ states: Map<InterpretedUserType, number>; synced: number; cloudOnly: number }> {
  const groups = await rows<StateGroup>(
    ctx.db,
    sql`select (source = 'on-premises' and immutable_id is not null) as synced, (deleted_at is not null) as deleted, homing,
               on_prem_sip_enabled, on_prem_enterprise_voice_enabled, (on_prem_line_uri is not null) as has_line_uri,
               enterprise_voice_enabled, hosted_voicemail, count(*) as n
        from users where tenant_id = ${ctx.tenantId}
        group by 1, 2, 3, 4, 5, 6, 7, 8`,
  );
  const states = new Map<InterpretedUserType, number>(LIFECYCLE_ORDER.map((s) => [s, 0]));
  let synced = 0;
  let cloudOnly = 0;
  for (const g of groups) {
    const n = Number(g.n);
    const state = interpretUserType({
      synced: g.synced,
      deleted: g.deleted,
      homing: g.homing === "on-premises" ? "on-premises" : "online",
      onPremSipEnabled: g.on_prem_sip_enabled,
      onPremEnterpriseVoiceEnabled: g.on_prem_enterprise_voice_enabled,
      // The rule only asks whether there is a line URI; the group knows that much.
      onPremLineUri: g.has_line_uri ? "tel:" : null,
      enterpriseVoiceEnabled: g.enterprise_voice_enabled,
      hostedVoicemail: g.hosted_voicemail,
    });
    states.set(state, (states.get(state) ?? 0) + n);
    if (!g.deleted && g.synced) synced += n;
    if (!g.deleted && !g.synced) cloudOnly += n;
  }
  return { states, synced, cloudOnly };
}

/** The admin center's home page: users by provider and lifecycle state, licences, recent jobs, the last sync. */
export async function getDashboard(ctx: Ctx): Promise<DashboardView> {
  const [lifecycle, conferencing, skus, jobs, syncRuns] = [
    await usersByState(ctx),
    await getConferencingSummary(ctx),
    await listSkus(ctx),
    await listJobs(ctx, { limit: 5 }),
    await listSyncRuns(ctx, { limit: 1 }),
  ];
  const softDeleted = lifecycle.states.get("SoftDeletedUser") ?? 0;
  return {
    users: { total: lifecycle.synced + lifecycle.cloudOnly, synced: lifecycle.synced, cloudOnly: lifecycle.cloudOnly, softDeleted },
    byProvider: Object.entries(conferencing.byProvider)
      .map(([provider, users]) => ({ provider, users }))
      .sort((a, b) => b.users - a.users || a.provider.localeCompare(b.provider)),
    readyForAudioConferencing: conferencing.readyForAudioConferencing,
    licences: skus.map((s) => ({
      skuPartNumber: s.skuPartNumber,
      name: s.name,
      seats: s.seats,
      consumed: s.consumed,
      available: s.available,
    })),
    lifecycle: LIFECYCLE_ORDER.map((state) => ({ state, users: lifecycle.states.get(state) ?? 0 })),
    recentJobs: jobs,
    lastSync: syncRuns.runs[0] ?? null,
    lastSyncedAt: syncRuns.lastSyncedAt,
  };
}
