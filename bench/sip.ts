// npm run bench:sip — voice routing published to a real Kamailio (Debian's /usr/sbin/kamailio, the
// kamailio.cfg Callplane generates) and driven by real SIP traffic (SIPp). (1) A 100,000-user demo
// tenant on the embedded store with 5,000 voice routes added over the demo's PSTN usages, its gateways
// pointed at a SIPp gateway on 127.0.0.1: compile time, the generation's row counts, the time of two
// publishes (the first, then one route changed, into the other slot) and Kamailio's shared memory.
// (2) A SIPp caller placing calls as demo users (From = a line URI's number) to numbers that route,
// at increasing rates: calls placed and failed, and the post-dial delay, measured as INVITE sent by
// the caller → INVITE received by the gateway (the caller writes its clock into the INVITE as it sends
// it, the gateway reads its own as it takes it: one host, one clock, µs; matched by Call-ID), p50 and
// p99. (3) The floor, in the same run and interleaved with (2): the same Kamailio binary with a
// minimal config of one static route (every INVITE relayed straight to the gateway).
// Kamailio (both instances, same workers and memory), the SIPp caller and the SIPp gateway share this
// machine's cores, so the figures include their contention and whatever else runs: the CPU lines say
// who used what. Every child process is stopped by its PID, on error too.
// BENCH_USERS (100,000), BENCH_ROUTES (5,000), BENCH_RATES (200,500,800,1000,1200 calls/s),
// BENCH_SECONDS (10 per rate), BENCH_CHILDREN (4 Kamailio UDP workers).
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { sql } from "drizzle-orm";
import type { Ctx } from "../src/core/context.ts";
import { pick, type Rng, seededRng } from "../src/core/random.ts";
import { buildDemoTenant } from "../src/demo/demo.service.ts";
import { openRuntime, type Runtime } from "../src/runtime.ts";
import { rows } from "../src/store/db.ts";
import { KAMAILIO_BIN, kamailioCommand, kamailioConfig } from "../src/voice/kamailio/config.ts";
import { initDataDir } from "../src/voice/kamailio/dbtext.ts";
import { addProxy, compileTenant, planPublish, publishVoice } from "../src/voice/kamailio/publish.service.ts";
import { KamailioRpc } from "../src/voice/kamailio/rpc.ts";
import { createRoute, listGateways, listPstnUsages, listRoutes, setGateway, setRoute } from "../src/voice/voice.service.ts";
import { freeTcpPort, freeUdpPort, kamailioMissing } from "../test/support/kamailio.ts";
import { type SippProcess, sippMissing, startSipp } from "../test/support/sipp.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const UAC_SCENARIO = path.join(here, "sip", "uac.xml");
const UAS_SCENARIO = path.join(here, "sip", "uas.xml");

const USERS = Number(process.env.BENCH_USERS ?? 100_000);
const ROUTES = Number(process.env.BENCH_ROUTES ?? 5_000);
const RATES = (process.env.BENCH_RATES ?? "200,500,800,1000,1200")
  .split(",")
  .map((r) => Number(r.trim()))
  .filter((r) => Number.isFinite(r) && r > 0)
  .sort((a, b) => a - b);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CHILDREN = Number(process.env.BENCH_CHILDREN ?? 4);
/** Calls/s of the 2 s warm-up through each Kamailio before the measured rates. */
const WARM_UP_RATE = 100;

const PUBLISH_TARGET_S = 5;
const PLAN_TARGET_S = 10;
const RATE_TARGET = 1_000;
const P99_TARGET_MS = 20;
const RATIO_TARGET = 2;
/** A rate counts as reached when the caller placed its calls at ≥ 95% of it. */
const ACHIEVED_SHARE = 0.95;
/** Demo routes go after the bench's (more specific ones first, as an administrator orders them). */
const DEMO_ROUTES_FROM = 900_000;
const host = "127.0.0.1";

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const fmt = (n: number, digits = 1) => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const mb = (bytes: number) => fmt(bytes / 1024 / 1024, 1);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const seconds = (from: number) => (performance.now() - from) / 1000;

function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
}

// ---- CPU time from /proc (Linux) ----

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** utime + stime (ms) and process group of a process, from /proc/PID/stat; null when it is gone. */
function procStat(pid: number | string): { cpuMs: number; pgrp: number } | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    return { cpuMs: (Number(fields[11]) + Number(fields[12])) * TICK_MS, pgrp: Number(fields[2]) };
  } catch {
    return null;
  }
}

interface ProcCpu {
  /** utime + stime, ms. */
  own: number;
  /** cutime + cstime, ms: the children it has reaped (a test runner's short-lived processes end up here). */
  reaped: number;
  pgrp: number;
}

/**
 * CPU of every process on the machine, by PID. (Per process, not /proc/stat: on this VM the machine-wide
 * counters lose a third of the time under this bursty load, while the per-process ones add up.)
 */
function allCpu(): Map<number, ProcCpu> {
  const out = new Map<number, ProcCpu>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const f = readFileSync(`/proc/${entry}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
      out.set(Number(entry), {
        own: (Number(f[11]) + Number(f[12])) * TICK_MS,
        reaped: (Number(f[13]) + Number(f[14])) * TICK_MS,
        pgrp: Number(f[2]),
      });
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

/** CPU (ms) used between two snapshots: by a Kamailio's process group, by the gateway, and by everything else. */
function cpuBetween(a: Map<number, ProcCpu>, b: Map<number, ProcCpu>, kamailioGroup: number | undefined, ours: readonly number[]) {
  let kamailio = 0;
  let gateway = 0;
  let rest = 0;
  let reapedBySelf = 0;
  const gatewayPid = ours[0];
  for (const [pid, now] of b) {
    const then = a.get(pid);
    const own = now.own - (then?.own ?? 0);
    // What a process reaped: its children's time. This one reaps the caller (it spawned it): that is the caller's.
    const reaped = now.reaped - (then?.reaped ?? 0);
    if (kamailioGroup !== undefined && now.pgrp === kamailioGroup) kamailio += own;
    else if (pid === gatewayPid) gateway += own;
    else if (!ours.includes(pid)) rest += own;
    if (pid === process.pid) reapedBySelf += reaped;
    else rest += reaped;
  }
  return { kamailio, gateway, rest, reapedBySelf };
}

// ---- The tenant: demo users, bench routes ----

/** Area codes for the US routes (NPA), each with its exchanges (NXX) handed out once. */
const NPAS = ["206", "212", "213", "303", "305", "310", "312", "360", "404", "415", "469", "503", "512", "602", "617", "646", "702"];
const NPAS2 = ["713", "718", "773", "786", "801", "818", "858", "917", "972", "509", "253", "416", "647", "514", "604", "778"];
/** Country code and national significant number length, for international routes. */
const COUNTRIES: [string, number][] = [
  ["44", 10],
  ["49", 10],
  ["33", 9],
  ["31", 9],
  ["34", 9],
  ["39", 10],
  ["41", 9],
  ["46", 9],
  ["48", 9],
  ["353", 9],
  ["61", 9],
  ["81", 10],
  ["82", 9],
  ["86", 11],
  ["91", 10],
  ["52", 10],
  ["55", 11],
  ["27", 9],
];

function digits(rng: Rng, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += String(rng.int(10));
  return s;
}

/** A bench route, and how to dial a number it routes (as a user types it) with the number it normalizes to. */
interface BenchRoute {
  name: string;
  numberPattern: string;
  pstnUsages: string[];
  /** Reached by the demo users' policy (Global: US, then Intl). */
  reachable: boolean;
  sample(rng: Rng): { dialled: string; normalized: string };
}

/** A NANP number as dialled: ten digits, 1 + ten digits, or E.164 (the Global dial plan's rules, or none). */
function nanpDialled(rng: Rng, e164: string): string {
  const roll = rng.int(10);
  return roll < 4 ? e164.slice(2) : roll < 7 ? e164.slice(1) : e164;
}

/**
 * `count` routes: exchanges of US area codes (alone, or with a second area code in an alternation),
 * Redmond exchanges in Local (half also in US), and national destination codes abroad in Intl. Every
 * pattern is distinct and specific, so each number the bench dials is routed by the route it was
 * drawn from; the calls to Intl routes first fail every US route (the policy's first usage).
 */
function benchRoutes(count: number): BenchRoute[] {
  const rng = seededRng("bench-sip-routes");
  const used = new Set<string>();
  const fresh = (make: () => string): string => {
    for (;;) {
      const k = make();
      if (!used.has(k)) {
        used.add(k);
        return k;
      }
    }
  };
  const nxx = () => `${2 + rng.int(8)}${digits(rng, 2)}`;
  const out: BenchRoute[] = [];
  for (let i = 0; i < count; i++) {
    const name = `Bench-${String(i).padStart(4, "0")}`;
    const kind = i % 20;
    if (kind < 11) {
      const [npa, ex] = fresh(() => `${pick(rng, NPAS)} ${nxx()}`).split(" ") as [string, string];
      out.push({
        name,
        numberPattern: `^\\+1${npa}${ex}\\d{4}$`,
        pstnUsages: ["US"],
        reachable: true,
        sample: (r) => {
          const e164 = `+1${npa}${ex}${digits(r, 4)}`;
          return { dialled: nanpDialled(r, e164), normalized: e164 };
        },
      });
    } else if (kind < 13) {
      const [a, b, ex] = fresh(() => `${pick(rng, NPAS2)} ${pick(rng, NPAS2)} ${nxx()}`).split(" ") as [string, string, string];
      out.push({
        name,
        numberPattern: `^\\+1(${a}|${b})${ex}\\d{4}$`,
        pstnUsages: ["US"],
        reachable: true,
        sample: (r) => {
          const e164 = `+1${r.int(2) ? a : b}${ex}${digits(r, 4)}`;
          return { dialled: nanpDialled(r, e164), normalized: e164 };
        },
      });
    } else if (kind < 15) {
      const ex = fresh(() => `425 ${nxx()}`).split(" ")[1] as string;
      const alsoUs = kind === 13;
      out.push({
        name,
        numberPattern: `^\\+1425${ex}\\d{4}$`,
        pstnUsages: alsoUs ? ["Local", "US"] : ["Local"],
        reachable: alsoUs,
        sample: (r) => {
          const e164 = `+1425${ex}${digits(r, 4)}`;
          return { dialled: nanpDialled(r, e164), normalized: e164 };
        },
      });
    } else {
      const [cc, nsn, ndc] = fresh(() => {
        const [c, n] = pick(rng, COUNTRIES);
        return `${c} ${n} ${1 + rng.int(9)}${digits(rng, 2)}`;
      }).split(" ") as [string, string, string];
      const rest = Number(nsn) - ndc.length;
      out.push({
        name,
        numberPattern: `^\\+${cc}${ndc}\\d{${rest}}$`,
        pstnUsages: ["Intl"],
        reachable: true,
        sample: (r) => {
          const e164 = `+${cc}${ndc}${digits(r, rest)}`;
          return { dialled: r.int(2) ? `011${e164.slice(1)}` : e164, normalized: e164 };
        },
      });
    }
  }
  return out;
}

// ---- Kamailio ----

interface Kamailio {
  host: string;
  sipPort: number;
  rpcAddress: string;
  dir: string;
  dataDir: string;
  logFile: string;
  rpc: KamailioRpc;
  /** The main process's PID (it leads its own process group, its workers included) while it runs. */
  pid(): number | undefined;
  stop(): Promise<void>;
}

/** Kamailios running now: killed (their process groups) if this process exits without stopping them. */
const kamailios = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of kamailios) killGroup(child, "SIGKILL");
});

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

const logTail = (file: string) => (existsSync(file) ? readFileSync(file, "utf8").trimEnd().split("\n").slice(-40).join("\n") : "");

/**
 * Starts Kamailio on free ports of 127.0.0.1 in the foreground (`kamailioCommand`: -DD -E, -m 1024 -M 256)
 * with the config `cfg` writes, in `dir`. Its log (stderr) goes to a file, as in production, not to a pipe
 * this process would have to drain: the generated config logs a line per routed call. Resolves once RPC
 * `core.uptime` answers; stopped by its PID (SIGTERM, then SIGKILL to its group after 5 s).
 */
async function startBenchKamailio(
  dir: string,
  cfg: (o: { sipListen: string; rpcListen: string; dataDir: string; runDir: string }) => string,
): Promise<Kamailio> {
  const dataDir = path.join(dir, "data");
  const runDir = path.join(dir, "run");
  const cfgPath = path.join(dir, "kamailio.cfg");
  const logFile = path.join(dir, "kamailio.log");
  mkdirSync(runDir, { recursive: true });
  initDataDir(dataDir);
  for (let attempt = 1; ; attempt++) {
    const sipPort = await freeUdpPort();
    const rpcPort = await freeTcpPort();
    const rpcAddress = `${host}:${rpcPort}`;
    writeFileSync(cfgPath, cfg({ sipListen: `${host}:${sipPort}`, rpcListen: rpcAddress, dataDir, runDir }));
    const check = spawnSync(KAMAILIO_BIN, ["-c", "-f", cfgPath], { encoding: "utf8", timeout: 15_000 });
    if (check.status !== 0) throw new Error(`kamailio -c -f ${cfgPath} failed:\n${`${check.stdout}${check.stderr}`.slice(-4000)}`);
    const [bin = KAMAILIO_BIN, ...args] = kamailioCommand(cfgPath);
    const fd = openSync(logFile, "a");
    const child = spawn(bin, args, { stdio: ["ignore", fd, fd], detached: true });
    closeSync(fd);
    kamailios.add(child);
    let exited = false;
    child.on("exit", () => {
      exited = true;
      kamailios.delete(child);
    });
    child.on("error", () => {
      exited = true;
    });
    const stop = async () => {
      if (!exited) {
        const ended = new Promise<void>((resolve) => child.once("exit", () => resolve()));
        child.kill("SIGTERM");
        const timer = setTimeout(() => killGroup(child, "SIGKILL"), 5_000);
        await ended.finally(() => clearTimeout(timer));
      }
      // A worker left behind would hold the ports.
      killGroup(child, "SIGKILL");
    };
    const rpc = new KamailioRpc(rpcAddress, { timeoutMs: 60_000 });
    const probe = new KamailioRpc(rpcAddress, { timeoutMs: 2_000 });
    const deadline = Date.now() + 20_000;
    let ready = false;
    while (!exited && Date.now() < deadline) {
      ready = await probe.uptime().then(
        () => true,
        () => false,
      );
      if (ready) break;
      await sleep(100);
    }
    if (ready && !exited)
      return { host, sipPort, rpcAddress, dir, dataDir, logFile, rpc, pid: () => (exited ? undefined : child.pid), stop };
    await stop();
    const log = logTail(logFile);
    if (attempt < 3 && /address already in use/i.test(log)) continue;
    throw new Error(`Kamailio (${cfgPath}) did not serve RPC at ${rpcAddress} within 20 s:\n${log}`);
  }
}

// ---- Kamailio: the floor ----

/**
 * The floor: the same request handling as the generated kamailio.cfg (max-forwards, CANCEL, retransmissions
 * absorbed by tm, in-dialog requests by loose_route, record_route) with one static route in place of
 * Callplane's routing: every INVITE relayed to the gateway as dialled. Same workers; RPC for readiness and memory.
 */
function staticConfig(o: { sipListen: string; rpcListen: string; runDir: string; gateway: string }): string {
  return `#!KAMAILIO
# bench:sip's floor: one static route, every INVITE relayed straight to ${o.gateway}.
debug=2
log_stderror=yes
children=${CHILDREN}
tcp_children=1
dns=no
rev_dns=no
dns_try_ipv6=no
auto_aliases=no
rundir="${o.runDir}"
listen=udp:${o.sipListen}
listen=tcp:${o.rpcListen}
tcp_accept_no_cl=yes

loadmodule "tm.so"
loadmodule "tmx.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xhttp.so"
loadmodule "jsonrpcs.so"
modparam("jsonrpcs", "transport", 1)
modparam("jsonrpcs", "pretty_format", 0)

request_route {
	if (proto != UDP) {
		drop;
	}
	if (!mf_process_maxfwd_header("10")) {
		sl_send_reply("483", "Too Many Hops");
		exit;
	}
	if (is_method("CANCEL")) {
		if (t_check_trans()) {
			t_relay();
		}
		exit;
	}
	if (!is_method("ACK")) {
		if (t_precheck_trans()) {
			t_check_trans();
			exit;
		}
		t_check_trans();
	}
	if (has_totag()) {
		if (loose_route()) {
			if (!t_relay()) {
				sl_reply_error();
			}
			exit;
		}
		if (is_method("ACK")) {
			if (t_check_trans()) {
				t_relay();
			}
			exit;
		}
		sl_send_reply("404", "Not here");
		exit;
	}
	if (is_method("ACK")) {
		if (t_check_trans()) {
			t_relay();
		}
		exit;
	}
	if (!is_method("INVITE")) {
		sl_send_reply("405", "Method Not Allowed");
		exit;
	}
	record_route();
	$ru = "sip:" + $rU + "@${o.gateway}";
	if (!t_relay()) {
		sl_reply_error();
	}
}

event_route[xhttp:request] {
	if ($hu =~ "^/RPC") {
		jsonrpc_dispatch();
		exit;
	}
	xhttp_reply("404", "Not Found", "text/plain", "the RPC path is /RPC\\n");
}
`;
}

/** One JSON-RPC request to Kamailio and how long it took to be answered. */
interface RpcTime {
  call: string;
  ms: number;
}

/**
 * Times every JSON-RPC request this process sends (the RPC client uses the global fetch) until `stop`:
 * how much of a publish is Kamailio reloading and how much is Callplane's own work.
 */
function timeRpc(): { stop(): RpcTime[] } {
  const original = globalThis.fetch;
  const times: RpcTime[] = [];
  globalThis.fetch = (async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
    const t = performance.now();
    try {
      return await original(input, init);
    } finally {
      let call = "?";
      try {
        const body = JSON.parse(String(init?.body ?? "")) as { method?: string; params?: unknown[] };
        call = body.method === "htable.reload" ? `htable.reload ${String(body.params?.[0] ?? "")}` : String(body.method);
      } catch {
        // Not a JSON-RPC request.
      }
      times.push({ call, ms: performance.now() - t });
    }
  }) as typeof fetch;
  return {
    stop() {
      globalThis.fetch = original;
      return times;
    },
  };
}

function rpcBreakdown(totalS: number, times: readonly RpcTime[]): string {
  const reloads = times.filter((x) => /reload/.test(x.call));
  const others = times.filter((x) => !/reload/.test(x.call));
  const rpcMs = times.reduce((s, x) => s + x.ms, 0);
  const otherMs = others.reduce((s, x) => s + x.ms, 0);
  return (
    `Kamailio answering ${reloads.map((x) => `${x.call} ${fmt(x.ms / 1000, 2)} s`).join(", ")}, ${others.length} other RPC ${fmt(otherMs / 1000, 2)} s; ` +
    `the rest, ${fmt(totalS - rpcMs / 1000, 2)} s, is Callplane's (load and compile, write the db_text files, record the generation)`
  );
}

interface Shm {
  used: number;
  realUsed: number;
  maxUsed: number;
  total: number;
}

async function shm(kam: Kamailio): Promise<Shm> {
  const r = (await kam.rpc.call("core.shmmem")) as Record<string, number>;
  return { used: Number(r.used), realUsed: Number(r.real_used), maxUsed: Number(r.max_used), total: Number(r.total) };
}

const shmLine = (s: Shm) =>
  `used ${mb(s.used)} MB (real used ${mb(s.realUsed)} MB), max used ${mb(s.maxUsed)} MB, of ${int(s.total / 1024 / 1024)} MB`;

/** Waits until Kamailio holds no transaction (BYEs stay in tm's wait timer ~5 s), at most `maxMs`. */
async function drained(kam: Kamailio, maxMs = 10_000): Promise<number> {
  const deadline = Date.now() + maxMs;
  for (;;) {
    const r = (await kam.rpc.call("tm.stats")) as Record<string, number>;
    const current = Number(r.current);
    if (current === 0 || Date.now() > deadline) return current;
    await sleep(250);
  }
}

// ---- One load step ----

interface Planned {
  caller: string;
  dialled: string;
  normalized: string;
}

interface StepResult {
  config: "routed" | "static";
  rate: number;
  placed: number;
  ok: number;
  failed: number;
  misrouted: number;
  codes: Map<string, number>;
  achieved: number;
  pdd: number[];
  answer: number[];
  retrans: number;
  timeouts: number;
  unexpected: number;
  watchdog: number;
  /** % of one core over the step. */
  cpu: { kamailio: number; caller: number; gateway: number; other: number };
  leftover: number;
  passed: boolean;
}

interface Gateway {
  port: number;
  logFile: string;
  sipp: SippProcess;
}

async function startBenchGateway(dir: string): Promise<Gateway> {
  const logFile = path.join(dir, "gateway.log");
  for (let attempt = 1; ; attempt++) {
    const port = await freeUdpPort();
    const controlPort = await freeUdpPort();
    try {
      const sipp = await startSipp(
        ["-sf", UAS_SCENARIO, "-i", host, "-p", String(port), "-cp", String(controlPort), "-trace_logs", "-log_file", logFile],
        { cwd: dir, what: "SIPp gateway", bindPort: port },
      );
      return { port, logFile, sipp };
    } catch (e) {
      if (attempt < 3 && e instanceof Error && /already in use|bind/i.test(e.message)) continue;
      throw e;
    }
  }
}

/** The SIPp caller running now, so that an error or a signal can stop it by its PID. */
let runningCaller: SippProcess | undefined;

function parseStats(file: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!existsSync(file)) return out;
  const lines = readFileSync(file, "utf8").trim().split("\n");
  const header = (lines[0] ?? "").split(";");
  const last = (lines[lines.length - 1] ?? "").split(";");
  for (const [i, h] of header.entries()) out.set(h, last[i] ?? "");
  return out;
}

async function runStep(
  config: "routed" | "static",
  kam: Kamailio,
  gw: Gateway,
  rate: number,
  calls: readonly Planned[],
  dir: string,
): Promise<StepResult> {
  const name = `${config}-${rate}`;
  const csv = path.join(dir, `${name}.csv`);
  const logFile = path.join(dir, `${name}.log`);
  const statFile = path.join(dir, `${name}_stat.csv`);
  const errorFile = path.join(dir, `${name}_errors.log`);
  // The static route relays the number as dialled; Callplane's routing sends the normalized one.
  writeFileSync(
    csv,
    `SEQUENTIAL\n${calls.map((c) => `${c.caller};${c.dialled};${config === "routed" ? c.normalized : c.dialled}\n`).join("")}`,
  );
  const gwOffset = existsSync(gw.logFile) ? statSync(gw.logFile).size : 0;
  const n = calls.length;

  const kamPid = kam.pid();
  const cpu0 = allCpu();
  const t0 = performance.now();

  const port = await freeUdpPort();
  const controlPort = await freeUdpPort();
  const limit = Math.max(100, rate * 5);
  const caller = await startSipp(
    [
      `${kam.host}:${kam.sipPort}`,
      "-sf",
      UAC_SCENARIO,
      "-inf",
      csv,
      "-i",
      host,
      "-p",
      String(port),
      "-cp",
      String(controlPort),
      "-m",
      String(n),
      "-r",
      String(rate),
      "-rp",
      "1000",
      "-l",
      String(limit),
      "-timeout",
      `${SECONDS + 40}s`,
      "-trace_logs",
      "-log_file",
      logFile,
      "-trace_stat",
      "-stf",
      statFile,
      "-trace_err",
      "-error_file",
      errorFile,
    ],
    { cwd: dir, what: "SIPp caller" },
  );
  runningCaller = caller;
  // The caller's CPU, sampled while it runs (its /proc entry goes with it).
  let callerMs = 0;
  const callerPid = caller.pid();
  const sampler = setInterval(() => {
    const s = callerPid === undefined ? null : procStat(callerPid);
    if (s) callerMs = s.cpuMs;
  }, 200);
  const killer = setTimeout(() => void caller.stop(), (SECONDS + 60) * 1000);
  const exit = await caller.exited;
  clearInterval(sampler);
  clearTimeout(killer);
  runningCaller = undefined;
  // The gateway writes its last lines as it takes the last BYEs.
  await sleep(300);

  const cpu1 = allCpu();
  const wallMs = performance.now() - t0;

  const stats = parseStats(statFile);
  const stat = (k: string) => Number(stats.get(k) ?? Number.NaN);
  const placed = Number.isFinite(stat("TotalCallCreated")) ? stat("TotalCallCreated") : n;

  // The gateway's INVITEs of this step, by Call-ID: when each arrived, and when the caller wrote it (X-Sent).
  const atGateway = new Map<string, { ruser: string; at: number; sent: number }>();
  const gwText = existsSync(gw.logFile) ? readFileSync(gw.logFile, "utf8").slice(gwOffset) : "";
  for (const line of gwText.split("\n")) {
    const m = /^INVITE (\S+) (\S*) ([\d.]+) ([\d.]+) (\d+) (\d+)$/.exec(line);
    if (m?.[1] && !atGateway.has(m[1]))
      atGateway.set(m[1], {
        ruser: m[2] ?? "",
        at: Number(m[3]) * 1000 + Number(m[4]) / 1000,
        sent: Number(m[5]) * 1000 + Number(m[6]) / 1000,
      });
  }

  let ok = 0;
  let misrouted = 0;
  const codes = new Map<string, number>();
  const pdd: number[] = [];
  const answer: number[] = [];
  const sent: number[] = [];
  const text = existsSync(logFile) ? readFileSync(logFile, "utf8") : "";
  for (const line of text.split("\n")) {
    const okm = /^OK (\S+) (\S+) ([\d.]+) ([\d.]+)$/.exec(line);
    const errm = okm ? null : /^ERR (\S+) (\S*)$/.exec(line);
    const m = okm ?? errm;
    if (!m?.[1]) continue;
    const g = atGateway.get(m[1]);
    if (g) {
      sent.push(g.sent);
      pdd.push(g.at - g.sent);
    }
    if (okm) {
      ok++;
      if (g) answer.push(Number(okm[3]) * 1000 + Number(okm[4]) / 1000 - g.sent);
      if (!g || g.ruser !== okm[2]) misrouted++;
    } else {
      const code = errm?.[2] || "?";
      codes.set(code, (codes.get(code) ?? 0) + 1);
    }
  }
  const noLine = placed - ok - [...codes.values()].reduce((s, x) => s + x, 0);
  if (noLine > 0) codes.set("no answer/timeout", noLine);
  if (exit !== 0 && exit !== 1) codes.set(`caller exit ${exit}`, 1);
  sent.sort((a, b) => a - b);
  const span = sent.length > 1 ? ((sent[sent.length - 1] ?? 0) - (sent[0] ?? 0)) / 1000 : Number.NaN;
  const achieved = sent.length > 1 ? (sent.length - 1) / span : 0;
  pdd.sort((a, b) => a - b);
  answer.sort((a, b) => a - b);

  const used = cpuBetween(cpu0, cpu1, kamPid, [gw.sipp.pid() ?? -1, callerPid ?? -1]);
  const pct = (ms: number) => (100 * ms) / wallMs;
  const cpu = {
    kamailio: pct(used.kamailio),
    caller: pct(Math.max(callerMs, used.reapedBySelf)),
    gateway: pct(used.gateway),
    other: pct(used.rest),
  };
  const leftover = await drained(kam);
  const failed = placed - ok + misrouted;
  return {
    config,
    rate,
    placed,
    ok,
    failed: Math.max(0, failed),
    misrouted,
    codes,
    achieved,
    pdd,
    answer,
    retrans: stat("Retransmissions(C)"),
    timeouts: stat("FailedTimeoutOnRecv(C)"),
    unexpected: stat("FailedUnexpectedMessage(C)"),
    watchdog: stat("WatchdogMinor(C)") + stat("WatchdogMajor(C)"),
    cpu,
    leftover,
    passed: placed === n && failed === 0 && achieved >= ACHIEVED_SHARE * rate,
  };
}

function stepLine(r: StepResult): string {
  const ms = (x: number) => (Number.isFinite(x) ? fmt(x, 2) : "–");
  const codes = [...r.codes].map(([c, k]) => `${c}×${int(k)}`).join(", ");
  return (
    `${r.config.padEnd(6)} ${String(r.rate).padStart(5)}/s  placed ${int(r.placed).padStart(6)} at ${int(r.achieved).padStart(5)}/s, ` +
    `failed ${int(r.failed)}${codes ? ` (${codes})` : ""}${r.misrouted ? `, misrouted ${int(r.misrouted)}` : ""}; ` +
    `PDD p50 ${ms(percentile(r.pdd, 0.5))} p99 ${ms(percentile(r.pdd, 0.99))} max ${ms(percentile(r.pdd, 1))} ms; ` +
    `INVITE→200 p50 ${ms(percentile(r.answer, 0.5))} p99 ${ms(percentile(r.answer, 0.99))} ms; ` +
    `retrans ${int(r.retrans)}, watchdog ${int(r.watchdog)}` +
    `${r.timeouts > 0 || r.unexpected > 0 ? ` (SIPp: ${int(r.timeouts)} recv timeouts, ${int(r.unexpected)} unexpected messages)` : ""}; ` +
    `CPU % of one core: kamailio ${int(r.cpu.kamailio)}, caller ${int(r.cpu.caller)}, gateway ${int(r.cpu.gateway)}, ` +
    `everything else ${int(r.cpu.other)} (of ${os.cpus().length * 100})` +
    `${r.leftover ? `; ${int(r.leftover)} transaction${r.leftover > 1 ? "s" : ""} still held 10 s after` : ""}` +
    `${r.passed ? "" : "  ✗"}`
  );
}

// ---- Main ----

async function main(): Promise<void> {
  const why = [kamailioMissing(), sippMissing()].filter((w): w is string => w !== null);
  const kamVersion = why.length
    ? "?"
    : (execFileSync(KAMAILIO_BIN, ["-v"], { encoding: "utf8" }).split("\n")[0] ?? "").replace(/^version: /, "").trim();
  console.log(
    `Callplane bench:sip — ${kamVersion}, SIPp 3.6; ${os.cpus()[0]?.model ?? "unknown CPU"}, ${os.cpus().length} cores shared by ` +
      `Kamailio (${CHILDREN} UDP workers, -m 1024 -M 256, its log to a file), the SIPp caller and the SIPp gateway; Node ${process.version}, ` +
      `load average ${os.loadavg()[0]?.toFixed(2)} at start`,
  );
  if (why.length) {
    console.log(`targets NOT met: the bench cannot run here: ${why.join(" ")}`);
    process.exitCode = 1;
    return;
  }
  if (!Number.isInteger(USERS) || USERS < 1 || !Number.isInteger(ROUTES) || ROUTES < 1 || RATES.length === 0 || !(SECONDS > 0))
    throw new Error("BENCH_USERS and BENCH_ROUTES must be whole numbers ≥ 1, BENCH_RATES a list of calls/s, BENCH_SECONDS > 0.");

  const failures: string[] = [];
  const work = mkdtempSync(path.join(os.tmpdir(), "callplane-bench-sip-"));
  const sipDir = path.join(work, "sip");
  mkdirSync(sipDir);
  let runtime: Runtime | undefined;
  let gw: Gateway | undefined;
  let routed: Kamailio | undefined;
  let floor: Kamailio | undefined;
  // A signal ends the run through `exit`, whose handlers kill each Kamailio's process group (above) and every SIPp
  // (test/support/sipp.ts) by PID.
  const onSignal = (signal: NodeJS.Signals) => {
    console.error(`\n${signal}: stopping Kamailio and SIPp`);
    process.exit(130);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  // On any exit: the throwaway folder (Kamailio's folders and logs are in it).
  process.once("exit", () => rmSync(work, { recursive: true, force: true }));
  try {
    // (1) The tenant.
    runtime = await openRuntime({
      dataDir: path.join(work, "store"),
      pinKeyFile: path.join(work, "pin.key"),
      holder: "bench:sip",
      outboxDir: path.join(work, "outbox"),
      warn: (m) => {
        if (!m.startsWith("Created the PIN key file")) process.stderr.write(`${m}\n`);
      },
    });
    let t = performance.now();
    const demo = await buildDemoTenant(runtime.store.db, runtime.env, { users: USERS, seed: 1 });
    const ctx: Ctx = await runtime.ctx(demo.tenant.id, "bench:sip");
    const buildS = seconds(t);

    gw = await startBenchGateway(sipDir);
    const gateways = await listGateways(ctx);
    for (const g of gateways) await setGateway(ctx, g.fqdn, { signalingAddress: host, sipSignalingPort: gw.port, enabled: true });
    const demoRoutes = await listRoutes(ctx);
    for (const [i, r] of demoRoutes.entries()) await setRoute(ctx, r.name, { priority: DEMO_ROUTES_FROM + i });
    t = performance.now();
    const routes = benchRoutes(ROUTES);
    const fqdns = gateways.map((g) => g.fqdn);
    for (const [i, r] of routes.entries()) {
      const a = fqdns[i % fqdns.length] as string;
      const b = fqdns[(i + 1) % fqdns.length] as string;
      await createRoute(ctx, {
        name: r.name,
        numberPattern: r.numberPattern,
        priority: i,
        pstnUsages: r.pstnUsages,
        pstnGateways: i % 3 === 2 && a !== b ? [a, b] : [a],
      });
    }
    const routesS = seconds(t);
    const byUsage = new Map<string, number>();
    for (const r of routes) for (const u of r.pstnUsages) byUsage.set(u, (byUsage.get(u) ?? 0) + 1);
    const lines = await rows<{ line: string }>(
      runtime.store.db,
      sql`select substr(on_prem_line_uri, 5) as line from users where tenant_id = ${ctx.tenantId} and on_prem_line_uri like 'tel:+%' order by id`,
    );
    const callers = lines.map((l) => l.line.replace(/;.*$/, ""));
    if (callers.length === 0) throw new Error("The demo tenant has no user with a line URI to call from.");
    console.log(
      `tenant     ${int(USERS)} demo users (built in ${fmt(buildS)} s; ${int(callers.length)} with a line URI, the callers), ` +
        `PSTN usages ${(await listPstnUsages(ctx)).join(", ")}; ${int(ROUTES)} routes added in ${fmt(routesS)} s ` +
        `(${[...byUsage].map(([u, k]) => `${u} ${int(k)}`).join(", ")}; before the demo's ${demoRoutes.length}), ` +
        `${gateways.length} gateways (${fqdns.join(", ")}) → the SIPp gateway at ${host}:${gw.port}`,
    );

    // Kamailio with the generated config, and the publishes.
    routed = await startBenchKamailio(path.join(work, "kamailio-routed"), (o) => kamailioConfig({ ...o, children: CHILDREN }));
    await addProxy(ctx, { name: "bench", rpcAddress: routed.rpcAddress, dataDir: routed.dataDir });
    t = performance.now();
    const compiled = await compileTenant(ctx);
    const compileS = seconds(t);
    const a = compiled.artifacts;
    const c = compiled.counts;
    console.log(
      `compile    ${fmt(compileS, 2)} s (load from the store + compile): ${int(a.dialplan.length)} dialplan rows, ${int(a.routing.length)} routing keys (htable cp), ` +
        `${int(a.users.length)} caller keys (htable cpu<slot>), per slot; from ${int(c.users)} users, ${int(c.dialPlans)} dial plans (${int(c.rules)} rules), ` +
        `${int(c.pstnUsages)} PSTN usages, ${int(c.routes)} routes, ${int(c.gateways)} gateways, ${int(c.policies)} policies`,
    );
    const before = await shm(routed);
    let rpcTimes = timeRpc();
    t = performance.now();
    const first = await publishVoice(ctx);
    const publish1S = seconds(t);
    const rpc1 = rpcTimes.stop();
    const afterFirst = await shm(routed);
    await setRoute(ctx, routes[0]?.name ?? "", { pstnGateways: [fqdns[fqdns.length - 1] as string] });
    // The impact preview of that change, before it is published: every caller × their likely destinations, both generations.
    t = performance.now();
    const impact = await planPublish(ctx);
    const planS = seconds(t);
    const planOk = planS <= PLAN_TARGET_S;
    console.log(
      `impact     voice publish --plan: ${int(impact.callers)} callers × their likely destinations = ${int(impact.destinations)} calls, ` +
        `${int(impact.resolutions)} resolutions (live and next) in ${fmt(planS, 2)} s (engine ${fmt(impact.ms / 1000, 2)} s with loading); ` +
        `${int(impact.unchanged)} unchanged, ${Object.entries(impact.changed)
          .map(([k, n]) => `${k} ${int(n)}`)
          .join(", ")}; target ≤ ${PLAN_TARGET_S} s: ${planOk ? "met" : "NOT met"}`,
    );
    if (!planOk) failures.push(`impact preview of the ${int(USERS)}-user configuration ${fmt(planS, 2)} s (target ≤ ${PLAN_TARGET_S} s)`);
    rpcTimes = timeRpc();
    t = performance.now();
    const second = await publishVoice(ctx);
    const publish2S = seconds(t);
    const rpc2 = rpcTimes.stop();
    const afterSecond = await shm(routed);
    for (const p of [first, second])
      if (!p.proxies.every((x) => x.ok)) throw new Error(`Generation ${p.generation} was not taken: ${JSON.stringify(p.proxies)}`);
    const publishOk = Math.max(publish1S, publish2S) <= PUBLISH_TARGET_S;
    console.log(
      `publish    generation ${first.generation}: ${fmt(publish1S, 2)} s; generation ${second.generation} (one route's gateways changed, ` +
        `into the other slot): ${fmt(publish2S, 2)} s — each: load + compile, write the slot's tables, reload them, flip, record; ` +
        `target ≤ ${PUBLISH_TARGET_S} s: ${publishOk ? "met" : "NOT met"}`,
    );
    for (const [gen, total, calls] of [
      [first.generation, publish1S, rpc1],
      [second.generation, publish2S, rpc2],
    ] as const)
      console.log(`           generation ${gen}: ${rpcBreakdown(total, calls)}`);
    if (!publishOk)
      failures.push(
        `publish of the ${int(USERS)}-user configuration ${fmt(Math.max(publish1S, publish2S), 2)} s (target ≤ ${PUBLISH_TARGET_S} s)`,
      );
    console.log(`memory     Kamailio shared memory before any publish: ${shmLine(before)}`);
    console.log(`           after generation ${first.generation}: ${shmLine(afterFirst)}`);
    console.log(`           after generation ${second.generation} (both slots loaded): ${shmLine(afterSecond)}`);

    // The floor.
    const gwPort = gw.port;
    floor = await startBenchKamailio(path.join(work, "kamailio-static"), ({ sipListen, rpcListen, runDir }) =>
      staticConfig({ sipListen, rpcListen, runDir, gateway: `${host}:${gwPort}` }),
    );

    // (2) and (3): the same calls at each rate, routed and static in turn (the order mirrored from one rate to the next).
    const reachable = routes.filter((r) => r.reachable);
    const targeted = new Set<string>();
    console.log(
      `calls      ${SECONDS} s per rate, each a call from a random demo line (From = its E.164 number) to a number of a random bench route the ` +
        `Global policy reaches (${int(reachable.length)} routes; dialled as 10 or 11 digits, 011…, or E.164), INVITE → 200 → ACK → BYE → 200`,
    );
    console.log(
      `           PDD = post-dial delay, INVITE sent by the caller → INVITE received by the gateway (µs: the caller writes the time into the INVITE as it ` +
        `sends it, the gateway reads its clock as it takes it; same host, matched by Call-ID; SIPp to SIPp direct is ~0.1 ms); ` +
        `INVITE→200 at the caller beside it; a rate is reached when the caller placed all calls at ≥ ${int(ACHIEVED_SHARE * 100)}% of it with 0 failed`,
    );
    const plan = (seed: string, count: number): Planned[] => {
      const rng = seededRng(seed);
      return Array.from({ length: count }, () => {
        const route = pick(rng, reachable);
        targeted.add(route.name);
        return { caller: pick(rng, callers), ...route.sample(rng) };
      });
    };
    // Warm-up, not counted: the first calls after a publish touch the freshly loaded tables.
    const warm = plan("bench-sip-warm-up", WARM_UP_RATE * 2);
    const warmed: string[] = [];
    for (const config of ["routed", "static"] as const) {
      const r = await runStep(config, config === "routed" ? routed : floor, gw, WARM_UP_RATE, warm, sipDir);
      warmed.push(`${config} ${int(r.ok)} answered, ${int(r.failed)} failed`);
    }
    console.log(`warm-up    ${int(warm.length)} calls at ${WARM_UP_RATE}/s through each, not counted: ${warmed.join("; ")}`);
    const results: StepResult[] = [];
    for (const [ri, rate] of RATES.entries()) {
      const calls = plan(`bench-sip-calls-${rate}`, Math.round(rate * SECONDS));
      const order: ("routed" | "static")[] = ri % 2 === 0 ? ["routed", "static"] : ["static", "routed"];
      for (const config of order) {
        const r = await runStep(config, config === "routed" ? routed : floor, gw, rate, calls, sipDir);
        results.push(r);
        console.log(stepLine(r));
      }
    }
    const afterLoad = await shm(routed);
    console.log(
      `memory     Kamailio (routed) shared memory after the calls: ${shmLine(afterLoad)}; calls went to ${int(targeted.size)} distinct routes`,
    );

    // Summary.
    const of = (config: StepResult["config"]) => results.filter((r) => r.config === config);
    const best = (config: StepResult["config"]) =>
      of(config)
        .filter((r) => r.passed)
        .sort((x, y) => y.rate - x.rate)[0];
    const p99 = (r: StepResult | undefined) => (r ? percentile(r.pdd, 0.99) : Number.NaN);
    const bestRouted = best("routed");
    const bestStatic = best("static");
    const describe = (r: StepResult | undefined) =>
      r ? `${int(r.rate)} calls/s (PDD p99 ${fmt(p99(r), 2)} ms)` : `none of ${RATES.map(int).join(", ")} calls/s`;
    console.log(`routed     highest rate with 0 failed calls: ${describe(bestRouted)}`);
    console.log(`static     highest rate with 0 failed calls: ${describe(bestStatic)}`);

    // Routed: ≥ 1,000 calls/s with 0 failures, p99 ≤ 20 ms at the target rate (the lowest rate measured at or above it).
    const atTarget = of("routed")
      .filter((r) => r.rate >= RATE_TARGET)
      .sort((x, y) => x.rate - y.rate)[0];
    const rateOk = (bestRouted?.rate ?? 0) >= RATE_TARGET;
    const p99AtTarget = p99(atTarget);
    const p99Ok = atTarget?.passed === true && p99AtTarget <= P99_TARGET_MS;
    console.log(
      `target     routed ≥ ${int(RATE_TARGET)} calls/s with 0 failed: ${rateOk ? "met" : "NOT met"}; ` +
        (atTarget
          ? `PDD p99 at ${int(atTarget.rate)} calls/s ${fmt(p99AtTarget, 2)} ms (target ≤ ${P99_TARGET_MS} ms${atTarget.passed ? "" : ", at a rate with failures"}): ${p99Ok ? "met" : "NOT met"}`
          : `no rate ≥ ${int(RATE_TARGET)} calls/s was measured (BENCH_RATES)`),
    );
    if (!rateOk)
      failures.push(
        `routed reached ${bestRouted ? `${int(bestRouted.rate)} calls/s` : "no rate"} with 0 failed (target ≥ ${int(RATE_TARGET)})`,
      );
    if (!p99Ok)
      failures.push(
        atTarget
          ? `routed PDD p99 at ${int(atTarget.rate)} calls/s ${fmt(p99AtTarget, 2)} ms${atTarget.passed ? "" : " with failed calls"} (target ≤ ${P99_TARGET_MS} ms)`
          : `no routed rate ≥ ${int(RATE_TARGET)} calls/s measured`,
      );

    // Routed vs the floor: p99 at the highest rate both reached (each rate's ratio too), and the highest rates.
    const ratios = RATES.map((rate) => {
      const r = of("routed").find((x) => x.rate === rate);
      const s = of("static").find((x) => x.rate === rate);
      return { rate, r, s, ratio: p99(r) / p99(s) };
    });
    console.log(
      `ratio      PDD p99 routed / static, per rate: ${ratios.map((x) => `${int(x.rate)}/s ${fmt(x.ratio, 2)}×${x.r?.passed && x.s?.passed ? "" : " (failures)"}`).join(", ")}`,
    );
    const common = ratios.filter((x) => x.r?.passed && x.s?.passed).sort((x, y) => y.rate - x.rate)[0];
    const p99RatioOk = common !== undefined && common.ratio <= RATIO_TARGET;
    const rateRatio = (bestRouted?.rate ?? 0) / (bestStatic?.rate ?? Number.NaN);
    const rateRatioOk = bestStatic === undefined ? bestRouted !== undefined : rateRatio >= 1 / RATIO_TARGET;
    console.log(
      `           at ${common ? `${int(common.rate)} calls/s (the highest both reached): ${fmt(p99(common.r), 2)} / ${fmt(p99(common.s), 2)} ms = ${fmt(common.ratio, 2)}×` : "no rate both reached"} ` +
        `(target ≤ ${RATIO_TARGET}×: ${p99RatioOk ? "met" : "NOT met"}); highest rates routed / static ${bestRouted ? int(bestRouted.rate) : "none"} / ` +
        `${bestStatic ? int(bestStatic.rate) : "none"}${bestStatic ? ` = ${fmt(rateRatio, 2)}` : ""} (target ≥ ${1 / RATIO_TARGET}: ${rateRatioOk ? "met" : "NOT met"})`,
    );
    if (!p99RatioOk)
      failures.push(
        common
          ? `routed PDD p99 ${fmt(common.ratio, 2)}× the static route's at ${int(common.rate)} calls/s (target ≤ ${RATIO_TARGET}×)`
          : "no rate where both routed and static had 0 failed calls, to compare their p99",
      );
    if (!rateRatioOk)
      failures.push(
        `routed highest rate ${bestRouted ? int(bestRouted.rate) : "none"} vs static ${bestStatic ? int(bestStatic.rate) : "none"} (target ≥ ${1 / RATIO_TARGET}×)`,
      );
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await runningCaller?.stop();
    await gw?.sipp.stop();
    await routed?.stop();
    await floor?.stop();
    await runtime?.close();
  }
  console.log(failures.length === 0 ? "targets met" : `targets NOT met: ${failures.join("; ")}`);
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
