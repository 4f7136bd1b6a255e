import path from "node:path";
import type { Command } from "commander";
import { bool, int, kv, list, run, table } from "../cli/cli.ts";
import { terminalSafe } from "../cli/terminal-safe.ts";
import { AppError } from "../core/errors.ts";
import { readCsvBytes } from "../core/identity-list.ts";
import { bulkExitCode, followJob, formatReport, jobReport } from "../jobs/jobs.commands.ts";
import type { BulkReport, JobView } from "../jobs/jobs.service.ts";
import type { Bridge, ServiceNumber } from "./bridges.service.ts";
import type { ConferencingSummary, DialInChange, DialInView, RestoreResult } from "./dial-in.service.ts";
import type { MoveStart } from "./move-to-microsoft.service.ts";
import type { AcpEntry, Provider } from "./providers.service.ts";
import type { ConferencingSettings } from "./settings.service.ts";

const u = (identity: string) => encodeURIComponent(identity);

function dialInText(d: DialInView): string {
  return kv({
    User: d.userPrincipalName,
    Provider: `${d.provider} (${d.domain})`,
    Bridge: d.bridge,
    "Conference ID": d.conferenceId,
    "Toll number": d.serviceNumber,
    "Toll-free number": d.tollFreeServiceNumber,
    "Allow PSTN-only meetings": d.allowPstnOnlyMeetings,
    "Allow toll-free dial-in": d.allowTollFreeDialIn,
  });
}

function changeText(c: DialInChange): string {
  const parts = [c.changed ? c.message : `warning: ${c.message}`];
  if (c.replaced?.acpEntries.length) {
    parts.push(
      `Replaced (archived; undo with \`callplane conferencing restore ${c.user}\`): ${c.replaced.acpEntries
        .map(
          (e) =>
            `${e.name}${e.tollNumber ? ` toll ${e.tollNumber}` : ""}${e.participantPasscode ? ` passcode ${e.participantPasscode}` : ""}`,
        )
        .join("; ")}`,
    );
  }
  if (c.dialIn) parts.push(dialInText(c.dialIn));
  if (c.pin) parts.push(`Leader PIN: ${c.pin}   (shown this once; it is stored only as a hash)`);
  if (c.mail?.status === "sent") parts.push(`Email to ${c.mail.to}: delivered (message ${c.mail.id})`);
  if (c.warning) parts.push(`warning: ${c.warning}`);
  return parts.join("\n");
}

export function registerConferencingCommands(program: Command): void {
  const conf = program.command("conferencing").description("Dial-in audio conferencing: providers, bridges, users, bulk moves");

  conf
    .command("summary")
    .description("The audio conferencing page at a glance: the banner and users by provider")
    .action(async (_o, cmd: Command) =>
      run(cmd, (api) => api.call<ConferencingSummary>("GET", "/conferencing/summary"), {
        human: (s) =>
          [s.banner ?? "Every user licensed for Audio Conferencing has Microsoft as provider.", "", kv(s.byProvider)].join("\n"),
      }),
    );

  const providers = conf
    .command("providers")
    .description("List audio conferencing providers (Get-CsAudioConferencingProvider)")
    .option("--filter <pattern>", "wildcards, e.g. *Call*")
    .action(async (o, cmd: Command) =>
      run(cmd, (api) => api.call<Provider[]>("GET", "/conferencing/providers", { query: { filter: o.filter } }), {
        human: (p) =>
          table(p as unknown as Record<string, unknown>[], [
            ["identity", "Identity"],
            ["domain", "Domain"],
            ["url", "URL"],
          ]),
      }),
    );
  providers
    .command("add")
    .description("Add a third-party provider")
    .requiredOption("--name <name>")
    .requiredOption("--domain <domain>")
    .option("--url <url>")
    .action(async (o, cmd: Command) =>
      run(cmd, (api) => api.call<Provider>("POST", "/conferencing/providers", { body: { name: o.name, domain: o.domain, url: o.url } }), {
        human: (p) => `Added provider ${p.identity} (${p.domain}).`,
      }),
    );

  const settings = conf.command("settings").description("Tenant conferencing settings (Set-CsOnlineDialInConferencingTenantSettings)");
  const settingsText = (s: ConferencingSettings) => kv(s as unknown as Record<string, unknown>);
  settings
    .command("show")
    .action(async (_o, cmd: Command) =>
      run(cmd, (api) => api.call<ConferencingSettings>("GET", "/conferencing/settings"), { human: settingsText }),
    );
  settings
    .command("set")
    .description("Change settings; a new PIN length applies to PINs generated from now on")
    .option("--pin-length <n>", "4 to 12 (default 5)", int)
    .option("--automatically-send-emails <bool>", "email users their dial-in details on changes", bool)
    .option("--allow-pstn-only-meetings-by-default <bool>", "", bool)
    .option("--automatically-replace-acp-provider <bool>", "an Audio Conferencing licence replaces a third-party provider", bool)
    .option("--send-email-from-override <bool>", "", bool)
    .option("--send-email-from-address <address>")
    .option("--send-email-from-display-name <name>")
    .option("--enable-entry-exit-notifications <bool>", "", bool)
    .option("--enable-name-recording <bool>", "", bool)
    .option("--entry-exit-announcements-type <type>", "UseNames or ToneOnly")
    .option("--mask-pstn-numbers-type <type>", "MaskedForExternalUsers, MaskedForAllUsers or NoMasking")
    .action(async (o, cmd: Command) =>
      run(
        cmd,
        (api) =>
          api.call<ConferencingSettings>("PATCH", "/conferencing/settings", {
            body: {
              pinLength: o.pinLength,
              automaticallySendEmailsToUsers: o.automaticallySendEmails,
              allowPstnOnlyMeetingsByDefault: o.allowPstnOnlyMeetingsByDefault,
              automaticallyReplaceAcpProvider: o.automaticallyReplaceAcpProvider,
              sendEmailFromOverride: o.sendEmailFromOverride,
              sendEmailFromAddress: o.sendEmailFromAddress,
              sendEmailFromDisplayName: o.sendEmailFromDisplayName,
              enableEntryExitNotifications: o.enableEntryExitNotifications,
              enableNameRecording: o.enableNameRecording,
              entryExitAnnouncementsType: o.entryExitAnnouncementsType,
              maskPstnNumbersType: o.maskPstnNumbersType,
            },
          }),
        { human: (s) => `Saved.\n${settingsText(s)}` },
      ),
    );
  settings
    .command("reset")
    .description("Back to the defaults (Remove-CsOnlineDialInConferencingTenantSettings)")
    .action(async (_o, cmd: Command) =>
      run(cmd, (api) => api.call<ConferencingSettings>("DELETE", "/conferencing/settings"), { human: (s) => `Reset.\n${settingsText(s)}` }),
    );

  const bridges = conf.command("bridges").description("Bridges (Get-/Set-CsOnlineDialInConferencingBridge)");
  const bridgeText = (b: Bridge) =>
    `${kv({
      Name: b.name,
      Default: b.isDefault,
      "Conference ID length": b.conferenceIdLength,
      "Default toll number": b.defaultServiceNumber,
      "Default toll-free number": b.defaultTollFreeServiceNumber,
    })}\n${numbersTable(b.serviceNumbers)}`;
  bridges.command("list").action(async (_o, cmd: Command) =>
    run(cmd, (api) => api.call<Bridge[]>("GET", "/conferencing/bridges"), {
      human: (b) => (b.length ? b.map(bridgeText).join("\n\n") : "No bridges yet."),
    }),
  );
  bridges
    .command("create")
    .requiredOption("--name <name>")
    .option("--conference-id-length <n>", "digits in conference IDs (default 7)", int)
    .action(async (o, cmd: Command) =>
      run(
        cmd,
        (api) => api.call<Bridge>("POST", "/conferencing/bridges", { body: { name: o.name, conferenceIdLength: o.conferenceIdLength } }),
        {
          human: (b) => `Created bridge ${b.name}${b.isDefault ? " (default)" : ""}.`,
        },
      ),
    );
  bridges
    .command("set [bridge]")
    .description("Change the default bridge (or the one named): its name, default numbers, default flag")
    .option("--name <name>", "rename")
    .option("--default-service-number <number>", "the default toll number; must be on the bridge")
    .option("--default-toll-free-number <number>", "the default toll-free number; must be on the bridge")
    .option("--set-default", "make this the tenant's default bridge")
    .action(async (bridge: string | undefined, o, cmd: Command) =>
      run(
        cmd,
        async (api) => {
          const target = bridge ?? (await api.call<Bridge[]>("GET", "/conferencing/bridges")).find((b) => b.isDefault)?.id ?? "default";
          return api.call<Bridge>("PATCH", `/conferencing/bridges/${u(target)}`, {
            body: {
              name: o.name,
              defaultServiceNumber: o.defaultServiceNumber,
              defaultTollFreeServiceNumber: o.defaultTollFreeNumber,
              setDefault: o.setDefault,
            },
          });
        },
        { human: (b) => `Saved.\n${bridgeText(b)}` },
      ),
    );

  const numbers = conf.command("numbers").description("Service numbers (Get-/Set-CsOnlineDialInConferencingServiceNumber)");
  numbers
    .command("list")
    .option("--bridge <bridge>")
    .option("--city <city>")
    .action(async (o, cmd: Command) =>
      run(cmd, (api) => api.call<ServiceNumber[]>("GET", "/conferencing/service-numbers", { query: { bridge: o.bridge, city: o.city } }), {
        human: numbersTable,
      }),
    );
  numbers
    .command("add <number>")
    .requiredOption("--type <type>", "toll or toll-free")
    .option("--bridge <bridge>")
    .option("--city <city>")
    .option("--country <cc>")
    .option("--primary-language <lang>", "e.g. en-US")
    .option("--secondary-languages <langs>", "comma-separated, at most 4", list)
    .action(async (number: string, o, cmd: Command) =>
      run(
        cmd,
        (api) =>
          api.call<ServiceNumber>("POST", "/conferencing/service-numbers", {
            body: {
              number,
              type: o.type,
              bridge: o.bridge,
              city: o.city,
              country: o.country,
              primaryLanguage: o.primaryLanguage,
              secondaryLanguages: o.secondaryLanguages,
            },
          }),
        { human: (n) => `Added ${n.type} number ${n.number} to ${n.bridge}.` },
      ),
    );
  numbers
    .command("set <number>")
    .option("--primary-language <lang>")
    .option("--secondary-languages <langs>", "comma-separated, at most 4", list)
    .option("--restore-default-languages")
    .action(async (number: string, o, cmd: Command) =>
      run(
        cmd,
        (api) =>
          api.call<ServiceNumber>("PATCH", `/conferencing/service-numbers/${u(number)}`, {
            body: {
              primaryLanguage: o.primaryLanguage,
              secondaryLanguages: o.secondaryLanguages,
              restoreDefaultLanguages: o.restoreDefaultLanguages,
            },
          }),
        { human: (n) => numbersTable([n]) },
      ),
    );
  numbers.command("remove <number>").action(async (number: string, _o, cmd: Command) =>
    run(cmd, (api) => api.call<ServiceNumber>("DELETE", `/conferencing/service-numbers/${u(number)}`), {
      human: (n) => `Removed ${n.number}.`,
    }),
  );

  const acp = conf.command("acp").description("A user's third-party provider entries (Set-/Get-/Remove-CsUserAcp)");
  const acpText = (entries: AcpEntry[]) =>
    table(entries as unknown as Record<string, unknown>[], [
      ["name", "Name"],
      ["isDefault", "Default"],
      ["tollNumber", "Toll"],
      ["tollFreeNumbers", "Toll-free"],
      ["participantPasscode", "Passcode"],
      ["url", "URL"],
    ]);
  acp
    .command("show <identity>")
    .action(async (identity: string, _o, cmd: Command) =>
      run(cmd, (api) => api.call<AcpEntry[]>("GET", `/users/${u(identity)}/acp`), { human: acpText }),
    );
  acp
    .command("set <identity>")
    .requiredOption("--name <provider>", "a third-party provider, e.g. InterCall")
    .option("--domain <domain>")
    .option("--toll-number <number>")
    .option("--toll-free-numbers <numbers>", "comma-separated", list)
    .option("--participant-passcode <digits>")
    .option("--url <url>")
    .option("--default <bool>", "make this the user's default provider", bool)
    .action(async (identity: string, o, cmd: Command) =>
      run(
        cmd,
        (api) =>
          api.call<AcpEntry[]>("PUT", `/users/${u(identity)}/acp`, {
            body: {
              name: o.name,
              domain: o.domain,
              tollNumber: o.tollNumber,
              tollFreeNumbers: o.tollFreeNumbers,
              participantPasscode: o.participantPasscode,
              url: o.url,
              isDefault: o.default,
            },
          }),
        { human: acpText },
      ),
    );
  acp
    .command("remove <identity>")
    .option("--name <provider>", "only this entry (default: all)")
    .action(async (identity: string, o, cmd: Command) =>
      run(cmd, (api) => api.call<AcpEntry[]>("DELETE", `/users/${u(identity)}/acp`, { query: { name: o.name } }), {
        human: (e) => `Removed.${e.length ? `\n${acpText(e)}` : ""}`,
      }),
    );

  conf
    .command("enable <identity>")
    .description("Make Microsoft the user's audio conferencing provider (Enable-CsOnlineDialInConferencingUser)")
    .option("--replace-provider", "replace a third-party provider (its details are archived)")
    .option("--conference-id <digits>", "a specific conference ID (default: generated)")
    .option("--service-number <number>", "default toll number; must be on the bridge")
    .option("--toll-free-number <number>", "default toll-free number; must be on the bridge")
    .option("--bridge <bridge>")
    .option("--allow-pstn-only-meetings <bool>", "", bool)
    .option("--send-email", "email the user even if the tenant does not automatically")
    .action(async (identity: string, o, cmd: Command) =>
      run(
        cmd,
        (api) =>
          api.call<DialInChange>("POST", `/conferencing/users/${u(identity)}/enable`, {
            body: {
              replaceProvider: o.replaceProvider,
              conferenceId: o.conferenceId,
              serviceNumber: o.serviceNumber,
              tollFreeServiceNumber: o.tollFreeNumber,
              bridge: o.bridge,
              allowPstnOnlyMeetings: o.allowPstnOnlyMeetings,
              sendEmail: o.sendEmail,
            },
          }),
        { human: changeText },
      ),
    );
  conf
    .command("set <identity>")
    .description("Change default numbers, reset the PIN or conference ID (Set-CsOnlineDialInConferencingUser)")
    .option("--service-number <number>", "default toll number")
    .option("--toll-free-number <number>", "default toll-free number")
    .option("--reset-pin", "generate a new leader PIN (shown once)")
    .option("--conference-id <digits>", "a specific new conference ID")
    .option("--reset-conference-id", "generate a new conference ID; the old one stops working")
    .option("--bridge <bridge>", "move to another bridge")
    .option("--allow-pstn-only-meetings <bool>", "", bool)
    .option("--allow-toll-free-dial-in <bool>", "", bool)
    .option("--send-email", "email the user even if the tenant does not automatically")
    .action(async (identity: string, o, cmd: Command) =>
      run(
        cmd,
        (api) =>
          api.call<DialInChange>("PATCH", `/conferencing/users/${u(identity)}`, {
            body: {
              serviceNumber: o.serviceNumber,
              tollFreeServiceNumber: o.tollFreeNumber,
              resetLeaderPin: o.resetPin,
              conferenceId: o.conferenceId,
              resetConferenceId: o.resetConferenceId,
              bridge: o.bridge,
              allowPstnOnlyMeetings: o.allowPstnOnlyMeetings,
              allowTollFreeDialIn: o.allowTollFreeDialIn,
              sendEmail: o.sendEmail,
            },
          }),
        { human: changeText },
      ),
    );
  conf
    .command("reset-pin <identity>")
    .description("Reset a user's leader PIN and nothing else (shown once): the helpdesk may do this")
    .option("--send-email")
    .action(async (identity: string, o, cmd: Command) =>
      run(
        cmd,
        (api) => api.call<DialInChange>("POST", `/conferencing/users/${u(identity)}/reset-pin`, { body: { sendEmail: o.sendEmail } }),
        { human: changeText },
      ),
    );
  conf
    .command("disable <identity>")
    .description("Turn off Microsoft dial-in and release the conference ID (Disable-CsOnlineDialInConferencingUser)")
    .option("--send-email")
    .action(async (identity: string, o, cmd: Command) =>
      run(
        cmd,
        (api) => api.call<DialInChange>("POST", `/conferencing/users/${u(identity)}/disable`, { body: { sendEmail: o.sendEmail } }),
        {
          human: changeText,
        },
      ),
    );
  conf
    .command("show <identity>")
    .description("A user's Microsoft dial-in conferencing (Get-CsOnlineDialInConferencingUser)")
    .action(async (identity: string, _o, cmd: Command) =>
      run(cmd, (api) => api.call<DialInView>("GET", `/conferencing/users/${u(identity)}`), { human: dialInText }),
    );
  conf
    .command("users")
    .description("Users on Microsoft dial-in conferencing")
    .option("--result-size <n>", "at most this many (0: none)", int, 100)
    .option("--offset <n>", "skip this many", int)
    .action(async (o, cmd: Command) =>
      run(cmd, (api) => api.call<DialInView[]>("GET", "/conferencing/users", { query: { resultSize: o.resultSize, offset: o.offset } }), {
        human: (list) =>
          list.length === 0
            ? "No users are on Microsoft dial-in conferencing."
            : table(list as unknown as Record<string, unknown>[], [
                ["userPrincipalName", "User"],
                ["conferenceId", "Conference ID"],
                ["serviceNumber", "Toll"],
                ["tollFreeServiceNumber", "Toll-free"],
                ["bridge", "Bridge"],
              ]),
      }),
    );
  conf
    .command("restore [identity]")
    .description("Go back to the archived provider and dial-in settings: one user, or every user a job changed")
    .option("--job <id>", "undo a whole bulk job")
    .option("--dry-run", "with --job: report what would be restored, change nothing")
    .action(async (identity: string | undefined, o, cmd: Command) =>
      run(
        cmd,
        async (api, g): Promise<RestoreResult | BulkReport> => {
          // Bad invocations exit 2 like every other (a plain Error would be reported as internal, exit 3).
          if (o.job && identity) throw new AppError("invalid_input", "Give a user or --job, not both.");
          if (!o.job && !identity) throw new AppError("invalid_input", "Say what to restore: a user identity, or --job ID.");
          if (identity) return api.call<RestoreResult>("POST", `/conferencing/users/${u(identity)}/restore`);
          const started = await api.call<{ job: JobView }>("POST", "/conferencing/restore-job", { body: { job: o.job, dryRun: o.dryRun } });
          return jobReport(api, await followJob(api, started.job.id, g, "Restoring"));
        },
        {
          human: (r) =>
            "results" in r
              ? formatReport(r)
              : [r.message, r.dialIn ? dialInText(r.dialIn) : null, r.warning ? `warning: ${r.warning}` : null].filter(Boolean).join("\n"),
          exitCode: (r) => ("results" in r ? bulkExitCode(r) : 0),
          // A bulk report prints as every bulk command's does: the job by its id.
          json: (r) => ("results" in r ? { ...r, job: r.job.id } : r),
        },
      ),
    );
  conf
    .command("move-to-microsoft")
    .description("Move many users to Microsoft, as the seed's script but safe: dry run, progress, results, resume, undo")
    .option("--user-list <list>", "comma-separated identities")
    .option("--csv <file>", "a CSV with a UserPrincipalName/Email/SipAddress/Identity column, or one identity per line")
    .option("--from-provider <name>", "every user whose provider is this one, e.g. InterCall")
    .option("--ready", "every user the admin-center banner counts (licensed, provider not Microsoft)")
    .option("--bridge <bridge>", "put the users on this bridge (default: the tenant default)")
    .option("--dry-run", "report exactly what would happen; change nothing")
    .option("--send-email", "email each changed user even if the tenant does not automatically")
    .action(async (o, cmd: Command) =>
      run(
        cmd,
        async (api, g) => {
          let csvBase64: string | undefined;
          let csvName: string | undefined;
          if (o.csv !== undefined) {
            csvBase64 = (await readCsvBytes(o.csv)).toString("base64");
            csvName = path.basename(o.csv);
          }
          const start = await api.call<MoveStart>("POST", "/conferencing/move-to-microsoft", {
            body: {
              userList: o.userList,
              csvBase64,
              csvName,
              fromProvider: o.fromProvider,
              ready: o.ready ? true : undefined,
              bridge: o.bridge,
              dryRun: o.dryRun,
              sendEmail: o.sendEmail,
            },
          });
          if (!g.json) {
            const notes = [
              start.resumed
                ? `Resuming job ${start.job.id}: ${start.job.processed} of ${start.job.total} users were done before it stopped.`
                : null,
              start.input.column ? `Read identities from the "${start.input.column}" column of ${csvName}.` : null,
              start.input.duplicates ? `${start.input.duplicates} duplicate identities collapsed.` : null,
              ...start.input.skipped.map((s) => `Skipped line ${s.line}: ${s.reason}`),
              `Number of users to have their audio conferencing provider set to Microsoft: ${start.job.total}${start.job.dryRun ? " (dry run)" : ""}`,
            ].filter(Boolean);
            process.stderr.write(terminalSafe(`${notes.join("\n")}\n`));
          }
          return jobReport(api, await followJob(api, start.job.id, g, start.job.dryRun ? "Checking" : "Moving"));
        },
        { human: (r) => formatReport(r), exitCode: bulkExitCode, json: (r) => ({ ...r, job: r.job.id }) },
      ),
    );
}

function numbersTable(numbers: ServiceNumber[]): string {
  return table(numbers as unknown as Record<string, unknown>[], [
    ["number", "Number"],
    ["type", "Type"],
    ["city", "City"],
    ["country", "Country"],
    ["primaryLanguage", "Language"],
    ["bridge", "Bridge"],
  ]);
}
