/**
 * Dial plans and their normalization rules (New-CsDialPlan / New-CsTenantDialPlan,
 * New-CsVoiceNormalizationRule). Patterns and translations are checked by the linear-time engine
 * before anything is stored; every change writes its audit event in the same transaction.
 */
import { sql } from "drizzle-orm";
import { recordAudit } from "../audit/audit.service.ts";
import { type Ctx, inTransaction } from "../core/context.ts";
import { AppError } from "../core/errors.ts";
import { rows } from "../store/db.ts";
import { compilePattern, compileTranslation } from "./pattern.ts";
import { checkNumberPattern, cleanName, lockVoiceConfig } from "./voice.service.ts";

export type DialPlanScope = "global" | "site" | "user";

export interface NormalizationRuleView {
  /** `Global/Name`, `Site:X/Name` or `Tag/Name`. */
  identity: string;
  dialPlan: string;
  name: string;
  description: string | null;
  pattern: string;
  translation: string;
  priority: number;
  isInternalExtension: boolean;
}

export interface DialPlanView {
  /** `Global`, `Site:Name` or the tag name. */
  identity: string;
  scope: DialPlanScope;
  description: string | null;
  /** Lowest priority first: the order they are tried. */
  normalizationRules: NormalizationRuleView[];
}

/** At most this many rules in a tenant (user-scope) dial plan, as Teams allows. */
export const MAX_TENANT_DIAL_PLAN_RULES = 50;
export const DEFAULT_RULE_PATTERN = "^(\\d{11})$";
export const DEFAULT_RULE_TRANSLATION = "+$1";

/** `Global`, `Site:Name`, `Tag:Name` or `Name` → the stored identity and scope. */
export function dialPlanIdentity(value: string): { identity: string; scope: DialPlanScope } {
  const v = value.trim();
  if (v.toLowerCase() === "global") return { identity: "Global", scope: "global" };
  const site = /^site:(.*)$/i.exec(v);
  if (site) return { identity: `Site:${cleanName("site", site[1] ?? "", /[:/]/)}`, scope: "site" };
  return { identity: cleanName("dial plan", v.replace(/^tag:/i, ""), /[:/]/), scope: "user" };
}

/** `Global/Name`, `Site:X/Name`, `Tag:X/Name` or `X/Name` → the dial plan and the rule name. */
export function ruleIdentity(value: string): { dialPlan: string; scope: DialPlanScope; name: string } {
  const v = value.trim();
  const slash = v.indexOf("/");
  if (slash < 0) {
    throw new AppError(
      "invalid_input",
      `"${v}" does not name a dial plan: write the rule identity as "Global/RuleName", "Site:Redmond/RuleName" or "PlanName/RuleName".`,
    );
  }
  const plan = dialPlanIdentity(v.slice(0, slash));
  return { dialPlan: plan.identity, scope: plan.scope, name: cleanName("normalization rule", v.slice(slash + 1)) };
}

/** Checks a pattern and translation together: the translation may only use groups the pattern has. */
export function checkRule(pattern: string, translation: string): void {
  const compiled = compilePattern(pattern);
  checkNumberPattern(pattern);
  compileTranslation(translation, compiled.groupCount);
}

interface PlanRow {
  id: string;
  identity: string;
  scope: string;
  description: string | null;
}

interface RuleRow {
  id: string;
  dial_plan_id: string;
  plan_identity: string;
  name: string;
  description: string | null;
  pattern: string;
  translation: string;
  priority: number;
  is_internal_extension: boolean;
}

function toRule(r: RuleRow): NormalizationRuleView {
  return {
    identity: `${r.plan_identity}/${r.name}`,
    dialPlan: r.plan_identity,
    name: r.name,
    description: r.description,
    pattern: r.pattern,
    translation: r.translation,
    priority: r.priority,
    isInternalExtension: r.is_internal_extension,
  };
}

function scopeOf(s: string): DialPlanScope {
  return s === "global" ? "global" : s === "site" ? "site" : "user";
}

/** The Global dial plan always exists: created (with no rules, audited) the first time anything asks for it. */
async function ensureGlobalDialPlan(ctx: Ctx): Promise<void> {
  const [r] = await rows<{ id: string }>(
    ctx.db,
    sql`select id from dial_plans where tenant_id = ${ctx.tenantId} and lower(identity) = 'global'`,
  );
  if (r) return;
  await inTransaction(ctx, async (tx) => {
    await lockVoiceConfig(tx);
    const created = await rows<{ id: string }>(
      tx.db,
      sql`insert into dial_plans (tenant_id, identity, scope) values (${tx.tenantId}, 'Global', 'global') on conflict do nothing returning id`,
    );
    if (created.length) {
      await recordAudit(tx, [
        {
          operation: "dial-plan.create",
          targetType: "dial-plan",
          targetId: "Global",
          after: { identity: "Global", scope: "global", normalizationRules: [] },
        },
      ]);
    }
  });
}

async function findPlanRow(ctx: Ctx, identity: string): Promise<PlanRow | undefined> {
  if (identity === "Global") await ensureGlobalDialPlan(ctx);
  const [r] = await rows<PlanRow>(
    ctx.db,
    sql`select id, identity, scope, description from dial_plans where tenant_id = ${ctx.tenantId} and lower(identity) = ${identity.toLowerCase()}`,
  );
  return r;
}

const ruleSelect = sql`select r.id, r.dial_plan_id, p.identity as plan_identity, r.name, r.description, r.pattern, r.translation, r.priority,
    r.is_internal_extension from normalization_rules r join dial_plans p on p.id = r.dial_plan_id`;

async function rulesOf(ctx: Ctx, planId: string | null): Promise<NormalizationRuleView[]> {
  const r = await rows<RuleRow>(
    ctx.db,
    sql`${ruleSelect} where r.tenant_id = ${ctx.tenantId} ${planId ? sql`and r.dial_plan_id = ${planId}` : sql``}
        order by lower(p.identity) = 'global' desc, p.identity, r.priority, r.name`,
  );
  return r.map(toRule);
}

function notFoundPlan(identity: string): AppError {
  return new AppError(
    "not_found",
    `There is no dial plan "${identity}": create it first with \`callplane voice dial-plans create ${identity}\` (list them with \`callplane voice dial-plans list\`).`,
  );
}

async function planView(ctx: Ctx, row: PlanRow): Promise<DialPlanView> {
  return {
    identity: row.identity,
    scope: scopeOf(row.scope),
    description: row.description,
    normalizationRules: await rulesOf(ctx, row.id),
  };
}

/** Get-CsDialPlan / Get-CsTenantDialPlan: Global first, then sites, then tenant (user) plans. */
export async function listDialPlans(ctx: Ctx): Promise<DialPlanView[]> {
  await ensureGlobalDialPlan(ctx);
  const plans = await rows<PlanRow>(
    ctx.db,
    sql`select id, identity, scope, description from dial_plans where tenant_id = ${ctx.tenantId}
        order by case scope when 'global' then 0 when 'site' then 1 else 2 end, lower(identity)`,
  );
  const rules = await rulesOf(ctx, null);
  return plans.map((p) => ({
    identity: p.identity,
    scope: scopeOf(p.scope),
    description: p.description,
    normalizationRules: rules.filter((r) => r.dialPlan === p.identity),
  }));
}

export async function getDialPlan(ctx: Ctx, identity: string): Promise<DialPlanView> {
  const { identity: id } = dialPlanIdentity(identity);
  const row = await findPlanRow(ctx, id);
  if (!row) throw notFoundPlan(id);
  return planView(ctx, row);
}

export interface RuleInput {
  name: string;
  description?: string | null;
  pattern?: string;
  translation?: string;
  priority?: number;
  isInternalExtension?: boolean;
}

export interface DialPlanInput {
  identity: string;
  description?: string | null;
  /** New-CsTenantDialPlan -NormalizationRules: a new plan has none unless given here. */
  normalizationRules?: RuleInput[];
}

function checkRulePriority(priority: number | undefined): void {
  if (priority === undefined) return;
  if (!Number.isInteger(priority) || priority < 0 || priority > 1_000_000) {
    throw new AppError(
      "invalid_input",
      `Priority ${priority} is not valid: give a whole number from 0 (tried first) upwards, or omit it for the next one.`,
    );
  }
}

/** Frees `priority` in a plan: the rule holding it and those after it move down by one. */
async function makeRoomForRule(ctx: Ctx, planId: string, priority: number, exceptId: string | null): Promise<string[]> {
  const except = exceptId ? sql`and id <> ${exceptId}` : sql``;
  const taken = await rows<{ id: string }>(
    ctx.db,
    sql`select id from normalization_rules where dial_plan_id = ${planId} and priority = ${priority} ${except}`,
  );
  if (taken.length === 0) return [];
  const shifted = await rows<{ name: string }>(
    ctx.db,
    sql`update normalization_rules set priority = priority + 1 where dial_plan_id = ${planId} and priority >= ${priority} ${except} returning name`,
  );
  return shifted.map((s) => s.name);
}

/** Inserts one rule into a plan (in the caller's transaction): validated, limited, placed. */
async function insertRule(ctx: Ctx, plan: PlanRow, input: RuleInput): Promise<{ rule: NormalizationRuleView; shifted: string[] }> {
  const name = cleanName("normalization rule", input.name, /\//);
  const pattern = input.pattern ?? DEFAULT_RULE_PATTERN;
  const translation = input.translation ?? DEFAULT_RULE_TRANSLATION;
  const label = `Normalization rule "${plan.identity}/${name}"`;
  try {
    checkRule(pattern, translation);
  } catch (err) {
    if (err instanceof AppError) throw new AppError(err.code, `${label}: ${err.message}`, err.details);
    throw err;
  }
  checkRulePriority(input.priority);
  const [count] = await rows<{ n: number; next: number }>(
    ctx.db,
    sql`select count(*)::int as n, coalesce(max(priority) + 1, 0)::int as next from normalization_rules where dial_plan_id = ${plan.id}`,
  );
  if (plan.scope === "user" && (count?.n ?? 0) >= MAX_TENANT_DIAL_PLAN_RULES) {
    throw new AppError(
      "invalid_input",
      `Dial plan "${plan.identity}" already has ${MAX_TENANT_DIAL_PLAN_RULES} normalization rules, the most a tenant dial plan may have: remove or merge one before adding "${name}".`,
    );
  }
  const [dup] = await rows<{ id: string }>(
    ctx.db,
    sql`select id from normalization_rules where dial_plan_id = ${plan.id} and lower(name) = ${name.toLowerCase()}`,
  );
  if (dup)
    throw new AppError(
      "duplicate",
      `Dial plan "${plan.identity}" already has a rule named "${name}": change it with \`callplane voice rules set "${plan.identity}/${name}"\`.`,
    );
  let priority = input.priority;
  let shifted: string[] = [];
  if (priority === undefined) priority = count?.next ?? 0;
  else shifted = await makeRoomForRule(ctx, plan.id, priority, null);
  const [row] = await rows<{ id: string }>(
    ctx.db,
    sql`insert into normalization_rules (tenant_id, dial_plan_id, name, description, pattern, translation, priority, is_internal_extension)
        values (${ctx.tenantId}, ${plan.id}, ${name}, ${input.description ?? null}, ${pattern}, ${translation}, ${priority}, ${input.isInternalExtension ?? false})
        returning id`,
  );
  const [rule] = await rows<RuleRow>(ctx.db, sql`${ruleSelect} where r.id = ${row?.id ?? null}`);
  if (!rule) throw new AppError("internal", `${label} was not stored.`);
  return { rule: toRule(rule), shifted };
}

/**
 * New-CsDialPlan (Global exists already; `Site:Name`) and New-CsTenantDialPlan (a tag name).
 * A new plan has no rules unless given; each given rule is checked like New-CsVoiceNormalizationRule.
 */
export async function createDialPlan(ctx: Ctx, input: DialPlanInput): Promise<DialPlanView> {
  const { identity, scope } = dialPlanIdentity(input.identity);
  if (scope === "global")
    throw new AppError(
      "duplicate",
      "The Global dial plan always exists: add rules to it with `callplane voice rules create Global/RuleName`.",
    );
  return inTransaction(ctx, async (tx) => {
    await lockVoiceConfig(tx);
    if (await findPlanRow(tx, identity)) {
      throw new AppError(
        "duplicate",
        `A dial plan named "${identity}" already exists: add rules with \`callplane voice rules create "${identity}/RuleName"\`.`,
      );
    }
    const [row] = await rows<PlanRow>(
      tx.db,
      sql`insert into dial_plans (tenant_id, identity, scope, description) values (${tx.tenantId}, ${identity}, ${scope}, ${input.description ?? null})
          returning id, identity, scope, description`,
    );
    if (!row) throw new AppError("internal", `Dial plan "${identity}" was not stored.`);
    for (const r of input.normalizationRules ?? []) await insertRule(tx, row, r);
    const after = await planView(tx, row);
    await recordAudit(tx, [{ operation: "dial-plan.create", targetType: "dial-plan", targetId: identity, after }]);
    return after;
  });
}

/** Set-CsDialPlan / Set-CsTenantDialPlan: the description (rules change through the rule operations). */
export async function setDialPlan(ctx: Ctx, identity: string, patch: { description?: string | null }): Promise<DialPlanView> {
  return inTransaction(ctx, async (tx) => {
    await lockVoiceConfig(tx);
    const before = await getDialPlan(tx, identity);
    await tx.db.execute(sql`update dial_plans set description = ${patch.description === undefined ? before.description : patch.description}
      where tenant_id = ${tx.tenantId} and lower(identity) = ${before.identity.toLowerCase()}`);
    const after = await getDialPlan(tx, before.identity);
    await recordAudit(tx, [{ operation: "dial-plan.set", targetType: "dial-plan", targetId: before.identity, before, after }]);
    return after;
  });
}

/**
 * Remove-CsDialPlan / Remove-CsTenantDialPlan with its rules. A tenant plan assigned to users is
 * refused; removing Global resets it to no rules (it always exists).
 */
export async function removeDialPlan(ctx: Ctx, identity: string): Promise<DialPlanView> {
  return inTransaction(ctx, async (tx) => {
    await lockVoiceConfig(tx);
    const before = await getDialPlan(tx, identity);
    if (before.scope === "global") {
      await tx.db.execute(sql`delete from normalization_rules r using dial_plans p
        where p.id = r.dial_plan_id and p.tenant_id = ${tx.tenantId} and lower(p.identity) = 'global'`);
      await tx.db.execute(sql`update dial_plans set description = null where tenant_id = ${tx.tenantId} and lower(identity) = 'global'`);
      const after = await getDialPlan(tx, "Global");
      await recordAudit(tx, [{ operation: "dial-plan.reset", targetType: "dial-plan", targetId: "Global", before, after }]);
      return after;
    }
    if (before.scope === "user") {
      const [n] = await rows<{ n: number }>(
        tx.db,
        sql`select count(*)::int as n from users where tenant_id = ${tx.tenantId} and deleted_at is null
            and lower(tenant_dial_plan) = ${before.identity.toLowerCase()}`,
      );
      if ((n?.n ?? 0) > 0) {
        throw new AppError(
          "invalid_input",
          `Dial plan "${before.identity}" is assigned to ${n?.n} user${(n?.n ?? 0) > 1 ? "s" : ""}: assign them another dial plan (or none, for Global) first.`,
        );
      }
    }
    await tx.db.execute(
      sql`delete from dial_plans where tenant_id = ${tx.tenantId} and lower(identity) = ${before.identity.toLowerCase()}`,
    );
    await recordAudit(tx, [{ operation: "dial-plan.remove", targetType: "dial-plan", targetId: before.identity, before }]);
    return before;
  });
}

// ---------------------------------------------------------------------------------------------
// Normalization rules.

async function planForRule(ctx: Ctx, identity: string): Promise<{ plan: PlanRow; name: string }> {
  const parsed = ruleIdentity(identity);
  const plan = await findPlanRow(ctx, parsed.dialPlan);
  if (!plan) throw notFoundPlan(parsed.dialPlan);
  return { plan, name: parsed.name };
}

async function findRule(ctx: Ctx, identity: string): Promise<{ plan: PlanRow; row: RuleRow }> {
  const { plan, name } = await planForRule(ctx, identity);
  const [row] = await rows<RuleRow>(ctx.db, sql`${ruleSelect} where r.dial_plan_id = ${plan.id} and lower(r.name) = ${name.toLowerCase()}`);
  if (!row) {
    throw new AppError(
      "not_found",
      `Dial plan "${plan.identity}" has no normalization rule "${name}": list its rules with \`callplane voice rules list --dial-plan "${plan.identity}"\`.`,
    );
  }
  return { plan, row };
}

/** Get-CsVoiceNormalizationRule, optionally for one dial plan; each plan's rules by priority. */
export async function listRules(ctx: Ctx, dialPlan?: string): Promise<NormalizationRuleView[]> {
  if (!dialPlan) {
    await ensureGlobalDialPlan(ctx);
    return rulesOf(ctx, null);
  }
  return (await getDialPlan(ctx, dialPlan)).normalizationRules;
}

export async function getRule(ctx: Ctx, identity: string): Promise<NormalizationRuleView> {
  return toRule((await findRule(ctx, identity)).row);
}

export interface RuleChange {
  rule: NormalizationRuleView;
  warnings: string[];
}

function ruleWarnings(rule: NormalizationRuleView, shifted: string[]): string[] {
  return shifted.length
    ? [
        `Priority ${rule.priority} was taken in "${rule.dialPlan}": ${shifted.map((s) => `"${s}"`).join(", ")} moved down by one to make room.`,
      ]
    : [];
}

/**
 * New-CsVoiceNormalizationRule `-Identity "Site:X/Name"`: the dial plan must exist; pattern
 * `^(\d{11})$` and translation `+$1` unless given; omitted priority → after the plan's last rule,
 * a priority already held pushes that rule and the ones after it down by one.
 */
export async function createRule(ctx: Ctx, input: Omit<RuleInput, "name"> & { identity: string }): Promise<RuleChange> {
  return inTransaction(ctx, async (tx) => {
    await lockVoiceConfig(tx);
    const { plan, name } = await planForRule(tx, input.identity);
    const { rule, shifted } = await insertRule(tx, plan, { ...input, name });
    await recordAudit(tx, [
      { operation: "normalization-rule.create", targetType: "normalization-rule", targetId: rule.identity, after: rule },
    ]);
    return { rule, warnings: ruleWarnings(rule, shifted) };
  });
}

/** Set-CsVoiceNormalizationRule: pattern and translation are checked together. */
export async function setRule(ctx: Ctx, identity: string, patch: Omit<RuleInput, "name">): Promise<RuleChange> {
  checkRulePriority(patch.priority);
  return inTransaction(ctx, async (tx) => {
    await lockVoiceConfig(tx);
    const { plan, row } = await findRule(tx, identity);
    const before = toRule(row);
    const pattern = patch.pattern ?? before.pattern;
    const translation = patch.translation ?? before.translation;
    try {
      checkRule(pattern, translation);
    } catch (err) {
      if (err instanceof AppError) throw new AppError(err.code, `Normalization rule "${before.identity}": ${err.message}`, err.details);
      throw err;
    }
    let shifted: string[] = [];
    if (patch.priority !== undefined && patch.priority !== before.priority)
      shifted = await makeRoomForRule(tx, plan.id, patch.priority, row.id);
    await tx.db.execute(sql`update normalization_rules set pattern = ${pattern}, translation = ${translation},
        priority = ${patch.priority ?? before.priority},
        description = ${patch.description === undefined ? before.description : patch.description},
        is_internal_extension = ${patch.isInternalExtension ?? before.isInternalExtension}
      where id = ${row.id}`);
    const rule = await getRule(tx, before.identity);
    await recordAudit(tx, [
      { operation: "normalization-rule.set", targetType: "normalization-rule", targetId: before.identity, before, after: rule },
    ]);
    return { rule, warnings: ruleWarnings(rule, shifted) };
  });
}

/** Remove-CsVoiceNormalizationRule. */
export async function removeRule(ctx: Ctx, identity: string): Promise<NormalizationRuleView> {
  return inTransaction(ctx, async (tx) => {
    await lockVoiceConfig(tx);
    const { row } = await findRule(tx, identity);
    const before = toRule(row);
    await tx.db.execute(sql`delete from normalization_rules where id = ${row.id}`);
    await recordAudit(tx, [
      { operation: "normalization-rule.remove", targetType: "normalization-rule", targetId: before.identity, before },
    ]);
    return before;
  });
}
