// The voice API's types, inferred from the server's own zod schemas (type-only: nothing of the
// server is bundled, and a schema change breaks this build rather than the page at run time).
import type { z } from "zod";
import type {
  dialPlanView,
  gatewayView,
  policyView,
  routeChange,
  routeTestView,
  routeView,
  ruleChange,
  ruleView,
  usageList,
} from "../../../src/voice/voice.schemas.ts";

export type UsageList = z.infer<typeof usageList>;
export type Gateway = z.infer<typeof gatewayView>;
export type Route = z.infer<typeof routeView>;
export type RouteChange = z.infer<typeof routeChange>;
export type Policy = z.infer<typeof policyView>;
export type DialPlan = z.infer<typeof dialPlanView>;
export type Rule = z.infer<typeof ruleView>;
export type RuleChange = z.infer<typeof ruleChange>;
export type RouteTest = z.infer<typeof routeTestView>;

import type { userPage } from "../../../src/directory/users.schemas.ts";

export type UserPage = z.infer<typeof userPage>;

import type { planView, proxyView, publishStatusView, publishView } from "../../../src/voice/kamailio/publish.schemas.ts";

export type SipProxy = z.infer<typeof proxyView>;
export type PublishResult = z.infer<typeof publishView>;
export type PublishStatus = z.infer<typeof publishStatusView>;
export type PublishPlan = z.infer<typeof planView>;
