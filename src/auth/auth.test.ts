// Access control through the real server: web sign-in with its cookie, CSRF and password change,
// session lifetimes, one-time password and token expiry, what disabling an account stops, the sign-in
// slow-down, password rehashing, security headers, the local operator (in-process only), first run,
// and the audit log: append only, naming the principal and the source of every event.
import { sql } from "drizzle-orm";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lowerPasswordCostForTests, openTwoNodes, tokenFor, withRealPasswordCost } from "../../test/support/auth.ts";
import { openTestRuntime, type TestRuntime } from "../../test/support/store.ts";
import { buildDemoTenant } from "../demo/demo.service.ts";
import { buildServer } from "../http/server.ts";
import { rows } from "../store/db.ts";
import { createAccount, ensureFirstAdmin } from "./auth.service.ts";
import { hashPassword, passwordCost, verifyPassword } from "./credentials.ts";
import { contentSecurityPolicy } from "./http-auth.ts";

// This file creates many accounts: a lower scrypt cost, except in the test of the cost itself.
lowerPasswordCostForTests();

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

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The store's time of an ISO date, as milliseconds from now. */
const fromNow = (iso: string | null | undefined) => (iso ? new Date(iso).getTime() - Date.now() : Number.NaN);

async function adminHeaders(name: string): Promise<Record<string, string>> {
  return { authorization: `Bearer ${await tokenFor(rt, "global-admin", name)}` };
}

function wrongSignIn(name: string, ip: string, i = 0): Promise<LightMyRequestResponse> {
  return send("POST", "/auth/sign-in", { "x-test-ip": ip }, { username: name, password: `wrong ${i} wrong` });
}

/** Ends the running waits of sign-ins from an address, as if the time had passed. */
async function waitPasses(ip: string): Promise<void> {
  await rt.store.db.execute(
    sql`update sign_in_failures set blocked_until = now() - interval '1 second' where right(key, ${ip.length + 4}) = ${`|ip:${ip}`}`,
  );
}

describe("repeated failed sign-ins", () => {
  it("are counted per account and address before the password is checked: of 12 at once, 5 are checked", async () => {
    const a = await newAccount("reader");
    const burst = await Promise.all(Array.from({ length: 12 }, (_, i) => wrongSignIn(a.name, "10.1.0.1", i)));
    const statuses = burst.map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 401)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(7);
    // The right password from that address waits too, with Retry-After.
    const blocked = await send("POST", "/auth/sign-in", { "x-test-ip": "10.1.0.1" }, { username: a.name, password: a.password });
    expect(blocked.statusCode).toBe(429);
    expect(codeOf(blocked)).toBe("rate_limited");
    expect(JSON.parse(blocked.body).error.message).toMatch(/try again in \d+ seconds, or ask an administrator to unlock it/);
    expect(Number(blocked.headers["retry-after"])).toBeGreaterThan(20);
    expect(Number(blocked.headers["retry-after"])).toBeLessThanOrEqual(30);
    // Another server on the same store (a restart, another node) sees the same wait.
    const other = await buildServer(rt);
    const again = await other.inject({
      method: "POST",
      url: "/api/v1/auth/sign-in",
      remoteAddress: "10.1.0.1",
      payload: { username: a.name, password: a.password },
    });
    expect(again.statusCode).toBe(429);
    await other.close();
    // The owner, signing in from another address, is not slowed down by it.
    await signIn(a.name, a.password, "10.1.0.2");
  });

  it("make each wait longer than the one before; a success starts the count again", async () => {
    const a = await newAccount("reader");
    const ip = "10.1.0.3";
    for (let i = 0; i < 5; i++) expect((await wrongSignIn(a.name, ip, i)).statusCode).toBe(401);
    const first = await wrongSignIn(a.name, ip);
    expect(first.statusCode).toBe(429);
    expect(Number(first.headers["retry-after"])).toBeLessThanOrEqual(30);
    // Once the wait is over one more attempt is checked; wrong again, the wait doubles.
    await waitPasses(ip);
    expect((await wrongSignIn(a.name, ip)).statusCode).toBe(401);
    const second = await wrongSignIn(a.name, ip);
    expect(second.statusCode).toBe(429);
    expect(Number(second.headers["retry-after"])).toBeGreaterThan(50);
    expect(Number(second.headers["retry-after"])).toBeLessThanOrEqual(60);
    await waitPasses(ip);
    await signIn(a.name, a.password, ip);
    for (let i = 0; i < 5; i++) expect((await wrongSignIn(a.name, ip, i)).statusCode).toBe(401);
  });

  it("from one address trying many names slow down only those guesses: the right password from it still works", async () => {
    // Ten at a time: each failure costs a scrypt (against a decoy hash for unknown names), run on the thread pool.
    for (let i = 0; i < 30; i += 10) {
      const batch = await Promise.all(
        Array.from({ length: 10 }, (_, j) =>
          send("POST", "/auth/sign-in", { "x-test-ip": "10.9.9.9" }, { username: `spray${i + j}`, password: "Winter2026!!" }),
        ),
      );
      for (const r of batch) expect(r.statusCode).toBe(401);
    }
    // Past 30 names that are no account, the next waits without a password check...
    expect((await wrongSignIn("spray30", "10.9.9.9")).statusCode).toBe(429);
    // ...but an account's own count is untouched: a wrong password is checked, the right one signs in.
    const a = await newAccount("reader");
    expect((await wrongSignIn(a.name, "10.9.9.9")).statusCode).toBe(401);
    await signIn(a.name, a.password, "10.9.9.9");
  });

  it("answer a name that is no account as one that is: five checked, then waits", async () => {
    const a = await newAccount("reader");
    for (const name of [a.name, "nobody-at-all"]) {
      const statuses = [];
      for (let i = 0; i < 6; i++) statuses.push((await wrongSignIn(name, "10.9.9.8", i)).statusCode);
      expect(statuses, name).toEqual([401, 401, 401, 401, 401, 429]);
    }
  });

  it("can be cleared by an administrator, from every address at once (accounts unlock)", async () => {
    const a = await newAccount("reader");
    for (const ip of ["10.3.0.1", "10.3.0.2"]) for (let i = 0; i < 5; i++) await wrongSignIn(a.name, ip, i);
    expect((await send("POST", "/auth/sign-in", { "x-test-ip": "10.3.0.1" }, { username: a.name, password: a.password })).statusCode).toBe(
      429,
    );
    const admin = await adminHeaders("unlocker");
    const listed = JSON.parse((await send("GET", "/auth/accounts", admin)).body) as { name: string; signInBlockedUntil: string | null }[];
    expect(fromNow(listed.find((x) => x.name === a.name)?.signInBlockedUntil)).toBeGreaterThan(0);
    const helpdesk = { authorization: `Bearer ${await tokenFor(rt, "helpdesk", "would-unlock")}` };
    const refused = await send("POST", `/auth/accounts/${a.name}/unlock`, helpdesk, {});
    expect(refused.statusCode).toBe(403);
    expect(refused.body).toContain("auth.admin");
    const unlocked = await send("POST", `/auth/accounts/${a.name}/unlock`, admin, {});
    expect(unlocked.statusCode, unlocked.body).toBe(200);
    expect(JSON.parse(unlocked.body)).toMatchObject({ account: { name: a.name, signInBlockedUntil: null }, addresses: 2 });
    await signIn(a.name, a.password, "10.3.0.1");
    const [event] = await rows<{ actor: string; after: { name: string; addresses: number } }>(
      rt.store.db,
      sql`select actor, after from audit_events where operation = 'auth.account.unlock' order by id desc limit 1`,
    );
    expect(event).toEqual({ actor: expect.stringMatching(/^token:unlocker\//), after: { name: a.name, addresses: 2 } });
    expect((await send("POST", "/auth/accounts/nobody-here/unlock", admin, {})).statusCode).toBe(404);
  });
});

describe("passwords", () => {
  it("hashed at an older, lower cost are hashed again at N=2^17, r=8, p=1 on a successful sign-in", async () => {
    await withRealPasswordCost(async () => {
      const a = await newAccount("reader");
      const old = await hashPassword(a.password, { N: 2 ** 15, r: 8, p: 1 });
      await rt.store.db.execute(sql`update accounts set password_hash = ${old} where name = ${a.name}`);
      const hashOf = async () =>
        (await rows<{ h: string }>(rt.store.db, sql`select password_hash as h from accounts where name = ${a.name}`))[0]?.h ?? "";
      // A wrong password changes nothing.
      expect((await wrongSignIn(a.name, "10.4.0.1")).statusCode).toBe(401);
      expect(await hashOf()).toBe(old);
      await signIn(a.name, a.password, "10.4.0.1");
      const rehashed = await hashOf();
      expect(rehashed).toMatch(/^scrypt\$131072\$8\$1\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/);
      expect(await verifyPassword(a.password, rehashed)).toBe(true);
      const [event] = await rows<{ after: Record<string, unknown> }>(
        rt.store.db,
        sql`select after from audit_events where operation = 'auth.sign-in' and after->>'name' = ${a.name} order by id desc limit 1`,
      );
      expect(event?.after).toEqual({ name: a.name, passwordRehashed: true });
      // Already at today's cost: the next sign-in keeps it.
      await signIn(a.name, a.password, "10.4.0.1");
      expect(await hashOf()).toBe(rehashed);
    });
  });
});

describe("expiry", () => {
  it("gives new API tokens 90 days unless told otherwise, no expiry only when asked (never), and refuses a duration too long", async () => {
    const admin = await adminHeaders("expiry-admin");
    const create = (expiresIn?: string) =>
      send("POST", "/auth/tokens", admin, {
        name: `expiry-${expiresIn ?? "default"}`,
        role: "reader",
        ...(expiresIn ? { expiresIn } : {}),
      });
    const byDefault = await create();
    expect(byDefault.statusCode, byDefault.body).toBe(201);
    expect(fromNow(JSON.parse(byDefault.body).tokenInfo.expiresAt)).toBeGreaterThan(90 * DAY - 60_000);
    expect(fromNow(JSON.parse(byDefault.body).tokenInfo.expiresAt)).toBeLessThanOrEqual(90 * DAY);
    const never = await create("never");
    expect(never.statusCode, never.body).toBe(201);
    expect(JSON.parse(never.body).tokenInfo.expiresAt).toBeNull();
    expect((await create("730d")).statusCode).toBe(201);
    for (const [expiresIn, message] of [
      ["999999w", '"999999w" is too long: a token may last at most 730 days; give never for a token that does not expire.'],
      ["731d", '"731d" is too long: a token may last at most 730 days; give never for a token that does not expire.'],
      ["soon", '"soon" is not a duration: give one such as 90d, 12h or 30m, or never for a token that does not expire.'],
    ] as const) {
      const r = await create(expiresIn);
      expect(r.statusCode, r.body).toBe(400);
      expect(JSON.parse(r.body).error).toEqual({ code: "invalid_input", message, details: [{ path: "body.expiresIn", message }] });
    }
  });

  it("gives one-time passwords 72 hours, then refuses them saying to ask an administrator for a reset", async () => {
    const admin = await adminHeaders("otp-admin");
    const made = await send("POST", "/auth/accounts", admin, { name: "otp-user", role: "reader" });
    expect(made.statusCode, made.body).toBe(201);
    const { account, oneTimePassword } = JSON.parse(made.body) as { account: { passwordExpiresAt: string }; oneTimePassword: string };
    expect(fromNow(account.passwordExpiresAt)).toBeGreaterThan(72 * HOUR - 60_000);
    expect(fromNow(account.passwordExpiresAt)).toBeLessThanOrEqual(72 * HOUR);
    const web = await signIn("otp-user", oneTimePassword, "10.5.0.1");
    expect(web.body.mustChangePassword).toBe(true);
    await rt.store.db.execute(sql`update accounts set password_expires_at = now() - interval '1 second' where name = 'otp-user'`);
    const message =
      "The one-time password of otp-user has expired: ask an administrator to reset it (callplane accounts reset-password otp-user, or Reset password on the Access page).";
    const late = await send("POST", "/auth/sign-in", { "x-test-ip": "10.5.0.1" }, { username: "otp-user", password: oneTimePassword });
    expect(late.statusCode).toBe(401);
    expect(JSON.parse(late.body).error).toMatchObject({ code: "unauthenticated", message });
    // Nor can a session opened with it before it expired choose a password with it.
    const change = await send(
      "POST",
      "/auth/password",
      { cookie: web.cookie, "x-csrf-token": web.csrf },
      { currentPassword: oneTimePassword, newPassword: PASSWORD },
    );
    expect(change.statusCode).toBe(400);
    expect(JSON.parse(change.body).error.message).toBe(message);
    // A reset gives a new one, for 72 hours again; once changed, the password does not expire.
    const reset = await send("POST", "/auth/accounts/otp-user/reset-password", admin, {});
    const again = JSON.parse(reset.body) as { account: { passwordExpiresAt: string }; oneTimePassword: string };
    expect(fromNow(again.account.passwordExpiresAt)).toBeGreaterThan(72 * HOUR - 60_000);
    const web2 = await signIn("otp-user", again.oneTimePassword, "10.5.0.1");
    const changed = await send(
      "POST",
      "/auth/password",
      { cookie: web2.cookie, "x-csrf-token": web2.csrf },
      { currentPassword: again.oneTimePassword, newPassword: PASSWORD },
    );
    expect(changed.statusCode, changed.body).toBe(204);
    const listed = JSON.parse((await send("GET", "/auth/accounts", admin)).body) as { name: string; passwordExpiresAt: string | null }[];
    expect(listed.find((x) => x.name === "otp-user")?.passwordExpiresAt).toBeNull();
  });
});

describe("disabling an account or resetting its password", () => {
  it("disabling stops the API tokens the account made (and those they made) and ends its sessions, while it stays disabled", async () => {
    const owner = await newAccount("global-admin");
    const web = await signIn(owner.name, owner.password, "10.6.0.1");
    const viaCookie = await send(
      "POST",
      "/auth/tokens",
      { cookie: web.cookie, "x-csrf-token": web.csrf },
      { name: "owned", role: "global-admin" },
    );
    expect(viaCookie.statusCode, viaCookie.body).toBe(201);
    const owned = JSON.parse(viaCookie.body).token as string;
    const viaToken = await send("POST", "/auth/tokens", { authorization: `Bearer ${owned}` }, { name: "owned-by-owned", role: "reader" });
    expect(viaToken.statusCode, viaToken.body).toBe(201);
    const ownedByOwned = JSON.parse(viaToken.body).token as string;
    const unrelated = await tokenFor(rt, "reader", "unrelated");
    const session = (headers: Record<string, string>) => send("GET", "/auth/session", headers);
    for (const t of [owned, ownedByOwned, unrelated]) expect((await session({ authorization: `Bearer ${t}` })).statusCode).toBe(200);

    const admin = await adminHeaders("disabler");
    expect((await send("PATCH", `/auth/accounts/${owner.name}`, admin, { disabled: true })).statusCode).toBe(200);
    expect((await session({ cookie: web.cookie })).statusCode).toBe(401);
    for (const t of [owned, ownedByOwned]) {
      const r = await session({ authorization: `Bearer ${t}` });
      expect(r.statusCode).toBe(401);
      expect(JSON.parse(r.body).error.message).toMatch(new RegExp(`was made by the account ${owner.name}, which is disabled`));
    }
    expect((await session({ authorization: `Bearer ${unrelated}` })).statusCode).toBe(200);
    const listed = JSON.parse((await send("GET", "/auth/tokens", admin)).body) as { name: string; disabledAccount: string | null }[];
    expect(listed.filter((t) => t.disabledAccount === owner.name).map((t) => t.name)).toEqual(["owned", "owned-by-owned"]);

    // Enabled again, its tokens work again; its ended sessions do not come back.
    expect((await send("PATCH", `/auth/accounts/${owner.name}`, admin, { disabled: false })).statusCode).toBe(200);
    expect((await session({ authorization: `Bearer ${owned}` })).statusCode).toBe(200);
    expect((await session({ cookie: web.cookie })).statusCode).toBe(401);
  });

  it("a password reset ends the account's sessions", async () => {
    const a = await newAccount("reader");
    const web = await signIn(a.name, a.password, "10.6.0.2");
    expect((await send("GET", "/auth/session", { cookie: web.cookie })).statusCode).toBe(200);
    const reset = await send("POST", `/auth/accounts/${a.name}/reset-password`, await adminHeaders("resetter"), {});
    expect(reset.statusCode, reset.body).toBe(200);
    expect((await send("GET", "/auth/session", { cookie: web.cookie })).statusCode).toBe(401);
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
      const [row] = await rows<{ role: string; must_change_password: boolean; password_hash: string; expires_in: number }>(
        fresh.store.db,
        sql`select role, must_change_password, password_hash,
                   extract(epoch from password_expires_at - now())::int as expires_in from accounts where name = 'admin'`,
      );
      expect(row).toMatchObject({ role: "global-admin", must_change_password: true });
      // Like every one-time password, it works for 72 hours.
      expect(row?.expires_in).toBeGreaterThan(72 * 3600 - 60);
      expect(row?.password_hash).toMatch(new RegExp(`^scrypt\\$${passwordCost().N}\\$8\\$1\\$[A-Za-z0-9+/=]{24}\\$[A-Za-z0-9+/=]{44}$`));
      expect(row?.password_hash).not.toContain(first?.oneTimePassword ?? "-");
      // With CALLPLANE_ADMIN_PASSWORD on a store without accounts, that password, to keep.
      await fresh.store.db.execute(sql`delete from accounts`);
      const automated = await ensureFirstAdmin(fresh.store.db, "set by the automation 42");
      expect(automated).toEqual({ name: "admin", oneTimePassword: null });
      await expect(ensureFirstAdmin(fresh.store.db, "x")).resolves.toBeUndefined();
      const [again] = await rows<{ must_change_password: boolean; password_expires_at: unknown }>(
        fresh.store.db,
        sql`select must_change_password, password_expires_at from accounts`,
      );
      expect(again).toEqual({ must_change_password: false, password_expires_at: null });
    } finally {
      await fresh.close();
    }
  });

  it("creates the administrator once when nodes start together on a fresh store, and none of them fails", async () => {
    const { nodes, close } = await openTwoNodes();
    try {
      const [a, b] = nodes;
      const results = await Promise.all([ensureFirstAdmin(a.store.db), ensureFirstAdmin(b.store.db), ensureFirstAdmin(a.store.db)]);
      const created = results.filter((r) => r !== undefined);
      expect(created).toHaveLength(1);
      expect(created[0]?.name).toBe("admin");
      const [counts] = await rows<{ accounts: number; events: number }>(
        b.store.db,
        sql`select (select count(*)::int from accounts) as accounts,
                   (select count(*)::int from audit_events where operation = 'auth.account.create') as events`,
      );
      expect(counts).toEqual({ accounts: 1, events: 1 });
      // The one-time password that was printed is the one that works.
      const [row] = await rows<{ h: string }>(a.store.db, sql`select password_hash as h from accounts`);
      expect(await verifyPassword(created[0]?.oneTimePassword ?? "", row?.h ?? "")).toBe(true);
    } finally {
      await close();
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
