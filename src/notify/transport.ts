// Where the outbox's messages go: a real mail server over SMTP (nodemailer), or .eml files in a folder
// for trying Callplane. A transport says per message whether it was accepted, deferred (try again:
// 4xx, connection errors) or refused for good (5xx), with the server's answer.
import { Worker } from "node:worker_threads";
import { AppError } from "../core/errors.ts";
import type { RenderedMail } from "./render.ts";

export type SendOutcome = { ok: true; response: string } | { ok: false; permanent: boolean; error: string };

export interface MailTransport {
  /** `smtp://host:port`, `smtps://…` or `eml:DIR`, for messages and the mail list. */
  describe: string;
  send(mail: RenderedMail): Promise<SendOutcome>;
  /** Whether messages can go now: the mail server answers (and takes the login), or the folder can be written. */
  verify(): Promise<SendOutcome>;
  /** Messages per second at most, when rate-limited: how long a delivery round's claim must last. */
  pace?: number;
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

/** nodemailer's options for a parsed SMTP URL: a pool, STARTTLS when offered (required on request), a rate limit. */
function smtpOptions(settings: SmtpSettings): { describe: string; options: Record<string, unknown> } {
  const p = parseSmtpUrl(settings.url);
  const rate = settings.ratePerSecond ?? 0;
  return {
    describe: `${p.secure ? "smtps" : "smtp"}://${p.user ? `${p.user}@` : ""}${p.host}:${p.port}`,
    options: {
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
    },
  };
}

/**
 * A transport whose messages are built and sent by nodemailer on a thread of its own
 * (`send-worker.mjs`), so delivering tens of thousands of them does not take the thread that runs the
 * store and the bulk jobs. The thread starts with the first message and stops when closed.
 */
function threadedTransport(
  describe: string,
  pace: number | undefined,
  data: { kind: "smtp"; options: Record<string, unknown> } | { kind: "eml"; dir: string },
): MailTransport {
  let worker: Worker | undefined;
  let nextId = 0;
  const waiting = new Map<number, (o: SendOutcome) => void>();
  const failAll = (error: string) => {
    for (const resolve of waiting.values()) resolve({ ok: false, permanent: false, error });
    waiting.clear();
  };
  const start = (): Worker => {
    if (worker) return worker;
    const w = new Worker(new URL("./send-worker.mjs", import.meta.url), { workerData: data });
    w.on("message", (m: { id: number; outcome: SendOutcome }) => {
      const resolve = waiting.get(m.id);
      waiting.delete(m.id);
      if (waiting.size === 0) w.unref();
      resolve?.(m.outcome);
    });
    w.on("error", (err) => {
      failAll(`The mail thread stopped: ${err.message}`);
      worker = undefined;
    });
    w.on("exit", () => {
      failAll("The mail thread stopped.");
      if (worker === w) worker = undefined;
    });
    w.unref();
    worker = w;
    return w;
  };
  const ask = (m: { mail: RenderedMail } | { verify: true }): Promise<SendOutcome> => {
    const w = start();
    const id = nextId++;
    return new Promise<SendOutcome>((resolve) => {
      waiting.set(id, resolve);
      w.ref();
      w.postMessage({ id, ...m });
    });
  };
  return {
    describe,
    pace,
    send: (mail) => ask({ mail }),
    verify: () => ask({ verify: true }),
    close() {
      const w = worker;
      worker = undefined;
      if (!w) return;
      w.postMessage("close");
      // A thread that does not end by itself (a connection stuck open) is ended.
      setTimeout(() => void w.terminate(), 2000).unref();
    },
  };
}

/** Delivers to a mail server over SMTP (nodemailer, pooled). */
export function smtpTransport(settings: SmtpSettings): MailTransport {
  const { describe, options } = smtpOptions(settings);
  return threadedTransport(describe, settings.ratePerSecond || undefined, { kind: "smtp", options });
}

/** Writes each message as an .eml file (owner-only: it holds the PIN) named by its outbox id, never by user data. */
export function emlTransport(dir: string): MailTransport {
  return threadedTransport(`eml:${dir}`, undefined, { kind: "eml", dir });
}
