// Bulk jobs: start a move to Microsoft from a pasted list, an uploaded CSV or a provider (a dry-run
// preview first), and the jobs so far.
import { useEffect, useMemo, useState } from "react";
import { apiGet, useSession } from "../api.ts";
import { BulkMove, type MoveSource } from "../BulkMove.tsx";
import { Link } from "../router.tsx";
import type { Job, Provider } from "../types.ts";
import { Empty, ErrorBox, Field, fmt, Loading, PageHeader, useAsync, when } from "../ui.tsx";

export const jobKindLabel: Record<string, string> = {
  "move-to-microsoft": "Move to Microsoft",
  restore: "Restore (undo a job)",
  "move-users": "Move users",
};

export function JobStatus({ job }: { job: Job }) {
  const tone = job.status === "completed" ? (job.summary.failed > 0 ? "warn" : "good") : job.status === "failed" ? "bad" : "info";
  return (
    <span className={`badge badge-${tone}`}>
      {job.status}
      {job.dryRun ? " (dry run)" : ""}
    </span>
  );
}

async function toBase64(file: File): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function NewJob() {
  const providers = useAsync(() => apiGet<Provider[]>("/conferencing/providers"), "providers");
  const [from, setFrom] = useState<"list" | "csv" | "provider">("list");
  const [list, setList] = useState("");
  const [csv, setCsv] = useState<{ name: string; base64: string; size: number } | null>(null);
  const [csvError, setCsvError] = useState<string | null>(null);
  const [provider, setProvider] = useState("");

  const source: MoveSource | null = useMemo(() => {
    if (from === "list") return list.trim() ? { userList: list } : null;
    if (from === "csv") return csv ? { csvBase64: csv.base64, csvName: csv.name } : null;
    return provider ? { fromProvider: provider } : null;
  }, [from, list, csv, provider]);

  const what =
    from === "list"
      ? "the users in the list"
      : from === "csv"
        ? `the users in ${csv?.name ?? "the CSV file"}`
        : `every user whose provider is ${provider}`;

  return (
    <section className="card" aria-labelledby="new-job-h">
      <h2 id="new-job-h">New bulk move to Microsoft</h2>
      <fieldset className="toolbar" style={{ border: "none", padding: 0 }}>
        <legend className="sr-only">Users from</legend>
        {(
          [
            ["list", "A pasted list"],
            ["csv", "A CSV file"],
            ["provider", "A provider"],
          ] as const
        ).map(([v, label]) => (
          <label key={v} className="check">
            <input type="radio" name="job-source" value={v} checked={from === v} onChange={() => setFrom(v)} /> {label}
          </label>
        ))}
      </fieldset>
      {from === "list" && (
        <Field label="Users (UPN, SIP address, alias or object id), separated by commas, semicolons or new lines">
          {(p) => (
            <textarea {...p} value={list} onChange={(e) => setList(e.target.value)} placeholder="user01@contoso.com, user02@contoso.com" />
          )}
        </Field>
      )}
      {from === "csv" && (
        <Field
          label="CSV file"
          hint="A header naming a column like UserPrincipalName, UPN, Identity, SipAddress, Email or Alias, or one identity per line."
          error={csvError ?? undefined}
        >
          {(p) => (
            <input
              {...p}
              type="file"
              accept=".csv,text/csv,text/plain"
              onChange={async (e) => {
                const file = e.target.files?.[0];
                setCsvError(null);
                if (!file) return setCsv(null);
                if (file.size > 40 * 1024 * 1024) {
                  setCsv(null);
                  setCsvError("The file is larger than 40 MB: split it.");
                  return;
                }
                setCsv({ name: file.name, base64: await toBase64(file), size: file.size });
              }}
            />
          )}
        </Field>
      )}
      {from === "csv" && csv && (
        <p className="muted">
          {csv.name}, {fmt.format(csv.size)} bytes.
        </p>
      )}
      {from === "provider" && (
        <Field label="Current provider">
          {(p) => (
            <select {...p} value={provider} onChange={(e) => setProvider(e.target.value)}>
              <option value="">Choose…</option>
              {(providers.data ?? [])
                .filter((x) => !x.isMicrosoft)
                .map((x) => (
                  <option key={x.identity} value={x.identity}>
                    {x.identity}
                  </option>
                ))}
            </select>
          )}
        </Field>
      )}
      {source ? (
        <BulkMove
          key={`${from}:${from === "list" ? list : from === "csv" ? `${csv?.name}:${csv?.size}` : provider}`}
          source={source}
          what={what}
        />
      ) : (
        <p className="muted">Choose the users first.</p>
      )}
    </section>
  );
}

export default function JobsPage() {
  const session = useSession();
  const [tick, setTick] = useState(0);
  const jobs = useAsync(() => apiGet<Job[]>("/jobs", { limit: 50 }), `jobs:${tick}`);
  // While a job runs, the list follows its progress.
  const running = (jobs.data ?? []).some((j) => j.status === "pending" || j.status === "running");
  useEffect(() => {
    if (!running || jobs.loading) return;
    const t = setTimeout(() => setTick((n) => n + 1), 1000);
    return () => clearTimeout(t);
  }, [running, jobs.loading]);
  return (
    <div className="page">
      <PageHeader title="Bulk jobs" />
      {session.can("conferencing.bulk") && <NewJob />}
      <section aria-labelledby="jobs-h">
        <h2 id="jobs-h">Jobs</h2>
        {jobs.loading && !jobs.data && <Loading />}
        <ErrorBox error={jobs.error} retry={jobs.reload} />
        {jobs.data?.length === 0 && <Empty>No bulk jobs yet.</Empty>}
        {jobs.data && jobs.data.length > 0 && (
          <div className="table-wrap">
            <table className="data">
              <thead>
                <tr>
                  <th scope="col">Started</th>
                  <th scope="col">Job</th>
                  <th scope="col">Status</th>
                  <th scope="col" className="num">
                    Users
                  </th>
                  <th scope="col" className="num">
                    Changed
                  </th>
                  <th scope="col" className="num">
                    Unchanged
                  </th>
                  <th scope="col" className="num">
                    Failed
                  </th>
                  <th scope="col">By</th>
                </tr>
              </thead>
              <tbody>
                {jobs.data.map((j) => (
                  <tr key={j.id}>
                    <td>
                      <Link to={`/jobs/${j.id}`}>{when(j.createdAt)}</Link>
                    </td>
                    <td>{jobKindLabel[j.kind] ?? j.kind}</td>
                    <td>
                      <JobStatus job={j} />
                    </td>
                    <td className="num">
                      {j.status === "completed" ? fmt.format(j.total) : `${fmt.format(j.processed)} of ${fmt.format(j.total)}`}
                    </td>
                    <td className="num">{fmt.format(j.summary.changed)}</td>
                    <td className="num">{fmt.format(j.summary.unchanged)}</td>
                    <td className="num">{fmt.format(j.summary.failed)}</td>
                    <td>{j.actor}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </div>
  );
}
