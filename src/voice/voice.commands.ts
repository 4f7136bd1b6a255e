import type { Command } from "commander";
import { bool, int, kv, list, run, table } from "../cli/cli.ts";
import type { DialPlanView, NormalizationRuleView, RuleChange } from "./dial-plans.service.ts";
import { registerPublishCommands } from "./kamailio/publish.commands.ts";
import type { DialPlanTest, RouteTest, RuleTest, VoiceRouteTest } from "./test-tools.service.ts";
import type { Gateway, Policy, Route, RouteChange } from "./voice.service.ts";

const u = (identity: string) => encodeURIComponent(identity);
type Row = Record<string, unknown>;

function withWarnings(text: string, warnings: string[]): string {
  return [text, ...warnings.map((w) => `warning: ${w}`)].join("\n");
}

const usagesText = (r: { usages: string[] }) =>
  r.usages.length ? r.usages.map((n, i) => `${i + 1}. ${n}`).join("\n") : "No PSTN usages yet.";

const gatewayText = (g: Gateway) =>
  kv({
    Identity: g.identity,
    "Signalling address": g.signalingAddress ?? `${g.fqdn} (the FQDN)`,
    "SIP signaling port": g.sipSignalingPort,
    Enabled: g.enabled,
    "Failover time (s)": g.failoverTimeSeconds,
    "Failover response codes": g.failoverResponseCodes,
    "Send SIP OPTIONS": g.sendSipOptions,
    "Forward PAI": g.forwardPai,
    "Media bypass": g.mediaBypass,
    "Max concurrent sessions": g.maxConcurrentSessions,
  });

const routeText = (r: Route) =>
  kv({
    Name: r.name,
    Description: r.description,
    "Number pattern": r.numberPattern,
    Priority: r.priority,
    "PSTN usages": r.pstnUsages,
    "PSTN gateways": r.pstnGateways,
    "Suppress caller ID": r.suppressCallerId,
    "Alternate caller ID": r.alternateCallerId,
  });

const policyText = (p: Policy) => kv({ Identity: p.identity, Description: p.description, "PSTN usages (in order)": p.pstnUsages });

const rulesTable = (rules: NormalizationRuleView[]) =>
  table(rules as unknown as Row[], [
    ["identity", "Identity"],
    ["priority", "Priority"],
    ["pattern", "Pattern"],
    ["translation", "Translation"],
    ["isInternalExtension", "Internal extension"],
  ]);

const dialPlanText = (d: DialPlanView) =>
  `${kv({ Identity: d.identity, Scope: d.scope, Description: d.description })}\n${rulesTable(d.normalizationRules)}`;

const ruleText = (r: NormalizationRuleView) =>
  kv({
    Identity: r.identity,
    Priority: r.priority,
    Pattern: r.pattern,
    Translation: r.translation,
    "Internal extension": r.isInternalExtension,
    Description: r.description,
  });

function routeOptions(cmd: Command): Command {
  return cmd
    .option("--description <text>")
    .option("--number-pattern <regex>", "default [0-9]{10} on create")
    .option("--priority <n>", "lowest first; omitted on create = after the last route; a taken priority moves the others down", int)
    .option("--usages <list>", "PSTN usages, comma-separated (replaces the list)", list)
    .option("--gateways <list>", "gateway FQDNs, comma-separated (replaces the list)", list)
    .option("--suppress-caller-id <bool>", "needs --alternate-caller-id", bool)
    .option("--alternate-caller-id <number>");
}

function routeBody(o: Record<string, unknown>): Record<string, unknown> {
  return {
    description: o.description,
    numberPattern: o.numberPattern,
    priority: o.priority,
    pstnUsages: o.usages,
    pstnGateways: o.gateways,
    suppressCallerId: o.suppressCallerId,
    alternateCallerId: o.alternateCallerId,
  };
}

function gatewayOptions(cmd: Command): Command {
  return cmd
    .option("--signaling-address <host>", 'host name or IP address the SIP proxy sends calls to (default: the FQDN; "" clears it)')
    .option("--enabled <bool>", "default false", bool)
    .option("--failover-time-seconds <n>", "default 10", int)
    .option("--failover-response-codes <codes>", 'default "408,503,504"')
    .option("--send-sip-options <bool>", "default true", bool)
    .option("--forward-pai <bool>", "default false", bool)
    .option("--media-bypass <bool>", "default false", bool)
    .option("--max-concurrent-sessions <n>", "", int);
}

function gatewayBody(o: Record<string, unknown>): Record<string, unknown> {
  return {
    signalingAddress: o.signalingAddress,
    sipSignalingPort: o.sipSignalingPort,
    enabled: o.enabled,
    failoverTimeSeconds: o.failoverTimeSeconds,
    failoverResponseCodes: o.failoverResponseCodes,
    sendSipOptions: o.sendSipOptions,
    forwardPai: o.forwardPai,
    mediaBypass: o.mediaBypass,
    maxConcurrentSessions: o.maxConcurrentSessions,
  };
}

function ruleOptions(cmd: Command): Command {
  return cmd
    .option("--pattern <regex>", "default ^(\\d{11})$ on create")
    .option("--translation <text>", "default +$1 on create")
    .option("--priority <n>", "lowest wins; omitted on create = after the last rule", int)
    .option("--internal-extension <bool>", "IsInternalExtension", bool)
    .option("--description <text>");
}

function ruleBody(o: Record<string, unknown>): Record<string, unknown> {
  return {
    pattern: o.pattern,
    translation: o.translation,
    priority: o.priority,
    isInternalExtension: o.internalExtension,
    description: o.description,
  };
}

function dialPlanTestText(t: DialPlanTest): string {
  const head = kv({
    "Dial plan": t.dialPlan,
    ...(t.user ? { User: t.user } : {}),
    Dialled: t.dialledNumber,
    Normalized: t.normalizedNumber ?? "(no rule matches)",
    Rule: t.rule ? `${t.rule.name} (priority ${t.rule.priority}): ${t.rule.pattern} → ${t.rule.translation}` : null,
  });
  return `${head}\n\nRules considered:\n${t.trace.map((e) => `  ${e.outcome.padEnd(9)} ${e.rule} (priority ${e.priority}): ${e.reason}`).join("\n") || "  (the dial plan has no rules)"}`;
}

function routeTestText(t: RouteTest): string {
  const head = kv({
    Policy: t.policy,
    ...(t.user ? { User: t.user } : {}),
    "Dial plan": t.dialPlan,
    Dialled: t.dialledNumber,
    ...(t.normalization ? { Normalized: t.normalization.normalizedNumber ?? "(no rule matches)", Rule: t.normalization.rule } : {}),
    "Routed number": t.routedNumber,
    Usage: t.usage,
    Route: t.route ?? "(none)",
    Gateways: t.gateways,
    "Backup routes": t.backupRoutes,
  });
  const trace = t.trace
    .map(
      (e) =>
        `  ${e.outcome.padEnd(19)} ${e.usage ? `[${e.usage}]` : ""}${e.route ? ` ${e.route}` : ""}${e.priority !== null ? ` (priority ${e.priority})` : ""}: ${e.reason}`,
    )
    .join("\n");
  return withWarnings(`${head}\n\nRoutes considered:\n${trace || "  (none)"}`, t.warnings);
}

export function registerVoiceCommands(program: Command): void {
  const voice = program
    .command("voice")
    .description(
      "Outbound voice routing: PSTN usages, gateways, routes, policies, dial plans, the test tools, and publishing to SIP proxies",
    );
  registerPublishCommands(program, voice);

  // PSTN usages
  const usages = voice.command("usages").description("PSTN usages: one ordered list per tenant (Set-CsPstnUsage)");
  usages
    .command("list")
    .action(async (_o, cmd: Command) =>
      run(cmd, (api) => api.call<{ usages: string[] }>("GET", "/voice/pstn-usages"), { human: usagesText }),
    );
  usages
    .command("add")
    .argument("<name>")
    .option("--position <n>", "0 = first; default at the end", int)
    .action(async (name: string, o, cmd: Command) =>
      run(cmd, (api) => api.call<{ usages: string[] }>("POST", "/voice/pstn-usages", { body: { name, position: o.position } }), {
        human: usagesText,
      }),
    );
  usages
    .command("remove")
    .argument("<name>")
    .description("Refused while a route or policy names it")
    .action(async (name: string, _o, cmd: Command) =>
      run(cmd, (api) => api.call<{ usages: string[] }>("DELETE", `/voice/pstn-usages/${u(name)}`), { human: usagesText }),
    );
  usages
    .command("set")
    .description("Set-CsPstnUsage -Usage @{add=…} / @{remove=…} / @{replace=…}: give one of the three")
    .option("--add <list>", "comma-separated", list)
    .option("--remove <list>", "comma-separated", list)
    .option("--replace <list>", "comma-separated, the whole list in order", list)
    .option("--position <n>", "where --add puts them (0 = first)", int)
    .action(async (o, cmd: Command) =>
      run(
        cmd,
        (api) =>
          api.call<{ usages: string[] }>("PATCH", "/voice/pstn-usages", {
            body: { add: o.add, remove: o.remove, replace: o.replace, position: o.position },
          }),
        { human: usagesText },
      ),
    );

  // Gateways
  const gateways = voice.command("gateways").description("PSTN gateways / SBCs (New-/Set-/Remove-/Get-CsOnlinePSTNGateway)");
  gateways.command("list").action(async (_o, cmd: Command) =>
    run(cmd, (api) => api.call<Gateway[]>("GET", "/voice/gateways"), {
      human: (g) =>
        table(g as unknown as Row[], [
          ["identity", "FQDN"],
          ["sipSignalingPort", "Port"],
          ["enabled", "Enabled"],
          ["failoverTimeSeconds", "Failover (s)"],
          ["failoverResponseCodes", "Failover codes"],
          ["mediaBypass", "Media bypass"],
        ]),
    }),
  );
  gateways
    .command("show")
    .argument("<fqdn>")
    .action(async (fqdn: string, _o, cmd: Command) =>
      run(cmd, (api) => api.call<Gateway>("GET", `/voice/gateways/${u(fqdn)}`), { human: gatewayText }),
    );
  gatewayOptions(gateways.command("create").argument("<fqdn>").requiredOption("--sip-signaling-port <n>", "1–65535", int)).action(
    async (fqdn: string, o, cmd: Command) =>
      run(cmd, (api) => api.call<Gateway>("POST", "/voice/gateways", { body: { fqdn, ...gatewayBody(o) } }), {
        human: (g) => `Added gateway ${g.identity}.\n${gatewayText(g)}`,
      }),
  );
  gatewayOptions(gateways.command("set").argument("<fqdn>").option("--sip-signaling-port <n>", "1–65535", int)).action(
    async (fqdn: string, o, cmd: Command) =>
      run(cmd, (api) => api.call<Gateway>("PATCH", `/voice/gateways/${u(fqdn)}`, { body: gatewayBody(o) }), {
        human: (g) => `Saved.\n${gatewayText(g)}`,
      }),
  );
  gateways
    .command("remove")
    .argument("<fqdn>")
    .description("Refused while a route uses it")
    .action(async (fqdn: string, _o, cmd: Command) =>
      run(cmd, (api) => api.call<Gateway>("DELETE", `/voice/gateways/${u(fqdn)}`), { human: (g) => `Removed gateway ${g.identity}.` }),
    );

  // Routes
  const routes = voice.command("routes").description("Voice routes (New-/Set-/Remove-/Get-CsVoiceRoute, CsOnlineVoiceRoute)");
  routes.command("list").action(async (_o, cmd: Command) =>
    run(cmd, (api) => api.call<Route[]>("GET", "/voice/routes"), {
      human: (r) =>
        table(r as unknown as Row[], [
          ["priority", "Priority"],
          ["name", "Name"],
          ["numberPattern", "Number pattern"],
          ["pstnUsages", "PSTN usages"],
          ["pstnGateways", "Gateways"],
        ]),
    }),
  );
  routes
    .command("show")
    .argument("<name>")
    .action(async (name: string, _o, cmd: Command) =>
      run(cmd, (api) => api.call<Route>("GET", `/voice/routes/${u(name)}`), { human: routeText }),
    );
  routeOptions(routes.command("create").argument("<name>")).action(async (name: string, o, cmd: Command) =>
    run(cmd, (api) => api.call<RouteChange>("POST", "/voice/routes", { body: { name, ...routeBody(o) } }), {
      human: (c) => withWarnings(`Added route ${c.route.name}.\n${routeText(c.route)}`, c.warnings),
    }),
  );
  routeOptions(routes.command("set").argument("<name>")).action(async (name: string, o, cmd: Command) =>
    run(cmd, (api) => api.call<RouteChange>("PATCH", `/voice/routes/${u(name)}`, { body: routeBody(o) }), {
      human: (c) => withWarnings(`Saved.\n${routeText(c.route)}`, c.warnings),
    }),
  );
  routes
    .command("remove")
    .argument("<name>")
    .action(async (name: string, _o, cmd: Command) =>
      run(cmd, (api) => api.call<Route>("DELETE", `/voice/routes/${u(name)}`), { human: (r) => `Removed route ${r.name}.` }),
    );

  // Policies
  const policies = voice
    .command("policies")
    .description("Voice routing policies: Global and per-user (New-/Set-/Remove-/Get-CsVoiceRoutingPolicy)");
  policies.command("list").action(async (_o, cmd: Command) =>
    run(cmd, (api) => api.call<Policy[]>("GET", "/voice/routing-policies"), {
      human: (p) =>
        table(p as unknown as Row[], [
          ["identity", "Identity"],
          ["pstnUsages", "PSTN usages (in order)"],
          ["description", "Description"],
        ]),
    }),
  );
  policies
    .command("show")
    .argument("<identity>", "Global or a policy name")
    .action(async (identity: string, _o, cmd: Command) =>
      run(cmd, (api) => api.call<Policy>("GET", `/voice/routing-policies/${u(identity)}`), { human: policyText }),
    );
  policies
    .command("create")
    .argument("<name>")
    .option("--usages <list>", "PSTN usages in the order tried", list)
    .option("--description <text>")
    .action(async (name: string, o, cmd: Command) =>
      run(
        cmd,
        (api) =>
          api.call<Policy>("POST", "/voice/routing-policies", {
            body: { identity: name, pstnUsages: o.usages, description: o.description },
          }),
        { human: (p) => `Added policy ${p.identity}.\n${policyText(p)}` },
      ),
    );
  policies
    .command("set")
    .argument("<identity>", "Global or a policy name")
    .option("--usages <list>", "PSTN usages in the order tried (replaces the list)", list)
    .option("--description <text>")
    .action(async (identity: string, o, cmd: Command) =>
      run(
        cmd,
        (api) =>
          api.call<Policy>("PATCH", `/voice/routing-policies/${u(identity)}`, {
            body: { pstnUsages: o.usages, description: o.description },
          }),
        { human: (p) => `Saved.\n${policyText(p)}` },
      ),
    );
  policies
    .command("remove")
    .argument("<identity>")
    .description("Refused while users have it; Global is reset to no usages")
    .action(async (identity: string, _o, cmd: Command) =>
      run(cmd, (api) => api.call<Policy>("DELETE", `/voice/routing-policies/${u(identity)}`), {
        human: (p) => `Removed (or reset) policy ${p.identity}.`,
      }),
    );

  // Dial plans
  const plans = voice
    .command("dial-plans")
    .description("Dial plans: Global, Site:Name and tenant (user) plans (New-CsDialPlan, New-CsTenantDialPlan)");
  plans
    .command("list")
    .action(async (_o, cmd: Command) =>
      run(cmd, (api) => api.call<DialPlanView[]>("GET", "/voice/dial-plans"), { human: (d) => d.map(dialPlanText).join("\n\n") }),
    );
  plans
    .command("show")
    .argument("<identity>")
    .action(async (identity: string, _o, cmd: Command) =>
      run(cmd, (api) => api.call<DialPlanView>("GET", `/voice/dial-plans/${u(identity)}`), { human: dialPlanText }),
    );
  plans
    .command("create")
    .argument("<identity>", "Site:Name, or a tenant dial plan name")
    .option("--description <text>")
    .action(async (identity: string, o, cmd: Command) =>
      run(cmd, (api) => api.call<DialPlanView>("POST", "/voice/dial-plans", { body: { identity, description: o.description } }), {
        human: (d) => `Added dial plan ${d.identity} (no rules yet: add them with \`callplane voice rules create "${d.identity}/Name"\`).`,
      }),
    );
  plans
    .command("set")
    .argument("<identity>")
    .option("--description <text>")
    .action(async (identity: string, o, cmd: Command) =>
      run(cmd, (api) => api.call<DialPlanView>("PATCH", `/voice/dial-plans/${u(identity)}`, { body: { description: o.description } }), {
        human: (d) => `Saved.\n${dialPlanText(d)}`,
      }),
    );
  plans
    .command("remove")
    .argument("<identity>")
    .description("Removes its rules too; refused while users have it; Global is reset to no rules")
    .action(async (identity: string, _o, cmd: Command) =>
      run(cmd, (api) => api.call<DialPlanView>("DELETE", `/voice/dial-plans/${u(identity)}`), {
        human: (d) => `Removed (or reset) dial plan ${d.identity}.`,
      }),
    );

  // Normalization rules
  const rules = voice.command("rules").description("Normalization rules (New-/Set-/Remove-/Get-CsVoiceNormalizationRule)");
  rules
    .command("list")
    .option("--dial-plan <identity>")
    .action(async (o, cmd: Command) =>
      run(cmd, (api) => api.call<NormalizationRuleView[]>("GET", "/voice/normalization-rules", { query: { dialPlan: o.dialPlan } }), {
        human: rulesTable,
      }),
    );
  rules
    .command("show")
    .argument("<identity>", "Global/Name, Site:X/Name or Plan/Name")
    .action(async (identity: string, _o, cmd: Command) =>
      run(cmd, (api) => api.call<NormalizationRuleView>("GET", `/voice/normalization-rules/${u(identity)}`), { human: ruleText }),
    );
  ruleOptions(rules.command("create").argument("<identity>", "Global/Name, Site:X/Name or Plan/Name; the dial plan must exist")).action(
    async (identity: string, o, cmd: Command) =>
      run(cmd, (api) => api.call<RuleChange>("POST", "/voice/normalization-rules", { body: { identity, ...ruleBody(o) } }), {
        human: (c) => withWarnings(`Added rule ${c.rule.identity}.\n${ruleText(c.rule)}`, c.warnings),
      }),
  );
  ruleOptions(rules.command("set").argument("<identity>")).action(async (identity: string, o, cmd: Command) =>
    run(cmd, (api) => api.call<RuleChange>("PATCH", `/voice/normalization-rules/${u(identity)}`, { body: ruleBody(o) }), {
      human: (c) => withWarnings(`Saved.\n${ruleText(c.rule)}`, c.warnings),
    }),
  );
  rules
    .command("remove")
    .argument("<identity>")
    .action(async (identity: string, _o, cmd: Command) =>
      run(cmd, (api) => api.call<NormalizationRuleView>("DELETE", `/voice/normalization-rules/${u(identity)}`), {
        human: (r) => `Removed rule ${r.identity}.`,
      }),
    );

  // Test tools
  voice
    .command("test-dial-plan")
    .description("Test-CsDialPlan (or, with --user, Test-CsEffectiveTenantDialPlan): the normalized number and every rule considered")
    .option("--dial-plan <identity>", "default Global")
    .option("--user <identity>", "use the user's tenant dial plan (else Global)")
    .requiredOption("--number <digits>")
    .action(async (o, cmd: Command) =>
      run(
        cmd,
        (api) =>
          api.call<DialPlanTest>("POST", "/voice/test/dial-plan", { body: { dialPlan: o.dialPlan, user: o.user, number: o.number } }),
        {
          human: dialPlanTestText,
        },
      ),
    );
  voice
    .command("test-rule")
    .description("Test-CsVoiceNormalizationRule: the translated number, or blank")
    .argument("<identity>", "Global/Name, Site:X/Name or Plan/Name")
    .requiredOption("--number <digits>")
    .action(async (identity: string, o, cmd: Command) =>
      run(cmd, (api) => api.call<RuleTest>("POST", "/voice/test/normalization-rule", { body: { rule: identity, number: o.number } }), {
        human: (t) => t.translatedNumber ?? "",
      }),
    );
  voice
    .command("test-voice-route")
    .description("Test-CsVoiceRoute: whether the route's pattern matches the number")
    .argument("<route>")
    .requiredOption("--number <number>")
    .action(async (route: string, o, cmd: Command) =>
      run(cmd, (api) => api.call<VoiceRouteTest>("POST", "/voice/test/voice-route", { body: { route, number: o.number } }), {
        human: (t) => `${t.matches ? "True" : "False"}  (${t.numberPattern} against ${t.number})`,
      }),
    );
  voice
    .command("test-route")
    .description("Test-CsVoicePolicy: normalization, then the usage, route and gateways chosen, with every route considered")
    .option("--policy <identity>", "a voice routing policy (Global or a name)")
    .option("--user <identity>", "the user's effective policy and dial plan")
    .option("--dial-plan <identity>", "normalize with this dial plan first")
    .requiredOption("--number <number>")
    .action(async (o, cmd: Command) =>
      run(
        cmd,
        (api) =>
          api.call<RouteTest>("POST", "/voice/test/route", {
            body: { policy: o.policy, user: o.user, dialPlan: o.dialPlan, number: o.number },
          }),
        { human: routeTestText },
      ),
    );
}
