// Real SIP endpoints for the routing tests: SIPp 3.6 (Debian's sip-tester) as PSTN gateways (UAS that
// answer 200, answer 503, or never answer) and as the caller (a UAC placing one call per CSV line), all on
// 127.0.0.1 with the scenarios in test/sip/scenarios. Each SIPp runs in the foreground (no -bg, which
// would hand it to PID 1) with -nostdin, its own control port (-cp) and 4 MB socket buffers, and is
// stopped by its PID. What each one saw comes from its <log> lines (-trace_logs -log_file).
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freeUdpPort } from "./kamailio.ts";

export const SIPP_BIN = "/usr/bin/sipp";
const host = "127.0.0.1";
const scenarios = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "sip", "scenarios");
const readyTimeoutMs = 10_000;
const stopTimeoutMs = 3_000;
/** net.core.rmem_max here: a burst of calls must not overflow the socket's receive buffer. */
const bufferSize = "4194304";

/** Why SIPp cannot run here, or null when it can. */
export function sippMissing(): string | null {
  if (!existsSync(SIPP_BIN)) return `${SIPP_BIN} is missing: install SIPp (apt-get install -y sip-tester).`;
  const r = spawnSync(SIPP_BIN, ["-v"], { encoding: "utf8", timeout: 10_000 });
  return /SIPp v3\./.test(`${r.stdout}${r.stderr}`) ? null : `${SIPP_BIN} -v does not report SIPp 3: ${`${r.stdout}${r.stderr}`.trim()}`;
}

/** How a gateway answers an INVITE. */
export type GatewayBehaviour = "answer" | "reject503" | "silent";

const scenarioOf: Record<GatewayBehaviour, string> = { answer: "uas_ok.xml", reject503: "uas_503.xml", silent: "uas_silent.xml" };

/** One INVITE (or BYE) as a gateway received it. */
export interface GatewayInvite {
  method: "INVITE" | "BYE";
  gw: string;
  callId: string;
  /** The Request-URI user: the number the proxy routed. */
  ruser: string;
  /** The From user part: the caller ID the gateway saw. */
  from: string;
  /** When it arrived, in ms since the epoch (µs resolution). */
  at: number;
}

export interface SippGateway {
  name: string;
  behaviour: GatewayBehaviour;
  host: string;
  port: number;
  /** "127.0.0.1:PORT": the gateway's signalling address. */
  hostPort: string;
  pid(): number | undefined;
  /** The INVITEs received so far, in arrival order. */
  invites(): GatewayInvite[];
  /** The BYEs received so far (answering gateways only), in arrival order. */
  byes(): GatewayInvite[];
  /** SIGTERM, then SIGKILL after 3 s; resolves once the process has ended. */
  stop(): Promise<void>;
}

// No SIPp may outlive the test process, however the test ends.
const running = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/**
 * Starts a SIPp gateway named `name` (the `gw=` its log and X-Gw header carry) on a free UDP port,
 * logging to `<dir>/<name>.log`; resolves once its SIP socket is bound.
 */
export async function startGateway(name: string, behaviour: GatewayBehaviour, dir: string): Promise<SippGateway> {
  const logFile = path.join(dir, `${name}.log`);
  for (let attempt = 1; ; attempt++) {
    const port = await freeUdpPort();
    const controlPort = await freeUdpPort();
    const args = ["-sf", path.join(scenarios, scenarioOf[behaviour]), "-i", host, "-p", String(port), "-cp", String(controlPort)];
    args.push("-key", "gw", name, "-trace_logs", "-log_file", logFile, "-nostdin", "-buff_size", bufferSize);
    const started = spawnSipp(args, dir);
    try {
      await waitBound(started, port, `SIPp gateway ${name}`);
    } catch (e) {
      await terminate(started.child);
      if (attempt < 3 && e instanceof Error && /already in use|bind/i.test(e.message)) continue;
      throw e;
    }
    return {
      name,
      behaviour,
      host,
      port,
      hostPort: `${host}:${port}`,
      pid: () => (started.child.exitCode === null && started.child.signalCode === null ? started.child.pid : undefined),
      invites: () => readGatewayLog(logFile).filter((r) => r.method === "INVITE"),
      byes: () => readGatewayLog(logFile).filter((r) => r.method === "BYE"),
      stop: () => terminate(started.child),
    };
  }
}

/** One call placed by the UAC, with what became of it. */
export type CallResult =
  | { ok: true; caller: string; dialled: string; callId: string; gw: string; num: string; from: string; replyFrom: string }
  | { ok: false; caller: string; dialled: string; callId: string; code: number; reason: string };

export interface Call {
  caller: string;
  dialled: string;
}

/**
 * Places `calls` through the proxy at `proxy` (host:port), one call per entry (`rate` per second, all
 * at once by default), and resolves with each call's outcome in the order given, once all ended. Throws,
 * with SIPp's output, if a call has no outcome in the log (lost, timed out or aborted).
 */
export async function placeCalls(opts: {
  proxy: string;
  calls: readonly Call[];
  dir: string;
  name?: string;
  rate?: number;
  timeoutMs?: number;
}): Promise<CallResult[]> {
  const name = opts.name ?? "uac";
  const csv = path.join(opts.dir, `${name}.csv`);
  const logFile = path.join(opts.dir, `${name}.log`);
  for (const c of opts.calls)
    if (/[;\n]/.test(`${c.caller}${c.dialled}`) || !c.caller || !c.dialled)
      throw new Error(`A call cannot be written to the CSV: ${JSON.stringify(c)}`);
  writeFileSync(csv, `SEQUENTIAL\n${opts.calls.map((c) => `${c.caller};${c.dialled};\n`).join("")}`);
  const port = await freeUdpPort();
  const controlPort = await freeUdpPort();
  const n = opts.calls.length;
  const rate = opts.rate ?? 50;
  const args = [
    opts.proxy,
    "-sf",
    path.join(scenarios, "uac.xml"),
    "-inf",
    csv,
    "-i",
    host,
    "-p",
    String(port),
    "-cp",
    String(controlPort),
  ];
  args.push(
    "-m",
    String(n),
    "-r",
    String(rate),
    "-rp",
    "1000",
    "-l",
    String(n),
    "-timeout",
    `${Math.ceil((opts.timeoutMs ?? 30_000) / 1000)}s`,
  );
  const errorFile = path.join(opts.dir, `${name}_errors.log`);
  args.push("-trace_logs", "-log_file", logFile, "-trace_err", "-error_file", errorFile, "-nostdin", "-buff_size", bufferSize);
  const started = spawnSipp(args, opts.dir);
  const timer = setTimeout(() => void terminate(started.child), (opts.timeoutMs ?? 30_000) + 5_000);
  const exit = await new Promise<number | string>((resolve) => {
    started.child.once("exit", (code, signal) => resolve(code ?? signal ?? "?"));
    started.child.once("error", (e) => resolve(`spawn error: ${e.message}`));
  }).finally(() => clearTimeout(timer));

  const byNumber = new Map<number, CallResult>();
  for (const r of existsSync(logFile) ? parseUacLog(readFileSync(logFile, "utf8")) : []) {
    // SIPp numbers calls from 1 in CSV order (SEQUENTIAL): the Call-ID starts with that number.
    const number = Number(/^(\d+)-/.exec(r.callId)?.[1]);
    byNumber.set(number, r);
  }
  const missing = opts.calls.map((c, i) => ({ c, i })).filter(({ i }) => !byNumber.has(i + 1));
  if (missing.length) {
    const errors = existsSync(errorFile) ? readFileSync(errorFile, "utf8") : "";
    throw new Error(
      `SIPp UAC (exit ${exit}) logged no outcome for ${missing.map(({ c, i }) => `#${i + 1} ${c.caller}→${c.dialled}`).join(", ")}.\n` +
        `stderr: ${started.stderr().slice(-4000)}\nerrors: ${errors.slice(-4000)}`,
    );
  }
  return opts.calls.map((_, i) => byNumber.get(i + 1)).filter((r): r is CallResult => r !== undefined);
}

/**
 * The UAC's log lines: `OK caller= dialled= gw= num= from= replyfrom= cid=` (written once the BYE was
 * answered) or `ERR caller= dialled= code= reason= cid=`.
 */
export function parseUacLog(text: string): CallResult[] {
  const results: CallResult[] = [];
  for (const line of text.split("\n")) {
    const ok = /^OK caller=(\S*) dialled=(\S*) gw=(\S*) num=(\S*) from=(\S*) replyfrom=(\S*) cid=(\S+)$/.exec(line);
    if (ok) {
      const [, caller = "", dialled = "", gw = "", num = "", from = "", replyFrom = "", callId = ""] = ok;
      results.push({ ok: true, caller, dialled, gw, num, from, replyFrom, callId });
      continue;
    }
    // The reason phrase may hold spaces: it runs up to the last " cid=".
    const err = /^ERR caller=(\S*) dialled=(\S*) code=(\d+) reason=(.*) cid=(\S+)$/.exec(line);
    if (err) {
      const [, caller = "", dialled = "", code = "", reason = "", callId = ""] = err;
      results.push({ ok: false, caller, dialled, code: Number(code), reason, callId });
    }
  }
  return results;
}

/** A gateway's log lines (`INVITE|BYE gw= cid= ruser= from= ts= tus=`). */
export function parseGatewayLog(text: string): GatewayInvite[] {
  const requests: GatewayInvite[] = [];
  for (const line of text.split("\n")) {
    const m = /^(INVITE|BYE) gw=(\S*) cid=(\S+) ruser=(\S*) from=(\S*) ts=([\d.]+) tus=([\d.]+)$/.exec(line);
    if (!m) continue;
    const [, method, gw = "", callId = "", ruser = "", from = "", ts = "0", tus = "0"] = m;
    const at = Number.parseFloat(ts) * 1000 + Number.parseFloat(tus) / 1000;
    requests.push({ method: method === "BYE" ? "BYE" : "INVITE", gw, callId, ruser, from, at });
  }
  return requests;
}

function readGatewayLog(file: string): GatewayInvite[] {
  return existsSync(file) ? parseGatewayLog(readFileSync(file, "utf8")) : [];
}

/** Every gateway's INVITEs grouped by Call-ID, each group in arrival order: the failover order of a call. */
export function invitesByCall(gateways: readonly SippGateway[]): Map<string, GatewayInvite[]> {
  const byCall = new Map<string, GatewayInvite[]>();
  for (const invite of gateways.flatMap((g) => g.invites())) {
    const list = byCall.get(invite.callId) ?? [];
    list.push(invite);
    byCall.set(invite.callId, list);
  }
  for (const list of byCall.values()) list.sort((a, b) => a.at - b.at);
  return byCall;
}

/** A SIPp started by `startSipp`. */
export interface SippProcess {
  /** Its PID while it runs, else undefined. */
  pid(): number | undefined;
  /** The tail of what it wrote on stderr. */
  stderr(): string;
  /** Resolves with its exit code (or signal) once it has ended. */
  exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after 3 s; resolves once the process has ended. */
  stop(): Promise<void>;
}

/**
 * A SIPp with arguments and a scenario of the caller's (bench/sip.ts has its own), run like the others: in
 * the foreground in `cwd`, with -nostdin and 4 MB socket buffers added, stopped by its PID (and killed when
 * this process exits). With `bindPort` (a UAS), resolves once that UDP port is bound.
 */
export async function startSipp(args: readonly string[], opts: { cwd: string; what: string; bindPort?: number }): Promise<SippProcess> {
  const started = spawnSipp([...args, "-nostdin", "-buff_size", bufferSize], opts.cwd);
  const exited = new Promise<number | string>((resolve) => {
    started.child.once("exit", (code, signal) => resolve(code ?? signal ?? "?"));
    started.child.once("error", (e) => resolve(`spawn error: ${e.message}`));
  });
  if (opts.bindPort !== undefined) {
    try {
      await waitBound(started, opts.bindPort, opts.what);
    } catch (e) {
      await terminate(started.child);
      throw e;
    }
  }
  return {
    pid: () => (started.child.exitCode === null && started.child.signalCode === null ? started.child.pid : undefined),
    stderr: started.stderr,
    exited,
    stop: () => terminate(started.child),
  };
}

interface Spawned {
  child: ChildProcess;
  stderr(): string;
  exited(): boolean;
}

function spawnSipp(args: string[], cwd: string): Spawned {
  // stdout carries SIPp's screen, which nobody reads; stderr its errors.
  const child = spawn(SIPP_BIN, args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
  running.add(child);
  let stderr = "";
  let exited = false;
  child.stderr?.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-20_000);
  });
  child.on("exit", () => {
    exited = true;
    running.delete(child);
  });
  child.on("error", (e) => {
    stderr += `\nspawn error: ${e.message}`;
    exited = true;
  });
  return { child, stderr: () => stderr, exited: () => exited };
}

/** Waits until SIPp's UDP socket is bound (seen in /proc/net/udp, without touching the port). */
async function waitBound(started: Spawned, port: number, what: string): Promise<void> {
  const deadline = Date.now() + readyTimeoutMs;
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  for (;;) {
    if (started.exited()) throw new Error(`${what} on port ${port} ended at start:\n${started.stderr()}`);
    if (readFileSync("/proc/net/udp", "utf8").includes(` ${local} `)) return;
    if (Date.now() > deadline) throw new Error(`${what} did not bind port ${port} within ${readyTimeoutMs} ms:\n${started.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** SIGTERM, then SIGKILL after 3 s; resolves once the process has ended. */
async function terminate(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const ended = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), stopTimeoutMs);
  await ended.finally(() => clearTimeout(timer));
}
