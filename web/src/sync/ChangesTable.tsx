import type { ReactNode } from "react";
import { Badge } from "../ui.tsx";

export interface ChangeRow {
  key: string;
  user: ReactNode;
  action: string;
  fields: string[];
  detail?: ReactNode;
}

const ACTION_LABELS: Record<string, string> = {
  create: "created",
  update: "updated",
  restore: "restored",
  "soft-match": "soft-matched",
  delete: "soft-deleted",
};

/** What a sync did or would do, user by user. */
export function ChangesTable({ caption, rows }: { caption: string; rows: ChangeRow[] }) {
  return (
    <table className="data">
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">User</th>
          <th scope="col">Change</th>
          <th scope="col">Attributes</th>
          {rows.some((r) => r.detail) ? <th scope="col">Before → after</th> : null}
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.key}>
            <th scope="row">{r.user}</th>
            <td>
              <Badge tone={r.action === "delete" ? "bad" : r.action === "create" ? "good" : "info"}>
                {ACTION_LABELS[r.action] ?? r.action}
              </Badge>
            </td>
            <td>{r.fields.length ? r.fields.join(", ") : "—"}</td>
            {rows.some((x) => x.detail) ? <td>{r.detail ?? ""}</td> : null}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The attributes an update changed, as `field: before → after`. */
export function FieldDiff({ before, after }: { before: unknown; after: unknown }) {
  const b = (before ?? {}) as Record<string, unknown>;
  const a = (after ?? {}) as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])];
  if (keys.length === 0) return null;
  const show = (v: unknown) => (v === null || v === undefined ? "(none)" : typeof v === "string" ? v : JSON.stringify(v));
  return (
    <ul className="diff">
      {keys.map((k) => (
        <li key={k}>
          <code>{k}</code>: {k in b ? <del>{show(b[k])}</del> : null} {k in b ? "→ " : ""}
          <ins>{show(a[k])}</ins>
        </li>
      ))}
    </ul>
  );
}
