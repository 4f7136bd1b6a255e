/**
 * The voice test cmdlets on the tenant's stored configuration: Test-CsDialPlan (and
 * Test-CsEffectiveTenantDialPlan), Test-CsVoiceNormalizationRule, Test-CsVoiceRoute and
 * Test-CsVoicePolicy. Read only; the decisions come from the routing engine (`routing.ts`), built
 * from the tenant's rows on each call.
 */
import { sql } from "drizzle-orm";
import type { Ctx } from "../core/context.ts";
import { AppError } from "../core/errors.ts";
import { resolveUserId } from "../directory/users.service.ts";
import { rows } from "../store/db.ts";
import { getDialPlan, getRule, type NormalizationRuleView } from "./dial-plans.service.ts";
import { compilePattern, translate } from "./pattern.ts";
import { normalize, numberToRoute, type RouteTraceEntry, type RuleTraceEntry, resolveRoute } from "./routing.ts";
import { GLOBAL, getEffectivePolicy, getRoute, listGateways, listRoutes } from "./voice.service.ts";

function checkNumber(number: string): string {
  const n = number.trim();
  if (!n) throw new AppError("invalid_input", "The number is empty: give the digits as dialled, e.g. 1234 or +14255550100.");
  if (n.length > 64) throw new AppError("invalid_input", `The number is ${n.length} characters long: give at most 64.`);
  return n;
}

export interface DialPlanTest {
  dialPlan: string;
  /** The user whose effective tenant dial plan was used, when one was named. */
  user: string | null;
  dialledNumber: string;
  /** Null when no rule matches (Test-CsDialPlan gives no value). */
  normalizedNumber: string | null;
  rule: NormalizationRuleView | null;
  /** Every rule in the order tried, and why it was or was not used. */
  trace: RuleTraceEntry[];
}

interface UserVoiceRow {
  user_principal_name: string;
  homing: string;
  on_prem_voice_routing_policy: string | null;
  online_voice_routing_policy: string | null;
  tenant_dial_plan: string | null;
}

async function userVoice(ctx: Ctx, identity: string): Promise<UserVoiceRow> {
  const id = await resolveUserId(ctx, identity);
  const [r] = await rows<UserVoiceRow>(
    ctx.db,
    sql`select user_principal_name, homing, on_prem_voice_routing_policy, online_voice_routing_policy, tenant_dial_plan
        from users where tenant_id = ${ctx.tenantId} and id = ${id}`,
  );
  if (!r) throw new AppError("user_not_found", `No user matches "${identity}".`);
  return r;
}

/**
 * A user's effective voice routing policy name: homed online → the online voice routing policy;
 * homed on-premises → the on-premises one; none granted (or a site-level one) → Global. The two are
 * independent, so an online user's on-premises policy does not apply.
 */
export function effectivePolicyName(
  u: Pick<UserVoiceRow, "homing" | "on_prem_voice_routing_policy" | "online_voice_routing_policy">,
): string {
  const granted = u.homing === "online" ? u.online_voice_routing_policy : u.on_prem_voice_routing_policy;
  // Online users may only have Global or per-user policies: a site-level one is ignored (§6.22).
  return granted?.trim() && !/^\s*site:/i.test(granted) ? granted : GLOBAL;
}

async function runDialPlan(ctx: Ctx, dialPlan: string, number: string): Promise<Omit<DialPlanTest, "user">> {
  const plan = await getDialPlan(ctx, dialPlan);
  const result = normalize({ identity: plan.identity, rules: plan.normalizationRules }, number);
  const rule = result.rule ? (plan.normalizationRules.find((r) => r.name === result.rule?.name) ?? null) : null;
  return { dialPlan: plan.identity, dialledNumber: number, normalizedNumber: result.number, rule, trace: [...result.trace] };
}

/**
 * Test-CsDialPlan on a named dial plan, or Test-CsEffectiveTenantDialPlan for a user (their tenant
 * dial plan, else Global): the normalized number, the rule that made it and every rule considered.
 */
export async function testDialPlan(ctx: Ctx, input: { dialPlan?: string; user?: string; number: string }): Promise<DialPlanTest> {
  const number = checkNumber(input.number);
  if (input.user && input.dialPlan) throw new AppError("invalid_input", "Give a dial plan or a user, not both.");
  if (input.user) {
    const u = await userVoice(ctx, input.user);
    return { ...(await runDialPlan(ctx, u.tenant_dial_plan?.trim() ? u.tenant_dial_plan : GLOBAL, number)), user: u.user_principal_name };
  }
  return { ...(await runDialPlan(ctx, input.dialPlan ?? GLOBAL, number)), user: null };
}

export interface RuleTest {
  rule: NormalizationRuleView;
  dialledNumber: string;
  /** Null (blank in the reference) when the pattern does not match. */
  translatedNumber: string | null;
}

/** Test-CsVoiceNormalizationRule: the translated number, or null when the rule's pattern does not match. */
export async function testNormalizationRule(ctx: Ctx, input: { rule: string; number: string }): Promise<RuleTest> {
  const number = checkNumber(input.number);
  const rule = await getRule(ctx, input.rule);
  return { rule, dialledNumber: number, translatedNumber: translate(rule.pattern, rule.translation, number) };
}

export interface VoiceRouteTest {
  route: string;
  numberPattern: string;
  number: string;
  matches: boolean;
}

/** Test-CsVoiceRoute: whether the route's pattern matches the number (anywhere, unless it anchors). */
export async function testVoiceRoute(ctx: Ctx, input: { route: string; number: string }): Promise<VoiceRouteTest> {
  const number = checkNumber(input.number);
  const route = await getRoute(ctx, input.route);
  return { route: route.name, numberPattern: route.numberPattern, number, matches: compilePattern(route.numberPattern).test(number) };
}

export interface RouteTest {
  policy: string;
  user: string | null;
  /** The dial plan applied, or null when the number was routed as given. */
  dialPlan: string | null;
  dialledNumber: string;
  normalization: { normalizedNumber: string | null; rule: string | null; trace: RuleTraceEntry[] } | null;
  /** The number routes were matched against: the normalized number, or the digits as dialled. */
  routedNumber: string;
  usage: string | null;
  route: string | null;
  /** The chosen route's gateways (tried in random order). */
  gateways: string[];
  /** Other matching routes of the chosen usage, tried in this order if the route fails. */
  backupRoutes: string[];
  trace: RouteTraceEntry[];
  warnings: string[];
}

/**
 * Test-CsVoicePolicy with normalization first: for a user, their effective policy and dial plan
 * (tenant dial plan, else Global); for a policy, the dial plan only when one is named. Returns the
 * usage, route and gateways chosen with a trace of every route considered.
 */
export async function testRoute(
  ctx: Ctx,
  input: { policy?: string; user?: string; number: string; dialPlan?: string },
): Promise<RouteTest> {
  const dialled = checkNumber(input.number);
  if (input.user && input.policy)
    throw new AppError("invalid_input", "Give a policy or a user, not both: a user's policy is the one granted to them.");
  if (!input.user && !input.policy)
    throw new AppError("invalid_input", "Give a voice routing policy (--policy NAME) or a user (--user IDENTITY).");
  let user: string | null = null;
  let policyName = input.policy ?? GLOBAL;
  let dialPlan = input.dialPlan ?? null;
  if (input.user) {
    const u = await userVoice(ctx, input.user);
    user = u.user_principal_name;
    policyName = effectivePolicyName(u);
    dialPlan ??= u.tenant_dial_plan?.trim() ? u.tenant_dial_plan : GLOBAL;
  }
  const policy = await getEffectivePolicy(ctx, policyName);
  let normalization: RouteTest["normalization"] = null;
  let routed = dialled;
  if (dialPlan) {
    const n = await runDialPlan(ctx, dialPlan, dialled);
    dialPlan = n.dialPlan;
    normalization = { normalizedNumber: n.normalizedNumber, rule: n.rule?.name ?? null, trace: n.trace };
    routed = numberToRoute({ number: n.normalizedNumber, rule: null }, dialled);
  }
  const routes = await listRoutes(ctx);
  const resolution = resolveRoute(routes, policy, routed);
  const warnings: string[] = [];
  if (normalization && normalization.normalizedNumber === null) {
    warnings.push(`No rule of dial plan "${dialPlan}" matches "${dialled}": the digits were routed as dialled.`);
  }
  if (!resolution.route) {
    warnings.push(
      policy.pstnUsages.length
        ? `No route of policy "${policy.identity}" matches "${routed}": the call fails (a Calling Plan user falls back to the Calling Plan).`
        : `Policy "${policy.identity}" has no PSTN usages: it cannot route any call.`,
    );
  }
  const gateways = [...resolution.gateways];
  if (gateways.length) {
    const disabled = (await listGateways(ctx)).filter((g) => gateways.includes(g.fqdn) && !g.enabled).map((g) => g.fqdn);
    if (disabled.length)
      warnings.push(
        `Gateway${disabled.length > 1 ? "s" : ""} ${disabled.join(", ")} ${disabled.length > 1 ? "are" : "is"} disabled: enable with \`callplane voice gateways set FQDN --enabled true\`.`,
      );
  } else if (resolution.route) {
    warnings.push(`Route "${resolution.route.name}" has no gateways: the call has nowhere to go.`);
  }
  return {
    policy: policy.identity,
    user,
    dialPlan,
    dialledNumber: dialled,
    normalization,
    routedNumber: routed,
    usage: resolution.usage,
    route: resolution.route?.name ?? null,
    gateways,
    backupRoutes: resolution.backups.map((b) => b.name),
    trace: [...resolution.trace],
    warnings,
  };
}
