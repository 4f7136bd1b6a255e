import type { Command } from "commander";
import { int, run, table } from "../cli/cli.ts";
import type { AuditEvent } from "./audit.service.ts";

export function registerAuditCommands(program: Command): void {
  const audit = program.command("audit").description("The audit log: who changed what, before and after");
  audit
    .command("list")
    .description("List audit events, newest first")
    .option("--operation <op>", "e.g. conferencing.* or licence.assign")
    .option("--target <id>", "the object id of a user, or another target")
    .option("--actor <actor>", "the principal, e.g. account:alice, token:ci/0a1b2c3d4e5f, local:bob")
    .option("--job <id>")
    .option("--before <id>", "events older than this event id (paging)", int)
    .option("--from <time>", "events at or after this time, e.g. 2026-11-23T08:00:00Z")
    .option("--to <time>", "events before this time")
    .option("--limit <n>", "at most this many", int, 50)
    .action(async (o, cmd: Command) =>
      run(
        cmd,
        (api) =>
          api.call<AuditEvent[]>("GET", "/audit", {
            query: {
              operation: o.operation,
              target: o.target,
              actor: o.actor,
              job: o.job,
              before: o.before,
              from: o.from,
              to: o.to,
              limit: o.limit,
            },
          }),
        {
          human: (events) =>
            table(
              events.map((e) => ({ ...e, change: summarize(e) })),
              [
                ["id", "Id"],
                ["at", "At"],
                ["actor", "Actor"],
                ["source", "From"],
                ["operation", "Operation"],
                ["targetId", "Target"],
                ["change", "Change"],
              ],
            ),
        },
      ),
    );
}

function summarize(e: AuditEvent): string {
  const text = JSON.stringify(e.after ?? e.before ?? {});
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
