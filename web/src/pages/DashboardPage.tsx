import { apiGet, useSession } from "../api.ts";
import { BarChart } from "../charts/BarChart.tsx";
import { DonutChart } from "../charts/DonutChart.tsx";
import { formatNumber } from "../charts/palette.ts";
import { StackedBars } from "../charts/StackedBars.tsx";
import { jobKindLabel, lifecycleName } from "../dashboard/labels.ts";
import { Load, When } from "../dashboard/load.tsx";
import type { Dashboard, Job } from "../dashboard/types.ts";
import { QueueFigures } from "../mail/MailStatusBadge.tsx";
import { Link, withQuery } from "../router.tsx";
import type { MailQueue } from "../types.ts";
import { type Async, Badge, fmt, PageHeader, useAsync } from "../ui.tsx";
import "../dashboard/pages.css";

function JobStatus({ job }: { job: Job }) {
  const tone = job.status === "failed" ? "bad" : job.summary.failed > 0 ? "warn" : job.status === "completed" ? "good" : "info";
  return (
    <Badge tone={tone}>
      {job.status}
      {job.dryRun ? " (dry run)" : ""}
    </Badge>
  );
}

function RecentJobs({ jobs }: { jobs: Job[] }) {
  if (jobs.length === 0) return <p className="empty">No bulk jobs yet. Moves to Microsoft and user moves show here.</p>;
  return (
    <table className="data">
      <caption className="sr-only">The five newest bulk jobs</caption>
      <thead>
        <tr>
          <th scope="col">Job</th>
          <th scope="col">Status</th>
          <th scope="col" style={{ textAlign: "right" }}>
            Changed
          </th>
          <th scope="col" style={{ textAlign: "right" }}>
            Failed
          </th>
          <th scope="col">Started by</th>
          <th scope="col">Created</th>
        </tr>
      </thead>
      <tbody>
        {jobs.map((j) => (
          <tr key={j.id}>
            <th scope="row">
              <Link to={`/jobs/${j.id}`}>{jobKindLabel(j.kind)}</Link>
            </th>
            <td>
              <JobStatus job={j} />
            </td>
            <td style={{ textAlign: "right" }}>{formatNumber(j.summary.changed)}</td>
            <td style={{ textAlign: "right" }}>{formatNumber(j.summary.failed)}</td>
            <td>{j.actor}</td>
            <td>
              <When iso={j.createdAt} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Figures({ d }: { d: Dashboard }) {
  const figures: [string, number, string?][] = [
    ["Users", d.users.total],
    ["Synchronised from on-premises", d.users.synced],
    ["Cloud only", d.users.cloudOnly],
    ["Ready for Audio Conferencing", d.readyForAudioConferencing, "/conferencing"],
  ];
  return (
    <dl className="figures" style={{ display: "grid", gridTemplateColumns: "repeat(auto-fit, minmax(12rem, 1fr))", gap: "1rem" }}>
      {figures.map(([label, n, href]) => (
        <div key={label} className="card">
          <dt>{label}</dt>
          <dd style={{ fontSize: "1.8rem", fontWeight: 600, margin: 0 }}>
            {href && n > 0 ? <Link to={href}>{formatNumber(n)}</Link> : formatNumber(n)}
          </dd>
        </div>
      ))}
    </dl>
  );
}

/** The mail outbox at a glance: what waits, what was sent, and failed messages in red. */
function MailQueueCard({ state }: { state: Async<MailQueue | null> }) {
  return (
    <section className="card" aria-labelledby="dash-mail">
      <h2 id="dash-mail">Mail to users</h2>
      <Load state={state} what="the mail queue">
        {(q) =>
          q && (
            <>
              <QueueFigures queue={q} show={["queued", "deferred", "failed", "sent"]} label="Mail queue" />
              {q.failed > 0 && (
                <div className="error" role="alert">
                  <span>
                    {fmt.format(q.failed)} email{q.failed === 1 ? "" : "s"} to users could not be sent:{" "}
                    <Link to={withQuery("/mail", { status: "failed" })}>see why</Link>.
                  </span>
                </div>
              )}
            </>
          )
        }
      </Load>
      <p>
        <Link to="/mail">All messages</Link>
      </p>
    </section>
  );
}

function DashboardBody({ d, mail }: { d: Dashboard; mail: Async<MailQueue | null> | null }) {
  return (
    <>
      <Figures d={d} />
      {mail && <MailQueueCard state={mail} />}
      <div className="grid-2">
        <section className="card" aria-labelledby="dash-providers">
          <h2 id="dash-providers">Users by audio conferencing provider</h2>
          {d.users.total === 0 ? (
            <p className="empty">No users yet.</p>
          ) : (
            <BarChart
              title="Users by audio conferencing provider"
              unit="users"
              bars={d.byProvider.map((p) => ({
                label: p.provider === "none" ? "No provider" : p.provider,
                value: p.users,
                href: withQuery("/users", { provider: p.provider === "Microsoft" ? "microsoft" : p.provider }),
              }))}
            />
          )}
        </section>
        <section className="card" aria-labelledby="dash-lifecycle">
          <h2 id="dash-lifecycle">Users by hybrid voice state</h2>
          {d.users.total + d.users.softDeleted === 0 ? (
            <p className="empty">No users yet.</p>
          ) : (
            <DonutChart
              title="Users by hybrid voice state (InterpretedUserType)"
              unit="users"
              slices={d.lifecycle.map((s) => ({
                label: lifecycleName(s.state),
                value: s.users,
                href: s.state === "SoftDeletedUser" ? undefined : withQuery("/users", { lifecycle: s.state }),
              }))}
            />
          )}
        </section>
        <section className="card" aria-labelledby="dash-licences">
          <h2 id="dash-licences">Licences</h2>
          {d.licences.length === 0 ? (
            <p className="empty">The tenant has no licences yet.</p>
          ) : (
            <StackedBars
              title="Licence seats used and free"
              parts={["used", "free"]}
              stacks={d.licences.map((l) => ({ label: l.skuPartNumber, values: [l.consumed, l.available] }))}
            />
          )}
        </section>
        <section className="card" aria-labelledby="dash-sync">
          <h2 id="dash-sync">Directory sync</h2>
          {d.lastSync ? (
            <p>
              Last sync: <When iso={d.lastSync.at} /> by {d.lastSync.actor} — {formatNumber(d.lastSync.created)} created,{" "}
              {formatNumber(d.lastSync.updated)} updated, {formatNumber(d.lastSync.deleted)} deleted.
            </p>
          ) : (
            <p className="empty">No directory sync has run yet.</p>
          )}
          {d.lastSyncedAt ? (
            <p>
              Users last written by sync: <When iso={d.lastSyncedAt} />.
            </p>
          ) : null}
          <p>
            <Link to="/sync">Directory sync</Link>
          </p>
        </section>
      </div>
      <section className="card" aria-labelledby="dash-jobs">
        <h2 id="dash-jobs">Recent jobs</h2>
        <RecentJobs jobs={d.recentJobs} />
        <p>
          <Link to="/jobs">All bulk jobs</Link>
        </p>
      </section>
    </>
  );
}

/** The tenant at a glance. */
export default function DashboardPage() {
  const session = useSession();
  const readsMail = session.can("conferencing.read");
  const state = useAsync(() => apiGet<Dashboard>("/dashboard"), "dashboard");
  const mail = useAsync(() => (readsMail ? apiGet<MailQueue>("/mail/queue") : Promise.resolve(null)), `mail-queue:${readsMail}`);
  const refresh = () => {
    state.reload();
    mail.reload();
  };
  return (
    <div className="page">
      <PageHeader title="Dashboard">
        <button type="button" className="btn" onClick={refresh} disabled={state.loading}>
          Refresh
        </button>
      </PageHeader>
      <Load state={state} what="the dashboard">
        {(d) => <DashboardBody d={d} mail={readsMail ? mail : null} />}
      </Load>
    </div>
  );
}
