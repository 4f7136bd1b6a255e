/**
 * Compiles a tenant's voice configuration into one Kamailio "generation": the `dialplan` rows and
 * `htable` rows that the Callplane Kamailio script (docs/design/kamailio-routing.md §5) reads from
 * generation slot 0 or 1. Pure: no I/O; the db_text writer, the RPC client and the script live
 * elsewhere and read `Generation` as their contract.
 *
 * The script does, per INVITE: find the caller by From user part (`cpu<slot>`), translate the
 * dialled digits with the user's dial plan (first `dialplan` row by `pr` whose `match_exp`
 * matches; no row → the digits as dialled), try the policy's usages in order (`p:`), take the
 * first usage whose dpid has a matching row (its `attrs` is the route), try that route's
 * gateways (`r:`, `g:`), and on failure the later routes of the same usage (`ur:`) whose own
 * dpid matches. That is `voice test-route` (normalize → numberToRoute → resolveRoute) step by
 * step, so the compiler's job is to write the same orders, the same patterns (pcre.ts) and the
 * same translations, and to refuse, by name and with the fix, whatever Kamailio would route
 * differently. Each refusal rule is documented where it is made.
 */
import { AppError } from "../../core/errors.ts";
import { dialPlanIdentity } from "../dial-plans.service.ts";
import { compilePattern } from "../pattern.ts";
import type { DialPlan, NormalizationRule, VoiceRoute, VoiceRoutingPolicy } from "../routing.ts";
import { effectivePolicyName } from "../test-tools.service.ts";
import { GLOBAL, policyIdentity } from "../voice.service.ts";
import { type DialplanRow, type HtableRow, ROUTE_DPID_OFFSET, SLOT_DPID_BASE, USAGE_DPID_OFFSET } from "./dbtext.ts";
import { groupLengths, MAX_DIALLED_LENGTH, MAX_DIALPLAN_OUTPUT, MAX_SUBST_GROUPS, toDialplanReplacement, toPcre } from "./pcre.ts";

// ---------------------------------------------------------------------------------------------
// The contract with the Kamailio script.

export interface Generation {
  slot: 0 | 1;
  /**
   * dpid = slot*10_000_000 + dialPlanIdx (normalization rules; attrs = rule name)
   * | + 1_000_000 + usageIdx (one row per route listing the usage, in tried order; attrs = routeIdx;
   * substExp "^", replExp "r" placeholders) | + 2_000_000 + routeIdx (one row: the route's pattern, for backups).
   */
  dialplan: DialplanRow[];
  /**
   * htable "cp", keys prefixed "<slot>:": p:<policyIdx> → usage indices "2,0,1" or "none";
   * ur:<usageIdx> → route indices in tried order; r:<routeIdx> → enabled gateway indices "1,2"
   * or "none" (no usable gateway: go straight to the backups, as on failure); g:<gwIdx> →
   * "hp=host:port;fr=<ms>;codes=408|503|504"; rc:<routeIdx> → caller-ID handling
   * "alt=+14255550100" or "none".
   */
  routing: HtableRow[];
  /** htable "cpu<slot>", key = caller's From user part → "dp=<dialPlanIdx or -1>;pol=<policyIdx or -1>". */
  users: HtableRow[];
  /** Index → name, for reading dumps back. */
  names: { dialPlans: string[]; usages: string[]; routes: string[]; gateways: string[]; policies: string[] };
  /** What cannot be published exactly; the publish is refused when non-empty. */
  refusals: { kind: "rule" | "route" | "gateway" | "user"; name: string; reason: string }[];
}

export type Refusal = Generation["refusals"][number];

// The dpid numbering and the row types are the tables' own (dbtext.ts): one definition for the writer,
// the script and the compiler.
export type { DialplanRow, HtableRow };

// ---------------------------------------------------------------------------------------------
// Input: the tenant's configuration as the voice services return it.

/** A voice route with its caller-ID settings (voice.service `Route` fits). */
export interface KamailioRoute extends VoiceRoute {
  suppressCallerId?: boolean;
  alternateCallerId?: string | null;
}

/** A PSTN gateway with the address Kamailio sends to (voice.service `Gateway` plus `signalingHost`). */
export interface KamailioGateway {
  /** The gateway's identity, as routes name it. */
  fqdn: string;
  /** Where Kamailio sends the INVITE: an IP address or host name (not necessarily the FQDN). */
  signalingHost: string;
  sipSignalingPort: number;
  enabled: boolean;
  failoverTimeSeconds: number;
  /** "408,503,504" (spaces allowed). */
  failoverResponseCodes: string;
}

/** A user's voice settings as stored (the columns `voice test-route` reads). */
export interface KamailioUser {
  userPrincipalName: string;
  /** "sip:alice@contoso.com", or null. */
  sipAddress: string | null;
  /** "tel:+14255550100" or "tel:+14255550100;ext=100", or null. */
  lineUri: string | null;
  homing: string;
  onPremVoiceRoutingPolicy: string | null;
  onlineVoiceRoutingPolicy: string | null;
  tenantDialPlan: string | null;
}

export interface GenerationInput {
  /** Dial plans with their rules (in any order: the compiler sorts them as routing.ts does). */
  dialPlans: readonly DialPlan[];
  /** The tenant's PSTN usages in order (they take the first indices). */
  pstnUsages: readonly string[];
  routes: readonly KamailioRoute[];
  gateways: readonly KamailioGateway[];
  policies: readonly VoiceRoutingPolicy[];
  users: readonly KamailioUser[];
}

// ---------------------------------------------------------------------------------------------
// Helpers.

interface Ranked {
  name: string;
  priority: number;
}

/** Indices in the order tried: priority, then name (code-unit order), then position — routing.ts's `triedOrder`. */
function triedOrder(items: readonly Ranked[]): number[] {
  const key = (p: number): number => (Number.isFinite(p) ? p : Number.POSITIVE_INFINITY);
  return items
    .map((_, i) => i)
    .sort((a, b) => {
      const x = items[a] as Ranked;
      const y = items[b] as Ranked;
      if (key(x.priority) !== key(y.priority)) return key(x.priority) - key(y.priority);
      if (x.name !== y.name) return x.name < y.name ? -1 : 1;
      return a - b;
    });
}

function messageOf(err: unknown): string {
  if (err instanceof AppError) return err.message;
  throw err;
}

/** "alice" from "sip:alice@contoso.com" (the scheme is optional); null when it is not user@host. */
function sipUserPart(address: string): string | null {
  const m = /^(?:sip:)?([^@:;\s]+)@[^@\s]+$/i.exec(address.trim());
  return m?.[1] ?? null;
}

const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])$/;
const PLAIN_CALLER_ID = /^\+?[1-9]\d*$/;

/**
 * Compiles the tenant's configuration into the rows of generation `slot`, with indices assigned
 * per generation (see `names`). Every item Kamailio would route differently from `voice
 * test-route` is listed in `refusals` and left out of the rows; the publish must be refused
 * while the list is not empty. Throws AppError `invalid_input` only for input the store cannot
 * hold (two dial plans, policies or gateways with the same identity, or a million of anything).
 */
export function compileGeneration(input: GenerationInput, slot: 0 | 1): Generation {
  const base = slot * SLOT_DPID_BASE;
  const refusals: Refusal[] = [];
  const refuse = (kind: Refusal["kind"], name: string, reason: string): void => {
    refusals.push({ kind, name, reason });
  };

  // --- Indices. Global always exists for test-route (ensureGlobalDialPlan / ensureGlobalPolicy
  // create it, empty, the first time it is read), so it gets an index even when absent here.
  const dialPlans: DialPlan[] = [...input.dialPlans];
  if (!dialPlans.some((d) => d.identity.toLowerCase() === "global")) dialPlans.push({ identity: GLOBAL, rules: [] });
  const policies: VoiceRoutingPolicy[] = [...input.policies];
  if (!policies.some((p) => p.identity.toLowerCase() === "global")) policies.push({ identity: GLOBAL, pstnUsages: [] });
  const dialPlanIndex = uniqueIndex("dial plan", dialPlans, (d) => d.identity.toLowerCase());
  const policyIndex = uniqueIndex("voice routing policy", policies, (p) => p.identity.toLowerCase());
  const gatewayIndex = uniqueIndex("PSTN gateway", input.gateways, (g) => g.fqdn);
  // Usages are matched by exact name, as RoutePlan's map does.
  const usages: string[] = [];
  const usageIndex = new Map<string, number>();
  const addUsage = (u: string): void => {
    if (!usageIndex.has(u)) {
      usageIndex.set(u, usages.length);
      usages.push(u);
    }
  };
  for (const u of input.pstnUsages) addUsage(u);
  for (const r of input.routes) for (const u of r.pstnUsages) addUsage(u);
  for (const p of policies) for (const u of p.pstnUsages) addUsage(u);
  for (const [what, n] of [
    ["dial plans", dialPlans.length],
    ["PSTN usages", usages.length],
    ["voice routes", input.routes.length],
  ] as const) {
    if (n >= USAGE_DPID_OFFSET)
      throw new AppError("invalid_input", `${n} ${what} do not fit in a Kamailio generation: at most ${USAGE_DPID_OFFSET - 1}.`);
  }

  // --- Routes.
  const routePcre: (string | null)[] = [];
  /** Routes whose pattern matches the empty string (see the rule about empty translations). */
  const routesMatchingEmpty: string[] = [];
  for (const route of input.routes) {
    const name = route.name;
    const before = refusals.length;
    // resolveRoute checks every route's priority and pattern on every call, so one bad route
    // makes test-route fail for every number: refuse it even when no usage reaches it.
    if (!Number.isFinite(route.priority)) {
      refuse(
        "route",
        name,
        `Its priority ${String(route.priority)} is not a number, so test-route fails for every call. Give it a whole number.`,
      );
    }
    let matchesEmpty = false;
    try {
      matchesEmpty = compilePattern(route.numberPattern).test("");
    } catch (err) {
      refuse("route", name, `${messageOf(err)} test-route fails for every call until it is fixed.`);
      routePcre.push(null);
      continue;
    }
    // A route that lists no usage is never tried (RoutePlan keeps it out of every usage): it gets
    // no rows, so its pattern need not be expressible.
    if (route.pstnUsages.length === 0) {
      routePcre.push(null);
      continue;
    }
    const pcre = toPcre(route.numberPattern, { maxInput: MAX_DIALPLAN_OUTPUT });
    if (!pcre.ok) refuse("route", name, `Its number pattern cannot be written for Kamailio: ${pcre.reason}.`);
    // test-route lists a gateway name it cannot find without complaint, but Kamailio has no
    // address to send to: refuse rather than route the call elsewhere.
    for (const gw of route.pstnGateways) {
      if (!gatewayIndex.has(gw)) {
        refuse(
          "route",
          name,
          `It names PSTN gateway "${gw}", which does not exist: create it with \`callplane voice gateways create ${gw}\` or remove it from the route.`,
        );
      }
    }
    // Caller ID: as in Skype for Business, AlternateCallerId replaces the caller's number only
    // when SuppressCallerId is set; otherwise the number goes out unchanged ("none").
    if (route.suppressCallerId) {
      const alt = route.alternateCallerId?.trim() ?? "";
      if (!alt) {
        refuse("route", name, "SuppressCallerId is set without an AlternateCallerId to show instead: give one such as +14255550100.");
      } else if (!PLAIN_CALLER_ID.test(alt)) {
        // The htable value is "alt=<number>": a ";ext=" would be read as a parameter of its own.
        refuse(
          "route",
          name,
          /;ext=/i.test(alt)
            ? `AlternateCallerId "${alt}" has an extension, which Kamailio cannot put in the From header: give the number without ";ext=…".`
            : `AlternateCallerId "${alt}" is not a phone number: give digits with an optional leading +, e.g. +14255550100.`,
        );
      }
    }
    const ok = refusals.length === before && pcre.ok;
    routePcre.push(ok && pcre.ok ? pcre.pcre : null);
    if (ok && matchesEmpty) routesMatchingEmpty.push(name);
  }
  const routeOrder = triedOrder(input.routes);
  /** Per usage index, the routes that list it in the order tried (once each), as RoutePlan.byUsage. */
  const routesOfUsage = new Map<number, number[]>();
  for (const r of routeOrder) {
    const route = input.routes[r] as KamailioRoute;
    if (routePcre[r] === null) continue;
    for (const u of new Set(route.pstnUsages)) {
      const ui = usageIndex.get(u) ?? 0;
      const list = routesOfUsage.get(ui) ?? [];
      list.push(r);
      routesOfUsage.set(ui, list);
    }
  }

  const dialplan: DialplanRow[] = [];
  const routing: HtableRow[] = [];
  const key = (k: string): string => `${slot}:${k}`;

  // --- Policies. A usage no route lists can never match, so it is left out; but a policy whose
  // usages all lack routes keeps its first one, so that Kamailio answers "no route" (404) as
  // test-route does ("No route of policy … matches"), not "policy has no PSTN usages" (403),
  // which test-route says only for a policy without usages. A usage listed twice is tried once:
  // it cannot match the second time when it did not the first.
  policies.forEach((policy, p) => {
    const list: number[] = [];
    for (const u of policy.pstnUsages) {
      const ui = usageIndex.get(u) ?? 0;
      if (routesOfUsage.has(ui) && !list.includes(ui)) list.push(ui);
    }
    const first = policy.pstnUsages[0];
    if (list.length === 0 && first !== undefined) list.push(usageIndex.get(first) ?? 0);
    routing.push({ key: key(`p:${p}`), value: list.length ? list.join(",") : "none" });
  });

  // --- Usages: one dpid each, one row per route in tried order (`pr` = rank, unique, so
  // dialplan's order by pr is the tried order), and the same list in `ur:` for backups.
  for (const [ui, list] of [...routesOfUsage].sort((a, b) => a[0] - b[0])) {
    list.forEach((r, rank) => {
      dialplan.push({
        dpid: base + USAGE_DPID_OFFSET + ui,
        pr: rank,
        matchExp: routePcre[r] ?? "",
        substExp: "^",
        replExp: "r",
        attrs: String(r),
      });
    });
    routing.push({ key: key(`ur:${ui}`), value: list.join(",") });
  }

  // --- Routes: the pattern alone (for backups), gateways and caller ID.
  const usedGateways = new Set<number>();
  input.routes.forEach((route, r) => {
    const pcre = routePcre[r];
    if (pcre === null || pcre === undefined) return;
    dialplan.push({ dpid: base + ROUTE_DPID_OFFSET + r, pr: 0, matchExp: pcre, substExp: "^", replExp: "r", attrs: String(r) });
    // resolveRoute chooses a route whatever its gateways' state (test-route only warns about
    // disabled ones), so a route whose gateways are all disabled is still chosen and later usages
    // are not tried; Kamailio can only skip disabled gateways, so it lists the enabled ones and
    // "none" sends the call straight to the backups, as a route whose gateways all fail. A
    // gateway listed twice is tried once.
    const gws: number[] = [];
    for (const name of route.pstnGateways) {
      const g = gatewayIndex.get(name);
      if (g !== undefined && input.gateways[g]?.enabled && !gws.includes(g)) gws.push(g);
    }
    for (const g of gws) usedGateways.add(g);
    routing.push({ key: key(`r:${r}`), value: gws.length ? gws.join(",") : "none" });
    const alt = route.suppressCallerId ? (route.alternateCallerId?.trim() ?? "") : "";
    routing.push({ key: key(`rc:${r}`), value: alt ? `alt=${alt}` : "none" });
  });

  // --- Gateways Kamailio may send to (enabled, named by a published route). The others are
  // never read, so their settings do not block a publish.
  for (const g of [...usedGateways].sort((a, b) => a - b)) {
    const gw = input.gateways[g] as KamailioGateway;
    const before = refusals.length;
    const host = gw.signalingHost.trim();
    if (!HOST.test(host)) {
      refuse(
        "gateway",
        gw.fqdn,
        `Its signalling address "${gw.signalingHost}" is not a host name or IP address Kamailio can send to: give one such as 192.0.2.10.`,
      );
    }
    if (!Number.isInteger(gw.sipSignalingPort) || gw.sipSignalingPort < 1 || gw.sipSignalingPort > 65535) {
      refuse("gateway", gw.fqdn, `Its SIP signalling port ${gw.sipSignalingPort} is not a port: give a whole number from 1 to 65535.`);
    }
    if (!Number.isInteger(gw.failoverTimeSeconds) || gw.failoverTimeSeconds < 1 || gw.failoverTimeSeconds > 3600) {
      refuse(
        "gateway",
        gw.fqdn,
        `Its failover time ${gw.failoverTimeSeconds} s is out of range: give a whole number of seconds from 1 to 3600.`,
      );
    }
    const codes = [...new Set(gw.failoverResponseCodes.split(",").map((c) => c.trim()))].filter((c) => c.length > 0);
    const badCodes = codes.filter((c) => !/^[1-6]\d\d$/.test(c));
    if (codes.length === 0 || badCodes.length > 0) {
      refuse(
        "gateway",
        gw.fqdn,
        `Its failover response codes "${gw.failoverResponseCodes}" are not a list of SIP codes: give e.g. "408, 503, 504".`,
      );
    }
    if (refusals.length > before) continue;
    routing.push({
      key: key(`g:${g}`),
      value: `hp=${host}:${gw.sipSignalingPort};fr=${gw.failoverTimeSeconds * 1000};codes=${codes.join("|")}`,
    });
  }

  // --- Dial plans: one dpid each, one row per rule in tried order.
  dialPlans.forEach((plan, d) => {
    const order = triedOrder(plan.rules);
    order.forEach((ri, rank) => {
      const rule = plan.rules[ri] as NormalizationRule;
      const row = compileRule(plan, rule, routesMatchingEmpty, refuse);
      if (row) dialplan.push({ dpid: base + d, pr: rank, ...row });
    });
  });

  // --- Users.
  const users = compileUsers(input.users, dialPlanIndex, policyIndex, refuse);

  dialplan.sort((a, b) => a.dpid - b.dpid || a.pr - b.pr);
  return {
    slot,
    dialplan,
    routing,
    users,
    names: {
      dialPlans: dialPlans.map((d) => d.identity),
      usages,
      routes: input.routes.map((r) => r.name),
      gateways: input.gateways.map((g) => g.fqdn),
      policies: policies.map((p) => p.identity),
    },
    refusals,
  };
}

function uniqueIndex<T>(what: string, items: readonly T[], keyOf: (item: T) => string): Map<string, number> {
  const index = new Map<string, number>();
  items.forEach((item, i) => {
    const k = keyOf(item);
    if (index.has(k)) throw new AppError("invalid_input", `Two ${what}s are named "${k}": the configuration is inconsistent.`);
    index.set(k, i);
  });
  return index;
}

/**
 * One normalization rule's row (without dpid and pr), or null after refusing it. normalize()
 * checks every rule of the dial plan on every call, so a rule test-route cannot use makes it fail
 * for every user of the dial plan; a rule Kamailio cannot express would translate differently.
 */
function compileRule(
  plan: DialPlan,
  rule: NormalizationRule,
  routesMatchingEmpty: readonly string[],
  refuse: (kind: Refusal["kind"], name: string, reason: string) => void,
): Omit<DialplanRow, "dpid" | "pr"> | null {
  const name = `${plan.identity}/${rule.name}`;
  if (!Number.isFinite(rule.priority)) {
    refuse(
      "rule",
      name,
      `Its priority ${String(rule.priority)} is not a number, so test-route fails for every user of the dial plan. Give it a whole number.`,
    );
    return null;
  }
  let groupCount: number;
  try {
    groupCount = compilePattern(rule.pattern).groupCount;
  } catch (err) {
    refuse("rule", name, `${messageOf(err)} test-route fails for every user of the dial plan until it is fixed.`);
    return null;
  }
  const pcre = toPcre(rule.pattern, { maxInput: MAX_DIALLED_LENGTH });
  if (!pcre.ok) {
    refuse("rule", name, `Its pattern cannot be written for Kamailio: ${pcre.reason}.`);
    return null;
  }
  // The pattern is also the subst_exp, and dialplan refuses to load one with more groups.
  if (groupCount > MAX_SUBST_GROUPS) {
    refuse(
      "rule",
      name,
      `Its pattern has ${groupCount} capturing groups; Kamailio's dialplan loads at most ${MAX_SUBST_GROUPS}. Make the groups the translation does not use non-capturing with "(?:".`,
    );
    return null;
  }
  const repl = toDialplanReplacement(rule.translation, groupCount, groupLengths(rule.pattern, MAX_DIALLED_LENGTH));
  if (!repl.ok) {
    refuse("rule", name, `${repl.reason}.`);
    return null;
  }
  // dialplan fails the whole translation when a rule's attrs reach DP_MAX_ATTRS_LEN (255 bytes).
  if (Buffer.byteLength(rule.name, "utf8") >= 255) {
    refuse("rule", name, "Its name is 255 bytes or longer, which Kamailio's dialplan cannot return with a translation: shorten it.");
    return null;
  }
  // An empty result: test-route routes on "" (a number, though empty), where Kamailio cannot
  // match anything against an empty string. They differ only if some route matches "".
  if (repl.minLength === 0 && routesMatchingEmpty.length > 0) {
    refuse(
      "rule",
      name,
      `Its translation "${rule.translation}" can give an empty number, which route${routesMatchingEmpty.length > 1 ? "s" : ""} ${routesMatchingEmpty
        .slice(0, 3)
        .map((r) => `"${r}"`)
        .join(
          ", ",
        )} match${routesMatchingEmpty.length > 1 ? "" : "es"} in test-route but Kamailio never does: add a literal to the translation, or make the groups it copies match at least one character.`,
    );
    return null;
  }
  return { matchExp: pcre.pcre, substExp: pcre.pcre, replExp: repl.repl, attrs: rule.name };
}

/**
 * The caller table. A user is found by the user part of their SIP address and by their line
 * URI's number, with and without "+" (with ";ext=N" kept when the line has an extension, since
 * the bare number then belongs to the shared line, not to the user). The value is the user's
 * effective dial plan and policy as test-route decides: policy by homing (effectivePolicyName),
 * dial plan the tenant dial plan or Global, both looked up case-insensitively by identity.
 */
function compileUsers(
  users: readonly KamailioUser[],
  dialPlanIndex: ReadonlyMap<string, number>,
  policyIndex: ReadonlyMap<string, number>,
  refuse: (kind: Refusal["kind"], name: string, reason: string) => void,
): HtableRow[] {
  /** From user part → the users it identifies, in input order. */
  const owners = new Map<string, number[]>();
  /** The htable value of each user that was not refused. */
  const values = new Map<number, string>();
  users.forEach((u, i) => {
    const problems: string[] = [];
    // A policy or dial plan test-route cannot find makes it fail for this user; Kamailio would
    // need some answer, so refuse rather than invent one.
    const policyName = effectivePolicyName({
      homing: u.homing,
      on_prem_voice_routing_policy: u.onPremVoiceRoutingPolicy,
      online_voice_routing_policy: u.onlineVoiceRoutingPolicy,
    });
    let pol = -1;
    try {
      const id = policyIdentity(policyName);
      pol = policyIndex.get(id.toLowerCase()) ?? -1;
      if (pol < 0)
        problems.push(
          `Their effective voice routing policy "${id}" does not exist, so test-route fails for them: create it or grant another.`,
        );
    } catch (err) {
      problems.push(`Their effective voice routing policy "${policyName}" is not a valid name (${messageOf(err)}): grant another.`);
    }
    const planName = u.tenantDialPlan?.trim() ? u.tenantDialPlan : GLOBAL;
    let dp = -1;
    try {
      const id = dialPlanIdentity(planName).identity;
      dp = dialPlanIndex.get(id.toLowerCase()) ?? -1;
      if (dp < 0) problems.push(`Their tenant dial plan "${id}" does not exist, so test-route fails for them: create it or grant another.`);
    } catch (err) {
      problems.push(`Their tenant dial plan "${planName}" is not a valid name (${messageOf(err)}): grant another.`);
    }
    const keys: string[] = [];
    if (u.sipAddress?.trim()) {
      const part = sipUserPart(u.sipAddress);
      if (part) keys.push(part);
      else
        problems.push(
          `Their SIP address "${u.sipAddress}" has no user part Kamailio can match the From header against: give one such as sip:alice@contoso.com.`,
        );
    }
    if (u.lineUri?.trim()) {
      const m = /^tel:\+(\d{1,15})(?:;ext=(\d+))?$/i.exec(u.lineUri.trim());
      if (m) {
        const ext = m[2] ? `;ext=${m[2]}` : "";
        keys.push(`+${m[1]}${ext}`, `${m[1]}${ext}`);
      } else {
        problems.push(
          `Their line URI "${u.lineUri}" is not tel:+E164[;ext=N], so calls from their number cannot be recognised: correct it.`,
        );
      }
    }
    if (problems.length > 0) {
      for (const p of problems) refuse("user", u.userPrincipalName, p);
      return;
    }
    // A user with neither gets no key: Kamailio answers "unknown caller", and they cannot call.
    values.set(i, `dp=${dp};pol=${pol}`);
    for (const k of new Set(keys)) owners.set(k, [...(owners.get(k) ?? []), i]);
  });
  // The script knows a caller only by From user part. When users sharing one would be routed
  // alike (same dial plan and policy) the call goes as test-route says for either of them; when
  // they would not, Kamailio cannot tell who calls: refuse each of them.
  const rows: HtableRow[] = [];
  const ambiguous = new Map<number, { keys: string[]; others: Set<number> }>();
  for (const [k, ids] of owners) {
    const distinct = new Set(ids.map((i) => values.get(i)));
    if (distinct.size === 1) {
      rows.push({ key: k, value: values.get(ids[0] ?? -1) ?? "" });
      continue;
    }
    for (const i of ids) {
      const entry = ambiguous.get(i) ?? { keys: [], others: new Set<number>() };
      entry.keys.push(k);
      for (const j of ids) if (j !== i) entry.others.add(j);
      ambiguous.set(i, entry);
    }
  }
  for (const [i, { keys, others }] of [...ambiguous].sort((a, b) => a[0] - b[0])) {
    const names = [...others].map((j) => `"${users[j]?.userPrincipalName ?? ""}"`);
    refuse(
      "user",
      users[i]?.userPrincipalName ?? "",
      `Calls from ${keys.map((k) => `"${k}"`).join(", ")} are ambiguous: ${names.join(", ")} ${names.length > 1 ? "have" : "has"} the same From user part with another dial plan or policy, and Kamailio knows a caller only by it. Give them distinct SIP addresses or line URIs.`,
    );
  }
  return rows;
}
