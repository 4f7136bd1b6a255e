/**
 * The impact of a publish, before it happens: every caller × a set of destinations, routed by the live
 * configuration and by the one about to be published, with Callplane's compiled multi-pattern engine
 * (DialPlanIndex and RouteIndex: one lazy DFA per dial plan and one for all routes, decisions cached
 * per set of matching patterns), and the calls whose route, gateways or normalized number change or
 * that become unroutable or routable. Pure: no I/O.
 */
import { type CountryCode, getCountryCallingCode, getExampleNumber, isSupportedCountry } from "libphonenumber-js";
import mobileExamples from "libphonenumber-js/mobile/examples";
import { dialPlanIdentity } from "../dial-plans.service.ts";
import { DialPlanIndex, numberToRoute, RouteIndex, type VoiceRoute, type VoiceRoutingPolicy } from "../routing.ts";
import { effectivePolicyName } from "../test-tools.service.ts";
import { GLOBAL, policyIdentity } from "../voice.service.ts";
import type { GenerationInput, KamailioUser } from "./compile.ts";

/** What a call does under one configuration: the number routed, the route and its enabled gateways; null route: unroutable. */
export interface CallOutcome {
  number: string;
  route: string | null;
  gateways: string[];
  /** Why it is unroutable when it is (no route, no policy, an unknown caller). */
  reason: string | null;
}

export type ChangeKind = "route" | "gateways" | "number" | "unroutable" | "routable";

export interface ImpactExample {
  user: string;
  dialled: string;
  destination: DestinationKind;
  before: CallOutcome;
  after: CallOutcome;
}

export interface Impact {
  callers: number;
  destinations: number;
  resolutions: number;
  /** Calls whose outcome changes, by kind (a call counts once, under its first kind in this order). */
  changed: Record<ChangeKind, number>;
  unchanged: number;
  /** Up to `examplesPerKind` calls of each kind. */
  examples: Record<ChangeKind, ImpactExample[]>;
}

export type DestinationKind = "extension" | "local" | "national" | "mobile" | "international" | "emergency" | "listed";

export interface Destination {
  dialled: string;
  kind: DestinationKind;
}

const UNKNOWN: CallOutcome = { number: "", route: null, gateways: [], reason: "not a caller in this configuration" };

/** One configuration, prepared to route many calls. */
export class Router {
  private readonly plans = new Map<string, DialPlanIndex>();
  private readonly policies = new Map<string, VoiceRoutingPolicy>();
  private readonly routes: RouteIndex;
  private readonly enabled: Set<string>;
  private readonly users = new Map<string, { plan: DialPlanIndex | undefined; policy: VoiceRoutingPolicy | undefined }>();
  private readonly gatewaysOf = new WeakMap<VoiceRoute, string[]>();

  constructor(input: GenerationInput) {
    // Keyed by identity as users name them (`Tag:` and case do not matter), as test-route looks them up.
    for (const p of input.dialPlans) this.plans.set(identityOr(dialPlanIdentityOf, p.identity).toLowerCase(), new DialPlanIndex(p));
    for (const p of input.policies) this.policies.set(identityOr(policyIdentity, p.identity).toLowerCase(), p);
    this.routes = new RouteIndex(input.routes);
    this.enabled = new Set(input.gateways.filter((g) => g.enabled).map((g) => g.fqdn.toLowerCase()));
    for (const u of input.users) {
      this.users.set(u.userPrincipalName.toLowerCase(), {
        plan: this.plans.get(dialPlanOf(u).toLowerCase()),
        policy: this.policies.get(policyOf(u).toLowerCase()) ?? (policyOf(u) === GLOBAL ? { identity: GLOBAL, pstnUsages: [] } : undefined),
      });
    }
  }

  /** The call from `upn` to `dialled`, as `voice test-route` decides it (gateways: the enabled ones). */
  route(upn: string, dialled: string): CallOutcome {
    return this.caller(upn)(dialled);
  }

  /** Routes calls from one user: their dial plan and policy are looked up once. */
  caller(upn: string): (dialled: string) => CallOutcome {
    const u = this.users.get(upn.toLowerCase());
    if (!u) return () => UNKNOWN;
    const { plan, policy } = u;
    return (dialled) => {
      const number = plan ? numberToRoute(plan.normalize(dialled), dialled) : dialled;
      if (!policy) return { number, route: null, gateways: [], reason: "their voice routing policy does not exist" };
      const d = this.routes.resolve(policy, number);
      if (!d.route)
        return {
          number,
          route: null,
          gateways: [],
          reason: policy.pstnUsages.length ? "no route matches" : "the policy has no PSTN usages",
        };
      return { number, route: d.route.name, gateways: this.enabledGateways(d.route), reason: null };
    };
  }

  /** A route's enabled gateways, sorted: one array per route, shared by every call it takes. */
  private enabledGateways(route: VoiceRoute): string[] {
    let list = this.gatewaysOf.get(route);
    if (!list) {
      list = route.pstnGateways.filter((g) => this.enabled.has(g.toLowerCase())).sort();
      this.gatewaysOf.set(route, list);
    }
    return list;
  }
}

function sameGateways(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const dialPlanIdentityOf = (v: string) => dialPlanIdentity(v).identity;

function identityOr(clean: (v: string) => string, v: string): string {
  try {
    return clean(v);
  } catch {
    return v;
  }
}

function policyOf(u: KamailioUser): string {
  const name = effectivePolicyName({
    homing: u.homing,
    on_prem_voice_routing_policy: u.onPremVoiceRoutingPolicy,
    online_voice_routing_policy: u.onlineVoiceRoutingPolicy,
  });
  try {
    return policyIdentity(name);
  } catch {
    return name;
  }
}

function dialPlanOf(u: KamailioUser): string {
  const name = u.tenantDialPlan?.trim() ? u.tenantDialPlan : GLOBAL;
  try {
    return dialPlanIdentity(name).identity;
  } catch {
    return name;
  }
}

/** The kind of change between two outcomes of one call, or null when it routes the same. */
export function changeOf(before: CallOutcome, after: CallOutcome): ChangeKind | null {
  if (before.route !== null && after.route === null) return "unroutable";
  if (before.route === null && after.route !== null) return "routable";
  if (before.route === null || after.route === null) return null;
  if (before.route !== after.route) return "route";
  if (!sameGateways(before.gateways, after.gateways)) return "gateways";
  if (before.number !== after.number) return "number";
  return null;
}

// ---------------------------------------------------------------------------------------------
// Destinations.

const EMERGENCY: Record<string, string[]> = { US: ["911"], CA: ["911"], GB: ["999", "112"], AU: ["000", "112"], NZ: ["111"], JP: ["110"] };
const ACCESS_PREFIX: Record<string, string> = { US: "011", CA: "011", JP: "010", AU: "0011" };
const ABROAD: CountryCode[] = ["US", "GB", "DE", "FR", "IN", "JP", "AU", "BR"];

function mobileOf(country: CountryCode): { e164: string; national: string } | null {
  const n = getExampleNumber(country, mobileExamples);
  if (!n) return null;
  return { e164: n.number, national: n.formatNational().replace(/\D/g, "") };
}

function nationalDigits(country: CountryCode, e164: string): string | null {
  const code = getCountryCallingCode(country);
  if (!e164.startsWith(`+${code}`)) return null;
  const nsn = e164.slice(code.length + 1);
  // NANP numbers are dialled nationally as ten digits; most others with their trunk prefix 0.
  return code === "1" ? nsn : `0${nsn}`;
}

const perCountry = new Map<string, Destination[]>();

/**
 * What a user is likely to dial, from where they are (their usage location, else the country of their
 * line URI, else the US) and their own number: two numbers near their own (E.164 and as dialled
 * nationally), two extensions, a mobile number (three ways), numbers abroad (E.164 and with the
 * international prefix) and the emergency numbers. About 18 destinations.
 */
export function destinationsFor(user: { usageLocation: string | null; lineUri: string | null }): Destination[] {
  const own = /^tel:(\+\d{6,15})/i.exec(user.lineUri ?? "")?.[1] ?? null;
  const country = (user.usageLocation && isSupportedCountry(user.usageLocation) ? user.usageLocation : "US") as CountryCode;
  let common = perCountry.get(country);
  if (!common) {
    common = [];
    for (const e of EMERGENCY[country] ?? ["112"]) common.push({ dialled: e, kind: "emergency" });
    const mobile = mobileOf(country);
    const prefix = ACCESS_PREFIX[country] ?? "00";
    if (mobile) {
      common.push({ dialled: mobile.e164, kind: "mobile" }, { dialled: mobile.national, kind: "mobile" });
      common.push({ dialled: `${prefix}${mobile.e164.slice(1)}`, kind: "mobile" });
    }
    const abroad = ABROAD.filter((c) => c !== country).slice(0, 4);
    abroad.forEach((c, i) => {
      const m = mobileOf(c);
      if (!m) return;
      common?.push({ dialled: m.e164, kind: "international" });
      if (i < 2) common?.push({ dialled: `${prefix}${m.e164.slice(1)}`, kind: "international" });
    });
    perCountry.set(country, common);
  }
  const out = [...common];
  if (own) {
    for (const delta of [1, 7]) {
      const last = Number(own.slice(-4));
      const near = `${own.slice(0, -4)}${String((last + delta * 111) % 10000).padStart(4, "0")}`;
      out.push({ dialled: near, kind: "local" });
      const national = nationalDigits(country, near);
      if (national) out.push({ dialled: national, kind: "national" });
      out.push({ dialled: near.slice(-4), kind: "extension" });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The comparison.

export interface ImpactCaller {
  userPrincipalName: string;
  usageLocation: string | null;
  lineUri: string | null;
}

/**
 * Every caller × their destinations (and `listed` numbers), routed by `live` and by `next`. A caller
 * is a user of either configuration; `listed` numbers (e.g. from call records) are dialled by every
 * caller, or by the one named.
 */
export function compareConfigurations(
  live: GenerationInput | null,
  next: GenerationInput,
  callers: readonly ImpactCaller[],
  listed: readonly { dialled: string; user?: string }[] = [],
  examplesPerKind = 5,
): Impact {
  const before = live ? new Router(live) : null;
  const after = new Router(next);
  const kinds: ChangeKind[] = ["unroutable", "routable", "route", "gateways", "number"];
  const changed = Object.fromEntries(kinds.map((k) => [k, 0])) as Record<ChangeKind, number>;
  const examples = Object.fromEntries(kinds.map((k) => [k, [] as ImpactExample[]])) as Record<ChangeKind, ImpactExample[]>;
  const forEveryone = listed.filter((l) => !l.user).map((l) => ({ dialled: l.dialled, kind: "listed" as const }));
  const forOne = new Map<string, Destination[]>();
  for (const l of listed) {
    if (!l.user) continue;
    const key = l.user.toLowerCase();
    forOne.set(key, [...(forOne.get(key) ?? []), { dialled: l.dialled, kind: "listed" }]);
  }
  let resolutions = 0;
  let unchanged = 0;
  let destinations = 0;
  for (const c of callers) {
    const list = [...destinationsFor(c), ...forEveryone, ...(forOne.get(c.userPrincipalName.toLowerCase()) ?? [])];
    destinations += list.length;
    const routeBefore = before?.caller(c.userPrincipalName);
    const routeAfter = after.caller(c.userPrincipalName);
    for (const d of list) {
      const b = routeBefore ? routeBefore(d.dialled) : UNKNOWN;
      const a = routeAfter(d.dialled);
      resolutions += before ? 2 : 1;
      const kind = changeOf(b, a);
      if (kind === null) {
        unchanged++;
        continue;
      }
      changed[kind]++;
      const ex = examples[kind];
      if (ex.length < examplesPerKind) ex.push({ user: c.userPrincipalName, dialled: d.dialled, destination: d.kind, before: b, after: a });
    }
  }
  return { callers: callers.length, destinations, resolutions, changed, unchanged, examples };
}
