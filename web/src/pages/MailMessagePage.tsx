// One message of the outbox: its headers, state and the mail server's last answer, what it says (the
// conference ID and numbers; never the PIN), every delivery attempt, and Retry for roles that may.
import { useState } from "react";
import { apiGet, apiSend, seg, useSession } from "../api.ts";
import { When } from "../dashboard/load.tsx";
import { mailKindLabel, mailStatusLabel, offersRetry } from "../mail/labels.ts";
import { MailStatusBadge } from "../mail/MailStatusBadge.tsx";
import { Link } from "../router.tsx";
import type { MailDetail, MailRetried } from "../types.ts";
import { ErrorBox, fmt, Loading, PageHeader, useAsync } from "../ui.tsx";

/** "Name <address>", or the address alone when there is no name. */
function mailbox(name: string, address: string): string {
  return name.trim() ? `${name} <${address}>` : address;
}

/** A reason as a sentence: with one full stop at its end. */
function sentence(reason: string): string {
  return /[.!?]$/.test(reason.trim()) ? reason.trim() : `${reason.trim()}.`;
}

/** What a retry came to, in words: the API's outcome of the message sent again. */
function retryOutcome(r: MailRetried): string {
  const d = r.delivered[0];
  if (r.retried === 0 || !d) return "Nothing was sent again: the message is no longer failed or deferred.";
  switch (d.status) {
    case "sent":
      return `Sent again: the mail server took the message to ${d.to}.`;
    case "deferred":
      return `Not delivered yet: ${sentence(d.error ?? "the mail server did not take it")} The server tries again later.`;
    case "failed":
      return `Failed again: ${sentence(d.error ?? "the mail server refused it")}`;
    default:
      return `The message to ${d.to} is ${mailStatusLabel(d.status).toLowerCase()}: look again in a moment.`;
  }
}

export default function MailMessagePage({ id }: { id: string }) {
  const session = useSession();
  const mail = useAsync(() => apiGet<MailDetail>(`/mail/${seg(id)}`), id);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [outcome, setOutcome] = useState<{ text: string; tone: "success" | "error" | "notice" } | null>(null);

  const retry = async () => {
    setBusy(true);
    setError(null);
    setOutcome(null);
    try {
      const r = await apiSend<MailRetried>("POST", "/mail/retry", { id });
      const status = r.delivered[0]?.status;
      setOutcome({ text: retryOutcome(r), tone: status === "sent" ? "success" : status === "failed" ? "error" : "notice" });
      mail.reload();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const m = mail.data;
  return (
    <div className="page">
      <p>
        <Link to="/mail">← Mail</Link>
      </p>
      <PageHeader title={m ? m.subject : "Message"}>
        {m && offersRetry(m) && session.can("conferencing.write") && (
          <button type="button" className="btn btn-primary" disabled={busy} onClick={() => void retry()}>
            {busy ? "Sending…" : "Retry"}
          </button>
        )}
      </PageHeader>
      <ErrorBox error={mail.error && !m ? mail.error : error} retry={mail.error && !m ? mail.reload : undefined} />
      {outcome && (
        <p className={outcome.tone} role="status" data-testid="retry-outcome">
          {outcome.text}
        </p>
      )}
      {!m && mail.loading && <Loading>Loading the message…</Loading>}
      {m && (
        <>
          <div className="grid-2">
            <section className="card" aria-labelledby="mail-headers-h">
              <h2 id="mail-headers-h">Headers</h2>
              <dl className="props">
                <dt>From</dt>
                <dd>{mailbox(m.fromName, m.from)}</dd>
                <dt>To</dt>
                <dd>
                  {mailbox(m.toName, m.to)}
                  {m.userId && (
                    <>
                      {" "}
                      <Link to={`/users/${seg(m.userId)}`}>(the user's page)</Link>
                    </>
                  )}
                </dd>
                <dt>Subject</dt>
                <dd>{m.subject}</dd>
                <dt>Message-ID</dt>
                <dd className="mono">{m.messageId}</dd>
                <dt>About</dt>
                <dd>{mailKindLabel(m.kind)}</dd>
                {m.jobId && (
                  <>
                    <dt>Bulk job</dt>
                    <dd>
                      <Link to={`/jobs/${seg(m.jobId)}`}>The job that sent it</Link>
                    </dd>
                  </>
                )}
              </dl>
            </section>
            <section className="card" aria-labelledby="mail-delivery-h">
              <h2 id="mail-delivery-h">Delivery</h2>
              <dl className="props">
                <dt>State</dt>
                <dd data-testid="mail-status">
                  <MailStatusBadge status={m.status} />
                </dd>
                <dt>Attempts</dt>
                <dd data-testid="mail-attempts">{fmt.format(m.attempts)}</dd>
                <dt>Queued</dt>
                <dd>
                  <When iso={m.createdAt} />
                </dd>
                {m.nextAttemptAt && (
                  <>
                    <dt>Next attempt</dt>
                    <dd>
                      <When iso={m.nextAttemptAt} />
                    </dd>
                  </>
                )}
                <dt>Sent</dt>
                <dd>
                  <When iso={m.sentAt} />
                </dd>
                <dt>Last error</dt>
                <dd className="mail-answer" data-testid="mail-last-error">
                  {m.lastError ?? "—"}
                </dd>
              </dl>
            </section>
          </div>
          <section className="card" aria-labelledby="mail-content-h">
            <h2 id="mail-content-h">Content</h2>
            <div className="mail-content">
              {m.lines.map((line, i) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: the lines are fixed text in their order
                <p key={i}>{line}</p>
              ))}
            </div>
            <dl className="props" aria-label="Dial-in details in the message">
              <dt>Conference ID</dt>
              <dd>{m.conferenceId ?? "—"}</dd>
              <dt>Dial-in number (toll)</dt>
              <dd>{m.tollNumber ?? "—"}</dd>
              <dt>Dial-in number (toll-free)</dt>
              <dd>{m.tollFreeNumber ?? "—"}</dd>
              {m.hasPin && (
                <>
                  <dt>PIN</dt>
                  <dd data-testid="mail-pin">held sealed until the mail server accepts the message; never shown</dd>
                </>
              )}
            </dl>
          </section>
          <section className="card" aria-labelledby="mail-history-h">
            <h2 id="mail-history-h">History</h2>
            <div className="table-wrap">
              <table className="data" id="mail-history">
                <caption className="sr-only">Every state the message went through, oldest first</caption>
                <thead>
                  <tr>
                    <th scope="col">When</th>
                    <th scope="col">State</th>
                    <th scope="col" className="num">
                      Attempt
                    </th>
                    <th scope="col">Detail</th>
                  </tr>
                </thead>
                <tbody>
                  {m.history.map((h, i) => (
                    // biome-ignore lint/suspicious/noArrayIndexKey: the history only grows at its end
                    <tr key={i} data-status={h.status}>
                      <td>
                        <When iso={h.at} />
                      </td>
                      <td>
                        <MailStatusBadge status={h.status} />
                      </td>
                      <td className="num">{h.attempt === undefined ? "—" : fmt.format(h.attempt)}</td>
                      <td className="mail-answer">{h.detail}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </section>
        </>
      )}
    </div>
  );
}
