import { describe, expect, it } from "vitest";
import { AppError } from "../core/errors.ts";
import { pick, type Rng, seededRng } from "../core/random.ts";
import {
  type DialPlan,
  DialPlanIndex,
  type NormalizationResult,
  normalize,
  numberToRoute,
  ReferenceResolver,
  type RouteDecision,
  RouteIndex,
  type RouteResolution,
  referenceResolve,
  resolveRoute,
  type VoiceRoute,
  type VoiceRoutingPolicy,
} from "./routing.ts";

function errorOf(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error("expected an AppError");
}

function route(name: string, numberPattern: string, priority: number, pstnUsages: string[]): VoiceRoute {
  return { name, numberPattern, priority, pstnUsages, pstnGateways: [`${name}.sbc.contoso.com`] };
}

function policy(...pstnUsages: string[]): VoiceRoutingPolicy {
  return { identity: "tag:test", pstnUsages };
}

/** The same question through every implementation; they must all agree, trace included. */
function resolveEverywhere(routes: VoiceRoute[], p: VoiceRoutingPolicy, number: string): RouteResolution {
  const scanned = resolveRoute(routes, p, number);
  const index = new RouteIndex(routes);
  const reference = new ReferenceResolver(routes);
  expect(referenceResolve(routes, p, number)).toEqual(scanned);
  expect(index.explain(p, number)).toEqual(scanned);
  expect(reference.explain(p, number)).toEqual(scanned);
  for (const decision of [index.resolve(p, number), reference.resolve(p, number)]) expectSameDecision(decision, scanned);
  return scanned;
}

function expectSameDecision(actual: RouteDecision, expected: RouteDecision, context = ""): void {
  expect(actual.usage, context).toBe(expected.usage);
  expect(actual.route, context).toBe(expected.route);
  expect(actual.gateways, context).toBe(expected.gateways);
  expect(actual.backups.length, context).toBe(expected.backups.length);
  actual.backups.forEach((r, i) => {
    expect(r, context).toBe(expected.backups[i]);
  });
}

const outcomes = (r: RouteResolution) => r.trace.map((e) => [e.usage, e.route, e.outcome]);

describe("route resolution (Test-CsVoicePolicy)", () => {
  // §6 item 19: usage order decides; a later usage is a backup that is never evaluated.
  const us = route("US-route", "^\\+1\\d{10}$", 5, ["US"]);
  const intl = route("Intl-route", "^\\+\\d+$", 1, ["Intl"]);

  it("uses the first usage of the policy with a matching route; later usages are never evaluated", () => {
    const r = resolveEverywhere([us, intl], policy("US", "Intl"), "+14255550100");
    expect(r.usage).toBe("US");
    expect(r.route).toBe(us);
    expect(r.gateways).toEqual(["US-route.sbc.contoso.com"]);
    expect(outcomes(r)).toEqual([
      ["US", "US-route", "chosen"],
      ["Intl", null, "usage_not_evaluated"],
    ]);
    expect(r.trace[1]?.reason).toContain('usage "Intl" is not evaluated: usage "US"');
  });

  it("with the usages reversed, the Intl route is used even though the US route also matches", () => {
    const r = resolveEverywhere([us, intl], policy("Intl", "US"), "+14255550100");
    expect(r.usage).toBe("Intl");
    expect(r.route).toBe(intl);
    expect(outcomes(r)).toEqual([
      ["Intl", "Intl-route", "chosen"],
      ["US", null, "usage_not_evaluated"],
    ]);
  });

  it("falls through to the next usage when no route of the first matches", () => {
    const r = resolveEverywhere([us, intl], policy("US", "Intl"), "+442071234567");
    expect(r.route).toBe(intl);
    expect(outcomes(r)).toEqual([
      ["US", "US-route", "no_match"],
      ["Intl", "Intl-route", "chosen"],
    ]);
  });

  // §6 item 20: within a usage, the lowest priority is tried first and the others are backups.
  it("tries routes of the usage by priority, lowest first, with the others as backups in order", () => {
    const p1 = route("Seattle-1", "^\\+1206\\d{7}$", 1, ["Local"]);
    const p2 = route("Seattle-2", "^\\+1\\d{10}$", 2, ["Local"]);
    const p3 = route("Seattle-3", "^\\+1206555\\d{4}$", 3, ["Local"]);
    const other = route("Portland", "^\\+1503\\d{7}$", 0, ["Local"]);
    // Given out of order: the order given does not matter.
    const r = resolveEverywhere([p3, other, p2, p1], policy("Local"), "+12065550100");
    expect(r.route).toBe(p1);
    expect(r.backups).toEqual([p2, p3]);
    expect(outcomes(r)).toEqual([
      ["Local", "Portland", "no_match"],
      ["Local", "Seattle-1", "chosen"],
      ["Local", "Seattle-2", "backup"],
      ["Local", "Seattle-3", "backup"],
    ]);
    expect(r.trace[2]?.reason).toContain('priority 2 comes after the chosen route "Seattle-1" (priority 1)');
  });

  it("breaks priority ties by name, then by position", () => {
    const b = route("b", "^\\+1", 1, ["U"]);
    const a = route("a", "^\\+1", 1, ["U"]);
    const a2 = route("a", "\\d", 1, ["U"]);
    const r = resolveEverywhere([b, a2, a], policy("U"), "+1");
    expect(r.route).toBe(a2);
    expect(r.backups).toEqual([a, b]);
  });

  it("passes over routes that do not list the usage, and reports matching routes outside the policy", () => {
    const inside = route("inside", "^\\+44", 9, ["UK"]);
    const outside = route("outside", "^\\+44", 1, ["Premium", "Other"]);
    const orphan = route("orphan", "^\\+44", 1, []);
    const r = resolveEverywhere([inside, outside, orphan], policy("UK", "Empty"), "+442071234567");
    expect(r.route).toBe(inside);
    expect(outcomes(r)).toEqual([
      ["UK", "inside", "chosen"],
      ["Empty", null, "usage_not_evaluated"],
      [null, "orphan", "not_in_policy"],
      [null, "outside", "not_in_policy"],
    ]);
    expect(r.trace[3]?.reason).toContain("(Premium, Other)");
  });

  it("reports a usage no route lists, and no route when nothing matches", () => {
    const r = resolveEverywhere([us], policy("Empty", "US"), "12345");
    expect(r.usage).toBeNull();
    expect(r.route).toBeNull();
    expect(r.gateways).toEqual([]);
    expect(r.backups).toEqual([]);
    expect(outcomes(r)).toEqual([
      ["Empty", null, "usage_has_no_routes"],
      ["US", "US-route", "no_match"],
    ]);
  });

  it("matches unanchored patterns anywhere in the number (.NET IsMatch), like New-CsVoiceRoute's default [0-9]{10}", () => {
    const byDefault = route("default", "[0-9]{10}", 1, ["U"]);
    expect(resolveEverywhere([byDefault], policy("U"), "+14255550100").route).toBe(byDefault);
    expect(resolveEverywhere([byDefault], policy("U"), "x4255550100;ext=1").route).toBe(byDefault);
    expect(resolveEverywhere([byDefault], policy("U"), "425555010").route).toBeNull();
  });

  it("treats a usage listed twice like once, and a route listing a usage twice like once", () => {
    const twice = route("twice", "^\\+1", 1, ["US", "US"]);
    const r = resolveEverywhere([twice, intl], policy("US", "US", "Intl"), "+44");
    expect(r.route).toBe(intl);
    expect(outcomes(r)).toEqual([
      ["US", "twice", "no_match"],
      ["US", "twice", "no_match"],
      ["Intl", "Intl-route", "chosen"],
    ]);
    expect(resolveEverywhere([twice], policy("US", "US"), "+1").backups).toEqual([]);
  });

  it("re-reads a policy whose usages changed since it was last seen", () => {
    const index = new RouteIndex([us, intl]);
    const p = { identity: "tag:p", pstnUsages: ["US", "Intl"] };
    expect(index.resolve(p, "+14255550100").route).toBe(us);
    p.pstnUsages = ["Intl", "US"];
    expect(index.resolve(p, "+14255550100").route).toBe(intl);
    p.pstnUsages.reverse();
    expect(index.resolve(p, "+14255550100").route).toBe(us);
  });

  it("lists the routes whose pattern matches (Test-CsVoiceRoute for all routes)", () => {
    expect(new RouteIndex([us, intl]).matchingRoutes("+14255550100")).toEqual([us, intl]);
    expect(new RouteIndex([us, intl]).matchingRoutes("+44")).toEqual([intl]);
  });

  it("refuses a bad pattern, naming the route, the pattern, the reason and the fix", () => {
    const bad = route("bad", "^(\\d+)\\1$", 1, ["U"]);
    for (const fn of [() => new RouteIndex([us, bad]), () => resolveRoute([us, bad], policy("U"), "1")]) {
      const err = errorOf(fn);
      expect(err.code).toBe("invalid_input");
      expect(err.message).toContain('Voice route "bad": The pattern "^(\\d+)\\1$" is not valid: "\\1" at character 7 is a backreference');
      expect(err.details[0]?.path).toBe("routes[1].numberPattern");
    }
    expect(errorOf(() => new RouteIndex([route("nan", "1", Number.NaN, [])])).message).toContain("priority must be a number");
  });
});

describe("normalization (Test-CsDialPlan)", () => {
  // §6 item 21.
  const plan: DialPlan = {
    identity: "tag:Redmond",
    rules: [
      { name: "Prefix All", pattern: "^(\\d{11})$", translation: "+$1", priority: 1, isInternalExtension: false },
      { name: "4-digit", pattern: "^(\\d{4})$", translation: "+1206555$1", priority: 0, isInternalExtension: true },
    ],
  };

  function normalizeEverywhere(p: DialPlan, dialled: string) {
    const scanned = normalize(p, dialled);
    const index = new DialPlanIndex(p);
    const reference = new ReferenceResolver([], p);
    expect(index.explain(dialled)).toEqual(scanned);
    expect(reference.explainNormalization(dialled)).toEqual(scanned);
    for (const result of [index.normalize(dialled), reference.normalize(dialled)]) {
      expect(result.number).toBe(scanned.number);
      expect(result.rule).toBe(scanned.rule);
    }
    return scanned;
  }

  it('turns "1234" into +12065551234', () => {
    const n = normalizeEverywhere(plan, "1234");
    expect(n.number).toBe("+12065551234");
    expect(n.rule?.name).toBe("4-digit");
    expect(n.trace.map((e) => [e.rule, e.outcome])).toEqual([
      ["4-digit", "chosen"],
      ["Prefix All", "no_match"],
    ]);
  });

  it('gives no number for "5551212" (no rule matches)', () => {
    const n = normalizeEverywhere(plan, "5551212");
    expect(n.number).toBeNull();
    expect(n.rule).toBeNull();
    expect(n.trace.map((e) => e.outcome)).toEqual(["no_match", "no_match"]);
    expect(n.trace[0]?.reason).toBe('the pattern "^(\\d{4})$" does not match "5551212"');
  });

  it("applies the 11-digit rule", () => {
    expect(normalizeEverywhere(plan, "14255550100").number).toBe("+14255550100");
  });

  it("takes the lowest priority among the matching rules, whatever their order", () => {
    const p: DialPlan = {
      identity: "tag:p",
      rules: [
        { name: "any", pattern: "^(\\d+)$", translation: "A$1", priority: 2, isInternalExtension: false },
        { name: "four", pattern: "^(\\d{4})$", translation: "B$1", priority: 1, isInternalExtension: false },
        { name: "tie-b", pattern: "^(\\d{3})$", translation: "C$1", priority: 0, isInternalExtension: false },
        { name: "tie-a", pattern: "^(\\d{3})$", translation: "D$1", priority: 0, isInternalExtension: false },
      ],
    };
    const n = normalizeEverywhere(p, "1234");
    expect(n.number).toBe("B1234");
    expect(n.trace.map((e) => [e.rule, e.outcome])).toEqual([
      ["tie-a", "no_match"],
      ["tie-b", "no_match"],
      ["four", "chosen"],
      ["any", "outranked"],
    ]);
    expect(n.trace[3]?.reason).toBe('matches too, but priority 2 comes after rule "four" (priority 1)');
    expect(normalizeEverywhere(p, "123").number).toBe("D123");
    expect(normalizeEverywhere(p, "12345").number).toBe("A12345");
  });

  it("translates the match of an unanchored pattern, not the whole input", () => {
    const p: DialPlan = {
      identity: "tag:p",
      rules: [{ name: "ext", pattern: "(\\d{4})$", translation: "+1425555$1", priority: 0, isInternalExtension: true }],
    };
    expect(normalizeEverywhere(p, "x.1234").number).toBe("+14255551234");
  });

  it("routes on the digits as dialled when no rule matched", () => {
    const none: NormalizationResult = { number: null, rule: null };
    expect(numberToRoute(none, "5551212")).toBe("5551212");
    expect(numberToRoute(normalize(plan, "1234"), "1234")).toBe("+12065551234");
  });

  it("refuses a bad pattern or translation, naming the rule", () => {
    const badPattern: DialPlan = {
      identity: "tag:p",
      rules: [{ name: "r", pattern: "(?<x>\\d)", translation: "+$1", priority: 0, isInternalExtension: false }],
    };
    const badTranslation: DialPlan = {
      identity: "tag:p",
      rules: [{ name: "r", pattern: "^(\\d)$", translation: "+$2", priority: 0, isInternalExtension: false }],
    };
    expect(errorOf(() => new DialPlanIndex(badPattern)).message).toContain('Normalization rule "r": The pattern "(?<x>\\d)" is not valid');
    expect(errorOf(() => normalize(badPattern, "1")).details[0]?.path).toBe("rules[0].pattern");
    const err = errorOf(() => new DialPlanIndex(badTranslation));
    expect(err.message).toContain('Normalization rule "r": The translation "+$2" is not valid');
    expect(err.details[0]?.path).toBe("rules[0].translation");
  });
});

// ---------------------------------------------------------------------------------------------
// Differential: the fast path against the reference on random data.

const AREA = ["206", "425", "212", "415", "503"];

function digits(rng: Rng, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += String(rng.int(10));
  return s;
}

function randomPattern(rng: Rng): string {
  const a = pick(rng, AREA);
  return pick(rng, [
    `^\\+1${a}\\d{7}$`,
    `^\\+1(${a}|${pick(rng, AREA)})[2-9]\\d{6}$`,
    `^\\+1${a}${2 + rng.int(8)}\\d{6}(;ext=\\d+)?$`,
    `^\\+44(20|1\\d{2})\\d{6,7}$`,
    `^\\+${pick(rng, ["33", "49", "44"])}\\d{${8 + rng.int(3)}}$`,
    "[0-9]{10}",
    "\\d{4}$",
    "^(911|933)$",
    "^\\+?1?\\d{10}$",
    "^\\d{4}$",
    `${digits(rng, 2)}\\d`,
    "^\\+\\d+$",
    `^\\+1${a}55[0-${rng.int(10)}]\\d{4}$`,
  ]);
}

function randomNumber(rng: Rng): string {
  const k = rng.int(10);
  if (k < 4) return `+1${pick(rng, AREA)}${2 + rng.int(8)}${digits(rng, 6)}${rng.int(5) === 0 ? `;ext=${digits(rng, 3)}` : ""}`;
  if (k < 5) return `+44${pick(rng, ["20", "161", "1"])}${digits(rng, 7)}`;
  if (k < 6) return `+${pick(rng, ["33", "49"])}${digits(rng, 8 + rng.int(3))}`;
  if (k < 7) return digits(rng, 4);
  if (k < 8) return pick(rng, ["911", "933", "", "+", "abc", "+1"]);
  if (k < 9) return `${pick(rng, AREA)}${digits(rng, 7)}`;
  return `1${pick(rng, AREA)}${digits(rng, 7)}`;
}

describe("differential: RouteIndex and DialPlanIndex against the reference resolver", () => {
  const rng = seededRng("routing-differential");
  const usages = Array.from({ length: 12 }, (_, i) => `U${i}`);
  const routes: VoiceRoute[] = Array.from({ length: 300 }, (_, i) => ({
    name: `r${rng.int(200)}`,
    numberPattern: randomPattern(rng),
    priority: rng.int(40),
    pstnUsages: Array.from({ length: rng.int(4) }, () => pick(rng, usages)),
    pstnGateways: [`gw${i}`],
  }));
  const policies: VoiceRoutingPolicy[] = Array.from({ length: 10 }, (_, i) => ({
    identity: `tag:p${i}`,
    pstnUsages: Array.from({ length: rng.int(6) }, () => pick(rng, [...usages, "Unknown"])),
  }));
  const plan: DialPlan = {
    identity: "tag:random",
    rules: Array.from({ length: 16 }, (_, i) => {
      const [pattern, translation] = pick(rng, [
        ["^(\\d{4})$", "+1425555$1"],
        ["^(\\d{7})$", "+1425$1"],
        ["^(\\d{10})$", "+1$1"],
        ["^1(\\d{10})$", "+1$1"],
        ["^\\+(\\d+)$", "+$1"],
        ["(\\d{6,})$", "+$1"],
        ["^(9)(1)(1)$", "$1$2$3"],
        ["^(\\+1)?(425)(\\d{7})(;ext=\\d+)?$", "+1$2$3$4"],
        ["(\\d)(\\d)", "$2$1"],
      ] as const);
      return { name: `rule${rng.int(8)}`, pattern, translation, priority: rng.int(6), isInternalExtension: i % 2 === 0 };
    }),
  };
  const numbers = Array.from({ length: 4000 }, () => randomNumber(rng));

  it("resolves every number to the same decision, with roomy and with tiny caches", () => {
    const reference = new ReferenceResolver(routes);
    const indexes = [new RouteIndex(routes), new RouteIndex(routes, { maxStates: 4, maxMatchSets: 3, maxStoredInstructions: 200 })];
    let routed = 0;
    numbers.forEach((number, i) => {
      const p = policies[i % policies.length] as VoiceRoutingPolicy;
      const want = reference.resolve(p, number);
      if (want.route) routed++;
      for (const index of indexes) expectSameDecision(index.resolve(p, number), want, `${p.identity} ${number}`);
    });
    // The data must exercise both outcomes.
    expect(routed).toBeGreaterThan(1000);
    expect(routed).toBeLessThan(numbers.length);
  });

  it("explains every number with the same trace as the ordered scans", () => {
    const reference = new ReferenceResolver(routes);
    const index = new RouteIndex(routes);
    numbers.slice(0, 400).forEach((number, i) => {
      const p = policies[i % policies.length] as VoiceRoutingPolicy;
      expect(index.explain(p, number), number).toEqual(reference.explain(p, number));
    });
    for (const number of numbers.slice(0, 20)) {
      expect(resolveRoute(routes, policies[0] as VoiceRoutingPolicy, number)).toEqual(
        reference.explain(policies[0] as VoiceRoutingPolicy, number),
      );
    }
  });

  it("normalizes every number the same way", () => {
    const reference = new ReferenceResolver([], plan);
    const indexes = [new DialPlanIndex(plan), new DialPlanIndex(plan, { maxStates: 3, maxMatchSets: 2 })];
    let normalized = 0;
    for (const number of numbers) {
      const want = reference.normalize(number);
      if (want.number !== null) normalized++;
      for (const index of indexes) {
        const got = index.normalize(number);
        expect(got.number, number).toBe(want.number);
        expect(got.rule, number).toBe(want.rule);
      }
    }
    expect(normalized).toBeGreaterThan(1000);
    for (const number of numbers.slice(0, 300)) {
      expect(indexes[0]?.explain(number)).toEqual(reference.explainNormalization(number));
      expect(normalize(plan, number)).toEqual(reference.explainNormalization(number));
    }
  });
});
