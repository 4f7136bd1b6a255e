// A tenant is named by its name, its domain or its id (--tenant, X-Callplane-Tenant): no reference may
// fit two tenants. Such tenants are refused when created, and a reference that fits two (tenants made
// before the rule) is refused naming both, never resolved to whichever came first.
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildTestServer } from "../../test/support/auth.ts";
import { openTestRuntime, type TestRuntime } from "../../test/support/store.ts";
import { AppError } from "../core/errors.ts";
import { rows } from "../store/db.ts";
import { createTenant, resolveTenant } from "./tenant.service.ts";

let rt: TestRuntime;
beforeAll(async () => {
  rt = await openTestRuntime();
});
afterAll(async () => {
  await rt?.close();
});

async function refusal(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error("expected a refusal");
}

async function tenantCount(): Promise<number> {
  const [r] = await rows<{ n: number }>(rt.store.db, sql`select count(*)::int as n from tenants`);
  return r?.n ?? 0;
}

describe("creating a tenant", () => {
  it("refuses a name that is another tenant's domain, and a domain that is another tenant's name or domain", async () => {
    const contoso = await createTenant(rt.store.db, { name: "Contoso", domain: "contoso.com" });
    const before = await tenantCount();

    const nameIsDomain = await refusal(createTenant(rt.store.db, { name: "CONTOSO.com", domain: "fabrikam.com" }));
    expect(nameIsDomain.code).toBe("duplicate");
    expect(nameIsDomain.details[0]?.path).toBe("body.name");
    expect(nameIsDomain.message).toContain("Contoso");
    expect(nameIsDomain.message).toContain("contoso.com");

    const sameDomain = await refusal(createTenant(rt.store.db, { name: "Contoso Europe", domain: "Contoso.COM" }));
    expect(sameDomain.code).toBe("duplicate");
    expect(sameDomain.details[0]?.path).toBe("body.domain");
    expect(sameDomain.message).toContain("Contoso");

    await createTenant(rt.store.db, { name: "tailspin.example.com", domain: "tailspintoys.example.com" });
    const domainIsName = await refusal(createTenant(rt.store.db, { name: "Tailspin 2", domain: "TAILSPIN.example.com" }));
    expect(domainIsName.code).toBe("duplicate");
    expect(domainIsName.details[0]?.path).toBe("body.domain");
    expect(domainIsName.message).toContain("tailspin.example.com");

    const nameIsId = await refusal(createTenant(rt.store.db, { name: contoso.id.toUpperCase(), domain: "ids.example.com" }));
    expect(nameIsId.code).toBe("invalid_input");
    expect(nameIsId.details[0]?.path).toBe("body.name");

    expect(await tenantCount()).toBe(before + 1);
    // A tenant whose name is its own domain is fine: the reference fits one tenant.
    await createTenant(rt.store.db, { name: "northwind.example.com", domain: "northwind.example.com" });
  });

  it("refuses through the API with 409 naming the other tenant", async () => {
    await createTenant(rt.store.db, { name: "Litware", domain: "litware.example.com" });
    const app = await buildTestServer(rt);
    const res = await app.inject({
      method: "POST",
      url: "/api/v1/tenants",
      headers: { "content-type": "application/json" },
      payload: JSON.stringify({ name: "litware.example.com", domain: "other-litware.example.com" }),
    });
    expect(res.statusCode, res.body).toBe(409);
    expect(res.json().error).toMatchObject({ code: "duplicate", details: [{ path: "body.name" }] });
    expect(res.json().error.message).toContain("Litware");
    await app.close();
  });

  it("lets only one of two tenants created at once with clashing names and domains in", async () => {
    const results = await Promise.allSettled([
      createTenant(rt.store.db, { name: "Race A", domain: "race.example.com" }),
      createTenant(rt.store.db, { name: "race.example.com", domain: "race-b.example.com" }),
      createTenant(rt.store.db, { name: "Race C", domain: "race.example.com" }),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    for (const r of results) if (r.status === "rejected") expect((r.reason as AppError).code).toBe("duplicate");
  });
});

describe("a tenant reference", () => {
  it("that fits two tenants (made before the rule) is refused naming both, and the id still works", async () => {
    // Tenants an earlier version let in: one's name is the other's domain.
    const [a] = await rows<{ id: string }>(
      rt.store.db,
      sql`insert into tenants (name, domain) values ('Adatum', 'adatum.example.com') returning id`,
    );
    const [b] = await rows<{ id: string }>(
      rt.store.db,
      sql`insert into tenants (name, domain) values ('adatum.example.com', 'adatum-two.example.com') returning id`,
    );
    if (!a || !b) throw new Error("no tenants");

    const err = await refusal(resolveTenant(rt.store.db, "ADATUM.example.com"));
    expect(err.code).toBe("ambiguous_identity");
    expect(err.message).toContain(a.id);
    expect(err.message).toContain(b.id);
    expect(err.message).toMatch(/id/);
    expect((await resolveTenant(rt.store.db, a.id)).name).toBe("Adatum");
    expect((await resolveTenant(rt.store.db, b.id)).name).toBe("adatum.example.com");
    expect((await resolveTenant(rt.store.db, "Adatum")).id).toBe(a.id);

    const app = await buildTestServer(rt);
    const res = await app.inject({ url: "/api/v1/users", headers: { "x-callplane-tenant": "adatum.example.com" } });
    expect(res.statusCode, res.body).toBe(409);
    expect(res.json().error.message).toContain(b.id);
    const byId = await app.inject({ url: "/api/v1/users", headers: { "x-callplane-tenant": b.id } });
    expect(byId.statusCode, byId.body).toBe(200);
    await app.close();
  });

  it("that fits two tenants by one shared domain is refused too", async () => {
    await rt.store.db.execute(
      sql`insert into tenants (name, domain) values ('Shared One', 'shared.example.com'), ('Shared Two', 'shared.example.com')`,
    );
    const err = await refusal(resolveTenant(rt.store.db, "shared.example.com"));
    expect(err.code).toBe("ambiguous_identity");
    expect(err.message).toContain("Shared One");
    expect(err.message).toContain("Shared Two");
  });
});
