// Every route × every role (and no credentials, an expired token, a revoked token, a session cookie
// without its CSRF header) → allowed or refused, as an independent, hand-written policy says. The
// routes come from the server itself, so a new endpoint is in the matrix the day it is added, and one
// without a permission stops the server from starting.
import { sql } from "drizzle-orm";
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAccount, createApiToken, revokeApiToken } from "../src/auth/auth.service.ts";
import { installAccessControl } from "../src/auth/http-auth.ts";
import { type Permission, permissions, type Role, rolePermissions, roles, routePermissions } from "../src/auth/permissions.ts";
import { buildServer } from "../src/http/server.ts";
import { createTenant } from "../src/tenancy/tenant.service.ts";
import { openTestRuntime, type TestRuntime } from "./support/store.ts";

const by = { actor: "local:test", source: "cli:in-process" };

/**
 * The policy, written from the role descriptions rather than from the table: who may use a route,
 * decided by its method and path alone. A route no rule covers fails the suite (add a rule).
 */
function expectedRoles(method: string, url: string): Role[] | "public" | "anyone" {
  const all: Role[] = [...roles];
  const path = url.replace(/^\/api\/v1/, "");
  const read = method === "GET" || method === "HEAD";
  if (method === "POST" && path === "/auth/sign-in") return "public";
  if (["/auth/session", "/auth/sign-out", "/auth/password", "/auth/roles"].includes(path)) return "anyone";
  if (path.startsWith("/auth/tokens") || path.startsWith("/auth/accounts")) return ["global-admin"];
  if (read) return all;
  // The test tools of voice routing change nothing: anyone who reads may use them.
  if (method === "POST" && path.startsWith("/voice/test/")) return all;
  // So does the impact preview of a publish.
  if (method === "POST" && path === "/voice/publish/plan") return all;
  if (path === "/conferencing/users/:identity/reset-pin") return ["global-admin", "conferencing-admin", "helpdesk"];
  if (path === "/conferencing/move-to-microsoft" || path === "/conferencing/restore-job") return ["global-admin", "conferencing-admin"];
  if (path.startsWith("/mail/")) return ["global-admin", "conferencing-admin"];
  if (path.startsWith("/conferencing/") || path === "/users/:identity/acp") return ["global-admin", "conferencing-admin"];
  if (path.startsWith("/voice/")) return ["global-admin", "voice-admin"];
  if (
    path.startsWith("/directory/") ||
    path.startsWith("/onprem/") ||
    path === "/users/:identity/voice" ||
    path === "/users/:identity/online-voice-routing-policy" ||
    path === "/users/move" ||
    path === "/users/:identity/move"
  ) {
    return ["global-admin", "voice-admin"];
  }
  if (path === "/jobs/:id/resume") return ["global-admin", "voice-admin", "conferencing-admin"];
  if (path.startsWith("/licences") || path.startsWith("/users/:identity/licences")) return ["global-admin"];
  if (path === "/users" || path === "/users/:identity") return ["global-admin"];
  if (path === "/tenants" || path === "/demo") return ["global-admin"];
  throw new Error(`No rule in the access matrix test says who may ${method} ${url}: add one to expectedRoles.`);
}

/** What each role's description promises, family by family, checked against the role table. */
const promised: Record<Role, { reads: boolean; writes: Permission[] }> = {
  "global-admin": { reads: true, writes: permissions.filter((p) => !p.endsWith(".read")) },
  "voice-admin": { reads: true, writes: ["voice.write", "directory.write", "users.move", "jobs.resume"] },
  "conferencing-admin": { reads: true, writes: ["conferencing.write", "conferencing.bulk", "pin.reset", "jobs.resume"] },
  helpdesk: { reads: true, writes: ["pin.reset"] },
  reader: { reads: true, writes: [] },
};

interface Route {
  method: string;
  url: string;
}

let rt: TestRuntime;
let app: FastifyInstance;
let routes: Route[];
const tokens = {} as Record<Role | "expired" | "revoked", string>;
let cookie: string;

/** Every route the server documents, as Fastify names it (`:param`). */
function documentedRoutes(server: FastifyInstance): Route[] {
  const doc = server.swagger() as { paths: Record<string, Record<string, unknown>> };
  const out: Route[] = [];
  for (const [p, ops] of Object.entries(doc.paths)) {
    for (const m of Object.keys(ops)) out.push({ method: m.toUpperCase(), url: p.replace(/\{([^}]+)\}/g, ":$1") });
  }
  return out;
}

const samples: Record<string, string> = {
  identity: "matrix-nobody@example.com",
  id: "00000000-0000-4000-8000-000000000000",
  sku: "NOSKU",
  bridge: "No such bridge",
  number: "+19995550100",
  name: "matrix-nobody",
};

function concrete(url: string): string {
  return url.replace(/:([A-Za-z]+)/g, (_m, p: string) => encodeURIComponent(samples[p] ?? "x"));
}

async function probe(r: Route, headers: Record<string, string>): Promise<{ status: number; code?: string; body: string }> {
  const write = !["GET", "HEAD"].includes(r.method);
  const res = await app.inject({
    method: r.method as "GET",
    url: concrete(r.url),
    headers: write ? { ...headers, "content-type": "application/json" } : headers,
    // An unknown field: the routes that are allowed stop at validation (or at a missing object) and change nothing.
    payload: write ? JSON.stringify({ matrixProbe: true }) : undefined,
  });
  let code: string | undefined;
  try {
    code = (JSON.parse(res.body) as { error?: { code?: string } }).error?.code;
  } catch {
    code = undefined;
  }
  return { status: res.statusCode, code, body: res.body };
}

beforeAll(async () => {
  rt = await openTestRuntime();
  await createTenant(rt.store.db, { name: "Matrix", domain: "matrix.example.com" });
  app = await buildServer(rt);
  for (const role of roles) tokens[role] = (await createApiToken(rt.store.db, by, { name: `matrix-${role}`, role })).token;
  const expired = await createApiToken(rt.store.db, by, { name: "matrix-expired", role: "global-admin", expiresIn: "1s" });
  await rt.store.db.execute(sql`update api_tokens set expires_at = now() - interval '1 second' where id = ${expired.tokenInfo.id}`);
  tokens.expired = expired.token;
  const revoked = await createApiToken(rt.store.db, by, { name: "matrix-revoked", role: "global-admin" });
  await revokeApiToken(rt.store.db, by, revoked.tokenInfo.id);
  tokens.revoked = revoked.token;
  await new Promise((r) => setTimeout(r, 5));
  await createAccount(rt.store.db, by, { name: "matrix-web", role: "global-admin", password: "correct horse battery staple" });
  const signIn = await app.inject({
    method: "POST",
    url: "/api/v1/auth/sign-in",
    payload: { username: "matrix-web", password: "correct horse battery staple" },
  });
  expect(signIn.statusCode, signIn.body).toBe(200);
  cookie = String(signIn.headers["set-cookie"]).split(";")[0] ?? "";
  routes = documentedRoutes(app);
});

afterAll(async () => {
  await app?.close();
  await rt?.close();
});

describe("the permission table", () => {
  it("has an entry for every route the server has, and no entry without a route", () => {
    expect(routes.length).toBeGreaterThan(80);
    const keys = new Set(routes.map((r) => `${r.method} ${r.url}`));
    expect([...keys].filter((k) => !Object.hasOwn(routePermissions, k))).toEqual([]);
    const stale = Object.keys(routePermissions).filter((k) => {
      const [method, url] = k.split(" ") as [string, string];
      return !app.hasRoute({ method: method as "GET", url });
    });
    expect(stale).toEqual([]);
  });

  it("gives each role what its description promises", () => {
    for (const role of roles) {
      const has = new Set(rolePermissions[role]);
      const reads = permissions.filter((p) => p.endsWith(".read"));
      expect(
        reads.every((p) => has.has(p)),
        `${role} reads everything`,
      ).toBe(promised[role].reads);
      expect([...has].filter((p) => !p.endsWith(".read")).sort(), role).toEqual([...promised[role].writes].sort());
    }
  });

  it("stops the server from starting when a route under /api/ has no permission, naming it", async () => {
    const bare = Fastify();
    installAccessControl(bare, rt.store.db);
    expect(() => bare.get("/api/v1/unlisted/:thing", async () => ({}))).toThrow("GET /api/v1/unlisted/:thing has no permission");
    // Routes are registered in plugins under the /api/v1 prefix, as buildServer does.
    const scoped = Fastify();
    installAccessControl(scoped, rt.store.db);
    scoped.register(async (s) => void s.post("/dashboard", async () => ({})), { prefix: "/api/v1" });
    await expect(scoped.ready()).rejects.toThrow("POST /api/v1/dashboard has no permission");
    // Outside /api/ (the web admin center's pages) nothing is needed.
    const web = Fastify();
    installAccessControl(web, rt.store.db);
    web.get("/assets/app.js", async () => "");
    await web.ready();
    await Promise.all([bare.close(), scoped.close().catch(() => {}), web.close()]);
  });
});

describe("every route × every principal", () => {
  it("allows exactly the roles the policy names, and refuses the rest with 403 naming the permission", async () => {
    const wrong: string[] = [];
    let probes = 0;
    for (const r of routes) {
      const expected = expectedRoles(r.method, r.url);
      for (const role of roles) {
        const a = await probe(r, { authorization: `Bearer ${tokens[role]}` });
        probes++;
        const allowed = !(a.status === 401 || (a.status === 403 && a.code === "forbidden"));
        const shouldBe = expected === "public" || expected === "anyone" || expected.includes(role);
        if (a.status >= 500) wrong.push(`${r.method} ${r.url} as ${role}: ${a.status} ${a.body.slice(0, 200)}`);
        else if (allowed !== shouldBe)
          wrong.push(`${r.method} ${r.url} as ${role}: ${a.status} ${a.code}, expected ${shouldBe ? "allowed" : "refused"}`);
        else if (!allowed) {
          const permission = routePermissions[`${r.method} ${r.url}`] ?? "";
          if (!a.body.includes(permission)) wrong.push(`${r.method} ${r.url} as ${role}: the refusal does not name ${permission}`);
        }
      }
    }
    expect(wrong).toEqual([]);
    expect(probes).toBe(routes.length * roles.length);
  });

  it("answers 401 to no credentials, an expired token, a revoked token, a malformed token and a forged local key", async () => {
    const wrong: string[] = [];
    const principals: [string, Record<string, string>, RegExp][] = [
      ["no credentials", {}, /Sign in first/],
      ["an expired token", { authorization: `Bearer ${tokens.expired}` }, /has expired/],
      ["a revoked token", { authorization: `Bearer ${tokens.revoked}` }, /was revoked/],
      ["a malformed token", { authorization: "Bearer cpt_nonsense" }, /not valid/],
      ["a token with a wrong secret", { authorization: `Bearer ${tokens.reader.slice(0, -4)}AAAA` }, /not valid/],
      ["a basic credential", { authorization: "Basic YWRtaW46YWRtaW4=" }, /Bearer/],
      // The server was built without a local operator: the header is only a header.
      ["a local-operator key", { "x-callplane-local": "anything" }, /Sign in first/],
      ["an actor header", { "x-callplane-actor": "local:root" }, /Sign in first/],
      ["an unknown session cookie", { cookie: "callplane_session=forged" }, /session has ended/],
    ];
    for (const r of routes) {
      const expected = expectedRoles(r.method, r.url);
      for (const [what, headers, message] of principals) {
        const a = await probe(r, headers);
        if (expected === "public") {
          if (a.status === 401 && a.code === "unauthenticated" && r.url.endsWith("/sign-in")) continue;
          if (a.status < 400 || a.status >= 500 || a.code === "unauthenticated")
            wrong.push(`${r.method} ${r.url} with ${what}: ${a.status}`);
        } else if (a.status !== 401 || a.code !== "unauthenticated" || !message.test(a.body)) {
          wrong.push(`${r.method} ${r.url} with ${what}: ${a.status} ${a.body.slice(0, 160)}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it("takes the session cookie for reads, and for changes only with the CSRF header", async () => {
    const wrong: string[] = [];
    const session = await app.inject({ method: "GET", url: "/api/v1/auth/session", headers: { cookie } });
    const csrf = (JSON.parse(session.body) as { csrfToken: string }).csrfToken;
    expect(csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);
    for (const r of routes) {
      const expected = expectedRoles(r.method, r.url);
      if (expected === "public") continue;
      const write = !["GET", "HEAD"].includes(r.method);
      if (r.url.endsWith("/auth/sign-out")) continue; // would end the session the rest of the loop uses
      const bare = await probe(r, { cookie });
      const wrongCsrf = await probe(r, { cookie, "x-csrf-token": `${csrf.slice(0, -2)}xx` });
      const withCsrf = await probe(r, { cookie, "x-csrf-token": csrf });
      if (write) {
        if (bare.status !== 403 || bare.code !== "csrf") wrong.push(`${r.method} ${r.url} without CSRF: ${bare.status} ${bare.code}`);
        if (wrongCsrf.status !== 403 || wrongCsrf.code !== "csrf")
          wrong.push(`${r.method} ${r.url} with a wrong CSRF: ${wrongCsrf.status}`);
      } else if ([401, 403].includes(bare.status)) wrong.push(`${r.method} ${r.url} read with the cookie: ${bare.status}`);
      if ([401, 403].includes(withCsrf.status) || withCsrf.status >= 500) {
        wrong.push(`${r.method} ${r.url} with cookie and CSRF: ${withCsrf.status} ${withCsrf.body.slice(0, 160)}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
