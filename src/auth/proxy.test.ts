// Behind a reverse proxy (serve --trust-proxy): the audit log and the sign-in slow-down see the
// client's address from X-Forwarded-For, but only when the request comes from a trusted proxy.
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tokenFor } from "../../test/support/auth.ts";
import { openTestRuntime, type TestRuntime } from "../../test/support/store.ts";
import { buildServer } from "../http/server.ts";
import { rows } from "../store/db.ts";

let rt: TestRuntime;
beforeAll(async () => {
  rt = await openTestRuntime();
});
afterAll(async () => {
  await rt?.close();
});

async function sourceOfTokenCreatedVia(opts: { trustProxy?: string[] }, remoteAddress: string, name: string): Promise<string> {
  const app = await buildServer(rt, opts);
  const admin = await tokenFor(rt, "global-admin", `admin-${name}`);
  const res = await app.inject({
    method: "POST",
    url: "/api/v1/auth/tokens",
    remoteAddress,
    headers: { authorization: `Bearer ${admin}`, "content-type": "application/json", "x-forwarded-for": "203.0.113.9" },
    payload: JSON.stringify({ name, role: "reader" }),
  });
  await app.close();
  expect(res.statusCode, res.body).toBe(201);
  const [event] = await rows<{ source: string }>(
    rt.store.db,
    sql`select source from audit_events where operation = 'auth.token.create' and after->>'name' = ${name} order by id desc limit 1`,
  );
  return event?.source ?? "(no event)";
}

describe("serve --trust-proxy", () => {
  it("takes the client address from X-Forwarded-For only from a trusted proxy", async () => {
    expect(await sourceOfTokenCreatedVia({}, "127.0.0.1", "untrusted")).toBe("ip:127.0.0.1");
    expect(await sourceOfTokenCreatedVia({ trustProxy: ["127.0.0.1"] }, "127.0.0.1", "trusted")).toBe("ip:203.0.113.9");
    expect(await sourceOfTokenCreatedVia({ trustProxy: ["10.0.0.0/8"] }, "127.0.0.1", "other-proxy")).toBe("ip:127.0.0.1");
  });
});
