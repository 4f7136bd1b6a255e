// Servers as an operator runs them, killed, stopped and restarted: a job whose node died is finished
// by another node (or by the same one's next start) without a human; a stalled node that wakes after
// its job was taken over writes nothing more; a claim another node holds is refused with when it ends;
// and an email that cannot be written is a warning and a notice, never a crash.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JobView } from "../../src/jobs/jobs.service.ts";
import { describeOnPostgres } from "../support/store.ts";
import { killHard, type ServerProcess, sleep, spawnCli, startServe, throwawayDatabase } from "./support.ts";

const PASSWORD = "Reliability-suite-only-1";
const PIN_KEY = "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";
const DEMO_USERS = 16000;
const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  CALLPLANE_ADMIN_PASSWORD: PASSWORD,
  CALLPLANE_PIN_KEY: PIN_KEY,
  CALLPLANE_JOB_LEASE_SECONDS: "2",
  ...extra,
});

/** A signed-in administrator's calls to one server (session cookie and CSRF token). */
async function signIn(url: string): Promise<<T>(method: string, p: string, body?: unknown) => Promise<{ status: number; body: T }>> {
  const res = await fetch(`${url}/api/v1/auth/sign-in`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "admin", password: PASSWORD }),
  });
  expect(res.status, await res.clone().text()).toBe(200);
  const cookie = (res.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  const { csrfToken } = (await res.json()) as { csrfToken: string };
  return async (method, p, body) => {
    const r = await fetch(`${url}/api/v1${p}`, {
      method,
      headers: { cookie, "x-csrf-token": csrfToken, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    return { status: r.status, body: (text ? JSON.parse(text) : null) as never };
  };
}

type Call = Awaited<ReturnType<typeof signIn>>;

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}.`);
    await sleep(100);
  }
}

const running = (call: Call, id: string) =>
  waitFor(
    "the job to be under way",
    async () => {
      const j = (await call<JobView>("GET", `/jobs/${id}`)).body;
      if (j.status === "completed") throw new Error(`Job ${id} finished before it could be interrupted.`);
      return j.status === "running" && j.processed > 0 ? j : undefined;
    },
    60_000,
  );

const completed = (call: Call, id: string, timeoutMs: number) =>
  waitFor(
    "the job to complete",
    async () => {
      const j = (await call<JobView>("GET", `/jobs/${id}`)).body;
      return j.status === "completed" ? j : undefined;
    },
    timeoutMs,
  );

const servers: ServerProcess[] = [];
const dir = mkdtempSync(path.join(os.tmpdir(), "callplane-nodes-"));
const figures: string[] = [];

afterAll(async () => {
  for (const s of servers) await killHard(s);
  rmSync(dir, { recursive: true, force: true });
  if (figures.length) process.stdout.write(`node recovery: ${figures.join("; ")}\n`);
});

describeOnPostgres("two servers on one PostgreSQL", () => {
  let db: Awaited<ReturnType<typeof throwawayDatabase>>;
  let sql: pg.Client;
  let a: ServerProcess;
  let b: ServerProcess;
  let moveJob = "";

  beforeAll(async () => {
    db = await throwawayDatabase();
    sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
    a = await startServe(dir, ["--demo-users", String(DEMO_USERS)], env({ DATABASE_URL: db.url }), 180_000);
    servers.push(a);
    b = await startServe(dir, ["--demo-users", "0"], env({ DATABASE_URL: db.url }));
    servers.push(b);
  }, 240_000);

  afterAll(async () => {
    await sql?.end();
    for (const s of servers) await killHard(s);
    await db?.drop();
  });

  it("a node killed mid-job: the other node refuses to run it while its lease lasts, then finishes it without a human", async () => {
    const callA = await signIn(a.url);
    const callB = await signIn(b.url);
    const started = await callA<{ job: JobView }>("POST", "/conferencing/move-to-microsoft", { ready: true });
    expect(started.status).toBe(202);
    moveJob = started.body.job.id;
    await running(callA, moveJob);

    // Resuming on the other node while the first runs it: refused, naming when the lease ends.
    const refused = await callB<{ error: { code: string; message: string } }>("POST", `/jobs/${moveJob}/resume`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe("job_claimed");
    expect(refused.body.error.message).toMatch(/lease on it ends at \d{4}-\d\d-\d\dT[\d:.]+Z \(in \d+ s\)/);

    await killHard(a);
    const killedAt = Date.now();
    const done = await completed(callB, moveJob, 60_000);
    figures.push(
      `PostgreSQL: a killed node's job finished by the other node ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill`,
    );
    expect(done).toMatchObject({ status: "completed", error: null, processed: done.total });
    expect(done.summary.failed).toBe(0);
    const { rows: twice } = await sql.query(
      "select count(*)::int as n from (select user_id from archives where job_id = $1 group by user_id having count(*) > 1) x",
      [moveJob],
    );
    expect(twice[0].n).toBe(0);
    const { rows: moved } = await sql.query("select count(*)::int as n from archives where job_id = $1", [moveJob]);
    expect(moved[0].n).toBe(done.summary.changed);
  }, 180_000);

  it("a stalled node (SIGSTOP) whose job was taken over writes nothing more when it wakes", async () => {
    expect(moveJob).not.toBe("");
    const c = await startServe(dir, ["--demo-users", "0"], env({ DATABASE_URL: db.url }));
    servers.push(c);
    const callC = await signIn(c.url);
    const callB = await signIn(b.url);
    const started = await callC<{ job: JobView }>("POST", "/conferencing/restore-job", { job: moveJob });
    expect(started.status).toBe(202);
    const undo = started.body.job.id;
    await running(callC, undo);
    const { rows: before } = await sql.query("select lease_token::int as t from jobs where id = $1", [undo]);
    c.child.kill("SIGSTOP");
    try {
      // Taken over once the lease (2 s) ends, or once PostgreSQL ends the stopped node's idle transaction (10 s).
      await waitFor(
        "the other node to take the job over",
        async () => {
          const { rows } = await sql.query("select lease_token::int as t, status from jobs where id = $1", [undo]);
          return rows[0].t > before[0].t || rows[0].status === "completed" ? true : undefined;
        },
        40_000,
      );
    } finally {
      c.child.kill("SIGCONT");
    }
    const done = await completed(callB, undo, 60_000);
    // The woken node must not have written over the new owner's work: no error, every user restored once.
    await sleep(1500);
    const after = (await callB<JobView>("GET", `/jobs/${undo}`)).body;
    expect(after).toMatchObject({ status: "completed", error: null, processed: done.total });
    expect(after.summary.failed).toBe(0);
    const { rows: left } = await sql.query("select count(*)::int as n from archives where job_id = $1 and restored_at is null", [moveJob]);
    expect(left[0].n).toBe(0);
    const { rows: twice } = await sql.query(
      "select count(*)::int as n from (select user_id from archives where job_id = $1 group by user_id having count(*) > 1) x",
      [undo],
    );
    expect(twice[0].n).toBe(0);
    await killHard(c);
  }, 180_000);

  it("a server whose PostgreSQL connections are ended (a database restart, pg_terminate_backend) keeps running and serving", async () => {
    const callB = await signIn(b.url);
    expect((await callB("GET", "/jobs")).status).toBe(200);
    // Every connection of the database but this test's own: the server's idle pooled ones among them.
    const { rows } = await sql.query(
      "select count(pg_terminate_backend(pid))::int as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()",
    );
    expect(rows[0].n).toBeGreaterThan(0);
    await sleep(500);
    expect(b.child.exitCode).toBeNull();
    expect(b.output()).toMatch(/PostgreSQL ended an idle connection \(57P01/);
    expect((await callB("GET", "/jobs")).status).toBe(200);
  }, 60_000);
});

describe("a server on the embedded store killed mid-job", () => {
  it("finishes the job on its next start, without a human", async () => {
    const data = path.join(dir, "embedded");
    const first = await startServe(dir, ["--data", data, "--demo-users", String(DEMO_USERS)], env(), 180_000);
    servers.push(first);
    const call = await signIn(first.url);
    const started = await call<{ job: JobView }>("POST", "/conferencing/move-to-microsoft", { ready: true });
    expect(started.status).toBe(202);
    const id = started.body.job.id;
    await running(call, id);
    await killHard(first);
    const killedAt = Date.now();
    const second = await startServe(dir, ["--data", data, "--demo-users", "0"], env(), 120_000);
    servers.push(second);
    const call2 = await signIn(second.url);
    const done = await completed(call2, id, 60_000);
    figures.push(`embedded: the job finished ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill (restart included)`);
    expect(done).toMatchObject({ status: "completed", error: null, processed: done.total });
    expect(done.summary.failed).toBe(0);
    expect(second.output()).toContain(`Took over job ${id}`);

    // A CLI following a job the server runs stops at once on Ctrl-C (the job goes on in the server).
    const follower = spawnCli(dir, ["--server", second.url, "--username", "admin", "conferencing", "restore", "--job", id], {
      CALLPLANE_PASSWORD: PASSWORD,
    });
    await waitFor(
      "the CLI to follow the undo",
      async () => ((await call2<JobView[]>("GET", "/jobs?kind=restore")).body[0] ? true : undefined),
      30_000,
    );
    const signalledAt = Date.now();
    follower.child.kill("SIGINT");
    const ended = await Promise.race([follower.done, sleep(10_000).then(() => undefined)]);
    expect(ended, `the CLI did not stop within 10 s of Ctrl-C\n${follower.output()}`).toBeDefined();
    figures.push(`a following CLI stopped ${Date.now() - signalledAt} ms after Ctrl-C`);
    const undo = (await call2<JobView[]>("GET", "/jobs?kind=restore")).body[0];
    if (!undo) throw new Error("no undo job");
    expect((await completed(call2, undo.id, 60_000)).error).toBeNull();
    await killHard(second);
  }, 300_000);
});

describe("an outbox that cannot be written", () => {
  it("never crashes the server: a PIN reset answers the new PIN with a warning, a bulk move completes and every message waits in the outbox with the reason", async () => {
    const data = path.join(dir, "no-outbox");
    // The outbox sits under a regular file: every write fails (ENOTDIR), as root too.
    const blocker = path.join(dir, "not-a-folder");
    writeFileSync(blocker, "");
    const server = await startServe(dir, ["--data", data, "--demo-users", "600", "--outbox", path.join(blocker, "outbox")], env());
    servers.push(server);
    const call = await signIn(server.url);
    expect((await call("PATCH", "/conferencing/settings", { automaticallySendEmailsToUsers: true })).status).toBe(200);

    const moved = await call<{ job: JobView; report: { results: { identity: string; outcome: string; notice?: string }[] } }>(
      "POST",
      "/conferencing/move-to-microsoft",
      { ready: true, wait: true, sendEmail: true },
    );
    expect(moved.status).toBe(200);
    expect(moved.body.job).toMatchObject({ status: "completed", error: null });
    const job = (await call<JobView>("GET", `/jobs/${moved.body.job.id}`)).body;
    expect(job.summary.changed).toBeGreaterThan(10);
    // Every changed user's message is kept in the outbox (nothing lost), deferred with the reason, once tried.
    await waitFor(
      "every message to have been tried",
      async () => {
        const q = (await call<Record<string, number>>("GET", "/mail/queue")).body;
        return q.queued === 0 && q.sending === 0 ? true : undefined;
      },
      60_000,
    );
    const mails = (await call<{ status: string; lastError: string | null }[]>("GET", `/mail?job=${job.id}&limit=1000`)).body;
    expect(mails).toHaveLength(job.summary.changed);
    for (const m of mails) {
      expect(m.status).toBe("deferred");
      expect(m.lastError).toMatch(/Could not write to the outbox folder .*ENOTDIR/);
    }

    const user = moved.body.report.results.find((r) => r.outcome === "changed")?.identity ?? "";
    const reset = await call<{ pin: string | null; warning: string | null; changed: boolean; mail: { status: string } | null }>(
      "POST",
      `/conferencing/users/${encodeURIComponent(user)}/reset-pin`,
    );
    expect(reset.status).toBe(200);
    expect(reset.body.changed).toBe(true);
    expect(reset.body.pin).toMatch(/^\d{4,12}$/);
    expect(reset.body.mail?.status).toBe("deferred");
    expect(reset.body.warning).toMatch(
      /change was made, but the email to .* was not delivered yet \(Could not write to the outbox folder.*\): it is kept in the outbox and retried/,
    );
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect(server.child.exitCode).toBeNull();
  }, 180_000);
});
