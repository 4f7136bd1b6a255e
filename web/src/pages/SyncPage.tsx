// Directory sync (Azure AD Connect): the last runs and what they changed, and "Run now" — always a
// dry run first, so the administrator sees what would change before anything does.
import { useState } from "react";
import { apiGet, apiSend, useSession } from "../api.ts";
import { Load, When } from "../dashboard/load.tsx";
import type { SyncResult, SyncRun, SyncRunDetail, SyncRunList } from "../dashboard/types.ts";
import { ChangesTable, FieldDiff } from "../sync/ChangesTable.tsx";
import { Empty, ErrorBox, fmt, Loading, PageHeader, useAsync, when } from "../ui.tsx";
import "../dashboard/pages.css";

function Counts({ r }: { r: { created: number; updated: number; deleted: number; unchanged: number; conflicts: number } }) {
  return (
    <>
      {fmt.format(r.created)} created, {fmt.format(r.updated)} updated, {fmt.format(r.deleted)} soft-deleted, {fmt.format(r.unchanged)}{" "}
      unchanged
      {r.conflicts > 0 ? `, ${fmt.format(r.conflicts)} not synchronised (a clash)` : ""}
    </>
  );
}

function RunChanges({ run }: { run: SyncRun }) {
  const state = useAsync(() => apiGet<SyncRunDetail>(`/directory/sync-runs/${run.id}`), String(run.id));
  return (
    <Load state={state} what="the changes">
      {(d) => (
        <>
          <ChangesTable
            caption={`What the sync of ${when(d.run.at)} changed${d.changesTotal > d.changes.length ? ` (first ${fmt.format(d.changes.length)} of ${fmt.format(d.changesTotal)})` : ""}`}
            rows={d.changes.map((c) => ({
              key: String(c.eventId),
              user: c.userPrincipalName ?? c.userId ?? "(unknown user)",
              action: c.action,
              fields: c.fields,
              detail:
                c.action === "update" || c.action === "restore" || c.action === "soft-match" ? (
                  <FieldDiff before={c.before} after={c.after} />
                ) : null,
            }))}
          />
        </>
      )}
    </Load>
  );
}

function Runs({ list }: { list: SyncRunList }) {
  const [open, setOpen] = useState<number | null>(list.runs[0]?.id ?? null);
  const last = list.runs[0];
  return (
    <>
      <section className="card" aria-labelledby="sync-last">
        <h2 id="sync-last">Last sync</h2>
        {last ? (
          <p data-testid="last-sync">
            <When iso={last.at} /> by <strong>{last.actor}</strong>: <Counts r={last} />.
          </p>
        ) : (
          <Empty>No sync has run yet.</Empty>
        )}
        {list.lastSyncedAt ? (
          <p>
            A user was last written by sync <When iso={list.lastSyncedAt} />.
          </p>
        ) : null}
      </section>
      {list.runs.length > 0 ? (
        <section className="card" aria-labelledby="sync-runs">
          <h2 id="sync-runs">Runs that changed something</h2>
          <table className="data">
            <caption className="sr-only">Directory sync runs, newest first</caption>
            <thead>
              <tr>
                <th scope="col" aria-sort="descending">
                  When
                </th>
                <th scope="col">By</th>
                <th scope="col" style={{ textAlign: "right" }}>
                  Created
                </th>
                <th scope="col" style={{ textAlign: "right" }}>
                  Updated
                </th>
                <th scope="col" style={{ textAlign: "right" }}>
                  Soft-deleted
                </th>
                <th scope="col">Changes</th>
              </tr>
            </thead>
            <tbody>
              {list.runs.map((r) => (
                <tr key={r.id}>
                  <th scope="row">
                    <When iso={r.at} />
                  </th>
                  <td>{r.actor}</td>
                  <td style={{ textAlign: "right" }}>{fmt.format(r.created)}</td>
                  <td style={{ textAlign: "right" }}>{fmt.format(r.updated)}</td>
                  <td style={{ textAlign: "right" }}>{fmt.format(r.deleted)}</td>
                  <td>
                    {r.changes === 0 ? (
                      <span>
                        Nothing to do ({fmt.format(r.unchanged)} up to date
                        {r.conflicts > 0 ? `, ${fmt.format(r.conflicts)} not synchronised` : ""})
                      </span>
                    ) : (
                      <button
                        type="button"
                        className="btn"
                        aria-expanded={open === r.id}
                        onClick={() => setOpen(open === r.id ? null : r.id)}
                      >
                        {open === r.id ? "Hide" : "Show"} {fmt.format(r.changes)} change{r.changes === 1 ? "" : "s"}
                        {r.conflicts > 0 ? ` (${fmt.format(r.conflicts)} not synchronised)` : ""}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {open !== null ? (
            <div className="card">
              <RunChanges run={list.runs.find((r) => r.id === open) ?? (list.runs[0] as SyncRun)} />
            </div>
          ) : null}
        </section>
      ) : null}
    </>
  );
}

function Preview({ result, applied }: { result: SyncResult; applied: boolean }) {
  return (
    <div>
      <p role="status">
        <strong>{result.message}</strong>
      </p>
      {result.conflicts.length > 0 ? (
        <div className="error" role="alert">
          <p>
            {fmt.format(result.conflicts.length)} object{result.conflicts.length === 1 ? "" : "s"} {applied ? "were" : "would be"} left out:
          </p>
          <ul>
            {result.conflicts.map((c) => (
              <li key={`${c.immutableId}-${c.attribute}`}>{c.message}</li>
            ))}
          </ul>
        </div>
      ) : null}
      {result.changes.length > 0 ? (
        <ChangesTable
          caption={`${applied ? "What changed" : "What would change"}${result.changesTotal > result.changes.length ? ` (first ${fmt.format(result.changes.length)} of ${fmt.format(result.changesTotal)})` : ""}`}
          rows={result.changes.map((c, i) => ({
            key: `${i}-${c.userPrincipalName}`,
            user: c.userPrincipalName,
            action: c.action,
            fields: c.fields,
          }))}
        />
      ) : null}
    </div>
  );
}

function RunNow({ onApplied }: { onApplied: () => void }) {
  const [step, setStep] = useState<"idle" | "previewing" | "preview" | "applying" | "applied">("idle");
  const [result, setResult] = useState<SyncResult | null>(null);
  const [error, setError] = useState<unknown>(undefined);

  async function run(dryRun: boolean) {
    setError(undefined);
    setStep(dryRun ? "previewing" : "applying");
    try {
      const r = await apiSend<SyncResult>("POST", "/directory/sync", { dryRun });
      setResult(r);
      setStep(dryRun ? "preview" : "applied");
      if (!dryRun) onApplied();
    } catch (e) {
      setError(e);
      setStep(dryRun ? "idle" : "preview");
    }
  }

  const nothing = result !== null && result.created + result.updated + result.deleted === 0;
  return (
    <section className="card" aria-labelledby="sync-run-now">
      <h2 id="sync-run-now">Run now</h2>
      <p>
        Sync carries the on-premises directory to the online users. You see what would change first; nothing changes until you apply it.
      </p>
      <ErrorBox error={error} />
      {step === "previewing" || step === "applying" ? (
        <Loading>{step === "previewing" ? "Working out what would change…" : "Synchronising…"}</Loading>
      ) : null}
      {result && (step === "preview" || step === "applied") ? <Preview result={result} applied={step === "applied"} /> : null}
      <div className="toolbar">
        {step === "preview" && !nothing ? (
          <>
            <button type="button" className="btn btn-primary" onClick={() => run(false)}>
              Apply these changes
            </button>
            <button type="button" className="btn" onClick={() => setStep("idle")}>
              Cancel
            </button>
          </>
        ) : (
          <button
            type="button"
            className="btn btn-primary"
            onClick={() => run(true)}
            disabled={step === "previewing" || step === "applying"}
          >
            {step === "idle" ? "Preview a sync" : "Preview again"}
          </button>
        )}
      </div>
    </section>
  );
}

export default function SyncPage() {
  const { can } = useSession();
  const state = useAsync(() => apiGet<SyncRunList>("/directory/sync-runs", { limit: 20 }), "sync-runs");
  return (
    <div className="page">
      <PageHeader title="Directory sync" />
      {can("directory.write") ? <RunNow onApplied={state.reload} /> : null}
      <Load state={state} what="the sync runs">
        {(list) => <Runs key={list.runs[0]?.id ?? 0} list={list} />}
      </Load>
    </div>
  );
}
