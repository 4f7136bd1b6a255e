import { z } from "zod";
import type { CtxOf } from "../http/server.ts";
import { type Api, errors, identityParam } from "../http/types.ts";
import {
  createDialPlan,
  createRule,
  getDialPlan,
  getRule,
  listDialPlans,
  listRules,
  removeDialPlan,
  removeRule,
  setDialPlan,
  setRule,
} from "./dial-plans.service.ts";
import { testDialPlan, testNormalizationRule, testRoute, testVoiceRoute } from "./test-tools.service.ts";
import {
  dialPlanCreate,
  dialPlanPatch,
  dialPlanTestBody,
  dialPlanTestView,
  dialPlanView,
  gatewayCreate,
  gatewayPatch,
  gatewayView,
  policyCreate,
  policyPatch,
  policyView,
  routeChange,
  routeCreate,
  routePatch,
  routeTestBody,
  routeTestView,
  routeView,
  ruleChange,
  ruleCreate,
  rulePatch,
  ruleTestBody,
  ruleTestView,
  ruleView,
  usageAdd,
  usageChange,
  usageList,
  voiceRouteTestBody,
  voiceRouteTestView,
} from "./voice.schemas.ts";
import {
  addPstnUsage,
  createGateway,
  createPolicy,
  createRoute,
  getGateway,
  getPolicy,
  getRoute,
  listGateways,
  listPolicies,
  listPstnUsages,
  listRoutes,
  removeGateway,
  removePolicy,
  removePstnUsage,
  removeRoute,
  setGateway,
  setPolicy,
  setPstnUsages,
  setRoute,
} from "./voice.service.ts";

const tags = ["voice"];
const nameParam = z.object({ name: z.string().min(1).max(256) });

export function voiceRoutes(api: Api, ctxOf: CtxOf): void {
  // PSTN usages (Get-/Set-CsPstnUsage, Set-CsOnlinePstnUsage)
  api.get(
    "/voice/pstn-usages",
    { schema: { tags, summary: "The tenant's PSTN usages in order (Get-CsPstnUsage)", response: { 200: usageList, ...errors } } },
    async (req) => ({ usages: await listPstnUsages(await ctxOf(req)) }),
  );
  api.post(
    "/voice/pstn-usages",
    { schema: { tags, summary: "Add a PSTN usage at the end or at a position", body: usageAdd, response: { 201: usageList, ...errors } } },
    async (req, reply) => reply.status(201).send({ usages: await addPstnUsage(await ctxOf(req), req.body.name, req.body.position) }),
  );
  api.patch(
    "/voice/pstn-usages",
    {
      schema: {
        tags,
        summary: "Add, remove or replace PSTN usages (Set-CsPstnUsage -Usage @{add=…}/@{remove=…}/@{replace=…})",
        body: usageChange,
        response: { 200: usageList, ...errors },
      },
    },
    async (req) => ({ usages: await setPstnUsages(await ctxOf(req), req.body) }),
  );
  api.delete(
    "/voice/pstn-usages/:name",
    {
      schema: { tags, summary: "Remove a PSTN usage no route or policy names", params: nameParam, response: { 200: usageList, ...errors } },
    },
    async (req) => ({ usages: await removePstnUsage(await ctxOf(req), req.params.name) }),
  );

  // PSTN gateways (New-/Set-/Remove-/Get-CsOnlinePSTNGateway)
  api.get(
    "/voice/gateways",
    { schema: { tags, summary: "List PSTN gateways (Get-CsOnlinePSTNGateway)", response: { 200: z.array(gatewayView), ...errors } } },
    async (req) => listGateways(await ctxOf(req)),
  );
  api.post(
    "/voice/gateways",
    {
      schema: {
        tags,
        summary: "Add a PSTN gateway (New-CsOnlinePSTNGateway): disabled unless enabled is given",
        body: gatewayCreate,
        response: { 201: gatewayView, ...errors },
      },
    },
    async (req, reply) => reply.status(201).send(await createGateway(await ctxOf(req), req.body)),
  );
  api.get(
    "/voice/gateways/:identity",
    { schema: { tags, summary: "Show a PSTN gateway", params: identityParam, response: { 200: gatewayView, ...errors } } },
    async (req) => getGateway(await ctxOf(req), req.params.identity),
  );
  api.patch(
    "/voice/gateways/:identity",
    {
      schema: {
        tags,
        summary: "Change a PSTN gateway (Set-CsOnlinePSTNGateway)",
        params: identityParam,
        body: gatewayPatch,
        response: { 200: gatewayView, ...errors },
      },
    },
    async (req) => setGateway(await ctxOf(req), req.params.identity, req.body),
  );
  api.delete(
    "/voice/gateways/:identity",
    {
      schema: { tags, summary: "Remove a PSTN gateway no route uses", params: identityParam, response: { 200: gatewayView, ...errors } },
    },
    async (req) => removeGateway(await ctxOf(req), req.params.identity),
  );

  // Voice routes (New-/Set-/Remove-/Get-CsVoiceRoute, CsOnlineVoiceRoute)
  api.get(
    "/voice/routes",
    { schema: { tags, summary: "List voice routes, lowest priority first", response: { 200: z.array(routeView), ...errors } } },
    async (req) => listRoutes(await ctxOf(req)),
  );
  api.post(
    "/voice/routes",
    {
      schema: {
        tags,
        summary: "Add a voice route (New-CsVoiceRoute / New-CsOnlineVoiceRoute)",
        body: routeCreate,
        response: { 201: routeChange, ...errors },
      },
    },
    async (req, reply) => reply.status(201).send(await createRoute(await ctxOf(req), req.body)),
  );
  api.get(
    "/voice/routes/:identity",
    { schema: { tags, summary: "Show a voice route", params: identityParam, response: { 200: routeView, ...errors } } },
    async (req) => getRoute(await ctxOf(req), req.params.identity),
  );
  api.patch(
    "/voice/routes/:identity",
    {
      schema: {
        tags,
        summary: "Change a voice route (Set-CsVoiceRoute); lists are replaced whole",
        params: identityParam,
        body: routePatch,
        response: { 200: routeChange, ...errors },
      },
    },
    async (req) => setRoute(await ctxOf(req), req.params.identity, req.body),
  );
  api.delete(
    "/voice/routes/:identity",
    { schema: { tags, summary: "Remove a voice route", params: identityParam, response: { 200: routeView, ...errors } } },
    async (req) => removeRoute(await ctxOf(req), req.params.identity),
  );

  // Voice routing policies
  api.get(
    "/voice/routing-policies",
    { schema: { tags, summary: "List voice routing policies, Global first", response: { 200: z.array(policyView), ...errors } } },
    async (req) => listPolicies(await ctxOf(req)),
  );
  api.post(
    "/voice/routing-policies",
    {
      schema: {
        tags,
        summary: "Add a per-user voice routing policy (New-CsVoiceRoutingPolicy / New-CsOnlineVoiceRoutingPolicy)",
        body: policyCreate,
        response: { 201: policyView, ...errors },
      },
    },
    async (req, reply) => reply.status(201).send(await createPolicy(await ctxOf(req), req.body)),
  );
  api.get(
    "/voice/routing-policies/:identity",
    { schema: { tags, summary: "Show a voice routing policy", params: identityParam, response: { 200: policyView, ...errors } } },
    async (req) => getPolicy(await ctxOf(req), req.params.identity),
  );
  api.patch(
    "/voice/routing-policies/:identity",
    {
      schema: {
        tags,
        summary: "Change a voice routing policy's usages (in order) or description",
        params: identityParam,
        body: policyPatch,
        response: { 200: policyView, ...errors },
      },
    },
    async (req) => setPolicy(await ctxOf(req), req.params.identity, req.body),
  );
  api.delete(
    "/voice/routing-policies/:identity",
    {
      schema: {
        tags,
        summary: "Remove a policy no user has (Global is reset instead)",
        params: identityParam,
        response: { 200: policyView, ...errors },
      },
    },
    async (req) => removePolicy(await ctxOf(req), req.params.identity),
  );

  // Dial plans
  api.get(
    "/voice/dial-plans",
    { schema: { tags, summary: "List dial plans with their rules", response: { 200: z.array(dialPlanView), ...errors } } },
    async (req) => listDialPlans(await ctxOf(req)),
  );
  api.post(
    "/voice/dial-plans",
    {
      schema: {
        tags,
        summary: "Add a site or tenant dial plan (New-CsDialPlan / New-CsTenantDialPlan); no rules unless given",
        body: dialPlanCreate,
        response: { 201: dialPlanView, ...errors },
      },
    },
    async (req, reply) => reply.status(201).send(await createDialPlan(await ctxOf(req), req.body)),
  );
  api.get(
    "/voice/dial-plans/:identity",
    { schema: { tags, summary: "Show a dial plan", params: identityParam, response: { 200: dialPlanView, ...errors } } },
    async (req) => getDialPlan(await ctxOf(req), req.params.identity),
  );
  api.patch(
    "/voice/dial-plans/:identity",
    {
      schema: {
        tags,
        summary: "Change a dial plan's description",
        params: identityParam,
        body: dialPlanPatch,
        response: { 200: dialPlanView, ...errors },
      },
    },
    async (req) => setDialPlan(await ctxOf(req), req.params.identity, req.body),
  );
  api.delete(
    "/voice/dial-plans/:identity",
    {
      schema: {
        tags,
        summary: "Remove a dial plan and its rules (Global is reset instead)",
        params: identityParam,
        response: { 200: dialPlanView, ...errors },
      },
    },
    async (req) => removeDialPlan(await ctxOf(req), req.params.identity),
  );

  // Normalization rules
  api.get(
    "/voice/normalization-rules",
    {
      schema: {
        tags,
        summary: "List normalization rules (Get-CsVoiceNormalizationRule)",
        querystring: z.strictObject({ dialPlan: z.string().min(1).max(300).optional() }),
        response: { 200: z.array(ruleView), ...errors },
      },
    },
    async (req) => listRules(await ctxOf(req), req.query.dialPlan),
  );
  api.post(
    "/voice/normalization-rules",
    {
      schema: {
        tags,
        summary: "Add a normalization rule to an existing dial plan (New-CsVoiceNormalizationRule)",
        body: ruleCreate,
        response: { 201: ruleChange, ...errors },
      },
    },
    async (req, reply) => reply.status(201).send(await createRule(await ctxOf(req), req.body)),
  );
  api.get(
    "/voice/normalization-rules/:identity",
    {
      schema: {
        tags,
        summary: "Show a normalization rule (identity URL-encoded, e.g. Global%2FName)",
        params: identityParam,
        response: { 200: ruleView, ...errors },
      },
    },
    async (req) => getRule(await ctxOf(req), req.params.identity),
  );
  api.patch(
    "/voice/normalization-rules/:identity",
    {
      schema: {
        tags,
        summary: "Change a normalization rule (Set-CsVoiceNormalizationRule)",
        params: identityParam,
        body: rulePatch,
        response: { 200: ruleChange, ...errors },
      },
    },
    async (req) => setRule(await ctxOf(req), req.params.identity, req.body),
  );
  api.delete(
    "/voice/normalization-rules/:identity",
    { schema: { tags, summary: "Remove a normalization rule", params: identityParam, response: { 200: ruleView, ...errors } } },
    async (req) => removeRule(await ctxOf(req), req.params.identity),
  );

  // Test tools
  api.post(
    "/voice/test/dial-plan",
    {
      schema: {
        tags,
        summary: "Normalize a number with a dial plan, or a user's effective one (Test-CsDialPlan, Test-CsEffectiveTenantDialPlan)",
        body: dialPlanTestBody,
        response: { 200: dialPlanTestView, ...errors },
      },
    },
    async (req) => testDialPlan(await ctxOf(req), req.body),
  );
  api.post(
    "/voice/test/normalization-rule",
    {
      schema: {
        tags,
        summary: "Translate a number with one rule (Test-CsVoiceNormalizationRule)",
        body: ruleTestBody,
        response: { 200: ruleTestView, ...errors },
      },
    },
    async (req) => testNormalizationRule(await ctxOf(req), req.body),
  );
  api.post(
    "/voice/test/voice-route",
    {
      schema: {
        tags,
        summary: "Whether a route's pattern matches a number (Test-CsVoiceRoute)",
        body: voiceRouteTestBody,
        response: { 200: voiceRouteTestView, ...errors },
      },
    },
    async (req) => testVoiceRoute(await ctxOf(req), req.body),
  );
  api.post(
    "/voice/test/route",
    {
      schema: {
        tags,
        summary: "Resolve a call for a policy or user: normalization, usage, route and gateways, with a trace (Test-CsVoicePolicy)",
        body: routeTestBody,
        response: { 200: routeTestView, ...errors },
      },
    },
    async (req) => testRoute(await ctxOf(req), req.body),
  );
}
