// kill -9 at seeded random points of real bulk jobs, on the embedded store and on PostgreSQL: the
// re-run of the same command finishes the job, nobody is changed twice, nothing is lost, and the
// undo of the job survives the same treatment.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { sql } from "drizzle-orm";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore, rows } from "../../src/store/db.ts";
import { killHard, runCli, type Spawned, seeded, sleep, spawnCli, throwawayDatabase } from "./support.ts";

const PIN_KEY = "9f1c2d3e4a5b6c7d8e9fa0b1c2d3e4f5061728394a5b6c7d8e9f0a1b2c3d4e5f";
const USERS = 16000;
/** Kill points per command; each store sees twice this many (the move, then its undo). */
const KILLS = 4;
const seed = Number(process.env.CALLPLANE_CRASH_SEED ?? 20261129);

interface Target {
  kind: "pglite" | "postgres";
  args: string[];
  env: NodeJS.ProcessEnv;
  query<T>(text: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

// The embedded store in CI's first pass, PostgreSQL in its second (where DATABASE_URL is set).
const targets: Target["kind"][] = process.env.DATABASE_URL ? ["postgres"] : ["pglite"];

describe.each(targets)("kill -9 during bulk jobs on %s", (kind) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "callplane-crash-"));
  let target: Target;
  let drop: (() => Promise<void>) | undefined;
  const random = seeded(seed + (kind === "postgres" ? 1 : 0));
  const log: string[] = [];

  beforeAll(async () => {
    const env: NodeJS.ProcessEnv = {
      CALLPLANE_PIN_KEY: PIN_KEY,
      CALLPLANE_JOB_LEASE_SECONDS: "2",
      CALLPLANE_OUTBOX: path.join(dir, "outbox"),
    };
    if (kind === "postgres") {
      const db = await throwawayDatabase();
      drop = db.drop;
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      target = {
        kind,
        args: [],
        env: { ...env, DATABASE_URL: db.url },
        query: async (text, params) => (await client.query(text, params)).rows,
        close: () => client.end(),
      };
    } else {
      const dataDir = path.join(dir, ".callplane");
      target = {
        kind,
        args: ["--data", dataDir],
        env,
        // The store is opened only between runs, when no CLI holds the data folder.
        query: async (text, params) => {
          const store = await openStore({ dataDir });
          try {
            const bound = (params ?? []).reduce<string>(
              (q, p, i) => q.replaceAll(`$${i + 1}`, `'${String(p).replaceAll("'", "''")}'`),
              text,
            );
            return await rows(store.db, sql.raw(bound));
          } finally {
            await store.close();
          }
        },
        close: async () => undefined,
      };
    }
    const demo = await runCli(dir, ["demo", "--users", String(USERS), "--json", ...target.args], 120_000, target.env);
    expect(demo.code, demo.stderr).toBe(0);
  }, 180_000);

  afterAll(async () => {
    await target?.close();
    await drop?.();
    rmSync(dir, { recursive: true, force: true });
    process.stdout.write(`crash suite on ${kind} (seed ${seed}): ${log.join("; ")}\n`);
  });

  /**
   * How far the running command has got, or null before its job runs. On PostgreSQL, the job's own
   * progress (once this run has claimed it); on the embedded store, whose folder the command holds, the
   * last progress line the command printed (one each time a batch commits).
   */
  async function progress(kind: string, spawnedAt: Date, run: Spawned): Promise<{ done: number; total: number } | null> {
    if (target.kind === "postgres") {
      const [job] = await target.query<{ processed: number; total: number }>(
        "select processed, total from jobs where kind = $1 and not dry_run and status = 'running' and heartbeat_at >= $2",
        [kind, spawnedAt.toISOString()],
      );
      return job ? { done: job.processed, total: job.total } : null;
    }
    const lines = [...run.output().matchAll(/^\w+: (\d+)\/(\d+) users$/gm)];
    const last = lines[lines.length - 1];
    return last ? { done: Number(last[1]), total: Number(last[2]) } : null;
  }

  /**
   * Runs the command, killing it with SIGKILL at up to `KILLS` random moments (fewer when a run ends
   * before its kill point); then runs it to its end.
   * On PostgreSQL a re-run may find the dead runner's lease still held: that must be a clear refusal
   * naming when the lease ends (never a hang), and a later re-run goes through.
   */
  async function killAndRerun(
    args: string[],
  ): Promise<{ kills: number; midJob: number; refusals: number; last: { code: number | null; stdout: string } }> {
    // Kill points follow the job's own progress (a random share of what is left, then a random moment
    // into the next batch), so on any machine and either store they land before, between and inside
    // batches. How far into a batch is bounded by the time the same command's dry run spends past its
    // start-up (timed on `jobs list`): planning and every batch, without the writes.
    let t = Date.now();
    const list = await runCli(dir, ["jobs", "list", "--json", ...target.args], 120_000, target.env);
    expect(list.code, list.stderr + list.stdout).toBe(0);
    const startup = Date.now() - t;
    t = Date.now();
    const dry = await runCli(dir, [...args, "--dry-run", ...target.args], 120_000, target.env);
    expect(dry.code, dry.stderr).not.toBe(3);
    const span = Math.max(Date.now() - t - startup, 200);
    let kills = 0;
    let midJob = 0;
    let refusals = 0;
    const jobKind = args[1] === "restore" ? "restore" : "move-to-microsoft";
    for (let attempt = 0; attempt < 40; attempt++) {
      const killing = kills < KILLS;
      const spawnedAt = new Date();
      const run = spawnCli(dir, [...args, ...target.args], target.env);
      // Where this kill lands: once a random share (0 to 75%) of the job's items is done, a random moment
      // into the batch that follows (up to 80% of the time the last batch took), so kills fall before the
      // first batch, between batches and inside them, on any machine and either store.
      const share = random() * 0.75;
      const fraction = random() * 0.8;
      let delay = 0;
      let timer: NodeJS.Timeout | undefined;
      if (!killing) timer = setTimeout(() => run.child.kill("SIGKILL"), 120_000);
      else {
        void (async () => {
          let seen: { done: number; at: number } | null = null;
          let gap = Math.min(span, 500);
          while (run.child.exitCode === null && run.child.signalCode === null) {
            const now = await progress(jobKind, spawnedAt, run);
            if (now && seen && now.done !== seen.done) gap = Date.now() - seen.at;
            if (now && (!seen || now.done !== seen.done)) seen = { done: now.done, at: Date.now() };
            if (now && now.done >= Math.floor(share * now.total) && now.done < now.total) {
              const into = Math.round(fraction * gap);
              delay = Date.now() - spawnedAt.getTime() + into;
              timer = setTimeout(() => void killHard(run), into);
              return;
            }
            await sleep(20);
          }
        })();
      }
      const ended = await run.done;
      clearTimeout(timer);
      if (ended.signal === "SIGKILL") {
        if (!killing) throw new Error(`callplane ${args.join(" ")} hung.\n${run.output()}`);
        kills++;
        // Where the kill landed: before the job existed, or how far into it.
        const [job] = await target.query<{ processed: number; total: number; status: string }>(
          `select processed, total, status from jobs where kind = $1 and not dry_run order by created_at desc limit 1`,
          [args[1] === "restore" ? "restore" : "move-to-microsoft"],
        );
        if (job?.status === "running") midJob++;
        log.push(`${args[1]} killed at ${delay} ms (${job ? `${job.processed}/${job.total} done, ${job.status}` : "before planning"})`);
        // Killed after its last batch had completed the job: the command's work is done (running it again
        // would rightly plan a new, empty job), so the chain ends here, as a finished run would.
        if (job?.status === "completed") return { kills, midJob, refusals, last: { code: 0, stdout: "" } };
        continue;
      }
      if (ended.code === 2 && /lease on it ends at/.test(ended.stdout + ended.stderr)) {
        refusals++;
        await sleep(700);
        continue;
      }
      // It ran to its end (before its kill point, or after the last kill): the job is done.
      if (killing) log.push(`${args[1]} finished before ${delay} ms`);
      return { kills, midJob, refusals, last: { code: ended.code, stdout: ended.stdout } };
    }
    throw new Error(`callplane ${args.join(" ")} did not finish after its kills.`);
  }

  let moveJob = "";
  let readyBefore = 0;
  let microsoftBefore = 0;

  it("a move to Microsoft killed again and again is finished by re-running it: every ready user moved exactly once", async () => {
    const [before] = await target.query<{ ready: string; ms: string }>(
      `select count(*) filter (where d.user_id is null and exists (select 1 from licence_assignments la join skus s on s.id = la.sku_id
                 where la.user_id = u.id and s.service_plans && array['MCOMEETADV','MCOMEETACPEA']::text[])) as ready,
              count(d.user_id) as ms
       from users u left join dial_in_users d on d.user_id = u.id where u.deleted_at is null`,
    );
    readyBefore = Number(before?.ready);
    microsoftBefore = Number(before?.ms);
    expect(readyBefore).toBeGreaterThan(4000);

    const result = await killAndRerun(["conferencing", "move-to-microsoft", "--ready", "--json"]);
    expect(result.last.code, result.last.stdout).toBe(0);
    // The suite is about kills inside a running job: at least one must have landed there.
    expect(result.midJob, log.join("; ")).toBeGreaterThanOrEqual(1);
    if (kind === "postgres") log.push(`${result.refusals} re-runs refused while a dead runner's lease lasted`);

    const jobs = await target.query<{ id: string; status: string; processed: number; total: number; error: string | null }>(
      "select id, status, processed, total, error from jobs where kind = 'move-to-microsoft' and not dry_run",
    );
    // One job however many runs: each re-run continued it.
    expect(jobs).toHaveLength(1);
    const job = jobs[0];
    if (!job) throw new Error("no job");
    moveJob = job.id;
    expect(job).toMatchObject({ status: "completed", processed: job.total, error: null });
    const [items] = await target.query<{ pending: string; failed: string; changed: string }>(
      `select count(*) filter (where outcome is null) as pending, count(*) filter (where failed) as failed,
              count(*) filter (where changed) as changed from job_items where job_id = $1`,
      [moveJob],
    );
    expect(items).toMatchObject({ pending: expect.anything(), failed: expect.anything() });
    expect(Number(items?.pending)).toBe(0);
    expect(Number(items?.failed)).toBe(0);
    // Moved exactly once: one archive and one audit event per changed user, and no user changed twice.
    const changed = Number(items?.changed);
    expect(changed).toBe(readyBefore);
    const [counts] = await target.query<{ archives: string; users: string; events: string; event_users: string; on_ms: string }>(
      `select (select count(*) from archives where job_id = $1) as archives,
              (select count(distinct user_id) from archives where job_id = $1) as users,
              (select count(*) from audit_events where job_id = $1 and operation = 'conferencing.enable') as events,
              (select count(distinct target_id) from audit_events where job_id = $1 and operation = 'conferencing.enable') as event_users,
              (select count(*) from job_items i join dial_in_users d on d.user_id = i.user_id where i.job_id = $1 and i.changed) as on_ms`,
      [moveJob],
    );
    expect(Number(counts?.archives)).toBe(changed);
    expect(Number(counts?.users)).toBe(changed);
    expect(Number(counts?.events)).toBe(changed);
    expect(Number(counts?.event_users)).toBe(changed);
    expect(Number(counts?.on_ms)).toBe(changed);
    const [after] = await target.query<{ ms: string }>("select count(*) as ms from dial_in_users");
    expect(Number(after?.ms)).toBe(microsoftBefore + readyBefore);
  }, 600_000);

  it("its undo, killed again and again, puts every user back exactly once", async () => {
    expect(moveJob).not.toBe("");
    const result = await killAndRerun(["conferencing", "restore", "--job", moveJob, "--json"]);
    expect(result.midJob, log.join("; ")).toBeGreaterThanOrEqual(1);
    // A kill after the undo's last batch leaves it complete: the re-run then says there is nothing left, and starts nothing.
    if (result.last.code !== 0) {
      expect(result.last.code, result.last.stdout).toBe(2);
      expect(result.last.stdout).toMatch(/nothing_to_restore[\s\S]*restored already/);
    }
    const jobs = await target.query<{ status: string; processed: number; total: number }>(
      "select status, processed, total from jobs where kind = 'restore' and not dry_run",
    );
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ status: "completed" });
    expect(jobs[0]?.processed).toBe(jobs[0]?.total);
    const [left] = await target.query<{ n: string }>("select count(*) as n from archives where job_id = $1 and restored_at is null", [
      moveJob,
    ]);
    expect(Number(left?.n)).toBe(0);
    const [after] = await target.query<{ ms: string }>("select count(*) as ms from dial_in_users");
    expect(Number(after?.ms)).toBe(microsoftBefore);
    // Each user restored once: one restore archive per user of the move.
    const [twice] = await target.query<{ n: string }>(
      `select count(*) as n from (select user_id from archives where operation = 'restore' group by user_id having count(*) > 1) x`,
    );
    expect(Number(twice?.n)).toBe(0);
  }, 600_000);
});
