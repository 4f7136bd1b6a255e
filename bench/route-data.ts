// Deterministic voice-routing data for bench:route: PSTN usages, voice
// routes with the kinds of patterns administrators write, voice routing policies, a dial plan,
// and dialled numbers in the forms users dial them (and some junk).
import { pick, type Rng, seededRng } from "../src/core/random.ts";
import type { DialPlan, NormalizationRule, VoiceRoute, VoiceRoutingPolicy } from "../src/voice/routing.ts";

export interface RouteBenchData {
  usages: string[];
  routes: VoiceRoute[];
  policies: VoiceRoutingPolicy[];
  dialPlan: DialPlan;
}

/** Country code, digits after it in a national significant number (min, max), usage region. */
const COUNTRIES: [string, number, number][] = [
  ["44", 10, 10],
  ["49", 6, 11],
  ["33", 9, 9],
  ["31", 9, 9],
  ["32", 8, 9],
  ["34", 9, 9],
  ["39", 6, 11],
  ["41", 9, 9],
  ["43", 4, 13],
  ["45", 8, 8],
  ["46", 7, 9],
  ["47", 8, 8],
  ["48", 9, 9],
  ["353", 7, 9],
  ["351", 9, 9],
  ["358", 5, 12],
  ["61", 9, 9],
  ["64", 8, 10],
  ["65", 8, 8],
  ["81", 9, 10],
  ["82", 8, 10],
  ["86", 10, 11],
  ["91", 10, 10],
  ["52", 10, 10],
  ["55", 10, 11],
  ["27", 9, 9],
  ["971", 8, 9],
  ["972", 8, 9],
];

const AREA_CODES = [
  "206",
  "212",
  "213",
  "303",
  "305",
  "310",
  "312",
  "360",
  "404",
  "415",
  "425",
  "469",
  "503",
  "512",
  "602",
  "617",
  "646",
  "702",
  "713",
  "718",
  "206",
  "773",
  "786",
  "801",
  "818",
  "858",
  "917",
  "972",
  "509",
  "253",
];
const CA_AREA_CODES = ["416", "647", "514", "604", "778", "403", "613", "905"];
const TOLL_FREE = ["800", "888", "877", "866", "855", "844", "833"];

function digits(rng: Rng, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += String(rng.int(10));
  return s;
}

function some<T>(rng: Rng, items: readonly T[], min: number, max: number): T[] {
  const n = min + rng.int(max - min + 1);
  const out = new Set<T>();
  while (out.size < Math.min(n, items.length)) out.add(pick(rng, items));
  return [...out];
}

/** A route pattern of one of the shapes seen in real deployments. */
function routePattern(rng: Rng): string {
  const kind = rng.int(100);
  if (kind < 22) {
    // E.164 country prefix, fixed or ranged length.
    const [cc, min, max] = pick(rng, COUNTRIES);
    return min === max ? `^\\+${cc}\\d{${min}}$` : `^\\+${cc}\\d{${min},${max}}$`;
  }
  if (kind < 42) {
    // North American area codes.
    const codes = some(rng, AREA_CODES, 1, 4);
    return codes.length === 1 ? `^\\+1${codes[0]}[2-9]\\d{6}$` : `^\\+1(${codes.join("|")})[2-9]\\d{6}$`;
  }
  if (kind < 52) {
    // An exchange, with or without an extension.
    const ac = pick(rng, AREA_CODES);
    const ex = `${2 + rng.int(8)}${digits(rng, 2)}`;
    return rng.int(2) === 0 ? `^\\+1${ac}${ex}\\d{4}(;ext=\\d+)?$` : `^\\+1${ac}${ex}\\d{4}$`;
  }
  if (kind < 60) {
    // A national destination code inside a country, with character classes.
    const [cc, min] = pick(rng, COUNTRIES);
    const first = 1 + rng.int(8);
    return `^\\+${cc}[${first}-${Math.min(9, first + 1 + rng.int(3))}]\\d{${Math.max(3, min - 1)}}$`;
  }
  if (kind < 66) {
    // UK geographic with alternation of area codes.
    return `^\\+44(20|1[1-9]\\d|2[3-9])\\d{${6 + rng.int(2)},8}$`;
  }
  if (kind < 72) {
    const codes = some(rng, TOLL_FREE, 1, 4);
    return `^\\+1(${codes.join("|")})\\d{7}$`;
  }
  if (kind < 76) {
    const codes = some(rng, CA_AREA_CODES, 1, 3);
    return `^\\+1(${codes.join("|")})[2-9]\\d{6}$`;
  }
  if (kind < 79) return pick(rng, ["^\\+1[2-9]\\d{2}[2-9]\\d{6}$", "^\\+1\\d{10}$", "^\\+[2-9]\\d{7,14}$", "^\\+\\d+$"]);
  if (kind < 82) return pick(rng, ["^(911|933)$", "^\\+1911$", "^(112|999)$", "^\\*\\d{2}$", "^#\\d{3,6}$"]);
  if (kind < 85) return pick(rng, ["^\\+1900\\d{7}$", "^\\+1976\\d{7}$", "^\\+44(9|87)\\d{8,9}$"]);
  if (kind < 90) {
    // Unanchored, as New-CsVoiceRoute's default `[0-9]{10}` is.
    return pick(rng, ["[0-9]{10}", "\\d{7}$", "^\\+?1?\\d{10}", "555\\d{4}", "^\\+1425", "\\+44"]);
  }
  if (kind < 95) {
    // A block of direct-inward numbers.
    const ac = pick(rng, AREA_CODES);
    const block = `${2 + rng.int(8)}${digits(rng, 3)}`;
    return `^\\+1${ac}${block}[0-${1 + rng.int(9)}]\\d{2}$`;
  }
  const [cc] = pick(rng, COUNTRIES);
  return `^\\+${cc}(${digits(rng, 2)}|${digits(rng, 2)})\\d{5,9}(;ext=\\d{1,5})?$`;
}

export function generateRouteData(seed: string | number = "bench-route"): RouteBenchData {
  const rng = seededRng(seed);
  const regions = ["US", "CA", "UK", "EU", "APAC", "LATAM", "MEA", "Intl", "Local", "TollFree", "Emergency", "Premium"];
  const usages = Array.from({ length: 200 }, (_, i) => `${regions[i % regions.length]}-${Math.floor(i / regions.length)}`);
  const gateways = Array.from({ length: 40 }, (_, i) => `sbc${i + 1}.pstn.contoso.com`);
  const routes: VoiceRoute[] = Array.from({ length: 5000 }, (_, i) => ({
    name: `route-${String(i).padStart(4, "0")}`,
    numberPattern: routePattern(rng),
    // Mostly unique priorities, with some ties to exercise the name tie-break.
    priority: rng.int(4000),
    pstnUsages: some(rng, usages, 1, 3),
    pstnGateways: some(rng, gateways, 1, 3),
  }));
  const policies: VoiceRoutingPolicy[] = Array.from({ length: 50 }, (_, i) => ({
    identity: `tag:policy-${i}`,
    pstnUsages: some(rng, usages, 2, 6),
  }));
  const rules: [string, string][] = [
    ["^(\\d{4})$", "+1425555$1"],
    ["^(\\d{5})$", "+142555$1"],
    ["^(\\d{7})$", "+1425$1"],
    ["^(\\d{10})$", "+1$1"],
    ["^1(\\d{10})$", "+1$1"],
    ["^011(\\d{7,15})$", "+$1"],
    ["^\\+(\\d+)$", "+$1"],
    ["^\\+?1?(425)(\\d{7});ext=(\\d+)$", "+1$1$2;ext=$3"],
    ["^(911|933)$", "$1"],
    ["^9(\\d{10})$", "+1$1"],
    ["^9011(\\d+)$", "+$1"],
    ["^00(\\d+)$", "+$1"],
    ["^0(\\d{10})$", "+44$1"],
    ["^\\*(\\d{2})$", "*$1"],
    ["^(\\d{3})-(\\d{3})-(\\d{4})$", "+1$1$2$3"],
    ["^\\((\\d{3})\\) ?(\\d{3})-(\\d{4})$", "+1$1$2$3"],
    ["^(\\d{3})\\.(\\d{3})\\.(\\d{4})$", "+1$1$2$3"],
    ["^\\+1 ?(\\d{3}) ?(\\d{3}) ?(\\d{4})$", "+1$1$2$3"],
    ["^(?:tel:)?(\\+\\d{8,15})$", "$1"],
    ["^#(\\d{3,6})$", "#$1"],
    ["(\\d{6,})$", "+$1"],
  ];
  const dialPlan: DialPlan = {
    identity: "tag:bench-dialplan",
    rules: rules.map(
      ([pattern, translation], i): NormalizationRule => ({
        name: `rule-${String(i).padStart(2, "0")}`,
        pattern,
        translation,
        priority: i,
        isInternalExtension: i < 2,
      }),
    ),
  };
  return { usages, routes, policies, dialPlan };
}

/** One dialled string, as users type them: extensions, local, national, international, formatted, junk. */
export function dialledNumber(rng: Rng): string {
  const kind = rng.int(100);
  const nanp = (): string => `${pick(rng, rng.int(5) === 0 ? CA_AREA_CODES : AREA_CODES)}${2 + rng.int(8)}${digits(rng, 6)}`;
  if (kind < 14) return digits(rng, 4);
  if (kind < 18) return digits(rng, 5);
  if (kind < 26) return `${2 + rng.int(8)}${digits(rng, 6)}`;
  if (kind < 38) return nanp();
  if (kind < 46) return `1${nanp()}`;
  if (kind < 58) return `+1${nanp()}`;
  if (kind < 70) {
    const [cc, min, max] = pick(rng, COUNTRIES);
    return `+${cc}${1 + rng.int(9)}${digits(rng, min - 1 + rng.int(max - min + 1))}`;
  }
  if (kind < 74) {
    const [cc, min] = pick(rng, COUNTRIES);
    return `011${cc}${digits(rng, min)}`;
  }
  if (kind < 78) {
    const [cc, min] = pick(rng, COUNTRIES);
    return `00${cc}${digits(rng, min)}`;
  }
  if (kind < 80) return `9${nanp()}`;
  if (kind < 83) {
    const n = nanp();
    return pick(rng, [
      `${n.slice(0, 3)}-${n.slice(3, 6)}-${n.slice(6)}`,
      `(${n.slice(0, 3)}) ${n.slice(3, 6)}-${n.slice(6)}`,
      `${n.slice(0, 3)}.${n.slice(3, 6)}.${n.slice(6)}`,
      `+1 ${n.slice(0, 3)} ${n.slice(3, 6)} ${n.slice(6)}`,
    ]);
  }
  if (kind < 86) return `+1425${2 + rng.int(8)}${digits(rng, 6)};ext=${digits(rng, 1 + rng.int(5))}`;
  if (kind < 88) return pick(rng, ["911", "933", "112", "999", "+1911"]);
  if (kind < 90) return rng.int(2) === 0 ? `*${digits(rng, 2)}` : `#${digits(rng, 3 + rng.int(4))}`;
  if (kind < 92) return `+1${pick(rng, TOLL_FREE)}${digits(rng, 7)}`;
  if (kind < 93) return `tel:+${digits(rng, 11)}`;
  if (kind < 94) return `0${digits(rng, 10)}`;
  // Junk: letters, stray symbols, empty, too long, non-ASCII.
  const junk = "0123456789+*#;=-() .abcxyzé٣\u00a0";
  const n = rng.int(6) === 0 ? 40 + rng.int(60) : rng.int(16);
  let s = "";
  for (let i = 0; i < n; i++) s += junk[rng.int(junk.length)];
  return s;
}
