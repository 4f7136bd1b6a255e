import type { Command } from "commander";
import { int, kv, run, table } from "../cli/cli.ts";
import type { DemoSummary } from "../demo/demo.service.ts";
import type { Tenant } from "./tenant.service.ts";

export function registerTenantCommands(program: Command): void {
  const tenants = program.command("tenants").description("Tenants (organisations)");
  tenants
    .command("list")
    .description("List tenants")
    .action(async (_o, cmd: Command) =>
      run(cmd, (api) => api.call<Tenant[]>("GET", "/tenants"), {
        human: (t) =>
          table(t as unknown as Record<string, unknown>[], [
            ["name", "Name"],
            ["domain", "Domain"],
            ["id", "Id"],
          ]),
      }),
    );
  tenants
    .command("create")
    .description("Create a tenant with the default providers and conferencing settings")
    .requiredOption("--name <name>")
    .requiredOption("--domain <domain>")
    .action(async (o, cmd: Command) =>
      run(cmd, (api) => api.call<Tenant>("POST", "/tenants", { body: { name: o.name, domain: o.domain } }), {
        human: (t) => `Created tenant ${t.name} (${t.domain}).`,
      }),
    );
  program
    .command("demo")
    .description("Build a realistic, deterministic demo tenant")
    .requiredOption("--users <n>", "how many users", int)
    .option("--seed <seed>", "same seed, same tenant", "1")
    .option("--name <name>", "tenant name", "Contoso")
    .option("--domain <domain>", "tenant domain (default: from the name)")
    .action(async (o, cmd: Command) =>
      run(
        cmd,
        (api) => api.call<DemoSummary>("POST", "/demo", { body: { users: o.users, seed: o.seed, name: o.name, domain: o.domain } }),
        {
          human: (d) =>
            `Built the demo tenant ${d.tenant.name} (${d.tenant.domain}).\n${kv({
              Users: d.users,
              "Licensed for Audio Conferencing": d.licensedForAudioConferencing,
              Bridge: `${d.bridge} (${d.serviceNumbers} service numbers)`,
              ...Object.fromEntries(Object.entries(d.byProvider).map(([k, v]) => [`Provider ${k}`, v])),
            })}`,
        },
      ),
    );
}
