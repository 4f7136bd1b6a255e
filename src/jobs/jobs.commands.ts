import { writeFile } from "node:fs/promises";
import cliProgress from "cli-progress";
import type { Command } from "commander";
import { type GlobalOptions, interruptions, kv, run, table } from "../cli/cli.ts";
import type { ApiClient } from "../cli/client.ts";
import type { BulkReport, JobResult, JobView } from "./jobs.service.ts";

/**
 * Follows a job until it ends, with a progress bar on stderr when it is a terminal, and otherwise (a log,
 * a script, a CI runner) one plain line on stderr each time its count of processed users moves on.
 */
export async function followJob(api: ApiClient, jobId: string, g: GlobalOptions, label: string): Promise<JobView> {
  const bar =
    process.stderr.isTTY && !g.json
      ? new cliProgress.SingleBar(
          {
            format: `${label} [{bar}] {percentage}% | {value}/{total} users | {eta_formatted} left`,
            hideCursor: true,
            clearOnComplete: false,
          },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
  let job = await api.call<JobView>("GET", `/jobs/${jobId}`);
  bar?.start(Math.max(job.total, 1), job.processed);
  let said = -1;
  const say = () => {
    if (bar || job.processed === said) return;
    said = job.processed;
    process.stderr.write(`${label}: ${job.processed}/${job.total} users\n`);
  };
  say();
  // Ctrl-C (or SIGTERM), also one that came before following began: a remote job goes on in the server, so
  // stop following at once; a job run in this process finishes its batch first, unless a second signal insists.
  try {
    while (job.status === "running" || job.status === "pending") {
      const signals = interruptions();
      if (signals > 0 && (api.mode === "remote" || signals > 1 || !api.runsJob(jobId))) {
        // The job goes on where it runs: answer with where it stands, without reading every result first.
        detached.add(jobId);
        process.stderr.write(`Stopped following job ${jobId}: it goes on. Follow it with \`callplane jobs show ${jobId}\`.\n`);
        break;
      }
      await new Promise((r) => setTimeout(r, job.total > 5000 ? 250 : 50));
      job = await api.call<JobView>("GET", `/jobs/${jobId}`);
      bar?.update(job.processed);
      say();
      // A local job that was interrupted stops as pending with its error set.
      if (job.status === "pending" && job.error) break;
    }
  } finally {
    bar?.stop();
  }
  return job;
}

/** Jobs this command stopped following (Ctrl-C) while they go on elsewhere. */
const detached = new Set<string>();

/** Every result of a job, a page at a time (by the last seq seen): never cut short. */
async function allResults(api: ApiClient, jobId: string, opts: { failed?: boolean } = {}): Promise<JobResult[]> {
  const results: JobResult[] = [];
  const limit = 50000;
  for (let afterSeq = 0; ; ) {
    const page = await api.call<JobResult[]>("GET", `/jobs/${encodeURIComponent(jobId)}/results`, {
      query: { limit, afterSeq, failed: opts.failed ? true : undefined },
    });
    results.push(...page);
    if (page.length < limit) return results;
    afterSeq = page[page.length - 1]?.seq ?? afterSeq;
  }
}

/** The `{job, dryRun, summary, results}` answer of a bulk command; a job left to go on elsewhere has no results yet. */
export async function jobReport(api: ApiClient, job: JobView): Promise<BulkReport> {
  if (detached.has(job.id)) return { job, dryRun: job.dryRun, summary: job.summary, results: [] };
  const results = (await allResults(api, job.id)).map((r) => ({
    identity: r.identity,
    outcome: r.outcome,
    message: r.message,
    ...(r.notice ? { notice: r.notice } : {}),
  }));
  return { job, dryRun: job.dryRun, summary: job.summary, results };
}

/** Human output of a bulk report: each user's line, then the summary. */
export function formatReport(r: BulkReport, opts: { maxLines?: number } = {}): string {
  const max = opts.maxLines ?? 200;
  const mark: Record<string, string> = {
    changed: "changed",
    restored: "restored",
    "already-microsoft": "warning",
    duplicate: "skipped",
    "already-restored": "skipped",
  };
  const lines = r.results
    .slice(0, max)
    .map((x) => `${(mark[x.outcome] ?? "error").padEnd(8)} ${x.message}${x.notice ? `\n         notice: ${x.notice}` : ""}`);
  if (r.results.length > max)
    lines.push(`… and ${r.results.length - max} more: see \`callplane jobs results ${r.job.id}\` or export them with --csv.`);
  const s = r.summary;
  const pending = r.job.total - r.job.processed;
  const tail = [
    "",
    `${r.dryRun ? "Dry run (nothing was changed): " : ""}${s.changed} ${r.dryRun ? "would change" : "changed"}, ${s.unchanged} unchanged, ${s.failed} failed.`,
    `Job ${r.job.id}${pending > 0 ? ` stopped with ${pending} users left: run the same command again (or \`callplane jobs resume ${r.job.id}\`) to finish.` : "."}`,
  ];
  if (r.job.error && pending > 0) tail.push(r.job.error);
  if (r.job.notices > 0) {
    tail.push(
      `${r.job.notices} changed user${r.job.notices === 1 ? "" : "s"} must be told something that failed after the change (see the notice column of \`callplane jobs results ${r.job.id} --csv\`).`,
    );
  }
  return [...lines, ...tail].join("\n");
}

export function bulkExitCode(r: BulkReport): number {
  return r.summary.failed > 0 || r.job.processed < r.job.total ? 1 : 0;
}

export function registerJobCommands(program: Command): void {
  const jobs = program.command("jobs").description("Bulk jobs: progress, results, export and resume");
  jobs
    .command("list")
    .description("List recent jobs")
    .option("--kind <kind>")
    .action(async (o, cmd: Command) =>
      run(cmd, (api) => api.call<JobView[]>("GET", "/jobs", { query: { kind: o.kind } }), {
        human: (list) =>
          table(
            list.map((j) => ({
              ...j,
              progress: `${j.processed}/${j.total}`,
              result: `${j.summary.changed} changed, ${j.summary.unchanged} unchanged, ${j.summary.failed} failed`,
            })),
            [
              ["id", "Id"],
              ["kind", "Kind"],
              ["status", "Status"],
              ["dryRun", "Dry run"],
              ["progress", "Progress"],
              ["result", "Result"],
              ["createdAt", "Created"],
            ],
          ),
      }),
    );
  jobs
    .command("show <id>")
    .description("Show a job and its progress")
    .action(async (id: string, _o, cmd: Command) =>
      run(cmd, (api) => api.call<JobView>("GET", `/jobs/${encodeURIComponent(id)}`), {
        human: (j) =>
          kv({
            Id: j.id,
            Kind: j.kind,
            Status: j.status,
            "Dry run": j.dryRun,
            Progress: `${j.processed}/${j.total}`,
            Changed: j.summary.changed,
            Unchanged: j.summary.unchanged,
            Failed: j.summary.failed,
            Actor: j.actor,
            Created: j.createdAt,
            Finished: j.finishedAt,
            Error: j.error,
          }),
      }),
    );
  jobs
    .command("results <id>")
    .description("A job's per-user results; --csv exports them with an error column")
    .option("--csv", "print (or write with --output) CSV")
    .option("--output <file>", "write to this file instead of standard output")
    .option("--failed", "only users that failed")
    .action(async (id: string, o, cmd: Command) =>
      run(
        cmd,
        async (api): Promise<{ text: string; results?: undefined } | { text?: undefined; results: JobResult[] }> => {
          if (o.csv) {
            const res = await api.raw("GET", `/jobs/${encodeURIComponent(id)}/results.csv`);
            if (res.status >= 400) await api.call("GET", `/jobs/${encodeURIComponent(id)}`);
            if (o.output) {
              await writeFile(o.output, res.text);
              return { text: `Wrote ${res.text.split("\r\n").length - 2} results to ${o.output}.` };
            }
            return { text: res.text };
          }
          return { results: await allResults(api, id, { failed: o.failed === true }) };
        },
        {
          human: (r) =>
            r.text !== undefined
              ? r.text
              : table(r.results as unknown as Record<string, unknown>[], [
                  ["seq", "#"],
                  ["identity", "Identity"],
                  ["outcome", "Outcome"],
                  ["message", "Message"],
                  ["notice", "Notice"],
                ]),
          json: (r) => (r.text !== undefined ? { text: r.text } : r.results),
          data: () => o.csv === true && o.output === undefined,
        },
      ),
    );
  jobs
    .command("resume <id>")
    .description("Finish a job that was interrupted or failed part way")
    .action(async (id: string, _o, cmd: Command) =>
      run(
        cmd,
        async (api, g) => {
          await api.call<JobView>("POST", `/jobs/${encodeURIComponent(id)}/resume`, { body: {} });
          return jobReport(api, await followJob(api, id, g, "Resuming"));
        },
        { human: (r) => formatReport(r), exitCode: bulkExitCode, json: (r) => ({ ...r, job: r.job.id }) },
      ),
    );
}
