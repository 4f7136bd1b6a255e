// The audit log: every change with who, when, from where, and before/after. Filters live in the
// query string (bookmarkable); pages go back in time by event id.
import { type FormEvent, useState } from "react";
import { type AuditFilters, loadAuditPage } from "../audit/audit-window.ts";
import { EventRow } from "../audit/EventRow.tsx";
import { Load } from "../dashboard/load.tsx";
import { navigate, useLocation, withQuery } from "../router.tsx";
import { Empty, Field, PageHeader, useAsync } from "../ui.tsx";
import "../dashboard/pages.css";

const PAGE_SIZE = 50;

/** A datetime-local value (local time) as an ISO instant, or "" when empty or unreadable. */
function isoOf(local: string): string {
  if (!local) return "";
  const t = Date.parse(local);
  return Number.isNaN(t) ? "" : new Date(t).toISOString();
}

function FilterForm({ initial, onApply }: { initial: Record<string, string>; onApply: (f: Record<string, string>) => void }) {
  const [f, setF] = useState(initial);
  const set = (k: string, v: string) => setF((x) => ({ ...x, [k]: v }));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    onApply(f);
  };
  return (
    <form className="card" onSubmit={submit} aria-label="Filter the audit log">
      <div className="form-grid">
        <Field label="Actor" hint="e.g. account:alice">
          {(p) => <input {...p} type="text" value={f.actor ?? ""} onChange={(e) => set("actor", e.target.value)} />}
        </Field>
        <Field label="Operation" hint="* matches anything, e.g. voice.*">
          {(p) => <input {...p} type="text" value={f.operation ?? ""} onChange={(e) => set("operation", e.target.value)} />}
        </Field>
        <Field label="Target ID" hint="a user, route or job id">
          {(p) => <input {...p} type="text" value={f.target ?? ""} onChange={(e) => set("target", e.target.value)} />}
        </Field>
        <Field label="From">
          {(p) => <input {...p} type="datetime-local" value={f.from ?? ""} onChange={(e) => set("from", e.target.value)} />}
        </Field>
        <Field label="To">
          {(p) => <input {...p} type="datetime-local" value={f.to ?? ""} onChange={(e) => set("to", e.target.value)} />}
        </Field>
      </div>
      <div className="toolbar">
        <button type="submit" className="btn btn-primary">
          Filter
        </button>
        <button
          type="button"
          className="btn"
          onClick={() => {
            const none = { actor: "", operation: "", target: "", from: "", to: "" };
            setF(none);
            onApply(none);
          }}
        >
          Clear
        </button>
      </div>
    </form>
  );
}

export default function AuditPage() {
  const { path, search } = useLocation();
  const raw = {
    actor: search.get("actor") ?? "",
    operation: search.get("operation") ?? "",
    target: search.get("target") ?? "",
    from: search.get("from") ?? "",
    to: search.get("to") ?? "",
  };
  const before = Number(search.get("before")) || null;
  const filters: AuditFilters = { ...raw, from: isoOf(raw.from), to: isoOf(raw.to) };
  // The cursors of the pages before this one, so "Newer" goes back the way "Older" came.
  const [trail, setTrail] = useState<(number | null)[]>([]);
  const key = JSON.stringify([filters, before]);
  const state = useAsync(() => loadAuditPage(filters, before, PAGE_SIZE), key);
  const go = (f: Record<string, string>, cursor: number | null) => navigate(withQuery(path, { ...f, before: cursor ?? undefined }));
  const filtered = Object.values(raw).some(Boolean);

  return (
    <div className="page">
      <PageHeader title="Audit log" />
      <p>Every change, with who made it, when, from where, and what it was before and after. The log cannot be changed or deleted.</p>
      <FilterForm
        key={JSON.stringify(raw)}
        initial={raw}
        onApply={(f) => {
          setTrail([]);
          go(f, null);
        }}
      />
      <Load state={state} what="the audit log">
        {(page) => (
          <>
            {page.events.length === 0 ? (
              <Empty>{filtered ? "No events match these filters." : "No events yet."}</Empty>
            ) : (
              <table className="data" aria-busy={state.loading}>
                <caption className="sr-only">Audit events, newest first</caption>
                <thead>
                  <tr>
                    <th scope="col" aria-sort="descending">
                      When
                    </th>
                    <th scope="col">Actor</th>
                    <th scope="col">Source</th>
                    <th scope="col">Operation</th>
                    <th scope="col">Target</th>
                    <th scope="col">Job</th>
                    <th scope="col">Changes</th>
                  </tr>
                </thead>
                <tbody>
                  {page.events.map((e) => (
                    <EventRow key={e.id} e={e} />
                  ))}
                </tbody>
              </table>
            )}
            <nav className="toolbar" aria-label="Audit log pages">
              <button
                type="button"
                className="btn"
                disabled={before === null}
                onClick={() => {
                  const prev = trail[trail.length - 1] ?? null;
                  setTrail(trail.slice(0, -1));
                  go(raw, prev);
                }}
              >
                Newer
              </button>
              <button
                type="button"
                className="btn"
                disabled={page.next === null}
                onClick={() => {
                  setTrail([...trail, before]);
                  go(raw, page.next);
                }}
              >
                Older
              </button>
            </nav>
          </>
        )}
      </Load>
    </div>
  );
}
