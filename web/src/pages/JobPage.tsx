// One bulk job: live progress while it runs, per-user results, the results as CSV, resume and
// restore (undo).
import { useEffect, useState } from "react";
import { apiGet, apiSend, apiUrl, useSession } from "../api.ts";
import { ResultsTable } from "../BulkMove.tsx";
import { Link, navigate } from "../router.tsx";
import type { Job, JobResult } from "../types.ts";
import { Empty, ErrorBox, fmt, Loading, PageHeader, useAsync, when } from "../ui.tsx";
import { JobStatus, jobKindLabel } from "./JobsPage.tsx";

const RESULTS_PAGE = 100;

export default function JobPage({ id }: { id: string }) {
  const session = useSession();
  const [tick, setTick] = useState(0);
  const job = useAsync(() => apiGet<Job>(`/jobs/${id}`), `${id}:${tick}`);
  const running = job.data ? job.data.status === "pending" || job.data.status === "running" : true;

  // Live progress: ask again every half second while the job runs.
  useEffect(() => {
    if (!running || job.loading) return;
    const t = setTimeout(() => setTick((n) => n + 1), 500);
    return () => clearTimeout(t);
  }, [running, job.loading]);

  const [failedOnly, setFailedOnly] = useState(false);
  const [offset, setOffset] = useState(0);
  const processed = job.data?.processed ?? 0;
  const results = useAsync(
    () => apiGet<JobResult[]>(`/jobs/${id}/results`, { failed: failedOnly ? "true" : undefined, offset, limit: RESULTS_PAGE }),
    `${id}:${failedOnly}:${offset}:${running ? processed : "done"}`,
  );
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const act = async (fn: () => Promise<{ id: string } | { job: { id: string } }>) => {
    setBusy(true);
    setError(null);
    try {
      const r = await fn();
      navigate(`/jobs/${"job" in r ? r.job.id : r.id}`);
      setTick((n) => n + 1);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const j = job.data;
  const pct = j && j.total > 0 ? Math.round((j.processed / j.total) * 100) : 0;

  return (
    <div className="page">
      <p>
        <Link to="/jobs">← Bulk jobs</Link>
      </p>
      <PageHeader title={j ? `${jobKindLabel[j.kind] ?? j.kind}${j.dryRun ? " (dry run)" : ""}` : "Bulk job"}>
        {j && (
          <a className="btn" href={apiUrl(`/jobs/${id}/results.csv`)} download={`job-${id}.csv`}>
            Download results (CSV)
          </a>
        )}
        {j && j.kind === "move-to-microsoft" && !j.dryRun && j.status === "completed" && session.can("conferencing.bulk") && (
          <button
            type="button"
            className="btn btn-danger"
            disabled={busy}
            onClick={() => void act(() => apiSend<{ job: Job }>("POST", "/conferencing/restore-job", { job: id }))}
          >
            Restore (undo this job)
          </button>
        )}
        {j && (j.status === "failed" || (j.status === "pending" && j.processed < j.total)) && session.can("jobs.resume") && (
          <button
            type="button"
            className="btn"
            disabled={busy}
            onClick={() => void act(() => apiSend<Job>("POST", `/jobs/${id}/resume`, {}))}
          >
            Resume
          </button>
        )}
      </PageHeader>
      <ErrorBox error={job.error && !j ? job.error : error} retry={job.error && !j ? job.reload : undefined} />
      {!j && job.loading && <Loading>Loading the job…</Loading>}
      {j && (
        <section className="card" aria-labelledby="progress-h">
          <h2 id="progress-h">
            Progress <JobStatus job={j} />
          </h2>
          <progress max={Math.max(j.total, 1)} value={j.processed} aria-label="Users processed">
            {pct}%
          </progress>
          <p role="status" aria-live="polite" data-testid="job-progress">
            {fmt.format(j.processed)} of {fmt.format(j.total)} users processed ({pct}%) — changed {fmt.format(j.summary.changed)}, unchanged{" "}
            {fmt.format(j.summary.unchanged)}, failed {fmt.format(j.summary.failed)}.
          </p>
          {j.error && <p className="error">{j.error}</p>}
          {j.notices > 0 && (
            <p className="notice" role="alert">
              {fmt.format(j.notices)} changed user{j.notices === 1 ? "" : "s"} must be told something that failed after the change (such as
              an email that could not be written): see each one's notice below or in the CSV.
            </p>
          )}
          <dl className="props">
            <dt>Started by</dt>
            <dd>{j.actor}</dd>
            <dt>Created</dt>
            <dd>{when(j.createdAt)}</dd>
            <dt>Finished</dt>
            <dd>{when(j.finishedAt)}</dd>
          </dl>
        </section>
      )}
      {j && (
        <section aria-labelledby="results-h">
          <h2 id="results-h">Results</h2>
          <div className="toolbar">
            <label className="check">
              <input
                type="checkbox"
                checked={failedOnly}
                onChange={(e) => {
                  setFailedOnly(e.target.checked);
                  setOffset(0);
                }}
              />{" "}
              Only failures
            </label>
          </div>
          <ErrorBox error={results.error} retry={results.reload} />
          {results.loading && !results.data && <Loading />}
          {results.data?.length === 0 && <Empty>{failedOnly ? "No failures." : running ? "No results yet." : "No results."}</Empty>}
          {results.data && results.data.length > 0 && (
            <ResultsTable
              results={results.data}
              caption={`Users ${fmt.format(offset + 1)}–${fmt.format(offset + results.data.length)}${failedOnly ? " (failures only)" : ""}`}
            />
          )}
          <nav className="pager" aria-label="Result pages">
            <button type="button" className="btn" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - RESULTS_PAGE))}>
              Previous
            </button>
            <button
              type="button"
              className="btn"
              disabled={(results.data?.length ?? 0) < RESULTS_PAGE}
              onClick={() => setOffset(offset + RESULTS_PAGE)}
            >
              Next
            </button>
          </nav>
        </section>
      )}
    </div>
  );
}
