// Dial-in emails delivered to a real mail server (aiosmtpd on 127.0.0.1, test/support/smtp-sink.ts):
// bulk moves, a server that defers, is down or refuses one address, and a Callplane process killed in
// the middle of delivering. What the server received is read back from its spool.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { moveUsersToMicrosoft } from "../../src/conferencing/move-to-microsoft.service.ts";
import type { AppEnv, Ctx } from "../../src/core/context.ts";
import { buildDemoTenant } from "../../src/demo/demo.service.ts";
import { hasAudioConferencingLicence } from "../../src/directory/users.service.ts";
import { listMail, mailIdle, mailQueue, startMailWorker } from "../../src/notify/outbox.service.ts";
import { smtpTransport } from "../../src/notify/transport.ts";
import { openRuntime } from "../../src/runtime.ts";
import { rows } from "../../src/store/db.ts";
import { killHard, sleep, spawnCli, startServe, throwawayDatabase } from "../reliability/support.ts";
import { describeSmtp, type Received, type SmtpSink, startSmtpSink } from "../support/smtp-sink.ts";
import { openTestRuntime, type TestRuntime } from "../support/store.ts";

let rt: TestRuntime;
let sink: SmtpSink;
let env: AppEnv;
let tenants = 0;

/** A demo tenant of `users` on this runtime, whose changes' emails go to the sink. */
async function demoTenant(users: number): Promise<{ ctx: Ctx; domain: string }> {
  tenants++;
  const domain = `mail${tenants}.example`;
  const demo = await buildDemoTenant(rt.store.db, env, { users, seed: tenants, name: `Mail${tenants}`, domain });
  return { ctx: { ...(await rt.ctx(demo.tenant.id, "test")), env }, domain };
}

/** Users whose provider became Microsoft in a job, by UPN. */
async function changedBy(ctx: Ctx, jobId: string): Promise<string[]> {
  const r = await rows<{ upn: string }>(
    ctx.db,
    sql`select lower(u.user_principal_name) as upn from archives a join users u on u.id = a.user_id where a.job_id = ${jobId}`,
  );
  return r.map((x) => x.upn);
}

/** The sink's messages to one tenant's domain, and each recipient's distinct Message-IDs. */
function received(domain: string): { messages: Received[]; idsByRecipient: Map<string, Set<string>> } {
  const messages = sink.messages().filter((m) => m.to.some((t) => t.toLowerCase().endsWith(`@${domain}`)));
  const idsByRecipient = new Map<string, Set<string>>();
  for (const m of messages) {
    for (const to of m.to) {
      const ids = idsByRecipient.get(to.toLowerCase()) ?? new Set<string>();
      ids.add(m.headers["message-id"] ?? "");
      idsByRecipient.set(to.toLowerCase(), ids);
    }
  }
  return { messages, idsByRecipient };
}

/** Every changed user got exactly one message (one Message-ID), and nobody else got one. */
function expectExactlyOnce(domain: string, changed: string[], opts: { duplicatesAllowed?: boolean } = {}): void {
  const { messages, idsByRecipient } = received(domain);
  expect([...idsByRecipient.keys()].sort()).toEqual([...changed].sort());
  for (const [, ids] of idsByRecipient) expect(ids.size).toBe(1);
  if (!opts.duplicatesAllowed) expect(messages).toHaveLength(changed.length);
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}.`);
    await sleep(100);
  }
}

describeSmtp("dial-in emails delivered to a real SMTP server", () => {
  beforeAll(async () => {
    process.env.CALLPLANE_MAIL_RETRY_MS = "100";
    rt = await openTestRuntime();
    sink = await startSmtpSink();
    env = { ...rt.env, mail: smtpTransport({ url: sink.url }) };
  }, 60_000);

  afterAll(async () => {
    delete process.env.CALLPLANE_MAIL_RETRY_MS;
    await mailIdle(env, 10_000).catch(() => undefined);
    env?.mail?.close();
    await sink?.stop();
    await rt?.close();
  });

  it("a 20,000-user bulk move delivers exactly one message per changed user", async () => {
    const { ctx, domain } = await demoTenant(26_500);
    const started = Date.now();
    const move = await moveUsersToMicrosoft(ctx, { ready: true }, { wait: true });
    const moved = Date.now();
    expect(move.job.status).toBe("completed");
    const changed = await changedBy(ctx, move.job.id);
    expect(changed.length).toBeGreaterThanOrEqual(20_000);
    await mailIdle(env);
    await sink.waitForMessages(changed.length, 120_000);
    expectExactlyOnce(domain, changed);
    const q = await mailQueue(ctx);
    expect(q).toMatchObject({ sent: changed.length, queued: 0, sending: 0, deferred: 0, failed: 0 });
    process.stdout.write(
      `20,000-user move: ${changed.length} users moved in ${((moved - started) / 1000).toFixed(1)} s, every email delivered ${((Date.now() - started) / 1000).toFixed(1)} s after the start\n`,
    );
  }, 600_000);

  it("a server answering 451 for a while, then 250: every message delivered, once", async () => {
    const { ctx, domain } = await demoTenant(300);
    sink.setMode("defer");
    const worker = startMailWorker({ db: rt.store.db, env }, 100);
    try {
      const move = await moveUsersToMicrosoft(ctx, { ready: true }, { wait: true });
      const changed = await changedBy(ctx, move.job.id);
      await mailIdle(env);
      const deferred = await listMail(ctx, { status: "deferred", limit: 1000 });
      expect(deferred.length).toBeGreaterThan(0);
      expect(deferred[0]?.lastError).toMatch(/451/);
      expect(received(domain).messages).toHaveLength(0);
      await sleep(1000);
      sink.setMode("accept");
      await until(
        "every deferred message to be delivered",
        async () => ((await mailQueue(ctx)).sent === changed.length ? true : undefined),
        60_000,
      );
      expectExactlyOnce(domain, changed);
      const [one] = await listMail(ctx, { status: "sent", limit: 1 });
      expect(one?.attempts).toBeGreaterThan(1);
    } finally {
      sink.setMode("accept");
      await worker.stop();
    }
  }, 180_000);

  it("the server down for the whole move: all queued, delivered when it comes back; 0 lost, 0 twice", async () => {
    const { ctx, domain } = await demoTenant(600);
    await sink.down();
    const worker = startMailWorker({ db: rt.store.db, env }, 100);
    try {
      const move = await moveUsersToMicrosoft(ctx, { ready: true }, { wait: true });
      expect(move.job.status).toBe("completed");
      expect(move.job.summary.failed).toBe(0);
      const changed = await changedBy(ctx, move.job.id);
      await mailIdle(env);
      const q = await mailQueue(ctx);
      expect(q.sent).toBe(0);
      expect(q.deferred + q.queued + q.sending).toBe(changed.length);
      const [d] = await listMail(ctx, { status: "deferred", limit: 1 });
      expect(d?.lastError).toMatch(/ECONNREFUSED/);
      await sink.up();
      await until(
        "delivery once the server is back",
        async () => ((await mailQueue(ctx)).sent === changed.length ? true : undefined),
        90_000,
      );
      expectExactlyOnce(domain, changed);
    } finally {
      if (!sink.url) await sink.up();
      await worker.stop();
    }
  }, 180_000);

  it("550 for one address: that message failed with the server's answer; the others delivered", async () => {
    const { ctx, domain } = await demoTenant(200);
    const [victim] = await rows<{ upn: string }>(
      ctx.db,
      sql`select lower(u.user_principal_name) as upn from users u where u.tenant_id = ${ctx.tenantId} and ${hasAudioConferencingLicence}
          and not exists (select 1 from dial_in_users d where d.user_id = u.id) order by u.user_principal_name limit 1`,
    );
    sink.reject([victim?.upn ?? ""]);
    try {
      const move = await moveUsersToMicrosoft(ctx, { ready: true }, { wait: true });
      const changed = await changedBy(ctx, move.job.id);
      expect(changed).toContain(victim?.upn);
      await mailIdle(env);
      const failed = await listMail(ctx, { status: "failed" });
      expect(failed).toHaveLength(1);
      expect(failed[0]).toMatchObject({ to: expect.stringMatching(new RegExp(`^${victim?.upn}$`, "i")) });
      expect(failed[0]?.lastError).toMatch(/550 5\.1\.1/);
      expectExactlyOnce(
        domain,
        changed.filter((u) => u !== victim?.upn),
      );
      expect(await mailQueue(ctx)).toMatchObject({ sent: changed.length - 1, failed: 1, queued: 0, deferred: 0 });
    } finally {
      sink.reject([]);
    }
  }, 120_000);
});

describeSmtp("a Callplane process killed with SIGKILL in the middle of delivering", () => {
  let dir: string;
  let kSink: SmtpSink;
  let db: Awaited<ReturnType<typeof throwawayDatabase>> | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "callplane-mail-kill-"));
    kSink = await startSmtpSink();
    if (process.env.DATABASE_URL) db = await throwawayDatabase();
  }, 60_000);

  afterAll(async () => {
    await kSink?.stop();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("loses nothing: after a restart every changed user has their message, and a duplicate carries the same Message-ID", async () => {
    const base: NodeJS.ProcessEnv = {
      CALLPLANE_SMTP_URL: kSink.url,
      CALLPLANE_MAIL_RETRY_MS: "200",
      // On PostgreSQL a killed process's claims run out after this; the embedded store releases them at start.
      CALLPLANE_MAIL_CLAIM_SECONDS: "3",
      ...(db ? { DATABASE_URL: db.url } : {}),
    };
    // A server to build the demo tenant (3,000 users), stopped before the move.
    const builder = await startServe(dir, ["--demo-users", "3000"], base, 180_000);
    await killHard(builder);
    // The mail server takes 15 ms a message: delivery lasts long enough to be cut.
    kSink.setDelay(15);
    const mover = spawnCli(dir, ["conferencing", "move-to-microsoft", "--ready"], base);
    await until(
      "the mover to have delivered some messages",
      async () => (kSink.messages().length >= 200 ? true : mover.child.exitCode !== null ? true : undefined),
      180_000,
    );
    expect(mover.child.exitCode).toBeNull();
    await killHard(mover);
    const atKill = kSink.messages().length;
    kSink.setDelay(0);
    // A restarted server finishes the job (if the kill came before its end) and delivers what is left;
    // once the sink has had nothing new for a while it is stopped and the store read.
    const openStore = () =>
      openRuntime(
        db
          ? { databaseUrl: db.url, outboxDir: path.join(dir, "outbox"), pinKeyFile: path.join(dir, ".callplane", "pin.key") }
          : { dataDir: path.join(dir, ".callplane"), outboxDir: path.join(dir, "outbox") },
      );
    let restarts = 0;
    for (;;) {
      restarts++;
      const server = await startServe(dir, ["--demo-users", "0"], base, 120_000);
      try {
        let last = -1;
        let still = 0;
        await until(
          "deliveries to settle",
          async () => {
            const n = kSink.messages().length;
            still = n === last ? still + 1 : 0;
            last = n;
            return still >= 30 ? true : undefined;
          },
          240_000,
        );
      } finally {
        await killHard(server);
      }
      const rt2 = await openStore();
      const [left] = await rows<{ open: number }>(
        rt2.store.db,
        sql`select count(*)::int as open from mail_messages where status <> 'sent'`,
      );
      await rt2.close();
      if (left?.open === 0 || restarts >= 3) break;
    }
    // Read the store once nothing holds it.
    const rt2 = await openStore();
    try {
      const [r] = await rows<{ moved: number; sent: number; open: number; messages: number }>(
        rt2.store.db,
        sql`select (select count(*)::int from archives where operation = 'move-to-microsoft') as moved,
                   (select count(*)::int from mail_messages) as messages,
                   (select count(*)::int from mail_messages where status = 'sent') as sent,
                   (select count(*)::int from mail_messages where status <> 'sent') as open`,
      );
      const ids = await rows<{ message_id: string; to: string }>(
        rt2.store.db,
        sql`select '<' || id || '@callplane>' as message_id, lower(to_address) as to from mail_messages`,
      );
      expect(r?.moved).toBeGreaterThan(2000);
      // One message per moved user, all sent.
      expect(r).toMatchObject({ messages: r?.moved, sent: r?.moved, open: 0 });
      const got = kSink.messages();
      const byId = new Map<string, Received[]>();
      for (const m of got) byId.set(m.headers["message-id"] ?? "", [...(byId.get(m.headers["message-id"] ?? "") ?? []), m]);
      // 0 lost: every stored message reached the server, to its recipient.
      for (const m of ids) {
        const copies = byId.get(m.message_id);
        expect(copies, `message ${m.message_id} to ${m.to}`).toBeDefined();
        for (const c of copies ?? []) expect(c.to.map((t) => t.toLowerCase())).toEqual([m.to]);
      }
      // Nothing else arrived, and any duplicate is the same message (same Message-ID) sent again.
      expect(byId.size).toBe(ids.length);
      const duplicates = got.length - byId.size;
      process.stdout.write(
        `killed mid-delivery: ${atKill} messages received before the kill, ${got.length} in all for ${ids.length} users; ${duplicates} sent twice, each with its Message-ID\n`,
      );
    } finally {
      await rt2.close();
    }
  }, 600_000);
});
