// Secrets never leave: every response (bodies and headers), every log line the server wrote, every
// email in the outbox and every job export of this file is searched for every password, API token,
// session id, PIN hash, password hash, token hash, session hash and the PIN key made during it.
// A plaintext secret may appear once, to the administrator who created or reset it; hashes never.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { sql } from "drizzle-orm";
import { DrizzleQueryError } from "drizzle-orm/errors";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createApiToken } from "../src/auth/auth.service.ts";
import { buildServer, loggableError } from "../src/http/server.ts";
import { rows } from "../src/store/db.ts";
import { openTestRuntime, type TestRuntime } from "./support/store.ts";

interface Answer {
  what: string;
  status: number;
  headers: string;
  body: string;
}

let rt: TestRuntime;
let app: FastifyInstance;
const answers: Answer[] = [];
const logLines: string[] = [];
/** Plaintext secrets, with the one answer allowed to show each (-1: none). */
const plain: { secret: string; kind: string; allowedAnswer: number }[] = [];

async function call(method: string, url: string, headers: Record<string, string>, body?: unknown): Promise<Answer> {
  const res = await app.inject({
    method: method as "GET",
    url: `/api/v1${url}`,
    headers: body === undefined ? headers : { ...headers, "content-type": "application/json" },
    payload: body === undefined ? undefined : JSON.stringify(body),
  });
  const a = { what: `${method} ${url}`, status: res.statusCode, headers: JSON.stringify(res.headers), body: res.body };
  answers.push(a);
  return a;
}

function parsed<T>(a: Answer): T {
  return JSON.parse(a.body) as T;
}

beforeAll(async () => {
  rt = await openTestRuntime();
  app = await buildServer(rt, { logStream: { write: (line) => void logLines.push(line) } });
});

afterAll(async () => {
  await app?.close();
  await rt?.close();
});

it("no secret leaves the server: not in a response, a log line, an email or an export", async () => {
  // A global administrator's token, made on the store itself (as `callplane tokens create` would).
  const root = (
    await createApiToken(rt.store.db, { actor: "local:test", source: "cli:in-process" }, { name: "root", role: "global-admin" })
  ).token;
  plain.push({ secret: root, kind: "token", allowedAnswer: -1 });
  const admin = { authorization: `Bearer ${root}` };

  expect((await call("POST", "/demo", admin, { users: 40, seed: 5 })).status).toBe(201);

  // Tokens: created (shown once), listed, used, revoked, used again.
  for (const role of ["reader", "helpdesk", "conferencing-admin"]) {
    const a = await call("POST", "/auth/tokens", admin, { name: `t-${role}`, role, expiresIn: "1d" });
    expect(a.status).toBe(201);
    plain.push({ secret: parsed<{ token: string }>(a).token, kind: "token", allowedAnswer: answers.length - 1 });
  }
  const [readerToken, helpdeskToken, confToken] = plain.slice(1).map((p) => p.secret);
  await call("GET", "/auth/tokens", admin);
  await call("GET", "/users?limit=5", { authorization: `Bearer ${readerToken}` });
  const listed = parsed<{ id: string; name: string }[]>(await call("GET", "/auth/tokens", admin));
  const readerId = listed.find((t) => t.name === "t-reader")?.id ?? "";
  await call("DELETE", `/auth/tokens/${readerId}`, admin);
  expect((await call("GET", "/users?limit=5", { authorization: `Bearer ${readerToken}` })).status).toBe(401);
  await call("GET", "/users?limit=5", { authorization: `Bearer ${readerToken?.slice(0, -3)}abc` });

  // Accounts: a one-time password (shown once), its change, sign-in, reset, a wrong password.
  const made = await call("POST", "/auth/accounts", admin, { name: "carol", role: "conferencing-admin" });
  const oneTime = parsed<{ oneTimePassword: string }>(made).oneTimePassword;
  plain.push({ secret: oneTime, kind: "password", allowedAnswer: answers.length - 1 });
  const signIn1 = await call("POST", "/auth/sign-in", {}, { username: "carol", password: oneTime });
  const cookie1 = String(parsed<unknown>(signIn1) && JSON.parse(signIn1.headers)["set-cookie"]).split(";")[0] ?? "";
  const csrf1 = parsed<{ csrfToken: string }>(signIn1).csrfToken;
  const chosen = "carol's chosen passphrase";
  plain.push({ secret: chosen, kind: "password", allowedAnswer: -1 });
  expect(
    (await call("POST", "/auth/password", { cookie: cookie1, "x-csrf-token": csrf1 }, { currentPassword: oneTime, newPassword: chosen }))
      .status,
  ).toBe(204);
  const signIn2 = await call("POST", "/auth/sign-in", {}, { username: "carol", password: chosen });
  const cookie2 = String(JSON.parse(signIn2.headers)["set-cookie"]).split(";")[0] ?? "";
  const csrf2 = parsed<{ csrfToken: string }>(signIn2).csrfToken;
  for (const c of [cookie1, cookie2]) plain.push({ secret: c.split("=")[1] ?? "", kind: "session", allowedAnswer: -1 });
  await call("POST", "/auth/sign-in", {}, { username: "carol", password: `${chosen}!` });
  await call("POST", "/auth/sign-in", {}, '{"username":"carol","password":"hunter2 broken json');
  await call("GET", "/auth/session", { cookie: cookie2 });
  await call("GET", "/auth/accounts", admin);

  // PINs: a reset by the helpdesk, an enable by the web session, a bulk move with emails and its export.
  const dialIn = parsed<{ items: { userPrincipalName: string; provider: { kind: string }; audioConferencingLicensed: boolean }[] }>(
    await call("GET", "/users?limit=200", admin),
  ).items;
  const onMicrosoft = dialIn.find((u) => u.provider.kind === "microsoft");
  const thirdParty = dialIn.filter((u) => u.provider.kind === "third-party" && u.audioConferencingLicensed);
  if (!onMicrosoft || thirdParty.length < 3) throw new Error("the demo tenant lacks users of the kinds needed");
  const reset = await call("POST", `/conferencing/users/${encodeURIComponent(onMicrosoft.userPrincipalName)}/reset-pin`, {
    authorization: `Bearer ${helpdeskToken}`,
  });
  expect(reset.status, reset.body).toBe(200);
  plain.push({ secret: `"pin":"${parsed<{ pin: string }>(reset).pin}"`, kind: "pin", allowedAnswer: answers.length - 1 });
  const [first, ...rest] = thirdParty;
  const enabled = await call(
    "POST",
    `/conferencing/users/${encodeURIComponent(first?.userPrincipalName ?? "")}/enable`,
    { cookie: cookie2, "x-csrf-token": csrf2 },
    { replaceProvider: true, sendEmail: true },
  );
  expect(enabled.status, enabled.body).toBe(200);
  plain.push({ secret: `"pin":"${parsed<{ pin: string }>(enabled).pin}"`, kind: "pin", allowedAnswer: answers.length - 1 });
  const moved = await call(
    "POST",
    "/conferencing/move-to-microsoft",
    { authorization: `Bearer ${confToken}` },
    { identities: rest.slice(0, 5).map((u) => u.userPrincipalName), sendEmail: true, wait: true },
  );
  expect(moved.status, moved.body).toBe(200);
  const jobId = parsed<{ job: { id: string } }>(moved).job.id;
  const csv = await call("GET", `/jobs/${jobId}/results.csv`, admin);
  await call("GET", `/jobs/${jobId}/results`, admin);
  await call("GET", `/conferencing/users?resultSize=1000`, admin);
  await call("GET", `/audit?limit=1000`, admin);
  await call("POST", "/auth/accounts/carol/reset-password", admin);
  plain.push({
    secret: parsed<{ oneTimePassword: string }>(answers[answers.length - 1] as Answer).oneTimePassword,
    kind: "password",
    allowedAnswer: answers.length - 1,
  });
  await call("POST", "/auth/sign-out", { cookie: cookie2, "x-csrf-token": csrf2 });

  // What the store holds that must never leave it.
  const hashes = [
    ...(await rows<{ h: string }>(rt.store.db, sql`select password_hash as h from accounts`)),
    ...(await rows<{ h: string }>(rt.store.db, sql`select secret_hash as h from api_tokens`)),
    ...(await rows<{ h: string }>(rt.store.db, sql`select id_hash as h from sessions`)),
    ...(await rows<{ h: string }>(rt.store.db, sql`select pin_hash as h from dial_in_users`)),
    ...(await rows<{ h: string }>(rt.store.db, sql`select value as h from secrets`)),
    // The PIN key, held by the process (a key file or the environment), never by the store.
    { h: rt.env.pinKey.toString("base64") },
    { h: rt.env.pinKey.toString("hex") },
  ].map((r) => r.h);
  expect(hashes.length).toBeGreaterThan(15);
  // A PIN hash's digest part, so a hash in another encoding would be caught too.
  const digests = hashes.flatMap((h) => h.split("$").filter((part) => part.length >= 16));

  const outbox = readdirSync(rt.outboxDir).map((f) => readFileSync(path.join(rt.outboxDir, f), "utf8"));
  expect(outbox.length).toBeGreaterThan(0);
  expect(logLines.length).toBeGreaterThan(20);
  const places: [string, string][] = [
    ...answers.map((a, i): [string, string] => [`answer ${i} (${a.what}) body`, a.body]),
    ...answers.map((a, i): [string, string] => [`answer ${i} (${a.what}) headers`, a.headers]),
    ...logLines.map((l, i): [string, string] => [`log line ${i}`, l]),
    ...outbox.map((m, i): [string, string] => [`email ${i}`, m]),
    ["job export", csv.body],
  ];
  const leaks: string[] = [];
  for (const [where, text] of places) {
    for (const h of [...hashes, ...digests]) if (text.includes(h)) leaks.push(`${where} holds a hash or key: ${h.slice(0, 12)}…`);
  }
  for (const p of plain) {
    for (const [i, a] of answers.entries()) {
      if (a.body.includes(p.secret) && i !== p.allowedAnswer) leaks.push(`answer ${i} (${a.what}) shows a ${p.kind}`);
      // The session id travels in Set-Cookie of its sign-in, and nowhere else.
      if (a.headers.includes(p.secret) && !(p.kind === "session" && a.what === "POST /auth/sign-in")) {
        leaks.push(`answer ${i} (${a.what}) headers show a ${p.kind}`);
      }
    }
    for (const [i, l] of logLines.entries())
      if (l.includes(p.secret) || l.includes(p.secret.replace(/^"pin":"|"$/g, ""))) leaks.push(`log line ${i} shows a ${p.kind}`);
    if (p.allowedAnswer >= 0) expect(answers[p.allowedAnswer]?.body, `the ${p.kind} is shown to the one who set it`).toContain(p.secret);
  }
  // Plain-text passwords are never echoed by an error message either (e.g. the broken-JSON sign-in).
  for (const a of answers) if (a.body.includes("hunter2")) leaks.push(`${a.what} echoes the password of a broken request`);
  expect(leaks).toEqual([]);
  // The PINs are in the users' emails (that is what the emails are for), and nowhere else.
  expect(outbox.some((m) => /PIN/i.test(m))).toBe(true);
});

it("logs a failed query without its parameters, which can be hashes", () => {
  const hash = "scrypt$32768$8$1$c2FsdHNhbHRzYWx0c2FsdA==$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g=";
  const cause = Object.assign(new Error("duplicate key value violates unique constraint"), { code: "23505" });
  const err = new DrizzleQueryError("insert into accounts (name, password_hash) values ($1, $2)", ["carol", hash], cause);
  const logged = JSON.stringify(loggableError(err));
  expect(logged).toContain("insert into accounts");
  expect(logged).toContain("23505");
  expect(logged).toContain("at ");
  expect(logged).not.toContain("c2FsdHNhbHRzYWx0c2FsdA");
  expect(logged).not.toContain("carol");
});
