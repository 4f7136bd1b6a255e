import { useState } from "react";
import { When } from "../dashboard/load.tsx";
import type { AuditEvent } from "../dashboard/types.ts";
import { Link } from "../router.tsx";

function Json({ label, value }: { label: string; value: unknown }) {
  return (
    <div>
      <h4>{label}</h4>
      {value === null || value === undefined ? (
        <p className="empty">(nothing)</p>
      ) : (
        <pre className="json">{JSON.stringify(value, null, 2)}</pre>
      )}
    </div>
  );
}

function Target({ e }: { e: AuditEvent }) {
  if (!e.targetId) return <>{e.targetType}</>;
  const href = e.targetType === "user" ? `/users/${encodeURIComponent(e.targetId)}` : null;
  return (
    <>
      {e.targetType}{" "}
      {href ? (
        <Link to={href}>
          <code>{e.targetId}</code>
        </Link>
      ) : (
        <code>{e.targetId}</code>
      )}
    </>
  );
}

/** One event, and its before/after on demand (a row below it, announced by aria-expanded). */
export function EventRow({ e }: { e: AuditEvent }) {
  const [open, setOpen] = useState(false);
  const has = (e.before !== null && e.before !== undefined) || (e.after !== null && e.after !== undefined);
  const detailId = `audit-${e.id}-detail`;
  return (
    <>
      <tr>
        <td>
          <When iso={e.at} />
        </td>
        <td>{e.actor}</td>
        <td>{e.source}</td>
        <th scope="row">
          <code>{e.operation}</code>
        </th>
        <td>
          <Target e={e} />
        </td>
        <td>{e.jobId ? <Link to={`/jobs/${e.jobId}`}>job</Link> : "—"}</td>
        <td>
          {has ? (
            <button type="button" className="btn" aria-expanded={open} aria-controls={detailId} onClick={() => setOpen(!open)}>
              {open ? "Hide" : "Before / after"}
            </button>
          ) : (
            "—"
          )}
        </td>
      </tr>
      {open ? (
        <tr id={detailId}>
          <td colSpan={7}>
            <div className="grid-2">
              <Json label="Before" value={e.before} />
              <Json label="After" value={e.after} />
            </div>
          </td>
        </tr>
      ) : null}
    </>
  );
}
