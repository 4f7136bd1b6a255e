import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Command } from "commander";
import { run, table } from "../cli/cli.ts";
import type { ImportResult, SyncResult } from "./sync.service.ts";

/** `callplane directory import|sync`: the on-premises directory and Azure AD Connect. */
export function registerDirectoryCommands(program: Command): void {
  const dir = program.command("directory").description("The on-premises directory: import an export, synchronise it online");
  dir
    .command("import <file>")
    .description("Load an on-premises directory export (CSV or LDIF) into Callplane's directory mirror")
    .option("--format <format>", "csv or ldif (default: from the file name)")
    .option("--full", "the file is the whole directory: objects absent from it are marked deleted")
    .action(async (file: string, o, cmd: Command) =>
      run(
        cmd,
        async (api) =>
          api.call<ImportResult>("POST", "/directory/import", {
            body: {
              format: o.format,
              fileName: path.basename(file),
              content: await readFile(file, "utf8"),
              full: o.full ? true : undefined,
            },
          }),
        {
          human: (r) =>
            `Imported ${r.read} objects from ${r.source}: ${r.created} new, ${r.updated} updated, ${r.restored} restored, ${r.unchanged} unchanged${r.full ? `, ${r.deleted} marked deleted` : ""}.\nRun \`callplane directory sync\` to carry the changes to the online users.`,
        },
      ),
    );
  dir
    .command("sync")
    .description("Synchronise on-premises users to the online directory (create, update, soft-delete)")
    .option("--dry-run", "report what would change; change nothing")
    .action(async (o, cmd: Command) =>
      run(cmd, (api) => api.call<SyncResult>("POST", "/directory/sync", { body: { dryRun: o.dryRun ? true : undefined } }), {
        exitCode: (r) => (r.conflicts.length > 0 ? 1 : 0),
        human: (r) => {
          const clashes =
            r.conflicts.length === 0
              ? ""
              : `\nNot synchronised (${r.conflicts.length}):\n${r.conflicts
                  .slice(0, 20)
                  .map((c) => `  ${c.userPrincipalName}: ${c.message}`)
                  .join("\n")}${r.conflicts.length > 20 ? `\n  … and ${r.conflicts.length - 20} more (--json lists them).` : ""}`;
          if (r.changesTotal === 0) return `${r.message}${clashes}`;
          const shown = table(
            r.changes.slice(0, 50).map((c) => ({ ...c, fields: c.fields.join(", ") })),
            [
              ["action", "Action"],
              ["userPrincipalName", "User"],
              ["fields", "Changed"],
            ],
          );
          const more = r.changesTotal > 50 ? `\n… and ${r.changesTotal - 50} more (--json lists up to 1,000).` : "";
          return `${shown}${more}\n${r.message}${clashes}`;
        },
      }),
    );
}
