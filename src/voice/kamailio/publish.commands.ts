import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import { int, kv, run, table } from "../../cli/cli.ts";
import { initDataDir } from "./dbtext.ts";
import type { PublishResult, PublishStatus, SipProxy } from "./publish.service.ts";

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

/** `voice publish`, `voice proxies …` and `kamailio config`. */
export function registerPublishCommands(program: Command, voice: Command): void {
  voice
    .command("publish")
    .description("Publish the voice routing to the SIP proxies (Kamailio) as a new generation; --status shows what they run")
    .option("--status", "which generation each proxy runs, read back from it, and whether the configuration has changed since")
    .option("--rollback <n>", "publish generation N's tables again, as a new generation", int)
    .action(async (o: { status?: boolean; rollback?: number }, cmd: Command) => {
      if (o.status) return run(cmd, (api) => api.call<PublishStatus>("GET", "/voice/publish/status"), { human: statusText });
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
