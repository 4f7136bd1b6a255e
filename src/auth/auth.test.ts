// Access control through the real server: web sign-in with its cookie, CSRF and password change,
// session lifetimes, the sign-in slow-down, security headers, the local operator (in-process only),
// first run, and the audit log: append only, naming the principal and the source of every event.
import { sql } from "drizzle-orm";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tokenFor } from "../../test/support/auth.ts";
import { openTestRuntime, type TestRuntime } from "../../test/support/store.ts";
import { buildDemoTenant } from "../demo/demo.service.ts";
import { buildServer } from "../http/server.ts";
import { rows } from "../store/db.ts";
import { createAccount, ensureFirstAdmin } from "./auth.service.ts";
import { contentSecurityPolicy } from "./http-auth.ts";

const by = { actor: "local:test", source: "cli:in-process" };
const PASSWORD = "a long enough passphrase 1";

let rt: TestRuntime;
let app: FastifyInstance;
let accountSeq = 0;

type Method = "GET" | "POST" | "PATCH" | "PUT" | "DELETE";

async function send(method: Method, url: string, headers: Record<string, string> = {}, body?: unknown): Promise<LightMyRequestResponse> {
  return app.inject({
    method,
    url: `/api/v1${url}`,
    headers: body === undefined ? headers : { ...headers, "content-type": "application/json" },
    payload: body === undefined ? undefined : JSON.stringify(body),
    remoteAddress: headers["x-test-ip"] ?? "127.0.0.1",
  });
}

function codeOf(res: LightMyRequestResponse): string | undefined {
  return (JSON.parse(res.body) as { error?: { code?: string } }).error?.code;
}

interface Web {
  name: string;
  cookie: string;
  csrf: string;
  body: { principal: { kind: string; name: string; role: string; permissions: string[] }; csrfToken: string; mustChangePassword: boolean };
  res: LightMyRequestResponse;
}

async function signIn(name: string, password: string, ip = "127.0.0.1"): Promise<Web> {
  const res = await send("POST", "/auth/sign-in", { "x-test-ip": ip }, { username: name, password });
  expect(res.statusCode, res.body).toBe(200);
  const body = JSON.parse(res.body) as Web["body"];
  return { name, cookie: String(res.headers["set-cookie"]).split(";")[0] ?? "", csrf: body.csrfToken, body, res };
}

async function newAccount(role: Parameters<typeof createAccount>[2]["role"], opts: { oneTime?: boolean } = {}) {
  accountSeq++;
  const name = `web${accountSeq}`;
  const made = await createAccount(rt.store.db, by, { name, role, password: opts.oneTime ? undefined : PASSWORD });
  return { name, password: made.oneTimePassword ?? PASSWORD };
}

beforeAll(async () => {
  rt = await openTestRuntime();
  await buildDemoTenant(rt.store.db, rt.env, { users: 60, seed: 3 });
  app = await buildServer(rt);
});

afterAll(async () => {
  await app?.close();
  await rt?.close();
});

describe("web sign-in", () => {
  it("sets an HttpOnly, SameSite=Strict session cookie and returns the principal with its permissions and the CSRF token", async () => {
    const a = await newAccount("helpdesk");
    const web = await signIn(a.name, a.password);
    expect(web.res.headers["set-cookie"]).toMatch(
      /^callplane_session=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\/; Max-Age=43200$/,
    );
    expect(web.body).toEqual({
      principal: { kind: "account", name: a.name, role: "helpdesk", permissions: expect.arrayContaining(["pin.reset", "users.read"]) },
      csrfToken: web.csrf,
      mustChangePassword: false,
    });
    expect(web.body.principal.permissions).not.toContain("conferencing.write");
    const session = await send("GET", "/auth/session", { cookie: web.cookie });
    expect(session.statusCode).toBe(200);
    expect(JSON.parse(session.body)).toEqual(web.body);
  });

  it("refuses a wrong password or an unknown name alike, with 401", async () => {
    const a = await newAccount("reader");
    const wrong = await send("POST", "/auth/sign-in", { "x-test-ip": "10.0.0.1" }, { username: a.name, password: "not the password" });
    const unknown = await send(
      "POST",
      "/auth/sign-in",
      { "x-test-ip": "10.0.0.1" },
      { username: "nobody-here", password: "whatever it is" },
    );
    for (const r of [wrong, unknown]) {
      expect(r.statusCode).toBe(401);
      expect(JSON.parse(r.body).error).toMatchObject({
        code: "unauthenticated",
        message: "The username or password is wrong (or the account is disabled).",
      });
      expect(r.headers["set-cookie"]).toBeUndefined();
    }
  });

  it("makes an account with a one-time password change it before anything else", async () => {
    const a = await newAccount("global-admin", { oneTime: true });
    expect(a.password).toMatch(/^[A-Za-z2-9]{20}$/);
    const web = await signIn(a.name, a.password);
    expect(web.body.mustChangePassword).toBe(true);
    const blocked = await send("GET", "/users?limit=1", { cookie: web.cookie });
    expect(blocked.statusCode).toBe(403);
    expect(codeOf(blocked)).toBe("password_change_required");
    const tooShort = await send(
      "POST",
      "/auth/password",
      { cookie: web.cookie, "x-csrf-token": web.csrf },
      { currentPassword: a.password, newPassword: "short" },
    );
    expect(tooShort.statusCode).toBe(400);
    const noCsrf = await send("POST", "/auth/password", { cookie: web.cookie }, { currentPassword: a.password, newPassword: PASSWORD });
    expect(codeOf(noCsrf)).toBe("csrf");
    const changed = await send(
      "POST",
      "/auth/password",
      { cookie: web.cookie, "x-csrf-token": web.csrf },
      { currentPassword: a.password, newPassword: PASSWORD },
    );
    expect(changed.statusCode, changed.body).toBe(204);
    const now = await send("GET", "/users?limit=1", { cookie: web.cookie });
    expect(now.statusCode).toBe(200);
    // The one-time password no longer works; the new one does.
    const old = await send("POST", "/auth/sign-in", {}, { username: a.name, password: a.password });
    expect(old.statusCode).toBe(401);
    expect((await signIn(a.name, PASSWORD)).body.mustChangePassword).toBe(false);
  });

  it("signs out: the cookie is cleared and the session ends on the server", async () => {
    const a = await newAccount("reader");
    const web = await signIn(a.name, a.password);
    const noCsrf = await send("POST", "/auth/sign-out", { cookie: web.cookie });
    expect(codeOf(noCsrf)).toBe("csrf");
    const out = await send("POST", "/auth/sign-out", { cookie: web.cookie, "x-csrf-token": web.csrf });
    expect(out.statusCode).toBe(204);
    expect(out.headers["set-cookie"]).toBe("callplane_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    const after = await send("GET", "/auth/session", { cookie: web.cookie });
    expect(after.statusCode).toBe(401);
  });

  it("ends a session idle for more than 30 minutes, or older than 12 hours, whatever its activity", async () => {
    const a = await newAccount("reader");
    const idle = await signIn(a.name, a.password);
    const old = await signIn(a.name, a.password);
    const fresh = await signIn(a.name, a.password);
    const hash = (c: string) => sql`encode(sha256(convert_to(${c.split("=")[1] ?? ""}, 'UTF8')), 'hex')`;
    await rt.store.db.execute(sql`update sessions set last_seen_at = now() - interval '31 minutes' where id_hash = ${hash(idle.cookie)}`);
    await rt.store.db.execute(
      sql`update sessions set created_at = now() - interval '12 hours', expires_at = now() - interval '1 second' where id_hash = ${hash(old.cookie)}`,
    );
    for (const w of [idle, old]) {
      const r = await send("GET", "/auth/session", { cookie: w.cookie });
      expect(r.statusCode).toBe(401);
      expect(JSON.parse(r.body).error.message).toContain("expired");
    }
    expect((await send("GET", "/auth/session", { cookie: fresh.cookie })).statusCode).toBe(200);
  });

  it("disabling an account ends its sessions at once; a role change applies to the next request", async () => {
    const a = await newAccount("reader");
    const b = await newAccount("reader");
    const webA = await signIn(a.name, a.password);
    const webB = await signIn(b.name, b.password);
    const admin = { authorization: `Bearer ${await tokenFor(rt, "global-admin", "accounts-admin")}` };
    expect((await send("PATCH", `/auth/accounts/${a.name}`, admin, { disabled: true })).statusCode).toBe(200);
    expect((await send("GET", "/users?limit=1", { cookie: webA.cookie })).statusCode).toBe(401);
    expect((await send("POST", "/auth/sign-in", {}, { username: a.name, password: a.password })).statusCode).toBe(401);
    const before = await send("POST", "/conferencing/bridges", { cookie: webB.cookie, "x-csrf-token": webB.csrf }, {});
    expect(codeOf(before)).toBe("forbidden");
    expect((await send("PATCH", `/auth/accounts/${b.name}`, admin, { role: "conferencing-admin" })).statusCode).toBe(200);
    const after = await send("POST", "/conferencing/bridges", { cookie: webB.cookie, "x-csrf-token": webB.csrf }, {});
    expect(after.statusCode).toBe(400);
  });
});

describe("repeated failed sign-ins", () => {
  it("are slowed down per username with 429 and Retry-After, even for the right password, and the block is kept in the store", async () => {
    const a = await newAccount("reader");
    for (let i = 0; i < 5; i++) {
      const r = await send("POST", "/auth/sign-in", { "x-test-ip": `10.1.0.${i}` }, { username: a.name, password: `wrong ${i} wrong` });
      expect(r.statusCode).toBe(401);
    }
    const blocked = await send("POST", "/auth/sign-in", { "x-test-ip": "10.1.1.1" }, { username: a.name, password: a.password });
    expect(blocked.statusCode).toBe(429);
    expect(codeOf(blocked)).toBe("rate_limited");
    expect(Number(blocked.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    // Another server on the same store (a restart, another node) sees the same block.
    const other = await buildServer(rt);
    const again = await other.inject({ method: "POST", url: "/api/v1/auth/sign-in", payload: { username: a.name, password: a.password } });
    expect(again.statusCode).toBe(429);
    await other.close();
    // Other accounts are not blocked by it.
    const b = await newAccount("reader");
    await signIn(b.name, b.password, "10.1.1.1");
  });

  it("are slowed down per address, whatever the usernames tried", async () => {
    // Ten at a time: each failure costs a scrypt (against a decoy hash for unknown names), run on the thread pool.
    for (let i = 0; i < 30; i += 10) {
      const batch = await Promise.all(
        Array.from({ length: 10 }, (_, j) =>
          send("POST", "/auth/sign-in", { "x-test-ip": "10.9.9.9" }, { username: `spray${i + j}`, password: "Winter2026!!" }),
        ),
      );
      for (const r of batch) expect(r.statusCode).toBe(401);
    }
    const a = await newAccount("reader");
    const r = await send("POST", "/auth/sign-in", { "x-test-ip": "10.9.9.9" }, { username: a.name, password: a.password });
    expect(r.statusCode).toBe(429);
  });
});

describe("the edge", () => {
  it("sets the security headers on every response: API, error, 404 and health", async () => {
    const token = await tokenFor(rt, "reader", "headers");
    const answers = [
      await send("GET", "/users?limit=1", { authorization: `Bearer ${token}` }),
      await send("GET", "/users?limit=1"),
      await app.inject({ method: "GET", url: "/no/such/page" }),
      await app.inject({ method: "GET", url: "/healthz" }),
      await send("POST", "/auth/sign-in", {}, "{not json"),
    ];
    for (const r of answers) {
      expect(r.headers["content-security-policy"]).toBe(contentSecurityPolicy);
      expect(r.headers["content-security-policy"]).toContain("frame-ancestors 'none'");
      expect(r.headers["x-frame-options"]).toBe("DENY");
      expect(r.headers["x-content-type-options"]).toBe("nosniff");
      expect(r.headers["referrer-policy"]).toBe("no-referrer");
    }
    expect(answers[0]?.headers["cache-control"]).toBe("no-store");
  });

  it("refuses bodies over the limit before reading them, and unknown fields", async () => {
    const token = { authorization: `Bearer ${await tokenFor(rt, "global-admin", "limits")}` };
    const huge = await send("POST", "/tenants", token, { name: "x".repeat(1024 * 1024 + 10), domain: "big.example.com" });
    expect(huge.statusCode).toBe(413);
    const unknown = await send("POST", "/tenants", token, { name: "Extra", domain: "extra.example.com", isAdmin: true });
    expect(unknown.statusCode).toBe(400);
  });
});

describe("the local operator", () => {
  it("exists only in-process: the key works through inject, never once the server listens", async () => {
    const local = await buildServer(rt, { localOperator: { name: "local:alice", key: "k".repeat(64) } });
    const ask = (key: string) => local.inject({ method: "GET", url: "/api/v1/auth/session", headers: { "x-callplane-local": key } });
    const ok = await ask("k".repeat(64));
    expect(ok.statusCode).toBe(200);
    expect(JSON.parse(ok.body).principal).toMatchObject({ kind: "local", name: "local:alice", role: "global-admin" });
    expect((await ask("wrong")).statusCode).toBe(401);
    const address = await local.listen({ host: "127.0.0.1", port: 0 });
    expect((await ask("k".repeat(64))).statusCode).toBe(401);
    const over = await fetch(`${address}/api/v1/auth/session`, { headers: { "x-callplane-local": "k".repeat(64) } });
    expect(over.status).toBe(401);
    await local.close();
  });
});

describe("first run", () => {
  it("creates one global administrator with a one-time password, printed once, never a default one", async () => {
    const fresh = await openTestRuntime();
    try {
      const first = await ensureFirstAdmin(fresh.store.db);
      expect(first?.name).toBe("admin");
      expect(first?.oneTimePassword).toMatch(/^[A-Za-z2-9]{20}$/);
      expect(await ensureFirstAdmin(fresh.store.db)).toBeUndefined();
      const [row] = await rows<{ role: string; must_change_password: boolean; password_hash: string }>(
        fresh.store.db,
        sql`select role, must_change_password, password_hash from accounts where name = 'admin'`,
      );
      expect(row).toMatchObject({ role: "global-admin", must_change_password: true });
      expect(row?.password_hash).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/);
      expect(row?.password_hash).not.toContain(first?.oneTimePassword ?? "-");
      // With CALLPLANE_ADMIN_PASSWORD on a store without accounts, that password, to keep.
      await fresh.store.db.execute(sql`delete from accounts`);
      const automated = await ensureFirstAdmin(fresh.store.db, "set by the automation 42");
      expect(automated).toEqual({ name: "admin", oneTimePassword: null });
      await expect(ensureFirstAdmin(fresh.store.db, "x")).resolves.toBeUndefined();
      const [again] = await rows<{ must_change_password: boolean }>(fresh.store.db, sql`select must_change_password from accounts`);
      expect(again?.must_change_password).toBe(false);
    } finally {
      await fresh.close();
    }
  });
});

describe("the audit log", () => {
  it("names the principal and the source of every event of a bulk move run in the background, and of the CLI's", async () => {
    const token = await tokenFor(rt, "conferencing-admin", "mover");
    const started = await send(
      "POST",
      "/conferencing/move-to-microsoft",
      { authorization: `Bearer ${token}`, "x-test-ip": "192.0.2.7" },
      { fromProvider: "InterCall" },
    );
    expect(started.statusCode, started.body).toBe(202);
    const jobId = (JSON.parse(started.body) as { job: { id: string } }).job.id;
    for (let i = 0; i < 400; i++) {
      const [job] = await rows<{ status: string }>(rt.store.db, sql`select status from jobs where id = ${jobId}`);
      if (job?.status === "completed" || job?.status === "failed") break;
      await new Promise((r) => setTimeout(r, 25));
    }
    const events = await rows<{ actor: string; source: string; operation: string }>(
      rt.store.db,
      sql`select actor, source, operation from audit_events where job_id = ${jobId}`,
    );
    expect(events.length).toBeGreaterThan(0);
    for (const e of events) {
      expect(e.actor).toMatch(/^token:mover\/[0-9a-f]{12}$/);
      expect(e.source).toBe("ip:192.0.2.7");
    }
    const [jobRow] = await rows<{ actor: string }>(rt.store.db, sql`select actor from jobs where id = ${jobId}`);
    expect(jobRow?.actor).toMatch(/^token:mover\//);

    // The same through the in-process CLI: the local operator, from the CLI.
    const local = await buildServer(rt, { localOperator: { name: "local:bob", key: "b".repeat(64) } });
    const moved = await local.inject({
      method: "POST",
      url: "/api/v1/conferencing/move-to-microsoft",
      headers: { "x-callplane-local": "b".repeat(64), "content-type": "application/json" },
      payload: JSON.stringify({ fromProvider: "PGi", wait: true }),
    });
    expect(moved.statusCode, moved.body).toBe(200);
    const localJob = (JSON.parse(moved.body) as { job: { id: string } }).job.id;
    const localEvents = await rows<{ actor: string; source: string }>(
      rt.store.db,
      sql`select distinct actor, source from audit_events where job_id = ${localJob}`,
    );
    expect(localEvents).toEqual([{ actor: "local:bob", source: "cli:in-process" }]);
    await local.close();
  });

  it("records sign-in, token and account changes with who and from where, and lists them with the tenant's", async () => {
    const a = await newAccount("reader");
    await signIn(a.name, a.password, "198.51.100.4");
    const admin = await tokenFor(rt, "global-admin", "auditor");
    const made = await send(
      "POST",
      "/auth/tokens",
      { authorization: `Bearer ${admin}`, "x-test-ip": "198.51.100.5" },
      { name: "ci", role: "reader", expiresIn: "30d" },
    );
    expect(made.statusCode).toBe(201);
    const listed = await send("GET", "/audit?operation=auth.*&limit=20", { authorization: `Bearer ${admin}` });
    const events = JSON.parse(listed.body) as { actor: string; source: string; operation: string }[];
    expect(events).toContainEqual(
      expect.objectContaining({ operation: "auth.sign-in", actor: `account:${a.name}`, source: "ip:198.51.100.4" }),
    );
    expect(events).toContainEqual(
      expect.objectContaining({
        operation: "auth.token.create",
        actor: expect.stringMatching(/^token:auditor\//),
        source: "ip:198.51.100.5",
      }),
    );
  });

  it("cannot be changed or deleted, not even with SQL", async () => {
    const [{ n } = { n: 0 }] = await rows<{ n: number }>(rt.store.db, sql`select count(*)::int as n from audit_events`);
    expect(n).toBeGreaterThan(0);
    await expect(rt.store.db.execute(sql`update audit_events set actor = 'nobody'`)).rejects.toThrow();
    await expect(rt.store.db.execute(sql`delete from audit_events`)).rejects.toThrow();
    await expect(rt.store.db.execute(sql`truncate audit_events`)).rejects.toThrow();
    const [{ m } = { m: 0 }] = await rows<{ m: number }>(
      rt.store.db,
      sql`select count(*)::int as m from audit_events where actor = 'nobody'`,
    );
    expect(m).toBe(0);
  });
});

describe("PIN reset by the helpdesk", () => {
  it("resets the PIN through its own route, shown once, but may not change other dial-in settings", async () => {
    const [user] = await rows<{ upn: string }>(
      rt.store.db,
      sql`select u.user_principal_name as upn from users u join dial_in_users d on d.user_id = u.id limit 1`,
    );
    if (!user) throw new Error("the demo has no Microsoft dial-in user");
    const helpdesk = { authorization: `Bearer ${await tokenFor(rt, "helpdesk", "desk")}` };
    const reset = await send("POST", `/conferencing/users/${encodeURIComponent(user.upn)}/reset-pin`, helpdesk, {});
    expect(reset.statusCode, reset.body).toBe(200);
    expect(JSON.parse(reset.body).pin).toMatch(/^\d{4,12}$/);
    const patch = await send("PATCH", `/conferencing/users/${encodeURIComponent(user.upn)}`, helpdesk, { resetLeaderPin: true });
    expect(patch.statusCode).toBe(403);
    expect(JSON.parse(patch.body).error.message).toContain("conferencing.write");
  });
});
