// The bulk move to Microsoft, wherever it starts (a selection, the banner, a pasted list, a CSV, a
// provider): a dry-run preview first, then the job, whose page shows progress and results.
import { useState } from "react";
import { apiSend, useSession } from "./api.ts";
import { navigate } from "./router.tsx";
import type { BulkReport, MoveBody, MoveStart, UserMoveBody, UserMoveStart } from "./types.ts";
import { ErrorBox, fmt, Loading } from "./ui.tsx";

export type MoveSource = Omit<MoveBody, "dryRun" | "wait">;

export function ReportSummary({ report }: { report: BulkReport }) {
  const s = report.summary;
  return (
    <p data-testid="report-summary">
      {report.dryRun ? "Would change" : "Changed"} <strong>{fmt.format(s.changed)}</strong>, unchanged{" "}
      <strong>{fmt.format(s.unchanged)}</strong>, failed <strong>{fmt.format(s.failed)}</strong>.
    </p>
  );
}

export function ResultsTable({
  results,
  caption,
}: {
  results: { identity: string; outcome: string; message: string; notice?: string | null }[];
  caption: string;
}) {
  return (
    <div className="table-wrap">
      <table className="data">
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">User</th>
            <th scope="col">Outcome</th>
            <th scope="col">Message</th>
          </tr>
        </thead>
        <tbody>
          {results.map((r, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: results may repeat an identity (duplicates)
            <tr key={i}>
              <td>{r.identity}</td>
              <td>
                <OutcomeBadge outcome={r.outcome} />
              </td>
              <td>
                {r.message}
                {r.notice && <p className="error">{r.notice}</p>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function OutcomeBadge({ outcome }: { outcome: string }) {
  const tone = /^(changed|moved|restored|success|would)/i.test(outcome)
    ? "good"
    : /warning|unchanged|duplicate|already/i.test(outcome)
      ? "warn"
      : /error|fail|not-found|licen/i.test(outcome)
        ? "bad"
        : "neutral";
  return <span className={`badge badge-${tone}`}>{outcome}</span>;
}

/** Preview and start a move to Microsoft for `source`; `what` names the users in a sentence. */
export function BulkMove({ source, what, onDone }: { source: MoveSource; what: string; onDone?: () => void }) {
  const session = useSession();
  const [preview, setPreview] = useState<MoveStart | null>(null);
  const [busy, setBusy] = useState<"preview" | "run" | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [sendEmail, setSendEmail] = useState(true);

  if (!session.can("conferencing.bulk")) {
    return <p className="muted">Your role cannot move users in bulk (it needs conferencing.bulk).</p>;
  }

  const run = async (dryRun: boolean) => {
    setBusy(dryRun ? "preview" : "run");
    setError(null);
    try {
      const body: MoveBody = { ...source, dryRun, wait: dryRun, ...(dryRun ? {} : { sendEmail }) };
      const started = await apiSend<MoveStart>("POST", "/conferencing/move-to-microsoft", body);
      if (dryRun) setPreview(started);
      else {
        onDone?.();
        navigate(`/jobs/${started.job.id}`);
      }
    } catch (e) {
      setError(e);
    } finally {
      setBusy(null);
    }
  };

  return (
    <section className="card" aria-label="Move to Microsoft">
      <h2>Move to Microsoft</h2>
      <p>
        Set Microsoft as the audio conferencing provider of {what}. Their current provider's settings (conference ID, toll and toll-free
        numbers) are archived first and can be restored.
      </p>
      <label className="check">
        <input type="checkbox" checked={sendEmail} onChange={(e) => setSendEmail(e.target.checked)} /> Email each changed user their
        conference ID, numbers and PIN
      </label>
      <div className="toolbar">
        <button type="button" className="btn" onClick={() => void run(true)} disabled={busy !== null}>
          Preview (dry run)
        </button>
        <button type="button" className="btn btn-primary" onClick={() => void run(false)} disabled={busy !== null}>
          Move to Microsoft
        </button>
      </div>
      {busy === "preview" && <Loading>Working out what would change…</Loading>}
      {busy === "run" && <Loading>Starting the job…</Loading>}
      <ErrorBox error={error} />
      {preview?.report && (
        <div aria-live="polite">
          <h3>Dry run: nothing was changed</h3>
          <p className="muted">
            {fmt.format(preview.input.count)} users in the input
            {preview.input.duplicates > 0 ? `, ${fmt.format(preview.input.duplicates)} duplicates collapsed` : ""}
            {preview.input.skipped.length > 0 ? `, ${preview.input.skipped.length} lines skipped` : ""}.
          </p>
          <ReportSummary report={preview.report} />
          <ResultsTable
            results={preview.report.results.slice(0, 100)}
            caption={
              preview.report.results.length > 100
                ? `The first 100 of ${fmt.format(preview.report.results.length)} results`
                : `${preview.report.results.length} results`
            }
          />
        </div>
      )}
    </section>
  );
}

/** Move-CsUser for many users (the selected ones) to online: a dry run first, then the job. */
export function BulkUserMove({ identities, onDone }: { identities: string[]; onDone?: () => void }) {
  const [preview, setPreview] = useState<UserMoveStart | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = async (dryRun: boolean) => {
    setBusy(true);
    setError(null);
    try {
      const body: UserMoveBody = { identities, target: "online", dryRun, wait: dryRun };
      const started = await apiSend<UserMoveStart>("POST", "/users/move", body);
      if (dryRun) setPreview(started);
      else {
        onDone?.();
        navigate(`/jobs/${started.job.id}`);
      }
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="card" aria-label="Move online">
      <h2>Move online</h2>
      <p>
        Move the {identities.length} selected users from their on-premises pool to online (Move-CsUser -Target online). The preconditions
        are checked for each user before anything changes.
      </p>
      <div className="toolbar">
        <button type="button" className="btn" disabled={busy} onClick={() => void run(true)}>
          Preview (dry run)
        </button>
        <button type="button" className="btn btn-primary" disabled={busy} onClick={() => void run(false)}>
          Move online
        </button>
      </div>
      {busy && <Loading>Working…</Loading>}
      <ErrorBox error={error} />
      {preview?.report && (
        <div aria-live="polite">
          <h3>Dry run: nothing was changed</h3>
          <ReportSummary report={preview.report} />
          <ResultsTable results={preview.report.results.slice(0, 100)} caption={`${preview.report.results.length} results`} />
        </div>
      )}
    </section>
  );
}
