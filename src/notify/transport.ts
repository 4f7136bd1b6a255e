// Where the outbox's messages go: a real mail server over SMTP (nodemailer), or .eml files in a folder
// for trying Callplane. A transport says per message whether it was accepted, deferred (try again:
// 4xx, connection errors) or refused for good (5xx), with the server's answer.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import nodemailer from "nodemailer";
import { AppError } from "../core/errors.ts";
import type { RenderedMail } from "./render.ts";

export type SendOutcome = { ok: true; response: string } | { ok: false; permanent: boolean; error: string };

export interface MailTransport {
  /** `smtp://host:port`, `smtps://…` or `eml:DIR`, for messages and the mail list. */
  describe: string;
  send(mail: RenderedMail): Promise<SendOutcome>;
  close(): void;
}

export interface SmtpSettings {
  url: string;
  /** The SMTP password (from CALLPLANE_SMTP_PASSWORD or a file), never from the URL. */
  password?: string;
  /** Refuse to send unless the server offers STARTTLS. */
  requireTls?: boolean;
  /** Messages per second at most (0: no limit). */
  ratePerSecond?: number;
  /** Connections at once. */
  maxConnections?: number;
}

/** Parses `smtp://[user@]host:port` or `smtps://…`; a password in the URL is refused (it would show in process lists). */
export function parseSmtpUrl(url: string): { secure: boolean; host: string; port: number; user?: string; requireTls: boolean } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new AppError(
      "invalid_input",
      `"${url}" is not an SMTP URL: give one such as smtp://mail.contoso.com:587 or smtps://mail.contoso.com:465.`,
    );
  }
  if (u.protocol !== "smtp:" && u.protocol !== "smtps:") {
    throw new AppError("invalid_input", `"${url}" is not an SMTP URL: it must start with smtp:// or smtps://.`);
  }
  if (u.password) {
    throw new AppError(
      "invalid_input",
      "Do not put the SMTP password in the URL (it would show in process lists): set CALLPLANE_SMTP_PASSWORD or give --smtp-password-file.",
    );
  }
  if (!u.hostname) throw new AppError("invalid_input", `"${url}" names no host: give one such as smtp://mail.contoso.com:587.`);
  const secure = u.protocol === "smtps:";
  const port = u.port ? Number(u.port) : secure ? 465 : 587;
  const tls = u.searchParams.get("starttls");
  if (tls !== null && tls !== "required" && tls !== "opportunistic") {
    throw new AppError("invalid_input", `starttls=${tls} is not known: use starttls=required or starttls=opportunistic.`);
  }
  return {
    secure,
    host: u.hostname.replace(/^\[|\]$/g, ""),
    port,
    user: u.username ? decodeURIComponent(u.username) : undefined,
    requireTls: tls === "required",
  };
}

interface SmtpError {
  responseCode?: number;
  response?: string;
  code?: string;
  message?: string;
}

/** Deferred for 4xx answers and connection trouble, refused for good for 5xx: the server's answer is kept. */
export function classifySmtpError(err: unknown): { permanent: boolean; error: string } {
  const e = (err ?? {}) as SmtpError;
  const answer = e.response ?? e.message ?? String(err);
  if (typeof e.responseCode === "number" && e.responseCode >= 500) return { permanent: true, error: answer };
  if (typeof e.responseCode === "number") return { permanent: false, error: answer };
  return { permanent: false, error: `${e.code ? `${e.code}: ` : ""}${e.message ?? String(err)}` };
}

export function smtpTransport(settings: SmtpSettings): MailTransport {
  const p = parseSmtpUrl(settings.url);
  const rate = settings.ratePerSecond ?? 0;
  const transporter = nodemailer.createTransport({
    host: p.host,
    port: p.port,
    secure: p.secure,
    requireTLS: settings.requireTls === true || p.requireTls,
    auth: p.user ? { user: p.user, pass: settings.password ?? "" } : undefined,
    pool: true,
    maxConnections: settings.maxConnections ?? 4,
    maxMessages: 1000,
    ...(rate > 0 ? { rateDelta: 1000, rateLimit: rate } : {}),
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  });
  return {
    describe: `${p.secure ? "smtps" : "smtp"}://${p.host}:${p.port}`,
    async send(mail) {
      try {
        const info = await transporter.sendMail({ ...mail, disableFileAccess: true, disableUrlAccess: true });
        return { ok: true, response: String(info.response ?? "accepted") };
      } catch (err) {
        return { ok: false, ...classifySmtpError(err) };
      }
    },
    close: () => transporter.close(),
  };
}

/** Writes each message as an .eml file (owner-only) named by its outbox id, never by user data. */
export function emlTransport(dir: string): MailTransport {
  const builder = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: "windows" });
  return {
    describe: `eml:${dir}`,
    async send(mail) {
      try {
        const info = (await builder.sendMail({ ...mail, disableFileAccess: true, disableUrlAccess: true })) as unknown as {
          message: Buffer;
        };
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        const name = `${mail.date.toISOString().replace(/[:.]/g, "-")}-${mail.messageId.replace(/[^a-zA-Z0-9-]/g, "")}.eml`;
        writeFileSync(path.join(dir, name), info.message, { mode: 0o600, flag: "wx" });
        return { ok: true, response: `written to ${path.join(dir, name)}` };
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        if (e.code === "EEXIST") return { ok: true, response: "already written" };
        return { ok: false, permanent: false, error: `Could not write to the outbox folder ${dir}: ${e.message}` };
      }
    },
    close: () => undefined,
  };
}
