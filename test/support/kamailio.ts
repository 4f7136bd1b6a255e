// A real Kamailio for tests: Debian's /usr/sbin/kamailio on 127.0.0.1 (SIP over UDP and JSON-RPC over
// HTTP on free ports) with the config Callplane generates and a throwaway folder for its db_text tables.
// It runs in the foreground (-DD -E) as a child of the test process, is stopped by its PID (SIGTERM, then
// SIGKILL to its process group after a bound) and keeps its stderr for failure messages.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import dgram from "node:dgram";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { KAMAILIO_BIN, kamailioCommand, kamailioConfig } from "../../src/voice/kamailio/config.ts";
import { initDataDir } from "../../src/voice/kamailio/dbtext.ts";
import { KamailioRpc } from "../../src/voice/kamailio/rpc.ts";
import { describeNeeding } from "./required.ts";

const host = "127.0.0.1";
const readyTimeoutMs = 20_000;
const stopTimeoutMs = 5_000;
/** The tail of Kamailio's log kept for messages (it logs a line per call). */
const maxLogChars = 2_000_000;

let missing: string | null | undefined;

/** Why Kamailio cannot run here (binary or a needed module missing), or null when it can. */
export function kamailioMissing(): string | null {
  if (missing === undefined) {
    if (!existsSync(KAMAILIO_BIN)) missing = `${KAMAILIO_BIN} is missing: install Kamailio (apt-get install -y kamailio).`;
    else {
      const r = spawnSync(KAMAILIO_BIN, ["-v"], { encoding: "utf8", timeout: 15_000 });
      missing = r.status === 0 ? null : `${KAMAILIO_BIN} -v failed: ${(r.stderr || r.stdout || String(r.error ?? "")).trim()}`;
    }
  }
  return missing;
}

/**
 * `describe` for tests that need Kamailio (and whatever `alsoMissing` reports missing, e.g. SIPp): runs
 * when it is installed; without it, fails under CI=true and is skipped elsewhere with the reason in its name.
 */
export function describeKamailio(name: string, fn: () => void, alsoMissing: string | null = null): void {
  const why = [kamailioMissing(), alsoMissing].filter((w): w is string => w !== null).join(" ") || null;
  describeNeeding("Kamailio and SIPp", why, name, fn);
}

export interface KamailioInstance {
  host: string;
  /** SIP over UDP. */
  sipPort: number;
  /** "127.0.0.1:PORT" of the JSON-RPC (HTTP) listener. */
  rpcAddress: string;
  /** The throwaway folder: kamailio.cfg, data/ (db_text tables), run/. */
  dir: string;
  dataDir: string;
  cfgPath: string;
  rpc: KamailioRpc;
  /** The main process's PID while running, else undefined. */
  pid(): number | undefined;
  /** Everything Kamailio logged since it (re)started, or the tail of it. */
  log(): string;
  /** The log lines after `mark` (a value of `log().length` taken earlier). */
  logSince(mark: number): string;
  /** Stops Kamailio, keeping the folder, ports and tables. */
  down(): Promise<void>;
  /** Starts it again with the same folder, ports and tables; resolves once RPC answers. */
  up(): Promise<void>;
  /** Stops Kamailio and removes the folder. */
  stop(): Promise<void>;
}

// A Kamailio must not outlive the test process, however the test ends.
const running = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of running) killGroup(child, "SIGKILL");
});

/**
 * Starts Kamailio on free ports of 127.0.0.1 with the generated config and a fresh folder whose tables
 * are empty (calls get 503 until a generation is published). `-c` checks the config first. Resolves once
 * RPC `core.uptime` answers.
 */
export async function startKamailio(
  options: {
    children?: number;
    /** Writes the kamailio.cfg at `cfgPath` for these addresses and folders (e.g. with `callplane kamailio config`). */
    writeConfig?: (o: { cfgPath: string; sipListen: string; rpcListen: string; dataDir: string; runDir: string }) => Promise<void> | void;
  } = {},
): Promise<KamailioInstance> {
  const why = kamailioMissing();
  if (why !== null) throw new Error(`Kamailio cannot start: ${why}`);
  const dir = mkdtempSync(path.join(os.tmpdir(), "callplane-kamailio-"));
  const dataDir = path.join(dir, "data");
  const runDir = path.join(dir, "run");
  const cfgPath = path.join(dir, "kamailio.cfg");
  mkdirSync(runDir);
  initDataDir(dataDir);

  let child: ChildProcess | undefined;
  let logText = "";
  let sipPort = 0;
  let rpcPort = 0;
  const launch = async () => {
    logText = "";
    child = await launchKamailio(cfgPath, `${host}:${rpcPort}`, {
      append(chunk) {
        logText += chunk;
        // Trimmed only once it has grown to twice the tail kept: a copy per chunk would cost a core at 1,000 calls/s.
        if (logText.length > 2 * maxLogChars) logText = logText.slice(-maxLogChars);
      },
      text: () => logText,
    });
  };

  // Another process can take a free port between our probe and Kamailio's bind: try others.
  for (let attempt = 1; ; attempt++) {
    sipPort = await freeUdpPort();
    rpcPort = await freeTcpPort();
    const listen = { sipListen: `${host}:${sipPort}`, rpcListen: `${host}:${rpcPort}`, dataDir, runDir };
    if (options.writeConfig) await options.writeConfig({ cfgPath, ...listen });
    else writeFileSync(cfgPath, kamailioConfig({ ...listen, children: options.children ?? 2 }));
    try {
      checkConfig(cfgPath);
      await launch();
      break;
    } catch (e) {
      if (attempt < 3 && e instanceof Error && /address already in use/i.test(e.message)) continue;
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  }

  const rpcAddress = `${host}:${rpcPort}`;
  const down = async () => {
    if (child) await terminate(child);
    child = undefined;
  };
  return {
    host,
    sipPort,
    rpcAddress,
    dir,
    dataDir,
    cfgPath,
    rpc: new KamailioRpc(rpcAddress, { timeoutMs: 10_000 }),
    pid: () => child?.pid,
    log: () => logText,
    logSince: (mark) => logText.slice(mark),
    down,
    async up() {
      if (!child) await launch();
    },
    async stop() {
      await down();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `kamailio -c -f cfg`: parses the config (not the module fixups, which only a start runs). */
function checkConfig(cfgPath: string): void {
  const r = spawnSync(KAMAILIO_BIN, ["-c", "-f", cfgPath], { encoding: "utf8", timeout: 15_000 });
  if (r.status !== 0)
    throw new Error(`kamailio -c -f ${cfgPath} failed (exit ${r.status ?? r.signal}):\n${tail(`${r.stdout}${r.stderr}`)}`);
}

interface LogSink {
  append(chunk: string): void;
  text(): string;
}

/** Spawns Kamailio and waits for RPC to answer; throws with its log if it ends or stays silent. */
async function launchKamailio(cfgPath: string, rpcAddress: string, log: LogSink): Promise<ChildProcess> {
  const [bin = KAMAILIO_BIN, ...args] = kamailioCommand(cfgPath);
  // Its own process group: a SIGKILL must reach the workers too (they do not die with the main process).
  const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"], detached: true });
  running.add(child);
  const onData = (d: Buffer) => log.append(d.toString());
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  let exited = false;
  child.on("exit", () => {
    exited = true;
    running.delete(child);
  });
  const spawnError = new Promise<never>((_, reject) => child.on("error", reject));
  spawnError.catch(() => {});

  const rpc = new KamailioRpc(rpcAddress, { timeoutMs: 2_000 });
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (exited)
      throw new Error(`Kamailio (${cfgPath}) ended before serving RPC (exit ${child.exitCode ?? child.signalCode}):\n${tail(log.text())}`);
    const answered = rpc.uptime().then(
      () => true,
      () => false,
    );
    if ((await Promise.race([answered, spawnError])) && !exited) return child;
    if (Date.now() > deadline) {
      await terminate(child);
      throw new Error(
        `Kamailio (${cfgPath}) did not answer RPC core.uptime at ${rpcAddress} within ${readyTimeoutMs} ms:\n${tail(log.text())}`,
      );
    }
    await sleep(100);
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    // The negative PID is the group this child leads (spawned detached): the main process and its workers.
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

/** SIGTERM to the main process (it stops its workers), then SIGKILL to the group after 5 s. */
async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    // The main process is gone; make sure no worker lingers.
    killGroup(child, "SIGKILL");
    return;
  }
  const ended = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => killGroup(child, "SIGKILL"), stopTimeoutMs);
  await ended.finally(() => clearTimeout(timer));
  // Workers end with the main process on SIGTERM; a straggler would hold the ports.
  killGroup(child, "SIGKILL");
}

/** A UDP port the system just handed out on 127.0.0.1, released for Kamailio or SIPp to take. */
export function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket("udp4");
    socket.on("error", reject);
    socket.bind(0, host, () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

/** A TCP port the system just handed out on 127.0.0.1, released for the next listener. */
export function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => (address && typeof address === "object" ? resolve(address.port) : reject(new Error("No port was assigned."))));
    });
  });
}

function tail(text: string, lines = 60): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
