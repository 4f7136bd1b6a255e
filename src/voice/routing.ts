/**
 * Outbound voice routing as Skype for Business / Teams resolve it, as pure functions over plain
 * data: dial-plan normalization (Test-CsDialPlan) and route selection through a voice routing
 * policy's PSTN usages (Test-CsVoicePolicy).
 *
 * Semantics (microsoft-behaviour.md §3):
 * - Normalization: among the rules whose pattern matches the dialled string (IsMatch: anywhere,
 *   unless the pattern anchors), the lowest Priority wins; the result is its translation applied
 *   to the leftmost match (see `translate`). No rule matches → no number. IsInternalExtension is
 *   carried but changes nothing (it only matters with OptimizeDeviceDialing on a client).
 * - Routing: the policy's usages are tried in order; the first usage with any route whose pattern
 *   matches wins and later usages are never evaluated. Within that usage the matching routes are
 *   tried by Priority, lowest first: the first is chosen, the others are its backups in order.
 *   Routes that do not list the usage play no part in it.
 * - Ties: Skype for Business keeps priorities unique, but plain data may not, so equal priorities
 *   are ordered by name (code-unit order, not locale) and then by position in the input list.
 * - When no rule matches, the call is routed on the digits as dialled (`numberToRoute`): a dial
 *   plan is optional and Test-CsDialPlan's "no value" does not stop the call.
 *
 * Three implementations share these semantics: `normalize`/`resolveRoute` (ordered scans on the
 * linear-time engine, with a trace of every rule and route considered), `ReferenceResolver`
 * (the same ordered scans on JavaScript `RegExp` objects: the oracle) and
 * `DialPlanIndex`/`RouteIndex` (one lazy DFA over all patterns, decisions cached per policy and
 * set of matching patterns; the fast path, checked against the oracle).
 */
import { AppError } from "../core/errors.ts";
import {
  type CompiledPattern,
  compilePattern,
  compileTranslation,
  expandTranslation,
  expandTranslationSlots,
  type Translation,
} from "./pattern.ts";
import { PatternSet, type PatternSetOptions } from "./pattern-set.ts";

export interface NormalizationRule {
  name: string;
  pattern: string;
  translation: string;
  priority: number;
  isInternalExtension: boolean;
}

export interface DialPlan {
  identity: string;
  rules: readonly NormalizationRule[];
}

export interface VoiceRoute {
  name: string;
  numberPattern: string;
  priority: number;
  pstnUsages: readonly string[];
  pstnGateways: readonly string[];
}

export interface VoiceRoutingPolicy {
  identity: string;
  /** In the order they are tried. */
  pstnUsages: readonly string[];
}

/** What normalization decided: the number and the rule that made it, or nulls. */
export interface NormalizationResult {
  readonly number: string | null;
  readonly rule: NormalizationRule | null;
}

export type RuleOutcome = "chosen" | "outranked" | "no_match";

export interface RuleTraceEntry {
  rule: string;
  priority: number;
  outcome: RuleOutcome;
  reason: string;
}

export interface Normalization extends NormalizationResult {
  /** Every rule, in the order tried, and what became of it. */
  readonly trace: readonly RuleTraceEntry[];
}

/** What routing decided: the usage and route, the route's gateways, and the backup routes in order. */
export interface RouteDecision {
  readonly usage: string | null;
  readonly route: VoiceRoute | null;
  readonly gateways: readonly string[];
  /** The other matching routes of the chosen usage, in the order they are tried if the route fails. */
  readonly backups: readonly VoiceRoute[];
}

export type RouteOutcome = "chosen" | "backup" | "no_match" | "usage_has_no_routes" | "usage_not_evaluated" | "not_in_policy";

export interface RouteTraceEntry {
  /** Null for a matching route that has none of the policy's usages. */
  usage: string | null;
  /** Null for an entry about a whole usage. */
  route: string | null;
  priority: number | null;
  outcome: RouteOutcome;
  reason: string;
}

export interface RouteResolution extends RouteDecision {
  /**
   * In order: each usage of the policy with each of its routes (chosen, backup, no_match), or
   * one entry for a usage with no routes or not evaluated; then the routes whose pattern matches
   * but that have none of the policy's usages (not_in_policy).
   */
  readonly trace: readonly RouteTraceEntry[];
}

const NO_ROUTE: RouteDecision = Object.freeze({ usage: null, route: null, gateways: Object.freeze([]), backups: Object.freeze([]) });
const EMPTY_IDS = new Int32Array(0);
const NO_NUMBER: NormalizationResult = Object.freeze({ number: null, rule: null });

/** The number a call is routed on: the normalized number, or the digits as dialled when no rule matched. */
export function numberToRoute(normalization: NormalizationResult, dialled: string): string {
  return normalization.number ?? dialled;
}

// ---------------------------------------------------------------------------------------------
// Order and validation.

interface Ranked {
  name: string;
  priority: number;
}

/** Indices of `items` in the order they are tried: priority, then name, then position. */
function triedOrder(items: readonly Ranked[]): number[] {
  return items
    .map((_, i) => i)
    .sort((a, b) => {
      const x = items[a] as Ranked;
      const y = items[b] as Ranked;
      if (x.priority !== y.priority) return x.priority - y.priority;
      if (x.name !== y.name) return x.name < y.name ? -1 : 1;
      return a - b;
    });
}

function checkPriority(kind: string, item: Ranked, path: string): void {
  if (!Number.isFinite(item.priority)) {
    throw new AppError("invalid_input", `${kind} "${item.name}" has priority ${String(item.priority)}; a priority must be a number.`, [
      { path, message: "priority must be a number" },
    ]);
  }
}

/** Compiles one administrator pattern, naming the route or rule in the error. */
function compileFor(kind: string, name: string, path: string, pattern: string): CompiledPattern {
  try {
    return compilePattern(pattern);
  } catch (err) {
    if (err instanceof AppError) throw new AppError(err.code, `${kind} "${name}": ${err.message}`, [{ path, message: err.message }]);
    throw err;
  }
}

function translationFor(rule: NormalizationRule, path: string, groupCount: number): Translation {
  try {
    return compileTranslation(rule.translation, groupCount);
  } catch (err) {
    if (err instanceof AppError) {
      throw new AppError(err.code, `Normalization rule "${rule.name}": ${err.message}`, [{ path, message: err.message }]);
    }
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// The semantics, once: ordered scans parameterized by how a pattern is matched.

/** A dial plan's rules in the order tried, with their translations. */
class RulePlan {
  readonly order: number[];
  readonly translations: Translation[];

  constructor(
    readonly dialPlan: DialPlan,
    groupCounts: readonly number[],
  ) {
    dialPlan.rules.forEach((r, i) => {
      checkPriority("Normalization rule", r, `rules[${i}].priority`);
    });
    this.order = triedOrder(dialPlan.rules);
    this.translations = dialPlan.rules.map((r, i) => translationFor(r, `rules[${i}].translation`, groupCounts[i] ?? 0));
  }

  /**
   * Test-CsDialPlan. `exec(i)` gives rule i's match groups or null; with `trace`, every rule is
   * evaluated and reported, otherwise the scan stops at the winner.
   */
  scan(dialled: string, exec: (i: number) => readonly string[] | null, trace: RuleTraceEntry[] | null): NormalizationResult {
    let result = NO_NUMBER;
    let winner: NormalizationRule | null = null;
    for (const i of this.order) {
      const rule = this.dialPlan.rules[i] as NormalizationRule;
      const groups = exec(i);
      if (winner === null) {
        if (groups) {
          winner = rule;
          result = { number: expandTranslation(this.translations[i] as Translation, groups), rule };
          trace?.push(ruleEntry(rule, "chosen", `lowest priority among the matching rules: "${dialled}" becomes "${result.number}"`));
          if (!trace) break;
        } else {
          trace?.push(ruleEntry(rule, "no_match", `the pattern "${rule.pattern}" does not match "${dialled}"`));
        }
      } else if (groups) {
        trace?.push(
          ruleEntry(
            rule,
            "outranked",
            `matches too, but priority ${rule.priority} comes after rule "${winner.name}" (priority ${winner.priority})`,
          ),
        );
      } else {
        trace?.push(ruleEntry(rule, "no_match", `the pattern "${rule.pattern}" does not match "${dialled}"`));
      }
    }
    return result;
  }
}

function ruleEntry(rule: NormalizationRule, outcome: RuleOutcome, reason: string): RuleTraceEntry {
  return { rule: rule.name, priority: rule.priority, outcome, reason };
}

/** Routes in the order tried, grouped by usage. */
class RoutePlan {
  readonly order: number[];
  /** Route indices by usage, in the order tried; a route listing a usage twice appears once. */
  readonly byUsage = new Map<string, number[]>();

  constructor(readonly routes: readonly VoiceRoute[]) {
    routes.forEach((r, i) => {
      checkPriority("Voice route", r, `routes[${i}].priority`);
    });
    this.order = triedOrder(routes);
    for (const i of this.order) {
      for (const usage of new Set((routes[i] as VoiceRoute).pstnUsages)) {
        let list = this.byUsage.get(usage);
        if (!list) {
          list = [];
          this.byUsage.set(usage, list);
        }
        list.push(i);
      }
    }
  }

  /**
   * Test-CsVoicePolicy with backups. `matches(i)` tells whether route i's pattern matches the
   * number; with `trace`, every route of every evaluated usage is reported, and so are matching
   * routes outside the policy.
   */
  scan(policy: VoiceRoutingPolicy, number: string, matches: (i: number) => boolean, trace: RouteTraceEntry[] | null): RouteDecision {
    let decided: { usage: string; route: VoiceRoute; backups: VoiceRoute[] } | null = null;
    for (const usage of policy.pstnUsages) {
      if (decided) {
        if (!trace) break;
        trace.push({
          usage,
          route: null,
          priority: null,
          outcome: "usage_not_evaluated",
          reason: `usage "${usage}" is not evaluated: usage "${decided.usage}", earlier in policy "${policy.identity}", has a matching route`,
        });
        continue;
      }
      const inUsage = this.byUsage.get(usage) ?? [];
      if (inUsage.length === 0) {
        trace?.push({ usage, route: null, priority: null, outcome: "usage_has_no_routes", reason: `no route lists usage "${usage}"` });
      }
      let chosen: VoiceRoute | null = null;
      const backups: VoiceRoute[] = [];
      for (const i of inUsage) {
        const route = this.routes[i] as VoiceRoute;
        const entry = { usage, route: route.name, priority: route.priority };
        if (!matches(i)) {
          trace?.push({ ...entry, outcome: "no_match", reason: `the pattern "${route.numberPattern}" does not match "${number}"` });
        } else if (chosen === null) {
          chosen = route;
          trace?.push({
            ...entry,
            outcome: "chosen",
            reason: `the first route of usage "${usage}", by priority, whose pattern matches "${number}"`,
          });
        } else {
          backups.push(route);
          trace?.push({
            ...entry,
            outcome: "backup",
            reason: `matches too, but priority ${route.priority} comes after the chosen route "${chosen.name}" (priority ${chosen.priority}): tried if it fails`,
          });
        }
      }
      if (chosen) decided = { usage, route: chosen, backups };
    }
    if (trace) {
      const inPolicy = new Set(policy.pstnUsages);
      for (const i of this.order) {
        const route = this.routes[i] as VoiceRoute;
        if (route.pstnUsages.some((u) => inPolicy.has(u)) || !matches(i)) continue;
        trace.push({
          usage: null,
          route: route.name,
          priority: route.priority,
          outcome: "not_in_policy",
          reason: `the pattern matches, but the route's usages (${route.pstnUsages.join(", ") || "none"}) are not in policy "${policy.identity}"`,
        });
      }
    }
    if (!decided) return NO_ROUTE;
    return { usage: decided.usage, route: decided.route, gateways: decided.route.pstnGateways, backups: decided.backups };
  }
}

// ---------------------------------------------------------------------------------------------
// Ordered scans on the linear-time engine: for one-off questions, with a full trace.

/** Test-CsDialPlan: normalizes `dialled` with the dial plan, tracing every rule. Throws invalid_input for a bad rule. */
export function normalize(dialPlan: DialPlan, dialled: string): Normalization {
  const patterns = dialPlan.rules.map((r, i) => compileFor("Normalization rule", r.name, `rules[${i}].pattern`, r.pattern));
  const plan = new RulePlan(
    dialPlan,
    patterns.map((p) => p.groupCount),
  );
  const trace: RuleTraceEntry[] = [];
  const result = plan.scan(dialled, (i) => patterns[i]?.exec(dialled) ?? null, trace);
  return { ...result, trace };
}

/** Test-CsVoicePolicy: the route a policy gives `number`, tracing every route considered. Throws invalid_input for a bad pattern. */
export function resolveRoute(routes: readonly VoiceRoute[], policy: VoiceRoutingPolicy, number: string): RouteResolution {
  const patterns = routes.map((r, i) => compileFor("Voice route", r.name, `routes[${i}].numberPattern`, r.numberPattern));
  const trace: RouteTraceEntry[] = [];
  const decision = new RoutePlan(routes).scan(policy, number, (i) => patterns[i]?.test(number) ?? false, trace);
  return { ...decision, trace };
}

// ---------------------------------------------------------------------------------------------
// The plain reference resolver: the same ordered scans, on JavaScript RegExp objects.

/**
 * The oracle the fast path is checked against: rules and routes as ordered lists of JavaScript
 * `RegExp` objects (compiled once), scanned in the documented order. It assumes patterns were
 * validated by `compilePattern` (for which JavaScript gives the same answers).
 */
export class ReferenceResolver {
  private readonly routePlan: RoutePlan;
  private readonly routeRegExps: RegExp[];
  private readonly rulePlan: RulePlan | null;
  private readonly ruleRegExps: RegExp[];

  constructor(routes: readonly VoiceRoute[], dialPlan: DialPlan | null = null) {
    this.routePlan = new RoutePlan(routes);
    this.routeRegExps = routes.map((r) => new RegExp(r.numberPattern));
    this.ruleRegExps = dialPlan ? dialPlan.rules.map((r) => new RegExp(r.pattern)) : [];
    this.rulePlan = dialPlan
      ? new RulePlan(
          dialPlan,
          this.ruleRegExps.map((re) => groupCountOf(re)),
        )
      : null;
  }

  normalize(dialled: string): NormalizationResult {
    return this.rulePlan ? this.rulePlan.scan(dialled, (i) => this.execRule(i, dialled), null) : NO_NUMBER;
  }

  explainNormalization(dialled: string): Normalization {
    const trace: RuleTraceEntry[] = [];
    const result = this.rulePlan ? this.rulePlan.scan(dialled, (i) => this.execRule(i, dialled), trace) : NO_NUMBER;
    return { ...result, trace };
  }

  resolve(policy: VoiceRoutingPolicy, number: string): RouteDecision {
    return this.routePlan.scan(policy, number, (i) => this.routeRegExps[i]?.test(number) ?? false, null);
  }

  explain(policy: VoiceRoutingPolicy, number: string): RouteResolution {
    const trace: RouteTraceEntry[] = [];
    const decision = this.routePlan.scan(policy, number, (i) => this.routeRegExps[i]?.test(number) ?? false, trace);
    return { ...decision, trace };
  }

  private execRule(i: number, dialled: string): string[] | null {
    const m = this.ruleRegExps[i]?.exec(dialled);
    return m ? Array.from(m, (g) => g ?? "") : null;
  }
}

function groupCountOf(re: RegExp): number {
  // An alternation with the empty string always matches, and its exec array has one entry per group.
  return (new RegExp(`${re.source}|`).exec("")?.length ?? 1) - 1;
}

/** One-off reference resolution with a trace (compiles the RegExps each call; use ReferenceResolver in loops). */
export function referenceResolve(routes: readonly VoiceRoute[], policy: VoiceRoutingPolicy, number: string): RouteResolution {
  return new ReferenceResolver(routes).explain(policy, number);
}

// ---------------------------------------------------------------------------------------------
// The fast path.

/**
 * A dial plan prepared for many numbers: one lazy DFA tells which rules match, the winner per
 * set of matching rules is cached, and only the winner runs on the Pike VM for its groups.
 * Throws invalid_input, naming the rule, for a bad pattern or translation.
 */
export class DialPlanIndex {
  readonly dialPlan: DialPlan;
  private readonly plan: RulePlan;
  private readonly patterns: CompiledPattern[];
  private readonly set: PatternSet;
  /** Distinct pattern of each rule. */
  private readonly patternOfRule: Int32Array;
  private readonly rank: Int32Array;
  private readonly rulesOfPattern: number[][];
  /** Winning rule per match-set id: -1 none, -2 not computed yet. */
  private winners = new Int32Array(0);
  private generation = 0;

  constructor(dialPlan: DialPlan, options: PatternSetOptions = {}) {
    this.dialPlan = dialPlan;
    const bySource = new Map<string, number>();
    this.patterns = [];
    this.patternOfRule = new Int32Array(dialPlan.rules.length);
    this.rulesOfPattern = [];
    dialPlan.rules.forEach((r, i) => {
      let p = bySource.get(r.pattern);
      if (p === undefined) {
        p = this.patterns.length;
        this.patterns.push(compileFor("Normalization rule", r.name, `rules[${i}].pattern`, r.pattern));
        this.rulesOfPattern.push([]);
        bySource.set(r.pattern, p);
      }
      this.patternOfRule[i] = p;
      this.rulesOfPattern[p]?.push(i);
    });
    this.plan = new RulePlan(
      dialPlan,
      dialPlan.rules.map((_, i) => this.patterns[this.patternOfRule[i] ?? 0]?.groupCount ?? 0),
    );
    this.rank = new Int32Array(dialPlan.rules.length);
    this.plan.order.forEach((ruleIndex, position) => {
      this.rank[ruleIndex] = position;
    });
    this.set = new PatternSet(this.patterns, options);
  }

  /** Test-CsDialPlan without the trace. */
  normalize(dialled: string): NormalizationResult {
    const id = this.set.matchSetId(dialled);
    if (this.generation !== this.set.generation || id >= this.winners.length) this.growWinners(id);
    let w = this.winners[id] ?? -2;
    if (w === -2) {
      w = this.winnerOf(id);
      this.winners[id] = w;
    }
    if (w < 0) return NO_NUMBER;
    const rule = this.dialPlan.rules[w] as NormalizationRule;
    const slots = this.patterns[this.patternOfRule[w] ?? 0]?.execSlots(dialled);
    if (!slots) throw new AppError("internal", `Rule "${rule.name}" was selected for "${dialled}" but does not match it.`);
    return { number: expandTranslationSlots(this.plan.translations[w] as Translation, dialled, slots), rule };
  }

  /** Test-CsDialPlan with every rule in the trace. */
  explain(dialled: string): Normalization {
    const trace: RuleTraceEntry[] = [];
    const result = this.plan.scan(dialled, (i) => this.patterns[this.patternOfRule[i] ?? 0]?.exec(dialled) ?? null, trace);
    return { ...result, trace };
  }

  private growWinners(id: number): void {
    if (this.generation !== this.set.generation) {
      this.generation = this.set.generation;
      this.winners = new Int32Array(0);
    }
    if (id < this.winners.length) return;
    const grown = new Int32Array(Math.max(64, id + 1, this.winners.length * 2)).fill(-2);
    grown.set(this.winners);
    this.winners = grown;
  }

  private winnerOf(matchSetId: number): number {
    let best = -1;
    for (const p of this.set.matchSet(matchSetId)) {
      for (const r of this.rulesOfPattern[p] ?? []) {
        if (best < 0 || (this.rank[r] ?? 0) < (this.rank[best] ?? 0)) best = r;
      }
    }
    return best;
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

interface PolicyCache {
  usages: readonly string[];
  /** The policy's usages as ids, in order, leaving out usages no route lists. */
  usageIds: Int32Array;
  decisions: (RouteDecision | undefined)[];
  generation: number;
}

/**
 * Routes prepared for many numbers and policies: identical patterns are compiled once, all of
 * them run together as one lazy DFA giving the set of matching patterns, and the decision for a
 * (policy, set of matching patterns) pair is computed once and cached. Policies are cached by
 * object and re-read if their usage list changes; routes are taken as given at construction.
 * Throws invalid_input, naming the route, for a bad pattern.
 */
export class RouteIndex {
  readonly routes: readonly VoiceRoute[];
  private readonly plan: RoutePlan;
  private readonly set: PatternSet;
  private readonly routesOfPattern: number[][];
  private readonly usageIds = new Map<string, number>();
  private readonly usageNames: string[] = [];
  /** By usage id: the routes that list it, in the order tried. */
  private readonly routesOfUsage: Int32Array[];
  private readonly patternOfRoute: Int32Array;
  /** `patternMark[p] === markStamp` while deciding for a match set that holds pattern p. */
  private readonly patternMark: Int32Array;
  private markStamp = 0;
  private readonly policies = new WeakMap<VoiceRoutingPolicy, PolicyCache>();

  constructor(routes: readonly VoiceRoute[], options: PatternSetOptions = {}) {
    this.routes = routes;
    this.plan = new RoutePlan(routes);
    const bySource = new Map<string, number>();
    const patterns: CompiledPattern[] = [];
    this.routesOfPattern = [];
    routes.forEach((r, i) => {
      let p = bySource.get(r.numberPattern);
      if (p === undefined) {
        p = patterns.length;
        patterns.push(compileFor("Voice route", r.name, `routes[${i}].numberPattern`, r.numberPattern));
        this.routesOfPattern.push([]);
        bySource.set(r.numberPattern, p);
      }
      this.routesOfPattern[p]?.push(i);
    });
    // Usages as small integers, each with its routes in the order tried.
    this.routesOfUsage = [];
    for (const [usage, list] of this.plan.byUsage) {
      this.usageIds.set(usage, this.usageNames.length);
      this.usageNames.push(usage);
      this.routesOfUsage.push(Int32Array.from(list));
    }
    this.patternOfRoute = Int32Array.from(routes, (r) => bySource.get(r.numberPattern) ?? 0);
    this.patternMark = new Int32Array(patterns.length);
    this.set = new PatternSet(patterns, options);
  }

  /** Distinct patterns compiled. */
  get patternCount(): number {
    return this.set.size;
  }

  /** DFA states currently cached. */
  get stateCount(): number {
    return this.set.stateCount;
  }

  /** Test-CsVoicePolicy without the trace: the same decision as `ReferenceResolver.resolve`. */
  resolve(policy: VoiceRoutingPolicy, number: string): RouteDecision {
    const cache = this.cacheFor(policy);
    const id = this.set.matchSetId(number);
    if (cache.generation !== this.set.generation) {
      cache.generation = this.set.generation;
      cache.decisions = [];
    }
    const decisions = cache.decisions;
    let d = decisions[id];
    if (!d) {
      d = this.decide(cache, id);
      // Grown densely (never by assigning past the end), so it stays a fast array.
      while (decisions.length <= id) decisions.push(undefined);
      decisions[id] = d;
    }
    return d;
  }

  /** Test-CsVoicePolicy with the trace of `resolveRoute`. */
  explain(policy: VoiceRoutingPolicy, number: string): RouteResolution {
    const matching = this.matchingRouteIndices(number);
    const trace: RouteTraceEntry[] = [];
    const decision = this.plan.scan(policy, number, (i) => matching.has(i), trace);
    return { ...decision, trace };
  }

  /** Test-CsVoiceRoute for every route at once: the routes whose pattern matches, in the order given. */
  matchingRoutes(number: string): VoiceRoute[] {
    return [...this.matchingRouteIndices(number)].sort((a, b) => a - b).map((i) => this.routes[i] as VoiceRoute);
  }

  private matchingRouteIndices(number: string): Set<number> {
    const matching = new Set<number>();
    for (const p of this.set.matches(number)) for (const r of this.routesOfPattern[p] ?? []) matching.add(r);
    return matching;
  }

  private cacheFor(policy: VoiceRoutingPolicy): PolicyCache {
    const cached = this.policies.get(policy);
    const usages = policy.pstnUsages;
    if (cached && sameList(cached.usages, usages)) return cached;
    const ids: number[] = [];
    for (const u of usages) {
      const id = this.usageIds.get(u);
      // A usage listed twice is evaluated again only after failing once: it cannot match the second time.
      if (id !== undefined && !ids.includes(id)) ids.push(id);
    }
    const fresh: PolicyCache = { usages: [...usages], usageIds: Int32Array.from(ids), decisions: [], generation: this.set.generation };
    this.policies.set(policy, fresh);
    return fresh;
  }

  /**
   * The decision for a set of matching patterns: the policy's usages in order, each with its
   * routes in the order tried; the first usage with a route whose pattern is in the set decides,
   * and its other matching routes are the backups.
   */
  private decide(cache: PolicyCache, matchSetId: number): RouteDecision {
    const stamp = ++this.markStamp;
    for (const p of this.set.matchSet(matchSetId)) this.patternMark[p] = stamp;
    for (const u of cache.usageIds) {
      const candidates = this.routesOfUsage[u] ?? EMPTY_IDS;
      let chosen: VoiceRoute | null = null;
      const backups: VoiceRoute[] = [];
      for (let i = 0; i < candidates.length; i++) {
        const r = candidates[i] ?? 0;
        if (this.patternMark[this.patternOfRoute[r] ?? 0] !== stamp) continue;
        const route = this.routes[r] as VoiceRoute;
        if (chosen) backups.push(route);
        else chosen = route;
      }
      if (chosen) {
        return Object.freeze({
          usage: this.usageNames[u] ?? "",
          route: chosen,
          gateways: chosen.pstnGateways,
          backups: Object.freeze(backups),
        });
      }
    }
    return NO_ROUTE;
  }
}
