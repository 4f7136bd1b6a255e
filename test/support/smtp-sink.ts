// A real SMTP server for tests: aiosmtpd (Debian's python3-aiosmtpd) on 127.0.0.1 with the handler in
// smtp_sink.py, which spools every accepted message and takes its replies from a control file the
// test rewrites while the server runs (accept, defer with 451, reject some recipients with 550, delay).
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describeNeeding, inCi } from "./required.ts";

/** Debian's Python: the `python3` on PATH may be another installation, without Debian's modules. */
const python = "/usr/bin/python3";
const supportDir = path.dirname(fileURLToPath(import.meta.url));
const host = "127.0.0.1";
const readyTimeoutMs = 15_000;

export type SmtpSinkMode = "accept" | "defer";

/** One message as the server accepted it. */
export interface Received {
  /** Its number in the spool, from 1, in the order accepted. */
  n: number;
  /** The envelope: MAIL FROM and the RCPT TO addresses that were accepted. */
  from: string;
  to: string[];
  /** The message exactly as received (CRLF line ends). */
  raw: string;
  /** The header fields, keyed by lower-case name (`message-id`, `subject`, `to`, `from`...), unfolded and with
   * RFC 2047 encoded words decoded; the first occurrence of a repeated field. */
  headers: Record<string, string>;
  /** The decoded text/plain and text/html parts, if any (transfer encoding and charset undone, \n line ends). */
  text?: string;
  html?: string;
}

export interface SmtpSink {
  host: string;
  port: number;
  /** `smtp://127.0.0.1:PORT`, for a nodemailer transport or Callplane's SMTP setting. */
  url: string;
  /** The spool folder: `<n>.eml` and `<n>.json` per message, and `control.json`. */
  spool: string;
  /** Every message accepted so far, oldest first. */
  messages(): Received[];
  /** Resolves with the messages once there are at least `count` (rejects after `timeoutMs`). */
  waitForMessages(count: number, timeoutMs?: number): Promise<Received[]>;
  /** `accept`: 250 to everything; `defer`: 451 4.3.0 to RCPT TO and DATA. Takes effect on the next command. */
  setMode(mode: SmtpSinkMode): void;
  /** 550 5.1.1 to RCPT TO of these addresses (any case), the others accepted. Replaces the list; `[]` clears it. */
  reject(addresses: string[]): void;
  /** Waits `ms` before answering the end of DATA; a client gone meanwhile leaves nothing stored. */
  setDelay(ms: number): void;
  /** Ends the server (SIGTERM, then SIGKILL) and removes the spool. */
  stop(): Promise<void>;
  /** Ends the server (SIGTERM, then SIGKILL), keeping its port and spool: connections are refused until `up()`. */
  down(): Promise<void>;
  /** Starts the server again on the same port with the same spool and control file; resolves once it greets. */
  up(): Promise<void>;
  /** `down()` then `up()`. */
  restart(): Promise<void>;
}

let missing: string | null | undefined;

/** Why the sink cannot run here (Debian's Python or its aiosmtpd module is missing), or null when it can. */
export function smtpSinkMissing(): string | null {
  if (missing === undefined) {
    if (!existsSync(python)) missing = `${python} is missing: install python3-aiosmtpd (apt-get install -y python3-aiosmtpd).`;
    else {
      const r = spawnSync(python, ["-c", "import aiosmtpd"], { encoding: "utf8", timeout: 15_000 });
      missing = r.status === 0 ? null : `${python} cannot import aiosmtpd: install python3-aiosmtpd (apt-get install -y python3-aiosmtpd).`;
    }
  }
  return missing;
}

/**
 * Whether tests needing the sink should run. Always true under CI=true, where a missing aiosmtpd
 * must fail the tests (startSmtpSink throws), never skip them.
 */
export function smtpSinkAvailable(): boolean {
  return inCi || smtpSinkMissing() === null;
}

/**
 * `describe` for tests that need the sink: runs when aiosmtpd is installed; without it, fails under
 * CI=true and is skipped elsewhere with a message saying how to install it.
 */
export function describeSmtp(name: string, fn: () => void): void {
  describeNeeding("python3-aiosmtpd", smtpSinkMissing(), name, fn);
}

// A server must not outlive the test process, however the test ends.
const running = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/** Starts a sink on a free port of 127.0.0.1 with a fresh spool; resolves once it has greeted with 220. */
export async function startSmtpSink(): Promise<SmtpSink> {
  const why = smtpSinkMissing();
  if (why !== null) throw new Error(`The SMTP sink cannot start: ${why}`);
  const spool = mkdtempSync(path.join(os.tmpdir(), "callplane-smtp-"));
  const control: { mode: SmtpSinkMode; reject: string[]; delay_ms: number } = { mode: "accept", reject: [], delay_ms: 0 };
  const writeControl = () => {
    // Renamed into place: the server, re-reading it on every command, never sees half a file.
    const tmp = path.join(spool, ".control.json.tmp");
    writeFileSync(tmp, JSON.stringify(control));
    renameSync(tmp, path.join(spool, "control.json"));
  };
  writeControl();

  let port = 0;
  let child: ChildProcess | undefined;
  // Another process can take the free port between our probe and the server's bind: try another.
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      child = await launch(port, spool);
      break;
    } catch (e) {
      if (attempt < 3 && e instanceof Error && /address already in use/i.test(e.message)) continue;
      rmSync(spool, { recursive: true, force: true });
      throw e;
    }
  }

  const messages = () => readSpool(spool);
  const down = async () => {
    if (child) await terminate(child);
    child = undefined;
  };
  const up = async () => {
    child ??= await launch(port, spool);
  };
  return {
    host,
    port,
    url: `smtp://${host}:${port}`,
    spool,
    messages,
    async waitForMessages(count, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const got = messages();
        if (got.length >= count) return got;
        if (Date.now() > deadline)
          throw new Error(`Expected ${count} messages at the SMTP sink within ${timeoutMs} ms, got ${got.length}.`);
        await sleep(50);
      }
    },
    setMode(mode) {
      control.mode = mode;
      writeControl();
    },
    reject(addresses) {
      control.reject = [...addresses];
      writeControl();
    },
    setDelay(ms) {
      control.delay_ms = ms;
      writeControl();
    },
    async stop() {
      await down();
      rmSync(spool, { recursive: true, force: true });
    },
    down,
    up,
    async restart() {
      await down();
      await up();
    },
  };
}

/** A port the system just handed out on 127.0.0.1, released for the server to take. */
function freePort(): Promise<number> {
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

/** Spawns the server and waits for its 220 greeting; throws with its stderr if it ends or stays silent. */
async function launch(port: number, spool: string): Promise<ChildProcess> {
  const child = spawn(python, ["-m", "aiosmtpd", "-n", "-l", `${host}:${port}`, "-c", "smtp_sink.Sink", spool], {
    // No __pycache__ left in test/support; stderr unbuffered so an error message is complete.
    env: { ...process.env, PYTHONPATH: supportDir, PYTHONDONTWRITEBYTECODE: "1", PYTHONUNBUFFERED: "1" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  running.add(child);
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  let exited = false;
  child.on("exit", () => {
    exited = true;
    running.delete(child);
  });
  const spawnError = new Promise<never>((_, reject) => child.on("error", reject));
  spawnError.catch(() => {});

  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (exited) throw new Error(`The SMTP sink on port ${port} ended before greeting (exit code ${child.exitCode}).\nstderr: ${stderr}`);
    if (await Promise.race([greets(port), spawnError])) return child;
    if (Date.now() > deadline) {
      await terminate(child);
      throw new Error(`The SMTP sink on port ${port} did not answer 220 within ${readyTimeoutMs} ms.\nstderr: ${stderr}`);
    }
    await sleep(100);
  }
}

/** Whether a connection to the port is answered with a 220 greeting (then politely closed). */
function greets(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let line = "";
    const done = (ok: boolean) => {
      socket.removeAllListeners();
      socket.on("error", () => {});
      if (ok) socket.end("QUIT\r\n");
      else socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2_000, () => done(false));
    socket.on("error", () => done(false));
    socket.on("close", () => done(false));
    socket.on("data", (d: Buffer) => {
      line += d.toString("latin1");
      if (line.includes("\n")) done(line.startsWith("220"));
    });
  });
}

/** SIGTERM, then SIGKILL after 5 s; resolves once the process has ended. */
async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const ended = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await ended.finally(() => clearTimeout(timer));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The spool's messages: a `<n>.json` is written after its `<n>.eml`, so listing the .json files sees only whole messages. */
function readSpool(spool: string): Received[] {
  const numbers = readdirSync(spool)
    .map((name) => /^(\d+)\.json$/.exec(name)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
  return numbers.map((n) => {
    const envelope = JSON.parse(readFileSync(path.join(spool, `${n}.json`), "utf8")) as { mail_from: string; rcpt_tos: string[] };
    const bytes = readFileSync(path.join(spool, `${n}.eml`));
    // Parsed byte for byte (latin1), so each part is decoded with its own charset.
    const { headers, body } = parsePart(bytes.toString("latin1"));
    return { n, from: envelope.mail_from, to: envelope.rcpt_tos, raw: bytes.toString("utf8"), headers, ...textParts(headers, body) };
  });
}

// A small MIME reader, enough for what a test asserts about the mail a user gets: the headers, and the
// text and HTML parts of a single-part or (nested) multipart message.

/** Splits a message or part (as a latin1 string: one character per byte) into its header fields and body. */
function parsePart(raw: string): { headers: Record<string, string>; body: string } {
  const end = /\r?\n\r?\n/.exec(raw);
  const head = end ? raw.slice(0, end.index) : raw;
  const body = end ? raw.slice(end.index + end[0].length) : "";
  const headers: Record<string, string> = {};
  for (const field of head.split(/\r?\n(?![ \t])/)) {
    const colon = field.indexOf(":");
    if (colon <= 0) continue;
    const name = field.slice(0, colon).trim().toLowerCase();
    const value = field
      .slice(colon + 1)
      .replace(/\r?\n[ \t]+/g, " ")
      .trim();
    // Raw UTF-8 (SMTPUTF8) is read as such; encoded words are decoded after.
    if (!(name in headers)) headers[name] = decodeWords(Buffer.from(value, "latin1").toString("utf8"));
  }
  return { headers, body };
}

function textParts(headers: Record<string, string>, body: string): { text?: string; html?: string } {
  const type = (headers["content-type"] ?? "text/plain").toLowerCase();
  const boundary = /boundary="?([^";]+)"?/i.exec(headers["content-type"] ?? "")?.[1];
  if (type.startsWith("multipart/") && boundary) {
    const found: { text?: string; html?: string } = {};
    const chunks = body.split(`--${boundary}`).slice(1);
    for (const chunk of chunks) {
      if (chunk.startsWith("--")) break;
      const part = parsePart(chunk.replace(/^\r?\n/, ""));
      const inner = textParts(part.headers, part.body);
      found.text ??= inner.text;
      found.html ??= inner.html;
    }
    return found;
  }
  const charset = /charset="?([^";]+)"?/i.exec(type)?.[1] ?? "utf-8";
  const encoding = (headers["content-transfer-encoding"] ?? "").toLowerCase();
  const bytes =
    encoding === "base64"
      ? Buffer.from(body, "base64")
      : encoding === "quoted-printable"
        ? qpBytes(body.replace(/=\r?\n/g, ""))
        : Buffer.from(body, "latin1");
  // Line ends as a reader sees them (\n), not as the wire carries them (\r\n).
  const decoded = decode(bytes, charset).replace(/\r\n/g, "\n").replace(/\n$/, "");
  if (type.startsWith("text/html")) return { html: decoded };
  if (type.startsWith("text/plain")) return { text: decoded };
  return {};
}

/** RFC 2047 encoded words (`=?utf-8?Q?...?=`, `=?utf-8?B?...?=`), as nodemailer writes a non-ASCII subject or name. */
function decodeWords(value: string): string {
  const word = /=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g;
  return value
    .replace(/(\?=)\s+(?==\?)/g, "$1")
    .replace(word, (_m, charset: string, enc: string, text: string) =>
      decode(enc.toUpperCase() === "B" ? Buffer.from(text, "base64") : qpBytes(text.replace(/_/g, " ")), charset),
    );
}

function qpBytes(text: string): Buffer {
  return Buffer.from(
    text.replace(/=([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))),
    "latin1",
  );
}

function decode(bytes: Buffer, charset: string): string {
  try {
    return new TextDecoder(charset).decode(bytes);
  } catch {
    return bytes.toString("utf8");
  }
}
