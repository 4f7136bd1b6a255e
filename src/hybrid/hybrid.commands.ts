import path from "node:path";
import type { Command } from "commander";
import { bool, kv, run } from "../cli/cli.ts";
import { readCsvBytes } from "../core/identity-list.ts";
import { registerDirectoryCommands } from "../directory/sync.commands.ts";
import { followJob, jobReport } from "../jobs/jobs.commands.ts";
import type { BulkReport } from "../jobs/jobs.service.ts";
import type { OnlineVoiceChange, OnPremChange, OnPremUserView, UserChecklist } from "./hybrid.service.ts";
import type { BulkMoveStart, MoveReportRow } from "./move.service.ts";

const enc = encodeURIComponent;

function onPremSummary(u: OnPremUserView): string {
  return kv({
    "User principal name": u.userPrincipalName,
    "Display name": u.displayName,
    "Immutable id": u.immutableId,
    "SIP address": u.sipAddress,
    "Enabled for SfB": u.sipEnabled ? "yes" : "no",
    "Registrar pool": u.registrarPool,
    "Hosting provider": u.hostingProvider,
    "Enterprise Voice": u.enterpriseVoiceEnabled ? "yes" : "no",
    "Line URI": u.lineUri,
    "Voice routing policy": u.voiceRoutingPolicy ?? "Global",
    Synchronised: u.onlineUserId ? "yes" : "not yet",
  });
}

function onPremChange(c: OnPremChange): string {
  return [
    c.changed ? "Changed on-premises." : "Nothing changed.",
    ...c.warnings.map((w) => `warning: ${w}`),
    onPremSummary(c.user),
    c.changed ? c.next : null,
  ]
    .filter(Boolean)
    .join("\n");
}

function onlineChange(c: OnlineVoiceChange): string {
  const v = c.user.voice;
  return [
    c.changed ? `Updated ${c.user.userPrincipalName}.` : `Nothing changed for ${c.user.userPrincipalName}.`,
    ...c.warnings.map((w) => `warning: ${w}`),
    kv({
      "Enterprise Voice": v.enterpriseVoiceEnabled ? "yes" : "no",
      "Hosted voicemail": v.hostedVoicemail ? "yes" : "no",
      "Line URI": v.lineUri,
      "Online voice routing policy": v.effectiveOnlineVoiceRoutingPolicy,
      "User type": v.interpretedUserType,
    }),
  ].join("\n");
}

function moveRow(r: MoveReportRow): string {
  return [
    kv({ User: r.user, StartTime: r.startTime, Target: r.target, Result: r.result }),
    ...r.notes.map((n) => `note: ${n}`),
    r.dryRun ? "Dry run: nothing was changed." : null,
  ]
    .filter(Boolean)
    .join("\n");
}

function bulkMoveReport(r: BulkReport): string {
  const mark: Record<string, string> = { moved: "moved", "already-at-target": "warning", duplicate: "skipped" };
  const lines = r.results.slice(0, 200).map((x) => `${(mark[x.outcome] ?? "error").padEnd(8)} ${x.identity}: ${x.message}`);
  if (r.results.length > 200) lines.push(`… and ${r.results.length - 200} more: see \`callplane jobs results ${r.job.id}\`.`);
  const s = r.summary;
  const pending = r.job.total - r.job.processed;
  return [
    ...lines,
    "",
    `${r.dryRun ? "Dry run (nothing was changed): " : ""}${s.changed} ${r.dryRun ? "would move" : "moved"}, ${s.unchanged} unchanged, ${s.failed} failed.`,
    `Job ${r.job.id}${pending > 0 ? ` stopped with ${pending} users left: run the same command again to finish.` : "."}`,
  ].join("\n");
}

export function registerHybridCommands(program: Command): void {
  registerDirectoryCommands(program);
  const onprem = program
    .command("onprem")
    .description("Skype for Business Server side: users homed on-premises (changes reach online with `directory sync`)");
  onprem
    .command("show <identity>")
    .description("Show an on-premises user (Get-CsUser)")
    .action(async (identity: string, _o, cmd: Command) =>
      run(cmd, (api) => api.call<OnPremUserView>("GET", `/onprem/users/${enc(identity)}`), { human: onPremSummary }),
    );
  onprem
    .command("enable-user <identity>")
    .description("Enable a user for Skype for Business Server (Enable-CsUser)")
    .option("--registrar-pool <fqdn>", "home the user on this pool")
    .option("--hosting-provider-proxy-fqdn <fqdn>", "home the user online: sipfed.online.lync.com")
    .option("--sip-address <sip>", "e.g. sip:kenmyer@contoso.com")
    .option("--sip-address-type <type>", "FirstLastName, EmailAddress, UserPrincipalName or SamAccountName")
    .option("--sip-domain <domain>", "needed with FirstLastName and SamAccountName")
    .action(async (identity: string, o, cmd: Command) =>
      run(
        cmd,
        (api) =>
          api.call<OnPremChange>("POST", `/onprem/users/${enc(identity)}/enable`, {
            body: {
              registrarPool: o.registrarPool,
              hostingProviderProxyFqdn: o.hostingProviderProxyFqdn,
              sipAddress: o.sipAddress,
              sipAddressType: o.sipAddressType,
              sipDomain: o.sipDomain,
            },
          }),
        { human: onPremChange },
      ),
    );
  onprem
    .command("set-user <identity>")
    .description("Enterprise Voice and line URI on-premises (Set-CsUser)")
    .option("--enterprise-voice-enabled <bool>", "true or false", bool)
    .option("--line-uri <uri>", "tel:+E164[;ext=N], or none to remove")
    .action(async (identity: string, o, cmd: Command) =>
      run(
        cmd,
        (api) =>
          api.call<OnPremChange>("PATCH", `/onprem/users/${enc(identity)}`, {
            body: { enterpriseVoiceEnabled: o.enterpriseVoiceEnabled, lineUri: o.lineUri === "none" ? null : o.lineUri },
          }),
        { human: onPremChange },
      ),
    );
  onprem
    .command("grant-policy <identity>")
    .description("Grant a voice routing policy on-premises (Grant-CsVoiceRoutingPolicy); none for Global")
    .requiredOption("--voice-routing-policy <name>", "a per-user policy, or none")
    .action(async (identity: string, o, cmd: Command) =>
      run(
        cmd,
        (api) =>
          api.call<OnPremChange>("PUT", `/onprem/users/${enc(identity)}/voice-routing-policy`, {
            body: { policyName: o.voiceRoutingPolicy === "none" ? null : o.voiceRoutingPolicy },
          }),
        { human: onPremChange },
      ),
    );

  const users = program.commands.find((c) => c.name() === "users") ?? program.command("users");
  users
    .command("move [identity]")
    .description("Move users online or back to a pool (Move-CsUser); one identity, or --user-list / --csv as a resumable job")
    .requiredOption("--target <target>", "online, or a registrar pool FQDN")
    .option("--user-list <list>", "comma-separated identities")
    .option("--csv <file>", "a CSV with a UserPrincipalName/SipAddress/Identity column, or one identity per line")
    .option("--bypass-enterprise-voice-check", "move Enterprise Voice users without a Phone System licence")
    .option("--bypass-audio-conferencing-check", "move dial-in users without an Audio Conferencing licence")
    .option("--force", "do not migrate contacts and scheduled meetings: they are lost")
    .option("--dry-run", "report what would happen; change nothing")
    .action(async (identity: string | undefined, o, cmd: Command) => {
      const options = {
        target: o.target,
        bypassEnterpriseVoiceCheck: o.bypassEnterpriseVoiceCheck ? true : undefined,
        bypassAudioConferencingCheck: o.bypassAudioConferencingCheck ? true : undefined,
        force: o.force ? true : undefined,
        dryRun: o.dryRun ? true : undefined,
      };
      if (identity !== undefined && o.userList === undefined && o.csv === undefined) {
        return run(cmd, (api) => api.call<MoveReportRow>("POST", `/users/${enc(identity)}/move`, { body: options }), { human: moveRow });
      }
      return run(
        cmd,
        async (api, g) => {
          let csvBase64: string | undefined;
          let csvName: string | undefined;
          if (o.csv !== undefined) {
            csvBase64 = (await readCsvBytes(o.csv)).toString("base64");
            csvName = path.basename(o.csv);
          }
          const userList = identity !== undefined ? [identity, o.userList].filter(Boolean).join(",") : o.userList;
          const start = await api.call<BulkMoveStart>("POST", "/users/move", { body: { ...options, userList, csvBase64, csvName } });
          if (!g.json) {
            process.stderr.write(
              `${start.resumed ? `Resuming job ${start.job.id}: ${start.job.processed} of ${start.job.total} done before it stopped.\n` : ""}Users to move: ${start.job.total}${start.job.dryRun ? " (dry run)" : ""}\n`,
            );
          }
          return jobReport(api, await followJob(api, start.job.id, g, start.job.dryRun ? "Checking" : "Moving"));
        },
        {
          human: bulkMoveReport,
          exitCode: (r) => (r.summary.failed > 0 || r.job.processed < r.job.total ? 1 : 0),
          json: (r) => ({ ...r, job: r.job.id }),
        },
      );
    });
  users
    .command("set-voice <identity>")
    .description("Online Enterprise Voice and hosted voicemail (Set-CsUser online); needs homing online and Phone System")
    .option("--enterprise-voice-enabled <bool>", "true or false", bool)
    .option("--hosted-voicemail <bool>", "true or false", bool)
    .action(async (identity: string, o, cmd: Command) =>
      run(
        cmd,
        (api) =>
          api.call<OnlineVoiceChange>("PATCH", `/users/${enc(identity)}/voice`, {
            body: { enterpriseVoiceEnabled: o.enterpriseVoiceEnabled, hostedVoicemail: o.hostedVoicemail },
          }),
        { human: onlineChange },
      ),
    );
  users
    .command("grant-policy <identity>")
    .description("Grant an online voice routing policy (Grant-CsOnlineVoiceRoutingPolicy); none for Global")
    .requiredOption("--online-voice-routing-policy <name>", "a per-user policy, or none")
    .action(async (identity: string, o, cmd: Command) =>
      run(
        cmd,
        (api) =>
          api.call<OnlineVoiceChange>("PUT", `/users/${enc(identity)}/online-voice-routing-policy`, {
            body: { policyName: o.onlineVoiceRoutingPolicy === "none" ? null : o.onlineVoiceRoutingPolicy },
          }),
        { human: onlineChange },
      ),
    );
  users
    .command("checklist <identity>")
    .description("The hybrid voice steps for a user: done or missing, with the command for each")
    .action(async (identity: string, _o, cmd: Command) =>
      run(cmd, (api) => api.call<UserChecklist>("GET", `/users/${enc(identity)}/checklist`), {
        human: (c) =>
          [
            `${c.userPrincipalName}${c.interpretedUserType ? ` (${c.interpretedUserType})` : ""}`,
            ...c.steps.map(
              (s, i) =>
                `${s.done ? "[x]" : "[ ]"} ${i + 1}. ${s.title}${s.note ? `\n       ${s.note}` : ""}${s.command ? `\n       → ${s.command}` : ""}`,
            ),
            c.done ? "All steps are done." : `Next: ${c.steps.find((s) => s.id === c.next)?.command ?? c.next}`,
          ].join("\n"),
        exitCode: () => 0,
      }),
    );
}
