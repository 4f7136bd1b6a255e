// npm run bench:mail — the mail outbox against a real SMTP server on 127.0.0.1 (the tests' sink:
// aiosmtpd, Python). (a) 100,000 messages queued, then delivered by the outbox's worker: messages/s
// sustained, from the first to the last the sink accepted, every Message-ID checked. (b) The bulk move
// to Microsoft of every ready user with the dial-in email off and on (and queued but not delivered, to
// tell the two costs apart), each run on a fresh copy of the same store, in a mirrored order: users/s
// of the move, the on/off ratio of the medians, and when the last email arrived.
// Embedded store (PGlite); PostgreSQL as well when DATABASE_URL is set. Each measured run is a child
// process of its own (this file, with --child), so one run's heap and store never weigh on the next.
// CPU is read from /proc (Linux): the sink's, the main thread's (the outbox's SQL runs there on PGlite),
// the other threads' (the mail thread: nodemailer), and the time each waited for a core other processes
// held. Figures vary between runs on a shared machine; the checks, the CPU and the ratios are what to read.
// BENCH_MESSAGES (100,000), BENCH_USERS (20,000), BENCH_ROUNDS (1), BENCH_ONLY (throughput | move),
// BENCH_SPOOL=disk (the sink's spool in the temporary folder rather than tmpfs), BENCH_CPU_PROF=DIR.
import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { sql } from "drizzle-orm";
import pg from "pg";
import { enabledMail, mailSender } from "../src/conferencing/dial-in-mail.ts";
import { moveUsersToMicrosoft } from "../src/conferencing/move-to-microsoft.service.ts";
import { getConferencingSettings, setConferencingSettings } from "../src/conferencing/settings.service.ts";
import { inTransaction } from "../src/core/context.ts";
import { buildDemoTenant } from "../src/demo/demo.service.ts";
import { enqueueMail, mailIdle, mailQueue, type Outgoing, startMailWorker } from "../src/notify/outbox.service.ts";
import { openRuntime, type Runtime } from "../src/runtime.ts";
import { rows } from "../src/store/db.ts";
import { type SmtpSink, startSmtpSink } from "../test/support/smtp-sink.ts";

const self = fileURLToPath(import.meta.url);
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 100_000);
const USERS = Number(process.env.BENCH_USERS ?? 20_000);
/** Each round is six moves: off, queue, on, on, queue, off. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
/** `throughput` or `move`: run only that part. */
const ONLY = process.env.BENCH_ONLY;
const ENQUEUE_BATCH = 4_000;
const RATE_TARGET = 1_000;
const RATIO_TARGET = 0.9;

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const fmt = (n: number, digits = 1) => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- CPU time from /proc (Linux; elsewhere the CPU lines are left out) ----

const TICK_MS = 10; // USER_HZ is 100 on Linux
/** User + system CPU of a process or thread, in ms, from its /proc stat file; null when unreadable. */
function procCpuMs(statFile: string): number | null {
  try {
    const fields = readFileSync(statFile, "utf8").split(") ")[1]?.split(" ") ?? [];
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return null;
  }
}
/** How long a process or thread was ready to run but waited for a CPU (another process had it), in ms. */
function procWaitMs(schedstatFile: string): number | null {
  try {
    const wait = Number(readFileSync(schedstatFile, "utf8").split(" ")[1]);
    return Number.isFinite(wait) ? wait / 1e6 : null;
  } catch {
    return null;
  }
}
interface OwnCpu {
  main: number | null;
  total: number;
  mainWait: number | null;
}
/** This process's CPU: its main thread (event loop, PGlite) and the whole process (with the mail thread). */
function ownCpuMs(): OwnCpu {
  const u = process.cpuUsage();
  const task = `/proc/self/task/${process.pid}`;
  return { main: procCpuMs(`${task}/stat`), total: (u.user + u.system) / 1000, mainWait: procWaitMs(`${task}/schedstat`) };
}
/** The sink's Python process (found by its command line and port), for its CPU time. */
function sinkPid(port: number): number | null {
  if (!existsSync("/proc")) return null;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (cmd.includes("aiosmtpd") && cmd.includes(`127.0.0.1:${port}`)) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return null;
}

// ---- Children: one measured run each; the last line of stdout is its JSON result ----

interface StoreArg {
  /** PGlite data folder, or (with databaseUrl) the folder of the PIN key file. */
  dataDir: string;
  databaseUrl?: string;
}

interface CpuSplit {
  mainMs: number | null;
  otherMs: number | null;
  /** The main thread's time waiting for a CPU that other processes held. */
  mainWaitMs: number | null;
}

interface ThroughputResult {
  queued: number;
  enqueueMs: number;
  deliverMs: number;
  status: Record<string, number>;
  cpu: CpuSplit;
}

type MoveMode = "off" | "queue" | "on";

interface MoveResult {
  changed: number;
  failed: number;
  moveMs: number;
  startedAt: number;
  status: Record<string, number>;
  /** During the move, then from its start until the last email was delivered. */
  moveCpu: CpuSplit;
  cpu: CpuSplit;
}

function open(store: StoreArg, smtpUrl?: string): Promise<Runtime> {
  return openRuntime({
    databaseUrl: store.databaseUrl,
    dataDir: store.dataDir,
    pinKeyFile: path.join(store.dataDir, "pin.key"),
    holder: "bench:mail",
    outboxDir: path.join(store.dataDir, "outbox"),
    smtp: smtpUrl ? { url: smtpUrl } : undefined,
    // The bench's own key file, made by its first run: that is no news.
    warn: (m) => {
      if (!m.startsWith("Created the PIN key file")) process.stderr.write(`${m}\n`);
    },
  });
}

function cpuSince(from: OwnCpu): CpuSplit {
  const now = ownCpuMs();
  const main = now.main !== null && from.main !== null ? now.main - from.main : null;
  return {
    mainMs: main,
    otherMs: main !== null ? now.total - from.total - main : null,
    mainWaitMs: now.mainWait !== null && from.mainWait !== null ? now.mainWait - from.mainWait : null,
  };
}

/** Builds the demo tenant a run starts from (not timed). */
async function childBuild(store: StoreArg, users: number): Promise<unknown> {
  const runtime = await open(store);
  try {
    const demo = await buildDemoTenant(runtime.store.db, runtime.env, { users, seed: 1 });
    return { users: demo.users, licensed: demo.licensedForAudioConferencing };
  } finally {
    await runtime.close();
  }
}

/** (a) Queues `count` dial-in emails in batches, then lets the outbox's worker deliver them all. */
async function childThroughput(store: StoreArg, smtpUrl: string, count: number, idsFile: string): Promise<ThroughputResult> {
  const runtime = await open(store, smtpUrl);
  try {
    const ctx = await runtime.ctx(undefined, "bench");
    const settings = await getConferencingSettings(ctx);
    const sender = mailSender(settings, "contoso.com");
    let t = performance.now();
    for (let from = 0; from < count; from += ENQUEUE_BATCH) {
      const batch: Outgoing[] = [];
      for (let i = from; i < Math.min(count, from + ENQUEUE_BATCH); i++) {
        batch.push({
          userId: null,
          kind: "dial-in.enabled",
          mail: enabledMail(sender, {
            userPrincipalName: `user${i + 1}@contoso.com`,
            displayName: `User ${i + 1}`,
            conferenceId: String(100_000_000 + i),
            serviceNumber: "+14255550100",
            tollFreeServiceNumber: "+18665550100",
            pin: String(10_000 + (i % 90_000)),
            previousProvider: "InterCall",
          }),
        });
      }
      await inTransaction(ctx, (tx) => enqueueMail(tx, batch));
    }
    const enqueueMs = performance.now() - t;

    const cpu0 = ownCpuMs();
    t = performance.now();
    // The server's worker, as `callplane serve` runs it: rounds of claims until nothing is due.
    const worker = startMailWorker({ db: runtime.store.db, env: runtime.env });
    for (;;) {
      await sleep(1000);
      const [left] = await rows<{ n: number | string }>(
        runtime.store.db,
        sql`select count(*) as n from mail_messages where status in ('queued', 'sending')`,
      );
      if (Number(left?.n ?? 0) === 0) break;
    }
    await worker.stop();
    const deliverMs = performance.now() - t;
    const cpu = cpuSince(cpu0);
    const status = await mailQueue(ctx);
    const ids = await rows<{ message_id: string }>(
      runtime.store.db,
      sql`select '<' || id || '@callplane>' as message_id from mail_messages`,
    );
    writeFileSync(idsFile, ids.map((r) => r.message_id).join("\n"));
    return { queued: count, enqueueMs, deliverMs, status, cpu };
  } finally {
    await runtime.close();
  }
}

/**
 * (b) The bulk move of every ready user, then waits for its emails to be delivered. `off`: no email;
 * `on`: each user's email queued in the batch transaction and delivered over SMTP meanwhile; `queue`
 * (to tell the two costs apart): queued, but no transport, so nothing is delivered.
 */
async function childMove(store: StoreArg, smtpUrl: string, mode: MoveMode): Promise<MoveResult> {
  const runtime = await open(store, smtpUrl);
  try {
    const ctx = await runtime.ctx(undefined, "bench");
    await setConferencingSettings(ctx, { automaticallySendEmailsToUsers: mode !== "off" });
    if (mode === "queue") {
      runtime.env.mail?.close();
      runtime.env.mail = undefined;
    }
    const cpu0 = ownCpuMs();
    const startedAt = Date.now();
    const t = performance.now();
    const moved = await moveUsersToMicrosoft(ctx, { ready: true }, { wait: true });
    const moveMs = performance.now() - t;
    const moveCpu = cpuSince(cpu0);
    await mailIdle(runtime.env, 600_000);
    const cpu = cpuSince(cpu0);
    return {
      changed: moved.report?.summary.changed ?? 0,
      failed: moved.report?.summary.failed ?? 0,
      moveMs,
      startedAt,
      status: await mailQueue(ctx),
      moveCpu,
      cpu,
    };
  } finally {
    await runtime.close();
  }
}

async function child(args: string[]): Promise<void> {
  const [mode, json] = args;
  const a = JSON.parse(json ?? "{}") as { store: StoreArg; smtpUrl: string; count: number; idsFile: string; mode: MoveMode };
  const result =
    mode === "build"
      ? await childBuild(a.store, a.count)
      : mode === "throughput"
        ? await childThroughput(a.store, a.smtpUrl, a.count, a.idsFile)
        : await childMove(a.store, a.smtpUrl, a.mode);
  process.stdout.write(`\n${JSON.stringify(result)}\n`);
}

function runChild<T>(mode: string, arg: Record<string, unknown>): Promise<T> {
  return new Promise((resolve, reject) => {
    const prof = process.env.BENCH_CPU_PROF ? ["--cpu-prof", "--cpu-prof-dir", process.env.BENCH_CPU_PROF] : [];
    const p = spawn(process.execPath, [...prof, "--import", "tsx", self, "--child", mode, JSON.stringify(arg)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    p.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    p.on("error", reject);
    p.on("exit", (code) => {
      if (code !== 0) return reject(new Error(`bench child ${mode} exited ${code}:\n${out}`));
      resolve(JSON.parse(out.trim().split("\n").pop() ?? "null") as T);
    });
  });
}

// ---- The sink and its spool ----

/**
 * A sink whose spool is on tmpfs when there is one: the sink writes four files per message, and on a
 * virtual disk that costs it more than the SMTP itself; a real mail server is not the thing measured.
 */
async function startSink(): Promise<{ sink: SmtpSink; pid: number | null; cpuMs: () => number | null; waitMs: () => number | null }> {
  const tmp = process.env.TMPDIR;
  const shm = process.env.BENCH_SPOOL !== "disk" && existsSync("/dev/shm");
  if (shm) process.env.TMPDIR = "/dev/shm";
  let sink: SmtpSink;
  try {
    sink = await startSmtpSink();
  } finally {
    if (tmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = tmp;
  }
  const pid = sinkPid(sink.port);
  return {
    sink,
    pid,
    cpuMs: () => (pid === null ? null : procCpuMs(`/proc/${pid}/stat`)),
    waitMs: () => (pid === null ? null : procWaitMs(`/proc/${pid}/schedstat`)),
  };
}

interface SpoolSummary {
  count: number;
  ids: Set<string>;
  first: number;
  last: number;
}

/** The spool read lightly (the envelope's time and the Message-ID of each message): 100,000 messages in seconds. */
function readSpool(spool: string): SpoolSummary {
  const ids = new Set<string>();
  let count = 0;
  let first = Number.POSITIVE_INFINITY;
  let last = 0;
  for (const name of readdirSync(spool)) {
    const n = /^(\d+)\.json$/.exec(name)?.[1];
    if (!n) continue;
    count++;
    const at = Date.parse((JSON.parse(readFileSync(path.join(spool, name), "utf8")) as { received_at: string }).received_at);
    first = Math.min(first, at);
    last = Math.max(last, at);
    const raw = readFileSync(path.join(spool, `${n}.eml`), "latin1");
    const head = raw.slice(0, raw.search(/\r?\n\r?\n/));
    const id = /^message-id:\s*(<[^>\r\n]+>)/im.exec(head)?.[1];
    if (id) ids.add(id);
  }
  return { count, ids, first, last };
}

// ---- The orchestrator ----

interface Store {
  label: string;
  /** PGlite: the store's SQL runs on Callplane's main thread. */
  embedded: boolean;
  /** A fresh store of its own for one run: the template's copy, or a new database. */
  fresh(name: string, fromTemplate: boolean): Promise<StoreArg>;
  cleanup(): Promise<void>;
}

function pgliteStores(work: string): Store {
  return {
    label: "embedded store (PGlite, on disk)",
    embedded: true,
    async fresh(name, fromTemplate) {
      const dir = path.join(work, name);
      if (fromTemplate) cpSync(path.join(work, "template"), dir, { recursive: true });
      return { dataDir: dir };
    },
    async cleanup() {},
  };
}

async function postgresStores(work: string, base: string): Promise<Store> {
  const made: string[] = [];
  const prefix = `cp_bench_mail_${process.pid}`;
  const admin = async (q: string) => {
    const c = new pg.Client({ connectionString: base });
    await c.connect();
    try {
      await c.query(q);
    } finally {
      await c.end();
    }
  };
  const url = (db: string) => {
    const u = new URL(base);
    u.pathname = `/${db}`;
    return u.toString();
  };
  const keyDir = path.join(work, "pg-key");
  return {
    label: "PostgreSQL (DATABASE_URL)",
    embedded: false,
    async fresh(name, fromTemplate) {
      const db = `${prefix}_${name.replace(/[^a-z0-9]/gi, "_")}`.toLowerCase();
      await admin(`create database ${db}${fromTemplate ? ` template ${prefix}_template` : ""}`);
      made.push(db);
      return { dataDir: keyDir, databaseUrl: url(db) };
    },
    async cleanup() {
      for (const db of made.reverse()) await admin(`drop database if exists ${db} with (force)`);
    },
  };
}

interface Verdict {
  failures: string[];
}

const us = (ms: number, count: number) => `${int((ms * 1000) / count)} µs`;

/** CPU per message of the sink and of Callplane's threads, and the rate they allow on this machine's cores if nothing else ran. */
function cpuLine(store: Store, label: string, count: number, sinkMs: number | null, cpu: CpuSplit): string | null {
  if (sinkMs === null || cpu.mainMs === null || cpu.otherMs === null || count === 0) return null;
  const total = sinkMs + cpu.mainMs + cpu.otherMs;
  return (
    `${label}: sink (Python) ${us(sinkMs, count)}, Callplane main thread (${store.embedded ? "outbox and the store's SQL" : "outbox; PostgreSQL's own CPU not counted"}) ` +
    `${us(cpu.mainMs, count)}, its other threads (mail thread: nodemailer; GC) ${us(cpu.otherMs, count)} = ${us(total, count)}, ` +
    `so at most ${int((os.cpus().length * count * 1e3) / total)}/s on ${os.cpus().length} free cores`
  );
}

/** What the run got of the machine: the cores its processes used, and how long they waited for one. */
function shareLine(wallMs: number, sinkMs: number | null, sinkWaitMs: number | null, cpu: CpuSplit): string | null {
  if (sinkMs === null || cpu.mainMs === null || cpu.otherMs === null || cpu.mainWaitMs === null || sinkWaitMs === null) return null;
  const used = (sinkMs + cpu.mainMs + cpu.otherMs) / wallMs;
  return (
    `the sink and Callplane used ${fmt(used, 2)} of the ${os.cpus().length} cores; ready to run, the main thread waited ${fmt(cpu.mainWaitMs / 1000, 1)} s ` +
    `and the sink ${fmt(sinkWaitMs / 1000, 1)} s for a core other processes held (load average ${os.loadavg()[0]?.toFixed(2)} now)`
  );
}

async function throughput(store: Store, verdict: Verdict): Promise<void> {
  const target = await store.fresh("throughput", false);
  await runChild("build", { store: target, count: 10 });
  const { sink, cpuMs, waitMs } = await startSink();
  const idsFile = path.join(path.dirname(target.dataDir), `ids-${Date.now()}.txt`);
  try {
    const [sink0, wait0] = [cpuMs(), waitMs()];
    const r = await runChild<ThroughputResult>("throughput", { store: target, smtpUrl: sink.url, count: MESSAGES, idsFile });
    const sinkMs = sink0 === null ? null : (cpuMs() ?? 0) - sink0;
    const sinkWaitMs = wait0 === null ? null : (waitMs() ?? 0) - wait0;
    const got = readSpool(sink.spool);
    const expected = new Set(readFileSync(idsFile, "utf8").split("\n").filter(Boolean));
    let missing = 0;
    for (const id of expected) if (!got.ids.has(id)) missing++;
    const sustained = got.count > 1 ? (got.count - 1) / ((got.last - got.first) / 1000) : 0;
    const ok = sustained >= RATE_TARGET;
    console.log(
      `throughput ${int(r.queued)} dial-in emails queued (enqueueMail, ${int(ENQUEUE_BATCH)} a transaction) in ${fmt(r.enqueueMs / 1000, 2)} s = ${int(r.queued / (r.enqueueMs / 1000))}/s`,
    );
    console.log(
      `           delivered by the outbox's worker in ${fmt(r.deliverMs / 1000, 1)} s: the sink accepted ${int(got.count)}, first to last in ` +
        `${fmt((got.last - got.first) / 1000, 1)} s = ${int(sustained)} messages/s sustained (target ≥ ${int(RATE_TARGET)}/s: ${ok ? "met" : "NOT met"})`,
    );
    console.log(
      `           check: ${int(got.ids.size)} distinct Message-IDs at the sink, ${int(missing)} of the outbox's missing, ${int(got.count - got.ids.size)} received twice; ` +
        `outbox: ${int(r.status.sent ?? 0)} sent, ${int(r.status.deferred ?? 0)} deferred, ${int(r.status.failed ?? 0)} failed`,
    );
    const cpu = cpuLine(store, "CPU per message", got.count, sinkMs, r.cpu);
    if (cpu) console.log(`           ${cpu}`);
    const share = shareLine(r.deliverMs, sinkMs, sinkWaitMs, r.cpu);
    if (share) console.log(`           ${share}`);
    if (got.count !== MESSAGES || got.ids.size !== MESSAGES || missing > 0) {
      verdict.failures.push(`${store.label}: the sink did not get exactly the ${int(MESSAGES)} messages`);
    }
    if (!ok) verdict.failures.push(`${store.label}: ${int(sustained)} messages/s sustained < ${int(RATE_TARGET)}`);
  } finally {
    await sink.stop();
    rmSync(idsFile, { force: true });
  }
}

async function bulkMove(store: Store, verdict: Verdict): Promise<void> {
  const template = await store.fresh("template", false);
  const built = await runChild<{ users: number; licensed: number }>("build", { store: template, count: USERS });
  // Mirrored, so a machine that speeds up or slows down during the runs weighs on each mode alike.
  const order: MoveMode[] = [];
  for (let i = 0; i < ROUNDS; i++) order.push("off", "queue", "on", "on", "queue", "off");
  console.log(
    `bulk move  ${int(built.users)}-user demo tenant (${int(built.licensed)} licensed for Audio Conferencing), every ready user moved, ` +
      `each run on a fresh copy of it, in the order ${order.join(", ")}`,
  );
  console.log(
    "           off: no email; on: each user's email queued in the batch transaction and delivered to the sink meanwhile; " +
      "queue (to tell the two apart): queued the same way, but no transport, so nothing is delivered",
  );
  const rates: Record<MoveMode, number[]> = { off: [], queue: [], on: [] };
  const cpuPerUser: Record<MoveMode, number[]> = { off: [], queue: [], on: [] };
  const lastDelivered: number[] = [];
  for (const [i, mode] of order.entries()) {
    const target = await store.fresh(`run${i}`, true);
    const { sink, cpuMs } = await startSink();
    try {
      const sink0 = cpuMs();
      const r = await runChild<MoveResult>("move", { store: target, smtpUrl: sink.url, mode });
      const sinkMs = sink0 === null ? null : (cpuMs() ?? 0) - sink0;
      const got = readSpool(sink.spool);
      const rate = r.changed / (r.moveMs / 1000);
      rates[mode].push(rate);
      if (r.moveCpu.mainMs !== null) cpuPerUser[mode].push((r.moveCpu.mainMs * 1000) / r.changed);
      const main =
        r.moveCpu.mainMs === null
          ? ""
          : `; main thread ${us(r.moveCpu.mainMs, r.changed)} CPU per user` +
            (r.moveCpu.mainWaitMs === null ? "" : ` (waited ${fmt(r.moveCpu.mainWaitMs / 1000, 1)} s for a core)`);
      let line = `           ${mode.padEnd(5)} ${int(r.changed)} users moved in ${fmt(r.moveMs / 1000, 2)} s = ${int(rate)} users/s${main}`;
      if (mode === "on") {
        const lastS = (got.last - r.startedAt) / 1000;
        lastDelivered.push(lastS);
        line += `\n                 ${int(got.ids.size)} emails at the sink, the last ${fmt(lastS, 1)} s after the move started (${fmt(lastS - r.moveMs / 1000, 1)} s after it ended)`;
        const cpu = cpuLine(store, "CPU per user until then", got.count, sinkMs, r.cpu);
        if (cpu) line += `\n                 ${cpu}`;
        if (got.count !== r.changed || got.ids.size !== r.changed || (r.status.sent ?? 0) !== r.changed) {
          verdict.failures.push(
            `${store.label}: ${int(got.ids.size)} emails at the sink (${int(r.status.sent ?? 0)} sent) for ${int(r.changed)} users moved`,
          );
        }
      } else {
        if (mode === "queue") line += `; ${int(r.status.queued ?? 0)} emails left queued`;
        if (got.count !== 0) verdict.failures.push(`${store.label}: the move with email ${mode} delivered ${int(got.count)} emails`);
      }
      if (r.failed > 0) verdict.failures.push(`${store.label}: ${int(r.failed)} users failed to move`);
      console.log(line);
    } finally {
      await sink.stop();
    }
  }
  const m = (mode: MoveMode) => median(rates[mode]);
  // Rate per main-thread CPU: what the move would do if other processes left its core alone.
  const c = (mode: MoveMode) => (cpuPerUser[mode].length > 0 ? 1 / median(cpuPerUser[mode]) : Number.NaN);
  const pct = (x: number) => `${fmt(x * 100, 1)}%`;
  const ratio = m("on") / m("off");
  const ok = ratio >= RATIO_TARGET;
  console.log(
    `ratio      users/s with email on / off, medians: ${int(m("on"))} / ${int(m("off"))} = ${pct(ratio)} (target ≥ ${int(RATIO_TARGET * 100)}%: ${ok ? "met" : "NOT met"}); ` +
      `by main-thread CPU per user: ${pct(c("on") / c("off"))}`,
  );
  console.log(
    `           of which queuing in the batch transaction (queue / off): ${pct(m("queue") / m("off"))}, by CPU ${pct(c("queue") / c("off"))}; ` +
      `delivering meanwhile (on / queue): ${pct(m("on") / m("queue"))}, by CPU ${pct(c("on") / c("queue"))}; ` +
      `last email ${fmt(median(lastDelivered), 1)} s after the move started (median)`,
  );
  if (!ok) verdict.failures.push(`${store.label}: the move with email on at ${pct(ratio)} of its rate with email off`);
}

async function main(): Promise<void> {
  console.log(
    `Callplane bench:mail — SMTP sink: aiosmtpd (Python) on 127.0.0.1, spool on ${process.env.BENCH_SPOOL !== "disk" && existsSync("/dev/shm") ? "tmpfs" : "disk"}; ` +
      `${os.cpus().length} cores, Node ${process.version}, load average ${os.loadavg()[0]?.toFixed(2)} at start`,
  );
  const verdict: Verdict = { failures: [] };
  const kinds: Store[] = [];
  const work = mkdtempSync(path.join(os.tmpdir(), "callplane-bench-mail-"));
  try {
    kinds.push(pgliteStores(path.join(work)));
    if (process.env.DATABASE_URL) kinds.push(await postgresStores(work, process.env.DATABASE_URL));
    for (const store of kinds) {
      console.log(`— ${store.label}`);
      if (ONLY !== "move") await throughput(store, verdict);
      if (ONLY !== "throughput") await bulkMove(store, verdict);
    }
  } finally {
    for (const store of kinds) await store.cleanup().catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }
  console.log(verdict.failures.length === 0 ? "targets met" : `targets NOT met: ${verdict.failures.join("; ")}`);
}

if (process.argv[2] === "--child") {
  child(process.argv.slice(3)).then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
} else {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
