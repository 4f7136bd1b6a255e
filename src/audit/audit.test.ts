import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildTestServer } from "../../test/support/auth.ts";
import { newTenant } from "../../test/support/fixtures.ts";
import { openTestRuntime, type TestRuntime } from "../../test/support/store.ts";
import { listAuditEvents, recordAudit } from "./audit.service.ts";

let rt: TestRuntime;
beforeAll(async () => {
  rt = await openTestRuntime();
});
afterAll(async () => {
  await rt?.close();
});

describe("audit log time range", () => {
  it("gives the events at or after `from` and before `to`; a bad time is refused at the edge", async () => {
    const t = await newTenant(rt, { bridge: false });
    await recordAudit(t.ctx, [{ operation: "test.first", targetType: "test", targetId: "1" }]);
    const [first] = await listAuditEvents(t.ctx, { operation: "test.*" });
    if (!first) throw new Error("no event");
    await new Promise((r) => setTimeout(r, 20));
    await recordAudit(t.ctx, [{ operation: "test.second", targetType: "test", targetId: "2" }]);
    const [second] = await listAuditEvents(t.ctx, { operation: "test.second" });
    if (!second) throw new Error("no event");
    expect(Date.parse(second.at)).toBeGreaterThan(Date.parse(first.at));

    const ops = async (q: { from?: string; to?: string }) =>
      (await listAuditEvents(t.ctx, { operation: "test.*", ...q })).map((e) => e.operation);
    expect(await ops({})).toEqual(["test.second", "test.first"]);
    expect(await ops({ from: second.at })).toEqual(["test.second"]);
    expect(await ops({ to: second.at })).toEqual(["test.first"]);
    expect(await ops({ from: first.at, to: second.at })).toEqual(["test.first"]);
    expect(await ops({ from: "2999-01-01T00:00:00Z" })).toEqual([]);

    const app = await buildTestServer(rt, "reader");
    const ok = await app.inject({
      url: `/api/v1/audit?operation=test.*&from=${encodeURIComponent(second.at)}`,
      headers: { "x-callplane-tenant": t.ctx.tenantId },
    });
    expect(ok.statusCode, ok.body).toBe(200);
    expect((ok.json() as { operation: string }[]).map((e) => e.operation)).toEqual(["test.second"]);
    const bad = await app.inject({ url: "/api/v1/audit?from=yesterday", headers: { "x-callplane-tenant": t.ctx.tenantId } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.message).toContain("querystring.from");
    await app.close();
  });
});

describe("audit log operation filter", () => {
  it("takes only * as a wildcard: a backslash, % or _ in the filter is matched as itself, never a server error", async () => {
    const t = await newTenant(rt, { bridge: false });
    await recordAudit(t.ctx, [
      { operation: "odd.op_x", targetType: "test" },
      { operation: "odd.opyx", targetType: "test" },
      { operation: "odd.100%", targetType: "test" },
      { operation: "odd.back\\slash", targetType: "test" },
    ]);
    // A filter ending in a backslash was a server error (500).
    const app = await buildTestServer(rt, "reader");
    for (const operation of ["odd.\\", "\\", "odd.back\\", "%\\"]) {
      const res = await app.inject({
        url: `/api/v1/audit?operation=${encodeURIComponent(operation)}`,
        headers: { "x-callplane-tenant": t.ctx.tenantId },
      });
      expect(res.statusCode, `${operation}: ${res.body}`).toBe(200);
      expect(res.json()).toEqual([]);
    }
    await app.close();
    const ops = async (operation: string) => (await listAuditEvents(t.ctx, { operation })).map((e) => e.operation).sort();
    expect(await ops("odd.op_x")).toEqual(["odd.op_x"]);
    expect(await ops("odd.1%")).toEqual([]);
    expect(await ops("odd.100%")).toEqual(["odd.100%"]);
    expect(await ops("odd.back\\slash")).toEqual(["odd.back\\slash"]);
    expect(await ops("odd.back\\*")).toEqual(["odd.back\\slash"]);
    expect(await ops("odd.*")).toHaveLength(4);
    expect(await ops("odd.\\")).toEqual([]);
  });
});
