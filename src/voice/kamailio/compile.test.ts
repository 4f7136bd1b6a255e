import { describe, expect, it } from "vitest";
import { kamailioExpand } from "../../../test/support/kamailio-dialplan.ts";
import { itWithLibpcre, pcreToJs, runPcre } from "../../../test/support/libpcre.ts";
import { pick, type Rng, seededRng } from "../../core/random.ts";
import { compilePattern } from "../pattern.ts";
import { type DialPlan, normalize, numberToRoute, resolveRoute, type VoiceRoutingPolicy } from "../routing.ts";
import {
  compileGeneration,
  type DialplanRow,
  type Generation,
  type GenerationInput,
  type KamailioGateway,
  type KamailioRoute,
  type KamailioUser,
} from "./compile.ts";
import { ROUTE_DPID_OFFSET, SLOT_DPID_BASE, USAGE_DPID_OFFSET } from "./dbtext.ts";
import { toPcre } from "./pcre.ts";

// ---------------------------------------------------------------------------------------------
// What the Kamailio script (docs/design/kamailio-routing.md §5) does with a generation.

type Outcome =
  | { code: 200; usage: string; number: string; attempts: { route: string; gateways: string[] }[] }
  | { code: 403 | 404 | 484; reason: string };

/**
 * The script's routing over a generation. Each `match_exp` is evaluated as JavaScript (see
 * pcreToJs) and, as a check of that reading, with pattern.ts on the original pattern the row
 * was generated from; every (PCRE, subject) pair is also recorded for libpcre to confirm.
 */
class KamailioScript {
  private readonly rows = new Map<number, DialplanRow[]>();
  private readonly cp = new Map<string, string>();
  private readonly cpu = new Map<string, string>();
  private readonly regexps = new Map<string, RegExp>();
  private readonly compiled = new Map<string, ReturnType<typeof compilePattern>>();
  /** PCRE → the pattern.ts source it was generated from. */
  readonly sourceOf = new Map<string, string>();
  readonly evaluated = new Map<string, Map<string, string[] | null>>();

  constructor(
    readonly gen: Generation,
    sources: readonly string[],
  ) {
    for (const row of gen.dialplan) {
      const list = this.rows.get(row.dpid) ?? [];
      list.push(row);
      this.rows.set(row.dpid, list);
    }
    for (const list of this.rows.values()) list.sort((a, b) => a.pr - b.pr); // dialplan orders rules by pr
    for (const r of gen.routing) this.cp.set(r.key, r.value);
    for (const r of gen.users) this.cpu.set(r.key, r.value);
    for (const s of sources) {
      const r = toPcre(s);
      if (r.ok) this.sourceOf.set(r.pcre, s);
    }
  }

  private exec(pcre: string, subject: string): string[] | null {
    let re = this.regexps.get(pcre);
    if (!re) {
      re = pcreToJs(pcre);
      this.regexps.set(pcre, re);
    }
    const m = re.exec(subject);
    const got = m ? Array.from(m, (g) => g ?? "") : null;
    const source = this.sourceOf.get(pcre);
    if (source === undefined) throw new Error(`row ${pcre} comes from no pattern of the configuration`);
    let compiled = this.compiled.get(source);
    if (!compiled) {
      compiled = compilePattern(source);
      this.compiled.set(source, compiled);
    }
    const want = compiled.exec(subject);
    if (JSON.stringify(got) !== JSON.stringify(want)) expect(got, `${source} → ${pcre} on ${subject}`).toEqual(want);
    let bySubject = this.evaluated.get(pcre);
    if (!bySubject) {
      bySubject = new Map();
      this.evaluated.set(pcre, bySubject);
    }
    bySubject.set(subject, got);
    return got;
  }

  /** dp_translate: the first row by pr whose match_exp matches; its repl with the groups; null for none (or an overflow). */
  private translate(dpid: number, input: string): string | null {
    if (input === "") return null;
    for (const row of this.rows.get(dpid) ?? []) {
      if (!this.exec(row.matchExp, input)) continue;
      const groups = this.exec(row.substExp, input);
      if (!groups) return null;
      const out = kamailioExpand(row.replExp, groups);
      return out.length >= 127 ? null : out; // MAX_PHONE_NB_DIGITS
    }
    return null;
  }

  /** dp_match: the first matching row (its attrs), or null. */
  private match(dpid: number, input: string): DialplanRow | null {
    if (input === "") return null; // "invalid or empty input string to be matched"
    for (const row of this.rows.get(dpid) ?? []) if (this.exec(row.matchExp, input)) return row;
    return null;
  }

  private gateways(route: number): string[] {
    const v = this.cp.get(`${this.gen.slot}:r:${route}`) ?? "none";
    if (v === "none") return [];
    return v.split(",").map((g) => {
      expect(this.cp.get(`${this.gen.slot}:g:${g}`), `gateway ${g} has a g: key`).toMatch(/^hp=[^;]+:\d+;fr=\d+;codes=\d{3}(\|\d{3})*$/);
      return this.gen.names.gateways[Number(g)] ?? "?";
    });
  }

  call(fromUser: string, dialled: string): Outcome {
    const s = this.gen.slot;
    const base = s * SLOT_DPID_BASE;
    if (!/^\+?[0-9*#]{1,64}$/.test(dialled)) return { code: 484, reason: "dialled number must be digits" };
    const u = this.cpu.get(fromUser);
    if (u === undefined) return { code: 403, reason: `unknown caller ${fromUser}` };
    const params = new Map(u.split(";").map((p) => p.split("=") as [string, string]));
    const dp = Number(params.get("dp"));
    const pol = Number(params.get("pol"));
    const num = this.translate(base + dp, dialled) ?? dialled; // no rule: route as dialled
    const usages = this.cp.get(`${s}:p:${pol}`) ?? "";
    if (!/^[0-9]/.test(usages)) return { code: 403, reason: "policy has no PSTN usages" };
    let usage = -1;
    let route = -1;
    for (const u of usages.split(",").map(Number)) {
      const row = this.match(base + USAGE_DPID_OFFSET + u, num);
      if (row) {
        usage = u;
        route = Number(row.attrs);
        break;
      }
    }
    if (route < 0) return { code: 404, reason: `no route for ${num}` };
    // The failover_route: later routes of the usage whose own dpid matches, in the ur: order.
    const attempts = [{ route: this.gen.names.routes[route] ?? "?", gateways: this.gateways(route) }];
    let after = false;
    for (const r of (this.cp.get(`${s}:ur:${usage}`) ?? "").split(",").map(Number)) {
      if (after && this.match(base + ROUTE_DPID_OFFSET + r, num))
        attempts.push({ route: this.gen.names.routes[r] ?? "?", gateways: this.gateways(r) });
      if (r === route) after = true;
    }
    return { code: 200, usage: this.gen.names.usages[usage] ?? "?", number: num, attempts };
  }
}

/** What `voice test-route` says for a user with this dial plan and policy, in the same shape. */
function testRoute(config: GenerationInput, dialPlan: DialPlan, policy: VoiceRoutingPolicy, dialled: string): Outcome {
  const n = normalize(dialPlan, dialled);
  const routed = numberToRoute(n, dialled);
  const res = resolveRoute(config.routes, policy, routed);
  if (!res.route) {
    return policy.pstnUsages.length ? { code: 404, reason: `no route for ${routed}` } : { code: 403, reason: "policy has no PSTN usages" };
  }
  const enabled = (names: readonly string[]): string[] =>
    [...new Set(names)].filter((g) => config.gateways.find((x) => x.fqdn === g)?.enabled === true);
  return {
    code: 200,
    usage: res.usage ?? "?",
    number: routed,
    attempts: [res.route, ...res.backups].map((r) => ({ route: r.name, gateways: enabled(r.pstnGateways) })),
  };
}

/** Gateways are tried in random order (test-route and the script alike): compare them as sets. */
function comparable(o: Outcome): unknown {
  return o.code === 200 ? { ...o, attempts: o.attempts.map((a) => ({ ...a, gateways: [...a.gateways].sort() })) } : o;
}

// ---------------------------------------------------------------------------------------------
// A configuration with a bit of everything.

const rule = (name: string, pattern: string, translation: string, priority: number) => ({
  name,
  pattern,
  translation,
  priority,
  isInternalExtension: false,
});

const DIAL_PLANS: DialPlan[] = [
  {
    identity: "Global",
    rules: [
      rule("Ten", "^(\\d{10})$", "+1$1", 1),
      rule("Eleven", "^1(\\d{10})$", "+1$1", 0),
      rule("Intl", "^011(\\d{7,15})$", "+$1", 2),
      rule("Plus", "^(\\+\\d+)$", "$1", 3),
    ],
  },
  {
    identity: "Redmond",
    rules: [
      rule("Ext", "^(\\d{4})$", "+1425555$1", 0),
      rule("Seven", "^(\\d{7})$", "+1425$1", 1),
      // Equal priorities: by name ("Tie-a" before "Tie-b"), then by position ("Dup" twice).
      rule("Tie-b", "^9(\\d+)$", "+$1", 2),
      rule("Tie-a", "^9(\\d{3,})$", "+9$1", 2),
      rule("Dup", "^8(\\d)(\\d)$", "+$2$1", 5),
      rule("Dup", "^8(\\d+)$", "+88$1", 5),
      rule("Star", "^\\*(\\d{2})#?$", "+1425555000$1", 3),
      rule("Whole", "^\\+?(1)?(\\d{3})(\\d{7})$", "+1$2$3", 4),
      // Unanchored, with "-" and "$" in the result.
      rule("Any", "(\\d{3})(\\d*)", "$2-$1$$", 9),
    ],
  },
  {
    identity: "Paris",
    rules: [
      rule("National", "^0(\\d{9})$", "+33$1", 0),
      rule("Short", "^(\\d{4})$", "+3314$1", 1),
      rule("Intl", "^00(\\d+)$", "+$1", 2),
      rule("Lazy", "^(\\d+?)(0*)$", "$1", 3),
      rule("Hash", "^#(\\d)(\\d)?#$", "+$2$1$0", 4),
    ],
  },
  { identity: "Empty", rules: [] },
];

const gw = (fqdn: string, port: number, enabled: boolean): KamailioGateway => ({
  fqdn,
  signalingHost: "127.0.0.1",
  sipSignalingPort: port,
  enabled,
  failoverTimeSeconds: 2,
  failoverResponseCodes: "408, 503, 504",
});

const GATEWAYS: KamailioGateway[] = [
  gw("gwa.contoso.com", 45061, true),
  gw("gwb.contoso.com", 45062, true),
  gw("gwc.contoso.com", 45063, false),
  gw("gwd.contoso.com", 45064, true),
  gw("gwe.contoso.com", 45065, false),
];

const route = (name: string, numberPattern: string, priority: number, pstnUsages: string[], pstnGateways: string[]): KamailioRoute => ({
  name,
  numberPattern,
  priority,
  pstnUsages,
  pstnGateways,
});

const ROUTES: KamailioRoute[] = [
  route("Emergency", "^(\\+1)?(911|933)$", 0, ["Emergency"], ["gwa.contoso.com", "gwc.contoso.com"]),
  route("Seattle", "^\\+1206", 1, ["Local"], ["gwb.contoso.com"]),
  route("Redmond", "^\\+1425\\d{7}$", 1, ["Local", "US"], ["gwa.contoso.com", "gwb.contoso.com"]),
  route("US", "^\\+1[2-9]\\d{9}$", 2, ["US"], ["gwb.contoso.com", "gwd.contoso.com"]),
  // Listed twice in one usage; all its gateways disabled.
  route("US-backup", "^\\+1\\d+$", 3, ["US", "US"], ["gwc.contoso.com"]),
  route("Dead", "^\\+99", 4, ["Intl"], ["gwc.contoso.com", "gwe.contoso.com"]),
  route("Intl-any", "^\\+\\d{7,}$", 5, ["Intl"], ["gwa.contoso.com", "gwd.contoso.com", "gwd.contoso.com"]),
  route("Intl", "^\\+[2-9]\\d{6,14}$", 5, ["Intl"], ["gwd.contoso.com"]),
  route("Short", "^\\d{3,6}$", 6, ["Local"], []),
  route("Weird", "\\s|[^\\d+*#]|x$", 7, ["Local"], ["gwb.contoso.com"]),
  route("StarHash", "^\\*\\d+#$", 8, ["Local"], ["gwa.contoso.com"]),
  route("Orphan", "^\\+", 0, [], ["gwa.contoso.com"]),
  route("Dollar", "\\$$", 9, ["Intl"], ["gwb.contoso.com"]),
  route("Dot", "^\\+1.{10}$", 10, ["US"], ["gwd.contoso.com"]),
  route("Lazy", "^(\\+44)(\\d+?)(\\d{4})$", 11, ["Intl"], ["gwa.contoso.com"]),
  route("Paris", "^\\+33[1-9]\\d{8}$", 1, ["Intl", "France"], ["gwb.contoso.com"]),
  route("Unanchored", "4420", 12, ["Intl"], ["gwd.contoso.com"]),
];

const POLICIES: VoiceRoutingPolicy[] = [
  { identity: "Global", pstnUsages: [] },
  { identity: "USPol", pstnUsages: ["Emergency", "Local", "US", "Intl"] },
  { identity: "IntlFirst", pstnUsages: ["Emergency", "Intl", "US", "Local"] },
  { identity: "Ghosty", pstnUsages: ["Ghost", "Unused"] },
  { identity: "Dups", pstnUsages: ["US", "US", "Local"] },
  { identity: "Redmond-only", pstnUsages: ["Local"] },
  { identity: "France", pstnUsages: ["France", "Emergency"] },
];

interface FixtureUser extends KamailioUser {
  /** What test-tools.service.ts decides for them, written out by hand. */
  expectDialPlan: string;
  expectPolicy: string;
}

const user = (
  name: string,
  homing: "online" | "on-premises",
  policies: { online?: string; onPrem?: string },
  tenantDialPlan: string | null,
  expectPolicy: string,
  expectDialPlan: string,
  sipAddress: string | null = `sip:${name}@contoso.com`,
  lineUri: string | null = null,
): FixtureUser => ({
  userPrincipalName: `${name}@contoso.com`,
  sipAddress,
  lineUri,
  homing,
  onPremVoiceRoutingPolicy: policies.onPrem ?? null,
  onlineVoiceRoutingPolicy: policies.online ?? null,
  tenantDialPlan,
  expectPolicy,
  expectDialPlan,
});

const USERS: FixtureUser[] = [
  user("alice", "online", { online: "USPol" }, "Redmond", "USPol", "Redmond", "sip:alice@contoso.com", "tel:+14255550101"),
  // On-premises: the on-premises policy, not the online one; no tenant dial plan → Global.
  user(
    "bob",
    "on-premises",
    { onPrem: "IntlFirst", online: "USPol" },
    null,
    "IntlFirst",
    "Global",
    "sip:bob@contoso.com",
    "tel:+14255550102;ext=102",
  ),
  // Online without an online policy → Global, whatever the on-premises one.
  user("carol", "online", { onPrem: "IntlFirst" }, "Paris", "Global", "Paris"),
  // A site-level policy is ignored → Global; "Tag:" is dropped from the dial plan.
  user("dave", "online", { online: "site:Redmond" }, "Tag:Redmond", "Global", "Redmond"),
  user("erin", "on-premises", { onPrem: "Ghosty" }, "Empty", "Ghosty", "Empty"),
  user("frank", "online", { online: "Dups" }, "  ", "Dups", "Global"),
  // Case and "tag:" do not matter in names.
  user("gina", "online", { online: "tag:uspol" }, "redmond", "USPol", "Redmond"),
  user("hank", "online", { online: "Redmond-only" }, "Paris", "Redmond-only", "Paris", "sip:hank@contoso.com", "tel:+33142000001"),
  // The same From user part as alice, in another domain, routed alike: no ambiguity.
  user("alice2", "online", { online: "USPol" }, "Redmond", "USPol", "Redmond", "sip:alice@fabrikam.com"),
  user("ines", "on-premises", { onPrem: "France" }, "Paris", "France", "Paris", null, "tel:+33142000002"),
  user("jack", "online", { online: "IntlFirst" }, "Redmond", "IntlFirst", "Redmond"),
];

const CONFIG: GenerationInput = {
  dialPlans: DIAL_PLANS,
  pstnUsages: ["Emergency", "Local", "US", "Intl", "Unused", "France"],
  routes: ROUTES,
  gateways: GATEWAYS,
  policies: POLICIES,
  users: USERS,
};

function digits(rng: Rng, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += String(rng.int(10));
  return s;
}

function dialledNumber(rng: Rng): string {
  switch (rng.int(25)) {
    case 0:
      return digits(rng, 4);
    case 1:
      return digits(rng, 7);
    case 2:
      return `${2 + rng.int(8)}${digits(rng, 9)}`;
    case 3:
      return `1${digits(rng, 10)}`;
    case 4:
      return `011${digits(rng, 7 + rng.int(10))}`;
    case 5:
      return `+1425${digits(rng, 7)}`;
    case 6:
      return `+1206${digits(rng, 7)}`;
    case 7:
      return `+1${digits(rng, 10)}`;
    case 8:
      return `+44${digits(rng, 6 + rng.int(6))}`;
    case 9:
      return `+99${digits(rng, rng.int(10))}`;
    case 10:
      return `+33${digits(rng, 9)}`;
    case 11:
      return pick(rng, ["911", "933", "+1911", "+1933", "1911", "+911"]);
    case 12:
      return `*${digits(rng, 2)}${rng.int(2) ? "#" : ""}`;
    case 13:
      return `9${digits(rng, 1 + rng.int(8))}`;
    case 14:
      return `0${digits(rng, 9)}`;
    case 15:
      return `00${digits(rng, 1 + rng.int(14))}`;
    case 16:
      return `8${digits(rng, 1 + rng.int(3))}`;
    case 17:
      return `#${digits(rng, 1 + rng.int(2))}#`;
    case 18:
      return `${digits(rng, 1 + rng.int(6))}${"0".repeat(rng.int(4))}`;
    case 19:
      return `${rng.int(2) ? "+" : ""}${digits(rng, 1 + rng.int(20))}`;
    case 20:
      return digits(rng, 20 + rng.int(45));
    case 21: {
      let s = rng.int(3) === 0 ? "+" : "";
      for (let n = 1 + rng.int(12); n > 0; n--) s += pick(rng, ["1", "2", "4", "0", "*", "#", "9"]);
      return s;
    }
    case 22:
      return `+4420${digits(rng, 8)}`;
    case 23:
      return `${digits(rng, rng.int(4))}4420${digits(rng, rng.int(4))}`;
    default:
      return digits(rng, 1 + rng.int(12));
  }
}

/** The From user parts a user can call with. */
function fromUsers(u: KamailioUser): string[] {
  const out: string[] = [];
  const sip = /^sip:([^@]+)@/.exec(u.sipAddress ?? "");
  if (sip?.[1]) out.push(sip[1]);
  const line = /^tel:\+(\d+)(;ext=\d+)?$/.exec(u.lineUri ?? "");
  if (line?.[1]) out.push(`+${line[1]}${line[2] ?? ""}`, `${line[1]}${line[2] ?? ""}`);
  return out;
}

// ---------------------------------------------------------------------------------------------

describe("compileGeneration: the rows", () => {
  const gen = compileGeneration(CONFIG, 1);
  const base = SLOT_DPID_BASE;

  it("publishes the configuration without refusals", () => {
    expect(gen.refusals).toEqual([]);
    expect(gen.slot).toBe(1);
  });

  it("names every index", () => {
    expect(gen.names.dialPlans).toEqual(["Global", "Redmond", "Paris", "Empty"]);
    expect(gen.names.usages).toEqual(["Emergency", "Local", "US", "Intl", "Unused", "France", "Ghost"]);
    expect(gen.names.routes).toEqual(ROUTES.map((r) => r.name));
    expect(gen.names.gateways).toEqual(GATEWAYS.map((g) => g.fqdn));
    expect(gen.names.policies).toEqual(POLICIES.map((p) => p.identity));
  });

  it("writes a dial plan's rules in tried order: priority, then name, then position", () => {
    const redmond = gen.dialplan.filter((r) => r.dpid === base + 1);
    expect(redmond.map((r) => [r.pr, r.attrs])).toEqual([
      [0, "Ext"],
      [1, "Seven"],
      [2, "Tie-a"],
      [3, "Tie-b"],
      [4, "Star"],
      [5, "Whole"],
      [6, "Dup"],
      [7, "Dup"],
      [8, "Any"],
    ]);
    expect(redmond[0]).toEqual({
      dpid: base + 1,
      pr: 0,
      matchExp: "^(\\d{4})\\z",
      substExp: "^(\\d{4})\\z",
      replExp: "+1425555\\1",
      attrs: "Ext",
    });
    expect(redmond[6]?.replExp).toBe("+\\2\\1");
    expect(redmond[8]?.replExp).toBe("\\2-\\1\\$");
    expect(gen.dialplan.filter((r) => r.dpid === base + 3)).toEqual([]);
  });

  it("writes a usage's routes in tried order, with placeholders and the route index as attrs", () => {
    const us = gen.dialplan.filter((r) => r.dpid === base + USAGE_DPID_OFFSET + 2);
    expect(us.map((r) => gen.names.routes[Number(r.attrs)])).toEqual(["Redmond", "US", "US-backup", "Dot"]);
    expect(us.map((r) => r.pr)).toEqual([0, 1, 2, 3]);
    expect(us.every((r) => r.substExp === "^" && r.replExp === "r")).toBe(true);
    const local = gen.dialplan.filter((r) => r.dpid === base + USAGE_DPID_OFFSET + 1).map((r) => gen.names.routes[Number(r.attrs)]);
    expect(local).toEqual(["Redmond", "Seattle", "Short", "Weird", "StarHash"]);
    const byKey = new Map(gen.routing.map((r) => [r.key, r.value]));
    expect(byKey.get("1:ur:2")).toBe(us.map((r) => r.attrs).join(","));
  });

  it("writes one backup row per route that some usage lists", () => {
    const routeRows = gen.dialplan.filter((r) => r.dpid >= base + ROUTE_DPID_OFFSET);
    expect(routeRows.map((r) => r.dpid - base - ROUTE_DPID_OFFSET)).toEqual(ROUTES.flatMap((r, i) => (r.pstnUsages.length ? [i] : [])));
    expect(routeRows.find((r) => r.attrs === "3")).toMatchObject({ pr: 0, matchExp: "^\\+1[2-9]\\d{9}\\z", substExp: "^", replExp: "r" });
  });

  it("writes policies, gateways and caller ID into cp", () => {
    const byKey = new Map(gen.routing.map((r) => [r.key, r.value]));
    expect(gen.routing.every((r) => r.key.startsWith("1:"))).toBe(true);
    expect(byKey.get("1:p:0")).toBe("none"); // Global, no usages: 403
    expect(byKey.get("1:p:1")).toBe("0,1,2,3");
    expect(byKey.get("1:p:2")).toBe("0,3,2,1");
    expect(byKey.get("1:p:3")).toBe("6"); // no usage has routes: keeps the first, so 404 as test-route
    expect(byKey.get("1:p:4")).toBe("2,1"); // "US" once
    expect(byKey.get("1:p:6")).toBe("5,0");
    expect(byKey.get("1:r:2")).toBe("0,1");
    expect(byKey.get("1:r:4")).toBe("none"); // all gateways disabled
    expect(byKey.get("1:r:6")).toBe("0,3"); // gwd once
    expect(byKey.get("1:r:8")).toBe("none"); // no gateways
    expect(byKey.has("1:r:11")).toBe(false); // Orphan: no usage
    expect(byKey.get("1:g:0")).toBe("hp=127.0.0.1:45061;fr=2000;codes=408|503|504");
    expect(byKey.has("1:g:2")).toBe(false); // disabled
    expect(byKey.get("1:rc:0")).toBe("none");
  });

  it("finds users by SIP user part and line number, with and without +", () => {
    const byKey = new Map(gen.users.map((r) => [r.key, r.value]));
    expect(byKey.get("alice")).toBe("dp=1;pol=1");
    expect(byKey.get("+14255550101")).toBe("dp=1;pol=1");
    expect(byKey.get("14255550101")).toBe("dp=1;pol=1");
    expect(byKey.get("bob")).toBe("dp=0;pol=2");
    expect(byKey.get("+14255550102;ext=102")).toBe("dp=0;pol=2");
    expect(byKey.has("+14255550102")).toBe(false);
    expect(byKey.get("dave")).toBe("dp=1;pol=0");
    expect(byKey.get("erin")).toBe("dp=3;pol=3");
    expect(byKey.get("+33142000002")).toBe("dp=2;pol=6");
    expect(gen.users.filter((r) => r.key === "alice")).toHaveLength(1);
  });

  it("uses slot 0's dpids and keys for slot 0", () => {
    const zero = compileGeneration(CONFIG, 0);
    expect(zero.dialplan.map((r) => r.dpid + SLOT_DPID_BASE)).toEqual(gen.dialplan.map((r) => r.dpid));
    expect(zero.routing.map((r) => `1${r.key.slice(1)}`)).toEqual(gen.routing.map((r) => r.key));
    expect(zero.users).toEqual(gen.users);
  });

  it("gives Global an index when the store has not created it yet", () => {
    const g = compileGeneration(
      { ...CONFIG, dialPlans: DIAL_PLANS.slice(1), policies: POLICIES.slice(1), users: [USERS[2] as KamailioUser] },
      0,
    );
    expect(g.refusals).toEqual([]);
    expect(g.names.dialPlans.at(-1)).toBe("Global");
    expect(g.names.policies.at(-1)).toBe("Global");
    expect(g.users[0]).toEqual({ key: "carol", value: `dp=1;pol=${POLICIES.length - 1}` });
    expect(g.routing.find((r) => r.key === `0:p:${POLICIES.length - 1}`)?.value).toBe("none");
  });
});

describe("compileGeneration: what it refuses", () => {
  const refusalsOf = (patch: Partial<GenerationInput>): Generation["refusals"] => compileGeneration({ ...CONFIG, ...patch }, 0).refusals;
  const withRoute = (r: Partial<KamailioRoute>): Generation["refusals"] =>
    refusalsOf({ routes: [...ROUTES, { ...route("New", "^\\+7", 0, ["Intl"], ["gwa.contoso.com"]), ...r }] });
  const withRule = (pattern: string, translation: string, name = "New"): Generation["refusals"] =>
    refusalsOf({ dialPlans: [...DIAL_PLANS, { identity: "Extra", rules: [rule(name, pattern, translation, 0)] }] });

  it.each<[string, () => Generation["refusals"], RegExp]>([
    [
      "a route pattern PCRE cannot hold",
      () => withRoute({ numberPattern: "(\\d+)+$" }),
      /number pattern cannot be written for Kamailio: .*several ways/,
    ],
    ["a route pattern with non-ASCII", () => withRoute({ numberPattern: "^\\+٣" }), /non-ASCII character U\+0663/],
    [
      "a route pattern pattern.ts rejects, even without usages",
      () => withRoute({ numberPattern: "(a*)*", pstnUsages: [] }),
      /can match an empty string.*test-route fails for every call/,
    ],
    ["a route priority that is not a number", () => withRoute({ priority: Number.NaN }), /priority NaN is not a number/],
    [
      "a gateway that does not exist",
      () => withRoute({ pstnGateways: ["nope.contoso.com"] }),
      /names PSTN gateway "nope.contoso.com", which does not exist/,
    ],
    ["SuppressCallerId without AlternateCallerId", () => withRoute({ suppressCallerId: true }), /without an AlternateCallerId/],
    [
      "an AlternateCallerId with an extension",
      () => withRoute({ suppressCallerId: true, alternateCallerId: "+14255550100;ext=1" }),
      /has an extension/,
    ],
    [
      "an AlternateCallerId that is no number",
      () => withRoute({ suppressCallerId: true, alternateCallerId: "abc" }),
      /is not a phone number/,
    ],
    ["a rule pattern PCRE cannot hold", () => withRule("^(\\d{1,3})+$", "+$1"), /Its pattern cannot be written for Kamailio/],
    ["a rule pattern pattern.ts rejects", () => withRule("^(?=1)", "+"), /lookahead.*every user of the dial plan/],
    [
      "a rule with more than 10 groups",
      () => withRule(`^${"(\\d)".repeat(11)}$`, "+$1"),
      /11 capturing groups; Kamailio's dialplan loads at most 10/,
    ],
    ["a translation to group 10", () => withRule(`^${"(\\d)".repeat(10)}$`, "+$10"), /uses group 10/],
    ["a translation with 10 escapes", () => withRule("^(\\d)$", "$1".repeat(10)), /needs 10 escapes/],
    ["a translation that may pass 126 characters", () => withRule("^(\\d+)$", "+1$1$1"), /can produce 130 characters/],
    ["an empty translation", () => withRule("^(\\d+)$", ""), /is empty/],
    ["a translation with a space", () => withRule("^(\\d+)$", "+1 $1"), /adds U\+0020/],
    ["a translation compileTranslation rejects", () => withRule("^(\\d+)$", "+$2"), /refers to group 2/],
    ["a rule name of 255 bytes", () => withRule("^(\\d+)$", "+$1", "é".repeat(128)), /255 bytes or longer/],
  ])("%s", (_what, refusals, reason) => {
    const r = refusals();
    expect(r).toHaveLength(1);
    expect(r[0]?.reason).toMatch(reason);
  });

  it("names the route or rule refused", () => {
    expect(withRoute({ numberPattern: "(\\d+)+$" })[0]).toMatchObject({ kind: "route", name: "New" });
    expect(withRule("^(\\d{1,3})+$", "+$1")[0]).toMatchObject({ kind: "rule", name: "Extra/New" });
  });

  it("refuses a translation that can give an empty number only when a route matches the empty string", () => {
    expect(withRule("^(\\d*)#$", "$1")).toEqual([]);
    const r = refusalsOf({
      dialPlans: [...DIAL_PLANS, { identity: "Extra", rules: [rule("Hash", "^(\\d*)#$", "$1", 0)] }],
      routes: [...ROUTES, route("Empty", "^$", 0, ["Intl"], ["gwa.contoso.com"])],
    });
    expect(r).toEqual([
      { kind: "rule", name: "Extra/Hash", reason: expect.stringMatching(/can give an empty number, which route "Empty" matches/) },
    ]);
  });

  it("does not refuse a route whose gateways are all disabled, nor one with no usages", () => {
    expect(withRoute({ pstnGateways: ["gwc.contoso.com"] })).toEqual([]);
    expect(withRoute({ pstnUsages: [], numberPattern: "(\\d+)+" })).toEqual([]);
  });

  it.each<[string, Partial<KamailioGateway>, RegExp]>([
    ["host", { signalingHost: "sbc;evil" }, /signalling address "sbc;evil"/],
    ["port", { sipSignalingPort: 0 }, /port 0 is not a port/],
    ["failover time", { failoverTimeSeconds: 0.5 }, /failover time 0.5 s/],
    ["codes", { failoverResponseCodes: "408, 5o3" }, /failover response codes "408, 5o3"/],
  ])("refuses an enabled gateway's bad %s, and ignores it on a disabled gateway", (_what, patch, reason) => {
    const patched = (i: number): KamailioGateway[] => GATEWAYS.map((g, j) => (j === i ? { ...g, ...patch } : g));
    expect(refusalsOf({ gateways: patched(0) })).toEqual([
      { kind: "gateway", name: "gwa.contoso.com", reason: expect.stringMatching(reason) },
    ]);
    expect(refusalsOf({ gateways: patched(2) })).toEqual([]);
  });

  it("accepts an IPv6 signalling address and spaces in the codes", () => {
    const gen = compileGeneration(
      {
        ...CONFIG,
        gateways: GATEWAYS.map((g, j) => (j === 0 ? { ...g, signalingHost: "[2001:db8::1]", failoverResponseCodes: " 503 ,408" } : g)),
      },
      0,
    );
    expect(gen.refusals).toEqual([]);
    expect(gen.routing.find((r) => r.key === "0:g:0")?.value).toBe("hp=[2001:db8::1]:45061;fr=2000;codes=503|408");
  });

  it("refuses users test-route cannot route, and callers Kamailio cannot tell apart", () => {
    const extra = (u: Partial<KamailioUser>): KamailioUser => ({ ...(USERS[0] as KamailioUser), sipAddress: null, lineUri: null, ...u });
    const r = refusalsOf({
      users: [
        ...USERS,
        extra({ userPrincipalName: "p@x", onlineVoiceRoutingPolicy: "Nope" }),
        extra({ userPrincipalName: "q@x", onlineVoiceRoutingPolicy: "a/b" }),
        extra({ userPrincipalName: "r@x", tenantDialPlan: "Nope" }),
        extra({ userPrincipalName: "s@x", sipAddress: "sip:nouser" }),
        extra({ userPrincipalName: "t@x", lineUri: "tel:4255550100" }),
        // alice's number, with another policy.
        extra({ userPrincipalName: "u@x", lineUri: "tel:+14255550101", onlineVoiceRoutingPolicy: "IntlFirst" }),
      ],
    });
    expect(r.map((x) => [x.kind, x.name])).toEqual([
      ["user", "p@x"],
      ["user", "q@x"],
      ["user", "r@x"],
      ["user", "s@x"],
      ["user", "t@x"],
      ["user", "alice@contoso.com"],
      ["user", "u@x"],
    ]);
    expect(r[0]?.reason).toMatch(/policy "Nope" does not exist/);
    expect(r[1]?.reason).toMatch(/is not a valid name/);
    expect(r[2]?.reason).toMatch(/tenant dial plan "Nope" does not exist/);
    expect(r[3]?.reason).toMatch(/has no user part/);
    expect(r[4]?.reason).toMatch(/is not tel:\+E164/);
    expect(r[5]?.reason).toMatch(/Calls from "\+14255550101", "14255550101" are ambiguous: "u@x" has the same From user part/);
  });

  it("lets users without a SIP address or line URI go unpublished, without a refusal", () => {
    const gen = compileGeneration({ ...CONFIG, users: [{ ...(USERS[0] as KamailioUser), sipAddress: null, lineUri: null }] }, 0);
    expect(gen.refusals).toEqual([]);
    expect(gen.users).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------

/** libpcre.so.3 (Kamailio's engine): match and groups (at most 10, as dialplan reads them) per case, as strings. */
function libpcreGroups(cases: readonly { pcre: string; subject: string }[]): (string[] | null | string)[] | null {
  const answers = runPcre(cases);
  if (answers === null) return null;
  return answers.map((a, i) => {
    if (a === null) return null;
    if ("compileError" in a) return "compile error";
    if ("execError" in a) return `exec error ${a.execError}`;
    const subject = cases[i]?.subject ?? "";
    return a.groups.slice(0, 11).map(([st, en]) => (st >= 0 && en >= 0 ? subject.slice(st, en) : ""));
  });
}

describe("differential: the script over the generation against normalize() + resolveRoute()", () => {
  const gen = compileGeneration(CONFIG, 1);
  const sources = [...DIAL_PLANS.flatMap((d) => d.rules.map((r) => r.pattern)), ...ROUTES.map((r) => r.numberPattern)];
  const script = new KamailioScript(gen, sources);
  const planOf = (name: string): DialPlan => DIAL_PLANS.find((d) => d.identity === name) as DialPlan;
  const policyOf = (name: string): VoiceRoutingPolicy => POLICIES.find((p) => p.identity === name) as VoiceRoutingPolicy;
  const counts = {
    pairs: 0,
    routed: 0,
    noRoute: 0,
    noUsages: 0,
    normalized: 0,
    asDialled: 0,
    withBackups: 0,
    firstRouteUnusable: 0,
    disagreements: 0,
  };
  const routesChosen = new Set<string>();
  const routesTried = new Set<string>();
  const rulesUsed = new Set<string>();

  it("routes 6,000 (user, number) pairs exactly as voice test-route does", () => {
    expect(gen.refusals).toEqual([]);
    const rng = seededRng("kamailio-differential");
    for (let n = 0; n < 6000; n++) {
      const u = USERS[rng.int(USERS.length)] as FixtureUser;
      const from = pick(rng, fromUsers(u));
      const dialled = dialledNumber(rng);
      const got = script.call(from, dialled);
      const want = testRoute(CONFIG, planOf(u.expectDialPlan), policyOf(u.expectPolicy), dialled);
      counts.pairs++;
      if (JSON.stringify(comparable(got)) !== JSON.stringify(comparable(want))) {
        counts.disagreements++;
        expect(comparable(got), `${u.userPrincipalName} as "${from}" dials ${dialled}`).toEqual(comparable(want));
      }
      const rule = normalize(planOf(u.expectDialPlan), dialled).rule;
      if (rule) {
        counts.normalized++;
        rulesUsed.add(`${u.expectDialPlan}/${rule.name}`);
      } else counts.asDialled++;
      if (got.code === 200) {
        counts.routed++;
        routesChosen.add(got.attempts[0]?.route ?? "");
        for (const a of got.attempts) routesTried.add(a.route);
        if (got.attempts.length > 1) counts.withBackups++;
        if (got.attempts[0]?.gateways.length === 0) counts.firstRouteUnusable++;
      } else if (got.code === 404) counts.noRoute++;
      else if (got.code === 403) counts.noUsages++;
    }
    expect(counts.disagreements).toBe(0);
    // The pairs reach every kind of outcome, rule and route.
    expect(counts.routed).toBeGreaterThan(2000);
    expect(counts.noRoute).toBeGreaterThan(300);
    expect(counts.noUsages).toBeGreaterThan(300);
    expect(counts.withBackups).toBeGreaterThan(300);
    expect(counts.firstRouteUnusable).toBeGreaterThan(50);
    expect(counts.asDialled).toBeGreaterThan(500);
    expect(rulesUsed.size).toBe(DIAL_PLANS.flatMap((d) => d.rules).length - 1); // one "Dup" is always outranked by the other
    expect([...routesChosen]).toEqual(
      expect.arrayContaining([
        "Emergency",
        "Redmond",
        "Seattle",
        "US",
        "US-backup",
        "Dead",
        "Intl-any",
        "Paris",
        "Short",
        "Weird",
        "StarHash",
        "Dollar",
        "Unanchored",
      ]),
    );
    // Every route some usage lists is tried, first or as a backup.
    expect([...routesTried].sort()).toEqual(
      ROUTES.filter((r) => r.pstnUsages.length)
        .map((r) => r.name)
        .sort(),
    );
  });

  it("tries backups in the usage's order, and reads odd characters alike", () => {
    expect(script.call("alice", "+14255550123")).toEqual({
      code: 200,
      usage: "Local",
      number: "+14255550123",
      attempts: [{ route: "Redmond", gateways: ["gwa.contoso.com", "gwb.contoso.com"] }],
    });
    // Emergency first, its disabled gateway left out; the later usages are never tried. (For alice, "911"
    // is "+11": her dial plan's "Tie-b" rule takes it.)
    expect(script.call("bob", "911")).toEqual({
      code: 200,
      usage: "Emergency",
      number: "911",
      attempts: [{ route: "Emergency", gateways: ["gwa.contoso.com"] }],
    });
    expect(script.call("frank", "+14255550123")).toMatchObject({
      usage: "US",
      attempts: [{ route: "Redmond" }, { route: "US" }, { route: "US-backup", gateways: [] }, { route: "Dot" }],
    });
    // "Any" makes numbers with "-" and "$": "Weird" and "Dollar" see them.
    expect(script.call("alice", "12345")).toMatchObject({ code: 200, number: "45-123$", attempts: [{ route: "Weird" }] });
    expect(script.call("bob", "84")).toMatchObject({ code: 404 });
    expect(script.call("mallory", "1234")).toEqual({ code: 403, reason: "unknown caller mallory" });
    expect(script.call("alice", "12a4")).toMatchObject({ code: 484 });
  });

  itWithLibpcre("evaluated every row as libpcre.so.3 (Kamailio's engine) does", () => {
    const cases: { pcre: string; subject: string; want: string[] | null }[] = [];
    for (const [pcre, bySubject] of script.evaluated) for (const [subject, want] of bySubject) cases.push({ pcre, subject, want });
    expect(cases.length).toBeGreaterThan(5000);
    const answers = libpcreGroups(cases);
    expect(answers).not.toBeNull();
    cases.forEach((c, i) => {
      const got = answers?.[i] ?? null;
      expect(got, `${c.pcre} on ${c.subject}`).toEqual(c.want === null ? null : c.want.slice(0, 11));
    });
  });
});
