// Voice routing: the route tester, PSTN usages, gateways, voice routes, voice routing policies and
// dial plans. The selected tab is in the query string (?tab=routes) so it can be bookmarked.
import { apiGet } from "../api.ts";
import { Load } from "../dashboard/load.tsx";
import { navigate, useLocation, withQuery } from "../router.tsx";
import { PageHeader, useAsync } from "../ui.tsx";
import { DialPlansSection } from "../voice/DialPlansSection.tsx";
import { GatewaysSection } from "../voice/GatewaysSection.tsx";
import { PoliciesSection } from "../voice/PoliciesSection.tsx";
import { PublishSection } from "../voice/PublishSection.tsx";
import { RoutesSection } from "../voice/RoutesSection.tsx";
import { RouteTester } from "../voice/RouteTester.tsx";
import { type TabDef, Tabs } from "../voice/Tabs.tsx";
import type { DialPlan, Gateway, Policy, Route, UsageList } from "../voice/types.ts";
import { UsagesSection } from "../voice/UsagesSection.tsx";
import "../dashboard/pages.css";

const TABS: TabDef[] = [
  { id: "test", label: "Route tester" },
  { id: "routes", label: "Voice routes" },
  { id: "usages", label: "PSTN usages" },
  { id: "gateways", label: "Gateways" },
  { id: "policies", label: "Routing policies" },
  { id: "dial-plans", label: "Dial plans" },
  { id: "publish", label: "Publish" },
];

interface VoiceConfig {
  usages: string[];
  gateways: Gateway[];
  routes: Route[];
  policies: Policy[];
  dialPlans: DialPlan[];
}

async function loadConfig(): Promise<VoiceConfig> {
  const [usages, gateways, routes, policies, dialPlans] = await Promise.all([
    apiGet<UsageList>("/voice/pstn-usages"),
    apiGet<Gateway[]>("/voice/gateways"),
    apiGet<Route[]>("/voice/routes"),
    apiGet<Policy[]>("/voice/routing-policies"),
    apiGet<DialPlan[]>("/voice/dial-plans"),
  ]);
  return { usages: usages.usages, gateways, routes, policies, dialPlans };
}

export default function VoicePage() {
  const { path, search } = useLocation();
  const tab = TABS.some((t) => t.id === search.get("tab")) ? (search.get("tab") ?? "test") : "test";
  const state = useAsync(loadConfig, "voice");
  const select = (id: string) => navigate(withQuery(path, { tab: id === "test" ? undefined : id }), { replace: true });
  return (
    <div className="page">
      <PageHeader title="Voice routing" />
      <p>
        How calls from Phone System users reach the PSTN: a user's voice routing policy lists PSTN usages in order; the first usage with a
        route whose pattern matches the normalized number wins, and the call goes to that route's gateways.
      </p>
      <Load state={state} what="the voice configuration">
        {(c) => (
          <Tabs label="Voice routing" tabs={TABS} selected={tab} onSelect={select}>
            {tab === "test" ? <RouteTester policies={c.policies} dialPlans={c.dialPlans} /> : null}
            {tab === "routes" ? <RoutesSection routes={c.routes} usages={c.usages} gateways={c.gateways} onChanged={state.reload} /> : null}
            {tab === "usages" ? <UsagesSection usages={c.usages} onChanged={state.reload} /> : null}
            {tab === "gateways" ? <GatewaysSection gateways={c.gateways} onChanged={state.reload} /> : null}
            {tab === "policies" ? <PoliciesSection policies={c.policies} usages={c.usages} onChanged={state.reload} /> : null}
            {tab === "dial-plans" ? <DialPlansSection dialPlans={c.dialPlans} onChanged={state.reload} /> : null}
            {tab === "publish" ? <PublishSection /> : null}
          </Tabs>
        )}
      </Load>
    </div>
  );
}
