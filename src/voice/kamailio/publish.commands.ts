import { readFileSync, writeFileSync } from "node:fs";
import type { Command } from "commander";
import { parse } from "csv-parse/sync";
import { int, kv, run, table } from "../../cli/cli.ts";
import { AppError } from "../../core/errors.ts";
import { initDataDir } from "./dbtext.ts";
import type { PublishPlan, PublishResult, PublishStatus, SipProxy } from "./publish.service.ts";

type Row = Record<string, unknown>;

const changesText = (r: PublishResult) =>
  `dial plan rows +${r.changes.dialplanRows.added} −${r.changes.dialplanRows.removed}; routing keys +${r.changes.routingKeys.added} −${r.changes.routingKeys.removed} ~${r.changes.routingKeys.changed}; callers +${r.changes.callers.added} −${r.changes.callers.removed} ~${r.changes.callers.changed}`;

function publishText(r: PublishResult): string {
  return [
    `Published generation ${r.generation}${r.rollbackOf ? ` (the tables of generation ${r.rollbackOf})` : ""}.`,
    kv({
      Users: r.counts.users,
      Callers: r.counts.callers,
      "Dial plans (rules)": `${r.counts.dialPlans} (${r.counts.rules})`,
      "PSTN usages": r.counts.pstnUsages,
      Routes: r.counts.routes,
      Gateways: r.counts.gateways,
      Policies: r.counts.policies,
      Changes: changesText(r),
    }),
    table(
      r.proxies.map((p) => ({ ...p, state: p.ok ? "switched" : `kept ${p.generation ?? "nothing"}: ${p.error}` })) as unknown as Row[],
      [
        ["name", "Proxy"],
        ["rpcAddress", "RPC"],
        ["state", "Result"],
      ],
    ),
    ...(r.warning ? [`warning: ${r.warning}`] : []),
  ].join("\n");
}

function statusText(s: PublishStatus): string {
  const head =
    s.generation === null
      ? "Nothing has been published yet: `callplane voice publish`."
      : `Generation ${s.generation}${s.rollbackOf ? ` (a rollback to ${s.rollbackOf})` : ""}, published ${s.publishedAt} by ${s.publishedBy}.`;
  const changes = s.compileError
    ? `The configuration cannot be published as it is: ${s.compileError}`
    : s.unpublishedChanges
      ? "The configuration has changed since: `callplane voice publish` publishes it."
      : "The configuration is the one published.";
  const proxies = s.proxies.length
    ? table(
        s.proxies.map((p) => ({
          ...p,
          state: !p.reachable ? `unreachable: ${p.drift[0] ?? ""}` : p.matches ? "in step" : `drift: ${p.drift.join("; ")}`,
        })) as unknown as Row[],
        [
          ["name", "Proxy"],
          ["rpcAddress", "RPC"],
          ["generation", "Runs"],
          ["slot", "Slot"],
          ["publishedAt", "Published"],
          ["state", "State"],
        ],
      )
    : "No SIP proxy: add one with `callplane voice proxies add`.";
  return [head, changes, proxies].join("\n");
}

/** Dialled numbers from a CSV (a number column, optionally a user column) or one per line. */
function readNumbers(file: string): { dialled: string; user?: string }[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new AppError("invalid_input", `Cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}.`);
  }
  if (text.length > 2_000_000) throw new AppError("invalid_input", `${file} is over 2 MB: give a sample of at most 10,000 numbers.`);
  const records = parse(text.replace(/^\uFEFF/, ""), { relax_column_count: true, skip_empty_lines: true, trim: true }) as string[][];
  const head = (records[0] ?? []).map((h) => h.toLowerCase().replace(/[^a-z]/g, ""));
  const numberCol = head.findIndex((h) =>
    ["number", "dialled", "dialed", "dialednumber", "diallednumber", "callee", "to", "destination"].includes(h),
  );
  const userCol = head.findIndex((h) => ["user", "upn", "userprincipalname", "caller", "from"].includes(h));
  const rows = numberCol >= 0 ? records.slice(1) : records;
  return rows.map((r) => {
    const dialled = (r[numberCol >= 0 ? numberCol : 0] ?? "").replace(/[\s().-]/g, "");
    const user = userCol >= 0 ? r[userCol]?.trim() : undefined;
    return user ? { dialled, user } : { dialled };
  });
}

function planText(p: PublishPlan): string {
  const kinds: [keyof PublishPlan["changed"], string][] = [
    ["unroutable", "become unroutable"],
    ["routable", "become routable"],
    ["route", "change route"],
    ["gateways", "change gateways"],
    ["number", "change normalized number"],
  ];
  const outcome = (c: PublishPlan["examples"]["route"][number]["before"]) =>
    c.route ? `${c.number} by ${c.route} → ${c.gateways.join("/") || "no enabled gateway"}` : `${c.number || "-"}: ${c.reason}`;
  const lines = [
    `Compared with ${p.liveGeneration === null ? "nothing published yet" : `generation ${p.liveGeneration}`}: ${p.callers.toLocaleString("en-US")} callers × their destinations = ${p.destinations.toLocaleString("en-US")} calls (${p.resolutions.toLocaleString("en-US")} resolutions in ${p.ms} ms).`,
    `${p.unchanged.toLocaleString("en-US")} calls route as they do now.`,
  ];
  for (const [k, label] of kinds) {
    if (p.changed[k] === 0) continue;
    lines.push(`${p.changed[k].toLocaleString("en-US")} calls ${label}, e.g.:`);
    for (const e of p.examples[k])
      lines.push(`  ${e.user} dialling ${e.dialled} (${e.destination}): ${outcome(e.before)}  ⇒  ${outcome(e.after)}`);
  }
  if (p.refusals.length)
    lines.push(`The publish would be refused: ${p.refusals.map((r) => `${r.kind} "${r.name}": ${r.reason}`).join(" ")}`);
  return lines.join("\n");
}

/** `voice publish`, `voice proxies …` and `kamailio config`. */
export function registerPublishCommands(program: Command, voice: Command): void {
  voice
    .command("publish")
    .description("Publish the voice routing to the SIP proxies (Kamailio) as a new generation; --status shows what they run")
    .option("--status", "which generation each proxy runs, read back from it, and whether the configuration has changed since")
    .option("--rollback <n>", "publish generation N's tables again, as a new generation", int)
    .option("--plan", "publish nothing: show how calls would change (every caller × likely destinations, and --numbers)")
    .option(
      "--numbers <file>",
      "with --plan: a CSV of dialled numbers (a Number/Dialled column, optionally a User column), or one per line",
    )
    .action(async (o: { status?: boolean; rollback?: number; plan?: boolean; numbers?: string }, cmd: Command) => {
      if (o.status) return run(cmd, (api) => api.call<PublishStatus>("GET", "/voice/publish/status"), { human: statusText });
      if (o.plan)
        return run(
          cmd,
          async (api) =>
            api.call<PublishPlan>("POST", "/voice/publish/plan", { body: { numbers: o.numbers ? readNumbers(o.numbers) : undefined } }),
          { human: planText },
        );
      return run(cmd, (api) => api.call<PublishResult>("POST", "/voice/publish", { body: { rollback: o.rollback } }), {
        human: publishText,
        exitCode: (r) => (r.proxies.some((p) => !p.ok) ? 1 : 0),
      });
    });

  const proxies = voice.command("proxies").description("The SIP proxies (Kamailio) voice routing is published to");
  proxies.command("list").action(async (_o, cmd: Command) =>
    run(cmd, (api) => api.call<SipProxy[]>("GET", "/voice/proxies"), {
      human: (p) =>
        table(p as unknown as Row[], [
          ["name", "Name"],
          ["rpcAddress", "RPC"],
          ["dataDir", "Data folder"],
          ["generation", "Generation"],
          ["publishedAt", "Published"],
          ["lastError", "Last error"],
        ]),
    }),
  );
  proxies
    .command("add")
    .argument("<name>")
    .requiredOption("--rpc <host:port>", "where Kamailio answers JSON-RPC over HTTP, e.g. 127.0.0.1:5080")
    .requiredOption("--data-dir <dir>", "the folder of tables it reads (the --data-dir given to `callplane kamailio config`)")
    .action(async (name: string, o: { rpc: string; dataDir: string }, cmd: Command) =>
      run(cmd, (api) => api.call<SipProxy>("POST", "/voice/proxies", { body: { name, rpcAddress: o.rpc, dataDir: o.dataDir } }), {
        human: (p) =>
          `Added SIP proxy ${p.name} (${p.rpcAddress}, tables in ${p.dataDir}). Publish to it with \`callplane voice publish\`.`,
      }),
    );
  proxies
    .command("remove")
    .argument("<name>")
    .action(async (name: string, _o, cmd: Command) =>
      run(cmd, (api) => api.call<SipProxy>("DELETE", `/voice/proxies/${encodeURIComponent(name)}`), {
        human: (p) => `Removed SIP proxy ${p.name}: it keeps routing on generation ${p.generation ?? "none"} until it is stopped.`,
      }),
    );

  program
    .command("kamailio")
    .description("The Kamailio SIP proxy Callplane publishes to")
    .command("config")
    .description("Print a complete, commented kamailio.cfg that routes calls from what `voice publish` writes")
    .option("--sip <host:port>", "where it listens for SIP (UDP)", "127.0.0.1:5060")
    .option("--rpc <host:port>", "where it answers JSON-RPC over HTTP", "127.0.0.1:5080")
    .option("--data-dir <dir>", "the folder of tables Callplane writes and it reads", "/var/lib/callplane/kamailio")
    .option("--run-dir <dir>", "its run folder", "/run/kamailio")
    .option("--out <file>", "write the file here instead of printing it")
    .action(async (o: { sip: string; rpc: string; dataDir: string; runDir: string; out?: string }, cmd: Command) =>
      run(
        cmd,
        async (api) => {
          const r = await api.call<{ config: string; command: string[] }>("GET", "/kamailio/config", {
            query: { sip: o.sip, rpc: o.rpc, dataDir: o.dataDir, runDir: o.runDir },
          });
          if (o.out) {
            writeFileSync(o.out, r.config, { mode: 0o644 });
            // Kamailio loads its tables at start: empty ones (calls get 503 until the first publish) let it start now.
            initDataDir(o.dataDir);
          }
          return r;
        },
        {
          human: (r) =>
            o.out
              ? [
                  `Wrote ${o.out}, and the tables Kamailio reads in ${o.dataDir} (empty until the first publish). Start Kamailio with:`,
                  `  ${r.command.join(" ").replace(/-f \S+/, `-f ${o.out}`)}`,
                  `then publish to it: callplane voice proxies add NAME --rpc ${o.rpc} --data-dir ${o.dataDir} && callplane voice publish`,
                ].join("\n")
              : r.config,
          data: () => !o.out,
        },
      ),
    );
}
