/**
 * A realistic outbound voice configuration for the demo tenant, built through the services (so
 * it is validated and audited like an administrator's): three PSTN usages, two SBCs, routes for
 * emergency, local, US/Canada and international calls, Global and two per-user policies, and a
 * Global and a site dial plan.
 */
import type { Ctx } from "../core/context.ts";
import { createDialPlan, createRule } from "./dial-plans.service.ts";
import { createGateway, createPolicy, createRoute, listPstnUsages, setPolicy, setPstnUsages } from "./voice.service.ts";

export interface DemoVoiceSummary {
  usages: number;
  gateways: number;
  routes: number;
  policies: number;
  dialPlans: number;
  /** False when the tenant already had PSTN usages, so nothing was built. */
  built: boolean;
}

/** Builds the demo voice configuration; a tenant that already has PSTN usages is left as it is. */
export async function buildDemoVoiceConfig(ctx: Ctx): Promise<DemoVoiceSummary> {
  if ((await listPstnUsages(ctx)).length > 0) return { usages: 0, gateways: 0, routes: 0, policies: 0, dialPlans: 0, built: false };
  await setPstnUsages(ctx, { replace: ["Local", "US", "Intl"] });

  const sbc1 = "sbc1.contoso.com";
  const sbc2 = "sbc2.contoso.com";
  await createGateway(ctx, { fqdn: sbc1, sipSignalingPort: 5061, enabled: true, maxConcurrentSessions: 200 });
  await createGateway(ctx, { fqdn: sbc2, sipSignalingPort: 5067, enabled: true, mediaBypass: true });

  const routes = [
    {
      name: "Emergency",
      description: "911 and 933 (address test) on both SBCs",
      numberPattern: "^(\\+1)?(911|933)$",
      pstnUsages: ["Local", "US", "Intl"],
      pstnGateways: [sbc1, sbc2],
    },
    {
      name: "Redmond local",
      description: "425 and 206 area codes through the Redmond SBC",
      numberPattern: "^\\+1(425|206)\\d{7}$",
      pstnUsages: ["Local"],
      pstnGateways: [sbc1],
    },
    { name: "US and Canada", description: "+1 numbers", numberPattern: "^\\+1[2-9]\\d{9}$", pstnUsages: ["US"], pstnGateways: [sbc1] },
    {
      name: "US and Canada backup",
      description: "+1 numbers when sbc1 fails",
      numberPattern: "^\\+1[2-9]\\d{9}$",
      pstnUsages: ["US"],
      pstnGateways: [sbc2],
    },
    {
      name: "International",
      description: "Everything outside +1",
      numberPattern: "^\\+[2-9]\\d{6,14}$",
      pstnUsages: ["Intl"],
      pstnGateways: [sbc2],
    },
  ];
  for (const r of routes) await createRoute(ctx, r);

  await setPolicy(ctx, "Global", { description: "US and international", pstnUsages: ["US", "Intl"] });
  await createPolicy(ctx, {
    identity: "Redmond",
    description: "Local SBC first, then US, then international",
    pstnUsages: ["Local", "US", "Intl"],
  });
  await createPolicy(ctx, { identity: "DomesticOnly", description: "No international calls", pstnUsages: ["Local", "US"] });

  await createRule(ctx, { identity: "Global/Eleven digits", pattern: "^1(\\d{10})$", translation: "+1$1", description: "1 + ten digits" });
  await createRule(ctx, { identity: "Global/Ten digits", pattern: "^(\\d{10})$", translation: "+1$1", description: "Ten-digit NANP" });
  await createRule(ctx, {
    identity: "Global/International",
    pattern: "^011(\\d{7,15})$",
    translation: "+$1",
    description: "011 international prefix",
  });
  await createDialPlan(ctx, {
    identity: "Site:Redmond",
    description: "Redmond campus",
    normalizationRules: [
      { name: "Four-digit extension", pattern: "^(\\d{4})$", translation: "+1425555$1", isInternalExtension: true },
      { name: "Seven digits", pattern: "^(\\d{7})$", translation: "+1425$1" },
      { name: "Ten digits", pattern: "^(\\d{10})$", translation: "+1$1" },
    ],
  });
  await createDialPlan(ctx, {
    identity: "Seattle",
    description: "Tenant dial plan for Seattle users",
    normalizationRules: [{ name: "Four-digit extension", pattern: "^(\\d{4})$", translation: "+1206555$1", isInternalExtension: true }],
  });
  return { usages: 3, gateways: 2, routes: routes.length, policies: 3, dialPlans: 3, built: true };
}
