import type { Command } from "commander";
import { int, list, run, table } from "../cli/cli.ts";
import type { LicenceChange, Sku } from "./licensing.service.ts";

const skuColumns: [string, string][] = [
  ["skuPartNumber", "SKU"],
  ["name", "Name"],
  ["seats", "Seats"],
  ["consumed", "Used"],
  ["available", "Free"],
  ["servicePlans", "Service plans"],
];

function change(c: LicenceChange, verb: string): string {
  const head = c.changed
    ? `${verb} for ${c.user.userPrincipalName}.`
    : `Nothing to do: ${c.user.userPrincipalName} already ${verb === "Assigned" ? "has" : "lacks"} it.`;
  return [head, `Licences: ${c.user.licences.join(", ") || "none"}`, c.conferencing, c.warning ? `warning: ${c.warning}` : null]
    .filter(Boolean)
    .join("\n");
}

export function registerLicensingCommands(program: Command): void {
  const licences = program.command("licences").alias("licenses").description("Licences (SKUs), seats and assignments");
  licences
    .command("list")
    .description("List the tenant's licences with seats used and free")
    .action(async (_o, cmd: Command) =>
      run(cmd, (api) => api.call<Sku[]>("GET", "/licences"), {
        human: (s) => table(s as unknown as Record<string, unknown>[], skuColumns),
      }),
    );
  licences
    .command("add")
    .description("Add a licence the tenant has bought (e.g. MCOMEETADV for Audio Conferencing, MCOEV for Phone System)")
    .requiredOption("--sku <part>", "SKU part number")
    .requiredOption("--seats <n>", "seats bought", int)
    .option("--name <name>")
    .option("--service-plans <plans>", "comma-separated service plans (default: known for the SKU)", list)
    .action(async (o, cmd: Command) =>
      run(
        cmd,
        (api) =>
          api.call<Sku>("POST", "/licences", {
            body: { skuPartNumber: o.sku, seats: o.seats, name: o.name, servicePlans: o.servicePlans },
          }),
        {
          human: (s) => `Added ${s.skuPartNumber} (${s.name}) with ${s.seats} seats.`,
        },
      ),
    );
  licences
    .command("set-seats <sku>")
    .description("Change a licence's seat count")
    .requiredOption("--seats <n>", "seats", int)
    .action(async (sku: string, o, cmd: Command) =>
      run(cmd, (api) => api.call<Sku>("PATCH", `/licences/${encodeURIComponent(sku)}`, { body: { seats: o.seats } }), {
        human: (s) => `${s.skuPartNumber} has ${s.seats} seats, ${s.available} free.`,
      }),
    );
  licences
    .command("remove <sku>")
    .description("Remove a licence the tenant no longer has (refused while any user holds a seat)")
    .action(async (sku: string, _o, cmd: Command) =>
      run(cmd, (api) => api.call<Sku>("DELETE", `/licences/${encodeURIComponent(sku)}`), {
        human: (s) => `Removed the licence ${s.skuPartNumber} (${s.seats} seats).`,
      }),
    );
  licences
    .command("assign <identity>")
    .description("Assign a licence to a user (needs a usage location and a free seat)")
    .requiredOption("--sku <part>", "SKU part number, e.g. MCOMEETADV")
    .action(async (identity: string, o, cmd: Command) =>
      run(cmd, (api) => api.call<LicenceChange>("POST", `/users/${encodeURIComponent(identity)}/licences`, { body: { sku: o.sku } }), {
        human: (c) => change(c, "Assigned"),
      }),
    );
  licences
    .command("unassign <identity>")
    .description("Remove a licence from a user")
    .requiredOption("--sku <part>", "SKU part number")
    .action(async (identity: string, o, cmd: Command) =>
      run(cmd, (api) => api.call<LicenceChange>("DELETE", `/users/${encodeURIComponent(identity)}/licences/${encodeURIComponent(o.sku)}`), {
        human: (c) => change(c, "Removed"),
      }),
    );
}
