import { z } from "zod";

const name = z.string().min(1).max(256);
const names = z.array(name).max(200);
const number = z.string().min(1).max(64);

export const usageList = z.object({ usages: z.array(z.string()) });

export const usageAdd = z.strictObject({
  name,
  position: z.number().int().min(0).optional().describe("0 = first; omitted = at the end"),
});

export const usageChange = z.strictObject({
  add: names.optional(),
  remove: names.optional(),
  replace: names.optional(),
  position: z.number().int().min(0).optional().describe("where added usages go (0 = first)"),
});

export const gatewayView = z.object({
  identity: z.string(),
  fqdn: z.string(),
  signalingAddress: z.string().nullable().describe("where the SIP proxy sends its calls; null: the FQDN"),
  sipSignalingPort: z.number(),
  enabled: z.boolean(),
  failoverTimeSeconds: z.number(),
  failoverResponseCodes: z.string(),
  sendSipOptions: z.boolean(),
  forwardPai: z.boolean(),
  mediaBypass: z.boolean(),
  maxConcurrentSessions: z.number().nullable(),
});

const gatewayFields = {
  signalingAddress: z
    .string()
    .max(300)
    .nullable()
    .optional()
    .describe("host name or IP address the SIP proxy sends calls to, without a port; null or empty: the FQDN"),
  enabled: z.boolean().optional(),
  failoverTimeSeconds: z.number().int().optional(),
  failoverResponseCodes: z.string().max(200).optional().describe('e.g. "408,503,504"'),
  sendSipOptions: z.boolean().optional(),
  forwardPai: z.boolean().optional(),
  mediaBypass: z.boolean().optional(),
  maxConcurrentSessions: z.number().int().nullable().optional(),
};

export const gatewayCreate = z.strictObject({ fqdn: z.string().min(1).max(300), sipSignalingPort: z.number().int(), ...gatewayFields });
export const gatewayPatch = z.strictObject({ sipSignalingPort: z.number().int().optional(), ...gatewayFields });

export const routeView = z.object({
  identity: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  numberPattern: z.string(),
  priority: z.number(),
  pstnUsages: z.array(z.string()),
  pstnGateways: z.array(z.string()),
  suppressCallerId: z.boolean(),
  alternateCallerId: z.string().nullable(),
});

export const routeChange = z.object({ route: routeView, warnings: z.array(z.string()) });

const routeFields = {
  description: z.string().max(1024).nullable().optional(),
  numberPattern: z.string().max(1000).optional().describe("default [0-9]{10}"),
  priority: z.number().int().optional().describe("lowest first; omitted = after the last route; a taken priority moves the others down"),
  pstnUsages: names.optional(),
  pstnGateways: names.optional(),
  suppressCallerId: z.boolean().optional(),
  alternateCallerId: z.string().max(64).nullable().optional(),
};

export const routeCreate = z.strictObject({ name, ...routeFields });
export const routePatch = z.strictObject(routeFields);

export const policyView = z.object({
  identity: z.string(),
  scope: z.enum(["global", "user"]),
  description: z.string().nullable(),
  pstnUsages: z.array(z.string()),
});

export const policyCreate = z.strictObject({
  identity: name,
  description: z.string().max(1024).nullable().optional(),
  pstnUsages: names.optional(),
});
export const policyPatch = z.strictObject({ description: z.string().max(1024).nullable().optional(), pstnUsages: names.optional() });

export const ruleView = z.object({
  identity: z.string(),
  dialPlan: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  pattern: z.string(),
  translation: z.string(),
  priority: z.number(),
  isInternalExtension: z.boolean(),
});

export const ruleChange = z.object({ rule: ruleView, warnings: z.array(z.string()) });

const ruleFields = {
  description: z.string().max(1024).nullable().optional(),
  pattern: z.string().max(1000).optional().describe("default ^(\\d{11})$"),
  translation: z.string().max(1000).optional().describe("default +$1"),
  priority: z.number().int().optional().describe("lowest wins; omitted = after the last rule"),
  isInternalExtension: z.boolean().optional(),
};

export const ruleCreate = z.strictObject({
  identity: z.string().min(1).max(600).describe("Global/Name, Site:X/Name or Plan/Name"),
  ...ruleFields,
});
export const rulePatch = z.strictObject(ruleFields);

export const dialPlanView = z.object({
  identity: z.string(),
  scope: z.enum(["global", "site", "user"]),
  description: z.string().nullable(),
  normalizationRules: z.array(ruleView),
});

export const dialPlanCreate = z.strictObject({
  identity: z.string().min(1).max(300).describe("Site:Name or a tenant (user) dial plan name"),
  description: z.string().max(1024).nullable().optional(),
  normalizationRules: z
    .array(z.strictObject({ name, ...ruleFields }))
    .max(1000)
    .optional(),
});
export const dialPlanPatch = z.strictObject({ description: z.string().max(1024).nullable().optional() });

const ruleTrace = z.object({
  rule: z.string(),
  priority: z.number(),
  outcome: z.enum(["chosen", "outranked", "no_match"]),
  reason: z.string(),
});
const routeTrace = z.object({
  usage: z.string().nullable(),
  route: z.string().nullable(),
  priority: z.number().nullable(),
  outcome: z.enum(["chosen", "backup", "no_match", "usage_has_no_routes", "usage_not_evaluated", "not_in_policy"]),
  reason: z.string(),
});

export const dialPlanTestBody = z.strictObject({
  dialPlan: z.string().min(1).max(300).optional(),
  user: z.string().min(1).max(512).optional(),
  number,
});
export const dialPlanTestView = z.object({
  dialPlan: z.string(),
  user: z.string().nullable(),
  dialledNumber: z.string(),
  normalizedNumber: z.string().nullable(),
  rule: ruleView.nullable(),
  trace: z.array(ruleTrace),
});

export const ruleTestBody = z.strictObject({ rule: z.string().min(1).max(600), number });
export const ruleTestView = z.object({ rule: ruleView, dialledNumber: z.string(), translatedNumber: z.string().nullable() });

export const voiceRouteTestBody = z.strictObject({ route: name, number });
export const voiceRouteTestView = z.object({ route: z.string(), numberPattern: z.string(), number: z.string(), matches: z.boolean() });

export const routeTestBody = z.strictObject({
  policy: z.string().min(1).max(300).optional(),
  user: z.string().min(1).max(512).optional(),
  dialPlan: z.string().min(1).max(300).optional(),
  number,
});
export const routeTestView = z.object({
  policy: z.string(),
  user: z.string().nullable(),
  dialPlan: z.string().nullable(),
  dialledNumber: z.string(),
  normalization: z.object({ normalizedNumber: z.string().nullable(), rule: z.string().nullable(), trace: z.array(ruleTrace) }).nullable(),
  routedNumber: z.string(),
  usage: z.string().nullable(),
  route: z.string().nullable(),
  gateways: z.array(z.string()),
  backupRoutes: z.array(z.string()),
  trace: z.array(routeTrace),
  warnings: z.array(z.string()),
});
