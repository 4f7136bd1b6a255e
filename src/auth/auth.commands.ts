import type { Command } from "commander";
import { kv, run, table } from "../cli/cli.ts";
import { ApiError, askPassword } from "../cli/client.ts";
import type { AccountView, PrincipalView, TokenView } from "./auth.service.ts";
import { roles } from "./permissions.ts";

const roleHelp = `one of ${roles.join(", ")}`;

export function registerAuthCommands(program: Command): void {
  const tokens = program.command("tokens").description("API tokens for the CLI's --server mode, scripts and integrations");
  tokens
    .command("create <name>")
    .description("Create an API token: it is printed once and never again")
    .requiredOption("--role <role>", roleHelp)
    .option("--expires-in <duration>", "e.g. 30d, 12h, 90m (at most 730d), or never (default: 90d)")
    .action(async (name: string, o, cmd: Command) =>
      run(
        cmd,
        (api) =>
          api.call<{ token: string; tokenInfo: TokenView }>("POST", "/auth/tokens", {
            body: { name, role: o.role, expiresIn: o.expiresIn },
          }),
        {
          human: (r) =>
            `Created the API token ${r.tokenInfo.name} (${r.tokenInfo.id}, role ${r.tokenInfo.role}, ${
              r.tokenInfo.expiresAt ? `expires ${r.tokenInfo.expiresAt}` : "never expires"
            }).\nIt is shown this once; keep it secret:\n\n  ${r.token}\n\nUse it with --token or CALLPLANE_TOKEN, or as "Authorization: Bearer <token>".`,
        },
      ),
    );
  tokens
    .command("list")
    .description("List API tokens (never their secrets)")
    .action(async (_o, cmd: Command) =>
      run(cmd, (api) => api.call<TokenView[]>("GET", "/auth/tokens"), {
        human: (list) =>
          table(
            list.map((t) => ({
              ...t,
              state: t.revokedAt ? "revoked" : t.expiresAt && t.expiresAt < new Date().toISOString() ? "expired" : "active",
            })),
            [
              ["id", "Id"],
              ["name", "Name"],
              ["role", "Role"],
              ["state", "State"],
              ["expiresAt", "Expires"],
              ["lastUsedAt", "Last used"],
              ["createdBy", "Created by"],
            ],
          ),
      }),
    );
  tokens
    .command("revoke <id>")
    .description("Revoke an API token: it stops working at once")
    .action(async (id: string, _o, cmd: Command) =>
      run(cmd, (api) => api.call<TokenView>("DELETE", `/auth/tokens/${encodeURIComponent(id)}`), {
        human: (t) => `Revoked the API token ${t.name} (${t.id}).`,
      }),
    );

  const accounts = program.command("accounts").description("Accounts that sign in to the web admin center");
  accounts
    .command("create <name>")
    .description("Create an account with a one-time password (printed once, changed at the first sign-in)")
    .requiredOption("--role <role>", roleHelp)
    .action(async (name: string, o, cmd: Command) =>
      run(
        cmd,
        (api) =>
          api.call<{ account: AccountView; oneTimePassword: string | null }>("POST", "/auth/accounts", { body: { name, role: o.role } }),
        {
          human: (r) =>
            `Created the account ${r.account.name} (role ${r.account.role}).\nOne-time password, shown this once: ${r.oneTimePassword ?? "-"}\nIt must be changed at the first sign-in, and stops working at ${r.account.passwordExpiresAt ?? "-"}.`,
        },
      ),
    );
  accounts
    .command("list")
    .description("List accounts")
    .action(async (_o, cmd: Command) =>
      run(cmd, (api) => api.call<AccountView[]>("GET", "/auth/accounts"), {
        human: (list) =>
          table(
            list.map((a) => ({
              ...a,
              state: [
                a.disabled ? "disabled" : a.mustChangePassword ? "must change password" : "active",
                ...(a.signInBlockedUntil ? [`sign-in slowed down until ${a.signInBlockedUntil}`] : []),
              ].join("; "),
            })),
            [
              ["name", "Name"],
              ["role", "Role"],
              ["state", "State"],
              ["createdBy", "Created by"],
              ["createdAt", "Created"],
            ],
          ),
      }),
    );
  accounts
    .command("set-role <name> <role>")
    .description(`Change an account's role (${roleHelp})`)
    .action(async (name: string, role: string, _o, cmd: Command) =>
      run(cmd, (api) => api.call<AccountView>("PATCH", `/auth/accounts/${encodeURIComponent(name)}`, { body: { role } }), {
        human: (a) => `The account ${a.name} now has the role ${a.role}.`,
      }),
    );
  accounts
    .command("disable <name>")
    .description("Disable an account: it cannot sign in, its sessions end and the API tokens it made stop working")
    .option("--enable", "enable it again instead")
    .action(async (name: string, o, cmd: Command) =>
      run(
        cmd,
        (api) => api.call<AccountView>("PATCH", `/auth/accounts/${encodeURIComponent(name)}`, { body: { disabled: o.enable !== true } }),
        { human: (a) => `The account ${a.name} is ${a.disabled ? "disabled" : "enabled"}.` },
      ),
    );
  accounts
    .command("reset-password <name>")
    .description("Give an account a new one-time password (printed once) and end its sessions")
    .action(async (name: string, _o, cmd: Command) =>
      run(
        cmd,
        (api) =>
          api.call<{ account: AccountView; oneTimePassword: string }>("POST", `/auth/accounts/${encodeURIComponent(name)}/reset-password`),
        {
          human: (r) =>
            `The password of ${r.account.name} was reset.\nOne-time password, shown this once: ${r.oneTimePassword}\nIt must be changed at the next sign-in, and stops working at ${r.account.passwordExpiresAt ?? "-"}.`,
        },
      ),
    );
  accounts
    .command("unlock <name>")
    .description("Clear the sign-in slow-down of an account (after repeated wrong passwords) from every address")
    .action(async (name: string, _o, cmd: Command) =>
      run(
        cmd,
        (api) => api.call<{ account: AccountView; addresses: number }>("POST", `/auth/accounts/${encodeURIComponent(name)}/unlock`),
        {
          human: (r) =>
            r.addresses === 0
              ? `Sign-in to ${r.account.name} was not slowed down from any address.`
              : `Sign-in to ${r.account.name} is no longer slowed down (cleared for ${r.addresses} address${r.addresses === 1 ? "" : "es"}).`,
        },
      ),
    );
  accounts
    .command("roles")
    .description("The roles and what each may do")
    .action(async (_o, cmd: Command) =>
      run(cmd, (api) => api.call<{ role: string; description: string }[]>("GET", "/auth/roles"), {
        human: (list) =>
          table(list, [
            ["role", "Role"],
            ["description", "May"],
          ]),
      }),
    );
  program
    .command("password")
    .description(
      "Change the signed-in account's password (with --server and --username): current from CALLPLANE_PASSWORD, new from CALLPLANE_NEW_PASSWORD, or asked",
    )
    .action(async (_o, cmd: Command) =>
      run(
        cmd,
        async (api) => {
          const currentPassword = process.env.CALLPLANE_PASSWORD ?? (await askPassword("Current password: "));
          let newPassword = process.env.CALLPLANE_NEW_PASSWORD;
          if (newPassword === undefined) {
            newPassword = await askPassword("New password (at least 12 characters): ");
            if ((await askPassword("The new password again: ")) !== newPassword) {
              throw new ApiError(400, "invalid_input", "The two new passwords differ: nothing was changed.");
            }
          }
          await api.call<null>("POST", "/auth/password", { body: { currentPassword, newPassword } });
          return { changed: true };
        },
        { human: () => "The password is changed; other sessions of the account have ended." },
      ),
    );
  program
    .command("whoami")
    .description("Who the CLI acts as, with the role and permissions")
    .action(async (_o, cmd: Command) =>
      run(cmd, async (api) => (await api.call<{ principal: PrincipalView }>("GET", "/auth/session")).principal, {
        human: (p) => kv({ Kind: p.kind, Name: p.name, Role: p.role, Permissions: p.permissions }),
      }),
    );
}
