import type { Command } from "commander";
import { int, kv, run, table } from "../cli/cli.ts";
import type { UserPage, UserView } from "./users.service.ts";

export function userSummary(u: UserView): string {
  return kv({
    "Object id": u.id,
    "User principal name": u.userPrincipalName,
    "Display name": u.displayName,
    "SIP address": u.sipAddress,
    Alias: u.alias,
    "Usage location": u.usageLocation,
    Source: u.source,
    Licences: u.licences,
    "Audio Conferencing licence": u.audioConferencingLicensed ? "yes" : "no",
    Provider: u.provider.name ?? "none",
    "Ready for Audio Conferencing": u.readyForAudioConferencing ? "yes" : "no",
  });
}

export function registerUserCommands(program: Command): void {
  const users = program.command("users").description("Users of the online directory");
  users
    .command("list")
    .description("List users, with the admin center's filters (Get-CsOnlineUser)")
    .option("--provider <provider>", "microsoft, third-party, none, or a provider name such as InterCall")
    .option("--licensed", "only users with an Audio Conferencing licence")
    .option("--unlicensed", "only users without an Audio Conferencing licence")
    .option("--ready-for-audio-conferencing", "licensed for Audio Conferencing but not on Microsoft (the banner's users)")
    .option("--source <source>", "on-premises or cloud")
    .option("--homing <homing>", "online or on-premises: where the user is homed")
    .option("--lifecycle <state>", "a lifecycle state (InterpretedUserType), e.g. HybridOnpremSfBUserNeedsProvisioning")
    .option("--search <text>", "part of a UPN, name, SIP address or alias")
    .option("--sort <key>", "displayName, userPrincipalName, provider or lifecycle (default userPrincipalName)")
    .option("--desc", "sort in descending order")
    .option("--limit <n>", "users per page (at most 1000)", int, 50)
    .option("--offset <n>", "users to skip", int, 0)
    .action(async (o, cmd: Command) =>
      run(
        cmd,
        (api) =>
          api.call<UserPage>("GET", "/users", {
            query: {
              provider: o.provider,
              licensed: o.licensed ? true : o.unlicensed ? false : undefined,
              readyForAudioConferencing: o.readyForAudioConferencing ? true : undefined,
              source: o.source,
              homing: o.homing,
              lifecycle: o.lifecycle,
              search: o.search,
              sort: o.sort,
              order: o.desc ? "desc" : undefined,
              limit: o.limit,
              offset: o.offset,
            },
          }),
        {
          human: (p) =>
            `${table(
              p.items.map((u) => ({ ...u, provider: u.provider.name ?? "none", licensed: u.audioConferencingLicensed ? "yes" : "no" })),
              [
                ["userPrincipalName", "UPN"],
                ["displayName", "Display name"],
                ["provider", "Provider"],
                ["licensed", "AC licence"],
                ["source", "Source"],
                ["usageLocation", "Loc"],
              ],
            )}\n${p.offset + 1}–${p.offset + p.items.length} of ${p.total} users`.replace(/^\(none\)\n1–0 of 0/, "No users match; 0"),
        },
      ),
    );
  users
    .command("show <identity>")
    .description("Show a user by UPN, SIP address, alias or object id")
    .action(async (identity: string, _o, cmd: Command) =>
      run(cmd, (api) => api.call<UserView>("GET", `/users/${encodeURIComponent(identity)}`), { human: userSummary }),
    );
  users
    .command("add <userPrincipalName>")
    .description("Add a user")
    .option("--display-name <name>")
    .option("--sip-address <sip>", "default: sip:<UPN>")
    .option("--alias <alias>")
    .option("--usage-location <cc>", "two-letter country code; licences need one")
    .option("--source <source>", "on-premises or cloud", "cloud")
    .action(async (upn: string, o, cmd: Command) =>
      run(
        cmd,
        (api) =>
          api.call<UserView>("POST", "/users", {
            body: {
              userPrincipalName: upn,
              displayName: o.displayName,
              sipAddress: o.sipAddress,
              alias: o.alias,
              usageLocation: o.usageLocation,
              source: o.source,
            },
          }),
        { human: (u) => `Added ${u.userPrincipalName}.\n${userSummary(u)}` },
      ),
    );
  users
    .command("set <identity>")
    .description("Change a user's directory attributes")
    .option("--display-name <name>")
    .option("--usage-location <cc>", "two-letter country code, or none to clear")
    .option("--sip-address <sip>")
    .option("--alias <alias>")
    .action(async (identity: string, o, cmd: Command) =>
      run(
        cmd,
        (api) =>
          api.call<UserView>("PATCH", `/users/${encodeURIComponent(identity)}`, {
            body: {
              displayName: o.displayName,
              usageLocation: o.usageLocation === "none" ? null : o.usageLocation,
              sipAddress: o.sipAddress,
              alias: o.alias,
            },
          }),
        { human: (u) => `Updated ${u.userPrincipalName}.\n${userSummary(u)}` },
      ),
    );
  users
    .command("remove <identity>")
    .description("Remove a user (their conference ID is released)")
    .action(async (identity: string, _o, cmd: Command) =>
      run(cmd, (api) => api.call<UserView>("DELETE", `/users/${encodeURIComponent(identity)}`), {
        human: (u) => `Removed ${u.userPrincipalName}.`,
      }),
    );
}
