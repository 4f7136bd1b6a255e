// Messages of the outbox as a table, each linking to its message view: the Mail page's list and a
// user's Messages section.
import { seg } from "../api.ts";
import { When } from "../dashboard/load.tsx";
import { Link } from "../router.tsx";
import type { Mail } from "../types.ts";
import { fmt } from "../ui.tsx";
import { mailKindLabel } from "./labels.ts";
import { MailStatusBadge } from "./MailStatusBadge.tsx";

/** Messages as a table, each linking to its message view (the Mail page and a user's page). */
export function MailTable({ items, caption, showTo = true }: { items: Mail[]; caption: string; showTo?: boolean }) {
  return (
    <div className="table-wrap">
      <table className="data" id="mail-table">
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Queued</th>
            {showTo && <th scope="col">To</th>}
            <th scope="col">Subject</th>
            <th scope="col">About</th>
            <th scope="col">State</th>
            <th scope="col" className="num">
              Attempts
            </th>
            <th scope="col">Sent</th>
            <th scope="col">Last error</th>
          </tr>
        </thead>
        <tbody>
          {items.map((m) => (
            <tr key={m.id} data-status={m.status}>
              <td>
                <When iso={m.createdAt} />
              </td>
              {showTo && <td>{m.to}</td>}
              <td>
                <Link to={`/mail/${seg(m.id)}`}>{m.subject}</Link>
              </td>
              <td>{mailKindLabel(m.kind)}</td>
              <td>
                <MailStatusBadge status={m.status} />
                {m.nextAttemptAt && m.status === "deferred" && (
                  <span className="muted">
                    {" "}
                    next try <When iso={m.nextAttemptAt} />
                  </span>
                )}
              </td>
              <td className="num">{fmt.format(m.attempts)}</td>
              <td>
                <When iso={m.sentAt} />
              </td>
              <td className="mail-answer">{m.lastError ?? "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
