// npm run bench:route — dial-plan normalization and voice-route resolution for 1,000,000 dialled
// numbers on the fast path (one lazy DFA over all rule patterns, one over all route patterns,
// decisions cached per policy), checked number by number against the plain reference resolver
// (ordered JavaScript RegExps, the documented semantics) run in the same process. Single thread.
// Figures vary between runs on a shared machine; the ratio and the mismatch count are what to read.
import os from "node:os";
import { seededRng } from "../src/core/random.ts";
import {
  DialPlanIndex,
  type NormalizationResult,
  numberToRoute,
  ReferenceResolver,
  type RouteDecision,
  RouteIndex,
  type VoiceRoutingPolicy,
} from "../src/voice/routing.ts";
import { dialledNumber, generateRouteData } from "./route-data.ts";

const COUNT = Number(process.env.BENCH_NUMBERS ?? 1_000_000);
/** The reference runs on every number if that is projected to take at most this long. */
const REFERENCE_BUDGET_S = Number(process.env.BENCH_REFERENCE_BUDGET_S ?? 180);
const MIN_SAMPLE = 100_000;
const TARGET = 500_000;

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const fmt = (n: number, digits = 1) => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const rssMb = () => process.resourceUsage().maxRSS / 1024;
/** CPU time of this process (user + system, all threads: GC helpers included) since `from`. */
const cpuSeconds = (from: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1e6;
};

interface Outcome {
  number: string | null;
  rule: NormalizationResult["rule"];
  decision: RouteDecision;
}

/** What differs between two outcomes, or null. Routes, rules and gateway lists are compared by identity. */
function difference(fast: Outcome, ref: Outcome): string | null {
  if (fast.number !== ref.number) return `normalized number ${fast.number} vs ${ref.number}`;
  if (fast.rule !== ref.rule) return `rule ${fast.rule?.name} vs ${ref.rule?.name}`;
  const a = fast.decision;
  const b = ref.decision;
  if (a.usage !== b.usage) return `usage ${a.usage} vs ${b.usage}`;
  if (a.route !== b.route) return `route ${a.route?.name} vs ${b.route?.name}`;
  if (a.gateways !== b.gateways) return "gateways";
  if (a.backups.length !== b.backups.length || a.backups.some((r, i) => r !== b.backups[i])) {
    return `backups ${a.backups.map((r) => r.name).join(",")} vs ${b.backups.map((r) => r.name).join(",")}`;
  }
  return null;
}

function main(): void {
  console.log(
    `Callplane bench:route — ${os.cpus()[0]?.model ?? "unknown CPU"}, ${os.cpus().length} cores (one used), Node ${process.version}, ` +
      `load average ${os.loadavg()[0]?.toFixed(2)} at start`,
  );

  let t = performance.now();
  const data = generateRouteData("bench-route");
  const rng = seededRng("bench-route-numbers");
  const dialled: string[] = new Array(COUNT);
  const policyOf = new Int32Array(COUNT);
  for (let i = 0; i < COUNT; i++) {
    dialled[i] = dialledNumber(rng);
    policyOf[i] = rng.int(data.policies.length);
  }
  const policies: VoiceRoutingPolicy[] = data.policies;
  console.log(
    `data       ${int(data.routes.length)} routes across ${int(data.usages.length)} PSTN usages, ${int(policies.length)} voice routing policies, ` +
      `a dial plan of ${data.dialPlan.rules.length} normalization rules, ${int(COUNT)} dialled numbers (seeded; generated in ${fmt((performance.now() - t) / 1000, 2)} s)`,
  );

  t = performance.now();
  const dialPlanIndex = new DialPlanIndex(data.dialPlan);
  const routeIndex = new RouteIndex(data.routes);
  const setupMs = performance.now() - t;
  t = performance.now();
  const reference = new ReferenceResolver(data.routes, data.dialPlan);
  const referenceSetupMs = performance.now() - t;
  console.log(
    `setup      fast path ${fmt(setupMs, 0)} ms (validate and compile ${int(data.routes.length + data.dialPlan.rules.length)} patterns, ` +
      `${int(routeIndex.patternCount)} distinct route patterns); reference ${fmt(referenceSetupMs, 0)} ms (RegExp objects)`,
  );

  // Fast path, first pass: every number normalized then routed, on cold caches. It keeps the rule
  // and the decision of each number (shared objects, nothing new to retain); the normalized
  // numbers, new strings, are kept by the second pass, so that holding a million of them for the
  // check does not weigh on the figure.
  const fastRule: NormalizationResult["rule"][] = new Array(COUNT);
  const fastDecision: RouteDecision[] = new Array(COUNT);
  t = performance.now();
  let cpu = process.cpuUsage();
  for (let i = 0; i < COUNT; i++) {
    const d = dialled[i] as string;
    const n = dialPlanIndex.normalize(d);
    fastRule[i] = n.rule;
    fastDecision[i] = routeIndex.resolve(policies[policyOf[i] ?? 0] as VoiceRoutingPolicy, numberToRoute(n, d));
  }
  const fastMs = performance.now() - t;
  const fastRate = COUNT / (fastMs / 1000);
  const fastCpuRate = COUNT / cpuSeconds(cpu);
  const states = routeIndex.stateCount;

  // Second pass over the same numbers, caches warm: it must decide exactly as the first (a
  // normalized number is a function of the rule and the dialled string, so checking its rule checks it).
  const fastNumber: (string | null)[] = new Array(COUNT);
  t = performance.now();
  cpu = process.cpuUsage();
  let warmDiffs = 0;
  for (let i = 0; i < COUNT; i++) {
    const d = dialled[i] as string;
    const n = dialPlanIndex.normalize(d);
    fastNumber[i] = n.number;
    const decision = routeIndex.resolve(policies[policyOf[i] ?? 0] as VoiceRoutingPolicy, numberToRoute(n, d));
    if (decision !== fastDecision[i] || n.rule !== fastRule[i]) warmDiffs++;
  }
  const warmRate = COUNT / ((performance.now() - t) / 1000);
  const warmCpuRate = COUNT / cpuSeconds(cpu);

  // Reference: on every number if it fits the budget, otherwise on a sample (the first numbers).
  const probe = Math.min(COUNT, 20_000);
  let checked = 0;
  let mismatches = 0;
  const examples: string[] = [];
  const check = (i: number): void => {
    const d = dialled[i] as string;
    const n = reference.normalize(d);
    const decision = reference.resolve(policies[policyOf[i] ?? 0] as VoiceRoutingPolicy, numberToRoute(n, d));
    const diff = difference(
      { number: fastNumber[i] ?? null, rule: fastRule[i] ?? null, decision: fastDecision[i] as RouteDecision },
      { number: n.number, rule: n.rule, decision },
    );
    checked++;
    if (diff) {
      mismatches++;
      if (examples.length < 5) examples.push(`  #${i} ${JSON.stringify(d)} policy ${policies[policyOf[i] ?? 0]?.identity}: ${diff}`);
    }
  };
  t = performance.now();
  cpu = process.cpuUsage();
  for (let i = 0; i < probe; i++) check(i);
  const projectedS = ((performance.now() - t) / 1000) * (COUNT / probe);
  const sample =
    projectedS <= REFERENCE_BUDGET_S ? COUNT : Math.min(COUNT, Math.max(MIN_SAMPLE, Math.floor((REFERENCE_BUDGET_S / projectedS) * COUNT)));
  for (let i = probe; i < sample; i++) check(i);
  const referenceMs = performance.now() - t;
  const referenceRate = checked / (referenceMs / 1000);
  const referenceCpuRate = checked / cpuSeconds(cpu);

  let normalized = 0;
  let routed = 0;
  let withBackups = 0;
  for (let i = 0; i < COUNT; i++) {
    if (fastNumber[i] !== null) normalized++;
    const decision = fastDecision[i];
    if (decision?.route) routed++;
    if (decision && decision.backups.length > 0) withBackups++;
  }

  console.log(
    `fast       ${int(COUNT)} numbers normalized and routed in ${fmt(fastMs / 1000, 2)} s: ${int(fastRate)} resolutions/s wall clock, ` +
      `${int(fastCpuRate)} per CPU-second (first pass, the lazy DFA built on the way: ${int(states)} route states)`,
  );
  console.log(
    `           second pass over the same numbers, caches warm: ${int(warmRate)}/s wall clock, ${int(warmCpuRate)} per CPU-second ` +
      `(${int(warmDiffs)} answers differ from the first pass)`,
  );
  const verdict =
    fastRate >= TARGET
      ? "met"
      : fastCpuRate >= TARGET
        ? "met per CPU-second; the wall clock also counts time other processes held the core"
        : "NOT met";
  console.log(`           target ≥ ${int(TARGET)} resolutions/s on one core, first pass: ${verdict}`);
  console.log(
    `reference  ${int(checked)} numbers in ${fmt(referenceMs / 1000, 2)} s: ${int(referenceRate)} resolutions/s wall clock, ${int(referenceCpuRate)} per CPU-second ` +
      (checked === COUNT
        ? "(every number)"
        : `(a sample: the first ${int(checked)} numbers; all ${int(COUNT)} were projected at ${fmt(projectedS, 0)} s)`),
  );
  console.log(
    `ratio      fast / reference = ${fmt(fastRate / referenceRate, 1)}× wall clock, ${fmt(fastCpuRate / referenceCpuRate, 1)}× per CPU-second ` +
      `(warm: ${fmt(warmCpuRate / referenceCpuRate, 1)}×)`,
  );
  console.log(
    `outcomes   normalized ${fmt((100 * normalized) / COUNT)}%, routed ${fmt((100 * routed) / COUNT)}%, with backup routes ${fmt((100 * withBackups) / COUNT)}%`,
  );
  console.log(`check      ${int(checked)} numbers compared (number, rule, usage, route, gateways, backups): ${int(mismatches)} mismatches`);
  for (const e of examples) console.log(e);
  console.log(`memory     peak RSS ${int(rssMb())} MB`);
  if (mismatches > 0 || warmDiffs > 0) process.exit(1);
}

main();
