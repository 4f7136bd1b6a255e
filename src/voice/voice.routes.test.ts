import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildTestServer } from "../../test/support/auth.ts";
import { newTenant } from "../../test/support/fixtures.ts";
import { openTestRuntime, type TestRuntime } from "../../test/support/store.ts";
import { addPstnUsage, listPstnUsages } from "./voice.service.ts";

let rt: TestRuntime;
let app: FastifyInstance;
let tenant: string;

beforeAll(async () => {
  rt = await openTestRuntime();
  const t = await newTenant(rt, { bridge: false });
  tenant = t.ctx.tenantId;
  app = await buildTestServer(rt);
});

afterAll(async () => {
  await app?.close();
  await rt?.close();
});

async function call(method: "GET" | "POST" | "PATCH" | "DELETE", url: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const res = await app.inject({
    method,
    url: `/api/v1${url}`,
    payload: body === undefined ? undefined : JSON.stringify(body),
    headers: { "x-callplane-tenant": tenant, ...(body === undefined ? {} : { "content-type": "application/json" }) },
  });
  return { status: res.statusCode, json: res.body ? JSON.parse(res.body) : null };
}

describe("voice REST API", () => {
  it("builds a configuration and resolves a call through /api/v1/voice", async () => {
    expect(await call("PATCH", "/voice/pstn-usages", { replace: ["US", "Intl"] })).toEqual({
      status: 200,
      json: { usages: ["US", "Intl"] },
    });
    expect((await call("POST", "/voice/gateways", { fqdn: "sbc1.contoso.com", sipSignalingPort: 5061, enabled: true })).status).toBe(201);
    const route = await call("POST", "/voice/routes", {
      name: "US",
      numberPattern: "^\\+1\\d{10}$",
      pstnUsages: ["US"],
      pstnGateways: ["sbc1.contoso.com"],
    });
    expect(route).toMatchObject({ status: 201, json: { route: { name: "US", priority: 0 }, warnings: [] } });
    expect((await call("PATCH", "/voice/routing-policies/Global", { pstnUsages: ["US"] })).status).toBe(200);
    expect((await call("POST", "/voice/dial-plans", { identity: "Site:Redmond" })).status).toBe(201);
    const rule = await call("POST", "/voice/normalization-rules", {
      identity: "Site:Redmond/Ext",
      pattern: "^(\\d{4})$",
      translation: "+1425555$1",
    });
    expect(rule).toMatchObject({ status: 201, json: { rule: { identity: "Site:Redmond/Ext" } } });
    expect(await call("GET", `/voice/normalization-rules/${encodeURIComponent("Site:Redmond/Ext")}`)).toMatchObject({
      status: 200,
      json: { translation: "+1425555$1" },
    });
    const test = await call("POST", "/voice/test/route", { policy: "Global", dialPlan: "Site:Redmond", number: "1234" });
    expect(test).toMatchObject({
      status: 200,
      json: { routedNumber: "+14255551234", usage: "US", route: "US", gateways: ["sbc1.contoso.com"] },
    });
  });

  it("refuses unknown fields and bad patterns with 400, and a missing usage with 404, writing nothing", async () => {
    const before = await listPstnUsages(await rt.ctx(tenant, "test"));
    const unknown = await call("POST", "/voice/pstn-usages", { name: "X", colour: "red" });
    expect(unknown.status).toBe(400);
    const bad = await call("POST", "/voice/routes", { name: "Bad", numberPattern: "(a+)+$" });
    expect(bad).toMatchObject({ status: 400, json: { error: { code: "invalid_input" } } });
    const missing = await call("POST", "/voice/routes", { name: "Mars", pstnUsages: ["Mars"] });
    expect(missing).toMatchObject({ status: 404, json: { error: { code: "not_found" } } });
    expect((await call("GET", "/voice/routes/Bad")).status).toBe(404);
    expect((await call("GET", "/voice/routes/Mars")).status).toBe(404);
    expect(await listPstnUsages(await rt.ctx(tenant, "test"))).toEqual(before);
  });

  it("serializes concurrent usage changes: every add lands", async () => {
    const t = await newTenant(rt, { bridge: false });
    await Promise.all(["A", "B", "C", "D", "E"].map((n) => addPstnUsage(t.ctx, n)));
    expect((await listPstnUsages(t.ctx)).sort()).toEqual(["A", "B", "C", "D", "E"]);
  });
});
