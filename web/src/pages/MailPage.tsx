// Mail: the outbox of emails to users about their dial-in conferencing — the queue's counts, the
// messages newest first (by state, user or job: the query string holds the filters and the page), and
// "Retry all failed" for roles that may change conferencing.
import { useEffect, useState } from "react";
import { apiGet, apiSend, seg, useSession } from "../api.ts";
import { isMailStatus, mailStatuses } from "../mail/labels.ts";
import { QueueFigures } from "../mail/MailStatusBadge.tsx";
import { MailTable } from "../mail/MailTable.tsx";
import { Link, navigate, useLocation, withQuery } from "../router.tsx";
import type { Mail, MailQueue, MailRetried, MailStatus, User } from "../types.ts";
import { Empty, ErrorBox, fmt, Loading, PageHeader, useAsync } from "../ui.tsx";

const PAGE_SIZE = 50;

interface Filters {
  status: MailStatus | "";
  user: string;
  job: string;
  page: number;
}

function readFilters(q: URLSearchParams): Filters {
  const status = q.get("status");
  return {
    status: isMailStatus(status) ? status : "",
    user: q.get("user") ?? "",
    job: q.get("job") ?? "",
    page: Math.max(1, Number.parseInt(q.get("page") ?? "1", 10) || 1),
  };
}

function hrefOf(f: Filters): string {
  return withQuery("/mail", { status: f.status, user: f.user, job: f.job, page: f.page > 1 ? f.page : "" });
}

export default function MailPage() {
  const session = useSession();
  const { search } = useLocation();
  const f = readFilters(search);
  const set = (change: Partial<Filters>) => navigate(hrefOf({ ...f, page: 1, ...change }));

  // Asked again while messages are on their way, so the counts and the list follow a retry.
  const [tick, setTick] = useState(0);
  const queue = useAsync(() => apiGet<MailQueue>("/mail/queue"), `queue:${tick}`);
  const query = { status: f.status, user: f.user, job: f.job, limit: PAGE_SIZE + 1, offset: (f.page - 1) * PAGE_SIZE };
  const list = useAsync(() => apiGet<Mail[]>("/mail", query), `${JSON.stringify(query)}:${tick}`);
  const user = useAsync(() => (f.user ? apiGet<User>(`/users/${seg(f.user)}`) : Promise.resolve(null)), `user:${f.user}`);

  const inFlight = queue.data ? queue.data.queued + queue.data.sending > 0 : false;
  useEffect(() => {
    if (!inFlight || queue.loading || list.loading) return;
    const t = setTimeout(() => setTick((n) => n + 1), 1500);
    return () => clearTimeout(t);
  }, [inFlight, queue.loading, list.loading]);
  const refresh = () => setTick((n) => n + 1);

  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [outcome, setOutcome] = useState<string | null>(null);
  const retryFailed = async () => {
    setBusy(true);
    setError(null);
    setOutcome(null);
    try {
      const r = await apiSend<MailRetried>("POST", "/mail/retry", { failed: true });
      setOutcome(
        r.retried === 0
          ? "There were no failed messages to send again."
          : `${fmt.format(r.retried)} failed message${r.retried === 1 ? " is" : "s are"} being sent again: the counts and the list follow how it goes.`,
      );
      refresh();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const items = (list.data ?? []).slice(0, PAGE_SIZE);
  const more = (list.data?.length ?? 0) > PAGE_SIZE;
  const offset = (f.page - 1) * PAGE_SIZE;
  const narrowed = f.status !== "" || f.user !== "" || f.job !== "";

  return (
    <div className="page">
      <PageHeader title="Mail">
        <button type="button" className="btn" onClick={refresh} disabled={queue.loading || list.loading}>
          Refresh
        </button>
        {session.can("conferencing.write") && (
          <button type="button" className="btn" disabled={busy || queue.data?.failed === 0} onClick={() => void retryFailed()}>
            Retry all failed
          </button>
        )}
      </PageHeader>
      <p>
        The emails users get when their dial-in conferencing changes: each is queued with its change and sent right after it; a message the
        mail server does not take now is deferred and tried again, one it refuses is kept as failed.
      </p>
      <ErrorBox error={error} />
      {outcome && (
        <p className="success" role="status">
          {outcome}
        </p>
      )}
      <section aria-labelledby="mail-queue-h">
        <h2 id="mail-queue-h">Queue</h2>
        {queue.error !== undefined && <ErrorBox error={queue.error} retry={queue.reload} />}
        {queue.data ? (
          <QueueFigures queue={queue.data} show={mailStatuses.map((s) => s.id)} label="Messages by state" />
        ) : (
          queue.error === undefined && <Loading>Loading the queue…</Loading>
        )}
      </section>
      <section aria-labelledby="mail-list-h">
        <h2 id="mail-list-h">Messages</h2>
        <form className="card toolbar" aria-label="Filter messages" onSubmit={(e) => e.preventDefault()}>
          <div className="field">
            <label htmlFor="mail-status">State</label>
            <select id="mail-status" value={f.status} onChange={(e) => set({ status: isMailStatus(e.target.value) ? e.target.value : "" })}>
              <option value="">Any</option>
              {mailStatuses.map((s) => (
                <option key={s.id} value={s.id}>
                  {s.label}
                </option>
              ))}
            </select>
          </div>
          {f.user && (
            <p className="muted">
              To {user.data ? <Link to={`/users/${seg(user.data.userPrincipalName)}`}>{user.data.displayName}</Link> : "one user"} only.{" "}
              <button type="button" className="btn-link" onClick={() => set({ user: "" })}>
                Every user
              </button>
            </p>
          )}
          {f.job && (
            <p className="muted">
              From <Link to={`/jobs/${seg(f.job)}`}>one bulk job</Link> only.{" "}
              <button type="button" className="btn-link" onClick={() => set({ job: "" })}>
                Every job
              </button>
            </p>
          )}
        </form>
        <ErrorBox error={list.error} retry={list.reload} />
        {list.loading && !list.data && <Loading>Loading the messages…</Loading>}
        {list.data && items.length === 0 && (
          <Empty>{narrowed ? "No messages match these filters." : "No messages yet: users get one when their dial-in changes."}</Empty>
        )}
        {items.length > 0 && (
          <MailTable items={items} caption={`Messages ${fmt.format(offset + 1)}–${fmt.format(offset + items.length)}, newest first`} />
        )}
        <nav className="pager" aria-label="Message pages">
          <button type="button" className="btn" disabled={f.page === 1} onClick={() => navigate(hrefOf({ ...f, page: f.page - 1 }))}>
            Newer
          </button>
          <button type="button" className="btn" disabled={!more} onClick={() => navigate(hrefOf({ ...f, page: f.page + 1 }))}>
            Older
          </button>
        </nav>
      </section>
    </div>
  );
}
