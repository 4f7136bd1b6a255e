import type { Command } from "commander";
import { int, kv, run, table } from "../cli/cli.ts";
import { AppError } from "../core/errors.ts";
import type { Delivered, MailDetail, MailView } from "./outbox.service.ts";

export function registerMailCommands(program: Command): void {
  const mail = program.command("mail").description("The outbox: dial-in emails to users, their delivery and retries");
  mail
    .command("list")
    .description("Messages, newest first")
    .option("--status <status>", "queued, sending, sent, deferred or failed")
    .option("--user <id>", "messages to this user (object id)")
    .option("--job <id>", "messages of this bulk job")
    .option("--limit <n>", "at most this many", int, 50)
    .action(async (o, cmd: Command) =>
      run(cmd, (api) => api.call<MailView[]>("GET", "/mail", { query: { status: o.status, user: o.user, job: o.job, limit: o.limit } }), {
        human: (list) =>
          table(list as unknown as Record<string, unknown>[], [
            ["id", "Id"],
            ["createdAt", "Queued"],
            ["to", "To"],
            ["kind", "Kind"],
            ["status", "Status"],
            ["attempts", "Attempts"],
            ["lastError", "Last error"],
          ]),
      }),
    );
  mail
    .command("show <id>")
    .description("One message: headers, content (never the PIN) and its delivery history")
    .action(async (id: string, _o, cmd: Command) =>
      run(cmd, (api) => api.call<MailDetail>("GET", `/mail/${encodeURIComponent(id)}`), {
        human: (m) =>
          [
            kv({
              "Message-ID": m.messageId,
              From: `${m.fromName} <${m.from}>`,
              To: `${m.toName} <${m.to}>`,
              Subject: m.subject,
              Status: m.status,
              Attempts: m.attempts,
              "Last error": m.lastError,
              "Conference ID": m.conferenceId,
              "Toll number": m.tollNumber,
              "Toll-free number": m.tollFreeNumber,
              PIN: m.hasPin ? "(held sealed until the mail server accepts the message; never shown)" : "(none stored)",
            }),
            "",
            ...m.lines,
            "",
            "History:",
            ...m.history.map((h) => `  ${h.at}  ${h.status.padEnd(8)} ${h.detail}`),
          ].join("\n"),
      }),
    );
  mail
    .command("retry [id]")
    .description("Send a failed or deferred message again now, or every failed one with --failed")
    .option("--failed", "every failed message")
    .action(async (id: string | undefined, o, cmd: Command) =>
      run(
        cmd,
        async (api) => {
          if (!id && !o.failed) throw new AppError("invalid_input", "Say what to retry: a message id, or --failed.");
          if (id && o.failed) throw new AppError("invalid_input", "Give a message id or --failed, not both.");
          return api.call<{ retried: number; delivered: Delivered[] }>("POST", "/mail/retry", { body: id ? { id } : { failed: true } });
        },
        {
          human: (r) =>
            [
              `${r.retried} message${r.retried === 1 ? "" : "s"} queued again.`,
              ...r.delivered.map((d) => `${d.status.padEnd(8)} ${d.to}${d.error ? `: ${d.error}` : ""}`),
            ].join("\n"),
          exitCode: (r) => (r.delivered.some((d) => d.status === "failed") ? 1 : 0),
        },
      ),
    );
}
