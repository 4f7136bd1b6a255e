// A message's state as a badge, and the queue's counts as figures linking to the Mail page filtered
// by that state (the dashboard and the Mail page show the same figures). Failed messages stand out.
import { Link, withQuery } from "../router.tsx";
import type { MailQueue, MailStatus } from "../types.ts";
import { Badge, fmt } from "../ui.tsx";
import { mailStatuses } from "./labels.ts";
import "./mail.css";

export function MailStatusBadge({ status }: { status: string }) {
  const s = mailStatuses.find((x) => x.id === status);
  return <Badge tone={s?.tone ?? "neutral"}>{s?.label ?? status}</Badge>;
}

/** The counts of `show` (in that order), each a link to its messages; failed ones in red when there are any. */
export function QueueFigures({ queue, show, label }: { queue: MailQueue; show: MailStatus[]; label: string }) {
  return (
    <dl className="mail-queue" aria-label={label}>
      {show.map((id) => {
        const s = mailStatuses.find((x) => x.id === id);
        const n = queue[id];
        const alert = id === "failed" && n > 0;
        return (
          <div key={id} className={`mail-figure${alert ? " mail-figure-alert" : ""}`} data-status={id}>
            <dt>{s?.label ?? id}</dt>
            <dd>
              <Link to={withQuery("/mail", { status: id })} aria-label={`${fmt.format(n)} ${(s?.label ?? id).toLowerCase()}`}>
                {fmt.format(n)}
              </Link>
            </dd>
          </div>
        );
      })}
    </dl>
  );
}
