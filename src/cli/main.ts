import { Command, CommanderError } from "commander";
import { registerAuditCommands } from "../audit/audit.commands.ts";
import { registerAuthCommands } from "../auth/auth.commands.ts";
import { registerConferencingCommands } from "../conferencing/conferencing.commands.ts";
import { registerUserCommands } from "../directory/users.commands.ts";
import { registerHybridCommands } from "../hybrid/hybrid.commands.ts";
import { registerJobCommands } from "../jobs/jobs.commands.ts";
import { registerLicensingCommands } from "../licensing/licensing.commands.ts";
import { registerMailCommands } from "../notify/mail.commands.ts";
import { registerTenantCommands } from "../tenancy/tenant.commands.ts";
import { registerVoiceCommands } from "../voice/voice.commands.ts";
import { registerServeCommand } from "./serve.ts";

export function buildProgram(): Command {
  const program = new Command("callplane")
    .description("Callplane: enterprise voice and dial-in audio conferencing, for a hundred thousand users at a time.")
    .version("0.1.0")
    .option("--json", "print the API's JSON answer")
    .option("--data <dir>", "embedded store folder (default ./.callplane, or CALLPLANE_DATA)")
    .option("--server <url>", "go through a running Callplane server (or CALLPLANE_SERVER)")
    .option("--token <token>", "API token for --server (or CALLPLANE_TOKEN); create one with `callplane tokens create`")
    .option("--username <name>", "sign in to --server as this account (or CALLPLANE_USERNAME; password from CALLPLANE_PASSWORD or asked)")
    .option("--tenant <name>", "which tenant, when there are several (or CALLPLANE_TENANT)")
    .option("--outbox <dir>", "where emails are written (default: <data>/outbox)")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  registerServeCommand(program);
  registerTenantCommands(program);
  registerUserCommands(program);
  registerLicensingCommands(program);
  registerConferencingCommands(program);
  registerVoiceCommands(program);
  registerJobCommands(program);
  registerAuditCommands(program);
  registerMailCommands(program);
  registerHybridCommands(program);
  registerAuthCommands(program);
  // Every command shares the exit behaviour: commander's usage errors are "bad invocation", exit 2.
  const override = (cmd: Command) => {
    cmd.exitOverride();
    for (const sub of cmd.commands) override(sub);
  };
  override(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    throw err;
  }
}
