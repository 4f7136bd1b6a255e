// The REST API through the real server (buildServer + inject) on a demo tenant: every route family,
// the dial-in lifecycle of a user, bulk moves in both modes, the error envelope for bad input (and
// that bad input changes nothing), the OpenAPI document, and what must never leave the server.
import { readFileSync } from "node:fs";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateOpenApi, openApiPath, renderOpenApi } from "../scripts/openapi.ts";
import type { AuditEvent } from "../src/audit/audit.service.ts";
import type { ConferencingSummary, DialInChange, DialInView, RestoreResult } from "../src/conferencing/dial-in.service.ts";
import type { MoveStart } from "../src/conferencing/move-to-microsoft.service.ts";
import type { Provider } from "../src/conferencing/providers.service.ts";
import type { ConferencingSettings } from "../src/conferencing/settings.service.ts";
import type { UserPage, UserView } from "../src/directory/users.service.ts";
import type { BulkReport, JobResult, JobView } from "../src/jobs/jobs.service.ts";
import { buildTestServer } from "./support/auth.ts";
import { openTestRuntime, type TestRuntime } from "./support/store.ts";

const API = "/api/v1";
const DEMO_USERS = 300;

type Method = "GET" | "POST" | "PATCH" | "PUT" | "DELETE";

interface Answer {
  method: Method;
  url: string;
  status: number;
  contentType: string;
  body: string;
}

interface ErrorBody {
  error: { code: string; message: string; details: { path?: string; message: string }[] };
}

let runtime: TestRuntime;
let app: FastifyInstance;
/** Every answer the server gave in this file, for the checks on what must never leave it. */
const answers: Answer[] = [];
/** PINs handed out, with the index in `answers` of the one answer allowed to show each. */
const pins: { pin: string; answer: number }[] = [];
let demo: { users: number; licensedForAudioConferencing: number; byProvider: Record<string, number>; bridge: string };
let everyone: UserView[];

async function call(method: Method, url: string, payload?: unknown, headers?: Record<string, string>): Promise<Answer> {
  const res = await app.inject({
    method,
    url: url.startsWith("/api/") || url.startsWith("/healthz") ? url : `${API}${url}`,
    payload: payload === undefined ? undefined : typeof payload === "string" ? payload : JSON.stringify(payload),
    headers: payload === undefined ? headers : { "content-type": "application/json", ...headers },
  });
  const answer = { method, url, status: res.statusCode, contentType: String(res.headers["content-type"] ?? ""), body: res.body };
  answers.push(answer);
  return answer;
}

function json<T>(a: Answer): T {
  return JSON.parse(a.body) as T;
}

/** Calls and expects a status; the JSON body is returned typed. */
async function ok<T>(method: Method, url: string, payload?: unknown, status = 200): Promise<T> {
  const a = await call(method, url, payload);
  expect(a.status, `${method} ${url} answered ${a.status}: ${a.body.slice(0, 400)}`).toBe(status);
  return json<T>(a);
}

/** Calls and expects the error envelope with this status and code. */
async function fails(method: Method, url: string, payload: unknown, status: number, code: string): Promise<ErrorBody["error"]> {
  const a = await call(method, url, payload);
  expect(a.status, `${method} ${url}: ${a.body.slice(0, 400)}`).toBe(status);
  expect(a.contentType).toMatch(/^application\/json/);
  const body = json<ErrorBody>(a);
  expect(Object.keys(body)).toEqual(["error"]);
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe("string");
  expect(body.error.message.length).toBeGreaterThan(10);
  expect(Array.isArray(body.error.details)).toBe(true);
  return body.error;
}

function remember(change: DialInChange, answerIndex = answers.length - 1): void {
  if (change.pin) pins.push({ pin: change.pin, answer: answerIndex });
}

/** What a user would notice changing: the page's counts, the newest audit event, jobs, settings. */
async function observable(): Promise<unknown> {
  const [summary, audit, jobs, settings, dialIn] = await Promise.all([
    ok<ConferencingSummary>("GET", "/conferencing/summary"),
    ok<AuditEvent[]>("GET", "/audit?limit=1"),
    ok<JobView[]>("GET", "/jobs?limit=200"),
    ok<ConferencingSettings>("GET", "/conferencing/settings"),
    ok<DialInView[]>("GET", "/conferencing/users?resultSize=100000"),
  ]);
  return { summary, lastAudit: audit[0]?.id ?? 0, jobs: jobs.map((j) => j.id), settings, dialIn };
}

async function userByUpn(upn: string): Promise<UserView> {
  return ok<UserView>("GET", `/users/${encodeURIComponent(upn)}`);
}

function pick(filter: (u: UserView) => boolean, n: number, skip: Set<string> = new Set()): UserView[] {
  const found = everyone.filter((u) => filter(u) && !skip.has(u.userPrincipalName)).slice(0, n);
  if (found.length < n) throw new Error(`The demo tenant has fewer than ${n} users of that kind.`);
  return found;
}

/** Users this file changes, so that later tests pick others. */
const used = new Set<string>();
function take(filter: (u: UserView) => boolean, n = 1): UserView[] {
  const found = pick(filter, n, used);
  for (const u of found) used.add(u.userPrincipalName);
  return found;
}

const licensedOn = (kind: UserView["provider"]["kind"], name?: string) => (u: UserView) =>
  u.audioConferencingLicensed && u.provider.kind === kind && (name === undefined || u.provider.name === name);

async function waitForJob(id: string, timeoutMs = 30_000): Promise<JobView> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const job = await ok<JobView>("GET", `/jobs/${id}`);
    if (job.status === "completed" || job.status === "failed") return job;
    if (Date.now() > until) throw new Error(`Job ${id} did not finish in ${timeoutMs} ms: ${JSON.stringify(job)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Parses CSV as the job export writes it (quoted cells may hold commas, quotes and line breaks). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(cell);
      cell = "";
    } else if (c === "\r" && text[i + 1] === "\n") {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
      i++;
    } else cell += c;
  }
  if (cell !== "" || row.length > 0) rows.push([...row, cell]);
  return rows;
}

beforeAll(async () => {
  runtime = await openTestRuntime();
  app = await buildTestServer(runtime);
  const built = await ok<typeof demo>("POST", "/demo", { users: DEMO_USERS }, 201);
  demo = built;
  const page = await ok<UserPage>("GET", "/users?limit=1000");
  everyone = page.items;
});

afterAll(async () => {
  await app?.close();
  await runtime?.close();
});

describe("every route family answers", () => {
  it("reads tenants, users, licences, conferencing, jobs and audit", async () => {
    expect(demo.users).toBe(DEMO_USERS);
    expect(everyone).toHaveLength(DEMO_USERS);
    const tenants = await ok<{ name: string }[]>("GET", "/tenants");
    expect(tenants.map((t) => t.name)).toEqual(["Contoso"]);
    const someone = everyone[0] as UserView;
    expect((await userByUpn(someone.userPrincipalName.toUpperCase())).id).toBe(someone.id);
    expect((await userByUpn(someone.id)).userPrincipalName).toBe(someone.userPrincipalName);
    const skus = await ok<{ skuPartNumber: string; consumed: number }[]>("GET", "/licences");
    expect(skus.map((s) => s.skuPartNumber).sort()).toEqual(["MCOEV", "MCOMEETADV", "MCOSTANDARD"]);
    expect(skus.find((s) => s.skuPartNumber === "MCOMEETADV")?.consumed).toBe(demo.licensedForAudioConferencing);
    const providers = await ok<Provider[]>("GET", "/conferencing/providers");
    expect(providers.map((p) => p.identity)).toEqual(expect.arrayContaining(["Microsoft", "InterCall", "PGi"]));
    expect((await ok<Provider[]>("GET", "/conferencing/providers?filter=*Call*")).map((p) => p.identity)).toEqual(["InterCall"]);
    const settings = await ok<ConferencingSettings>("GET", "/conferencing/settings");
    expect(settings.pinLength).toBe(5);
    const bridges = await ok<{ id: string; name: string; serviceNumbers: unknown[] }[]>("GET", "/conferencing/bridges");
    expect(bridges.map((b) => b.name)).toEqual([demo.bridge]);
    const bridge = await ok<{ name: string }>("GET", `/conferencing/bridges/${bridges[0]?.id}`);
    expect(bridge.name).toBe(demo.bridge);
    const numbers = await ok<{ number: string }[]>("GET", "/conferencing/service-numbers");
    expect(numbers).toHaveLength(bridges[0]?.serviceNumbers.length ?? -1);
    const dialIn = await ok<DialInView[]>("GET", "/conferencing/users?resultSize=100000");
    expect(dialIn).toHaveLength(demo.byProvider.Microsoft ?? -1);
    expect(await ok<DialInView[]>("GET", "/conferencing/users?resultSize=0")).toEqual([]);
    const thirdParty = pick((u) => u.provider.kind === "third-party", 1)[0] as UserView;
    const acp = await ok<{ name: string }[]>("GET", `/users/${encodeURIComponent(thirdParty.userPrincipalName)}/acp`);
    expect(acp.map((e) => e.name)).toEqual([thirdParty.provider.name]);
    expect(await ok<JobView[]>("GET", "/jobs")).toEqual([]);
    const audit = await ok<AuditEvent[]>("GET", "/audit");
    expect(audit.map((e) => e.operation)).toContain("demo.build");
    expect(await ok<{ ok: boolean }>("GET", "/healthz")).toMatchObject({ ok: true });
  });

  it("filters users by provider, licence and readiness as the admin center does", async () => {
    const summary = await ok<ConferencingSummary>("GET", "/conferencing/summary");
    expect(summary.byProvider).toEqual(demo.byProvider);
    const total = async (query: string) => (await ok<UserPage>("GET", `/users?limit=1000&${query}`)).total;

    const microsoft = await ok<UserPage>("GET", "/users?limit=1000&provider=microsoft");
    expect(microsoft.total).toBe(demo.byProvider.Microsoft);
    expect(microsoft.items.every((u) => u.provider.kind === "microsoft" && u.provider.name === "Microsoft")).toBe(true);

    const thirdParties = ["InterCall", "PGi", "BT Conferencing", "Arkadin"];
    const thirdParty = await ok<UserPage>("GET", "/users?limit=1000&provider=third-party");
    expect(thirdParty.total).toBe(thirdParties.reduce((n, p) => n + (demo.byProvider[p] ?? 0), 0));
    expect(thirdParty.items.every((u) => u.provider.kind === "third-party" && thirdParties.includes(u.provider.name ?? ""))).toBe(true);

    const none = await ok<UserPage>("GET", "/users?limit=1000&provider=none");
    expect(none.total).toBe(demo.byProvider.none);
    expect(none.items.every((u) => u.provider.kind === "none" && u.provider.name === null)).toBe(true);

    const interCall = await ok<UserPage>("GET", "/users?limit=1000&provider=InterCall");
    expect(interCall.total).toBe(demo.byProvider.InterCall);
    expect(interCall.items.every((u) => u.provider.name === "InterCall")).toBe(true);
    // Provider names compare without case, as the reference's -eq does.
    expect(await total("provider=intercall")).toBe(demo.byProvider.InterCall);

    const licensed = await ok<UserPage>("GET", "/users?limit=1000&licensed=true");
    expect(licensed.total).toBe(demo.licensedForAudioConferencing);
    expect(licensed.items.every((u) => u.audioConferencingLicensed && u.servicePlans.includes("MCOMEETADV"))).toBe(true);
    expect(await total("licensed=false")).toBe(DEMO_USERS - demo.licensedForAudioConferencing);
    expect(await total("licensed=1")).toBe(demo.licensedForAudioConferencing);

    const ready = await ok<UserPage>("GET", "/users?limit=1000&readyForAudioConferencing=true");
    expect(ready.total).toBe(summary.readyForAudioConferencing);
    expect(ready.total).toBeGreaterThan(0);
    expect(ready.items.every((u) => u.readyForAudioConferencing && u.audioConferencingLicensed && u.provider.kind !== "microsoft")).toBe(
      true,
    );
    expect(everyone.filter((u) => u.readyForAudioConferencing)).toHaveLength(ready.total);
    expect(summary.banner).toContain(`${ready.total} users have an Audio Conferencing licence`);
    expect(await total("readyForAudioConferencing=false")).toBe(DEMO_USERS - ready.total);
    expect(await total("provider=InterCall&licensed=false")).toBe(
      everyone.filter((u) => u.provider.name === "InterCall" && !u.audioConferencingLicensed).length,
    );
  });

  it("pages through users in a stable order", async () => {
    const seen: string[] = [];
    for (let offset = 0; offset < DEMO_USERS + 50; offset += 70) {
      const page = await ok<UserPage>("GET", `/users?limit=70&offset=${offset}`);
      expect(page).toMatchObject({ total: DEMO_USERS, limit: 70, offset });
      expect(page.items.length).toBe(Math.max(0, Math.min(70, DEMO_USERS - offset)));
      seen.push(...page.items.map((u) => u.id));
    }
    expect(seen).toEqual(everyone.map((u) => u.id));
    expect(new Set(seen).size).toBe(DEMO_USERS);
    const upns = everyone.map((u) => u.userPrincipalName.toLowerCase());
    expect(upns).toEqual([...upns].sort());
    expect((await ok<UserPage>("GET", "/users?limit=0")).items).toEqual([]);
    expect((await ok<UserPage>("GET", "/users?limit=0")).total).toBe(DEMO_USERS);
    const search = await ok<UserPage>("GET", `/users?search=${encodeURIComponent(everyone[5]?.userPrincipalName ?? "")}`);
    expect(search.items.map((u) => u.id)).toEqual([everyone[5]?.id]);
  });
});

describe("one user's dial-in conferencing", () => {
  it("enables, shows, sets, disables and restores a user", async () => {
    const [user] = take(licensedOn("none"));
    if (!user) throw new Error("no user");
    const upn = encodeURIComponent(user.userPrincipalName);

    // Enable with no body at all: a plain POST, as curl sends it.
    const enabled = await ok<DialInChange>("POST", `/conferencing/users/${upn}/enable`);
    remember(enabled);
    expect(enabled.changed).toBe(true);
    expect(enabled.message).toBe(`The provider of ${user.userPrincipalName} has changed to Microsoft.`);
    expect(enabled.pin).toMatch(/^\d{5}$/);
    expect(enabled.replaced).toBeNull();
    expect(enabled.dialIn).toMatchObject({
      userPrincipalName: user.userPrincipalName,
      provider: "Microsoft",
      domain: "resources.lync.com",
      bridge: demo.bridge,
      serviceNumber: "+14255550100",
      tollFreeServiceNumber: "+18665550100",
      allowPstnOnlyMeetings: false,
      allowTollFreeDialIn: true,
    });
    const conferenceId = enabled.dialIn?.conferenceId ?? "";
    expect(conferenceId).toMatch(/^[1-9]\d{6}$/);
    expect((await userByUpn(user.userPrincipalName)).provider).toEqual({ kind: "microsoft", name: "Microsoft" });

    const shown = await ok<DialInView>("GET", `/conferencing/users/${upn}`);
    expect(shown.conferenceId).toBe(conferenceId);
    expect(shown).not.toHaveProperty("pin");

    // Already on Microsoft: succeeds as a no-op, with no new PIN.
    const again = await ok<DialInChange>("POST", `/conferencing/users/${upn}/enable`, {});
    expect(again).toMatchObject({
      changed: false,
      pin: null,
      message: `The provider of ${user.userPrincipalName} is already set to Microsoft.`,
    });
    expect(again.dialIn?.conferenceId).toBe(conferenceId);

    // The three spellings of a service number are the same number.
    for (const spelling of ["12065550100", "+12065550100", "tel:+12065550100"]) {
      const set = await ok<DialInChange>("PATCH", `/conferencing/users/${upn}`, { serviceNumber: spelling });
      expect(set.dialIn?.serviceNumber).toBe("+12065550100");
      expect(set.pin).toBeNull();
    }
    const unchanged = await ok<DialInChange>("PATCH", `/conferencing/users/${upn}`, { serviceNumber: "tel:+12065550100" });
    expect(unchanged.changed).toBe(false);

    // A new PIN length applies to PINs generated from now on.
    expect((await ok<ConferencingSettings>("PATCH", "/conferencing/settings", { pinLength: 8 })).pinLength).toBe(8);
    const reset = await ok<DialInChange>("PATCH", `/conferencing/users/${upn}`, { resetLeaderPin: true });
    remember(reset);
    expect(reset.changed).toBe(true);
    expect(reset.pin).toMatch(/^\d{8}$/);
    expect(reset.dialIn?.conferenceId).toBe(conferenceId);
    expect((await ok<ConferencingSettings>("DELETE", "/conferencing/settings")).pinLength).toBe(5);

    const newId = await ok<DialInChange>("PATCH", `/conferencing/users/${upn}`, { resetConferenceId: true });
    const nextId = newId.dialIn?.conferenceId ?? "";
    expect(nextId).toMatch(/^\d{7}$/);
    expect(nextId).not.toBe(conferenceId);
    expect(newId.replaced?.conferenceId).toBe(conferenceId);
    expect(newId.pin).toBeNull();

    const disabled = await ok<DialInChange>("POST", `/conferencing/users/${upn}/disable`);
    expect(disabled).toMatchObject({ changed: true, dialIn: null, pin: null });
    expect(disabled.message).toContain(`conference ID ${nextId} is released`);
    await fails("GET", `/conferencing/users/${upn}`, undefined, 409, "not_enabled");
    await fails("POST", `/conferencing/users/${upn}/disable`, {}, 409, "not_enabled");
    expect((await userByUpn(user.userPrincipalName)).provider.kind).toBe("none");

    // A released conference ID can be given to someone else.
    const [other] = take(licensedOn("none"));
    const otherUpn = encodeURIComponent(other?.userPrincipalName ?? "");
    const reused = await ok<DialInChange>("POST", `/conferencing/users/${otherUpn}/enable`, { conferenceId: nextId });
    remember(reused);
    expect(reused.dialIn?.conferenceId).toBe(nextId);

    // Restoring the first user would take that ID back: refused, and nothing changes.
    const before = await observable();
    const clash = await fails("POST", `/conferencing/users/${upn}/restore`, undefined, 409, "conference_id_taken");
    expect(clash.message).toContain(other?.userPrincipalName);
    expect(await observable()).toEqual(before);

    // Undo the second user's enable, then the first user gets the dial-in back as it was.
    const undone = await ok<RestoreResult>("POST", `/conferencing/users/${otherUpn}/restore`);
    expect(undone).toMatchObject({ changed: true, provider: null, dialIn: null });
    const restored = await ok<RestoreResult>("POST", `/conferencing/users/${upn}/restore`);
    expect(restored.provider).toBe("Microsoft");
    expect(restored.dialIn).toMatchObject({ conferenceId: nextId, serviceNumber: "+12065550100" });
    expect(restored).not.toHaveProperty("pin");
  });

  it("replaces a third-party provider only when asked, archives it and restores it", async () => {
    const [user] = take(licensedOn("third-party", "InterCall"));
    if (!user) throw new Error("no user");
    const upn = encodeURIComponent(user.userPrincipalName);
    const entries = await ok<{ name: string; participantPasscode: string }[]>("GET", `/users/${upn}/acp`);
    expect(entries).toHaveLength(1);

    const before = await observable();
    const conflict = await fails("POST", `/conferencing/users/${upn}/enable`, {}, 409, "provider_conflict");
    expect(conflict.message).toContain("InterCall");
    expect(conflict.message).toContain("--replace-provider");
    await fails("PATCH", `/conferencing/users/${upn}`, { resetLeaderPin: true }, 409, "not_microsoft_provider");
    await fails("POST", `/conferencing/users/${upn}/disable`, {}, 409, "not_microsoft_provider");
    expect(await observable()).toEqual(before);
    expect((await userByUpn(user.userPrincipalName)).provider).toEqual({ kind: "third-party", name: "InterCall" });

    const replaced = await ok<DialInChange>("POST", `/conferencing/users/${upn}/enable`, { replaceProvider: true });
    remember(replaced);
    expect(replaced.changed).toBe(true);
    expect(replaced.message).toBe(`The provider of ${user.userPrincipalName} has changed from InterCall to Microsoft.`);
    expect(replaced.pin).toMatch(/^\d{5}$/);
    expect(replaced.replaced?.provider).toBe("InterCall");
    expect(replaced.replaced?.acpEntries).toEqual(entries);
    expect(await ok<unknown[]>("GET", `/users/${upn}/acp`)).toEqual([]);
    const summary = await ok<ConferencingSummary>("GET", "/conferencing/summary");
    const was = before as { summary: ConferencingSummary };
    expect(summary.byProvider.InterCall).toBe((was.summary.byProvider.InterCall ?? 0) - 1);
    expect(summary.byProvider.Microsoft).toBe((was.summary.byProvider.Microsoft ?? 0) + 1);
    expect(summary.readyForAudioConferencing).toBe(was.summary.readyForAudioConferencing - 1);

    const audit = await ok<AuditEvent[]>("GET", `/audit?target=${user.id}&limit=5`);
    expect(audit[0]).toMatchObject({ operation: "conferencing.enable", targetId: user.id, source: "ip:127.0.0.1" });
    expect(audit[0]?.actor).toMatch(/^token:test-global-admin\/[0-9a-f]{12}$/);

    const restored = await ok<RestoreResult>("POST", `/conferencing/users/${upn}/restore`);
    expect(restored).toMatchObject({ changed: true, provider: "InterCall", dialIn: null });
    expect(restored.acpEntries).toEqual(entries);
    expect((await userByUpn(user.userPrincipalName)).provider).toEqual({ kind: "third-party", name: "InterCall" });
    expect(await ok<ConferencingSummary>("GET", "/conferencing/summary")).toEqual(was.summary);
  });
});

describe("bulk move to Microsoft", () => {
  let listJob: string;
  let waitedAnswer: (MoveStart & { report: BulkReport }) | undefined;

  it("moves a user list with wait: true and reports each user", async () => {
    const [a, b] = take(licensedOn("third-party", "PGi"), 2);
    const noLicence = take((u) => !u.audioConferencingLicensed && u.provider.kind !== "microsoft")[0];
    const onMicrosoft = pick(licensedOn("microsoft"), 1)[0];
    if (!a || !b || !noLicence || !onMicrosoft) throw new Error("no users");
    const lastAudit = (await ok<AuditEvent[]>("GET", "/audit?limit=1"))[0]?.id ?? 0;
    // The reference's documented example has spaces after the commas; the names still resolve.
    const userList = `${a.userPrincipalName}, ${b.userPrincipalName.toUpperCase()}, nobody@x.com, ${noLicence.userPrincipalName}, ${onMicrosoft.userPrincipalName}, ${a.userPrincipalName}`;
    const answer = await call("POST", "/conferencing/move-to-microsoft", { userList, wait: true });
    expect(answer.status).toBe(200);
    const moved = json<MoveStart & { report: BulkReport }>(answer);
    expect(Object.keys(moved).sort()).toEqual(["input", "job", "report", "resumed"]);
    expect(moved.resumed).toBe(false);
    expect(moved.input).toEqual({ source: "user-list", count: 5, duplicates: 1, skipped: [], column: null });
    expect(moved.job).toMatchObject({ kind: "move-to-microsoft", dryRun: false, total: 5 });
    expect(Object.keys(moved.report).sort()).toEqual(["dryRun", "job", "results", "summary"]);
    expect(moved.report.job).toMatchObject({ id: moved.job.id, status: "completed", total: 5, processed: 5, error: null });
    expect(moved.report.dryRun).toBe(false);
    expect(moved.report.summary).toEqual({ changed: 2, unchanged: 1, failed: 2 });
    expect(moved.report.job.summary).toEqual(moved.report.summary);
    expect(moved.report.results.map((r) => [r.identity, r.outcome])).toEqual([
      [a.userPrincipalName, "changed"],
      [b.userPrincipalName.toUpperCase(), "changed"],
      ["nobody@x.com", "not-found"],
      [noLicence.userPrincipalName, "no-licence"],
      [onMicrosoft.userPrincipalName, "already-microsoft"],
    ]);
    expect(moved.report.results[0]?.message).toBe(`The provider of ${a.userPrincipalName} has changed from PGi to Microsoft.`);
    expect(moved.report.results[2]?.message).toContain("nobody@x.com");
    expect(moved.report.results[3]?.message).toContain("does not have a valid Audio Conferencing licence");
    expect(moved.report.results[4]?.message).toBe(`The provider of ${onMicrosoft.userPrincipalName} is already set to Microsoft.`);
    for (const u of [a, b]) expect((await userByUpn(u.userPrincipalName)).provider.kind).toBe("microsoft");
    expect((await userByUpn(noLicence.userPrincipalName)).provider).toEqual(noLicence.provider);
    // One audit event per changed user, tied to the job.
    const events = await ok<AuditEvent[]>("GET", `/audit?job=${moved.job.id}`);
    expect(events.map((e) => e.targetId).sort()).toEqual([a.id, b.id].sort());
    expect(events.every((e) => e.id > lastAudit && e.operation === "conferencing.enable")).toBe(true);
    listJob = moved.job.id;
    waitedAnswer = moved;

    // The results export has an error column, filled only for the users that failed.
    const csv = await call("GET", `/jobs/${listJob}/results.csv`);
    expect(csv.status).toBe(200);
    expect(csv.contentType).toMatch(/^text\/csv/);
    const rows = parseCsv(csv.body);
    expect(rows[0]).toEqual(["seq", "identity", "user_id", "outcome", "changed", "message", "error", "processed_at", "notice"]);
    expect(rows).toHaveLength(6);
    const byIdentity = new Map(rows.slice(1).map((r) => [r[1], r]));
    expect(byIdentity.get("nobody@x.com")?.[3]).toBe("not-found");
    expect(byIdentity.get("nobody@x.com")?.[5]).toBe("");
    expect(byIdentity.get("nobody@x.com")?.[6]).toContain("nobody@x.com");
    expect(byIdentity.get(a.userPrincipalName)?.[5]).toContain("has changed from PGi to Microsoft");
    expect(byIdentity.get(a.userPrincipalName)?.[6]).toBe("");
    expect(byIdentity.get(a.userPrincipalName)?.[2]).toBe(a.id);
  });

  // Regression: the wait: true answer once held the job as planned (status "pending", processed 0)
  // beside a report whose job was "completed".
  it("with wait: true, answers with the finished job, not the job as it was planned", () => {
    expect(waitedAnswer?.job).toEqual(waitedAnswer?.report.job);
    expect(waitedAnswer?.job).toMatchObject({ status: "completed", processed: 5, summary: { changed: 2, unchanged: 1, failed: 2 } });
  });

  it("runs in the background without wait: 202, then the job, its results and their CSV", async () => {
    const before = await ok<ConferencingSummary>("GET", "/conferencing/summary");
    const arkadin = everyone.filter((u) => u.provider.name === "Arkadin");
    const licensed = arkadin.filter((u) => u.audioConferencingLicensed);
    for (const u of arkadin) used.add(u.userPrincipalName);
    const answer = await call("POST", "/conferencing/move-to-microsoft", { fromProvider: "arkadin" });
    expect(answer.status).toBe(202);
    const started = json<MoveStart & { report: null }>(answer);
    expect(started.report).toBeNull();
    expect(started.input).toEqual({ source: "provider", count: arkadin.length, duplicates: 0, skipped: [], column: null });
    expect(started.job.params).toMatchObject({ source: "provider", fromProvider: "Arkadin" });
    expect(["pending", "running", "completed"]).toContain(started.job.status);

    const job = await waitForJob(started.job.id);
    expect(job).toMatchObject({ status: "completed", total: arkadin.length, processed: arkadin.length, error: null });
    expect(job.summary).toEqual({ changed: licensed.length, unchanged: 0, failed: arkadin.length - licensed.length });
    expect(job.finishedAt).not.toBeNull();

    const results = await ok<JobResult[]>("GET", `/jobs/${job.id}/results`);
    expect(results.map((r) => r.identity).sort()).toEqual(arkadin.map((u) => u.userPrincipalName).sort());
    expect(results.map((r) => r.seq)).toEqual(results.map((_, i) => i + 1));
    const failed = await ok<JobResult[]>("GET", `/jobs/${job.id}/results?failed=true`);
    expect(failed.every((r) => r.failed && r.outcome === "no-licence")).toBe(true);
    expect(failed).toHaveLength(arkadin.length - licensed.length);
    expect(await ok<JobResult[]>("GET", `/jobs/${job.id}/results?limit=2&offset=1`)).toEqual(results.slice(1, 3));

    const csv = await call("GET", `/jobs/${job.id}/results.csv`);
    expect(csv.status).toBe(200);
    const rows = parseCsv(csv.body);
    expect(rows).toHaveLength(arkadin.length + 1);
    expect(rows.slice(1).filter((r) => r[6] !== "")).toHaveLength(failed.length);

    const after = await ok<ConferencingSummary>("GET", "/conferencing/summary");
    expect(after.byProvider.Arkadin ?? 0).toBe(arkadin.length - licensed.length);
    expect(after.byProvider.Microsoft).toBe((before.byProvider.Microsoft ?? 0) + licensed.length);
    expect((await ok<JobView[]>("GET", "/jobs")).map((j) => j.id)).toContain(job.id);

    // Undo the whole job: every user it changed goes back to Arkadin.
    const undo = await ok<{ job: JobView; report: BulkReport }>("POST", "/conferencing/restore-job", { job: job.id, wait: true });
    expect(undo.report.summary).toEqual({ changed: licensed.length, unchanged: 0, failed: 0 });
    expect(undo.report.results.every((r) => r.outcome === "restored")).toBe(true);
    expect(await ok<ConferencingSummary>("GET", "/conferencing/summary")).toEqual(before);
    await fails("POST", "/conferencing/restore-job", { job: job.id, wait: true }, 409, "nothing_to_restore");
    await fails("POST", `/jobs/${job.id}/resume`, undefined, 409, "job_not_resumable");
  });

  it("a dry run reports and changes nothing; provider names match without case", async () => {
    const before = await observable();
    // Every InterCall user is back on InterCall: the one moved earlier was restored.
    const interCall = everyone.filter((u) => u.provider.name === "InterCall");
    const answer = await call("POST", "/conferencing/move-to-microsoft", { fromProvider: "intercall", dryRun: true, wait: true });
    expect(answer.status).toBe(200);
    const dry = json<MoveStart & { report: BulkReport }>(answer);
    expect(dry.job.dryRun).toBe(true);
    expect(dry.report.dryRun).toBe(true);
    expect(dry.job.params).toMatchObject({ fromProvider: "InterCall" });
    expect(dry.job.total).toBe(interCall.length);
    expect(dry.report.summary.changed).toBe(interCall.filter((u) => u.audioConferencingLicensed).length);
    expect(dry.report.results.filter((r) => r.outcome === "changed").every((r) => r.message.startsWith("Would change"))).toBe(true);
    const after = (await observable()) as { jobs: string[] };
    // The dry run's own job is the only thing that is new.
    expect(after.jobs[0]).toBe(dry.job.id);
    expect({ ...after, jobs: after.jobs.slice(1) }).toEqual(before);
    await fails("POST", "/conferencing/restore-job", { job: dry.job.id, wait: true }, 409, "nothing_to_restore");
  });

  it("reads a CSV with a BOM, CRLF line ends and a UserPrincipalName header", async () => {
    const [c, d] = take(licensedOn("third-party", "BT Conferencing"), 2);
    if (!c || !d) throw new Error("no users");
    const csv = `\uFEFFDisplayName,UserPrincipalName\r\n${c.displayName},${c.userPrincipalName}\r\n\r\n${d.displayName},${d.userPrincipalName}\r\nx,${c.userPrincipalName.toUpperCase()}\r\n`;
    const moved = await ok<MoveStart & { report: BulkReport }>("POST", "/conferencing/move-to-microsoft", {
      csvBase64: Buffer.from(csv, "utf8").toString("base64"),
      csvName: "users.csv",
      wait: true,
    });
    expect(moved.input).toMatchObject({ source: "csv", count: 2, duplicates: 1, column: "UserPrincipalName" });
    expect(moved.report.results.map((r) => [r.identity, r.outcome])).toEqual([
      [c.userPrincipalName, "changed"],
      [d.userPrincipalName, "changed"],
    ]);
    // A one-column list with a header the reference would have taken for a user: the header is skipped.
    const [e] = take(licensedOn("none"));
    const emailList = await ok<MoveStart & { report: BulkReport }>("POST", "/conferencing/move-to-microsoft", {
      csvBase64: Buffer.from(`Email\n${e?.userPrincipalName}\n`).toString("base64"),
      wait: true,
    });
    expect(emailList.input.column).toBe("Email");
    expect(emailList.report.results).toEqual([
      { identity: e?.userPrincipalName, outcome: "changed", message: `The provider of ${e?.userPrincipalName} has changed to Microsoft.` },
    ]);
  });

  it("lists and filters jobs and their audit events", async () => {
    const jobs = await ok<JobView[]>("GET", "/jobs?kind=move-to-microsoft");
    expect(jobs.length).toBeGreaterThanOrEqual(4);
    expect(jobs.every((j) => j.kind === "move-to-microsoft")).toBe(true);
    expect(jobs.map((j) => j.createdAt)).toEqual([...jobs.map((j) => j.createdAt)].sort().reverse());
    expect(jobs.map((j) => j.id)).toContain(listJob);
    const enables = await ok<AuditEvent[]>("GET", "/audit?operation=conferencing.*&limit=1000");
    expect(enables.length).toBeGreaterThan(0);
    expect(enables.every((e) => e.operation.startsWith("conferencing."))).toBe(true);
    const ids = enables.map((e) => e.id);
    expect(ids).toEqual([...ids].sort((x, y) => y - x));
  });
  // Regression: `identities` were once joined with commas and split again, so the display name
  // "Lee, Kim" became two identities, "Lee" and "Kim", both not found.
  it("takes each entry of `identities` as one identity, commas included", async () => {
    const kim = await ok<UserView>("POST", "/users", { userPrincipalName: "kim.lee@contoso.com", displayName: "Lee, Kim" }, 201);
    const dry = await ok<MoveStart & { report: BulkReport }>("POST", "/conferencing/move-to-microsoft", {
      identities: ["Lee, Kim"],
      dryRun: true,
      wait: true,
    });
    expect(dry.input.count).toBe(1);
    expect(dry.report.results).toEqual([
      { identity: "Lee, Kim", outcome: "no-licence", message: expect.stringContaining(kim.userPrincipalName) },
    ]);
  });
});

interface BadCase {
  name: string;
  request: () => { method: Method; url: string; payload?: unknown };
  status: number;
  code: string;
  check?: (error: ErrorBody["error"]) => void;
}

const badCases: BadCase[] = [
  {
    name: "an unknown field in a body",
    request: () => ({
      method: "POST",
      url: `/conferencing/users/${firstReady().userPrincipalName}/enable`,
      payload: { replaceProvider: true, force: true },
    }),
    status: 400,
    code: "invalid_input",
    check: (e) => {
      expect(e.details).toEqual([{ path: "body", message: expect.stringContaining('"force"') }]);
      expect(e.message).toContain("force");
    },
  },
  {
    name: "an unknown field in a bulk body",
    request: () => ({ method: "POST", url: "/conferencing/move-to-microsoft", payload: { ready: true, wait: true, acpProviderName: "x" } }),
    status: 400,
    code: "invalid_input",
  },
  {
    name: "an unknown query parameter",
    request: () => ({ method: "GET", url: "/users?provider=none&bogus=1" }),
    status: 400,
    code: "invalid_input",
    check: (e) => expect(e.details[0]?.path).toBe("querystring"),
  },
  {
    name: "a boolean given as a string",
    request: () => ({
      method: "POST",
      url: `/conferencing/users/${firstReady().userPrincipalName}/enable`,
      payload: { replaceProvider: "yes" },
    }),
    status: 400,
    code: "invalid_input",
    check: (e) => expect(e.details.map((d) => d.path)).toEqual(["body.replaceProvider"]),
  },
  {
    name: "a number where a string belongs",
    request: () => ({ method: "POST", url: "/conferencing/move-to-microsoft", payload: { userList: 5, wait: true } }),
    status: 400,
    code: "invalid_input",
    check: (e) => expect(e.details.map((d) => d.path)).toEqual(["body.userList"]),
  },
  {
    name: "a PIN length given as text",
    request: () => ({ method: "PATCH", url: "/conferencing/settings", payload: { pinLength: "8" } }),
    status: 400,
    code: "invalid_input",
    check: (e) => expect(e.details.map((d) => d.path)).toEqual(["body.pinLength"]),
  },
  {
    name: "a page size that is not a number",
    request: () => ({ method: "GET", url: "/users?limit=lots" }),
    status: 400,
    code: "invalid_input",
  },
  {
    name: "a body that is not JSON",
    request: () => ({ method: "PATCH", url: "/conferencing/settings", payload: "{pinLength: 8" }),
    status: 400,
    code: "invalid_input",
  },
  {
    name: "an unknown user",
    request: () => ({ method: "POST", url: "/conferencing/users/nobody%40contoso.com/enable", payload: { replaceProvider: true } }),
    status: 404,
    code: "user_not_found",
    check: (e) => expect(e.message).toContain("nobody@contoso.com"),
  },
  {
    name: "an unknown user to change",
    request: () => ({ method: "PATCH", url: "/conferencing/users/nobody%40contoso.com", payload: { resetLeaderPin: true } }),
    status: 404,
    code: "user_not_found",
  },
  {
    name: "an unknown user to show",
    request: () => ({ method: "GET", url: "/users/nobody%40contoso.com" }),
    status: 404,
    code: "user_not_found",
  },
  {
    name: "an unknown provider",
    request: () => ({ method: "POST", url: "/conferencing/move-to-microsoft", payload: { fromProvider: "Nope", wait: true } }),
    status: 400,
    code: "provider_unknown",
    check: (e) => {
      for (const p of ["Microsoft", "InterCall", "PGi", "BT Conferencing", "Arkadin"]) expect(e.message).toContain(p);
      expect(e.details.map((d) => d.message).sort()).toEqual(["Arkadin", "BT Conferencing", "InterCall", "Microsoft", "PGi"]);
    },
  },
  {
    name: "a conference ID with letters",
    request: () => ({
      method: "POST",
      url: `/conferencing/users/${firstReady().userPrincipalName}/enable`,
      payload: { replaceProvider: true, conferenceId: "12ab567" },
    }),
    status: 400,
    code: "conference_id_invalid",
    check: (e) => expect(e.message).toContain("7 digits"),
  },
  {
    name: "a conference ID that is too short",
    request: () => ({
      method: "POST",
      url: `/conferencing/users/${firstReady().userPrincipalName}/enable`,
      payload: { replaceProvider: true, conferenceId: 123 },
    }),
    status: 400,
    code: "conference_id_invalid",
  },
  {
    name: "a conference ID another user holds",
    request: () => ({
      method: "POST",
      url: `/conferencing/users/${firstReady().userPrincipalName}/enable`,
      payload: { replaceProvider: true, conferenceId: heldConferenceId },
    }),
    status: 409,
    code: "conference_id_taken",
  },
  {
    name: "a service number that is not on the bridge",
    request: () => ({
      method: "POST",
      url: `/conferencing/users/${firstReady().userPrincipalName}/enable`,
      payload: { replaceProvider: true, serviceNumber: "+14255559999" },
    }),
    status: 400,
    code: "service_number_not_on_bridge",
    check: (e) => {
      expect(e.message).toContain("+14255550100");
      // Named as the field it is about, for a form to show it there.
      expect(e.details).toEqual([{ path: "body.serviceNumber", message: e.message }]);
    },
  },
  {
    name: "a toll-free number given as the toll number",
    request: () => ({ method: "PATCH", url: `/conferencing/users/${heldBy}`, payload: { serviceNumber: "+18665550100" } }),
    status: 400,
    code: "service_number_invalid",
  },
  {
    name: "a PIN length under 4",
    request: () => ({ method: "PATCH", url: "/conferencing/settings", payload: { pinLength: 3 } }),
    status: 400,
    code: "invalid_input",
    check: (e) => {
      expect(e.message).toContain("4 to 12");
      expect(e.details.map((d) => d.path)).toEqual(["body.pinLength"]);
    },
  },
  {
    name: "a PIN length over 12",
    request: () => ({ method: "PATCH", url: "/conferencing/settings", payload: { pinLength: 13, automaticallySendEmailsToUsers: false } }),
    status: 400,
    code: "invalid_input",
  },
  {
    name: "a send-from override without an address",
    request: () => ({ method: "PATCH", url: "/conferencing/settings", payload: { sendEmailFromOverride: true } }),
    status: 400,
    code: "invalid_input",
  },
  {
    name: "a user without an Audio Conferencing licence",
    request: () => ({
      method: "POST",
      url: `/conferencing/users/${unlicensedUser().userPrincipalName}/enable`,
      payload: { replaceProvider: true },
    }),
    status: 409,
    code: "licence_required",
    check: (e) => expect(e.message).toContain("MCOMEETADV"),
  },
  {
    name: "an empty user list",
    request: () => ({ method: "POST", url: "/conferencing/move-to-microsoft", payload: { userList: " , ,", wait: true } }),
    status: 400,
    code: "invalid_input",
    check: (e) => expect(e.message).toContain("empty"),
  },
  {
    name: "an empty identity array",
    request: () => ({ method: "POST", url: "/conferencing/move-to-microsoft", payload: { identities: [], wait: true } }),
    status: 400,
    code: "invalid_input",
  },
  {
    name: "no selection at all",
    request: () => ({ method: "POST", url: "/conferencing/move-to-microsoft", payload: { wait: true } }),
    status: 400,
    code: "invalid_input",
  },
  {
    name: "two selections at once",
    request: () => ({ method: "POST", url: "/conferencing/move-to-microsoft", payload: { ready: true, fromProvider: "PGi", wait: true } }),
    status: 400,
    code: "invalid_input",
  },
  {
    name: "an empty CSV",
    request: () => ({
      method: "POST",
      url: "/conferencing/move-to-microsoft",
      payload: { csvBase64: "", csvName: "empty.csv", wait: true },
    }),
    status: 400,
    code: "invalid_input",
    check: (e) => expect(e.message).toContain("empty.csv is empty"),
  },
  {
    name: "a CSV of blank lines",
    request: () => ({
      method: "POST",
      url: "/conferencing/move-to-microsoft",
      payload: { csvBase64: Buffer.from("\r\n \r\n").toString("base64"), wait: true },
    }),
    status: 400,
    code: "invalid_input",
  },
  {
    name: "a binary file sent as CSV",
    request: () => ({
      method: "POST",
      url: "/conferencing/move-to-microsoft",
      payload: {
        csvBase64: Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x00, 0x00, 0x08, 0x00, 0x61, 0x40]).toString("base64"),
        csvName: "users.xlsx",
        wait: true,
      },
    }),
    status: 400,
    code: "invalid_input",
    check: (e) => expect(e.message).toContain("binary"),
  },
  {
    name: "a job id that is not one",
    request: () => ({ method: "GET", url: "/jobs/not-a-job" }),
    status: 400,
    code: "invalid_input",
  },
  {
    name: "an unknown job",
    request: () => ({ method: "GET", url: "/jobs/00000000-0000-4000-8000-000000000000/results.csv" }),
    status: 404,
    code: "not_found",
  },
  {
    name: "restoring an unknown job",
    request: () => ({
      method: "POST",
      url: "/conferencing/restore-job",
      payload: { job: "00000000-0000-4000-8000-000000000000", wait: true },
    }),
    status: 404,
    code: "not_found",
  },
  {
    name: "an unknown tenant",
    request: () => ({ method: "GET", url: "/users?limit=1" }),
    status: 404,
    code: "not_found",
  },
];

/** A licensed third-party user no test changes: the target of the bad enables. */
let readyUser: UserView | undefined;
function firstReady(): UserView {
  readyUser ??= take(licensedOn("third-party", "InterCall"))[0];
  if (!readyUser) throw new Error("no user");
  return readyUser;
}
let unlicensed: UserView | undefined;
function unlicensedUser(): UserView {
  unlicensed ??= take((u) => !u.audioConferencingLicensed && u.provider.kind === "third-party")[0];
  if (!unlicensed) throw new Error("no user");
  return unlicensed;
}
let heldConferenceId = "";
let heldBy = "";

describe("bad input: the error envelope, its status, and nothing changed", () => {
  beforeAll(async () => {
    const [holder] = await ok<DialInView[]>("GET", "/conferencing/users?resultSize=1");
    heldConferenceId = holder?.conferenceId ?? "";
    heldBy = encodeURIComponent(holder?.userPrincipalName ?? "");
  });

  it.each(badCases)("$name → $status $code", async (c) => {
    const target = firstReady();
    const before = await observable();
    const userBefore = await userByUpn(target.userPrincipalName);
    const { method, url, payload } = c.request();
    const headers = c.name === "an unknown tenant" ? { "x-callplane-tenant": "Fabrikam" } : undefined;
    const a = await call(method, url, payload, headers);
    expect(a.status, a.body).toBe(c.status);
    expect(a.contentType).toMatch(/^application\/json/);
    const body = json<ErrorBody>(a);
    expect(Object.keys(body)).toEqual(["error"]);
    expect(Object.keys(body.error).sort()).toEqual(["code", "details", "message"]);
    expect(body.error.code).toBe(c.code);
    expect(body.error.message.length).toBeGreaterThan(10);
    c.check?.(body.error);
    expect(await observable()).toEqual(before);
    expect(await userByUpn(target.userPrincipalName)).toEqual(userBefore);
  });

  it("answers an unknown route or method with the 404 envelope", async () => {
    for (const [method, url] of [
      ["GET", "/nope"],
      ["GET", "/api/v2/users"],
      ["PUT", "/users"],
      ["DELETE", "/conferencing/summary"],
    ] as const) {
      const e = await fails(method, url, undefined, 404, "not_found");
      expect(e.message).toContain("/api/openapi.json");
    }
  });
});

describe("directory and configuration writes", () => {
  it("adds a user, licenses it (dial-in turns on), unlicenses it (off) and removes it", async () => {
    const created = await ok<UserView>(
      "POST",
      "/users",
      { userPrincipalName: "jo.smith@contoso.com", displayName: "Smith, Jo", usageLocation: "us" },
      201,
    );
    expect(created).toMatchObject({
      displayName: "Smith, Jo",
      usageLocation: "US",
      source: "cloud",
      sipAddress: "sip:jo.smith@contoso.com",
      provider: { kind: "none", name: null },
      audioConferencingLicensed: false,
    });
    await fails("POST", "/users", { userPrincipalName: "jo.smith@contoso.com" }, 409, "duplicate");
    await fails("POST", "/users", { userPrincipalName: "not a upn" }, 400, "invalid_input");
    expect((await ok<UserView>("PATCH", "/users/jo.smith%40contoso.com", { alias: "jsmith" })).alias).toBe("jsmith");
    expect((await userByUpn("JSmith")).id).toBe(created.id);

    type LicenceChange = { user: UserView; changed: boolean; conferencing: string | null };
    const licensed = await ok<LicenceChange>("POST", "/users/jsmith/licences", { sku: "MCOMEETADV" });
    expect(licensed.changed).toBe(true);
    expect(licensed.user.provider.kind).toBe("microsoft");
    expect(licensed.conferencing).toContain("turned on");
    expect((await ok<DialInView>("GET", "/conferencing/users/jsmith")).userId).toBe(created.id);
    const again = await ok<LicenceChange>("POST", "/users/jsmith/licences", { sku: "MCOMEETADV" });
    expect(again).toMatchObject({ changed: false, conferencing: null });
    const unlicensed = await ok<LicenceChange>("DELETE", "/users/jsmith/licences/MCOMEETADV");
    expect(unlicensed.user.provider.kind).toBe("none");
    expect(unlicensed.conferencing).toContain("turned off");
    await fails("POST", "/users/jsmith/licences", { sku: "NOPE" }, 404, "not_found");

    // A third-party provider entry, set and removed (Set-/Remove-CsUserAcp).
    const provider = await ok<Provider>("POST", "/conferencing/providers", { name: "Fabrikam Audio", domain: "fabrikam.com" }, 201);
    expect(provider).toMatchObject({ identity: "Fabrikam Audio", isMicrosoft: false });
    const dup = await fails("POST", "/conferencing/providers", { name: "Fabrikam Audio", domain: "fabrikam.com" }, 409, "duplicate");
    // Errors about one field name it, for a form to show them there.
    expect(dup.details.map((d) => d.path)).toEqual(["body.name"]);
    const badDomain = await fails("POST", "/conferencing/providers", { name: "Other Audio", domain: "not a domain" }, 400, "invalid_input");
    expect(badDomain.details).toEqual([{ path: "body.domain", message: badDomain.message }]);
    const entries = await ok<{ name: string; tollNumber: string | null }[]>("PUT", "/users/jsmith/acp", {
      name: "Fabrikam Audio",
      tollNumber: "+14255550199",
      isDefault: true,
    });
    expect(entries.map((e) => e.name)).toEqual(["Fabrikam Audio"]);
    expect((await userByUpn("jsmith")).provider).toEqual({ kind: "third-party", name: "Fabrikam Audio" });
    expect(await ok<unknown[]>("DELETE", "/users/jsmith/acp")).toEqual([]);

    expect((await ok<UserView>("DELETE", `/users/${created.id}`)).id).toBe(created.id);
    await fails("GET", `/users/${created.id}`, undefined, 404, "user_not_found");
  });

  it("adds licences, bridges and service numbers, and changes them", async () => {
    const sku = await ok<{ skuPartNumber: string; seats: number; available: number }>(
      "POST",
      "/licences",
      { skuPartNumber: "ENTERPRISEPACK", seats: 10 },
      201,
    );
    expect(sku).toMatchObject({ skuPartNumber: "ENTERPRISEPACK", seats: 10, available: 10 });
    expect((await ok<{ seats: number }>("PATCH", "/licences/ENTERPRISEPACK", { seats: 20 })).seats).toBe(20);
    await fails("PATCH", "/licences/ENTERPRISEPACK", { seats: -1 }, 400, "invalid_input");

    const bridge = await ok<{ id: string; name: string; isDefault: boolean; conferenceIdLength: number }>(
      "POST",
      "/conferencing/bridges",
      { name: "Second Bridge", conferenceIdLength: 8 },
      201,
    );
    expect(bridge).toMatchObject({ name: "Second Bridge", isDefault: false, conferenceIdLength: 8 });
    const number = await ok<{ number: string; bridge: string }>(
      "POST",
      "/conferencing/service-numbers",
      { number: "tel:+13125550100", type: "toll", bridge: "Second Bridge", city: "Chicago", country: "US" },
      201,
    );
    expect(number).toEqual(expect.objectContaining({ number: "+13125550100", bridge: "Second Bridge" }));
    const languages = await ok<{ primaryLanguage: string; secondaryLanguages: string[] }>(
      "PATCH",
      "/conferencing/service-numbers/%2B13125550100",
      { primaryLanguage: "es-US", secondaryLanguages: ["en-US"] },
    );
    expect(languages).toMatchObject({ primaryLanguage: "es-US", secondaryLanguages: ["en-US"] });
    const renamed = await ok<{ name: string; defaultServiceNumber: string | null }>("PATCH", `/conferencing/bridges/${bridge.id}`, {
      name: "Chicago Bridge",
      defaultServiceNumber: "+13125550100",
    });
    expect(renamed).toMatchObject({ name: "Chicago Bridge", defaultServiceNumber: "+13125550100" });
    await fails(
      "PATCH",
      `/conferencing/bridges/${bridge.id}`,
      { defaultServiceNumber: "+14255550100" },
      400,
      "service_number_not_on_bridge",
    );
    await fails("GET", "/conferencing/bridges/Nowhere", undefined, 404, "not_found");
    const numbers = await ok<{ number: string }[]>("GET", "/conferencing/service-numbers?bridge=Chicago%20Bridge");
    expect(numbers.map((n) => n.number)).toEqual(["+13125550100"]);
  });
});

/** The routes the server registered, as "METHOD /path" with OpenAPI's {param} spelling, HEAD left out. */
function registeredRoutes(server: FastifyInstance): Set<string> {
  const out = new Set<string>();
  const stack: string[] = [];
  for (const line of server.printRoutes({ commonPrefix: false }).split("\n")) {
    const m = /^((?:│ {3}| {4})*)[├└]── (.+?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!m) continue;
    const depth = (m[1] ?? "").length / 4;
    stack.length = depth;
    stack.push(m[2] ?? "");
    for (const method of (m[3] ?? "").split(", ").filter((x) => x && x !== "HEAD")) {
      out.add(`${method} ${stack.join("").replace(/:([A-Za-z0-9_]+)/g, "{$1}")}`);
    }
  }
  return out;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Structural problems that make a document invalid OpenAPI 3.0 (what a validator would reject). */
function openApiProblems(doc: { [k: string]: Json }): string[] {
  const problems: string[] = [];
  const httpMethods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
  if (typeof doc.openapi !== "string" || !/^3\.0\.\d+$/.test(doc.openapi)) problems.push(`openapi is ${JSON.stringify(doc.openapi)}`);
  const info = doc.info as { [k: string]: Json } | undefined;
  if (typeof info?.title !== "string" || typeof info.version !== "string") problems.push("info needs a title and a version");
  const paths = doc.paths as { [p: string]: { [m: string]: { [k: string]: Json } } };
  const operationIds = new Set<string>();
  for (const [p, item] of Object.entries(paths ?? {})) {
    if (!p.startsWith("/")) problems.push(`path ${p} does not start with /`);
    const templated = [...p.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
    for (const [method, op] of Object.entries(item)) {
      const where = `${method.toUpperCase()} ${p}`;
      if (!httpMethods.includes(method)) {
        problems.push(`${where}: ${method} is not an HTTP method`);
        continue;
      }
      const responses = op.responses as { [code: string]: { [k: string]: Json } } | undefined;
      if (!responses || Object.keys(responses).length === 0) problems.push(`${where}: no responses`);
      for (const [code, r] of Object.entries(responses ?? {})) {
        if (!/^([1-5]\d\d|[1-5]XX|default)$/.test(code)) problems.push(`${where}: response key ${code}`);
        if (typeof r.description !== "string") problems.push(`${where}: response ${code} has no description`);
      }
      const params = (op.parameters ?? []) as { [k: string]: Json }[];
      for (const param of params) {
        if (typeof param.name !== "string" || !["query", "header", "path", "cookie"].includes(String(param.in))) {
          problems.push(`${where}: bad parameter ${JSON.stringify(param)}`);
        }
        if (param.in === "path" && param.required !== true) problems.push(`${where}: path parameter ${param.name} is not required`);
        if (!param.schema && !param.content) problems.push(`${where}: parameter ${param.name} has no schema`);
      }
      const inPath = params.filter((x) => x.in === "path").map((x) => String(x.name));
      if (JSON.stringify(inPath.sort()) !== JSON.stringify(templated)) {
        problems.push(`${where}: path parameters ${inPath.join(",")} do not match the template`);
      }
      const body = op.requestBody as { [k: string]: Json } | undefined;
      if (body && (typeof body.content !== "object" || body.content === null || Object.keys(body.content).length === 0)) {
        problems.push(`${where}: requestBody without content`);
      }
      if (typeof op.operationId === "string") {
        if (operationIds.has(op.operationId)) problems.push(`${where}: duplicate operationId ${op.operationId}`);
        operationIds.add(op.operationId);
      }
    }
  }
  // Every $ref resolves, and schemas use only OpenAPI 3.0's types (no "null", no type arrays).
  const resolve = (ref: string): Json | undefined => {
    if (!ref.startsWith("#/")) return undefined;
    let cur: Json | undefined = doc;
    for (const part of ref.slice(2).split("/")) {
      const key = part.replaceAll("~1", "/").replaceAll("~0", "~");
      cur = cur && typeof cur === "object" && !Array.isArray(cur) ? cur[key] : undefined;
    }
    return cur;
  };
  const types = ["string", "number", "integer", "boolean", "array", "object"];
  const walk = (node: Json, where: string) => {
    if (Array.isArray(node)) {
      for (const [i, n] of node.entries()) walk(n, `${where}/${i}`);
    } else if (node && typeof node === "object") {
      if (typeof node.$ref === "string" && resolve(node.$ref) === undefined) problems.push(`${where}: $ref ${node.$ref} does not resolve`);
      if ("type" in node && (typeof node.type !== "string" || !types.includes(node.type)) && !where.endsWith("/properties")) {
        problems.push(`${where}: type ${JSON.stringify(node.type)} is not an OpenAPI 3.0 type`);
      }
      for (const [k, v] of Object.entries(node)) walk(v, `${where}/${k}`);
    }
  };
  walk(doc.paths ?? null, "#/paths");
  const { securitySchemes, ...components } = (doc.components ?? {}) as { [k: string]: Json };
  walk(components, "#/components");
  // Security schemes have their own `type` (http, apiKey, …), not a schema type.
  for (const [name, scheme] of Object.entries((securitySchemes ?? {}) as { [k: string]: { [k: string]: Json } })) {
    if (!["http", "apiKey", "oauth2", "openIdConnect"].includes(String(scheme.type))) {
      problems.push(`#/components/securitySchemes/${name}: type ${JSON.stringify(scheme.type)} is not a security scheme type`);
    }
  }
  return problems;
}

describe("the OpenAPI document", () => {
  it("is valid OpenAPI 3 and documents every route the server registered", async () => {
    const a = await call("GET", "/api/openapi.json");
    expect(a.status).toBe(200);
    const doc = json<{ [k: string]: Json }>(a);
    expect(openApiProblems(doc)).toEqual([]);
    const documented = new Set<string>();
    for (const [p, item] of Object.entries(doc.paths as { [p: string]: object })) {
      for (const method of Object.keys(item)) documented.add(`${method.toUpperCase()} ${p}`);
    }
    const registered = registeredRoutes(app);
    // Hidden on purpose: the document itself and the health check.
    const hidden = ["GET /api/openapi.json", "GET /healthz"];
    for (const h of hidden) {
      expect(registered.has(h), h).toBe(true);
      registered.delete(h);
    }
    // The web admin center's pages and files are not API: they are not in the document.
    for (const r of [...registered]) if (!r.includes(" /api/")) registered.delete(r);
    expect(registered.size).toBeGreaterThan(40);
    expect([...documented].sort()).toEqual([...registered].sort());
    expect([...documented].filter((r) => !r.includes(" /api/v1/"))).toEqual([]);
  });

  it("matches the committed openapi.json (run `npm run openapi` when the API changes)", async () => {
    const generated = await generateOpenApi();
    const served = await call("GET", "/api/openapi.json");
    expect(renderOpenApi(JSON.parse(served.body))).toBe(generated);
    let committed = "";
    try {
      committed = readFileSync(openApiPath, "utf8");
    } catch {
      committed = "(missing)";
    }
    expect(committed === generated, "openapi.json is out of date with the routes: run `npm run openapi` and commit openapi.json").toBe(
      true,
    );
  });
});

describe("secrets", () => {
  it("never sends a PIN hash, and a PIN only in the one answer that created it", async () => {
    // Look at what an administrator can read: every user, the dial-in list, the audit log, every job's results.
    await ok<UserPage>("GET", "/users?limit=1000");
    await ok<DialInView[]>("GET", "/conferencing/users?resultSize=100000");
    await ok<AuditEvent[]>("GET", "/audit?limit=1000");
    for (const job of await ok<JobView[]>("GET", "/jobs?limit=200")) {
      await ok<JobResult[]>("GET", `/jobs/${job.id}/results?limit=200000`);
      await call("GET", `/jobs/${job.id}/results.csv`);
    }
    expect(pins.length).toBeGreaterThanOrEqual(4);
    expect(answers.length).toBeGreaterThan(300);
    for (const [i, a] of answers.entries()) {
      for (const secret of ["pinHash", "pin_hash", "hmac-sha256$"]) {
        expect(a.body.includes(secret), `${a.method} ${a.url} contains ${secret}`).toBe(false);
      }
      for (const { pin, answer } of pins) {
        if (answer === i) continue;
        expect(a.body.includes(`"${pin}"`) || a.body.includes(`,${pin},`), `${a.method} ${a.url} shows PIN ${pin}`).toBe(false);
      }
    }
    // Only enable and set answers carry a PIN field, and only when they made a new PIN.
    for (const [i, a] of answers.entries()) {
      const found = /"pin":"(\d+)"/.exec(a.body);
      if (found)
        expect(
          pins.some((p) => p.answer === i && p.pin === found[1]),
          `${a.method} ${a.url}`,
        ).toBe(true);
    }
  });
});
