// The hybrid voice endpoints through the real server (buildServer + inject): bodies are strict,
// errors are the envelope with a 4xx status, and nothing is written on a refusal.
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildTestServer } from "../../test/support/auth.ts";
import { makeUser, newTenant, type TenantFixture, tenantSnapshot } from "../../test/support/fixtures.ts";
import { openTestRuntime, type TestRuntime } from "../../test/support/store.ts";

let rt: TestRuntime;
let app: FastifyInstance;
let t: TenantFixture;

beforeAll(async () => {
  rt = await openTestRuntime();
  app = await buildTestServer(rt);
  t = await newTenant(rt, { bridge: false });
});

afterAll(async () => {
  await app?.close();
  await rt?.close();
});

async function call(method: "GET" | "POST" | "PATCH" | "PUT", url: string, payload?: unknown) {
  const res = await app.inject({
    method,
    url: `/api/v1${url}`,
    payload: payload as object,
    headers: { "x-callplane-tenant": t.ctx.tenantId },
  });
  return { status: res.statusCode, body: res.json() as Record<string, unknown> & { error?: { code: string; message: string } } };
}

describe("hybrid voice over HTTP", () => {
  it("imports, syncs, enables, sets and moves; refusals are 4xx envelopes that change nothing", async () => {
    const upn = t.upn("ken");
    const ldif = `dn: CN=Ken\nobjectGUID: 6F9619FF-8B86-D011-B42D-00C04FC964FF\nuserPrincipalName: ${upn}\nc: US\n`;
    const bad = await call("POST", "/directory/import", { fileName: "bad.ldif", content: "dn: CN=x\nnot ldif\n" });
    expect(bad).toMatchObject({
      status: 400,
      body: { error: { code: "invalid_input", message: expect.stringContaining("bad.ldif line 2") } },
    });
    expect((await call("POST", "/directory/import", { fileName: "users.ldif", content: ldif, extra: 1 })).status).toBe(400);
    expect(await call("POST", "/directory/import", { fileName: "users.ldif", content: ldif })).toMatchObject({
      status: 200,
      body: { created: 1 },
    });
    expect(await call("POST", "/directory/sync", {})).toMatchObject({ status: 200, body: { created: 1 } });

    const enc = encodeURIComponent(upn);
    expect(
      await call("POST", `/onprem/users/${enc}/enable`, { registrarPool: "pool01.contoso.com", sipAddressType: "UserPrincipalName" }),
    ).toMatchObject({
      status: 200,
      body: { changed: true, user: { sipEnabled: true, sipAddress: `sip:${upn}` } },
    });
    expect(await call("PATCH", `/onprem/users/${enc}`, { enterpriseVoiceEnabled: true, lineUri: "tel:+14255550200" })).toMatchObject({
      status: 200,
    });
    expect(await call("POST", "/directory/sync", {})).toMatchObject({ status: 200, body: { updated: 1 } });
    expect(await call("GET", `/users/${enc}/checklist`)).toMatchObject({ status: 200, body: { next: "voice-routing-policy" } });

    const before = await tenantSnapshot(t.ctx);
    expect(await call("POST", `/users/${enc}/move`, { target: "online" })).toMatchObject({
      status: 409,
      body: { error: { code: "licence_required" } },
    });
    expect(await call("POST", `/users/${enc}/move`, { target: "online", bogus: true })).toMatchObject({ status: 400 });
    expect(await call("POST", `/users/${enc}/move`, { target: "not a pool" })).toMatchObject({ status: 400 });
    expect(await call("PATCH", `/users/${enc}`, { displayName: "Kenneth" })).toMatchObject({
      status: 409,
      body: { error: { code: "on_premises_authority" } },
    });
    await makeUser(t, "cloud", { licensed: false });
    const cloudy = await call("POST", `/onprem/users/${encodeURIComponent(t.upn("cloud"))}/enable`, {
      registrarPool: "pool01.contoso.com",
      sipAddressType: "UserPrincipalName",
    });
    expect(cloudy).toMatchObject({ status: 409, body: { error: { code: "cloud_only_user" } } });
    const { users: _u, audit_events: _a, ...was } = before;
    const { users: _v, audit_events: _b, ...now } = await tenantSnapshot(t.ctx);
    expect(now).toEqual(was);

    const bulk = await call("POST", "/users/move", {
      userList: upn,
      target: "online",
      bypassEnterpriseVoiceCheck: true,
      dryRun: true,
      wait: true,
    });
    expect(bulk).toMatchObject({ status: 200, body: { report: { dryRun: true, summary: { changed: 0, failed: 1 } } } });
  });
});
