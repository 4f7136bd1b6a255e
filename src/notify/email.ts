import { randomUUID } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";

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

/** Writes messages as .eml files to the outbox folder; returns the file paths. */
export async function writeOutbox(outboxDir: string, mails: DialInEmail[]): Promise<string[]> {
  if (mails.length === 0) return [];
  await mkdir(outboxDir, { recursive: true, mode: 0o700 });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const files: string[] = [];
  const concurrency = 64;
  for (let i = 0; i < mails.length; i += concurrency) {
    await Promise.all(
      mails.slice(i, i + concurrency).map(async (mail, j) => {
        const safe = mail.to.replace(/[^a-zA-Z0-9@._-]/g, "_");
        const file = path.join(outboxDir, `${stamp}-${i + j}-${safe}.eml`);
        await writeFile(file, renderEml(mail), { mode: 0o600 });
        files.push(file);
      }),
    );
  }
  return files;
}
