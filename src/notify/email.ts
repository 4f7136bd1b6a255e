import { randomUUID } from "node:crypto";
import path from "node:path";
import { Worker } from "node:worker_threads";

export interface DialInEmail {
  to: string;
  toName: string;
  from: string;
  fromName: string;
  /** What happened, e.g. "Your audio conferencing provider is now Microsoft". */
  subject: string;
  conferenceId: string | null;
  tollNumber: string | null;
  tollFreeNumber: string | null;
  /** Only when a PIN was generated or reset: the one place it is sent. */
  pin: string | null;
  lines: string[];
}

function header(value: string): string {
  // Keep headers on one line and ASCII-safe (RFC 2047 for anything else).
  const flat = value.replace(/[\r\n]+/g, " ");
  return /^[\x20-\x7e]*$/.test(flat) ? flat : `=?UTF-8?B?${Buffer.from(flat, "utf8").toString("base64")}?=`;
}

/** Renders a dial-in conferencing notice as an RFC 5322 message. */
export function renderEml(mail: DialInEmail, now: Date = new Date()): string {
  const body = [
    `Hello ${mail.toName},`,
    "",
    ...mail.lines,
    "",
    mail.conferenceId ? `Conference ID: ${mail.conferenceId}` : null,
    mail.tollNumber ? `Dial-in number (toll): ${mail.tollNumber}` : null,
    mail.tollFreeNumber ? `Dial-in number (toll-free): ${mail.tollFreeNumber}` : null,
    mail.pin ? `Leader PIN: ${mail.pin}` : null,
    mail.pin ? "Keep your PIN private: it lets you start meetings by phone. Your administrator cannot see it again." : null,
    "",
    "This message was sent by Callplane on behalf of your administrator.",
  ]
    .filter((l): l is string => l !== null)
    .join("\r\n");
  return [
    `From: ${header(mail.fromName)} <${mail.from}>`,
    `To: ${header(mail.toName)} <${mail.to}>`,
    `Subject: ${header(mail.subject)}`,
    `Date: ${now.toUTCString()}`,
    `Message-ID: <${randomUUID()}@callplane>`,
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: 8bit",
    "",
    body,
    "",
  ].join("\r\n");
}

// Files are written by a worker thread: a bulk job writes tens of thousands of them, and on the main
// thread that work would stall the store (the embedded engine runs there too).
const workerSource = `
const { parentPort } = require("node:worker_threads");
const fs = require("node:fs");
const path = require("node:path");
parentPort.on("message", ({ id, dir, files }) => {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const [name, content] of files) fs.writeFileSync(path.join(dir, name), content, { mode: 0o600, flag: "wx" });
    parentPort.postMessage({ id, ok: true });
  } catch (err) {
    parentPort.postMessage({ id, ok: false, message: String((err && err.message) || err) });
  }
});`;

let worker: Worker | undefined;
let nextId = 0;
const waiting = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();

function outboxWorker(): Worker {
  if (worker) return worker;
  const w = new Worker(workerSource, { eval: true });
  w.on("message", (m: { id: number; ok: boolean; message?: string }) => {
    const entry = waiting.get(m.id);
    waiting.delete(m.id);
    if (waiting.size === 0) w.unref();
    if (m.ok) entry?.resolve();
    else entry?.reject(new Error(`Could not write to the outbox: ${m.message}`));
  });
  w.on("error", (err) => {
    for (const entry of waiting.values()) entry.reject(err);
    waiting.clear();
    worker = undefined;
  });
  w.unref();
  worker = w;
  return w;
}

/** Starts the writer thread ahead of a bulk job's first batch, so its start-up does not hold that batch's emails back. */
export function prepareOutbox(): void {
  outboxWorker();
}

/** Writes messages as .eml files to the outbox folder; returns the file paths. */
export async function writeOutbox(outboxDir: string, mails: DialInEmail[]): Promise<string[]> {
  if (mails.length === 0) return [];
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  // Two calls in the same millisecond (a bulk job and a PIN reset, or two tenants with the same
  // UPN) must not write the same file name: the later email would replace the earlier one.
  const call = randomUUID().slice(0, 8);
  // Names never carry user data: a long or odd address cannot make a name the file system refuses.
  const files = mails.map((mail, i) => [`${stamp}-${call}-${i}.eml`, renderEml(mail)] as const);
  const w = outboxWorker();
  const id = nextId++;
  await new Promise<void>((resolve, reject) => {
    waiting.set(id, { resolve, reject });
    w.ref();
    w.postMessage({ id, dir: outboxDir, files });
  });
  return files.map(([name]) => path.join(outboxDir, name));
}
